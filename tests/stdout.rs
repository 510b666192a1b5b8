// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU's stdout fails: calls still answer with an error and QEMU keeps running.

#[path = "common/client.rs"]
mod client;

use client::HelloWorld;
use std::path::PathBuf;

use harness::commands::HumanMonitorCommand;
use harness::qapi::{ErrorClass, ExecuteError};
use harness::{Options, Qemu, Stdout, binary_from_env};

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
