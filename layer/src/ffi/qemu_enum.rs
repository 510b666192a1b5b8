// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU's own enums as a crate's schema includes them (`QemuEnum`).

#[allow(unused_imports)]
use super::*;

/// A QAPI enum of QEMU's own modules (one a crate's schema includes, such as
/// `run-state.json`), as the generated `qapi::` enum implements it: what the [`vm`]
/// accessors that return QEMU's enums build their value with.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not one of QEMU's own enums",
    note = "vm::run_state() gives QEMU's RunState: include run-state.json in the schema \
            ({{ 'include': 'run-state.json' }}) and take it as qapi::RunState"
)]
pub trait QemuEnum: Copy {
    /// The enum's name in QEMU's schema.
    const NAME: &'static str;
    /// The value whose C value (QEMU's enum constant) is `c`.
    fn from_c_value(c: u32) -> Option<Self>;
}

/// Whether two strings are equal, at compile time.
pub(super) const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
