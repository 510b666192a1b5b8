// SPDX-License-Identifier: GPL-2.0-or-later
//! The series puts every declaration under CONFIG_MONITOR_RUST_LIB: an emulator from a
//! tree configured without `--monitor-rust-lib` runs and has none of the commands,
//! events or HMP entries of `qapi/`, and the one configured with it has them all.
//!
//! Needs both emulators: `cargo xtask test` (default release) builds the series tree
//! without the library and names its emulator in `QEMU_HELLO_PLAIN_BINARY`, the patched
//! one in `QEMU_HELLO_BINARY`; run alone, the test fails saying so.

#[path = "common/client.rs"]
mod client;

use client::{HelloWorld, QueryHelloWorld};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use harness::commands::{HumanMonitorCommand, QueryCommands, QueryQmpSchema};
use harness::declared::{self, Definition};
use harness::qapi::{ErrorClass, ExecuteError};
use harness::{Options, Qemu, binary_from_env};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn plain_binary() -> PathBuf {
    let p = std::env::var_os("QEMU_HELLO_PLAIN_BINARY").map(PathBuf::from).expect(
        "QEMU_HELLO_PLAIN_BINARY is not set: it names an emulator built from the series \
         without --monitor-rust-lib; `cargo xtask test` (or `cargo xtask test --series`) builds one",
    );
    assert!(p.is_file(), "QEMU_HELLO_PLAIN_BINARY={} does not exist", p.display());
    p
}

/// What one emulator offers of ours: QMP commands, schema entries (events, structs),
/// HMP commands and `info` subcommands, by name.
#[derive(Debug, Default, PartialEq)]
struct Offered {
    commands: BTreeSet<String>,
    schema: BTreeSet<String>,
    hmp: BTreeSet<String>,
    info: BTreeSet<String>,
}

fn hmp(qmp: &mut harness::Qmp, line: &str) -> String {
    qmp.execute(&HumanMonitorCommand { command_line: line.to_string() }).expect("human-monitor-command")
}

/// First words of `help` / `help info` lines: the HMP names the monitor knows.
fn help_names(text: &str) -> BTreeSet<String> {
    text.lines().filter_map(|l| l.split_whitespace().next()).map(String::from).collect()
}

fn offered(binary: &Path, defs: &[Definition], entries: &[declared::HmpEntry]) -> (Offered, Qemu) {
    let vm = Qemu::start(binary, &Options::default()).expect("QEMU starts");
    let mut qmp = vm.qmp().unwrap();
    let commands: BTreeSet<String> = qmp
        .execute(&QueryCommands {})
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect();
    let schema: BTreeSet<String> = qmp
        .execute(&QueryQmpSchema {})
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str().map(String::from))
        .collect();
    let help = help_names(&hmp(&mut qmp, "help"));
    // `help info` lines read "info NAME ...".
    let info: BTreeSet<String> = hmp(&mut qmp, "help info")
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
        .collect();
    let ours = |offered: &BTreeSet<String>, names: Vec<&String>| -> BTreeSet<String> {
        names.into_iter().filter(|n| offered.contains(*n)).cloned().collect()
    };
    let found = Offered {
        commands: ours(&commands, defs.iter().filter(|d| d.meta == "command").map(|d| &d.name).collect()),
        // query-qmp-schema names events by name (structs get opaque numbers there, so a
        // struct shows through the command that returns it).
        schema: ours(&schema, defs.iter().filter(|d| d.meta == "event").map(|d| &d.name).collect()),
        hmp: ours(&help, entries.iter().filter(|e| !e.info).map(|e| &e.name).collect()),
        info: ours(&info, entries.iter().filter(|e| e.info).map(|e| &e.name).collect()),
    };
    drop(qmp);
    (found, vm)
}

#[test]
#[ignore = "run by `cargo xtask test`: needs QEMU_HELLO_PLAIN_BINARY, the series built without the library"]
fn without_the_library_nothing_of_ours_exists_and_with_it_everything_does() {
    let defs = declared::definitions(root());
    let entries = declared::hmp_entries(root());
    let all = Offered {
        commands: defs.iter().filter(|d| d.meta == "command").map(|d| d.name.clone()).collect(),
        schema: defs.iter().filter(|d| d.meta == "event").map(|d| d.name.clone()).collect(),
        hmp: entries.iter().filter(|e| !e.info).map(|e| e.name.clone()).collect(),
        info: entries.iter().filter(|e| e.info).map(|e| e.name.clone()).collect(),
    };
    assert!(!all.commands.is_empty() && !all.hmp.is_empty(), "qapi/ declares no command: {all:?}");

    let (with, _vm) = offered(&binary_from_env(), &defs, &entries);
    assert_eq!(with, all, "the emulator built with --monitor-rust-lib lacks some of qapi/");

    let (without, mut vm) = offered(&plain_binary(), &defs, &entries);
    assert_eq!(
        without,
        Offered::default(),
        "the emulator built without --monitor-rust-lib has some of qapi/"
    );

    // Calling one is the ordinary error for an unknown command, and QEMU keeps running.
    let mut qmp = vm.qmp().unwrap();
    assert_not_found(qmp.execute(&HelloWorld::default()), "hello-world");
    assert_not_found(qmp.execute(&QueryHelloWorld {}), "query-hello-world");
    for e in &entries {
        let line = if e.info { format!("info {}", e.name) } else { e.name.clone() };
        let out = hmp(&mut qmp, &line);
        assert!(out.starts_with("unknown command"), "HMP {line:?} without the library: {out:?}");
    }
    assert!(vm.is_running());
}

fn assert_not_found<T: std::fmt::Debug>(got: Result<T, ExecuteError>, name: &str) {
    match got {
        Err(ExecuteError::Qapi(e)) => assert_eq!(e.class, ErrorClass::CommandNotFound, "{name}: {}", e.desc),
        other => panic!("{name} on the emulator without the library: {other:?}"),
    }
}
