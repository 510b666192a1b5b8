// SPDX-License-Identifier: GPL-2.0-or-later
//! A command function that does not match its declaration, or that could misuse what
//! the layer lends it, does not build, and the message names the command and the
//! member. Each mistake is one case in `tests/compile-fail/`, in the manner of trybuild:
//! `<case>.patch` (a `git diff`, its first lines saying what it proves) made to a copy
//! of the repository, and `<case>.stderr` beside it, the build's errors as the user sees
//! them. The copy is built against the configured QEMU tree of `QEMU_BUILD_DIR` (set by
//! `cargo xtask test`); the unchanged copy builds, each patched one fails with exactly
//! the recorded errors, and a changed message shows as a diff (`diff -u`). Every case
//! runs, and all differences are reported together.
//!
//! `QEMU_HELLO_BLESS=1` writes each `.stderr` from this build instead (review it with
//! `git diff`), as `TRYBUILD=overwrite` does. The messages are the default release's:
//! `cargo xtask test` runs this test for that release only (the schema and the generated
//! handlers of the others differ in the lines quoted).
//!
//! What the build output holds is made independent of the machine: the copy's path is
//! `$COPY`, the target directory's `$TARGET`, a build script's hash `HASH`, the Rust
//! toolchain's source `$RUST`; cargo's progress lines and a failed build script's
//! `--- stdout` (its `cargo:` directives) are left out.

use std::path::{Path, PathBuf};
use std::process::Output;

use harness::repo::RepoCopy;

/// The directory of the cases.
fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compile-fail")
}

fn build(copy: &RepoCopy, target: &Path) -> Output {
    let build_dir = std::env::var_os("QEMU_BUILD_DIR").expect("cargo xtask test sets QEMU_BUILD_DIR");
    copy.cargo()
        .args(["build", "--release", "--lib", "--package", "qemu-hello-rs", "--target-dir"])
        .arg(target)
        .env("QEMU_BUILD_DIR", build_dir)
        // Whole source lines in the messages, whatever their length; no colour.
        .env("RUSTFLAGS", "--diagnostic-width=1000")
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_PROFILE_RELEASE_PANIC")
        // A panic's message without a backtrace, as a user's build shows it.
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("cargo runs")
}

/// Replaces each run of `len` lowercase hex digits that follows `before` with `with`.
fn replace_hex(text: &str, before: char, len: usize, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(before) {
        let (head, tail) = rest.split_at(at + before.len_utf8());
        out.push_str(head);
        let hex = tail.bytes().take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)).count();
        if hex == len {
            out.push_str(with);
            rest = &tail[len..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// The build's stderr as recorded: see the module's documentation.
fn normalize(stderr: &str, copy: &Path, target: &Path) -> String {
    let text = stderr
        .replace(&target.display().to_string(), "$TARGET")
        .replace(&copy.display().to_string(), "$COPY");
    let text = replace_hex(&text, '-', 16, "HASH");
    let text = replace_hex(&text, '/', 40, "HASH").replace("/rustc/HASH/", "$RUST/");
    let mut lines = Vec::new();
    let mut in_stdout = false;
    for line in text.lines() {
        if line.trim() == "--- stdout" {
            in_stdout = true;
            continue;
        }
        if line.trim() == "--- stderr" {
            in_stdout = false;
        }
        let progress =
            ["Compiling ", "Finished ", "Blocking "].iter().any(|p| line.trim_start().starts_with(p))
                || line.starts_with("warning: build failed, waiting for other jobs to finish");
        if !in_stdout && !progress {
            lines.push(line.trim_end());
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `diff -u` of what was recorded and what this build printed.
fn diff(expected: &Path, actual: &str) -> String {
    let scratch = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(scratch.path(), actual).unwrap();
    let out = tools::cmd("diff")
        .args(["-u", "--label", "recorded", "--label", "this build"])
        .arg(expected)
        .arg(scratch.path())
        .output()
        .expect("diff runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn each_mistake_in_tests_compile_fail_is_refused_as_recorded() {
    let dir = cases_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 16, "{} cases in {}", cases.len(), dir.display());
    // Every recorded output has its case.
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        assert!(
            p.extension().is_some_and(|x| x == "patch") || p.with_extension("patch").is_file(),
            "{} has no .patch beside it",
            p.display()
        );
    }

    let bless = std::env::var_os("QEMU_HELLO_BLESS").is_some_and(|v| v == "1");
    let copy = RepoCopy::of(Path::new(env!("CARGO_MANIFEST_DIR")));
    let target = tempfile::tempdir().unwrap();
    let control = build(&copy, target.path());
    assert!(
        control.status.success(),
        "the unchanged copy does not build:\n{}",
        String::from_utf8_lossy(&control.stderr)
    );

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        copy.apply(case);
        let out = build(&copy, target.path());
        copy.restore();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            failures.push(format!("{name}: built; it should not:\n{stderr}"));
            continue;
        }
        let actual = normalize(&stderr, copy.path(), target.path());
        if !actual.contains("error") {
            failures.push(format!("{name}: failed without an error message:\n{actual}"));
            continue;
        }
        let expected = case.with_extension("stderr");
        if bless {
            std::fs::write(&expected, &actual).unwrap();
            eprintln!("wrote {}", expected.display());
        } else if !expected.is_file() {
            failures
                .push(format!("{name}: no {} (QEMU_HELLO_BLESS=1 writes it):\n{actual}", expected.display()));
        } else if std::fs::read_to_string(&expected).unwrap() != actual {
            failures.push(format!(
                "{name}: the errors differ from the recorded ones:\n{}",
                diff(&expected, &actual)
            ));
        } else {
            eprintln!("ok {name}");
        }
    }
    assert!(failures.is_empty(), "{} of {} cases:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

mod normalize_tests {
    use super::*;

    #[test]
    fn paths_hashes_and_progress_lines_are_made_machine_independent() {
        let copy = Path::new("/tmp/qemu-hello-rs-copy-Ab12");
        let target = Path::new("/tmp/.tmpXyZ");
        let raw = [
            "   Compiling qemu-hello-rs v0.1.0 (/tmp/qemu-hello-rs-copy-Ab12)",
            "error: failed to run custom build command for `qemu-hello-rs v0.1.0 (/tmp/qemu-hello-rs-copy-Ab12)`",
            "  process didn't exit successfully: `/tmp/.tmpXyZ/release/build/qemu-hello-rs-0123456789abcdef/build-script-build`",
            "  --- stdout",
            "  cargo:rerun-if-changed=qapi",
            "",
            "  --- stderr",
            "  qapi/orphan.hx: no qapi/orphan.json beside it  ",
            "note: at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ops.rs",
            "warning: build failed, waiting for other jobs to finish...",
        ]
        .join("\n");
        let expected = [
            "error: failed to run custom build command for `qemu-hello-rs v0.1.0 ($COPY)`",
            "  process didn't exit successfully: `$TARGET/release/build/qemu-hello-rs-HASH/build-script-build`",
            "  --- stderr",
            "  qapi/orphan.hx: no qapi/orphan.json beside it",
            "note: at $RUST/library/core/src/ops.rs",
            "",
        ]
        .join("\n");
        assert_eq!(normalize(&raw, copy, target), expected);
    }

    #[test]
    fn hex_runs_of_another_length_stay() {
        assert_eq!(replace_hex("a-0123-b-0123456789abcdef/", '-', 16, "HASH"), "a-0123-b-HASH/");
    }
}
