// SPDX-License-Identifier: GPL-2.0-or-later
//! The staticlib that QEMU links defines, for the linker, exactly the handlers the
//! declarations name, and the panic boundary is in it.
//!
//! The crate is built with LTO, so its code is one object in the archive (the others are
//! `compiler_builtins`': the `__divti3`, `__muldc3`, … of compiler-rt/libgcc, weak and
//! hidden, pulled into a link only for a symbol nothing else defines). LTO leaves three
//! of the Rust standard library's symbols global besides the handlers
//! (`rust_eh_personality`, a panic marker, an `.init_array` entry), which a second
//! standard library in the same binary (QEMU's own Rust, `--enable-rust`) defines too;
//! `cargo xtask build` makes them local (`seal_staticlib` in xtask/src/qemu.rs), so the
//! object's global symbols are the handlers and the weak, hidden
//! `DW.ref.rust_eh_personality` (one COMDAT group, kept once by the linker).

fn crate_object_symbols() -> Vec<String> {
    let lib = std::env::var("QEMU_HELLO_STATICLIB").expect("cargo xtask test sets QEMU_HELLO_STATICLIB");
    let out = tools::cmd("nm").arg(&lib).output().expect("nm (binutils) runs");
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
        // Weak and hidden, the signature of the COMDAT group the linker keeps once: the
        // unwind tables reach the personality routine through it (xtask/src/qemu.rs).
        .chain(["V DW.ref.rust_eh_personality".to_string()])
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
fn the_panic_boundary_is_in_the_library() {
    // The handlers catch a command's panic (std's `catch_unwind`, whose landing pads
    // need the unwinder) and report it through the hook the layer installs.
    let syms = crate_object_symbols();
    let undefined = |name: &str| syms.iter().any(|l| l.ends_with(&format!(" U {name}")));
    assert!(undefined("_Unwind_RaiseException"), "the library cannot unwind: built with panic = \"abort\"?");
}
