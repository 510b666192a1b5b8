// SPDX-License-Identifier: GPL-2.0-or-later
//! Builds and runs a C contract test (`tests/c/*.c`): a C program that calls a
//! staticlib's generated handlers through QEMU's own prototypes (the configured tree's
//! headers and flags), with the fakes of `tests/c/fakes.h` in place of QEMU's monitor
//! functions, under ASan, UBSan and LeakSanitizer. Used by `tests/layer_c.rs` (the
//! hello-world family) and `tests/new_command.rs` (a panicking command).

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use qemu_monitor_layer_gen::tree;

fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = tools::cmd("pkg-config").args(args).arg("glib-2.0").output().expect("pkg-config runs");
    assert!(out.status.success(), "pkg-config {args:?} glib-2.0 failed");
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect()
}

/// What the program wrote and how long it ran.
pub struct Run {
    pub output: Output,
    pub took: Duration,
}

/// Compiles `program` against the QEMU build tree `build` with `defines`, links it with
/// `staticlib`, and runs it. With `stub_missing`, a function the library refers to that
/// neither the program nor glib defines (another command's event, say) is given a stub
/// that traps, so a program can test one command of a library holding several.
pub fn build_and_run(
    build: &Path,
    staticlib: &Path,
    program: &Path,
    defines: &[&str],
    stub_missing: bool,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("contract");
    let stubs = dir.path().join("stubs.c");
    std::fs::write(&stubs, "").unwrap();
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let compiler = cc::Build::new()
        .target(&target)
        .host(&target)
        .opt_level(1)
        .debug(true)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .out_dir(dir.path())
        .get_compiler();
    let link = || {
        let mut cmd = compiler.to_command();
        // The tree's own flags for its monitor C, as bindgen reads the headers with.
        cmd.args(tree::tree_flags(build).unwrap_or_else(|e| panic!("{e}"))).args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer",
        ]);
        cmd.args(defines.iter().map(|d| format!("-D{d}")));
        cmd.arg(program).arg(&stubs).arg(staticlib).args(pkg_config(&["--libs"])).args(["-lpthread", "-ldl"]);
        cmd.arg("-o").arg(&exe);
        let out = cmd.output().expect("the C compiler runs");
        (cmd, out)
    };
    let (mut cmd, mut compiled) = link();
    if !compiled.status.success() && stub_missing {
        let stderr = String::from_utf8_lossy(&compiled.stderr);
        let mut missing: Vec<&str> = stderr
            .split("undefined reference to `")
            .skip(1)
            .filter_map(|rest| rest.split_once('\'').map(|(name, _)| name))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let text: String = missing
            .iter()
            .map(|name| format!("void {name}(void);\nvoid {name}(void) {{ __builtin_trap(); }}\n"))
            .collect();
        std::fs::write(&stubs, text).unwrap();
        (cmd, compiled) = link();
    }
    assert!(compiled.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&compiled.stderr));

    let started = Instant::now();
    let output = tools::built(&exe)
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .env("UBSAN_OPTIONS", "print_stacktrace=1")
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{} failed ({}):\n{stderr}", program.display(), output.status);
    assert!(stderr.contains("all checks passed"), "{stderr}");
    assert!(!stderr.contains("runtime error") && !stderr.contains("Sanitizer"), "{stderr}");
    Run { output, took }
}
