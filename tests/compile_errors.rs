// SPDX-License-Identifier: GPL-2.0-or-later
//! A command function that does not match its declaration does not compile, and the
//! compiler's message names the command and the member: checked on a copy of the
//! repository, built against the configured QEMU tree of `QEMU_BUILD_DIR` (set by
//! `cargo xtask test`), for four mistakes — a wrong argument type, a required parameter
//! for an optional member, a missing function, and a function that ignores a member. The unchanged copy builds.

use std::path::Path;
use std::process::Output;

use harness::repo::RepoCopy;

const FILE: &str = "src/commands/hello_world.rs";
const SIGNATURE: &str =
    "pub fn hello_world(message: Option<Result<&str, ParamError>>) -> Result<(), CommandError> {";
/// What the body needs of `message` when a mistaken signature drops it.
const KEEP_BODY: &str = "let message: Option<Result<&str, ParamError>> =";

fn build(copy: &RepoCopy, target: &Path) -> Output {
    let build_dir = std::env::var_os("QEMU_BUILD_DIR").expect("cargo xtask test sets QEMU_BUILD_DIR");
    copy.cargo()
        .args(["build", "--release", "--lib", "--package", "qemu-hello-rs", "--target-dir"])
        .arg(target)
        .env("QEMU_BUILD_DIR", build_dir)
        .output()
        .expect("cargo runs")
}

/// Builds the copy with `FILE`'s signature replaced by `signature` (and, for a rename,
/// the name); returns the compiler's errors.
fn errors_with(copy: &RepoCopy, target: &Path, signature: &str) -> String {
    let path = copy.path().join(FILE);
    let original = std::fs::read_to_string(&path).unwrap();
    assert!(original.contains(SIGNATURE), "{FILE} changed; update this test:\n{original}");
    std::fs::write(&path, original.replace(SIGNATURE, signature)).unwrap();
    let out = build(copy, target);
    std::fs::write(&path, original).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "`{signature}` compiled; it should not:\n{stderr}");
    stderr
}

fn assert_mentions(stderr: &str, needles: &[&str]) {
    for n in needles {
        assert!(stderr.contains(n), "the compiler's message lacks {n:?}:\n{stderr}");
    }
}

#[test]
fn mistakes_in_a_command_function_are_compile_errors() {
    let copy = RepoCopy::of(Path::new(env!("CARGO_MANIFEST_DIR")));
    let target = tempfile::tempdir().unwrap();
    let control = build(&copy, target.path());
    assert!(
        control.status.success(),
        "the unchanged copy does not build:\n{}",
        String::from_utf8_lossy(&control.stderr)
    );

    // The schema says `'*message': 'str'`; the function takes an integer.
    let wrong_type = errors_with(
        &copy,
        target.path(),
        &format!(
            "pub fn hello_world(message: Option<i64>) -> Result<(), CommandError> {{ {KEEP_BODY} message.map(|_| Ok(\"\"));"
        ),
    );
    assert_mentions(
        &wrong_type,
        &[
            "a command function's parameter of type `Option<i64>` does not fit its schema member",
            "command 'hello-world', member 'message'",
        ],
    );

    // The member is optional; the function takes a required string.
    let required = errors_with(
        &copy,
        target.path(),
        &format!(
            "pub fn hello_world(message: &str) -> Result<(), CommandError> {{ {KEEP_BODY} Some(Ok(message));"
        ),
    );
    assert_mentions(
        &required,
        &[
            "parameter of type `&str` does not fit its schema member",
            "command 'hello-world', member 'message'",
        ],
    );

    // The function is missing (misnamed).
    let missing = errors_with(
        &copy,
        target.path(),
        "pub fn hello_wrld(message: Option<Result<&str, ParamError>>) -> Result<(), CommandError> {",
    );
    assert_mentions(
        &missing,
        &["cannot find function `hello_world` in module `crate::commands::hello_world`"],
    );

    // The function ignores the schema's `message` member.
    let ignored = errors_with(
        &copy,
        target.path(),
        &format!("pub fn hello_world() -> Result<(), CommandError> {{ {KEEP_BODY} None;"),
    );
    assert_mentions(
        &ignored,
        &["takes 0 arguments but 1 argument was supplied", "command 'hello-world', member 'message'"],
    );
}
