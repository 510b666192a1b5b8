// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask run`: the product in one command. Builds if needed, boots the patched
//! QEMU, calls hello-world over QMP (with and without a message) and HMP, and shows the
//! replies, what QEMU printed, and the `<emulator>` line for a libvirt domain.

use anyhow::{Context, Result};
use harness::commands::{HelloWorldJson, HumanMonitorCommand};
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
    Ok(())
}
