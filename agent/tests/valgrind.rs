// SPDX-License-Identifier: GPL-2.0-or-later
//! The patched `qemu-ga` (`QEMU_HELLO_AGENT`) under valgrind memcheck through 1,000 calls
//! of each of the agent crate's paths: `guest-hello-world` with and without a message and
//! refused, `guest-query-hello-world` (a returned struct with a string) and
//! `guest-hello-info` (three files read, two strings returned) and `guest-hello-panic` (a
//! panic caught at the layer's boundary and made the call's error). Then SIGTERM, on which
//! the agent exits through its normal path, so memcheck reports leaks. No memcheck error
//! and no leaked block may have the agent crate's code (its handlers, its functions, the
//! generated marshallers of its commands) in its stack.

include!(concat!(env!("OUT_DIR"), "/client.rs"));

use std::time::Duration;

use harness::agent::{LocalAgent, agent_binary_from_env};
use harness::memcheck::Memcheck;
use qapi::ExecuteError;

const CALLS: i64 = 1_000;

/// Frames of the agent crate's commands: the handlers and marshallers (`guest_hello_*`,
/// `guest_query_hello_world`) and the crate itself.
const OURS: &[&str] = &["guest_hello", "guest_query_hello", "qemu_hello_agent"];

#[test]
fn memcheck_finds_nothing_from_the_agents_commands() {
    let memcheck = Memcheck::new();
    let mut ga = LocalAgent::start_wrapped(&agent_binary_from_env(), &memcheck.wrapper())
        .expect("qemu-ga starts under valgrind");
    for i in 0..CALLS {
        let hello = GuestHelloWorld { message: Some(format!("memcheck {i} €🦀")) };
        assert_eq!(ga.agent.execute(&hello).unwrap(), serde_json::json!({}));
        assert_eq!(ga.agent.execute(&GuestHelloWorld { message: None }).unwrap(), serde_json::json!({}));
        let refused = GuestHelloWorld { message: Some("line\nbreak".into()) };
        assert!(matches!(ga.agent.execute(&refused), Err(ExecuteError::Qapi(_))));
        let counts = ga.agent.execute(&GuestQueryHelloWorld {}).unwrap();
        assert_eq!((counts.calls, counts.last_message.as_deref()), (3 * (i + 1), Some("Hello, world")));
        let info = ga.agent.execute(&GuestHelloInfoCommand {}).unwrap();
        assert!(!info.hostname.is_empty() && !info.kernel_release.is_empty());
        assert!(matches!(ga.agent.execute(&GuestHelloPanic {}), Err(ExecuteError::Qapi(_))));
    }
    let status = ga.terminate(Duration::from_secs(120)).expect("qemu-ga exits on SIGTERM");
    assert!(status.success(), "qemu-ga exited with {status} under valgrind");
    memcheck.check(OURS, &format!("{} calls", 6 * CALLS));
}
