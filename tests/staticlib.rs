// SPDX-License-Identifier: GPL-2.0-or-later
//! The staticlib that QEMU links: it exports both handlers and holds no path to a panic.
//!
//! The crate is built with LTO, so its code is one object in the archive (the others are
//! `core` and `compiler_builtins`). If any reachable code could panic, that object would
//! refer to the panic handler's `abort` or to `core::panicking`.

use std::process::Command;

fn crate_object_symbols() -> Vec<String> {
    let lib = std::env::var("QEMU_HELLO_STATICLIB").expect("cargo xtask test sets QEMU_HELLO_STATICLIB");
    let out = Command::new("nm").arg(&lib).output().expect("nm (binutils) runs");
    assert!(out.status.success(), "nm {lib} failed");
    let text = String::from_utf8_lossy(&out.stdout);
    // `nm` prints one block per archive member, headed by "member.o:".
    let blocks: Vec<&str> = text.split("\n\n").collect();
    let ours: Vec<&&str> =
        blocks.iter().filter(|b| b.lines().any(|l| l.ends_with(" T qmp_hello_world"))).collect();
    assert_eq!(ours.len(), 1, "exactly one member of {lib} defines qmp_hello_world");
    ours[0].lines().map(str::to_string).collect()
}

#[test]
fn exports_both_handlers() {
    let syms = crate_object_symbols();
    for name in ["qmp_hello_world", "hmp_hello_world"] {
        assert!(syms.iter().any(|l| l.ends_with(&format!(" T {name}"))), "{name} not exported: {syms:?}");
    }
}

#[test]
fn no_code_path_can_panic() {
    let syms = crate_object_symbols();
    let bad: Vec<_> = syms
        .iter()
        .filter(|l| l.ends_with(" U abort") || l.contains("panicking") || l.contains("rust_begin_unwind"))
        .collect();
    assert!(bad.is_empty(), "the staticlib can reach a panic: {bad:?}");
}
