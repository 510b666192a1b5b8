// SPDX-License-Identifier: GPL-2.0-or-later
//! The patched `qemu-ga` (`QEMU_HELLO_AGENT`, which `cargo xtask test` builds with this
//! crate's library) on a unix socket, driven by the `qapi` crate's QGA client: the exact
//! replies of this crate's commands, the line in the agent's log, refused input, and the
//! agent still answering after each.

include!(concat!(env!("OUT_DIR"), "/client.rs"));

use harness::agent::{LocalAgent, agent_binary_from_env};
use qapi::{ErrorClass, ExecuteError};

fn start() -> LocalAgent {
    LocalAgent::start(&agent_binary_from_env())
        .expect("qemu-ga starts on a unix socket and answers guest-sync")
}

/// The lines of the agent's log at level "message" (`<time>: message: <text>`).
fn messages(log: &str) -> Vec<String> {
    log.lines().filter_map(|l| l.split_once(": message: ").map(|(_, m)| m.to_string())).collect()
}

#[test]
fn hello_world_logs_one_line_and_the_counters_follow() {
    let mut ga = start();
    let before = ga.agent.execute(&GuestQueryHelloWorld {}).unwrap();
    assert_eq!(
        (before.calls, before.printed, before.refused, before.failed_writes, before.last_message),
        (0, 0, 0, 0, None)
    );
    assert_eq!(
        ga.agent.execute(&GuestHelloWorld { message: Some("We love qemu".into()) }).unwrap(),
        serde_json::json!({})
    );
    assert_eq!(ga.agent.execute(&GuestHelloWorld { message: None }).unwrap(), serde_json::json!({}));
    // Refused: a control character, named with its position; nothing logged.
    match ga.agent.execute(&GuestHelloWorld { message: Some("a\u{7}".into()) }) {
        Err(ExecuteError::Qapi(e)) => {
            assert_eq!(e.class, ErrorClass::GenericError);
            assert!(e.desc.contains("control character U+0007 at character 1 (byte 1)"), "{}", e.desc);
        }
        other => panic!("a message with U+0007: {other:?}"),
    }
    assert_eq!(messages(&ga.log()), ["We love qemu", "Hello, world"], "the log:\n{}", ga.log());
    let after = ga.agent.execute(&GuestQueryHelloWorld {}).unwrap();
    assert_eq!(
        (after.calls, after.printed, after.refused, after.failed_writes, after.last_message.as_deref()),
        (3, 2, 1, 0, Some("Hello, world"))
    );
    assert!(ga.is_running());
}

/// `guest-hello-info` against this host's own /proc (the agent runs here) and `uname`.
#[test]
fn hello_info_reads_the_machine_it_runs_on() {
    let mut ga = start();
    let info = ga.agent.execute(&GuestHelloInfoCommand {}).unwrap();
    let uname = |flag: &str| {
        let o = tools::command("uname").expect("uname").arg(flag).output().expect("uname runs");
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    assert_eq!(info.hostname, uname("-n"));
    assert_eq!(info.kernel_release, uname("-r"));
    let uptime: f64 =
        std::fs::read_to_string("/proc/uptime").unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(info.uptime > 0.0 && info.uptime <= uptime, "{} vs {uptime}", info.uptime);
}

/// Input QEMU's marshaller refuses before our code runs, and the agent's own listing.
#[test]
fn bad_arguments_are_refused_and_the_agent_lists_the_commands() {
    let mut ga = start();
    #[derive(Debug, serde::Serialize)]
    struct Wrong {
        message: i64,
    }
    impl qapi::Command for Wrong {
        type Ok = serde_json::Value;
        const NAME: &'static str = "guest-hello-world";
        const ALLOW_OOB: bool = false;
    }
    match ga.agent.execute(&Wrong { message: 5 }) {
        Err(ExecuteError::Qapi(e)) => assert!(e.desc.contains("message"), "{}", e.desc),
        other => panic!("message: 5 was not refused: {other:?}"),
    }
    let info = ga.agent.execute(&qapi::qga::guest_info {}).unwrap();
    for name in ["guest-hello-world", "guest-query-hello-world", "guest-hello-info", "guest-hello-panic"] {
        let c = info.supported_commands.iter().find(|c| c.name == name);
        assert!(c.is_some_and(|c| c.enabled), "{name} not enabled in guest-info");
    }
    assert!(ga.is_running());
}

/// `guest-hello-panic` panics in its Rust: the reply is that call's error, naming the
/// command, the place in its file and the message; the agent answers the next call,
/// and a second panic is answered the same way.
#[test]
fn a_panic_is_the_calls_error_and_the_agent_answers_the_next_call() {
    let mut ga = start();
    let source = include_str!("../src/commands/guest_hello_panic.rs");
    let line = source.lines().position(|l| l.contains("panic!(")).expect("the panic is in the file") + 1;
    // The place as rustc names this crate's files (relative to the workspace), as here.
    let crate_dir = file!().strip_suffix("tests/socket.rs").expect("this file's path");
    let expected = format!(
        "command 'guest-hello-panic' panicked at {crate_dir}src/commands/guest_hello_panic.rs:{line}:5: asked to panic"
    );
    for _ in 0..2 {
        match ga.agent.execute(&GuestHelloPanic {}) {
            Err(ExecuteError::Qapi(e)) => {
                assert_eq!(e.class, ErrorClass::GenericError);
                assert_eq!(e.desc, expected);
            }
            other => panic!("guest-hello-panic: {other:?}"),
        }
        assert_eq!(
            ga.agent.execute(&GuestHelloWorld { message: Some("after the panic".into()) }).unwrap(),
            serde_json::json!({})
        );
    }
    assert_eq!(messages(&ga.log()), ["after the panic", "after the panic"], "the log:\n{}", ga.log());
    assert!(ga.is_running());
}
