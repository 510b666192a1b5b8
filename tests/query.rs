// SPDX-License-Identifier: GPL-2.0-or-later
//! `query-hello-world`, `info hello-world` and the `HELLO_WORLD` event against the patched
//! QEMU named by `QEMU_HELLO_BINARY`: counters after a known mixed sequence over QMP and
//! HMP, `last-message` absent then present, failed writes on `/dev/full`, one event per
//! printed line and none for a refused call or a failed write, the types in
//! `query-qmp-schema`, and a multi-MiB last message.

#[path = "common/client.rs"]
mod client;

use client::{HelloWorld, HelloWorldInfo, QueryHelloWorld};
use harness::commands::{HumanMonitorCommand, QueryQmpSchema, RawArgumentsHelloWorld};
use harness::qapi::ExecuteError;
use harness::{Options, Qemu, Qmp, Stdout, binary_from_env, custom_events};
use serde_json::{Value, json};

fn hmc(line: &str) -> HumanMonitorCommand {
    HumanMonitorCommand { command_line: line.to_string() }
}

/// The messages of the `HELLO_WORLD` events received since the last look.
fn event_messages(qmp: &mut Qmp) -> Vec<String> {
    custom_events(qmp)
        .into_iter()
        .map(|e| {
            assert_eq!(e["event"], "HELLO_WORLD", "an event we do not send: {e}");
            assert!(e["timestamp"]["seconds"].is_u64(), "{e}");
            e["data"]["message"].as_str().expect("message is a string").to_string()
        })
        .collect()
}

/// `info hello-world` as lines.
fn info(qmp: &mut Qmp) -> Vec<String> {
    let out = qmp.execute(&hmc("info hello-world")).unwrap();
    assert!(out.ends_with("\r\n"), "{out:?}");
    out.trim_end().split("\r\n").map(String::from).collect()
}

#[test]
fn counters_events_and_info_after_a_mixed_sequence() {
    let mut vm = Qemu::start(&binary_from_env(), &Options::default()).expect("QEMU starts");
    let mut qmp = vm.qmp().unwrap();

    assert_eq!(
        qmp.execute(&QueryHelloWorld {}).unwrap(),
        HelloWorldInfo::default(),
        "nothing before the first call"
    );
    assert_eq!(info(&mut qmp), ["calls: 0", "printed: 0", "refused: 0", "failed writes: 0"]);

    qmp.execute(&HelloWorld::with("We love qemu")).unwrap();
    assert_eq!(event_messages(&mut qmp), ["We love qemu"], "the event comes with the call");
    qmp.execute(&HelloWorld::default()).unwrap();
    assert_eq!(event_messages(&mut qmp), ["Hello, world"], "the printed text, the default too");
    for refused in [r#"{"message": "one\ntwo"}"#, r#"{"message": "nul \u0000"}"#] {
        let call = RawArgumentsHelloWorld::from_json(refused);
        assert!(matches!(qmp.execute(&call), Err(ExecuteError::Qapi(_))), "{refused} is refused");
        assert_eq!(event_messages(&mut qmp), Vec::<String>::new(), "no event for {refused}");
    }
    // Calls QEMU rejects before the command (a wrong type) are not hello-world's to count.
    let wrong = RawArgumentsHelloWorld::from_json(r#"{"message": 42}"#);
    assert!(matches!(qmp.execute(&wrong), Err(ExecuteError::Qapi(_))));
    assert_eq!(qmp.execute(&hmc("hello-world from HMP")).unwrap(), "");
    assert_eq!(event_messages(&mut qmp), ["from HMP"]);
    assert!(qmp.execute(&hmc("hello-world bell\u{7}")).unwrap().starts_with("Error: "));
    assert_eq!(event_messages(&mut qmp), Vec::<String>::new());

    let expected = HelloWorldInfo {
        calls: 6,
        printed: 3,
        refused: 3,
        failed_writes: 0,
        last_message: Some("from HMP".into()),
    };
    assert_eq!(qmp.execute(&QueryHelloWorld {}).unwrap(), expected);
    assert_eq!(
        info(&mut qmp),
        ["calls: 6", "printed: 3", "refused: 3", "failed writes: 0", "last message: from HMP"]
    );
    assert_eq!(vm.stdout(), "We love qemu\nHello, world\nfrom HMP\n");
    assert!(
        qmp.execute(&hmc("help info"))
            .unwrap()
            .contains("info hello-world  -- show what hello-world has done")
    );
    assert!(vm.is_running());
}

#[test]
fn failed_writes_are_counted_and_send_no_event() {
    let opts = Options { stdout: Stdout::Path("/dev/full".into()), ..Options::default() };
    let mut vm = Qemu::start(&binary_from_env(), &opts).expect("QEMU starts");
    let mut qmp = vm.qmp().unwrap();
    assert!(matches!(qmp.execute(&HelloWorld::with("lost")), Err(ExecuteError::Qapi(_))));
    assert!(qmp.execute(&hmc("hello-world lost too")).unwrap().starts_with("Error: Cannot write"));
    assert_eq!(event_messages(&mut qmp), Vec::<String>::new(), "no event for a failed write");
    let expected = HelloWorldInfo { calls: 2, failed_writes: 2, ..HelloWorldInfo::default() };
    assert_eq!(qmp.execute(&QueryHelloWorld {}).unwrap(), expected);
    assert_eq!(info(&mut qmp), ["calls: 2", "printed: 0", "refused: 0", "failed writes: 2"]);
    assert!(vm.is_running());
}

/// The schema's view: the command, its struct with each member, the event.
#[test]
fn the_struct_and_the_event_are_in_query_qmp_schema() {
    let vm = Qemu::start(&binary_from_env(), &Options::default()).expect("QEMU starts");
    let mut qmp = vm.qmp().unwrap();
    let schema: Vec<Value> = qmp.execute(&QueryQmpSchema {}).unwrap();
    let by_name = |name: &str| schema.iter().find(|e| e["name"] == name).cloned();
    let query = by_name("query-hello-world").expect("query-hello-world in the schema");
    assert_eq!(query["meta-type"], "command");
    let ret = by_name(query["ret-type"].as_str().unwrap()).expect("its return type");
    let members: Vec<(String, bool)> = ret["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_string(), m.get("default").is_some()))
        .collect();
    let expected: Vec<(String, bool)> = [
        ("calls", false),
        ("printed", false),
        ("refused", false),
        ("failed-writes", false),
        ("last-message", true),
    ]
    .iter()
    .map(|(n, optional)| (n.to_string(), *optional))
    .collect();
    assert_eq!(members, expected, "HelloWorldInfo's members (name, optional)");
    let event = by_name("HELLO_WORLD").expect("HELLO_WORLD in the schema");
    assert_eq!(event["meta-type"], "event");
    let args = by_name(event["arg-type"].as_str().unwrap()).unwrap();
    assert_eq!(
        args["members"],
        json!([{"name": "message", "type": "str"}, {"name": "chardev", "type": "str", "default": null}])
    );
}

#[test]
fn a_multi_mib_last_message_is_kept_whole() {
    let vm = Qemu::start(&binary_from_env(), &Options::default()).expect("QEMU starts");
    let mut qmp = vm.qmp().unwrap();
    let big = "€🦀 long ".repeat(100_000); // 1.1 MB
    qmp.execute(&HelloWorld::with(big.clone())).unwrap();
    assert_eq!(event_messages(&mut qmp), std::slice::from_ref(&big));
    let info = qmp.execute(&QueryHelloWorld {}).unwrap();
    assert_eq!(info.last_message.as_deref(), Some(big.as_str()));
    let out = qmp.execute(&hmc("info hello-world")).unwrap();
    assert!(out.ends_with(&format!("last message: {big}\r\n")), "info shows it whole");
}
