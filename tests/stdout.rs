// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU's stdout fails or is shared: calls still answer, QEMU keeps running, lines stay whole.

use std::collections::HashMap;
use std::path::PathBuf;
use std::thread;

use harness::commands::{HelloWorld, HumanMonitorCommand};
use harness::qapi::{ErrorClass, ExecuteError};
use harness::{Options, Qemu, Stdout, binary_from_env};
use serde_json::json;

fn write_error(opts: Options, cause: &str) {
    let mut vm = Qemu::start(&binary_from_env(), &opts).expect("QEMU starts");
    let mut qmp = vm.qmp().unwrap();
    for _ in 0..3 {
        match qmp.execute(&HelloWorld::with("nobody reads this")) {
            Err(ExecuteError::Qapi(e)) => {
                assert_eq!(e.class, ErrorClass::GenericError);
                assert_eq!(e.desc, format!("Cannot write the message to standard output: {cause}"));
            }
            other => panic!("a failed write must be reported, got {other:?}"),
        }
    }
    let out = qmp.execute(&HumanMonitorCommand { command_line: "hello-world via HMP".into() }).unwrap();
    assert!(out.starts_with("Error: Cannot write the message to standard output"), "{out:?}");
    assert!(vm.is_running(), "QEMU must survive a failed write");
    // The monitor still works for everything else.
    assert!(qmp.execute(&harness::commands::QueryName {}).is_ok());
}

#[test]
fn stdout_on_dev_full() {
    let opts = Options { stdout: Stdout::Path(PathBuf::from("/dev/full")), ..Options::default() };
    write_error(opts, "No space left on device");
}

#[test]
fn stdout_on_a_pipe_whose_reader_has_gone() {
    write_error(Options { stdout: Stdout::BrokenPipe, ..Options::default() }, "Broken pipe");
}

#[test]
fn concurrent_monitors_never_interleave_lines() {
    const MONITORS: usize = 3;
    const CALLS: usize = 300;
    let opts = Options { extra_qmp: MONITORS - 1, ..Options::default() };
    let vm = Qemu::start(&binary_from_env(), &opts).expect("QEMU starts");
    let clients: Vec<_> = (0..MONITORS).map(|i| vm.qmp_at(i).unwrap()).collect();
    let long = "x".repeat(10_000);
    thread::scope(|s| {
        for (m, mut qmp) in clients.into_iter().enumerate() {
            let long = &long;
            s.spawn(move || {
                for i in 0..CALLS {
                    let msg = format!("monitor {m} call {i} {long}");
                    assert_eq!(qmp.execute(&HelloWorld::with(msg)).unwrap(), json!({}));
                }
            });
        }
    });
    let out = vm.stdout();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for line in out.lines() {
        *seen.entry(line).or_default() += 1;
    }
    assert_eq!(out.lines().count(), MONITORS * CALLS);
    for m in 0..MONITORS {
        for i in 0..CALLS {
            let line = format!("monitor {m} call {i} {long}");
            assert_eq!(seen.get(line.as_str()), Some(&1), "monitor {m} call {i}");
        }
    }
}
