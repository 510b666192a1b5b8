// SPDX-License-Identifier: GPL-2.0-or-later
//! The staticlib that QEMU links: it defines exactly the handlers the declarations name
//! and holds no path to a panic.
//!
//! The crate is built with LTO, so its code is one object in the archive (the others are
//! `core` and `compiler_builtins`). If any reachable code could panic, that object would
//! refer to the panic handler's `abort` or to `core::panicking`.
//!
//! The other members are `compiler_builtins`' (the `__divti3`, `__muldc3`, … of
//! compiler-rt/libgcc, which a `no_std` staticlib always carries): an archive member is
//! only pulled into the link for a symbol still undefined, so QEMU's objects find each in
//! libgcc or in these members, which implement the same ABI, never in both; the Rust-built
//! ones are weak and hidden besides, so they cannot clash. The crate's own object defines
//! the handlers and a weak `rust_eh_personality` (layer/src/ffi.rs says why), nothing else: no
//! panic or unwinding machinery.

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
fn defines_the_declared_handlers_and_nothing_else() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut expected: Vec<String> = harness::declared::definitions(root)
        .iter()
        .filter(|d| d.meta == "command")
        .map(|d| format!("T qmp_{}", d.name.replace('-', "_")))
        .chain(harness::declared::hmp_entries(root).into_iter().map(|h| format!("T {}", h.cmd)))
        // Weak (layer/src/ffi.rs says why): a Rust std in the same binary brings a strong one.
        .chain(["W rust_eh_personality".to_string()])
        .collect();
    expected.sort();
    // Every symbol the crate's object defines for the linker: global or weak (an
    // upper-case type letter), not undefined.
    let mut defined: Vec<String> = crate_object_symbols()
        .iter()
        .filter_map(|l| {
            let mut f = l.split_whitespace().rev();
            let (name, kind) = (f.next()?, f.next()?);
            (kind.len() == 1 && kind != "U" && kind.chars().all(|c| c.is_ascii_uppercase()))
                .then(|| format!("{kind} {name}"))
        })
        .collect();
    defined.sort();
    assert_eq!(defined, expected, "the archive's own global symbols are not exactly the declared handlers");
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
