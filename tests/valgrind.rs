// SPDX-License-Identifier: GPL-2.0-or-later
//! The patched QEMU under valgrind memcheck through 1,000 calls of each path: QMP with and
//! without a message, refused messages (a control character, and `\u0000`, which reaches
//! the command as invalid UTF-8), and HMP with, without and refused (4,000 `HELLO_WORLD`
//! events in all), plus 1,000 `query-hello-world` (a returned struct) and 1,000
//! `info hello-world`. Then a clean `quit`,
//! so memcheck reports leaks. No memcheck error and no leaked block may have
//! `hello-world` code (the Rust handlers, the crate, or QEMU's generated marshaller for
//! the command) in its stack.
//!
//! A second run, on a paused two-vCPU `pc` VM with a ringbuf, makes 1,000 calls of each
//! form that reads or acts on the VM: `query-hello-vm`, `info hello-vm`, `hello-world`
//! to the ringbuf over QMP and HMP (read back with `ringbuf-read`), and to an unknown
//! device; nothing from our code or the layer's VM accessors may be in a report.

#[path = "common/client.rs"]
mod client;

use client::{HelloWorld, QueryHelloWorld};
use std::time::Duration;

use harness::commands::{HumanMonitorCommand, QueryHelloVm, RawArgumentsHelloWorld, RingbufRead};
use harness::memcheck::Memcheck;
use harness::qapi::ExecuteError;
use harness::{Machine, Options, Qemu, binary_from_env};
use serde_json::json;

const CALLS: usize = 1_000;

/// Frames that belong to `hello-world`: the exports, the crate's own functions, and the
/// QAPI-generated `qmp_marshal_hello_world`.
const OURS: &[&str] = &["hello_world", "qemu_hello_rs"];

#[test]
fn memcheck_finds_nothing_from_hello_world() {
    let memcheck = Memcheck::new();
    let opts = memcheck.options(Options::default());
    let mut vm = Qemu::start(&binary_from_env(), &opts).expect("QEMU starts under valgrind");
    let mut qmp = vm.qmp().unwrap();

    for i in 0..CALLS {
        assert_eq!(qmp.execute(&HelloWorld::with(format!("memcheck {i} €🦀"))).unwrap(), json!({}));
        assert_eq!(qmp.execute(&HelloWorld::default()).unwrap(), json!({}));
        for refused in [r#"{"message": "bell \u0007"}"#, r#"{"message": "nul \u0000"}"#]
            .map(RawArgumentsHelloWorld::from_json)
        {
            assert!(matches!(qmp.execute(&refused), Err(ExecuteError::Qapi(_))), "refused");
        }
        for (line, error) in [
            (format!("hello-world hmp {i} several words"), false),
            ("hello-world".to_string(), false),
            (format!("hello-world tab\there {i}"), true),
        ] {
            let out = qmp.execute(&HumanMonitorCommand { command_line: line }).unwrap();
            assert_eq!(out.starts_with("Error: "), error, "{out:?}");
        }
        // The returned struct (glib memory QEMU frees) and HMP `info`.
        let info = qmp.execute(&QueryHelloWorld {}).unwrap();
        assert_eq!(info.calls, 7 * (i as i64 + 1));
        let out = qmp.execute(&HumanMonitorCommand { command_line: "info hello-world".into() }).unwrap();
        assert!(out.starts_with(&format!("calls: {}\r\n", 7 * (i + 1))), "{out:?}");
    }
    let printed = vm.stdout().lines().count();
    assert_eq!(printed, 4 * CALLS, "each accepted call printed its line");
    // The event path: one HELLO_WORLD per printed line.
    assert_eq!(harness::custom_events(&mut qmp).len(), 4 * CALLS, "one event per printed line");

    // `quit` replies, then QEMU exits through its normal path; memcheck then scans for leaks.
    let _ = qmp.execute(&harness::qapi::qmp::quit {});
    let status = vm.wait_exit(Duration::from_secs(300)).expect("QEMU exits after quit");
    assert!(status.success(), "QEMU exited with {status} under valgrind:\n{}", vm.stderr());
    memcheck.check(OURS, &format!("{} calls", 9 * CALLS));
}

#[test]
fn memcheck_finds_nothing_from_the_vm_forms() {
    let memcheck = Memcheck::new();
    let args = "-M pc -accel tcg -S -nic none -smp 2 -name memcheck -chardev ringbuf,id=ring,size=64K";
    let opts = memcheck.options(Options {
        machine: Machine::Given,
        args: args.split(' ').map(String::from).collect(),
        ..Options::default()
    });
    let mut vm = Qemu::start(&binary_from_env(), &opts).expect("QEMU starts under valgrind");
    let mut qmp = vm.qmp().unwrap();
    let hmp = |qmp: &mut harness::Qmp, line: String| {
        qmp.execute(&HumanMonitorCommand { command_line: line }).unwrap()
    };
    for i in 0..CALLS {
        let v = qmp.execute(&QueryHelloVm::default()).unwrap();
        assert_eq!((&v["name"], v["cpus"].as_array().map(Vec::len)), (&json!("memcheck"), Some(2)), "{v}");
        assert!(hmp(&mut qmp, "info hello-vm".into()).starts_with("name: memcheck\r\n"));
        qmp.execute(&HelloWorld::to_chardev(format!("ring {i} €🦀"), "ring")).unwrap();
        assert_eq!(hmp(&mut qmp, format!("hello-world -c ring hmp {i}")), "");
        let unknown = qmp.execute(&HelloWorld::to_chardev("lost", "nope"));
        assert!(matches!(unknown, Err(ExecuteError::Qapi(_))), "{unknown:?}");
        let read =
            qmp.execute(&RingbufRead(json!({ "device": "ring", "size": 65536, "format": "utf8" }))).unwrap();
        assert_eq!(read, json!(format!("ring {i} €🦀\nhmp {i}\n")));
    }
    assert_eq!(vm.stdout(), "", "the lines went to the ringbuf");
    let _ = qmp.execute(&harness::qapi::qmp::quit {});
    let status = vm.wait_exit(Duration::from_secs(300)).expect("QEMU exits after quit");
    assert!(status.success(), "QEMU exited with {status} under valgrind:\n{}", vm.stderr());
    let ours = [OURS, &["query_hello_vm", "qemu_monitor_layer"]].concat();
    memcheck.check(&ours, &format!("{} calls", 5 * CALLS));
}
