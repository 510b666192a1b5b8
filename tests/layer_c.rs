// SPDX-License-Identifier: GPL-2.0-or-later
//! The generated handlers called from C, through QEMU's own prototypes, under ASan and
//! UBSan: `tests/c/layer.c` is compiled with the `cc` crate's compiler against the
//! configured tree's headers (`QEMU_BUILD_DIR`) and linked with the staticlib
//! (`QEMU_HELLO_STATICLIB`), with fake `Error`, `Monitor`, `QDict` and event functions in
//! place of QEMU's. It checks arguments, error texts and their source location, the
//! returned struct (freed as QEMU frees it), events, HMP output, and the chardev form
//! against fake character devices (one that takes all, one that takes part, one that
//! fails, and an unknown id); LeakSanitizer
//! checks that nothing leaks. No QEMU is booted: it runs in milliseconds.

#[path = "common/c_contract.rs"]
mod c_contract;

use std::path::{Path, PathBuf};

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| panic!("cargo xtask test sets {name}")))
}

#[test]
fn generated_handlers_under_asan_and_ubsan() {
    let build = env_path("QEMU_BUILD_DIR");
    let staticlib = env_path("QEMU_HELLO_STATICLIB");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(build.join("qapi/qapi-commands-misc.h")).unwrap();
    // 7.2's prototype passes `has_message`.
    let defines: &[&str] = if header.contains("bool has_message") { &["QEMU_HAS_MESSAGE_FLAG"] } else { &[] };
    // The VM accessors (src/vm.c of the layer) refer to QEMU's machine and CPUs, which
    // the program does not fake: they get stubs that trap, and are tested in a real QEMU
    // (tests/vm.rs).
    let run = c_contract::build_and_run(&build, &staticlib, &root.join("tests/c/layer.c"), defines, true);
    let stderr = String::from_utf8_lossy(&run.output.stderr);
    assert_eq!(String::from_utf8_lossy(&run.output.stdout), "Hello, world\nWe love qemu\nfrom hmp\n");
    eprintln!(
        "tests/c/layer.c: {} checks passed in {:.1} ms",
        stderr.matches("\nok: ").count() + 1,
        run.took.as_secs_f64() * 1e3
    );
}
