// SPDX-License-Identifier: GPL-2.0-or-later
//! The generated handlers called from C, through QEMU's own prototypes, under ASan and
//! UBSan: `tests/c/layer.c` is compiled with the `cc` crate's compiler against the
//! configured tree's headers (`QEMU_BUILD_DIR`) and linked with the staticlib
//! (`QEMU_HELLO_STATICLIB`), with fake `Error`, `Monitor`, `QDict` and event functions in
//! place of QEMU's. It checks arguments, error texts and their source location, the
//! returned struct (freed as QEMU frees it), events, and HMP output; LeakSanitizer
//! checks that nothing leaks. No QEMU is booted: it runs in milliseconds.

use qemu_monitor_layer_build::tree;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| panic!("cargo xtask test sets {name}")))
}

fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config").args(args).arg("glib-2.0").output().expect("pkg-config runs");
    assert!(out.status.success(), "pkg-config {args:?} glib-2.0 failed");
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect()
}

#[test]
fn generated_handlers_under_asan_and_ubsan() {
    let build = env_path("QEMU_BUILD_DIR");
    let staticlib = env_path("QEMU_HELLO_STATICLIB");
    let out_dir = tempfile::tempdir().unwrap();
    let exe = out_dir.path().join("layer");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(build.join("qapi/qapi-commands-misc.h")).unwrap();

    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let compiler = cc::Build::new()
        .target(&target)
        .host(&target)
        .opt_level(1)
        .debug(true)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .out_dir(out_dir.path())
        .get_compiler();
    let mut cmd = compiler.to_command();
    // The tree's own flags for its monitor C, as bindgen reads the headers with.
    cmd.args(tree::tree_flags(&build).unwrap_or_else(|e| panic!("{e}"))).args([
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=undefined",
        "-fno-omit-frame-pointer",
    ]);
    if header.contains("bool has_message") {
        cmd.arg("-DQEMU_HAS_MESSAGE_FLAG");
    }
    cmd.arg(root.join("tests/c/layer.c"))
        .arg(&staticlib)
        .args(pkg_config(&["--libs"]))
        .args(["-lpthread", "-ldl"]);
    cmd.arg("-o").arg(&exe);
    let compiled = cmd.output().expect("the C compiler runs");
    assert!(compiled.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&compiled.stderr));

    let started = Instant::now();
    let run = Command::new(&exe)
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .env("UBSAN_OPTIONS", "print_stacktrace=1")
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "tests/c/layer.c failed ({}):\n{stderr}", run.status);
    assert!(stderr.contains("all checks passed"), "{stderr}");
    assert!(!stderr.contains("runtime error") && !stderr.contains("Sanitizer"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "Hello, world\nWe love qemu\nfrom hmp\n");
    eprintln!(
        "tests/c/layer.c: {} checks passed in {:.1} ms",
        stderr.matches("\nok: ").count() + 1,
        took.as_secs_f64() * 1e3
    );
}
