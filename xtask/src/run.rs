// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask run`: the product in one command. Builds if needed, boots the patched
//! QEMU, calls hello-world over QMP (with and without a message) and HMP, and shows the
//! replies, what QEMU printed, and the `<emulator>` line for a libvirt domain; then the
//! guest agent built beside it, on a unix socket of this host (as it would run inside a
//! guest), with the agent crate's commands.

use anyhow::{Context, Result};
use harness::commands::{
    GuestHelloInfoJson, GuestHelloWorldJson, GuestQueryHelloWorldJson, HelloWorldJson, HumanMonitorCommand,
};
use harness::{Options, Qemu};

use crate::{BuildArgs, qemu, sh};

pub fn run(args: &BuildArgs) -> Result<()> {
    let built = qemu::build(args)?;
    sh::step(format!("booting {} (-M none)", built.binary.display()));
    let vm = Qemu::start(&built.binary, &Options::default())?;
    let mut qmp = vm.qmp().context("QMP handshake")?;

    let calls = [
        r#"{"execute":"hello-world","arguments":{"message":"We love qemu"}}"#,
        r#"{"execute":"hello-world"}"#,
    ];
    for shown in calls {
        // What is shown is what is sent: its arguments, as they are.
        let call: serde_json::Value = serde_json::from_str(shown)?;
        let args = call.get("arguments").cloned().unwrap_or_else(|| serde_json::json!({}));
        let reply = qmp.execute(&HelloWorldJson(args)).context("hello-world")?;
        out!("QMP -> {shown}\n    <- {{\"return\": {reply}}}");
    }
    let hmp = HumanMonitorCommand { command_line: "hello-world Hello from HMP, in Rust".into() };
    let out = qmp.execute(&hmp).context("human-monitor-command")?;
    out!("HMP -> hello-world Hello from HMP, in Rust\n    <- {out:?}");
    let help = HumanMonitorCommand { command_line: "help hello-world".into() };
    out!("HMP -> help hello-world\n    <- {:?}", qmp.execute(&help)?);

    out!("\nQEMU's stdout:");
    for line in vm.stdout().lines() {
        out!("    {line}");
    }
    out!("\nTo run it under libvirt, put this in the domain XML's <devices>:");
    out!("    <emulator>{}</emulator>", built.binary.display());
    if let Some(agent) = &built.agent {
        agent_calls(agent)?;
    }
    Ok(())
}

/// The guest agent's half, without a guest: qemu-ga on a socket, answering the agent
/// crate's commands (tests/guest.rs runs it inside a real guest under libvirt).
fn agent_calls(agent: &std::path::Path) -> Result<()> {
    sh::step(format!("starting {} on a unix socket (-m unix-listen)", agent.display()));
    let mut ga = harness::agent::LocalAgent::start(agent)?;
    out!("\nThe guest agent built beside it ({}), on a unix socket of this host:", agent.display());
    let hello = serde_json::json!({ "message": "We love qemu" });
    let reply = ga.agent.execute(&GuestHelloWorldJson(hello.clone())).context("guest-hello-world")?;
    out!(
        "QGA -> {{\"execute\":\"guest-hello-world\",\"arguments\":{hello}}}\n    <- {{\"return\": {reply}}}"
    );
    let reply = ga.agent.execute(&GuestQueryHelloWorldJson::default()).context("guest-query-hello-world")?;
    out!("QGA -> {{\"execute\":\"guest-query-hello-world\"}}\n    <- {{\"return\": {reply}}}");
    let reply = ga.agent.execute(&GuestHelloInfoJson::default()).context("guest-hello-info")?;
    out!("QGA -> {{\"execute\":\"guest-hello-info\"}}\n    <- {{\"return\": {reply}}}");
    out!("\nThe agent's log (qemu-ga -v):");
    for line in ga.log().lines().filter(|l| l.contains(": message: ")) {
        out!("    {line}");
    }
    out!("\nInside a guest, libvirt reaches it through the domain's agent channel:");
    out!("    <channel type='unix'><target type='virtio' name='{}'/></channel>", harness::agent::AGENT_PORT);
    Ok(())
}
