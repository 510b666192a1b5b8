// SPDX-License-Identifier: GPL-2.0-or-later
//! The README's path for adding a command, followed in a copy of the repository:
//! `cargo xtask new-command`, a one-line body, `cargo xtask patches`, `cargo xtask build`;
//! then the new command is called over QMP and HMP in the QEMU that build produced. Only
//! the files the steps name may change.
//!
//! It builds QEMU in the copy (ccache makes that a few minutes), so `cargo xtask test`
//! runs it once, for the default release (`--ignored`); run it by hand with
//! `cargo test --test new_command -- --ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::commands::HumanMonitorCommand;
use harness::repo::RepoCopy;
use harness::{Options, Qemu};
use serde::Serialize;
use serde_json::{Value, json};

const NAME: &str = "say-hello";
const LINE: &str = "Hello from a scaffolded command";

#[derive(Serialize, Debug)]
struct SayHello {}

impl harness::qapi::Command for SayHello {
    type Ok = Value;
    const NAME: &'static str = NAME;
    const ALLOW_OOB: bool = false;
}

/// Runs `cmd` and returns its stdout; fails the test with its output otherwise.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "builds QEMU in a copy of the repository; cargo xtask test runs it for the default release"]
fn a_scaffolded_command_builds_and_answers() {
    let copy = RepoCopy::of(Path::new(env!("CARGO_MANIFEST_DIR")));
    let version = std::env::var("QEMU_HELLO_VERSION").unwrap_or_else(|_| "10.2.2".into());
    let version = version.strip_suffix(".0").unwrap_or(&version).to_string();

    // Step 1: the scaffold.
    run(copy.cargo().args(["xtask", "new-command", NAME, "--hmp"]));
    // Step 2: a one-line body.
    let file = copy.path().join("src/commands/say_hello.rs");
    let stub = std::fs::read_to_string(&file).unwrap();
    let stub_line = "    Err(CommandError::new(\"say-hello is not implemented yet\"))";
    assert!(stub.contains(stub_line), "the stub changed:\n{stub}");
    let body = format!("    print_line({LINE:?}).map_err(CommandError::new)");
    std::fs::write(&file, stub.replace(stub_line, &body)).unwrap();
    // Step 3: the series, and the build.
    run(copy.cargo().args(["xtask", "patches", "--qemu", &version]));
    let built = run(copy.cargo().args(["xtask", "build", "--qemu", &version]));
    let binary = PathBuf::from(built.lines().last().expect("build prints the binary's path"));
    assert!(binary.starts_with(copy.path()), "{} is not the copy's build", binary.display());

    let mut vm = Qemu::start(&binary, &Options::default()).expect("QEMU starts");
    let mut qmp = vm.qmp().expect("handshake");
    assert_eq!(qmp.execute(&SayHello {}).expect("say-hello succeeds"), json!({}));
    let hmp = HumanMonitorCommand { command_line: NAME.into() };
    assert_eq!(qmp.execute(&hmp).expect("HMP say-hello succeeds"), "");
    assert_eq!(vm.stdout(), format!("{LINE}\n{LINE}\n"));
    assert!(vm.is_running());
    drop(vm);

    let mut changed = copy.changed_files();
    changed.retain(|p| !p.starts_with(format!("qemu-patches/{version}/")));
    changed.sort();
    let expected: Vec<PathBuf> = ["qapi/say-hello.hx", "qapi/say-hello.json", "src/commands/say_hello.rs"]
        .iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(changed, expected, "the steps changed files they do not name");
}
