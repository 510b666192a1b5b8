// SPDX-License-Identifier: GPL-2.0-or-later
//! `hello-world` with a `chardev`: lines read back from a `ringbuf` character device with
//! QEMU's own `ringbuf-read`, in order and byte for byte (a multi-KiB line too), nothing
//! on standard output; an unknown id refused with QEMU's wording and nothing written
//! anywhere; a device that refuses the write (`file` on `/dev/full`) fails the call and
//! QEMU keeps running; `HELLO_WORLD` names the device; the counters afterwards; the HMP
//! form `hello-world -c ID message`.

#[path = "common/client.rs"]
mod client;

use client::{HelloWorld, HelloWorldInfo, QueryHelloWorld};
use harness::commands::{HumanMonitorCommand, QueryStatus, RingbufRead};
use harness::qapi::ExecuteError;
use harness::{Options, Qemu, Qmp, binary_from_env, custom_events};
use serde_json::{Value, json};

fn start() -> Qemu {
    let args = ["-chardev", "ringbuf,id=ring,size=1M", "-chardev", "file,id=full,path=/dev/full"];
    let opts = Options { args: args.iter().map(|s| s.to_string()).collect(), ..Options::default() };
    Qemu::start(&binary_from_env(), &opts).expect("QEMU starts")
}

/// Everything in the ringbuf since the last read.
fn ring(qmp: &mut Qmp) -> String {
    let v =
        qmp.execute(&RingbufRead(json!({ "device": "ring", "size": 4 << 20, "format": "utf8" }))).unwrap();
    v.as_str().expect("ringbuf-read returns a string").to_string()
}

/// The error text of a call QEMU refused.
fn refusal(r: Result<Value, ExecuteError>) -> String {
    match r {
        Err(ExecuteError::Qapi(e)) => e.desc,
        other => panic!("expected an error reply, got {other:?}"),
    }
}

#[test]
fn lines_reach_a_ringbuf_in_order_and_byte_for_byte() {
    let vm = start();
    let mut qmp = vm.qmp().unwrap();
    let long = "0123456789abcdef".repeat(512) + " é 中文 🦀";
    let lines = ["one", "two", "é 中文 🦀 \u{10FFFD}", "", long.as_str()];
    for l in lines {
        qmp.execute(&HelloWorld::to_chardev(l, "ring")).unwrap();
    }
    let expected: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(ring(&mut qmp), expected);
    // The default message goes to the device too.
    qmp.execute(&HelloWorld { message: None, chardev: Some("ring".into()) }).unwrap();
    assert_eq!(ring(&mut qmp), "Hello, world\n");
    assert_eq!(vm.stdout(), "", "nothing on standard output");

    let events = custom_events(&mut qmp);
    assert_eq!(events.len(), lines.len() + 1, "{events:?}");
    for (e, l) in events.iter().zip(lines.iter().chain(["Hello, world"].iter())) {
        assert_eq!(e["event"], "HELLO_WORLD");
        assert_eq!(e["data"], json!({ "message": l, "chardev": "ring" }), "{e}");
    }
    // A line to standard output has no chardev in its event.
    qmp.execute(&HelloWorld::with("to stdout")).unwrap();
    let events = custom_events(&mut qmp);
    assert_eq!(
        events.iter().map(|e| e["data"].clone()).collect::<Vec<_>>(),
        [json!({ "message": "to stdout" })]
    );
    assert_eq!(vm.stdout(), "to stdout\n");

    let info = qmp.execute(&QueryHelloWorld {}).unwrap();
    assert_eq!(
        info,
        HelloWorldInfo {
            calls: 7,
            printed: 7,
            refused: 0,
            failed_writes: 0,
            last_message: Some("to stdout".into())
        }
    );
}

#[test]
fn an_unknown_device_and_a_failing_one_are_errors_and_qemu_runs_on() {
    let vm = start();
    let mut qmp = vm.qmp().unwrap();
    let unknown = refusal(qmp.execute(&HelloWorld::to_chardev("lost", "nope")));
    assert_eq!(unknown, "Device 'nope' not found");
    // A refused message is refused before the device is looked up.
    let control = refusal(qmp.execute(&HelloWorld::to_chardev("a\tb", "ring")));
    assert!(control.contains("control character"), "{control}");
    let full = refusal(qmp.execute(&HelloWorld::to_chardev("to /dev/full", "full")));
    assert_eq!(full, "Device 'full' refused the write");
    assert_eq!(ring(&mut qmp), "", "nothing reached the ringbuf");
    assert_eq!(vm.stdout(), "", "nothing on standard output");
    assert_eq!(custom_events(&mut qmp), Vec::<Value>::new(), "no event for a line not written");
    assert_eq!(qmp.execute(&QueryStatus::default()).unwrap()["status"], "running");
    // The device works for the next call.
    qmp.execute(&HelloWorld::to_chardev("after", "ring")).unwrap();
    assert_eq!(ring(&mut qmp), "after\n");
    let info = qmp.execute(&QueryHelloWorld {}).unwrap();
    assert_eq!(
        info,
        HelloWorldInfo {
            calls: 4,
            printed: 1,
            refused: 2,
            failed_writes: 1,
            last_message: Some("after".into())
        }
    );
}

#[test]
fn the_hmp_form_takes_the_device_as_an_option() {
    let vm = start();
    let mut qmp = vm.qmp().unwrap();
    let hmp = |qmp: &mut Qmp, line: &str| {
        qmp.execute(&HumanMonitorCommand { command_line: line.to_string() }).unwrap()
    };
    assert_eq!(hmp(&mut qmp, "hello-world -c ring from the human monitor"), "");
    assert_eq!(hmp(&mut qmp, "hello-world -c ring"), "");
    assert_eq!(ring(&mut qmp), "from the human monitor\nHello, world\n");
    assert_eq!(hmp(&mut qmp, "hello-world -c nope x"), "Error: Device 'nope' not found\r\n");
    assert_eq!(hmp(&mut qmp, "hello-world plain"), "");
    assert_eq!(vm.stdout(), "plain\n");
    let help = hmp(&mut qmp, "help hello-world");
    assert!(help.contains("hello-world [-c chardev] [message]"), "{help}");
}
