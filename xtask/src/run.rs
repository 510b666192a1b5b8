// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask run`: the product in one command. Builds if needed, boots the patched
//! QEMU, calls hello-world over QMP (with and without a message) and HMP, and shows the
//! replies, what QEMU printed, and the `<emulator>` line for a libvirt domain.

use anyhow::{Context, Result};
use harness::commands::{HelloWorld, HumanMonitorCommand};
use harness::{Options, Qemu};

use crate::{BuildArgs, qemu, sh};

pub fn run(args: &BuildArgs) -> Result<()> {
    let built = qemu::build(args)?;
    sh::step(format!("booting {} (-M none)", built.binary.display()));
    let vm = Qemu::start(&built.binary, &Options::default())?;
    let mut qmp = vm.qmp().context("QMP handshake")?;

    let calls: [(&str, HelloWorld); 2] = [
        (
            r#"{"execute":"hello-world","arguments":{"message":"We love qemu"}}"#,
            HelloWorld::with("We love qemu"),
        ),
        (r#"{"execute":"hello-world"}"#, HelloWorld::default()),
    ];
    for (shown, cmd) in &calls {
        let reply = qmp.execute(cmd).context("hello-world")?;
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
