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

/// The release `cargo xtask test` built (its build is done, so each call here only boots).
fn series() -> String {
    std::env::var("QEMU_HELLO_SERIES").expect("cargo xtask test sets QEMU_HELLO_SERIES")
}

/// `cargo xtask call`: each reply on stdout as `virsh qemu-monitor-command --pretty`
/// prints it, QEMU's stdout on stderr, and with --hmp the monitor's text.
#[test]
fn call_prints_each_reply_as_virsh_does() {
    let v = series();
    let out = xtask(
        &[
            "call",
            "--qemu",
            &v,
            r#"{"execute":"hello-world","arguments":{"message":"from call"}}"#,
            r#"{"execute":"query-hello-world"}"#,
        ],
        false,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let expected = "{\n  \"return\": {}\n}\n{\n  \"return\": {\n    \"calls\": 1,\n    \"failed-writes\": 0,\n    \
                    \"last-message\": \"from call\",\n    \"printed\": 1,\n    \"refused\": 0\n  }\n}\n";
    assert_eq!(stdout, expected);
    assert!(stderr.contains("QEMU's stdout:\n    from call\n"), "{stderr}");

    let out = xtask(&["call", "--qemu", &v, "--hmp", "hello-world over hmp", "info hello-world"], false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout, "\ncalls: 1\nprinted: 1\nrefused: 0\nfailed writes: 0\nlast message: over hmp\n");

    let out = xtask(&["call", "--qemu", &v, "--return-value", r#"{"execute":"query-hello-world"}"#], false);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\n  \"calls\": 0,\n  \"failed-writes\": 0,\n  \"printed\": 0,\n  \"refused\": 0\n}\n"
    );

    // An error reply is printed whole, and the call fails.
    let out = xtask(&["call", "--qemu", &v, r#"{"execute":"hello-world","arguments":{"message":1}}"#], false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("\"desc\": \"Invalid parameter type for 'message', expected: string\""),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 1 commands answered with an error"));
}

#[test]
fn a_call_that_is_not_a_qmp_command_is_refused_before_any_build() {
    assert_refused(&["call", "not json"], &["command 1", "not JSON"]);
    assert_refused(&["call", "{}", r#"{"x":1}"#], &["command 1", "\"execute\""]);
}

/// The shell is QEMU's own qmp-shell: it reads commands from a pipe as from a terminal.
#[test]
fn the_shell_is_qemus_qmp_shell() {
    use std::io::Write;
    for (hmp, input, needle) in [
        (
            false,
            "hello-world message=from-the-shell\nquery-hello-world\n",
            "\"last-message\": \"from-the-shell\"",
        ),
        (true, "hello-world from hmp\ninfo hello-world\n", "last message: from hmp"),
    ] {
        let mut cmd = tools::built(env!("CARGO_BIN_EXE_xtask"));
        cmd.args(["shell", "--qemu", &series()]);
        if hmp {
            cmd.arg("--hmp");
        }
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("Connected to QEMU"), "{stdout}");
        assert!(stdout.contains(needle), "{stdout}");
    }
}

/// Each driver command that prints a result gives the same last line run twice in a
/// row (coverage's second run once found no report). Run by `cargo xtask test` after
/// its coverage build, which makes both runs here quick.
#[test]
#[ignore = "runs coverage; cargo xtask test runs it after its own coverage build"]
fn each_result_is_the_same_when_run_twice() {
    let v = series();
    for args in [
        vec!["coverage", "--qemu", &v],
        vec!["build", "--qemu", &v],
        vec!["glue", "--qemu", &v],
        vec!["patches", "--check", "--qemu", &v],
    ] {
        let last: Vec<String> = (0..2)
            .map(|_| {
                let out = xtask(&args, false);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success(), "{args:?}:\n{stderr}");
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .rfind(|l| !l.trim().is_empty())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert_eq!(last[0], last[1], "{args:?} answered differently the second time");
        eprintln!("{args:?} twice: {}", last[0]);
    }
}

/// A crate whose `a-…` schema file uses a type its `b-…` file declares: the series puts
/// `b` first, so the schema resolves at every commit (`patches --check` runs QEMU's QAPI
/// generator at each). In name order the commit adding `a` would not resolve.
#[test]
#[ignore = "generates a series twice; cargo xtask test runs it for the default release"]
fn a_series_whose_files_share_types_resolves_at_every_commit() {
    let v = series();
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::copy(root.join("Cargo.toml"), dir.path().join("Cargo.toml")).unwrap();
    let qapi = dir.path().join("qapi");
    std::fs::create_dir(&qapi).unwrap();
    for e in std::fs::read_dir(root.join("qapi")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, qapi.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        qapi.join("a-use-thing.json"),
        "##\n# @x-use-thing:\n#\n# Return a thing.\n#\n# Since: 10.2\n##\n\
         { 'command': 'x-use-thing', 'returns': 'XThing' }\n",
    )
    .unwrap();
    std::fs::write(
        qapi.join("b-thing.json"),
        "##\n# @XThing:\n#\n# A thing.\n#\n# @n: a number\n#\n# Since: 10.2\n##\n\
         { 'struct': 'XThing', 'data': { 'n': 'int' } }\n",
    )
    .unwrap();
    // The build's Python venv (meson for the series generator), not a second one.
    let venv = root.join("target/qemu").join(&v).join("venv");
    if venv.is_dir() {
        let ours = dir.path().join("target/qemu").join(&v);
        std::fs::create_dir_all(&ours).unwrap();
        std::os::unix::fs::symlink(&venv, ours.join("venv")).unwrap();
    }
    let crate_dir = dir.path().to_str().unwrap();
    for args in [
        vec!["--crate", crate_dir, "patches", "--qemu", &v],
        vec!["--crate", crate_dir, "patches", "--check", "--qemu", &v],
    ] {
        let out = xtask(&args, false);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}:\n{stderr}");
        if args.contains(&"--check") {
            assert!(
                stderr.contains(
                    "QEMU's QAPI generator accepts both schemas at each of the 5 commits that change one"
                ),
                "{stderr}"
            );
        }
    }
    let mut patches: Vec<String> = std::fs::read_dir(dir.path().join("qemu-patches").join(&v))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".patch"))
        .collect();
    patches.sort();
    let at = |needle: &str| {
        patches.iter().position(|p| p.contains(needle)).unwrap_or_else(|| panic!("{needle}: {patches:?}"))
    };
    assert!(at("XThing") < at("x-use-thing"), "the type's commit comes first: {patches:?}");
}

/// `cargo xtask source status` for a pin older than what Debian's suite offers: it names
/// the suite's current revision and prints the changelog entries between, the CVE lines
/// first (bookworm's 7.2: deb12u17 and deb12u18 since deb12u16, CVE-2025-11234 among
/// them). Asks Debian's archive (a private apt configuration).
#[test]
fn an_older_pin_finds_the_current_revision_and_the_entries_between() {
    let out = xtask(&["source", "status", "--qemu", "7.2", "--as-if-pinned", "1:7.2+dfsg-7+deb12u16"], false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("QEMU 7.2: pinned to 1:7.2+dfsg-7+deb12u16; bookworm offers 1:7.2+dfsg-7+deb12u"),
        "{stdout}"
    );
    for entry in ["qemu (1:7.2+dfsg-7+deb12u18)", "qemu (1:7.2+dfsg-7+deb12u17)"] {
        assert!(stdout.contains(&format!("| {entry}")), "{entry} missing:\n{stdout}");
    }
    assert!(!stdout.contains("| qemu (1:7.2+dfsg-7+deb12u16)"), "the pinned entry is not news:\n{stdout}");
    let cve = stdout.find("  Closes: #1117153, CVE-2025-11234").expect("the CVE line");
    assert!(cve < stdout.find("| qemu (").unwrap(), "the CVE lines come first:\n{stdout}");
}
