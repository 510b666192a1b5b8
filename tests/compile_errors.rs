// SPDX-License-Identifier: GPL-2.0-or-later
//! A command function that does not match its declaration, or that could misuse what
//! the layer lends it, does not build, and the message names the command and the
//! member: checked on a copy of the repository, built against the configured QEMU tree of
//! `QEMU_BUILD_DIR` (set by `cargo xtask test`), for each mistake — a wrong argument
//! type, a required parameter for an optional member, a missing function, a function
//! that ignores a member, a `'static` borrow of an argument (QMP and its HMP twin), two
//! members of one type taken in the other order, and `unsafe` in a command file (also
//! behind `#![allow(unsafe_code)]`), the VM's run state asked for as another type, an
//! allow-oob command that asks for the BQL token, printing without the token, the token
//! sent to another thread or kept past the call, an HMP entry with no command declaration
//! beside it,
//! a build with `panic = "abort"`, and a `#[global_allocator]` of the crate's own (the
//! layer's, glib's, is what lets a `String` become QEMU's). The unchanged copy builds.

use std::path::Path;
use std::process::Output;

use harness::repo::RepoCopy;

const FILE: &str = "src/commands/hello_world.rs";
const SIGNATURE: &str = "pub fn hello_world(
    bql: Bql<'_>,
    message: Option<Result<&str, ParamError>>,
    chardev: Option<Result<&str, ParamError>>,
) -> Result<(), CommandError> {";
/// The first parameter, the call's BQL token, as a mistaken signature keeps it.
const BQL: &str = "bql: Bql<'_>, ";
/// The last parameter, as a mistaken signature keeps it.
const CHARDEV: &str = "chardev: Option<Result<&str, ParamError>>";
/// What the body needs of `message` (and `chardev`) when a mistaken signature drops it.
const KEEP_BODY: &str = "let chardev: Option<Result<&str, ParamError>> = None; let _ = &chardev; \
                         let message: Option<Result<&str, ParamError>> =";

fn build(copy: &RepoCopy, target: &Path) -> Output {
    build_with(copy, target, &[])
}

fn build_with(copy: &RepoCopy, target: &Path, env: &[(&str, &str)]) -> Output {
    let build_dir = std::env::var_os("QEMU_BUILD_DIR").expect("cargo xtask test sets QEMU_BUILD_DIR");
    copy.cargo()
        .args(["build", "--release", "--lib", "--package", "qemu-hello-rs", "--target-dir"])
        .arg(target)
        .env("QEMU_BUILD_DIR", build_dir)
        // Whole source lines in the messages, whatever their length.
        .env("RUSTFLAGS", "--diagnostic-width=1000")
        .envs(env.iter().copied())
        .output()
        .expect("cargo runs")
}

/// Builds the copy with each file's text `from` replaced by `to`; returns the build's
/// errors, and puts the files back.
fn errors_with_edits(copy: &RepoCopy, target: &Path, edits: &[(&str, &str, &str)]) -> String {
    let mut originals = Vec::new();
    for (file, from, to) in edits {
        let path = copy.path().join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        assert!(original.contains(from), "{file} changed; update this test:\n{original}");
        std::fs::write(&path, original.replacen(from, to, 1)).unwrap();
        originals.push((path, original));
    }
    let out = build(copy, target);
    for (path, original) in originals.into_iter().rev() {
        std::fs::write(path, original).unwrap();
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{edits:?} built; it should not:\n{stderr}");
    stderr
}

/// Builds the copy with `FILE`'s signature replaced by `signature` (and, for a rename,
/// the name); returns the compiler's errors.
fn errors_with(copy: &RepoCopy, target: &Path, signature: &str) -> String {
    errors_with_edits(copy, target, &[(FILE, SIGNATURE, signature)])
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
            "pub fn hello_world({BQL}message: Option<i64>, {CHARDEV}) -> Result<(), CommandError> {{ \
             let message: Option<Result<&str, ParamError>> = message.map(|_| Ok(\"\"));"
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
            "pub fn hello_world({BQL}message: &str, {CHARDEV}) -> Result<(), CommandError> {{ \
             let message: Option<Result<&str, ParamError>> = Some(Ok(message));"
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
        &format!(
            "pub fn hello_wrld({BQL}message: Option<Result<&str, ParamError>>, {CHARDEV}) -> Result<(), CommandError> {{"
        ),
    );
    assert_mentions(&missing, &["src/commands/hello_world.rs: no `fn hello_world` in this file"]);

    // The function ignores the schema's `message` member.
    let ignored = errors_with(
        &copy,
        target.path(),
        &format!("pub fn hello_world(bql: Bql<'_>) -> Result<(), CommandError> {{ {KEEP_BODY} None;"),
    );
    assert_mentions(
        &ignored,
        &[
            "fn hello_world takes 0 parameter(s) for the members of command 'hello-world', which has 2: (message, \
             chardev)",
        ],
    );

    // A borrowed argument kept for ever: QEMU frees the string when the call returns.
    let kept = errors_with(
        &copy,
        target.path(),
        &format!(
            "pub fn hello_world({BQL}message: Option<Result<&'static str, ParamError>>, {CHARDEV}) -> Result<(), CommandError> {{"
        ),
    );
    assert_mentions(
        &kept,
        &[
            "`scope` does not live long enough",
            "argument requires that `scope` is borrowed for `'static`",
            "command 'hello-world', member 'message'",
            "HMP 'hello-world', argum",
        ],
    );
    assert_eq!(kept.matches("error[E0597]").count(), 2, "QMP and HMP both refused:\n{kept}");

    // Two members of one type, taken in the other order.
    let swapped = errors_with_edits(
        &copy,
        target.path(),
        &[
            (
                "qapi/hello-world.json",
                "'data': { '*message': 'str', '*chardev': 'str' }",
                "'data': { '*message': 'str', '*prefix': 'str', '*chardev': 'str' }",
            ),
            (
                "qapi/hello-world.json",
                "# @message: the text",
                "# @prefix: put before it\n#\n# @message: the text",
            ),
            (
                FILE,
                SIGNATURE,
                &format!(
                    "pub fn hello_world({BQL}prefix: Option<&str>, message: Option<Result<&str, ParamError>>, \
                     {CHARDEV}) -> Result<(), CommandError> {{ let _ = prefix;"
                ),
            ),
        ],
    );
    assert_mentions(
        &swapped,
        &["src/commands/hello_world.rs: fn hello_world, parameter 2: named `prefix`, but command \
           'hello-world', member 'message' comes there; parameters bind to members by name, in the \
           schema's order: (message, prefix, chardev)"],
    );

    // The run state asked for as a type that is not QEMU's RunState.
    let not_run_state = errors_with_edits(
        &copy,
        target.path(),
        &[(
            "src/commands/query_hello_vm.rs",
            "status: vm::run_state(bql)?,",
            "status: { let _: qapi::HelloVmMemory = vm::run_state(bql)?; vm::run_state(bql)? },",
        )],
    );
    assert_mentions(
        &not_run_state,
        &["HelloVmMemory` is not one of QEMU's own enums", "include run-state.json in the schema"],
    );

    // An allow-oob command that asks for the BQL token (to read the VM's state): QEMU
    // may run it in the monitor's I/O thread, without the BQL, so it gets none; the build
    // refuses it, naming the command.
    let oob = errors_with_edits(
        &copy,
        target.path(),
        &[(
            "qapi/query-hello-vm.json",
            "'returns': 'HelloVmInfo'",
            "'returns': 'HelloVmInfo', 'allow-oob': true",
        )],
    );
    assert_mentions(
        &oob,
        &[
            "src/commands/query_hello_vm.rs: fn query_hello_vm takes a `Bql` token",
            "command 'query-hello-vm' is allow-oob",
            "without the BQL",
        ],
    );

    // Without the token, what only the lock's holder may do cannot be called (an
    // allow-oob command has none to give): printing, here.
    let no_token =
        errors_with_edits(&copy, target.path(), &[(FILE, "print_line(bql, line)", "print_line(line)")]);
    assert_mentions(
        &no_token,
        &["error[E0061]", "print_line(line)", "argument #1 of type `", "Bql<'_>` is missing"],
    );

    // The token cannot leave the thread that holds the lock, nor outlive the call.
    let sent = errors_with_edits(
        &copy,
        target.path(),
        &[(
            FILE,
            "    let mut stats = STATS.borrow_mut(bql)?;",
            "    std::thread::spawn(move || drop(bql));\n    let mut stats = STATS.borrow_mut(bql)?;",
        )],
    );
    assert_mentions(&sent, &["`*mut ()` cannot be sent between threads safely", "Bql<'_>"]);
    let kept_token = errors_with_edits(
        &copy,
        target.path(),
        &[(
            FILE,
            "    let mut stats = STATS.borrow_mut(bql)?;",
            "    thread_local!(static KEPT: std::cell::Cell<Option<Bql<'static>>> = const { std::cell::Cell::new(None) });\n    \
             KEPT.set(Some(bql));\n    let mut stats = STATS.borrow_mut(bql)?;",
        )],
    );
    assert_mentions(&kept_token, &["borrowed data escapes outside of function"]);

    // `unsafe` in a command file, plainly and behind an allow.
    let body = "    let mut stats = STATS.borrow_mut(bql)?;";
    let unsafe_block = errors_with_edits(
        &copy,
        target.path(),
        &[(
            FILE,
            body,
            "    let _ = unsafe { core::ptr::read(&0u8) };\n    let mut stats = STATS.borrow_mut(bql)?;",
        )],
    );
    assert_mentions(&unsafe_block, &["usage of an `unsafe` block", "#[forbid(unsafe_code)]"]);
    let allowed = errors_with_edits(
        &copy,
        target.path(),
        &[(FILE, "use crate::message;", "#![allow(unsafe_code)]\nuse crate::message;")],
    );
    assert_mentions(&allowed, &["allow(unsafe_code) incompatible with previous forbid"]);

    // An HMP entry with no command declaration beside it: the series would drop it.
    let orphan = copy.path().join("qapi/orphan.hx");
    std::fs::write(&orphan, std::fs::read_to_string(copy.path().join("qapi/hello-world.hx")).unwrap())
        .unwrap();
    let out = build(&copy, target.path());
    std::fs::remove_file(&orphan).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an orphan .hx built:\n{stderr}");
    assert_mentions(&stderr, &["qapi/orphan.hx: no qapi/orphan.json beside it"]);

    // panic = "abort": a panic in a command would end the VM, so the build refuses it.
    let out = build_with(&copy, target.path(), &[("CARGO_PROFILE_RELEASE_PANIC", "abort")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a panic = \"abort\" build succeeded:\n{stderr}");
    assert_mentions(&stderr, &["this crate is built with panic = \"abort\"", "needs panic = \"unwind\""]);

    // A global allocator of the crate's own: `GStr::from(String)` hands the String's
    // buffer to QEMU's g_free, which is sound only on the layer's allocator.
    let own = errors_with_edits(
        &copy,
        target.path(),
        &[(
            "src/lib.rs",
            "pub mod stats;",
            "pub mod stats;\n#[global_allocator]\nstatic MINE: std::alloc::System = std::alloc::System;",
        )],
    );
    assert_mentions(&own, &["conflicts with global allocator in: qemu_monitor_layer"]);
}
