// SPDX-License-Identifier: GPL-2.0-or-later
//! What a command returns, as QEMU's marshaller takes it (`Ret`), and the check that refuses what a client could not read whole.

#[allow(unused_imports)]
use super::*;

/// What a command function returns, turned into what QAPI's marshaller expects.
///
/// # Safety
/// `into_c` returns what QEMU's marshaller may visit and free: NULL or memory from
/// glib's allocator laid out as the C type, every pointer in it owned likewise. An
/// `unsafe trait`, so no safe code can hand QEMU a pointer of its own making; the
/// generated code implements it for the schema's structs and lists.
pub unsafe trait Ret {
    /// The C return type.
    type C;
    /// The C value for a successful call.
    fn into_c(self) -> Self::C;
    /// The C value for a failed call (the error is in `errp`).
    fn failed() -> Self::C;
    /// The first value in it that cannot reach the client unchanged (a string with a
    /// NUL byte, a number that is not finite), with where it sits: the handler's reply refuses
    /// such a value whole instead of handing it over.
    fn fault(&self) -> Option<Fault> {
        None
    }
}

// SAFETY: nothing is handed over.
unsafe impl Ret for () {
    type C = ();
    fn into_c(self) {}
    fn failed() {}
}

// SAFETY: the string is glib's (`GString`), NUL-terminated, and handed over whole: QAPI's
// marshaller frees what a `str`-returning handler returns with `g_free`; NULL is what a
// failed call returns.
unsafe impl Ret for GString {
    type C = *mut c_char;
    fn into_c(self) -> *mut c_char {
        self.into_raw()
    }
    fn failed() -> *mut c_char {
        ptr::null_mut()
    }
    fn fault(&self) -> Option<Fault> {
        Fault::of_text(self.as_str())
    }
}
