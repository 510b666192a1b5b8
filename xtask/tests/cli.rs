// SPDX-License-Identifier: GPL-2.0-or-later
//! The build driver under bad input, as a new user would give it: each option's bad
//! value is refused with one line naming the option and the value, nothing is built,
//! and a reader that goes away (`cargo xtask build | head -n 1`) ends it quietly.
//!
//! Each refusal is checked twice: on this machine as it is, and with every package of
//! the tools table counting as absent (`tools::ABSENT_ENV`), where any install or tool
//! the driver needed before checking its options would fail first. A refusal that
//! passes only because an earlier run installed something fails here.

use std::process::{Output, Stdio};

fn xtask(args: &[&str], tools_absent: bool) -> Output {
    let mut cmd = tools::built(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args).env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
    if tools_absent {
        cmd.env(tools::ABSENT_ENV, "1");
    }
    cmd.output().expect("xtask runs")
}

/// Expects a refusal: a non-zero exit, and a first stderr line naming each of `needles`,
/// with the machine's tools and without any.
fn assert_refused(args: &[&str], needles: &[&str]) {
    assert_refused_with(args, needles, false);
    assert_refused_with(args, needles, true);
}

fn assert_refused_with(args: &[&str], needles: &[&str], tools_absent: bool) {
    let out = xtask(args, tools_absent);
    let args = format!("{args:?}{}", if tools_absent { " (no tools)" } else { "" });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} was accepted:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    for n in needles {
        assert!(first.contains(n), "{args:?}: the error line {first:?} lacks {n:?}");
    }
    let rest: Vec<&str> =
        stderr.lines().skip(1).filter(|l| !l.is_empty() && !l.starts_with("For more information")).collect();
    assert!(rest.is_empty(), "{args:?}: more than one line of error:\n{stderr}");
}

#[test]
fn an_unknown_qemu_version_is_named() {
    assert_refused(&["build", "--qemu", "9.9"], &["--qemu", "9.9", "supported: 10.2.2"]);
    assert_refused(&["test", "--qemu", "9.9"], &["--qemu", "9.9"]);
    assert_refused(&["patches", "--qemu", "9.9"], &["--qemu", "9.9"]);
    assert_refused(&["package", "--qemu", "9.9"], &["--qemu", "9.9"]);
}

#[test]
fn a_missing_or_wrong_source_dir_is_named() {
    assert_refused(&["build", "--qemu-src", "/nonexistent"], &["--qemu-src", "/nonexistent", "No such file"]);
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    assert_refused(&["build", "--qemu-src", dir], &["--qemu-src", dir, "not a QEMU source tree"]);
}

#[test]
fn a_wrong_tarball_is_refused_every_time() {
    assert_refused(&["build", "--qemu-tarball", "/nonexistent"], &["--qemu-tarball", "/nonexistent"]);
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("qemu_10.2.2+ds.orig.tar.xz");
    std::fs::write(&junk, b"not QEMU").unwrap();
    let junk = junk.to_str().unwrap();
    // Checked before anything else, whether or not a tree was prepared before.
    assert_refused(&["build", "--qemu-tarball", junk], &["--qemu-tarball", junk, "sha256", "refusing it"]);
    assert_refused(&["package", "--qemu-tarball", junk], &["--qemu-tarball", junk, "sha256", "refusing it"]);
}

#[test]
fn a_bad_command_name_or_number_is_named() {
    assert_refused(&["new-command", "Bad Name"], &["Bad Name", "not a QMP command name"]);
    assert_refused(&["bench", "--rounds", "x"], &["--rounds", "'x'"]);
}

/// `cargo xtask build | head -n 1` with the build done: the reader is gone by the time
/// the path is printed; the driver ends quietly instead of panicking (exit 134 before).
#[test]
fn a_closed_stdout_ends_the_build_quietly() {
    let version = std::env::var("QEMU_HELLO_SERIES").expect("cargo xtask test sets QEMU_HELLO_SERIES");
    let mut child = tools::built(env!("CARGO_BIN_EXE_xtask"))
        .args(["build", "--qemu", &version])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xtask runs");
    drop(child.stdout.take()); // the reader goes away before anything is printed
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "exit {}:\n{stderr}", out.status);
}
