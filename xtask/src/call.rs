// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask call` and `cargo xtask shell`: a command author's way to call any
//! command of the crate on the QEMU it was just built into.
//!
//! Both boot the development VM ([`dev_vm`]: a TCG `pc` machine named after the crate,
//! its serial port on a ringbuf chardev `serial0`, so a command that reads the VM or
//! writes to a chardev has something to work on). `call` sends each JSON command given
//! (or, with `--hmp`, each human monitor line, through `human-monitor-command` as
//! `virsh qemu-monitor-command --hmp` does) and prints each reply as `virsh
//! qemu-monitor-command --pretty` does, then what QEMU printed on its stdout (to
//! stderr). `shell` runs QEMU's own `qmp-shell` from the release's tree: history, tab
//! completion of every command (the crate's included), `-H` for the human monitor.
//! The QMP client in both is QEMU's own Python package (`python/qemu/qmp` of the tree).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::qemu::{self, Layout};
use crate::{BuildArgs, sh};

#[derive(clap::Args, Debug)]
pub struct CallArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Each argument is a human monitor command line (`info hello-world`), not JSON.
    #[arg(long)]
    hmp: bool,
    /// Print only the value of each successful reply's `return`, as `virsh
    /// qemu-monitor-command --return-value` does.
    #[arg(long, conflicts_with = "hmp")]
    return_value: bool,
    /// The commands, sent in order to one QEMU: QMP JSON
    /// (`{"execute":"hello-world","arguments":{"message":"hi"}}`), or HMP lines with --hmp.
    #[arg(required = true, value_name = "COMMAND")]
    commands: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct ShellArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// The human monitor (`qmp-shell -H`) instead of QMP.
    #[arg(long)]
    hmp: bool,
}

impl CallArgs {
    /// The commands as QMP JSON objects, checked before anything is built: a bad one is
    /// refused by its position and the parser's reason.
    pub fn requests(&self) -> Result<Vec<Value>> {
        self.commands
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if self.hmp {
                    return Ok(hmp_request(c));
                }
                let v: Value =
                    serde_json::from_str(c).with_context(|| format!("command {}: not JSON: {c:?}", i + 1))?;
                if !v.get("execute").is_some_and(Value::is_string) {
                    bail!("command {}: a QMP command is an object with \"execute\": {c}", i + 1);
                }
                Ok(v)
            })
            .collect()
    }
}

/// A human monitor line as the QMP command that runs it, as `virsh qemu-monitor-command
/// --hmp` sends it.
pub fn hmp_request(line: &str) -> Value {
    serde_json::json!({ "execute": "human-monitor-command", "arguments": { "command-line": line } })
}

/// The development VM's QEMU options, beside the harness's TCG `pc` machine.
pub fn dev_vm(name: &str) -> harness::Options {
    harness::Options {
        machine: harness::Machine::TcgPc,
        args: ["-name", name, "-chardev", "ringbuf,id=serial0", "-serial", "chardev:serial0"]
            .map(String::from)
            .to_vec(),
        ..harness::Options::default()
    }
}

/// The crate's package name, for the VM's `-name`.
pub fn crate_name() -> String {
    let manifest = std::fs::read_to_string(sh::crate_dir().join("Cargo.toml")).unwrap_or_default();
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[package]")
        .find_map(|l| {
            l.trim().strip_prefix("name").map(|v| v.trim_start_matches([' ', '=']).trim_matches('"'))
        })
        .unwrap_or("qemu-commands")
        .to_string()
}

/// QEMU's Python packages in the release's tree (`qemu.qmp`), for PYTHONPATH.
fn python_path(l: &Layout) -> Result<PathBuf> {
    let dir = l.src.join("python");
    if !dir.join("qemu/qmp/legacy.py").is_file() {
        bail!("{} lacks QEMU's QMP package (qemu/qmp/legacy.py)", dir.display());
    }
    Ok(dir)
}

/// Sends `requests` to the QMP socket `socket` with QEMU's own client; one reply, as
/// compact JSON, per line.
pub fn send(l: &Layout, socket: &Path, requests: &[Value]) -> Result<Vec<Value>> {
    const CLIENT: &str = "import json, sys
from qemu.qmp.legacy import QEMUMonitorProtocol
qmp = QEMUMonitorProtocol(sys.argv[1])
qmp.connect()
for line in sys.stdin:
    print(json.dumps(qmp.cmd_obj(json.loads(line))), flush=True)
qmp.close()
";
    let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
    let mut python = tools::command("python3")?;
    python.env("PYTHONPATH", python_path(l)?).args(["-c", CLIENT]).arg(socket);
    let out = sh::output_with_input(&mut python, input.as_bytes())?;
    let replies: Vec<Value> =
        out.lines().map(serde_json::from_str).collect::<Result<_, _>>().context("QEMU's QMP client")?;
    if replies.len() != requests.len() {
        bail!("{} replies to {} commands", replies.len(), requests.len());
    }
    Ok(replies)
}

/// A reply as `virsh qemu-monitor-command` prints it: `--pretty`, `--return-value`, or
/// for `--hmp` the monitor's text.
pub fn render(reply: &Value, hmp: bool, return_value: bool) -> String {
    match (&reply["return"], hmp, return_value) {
        (Value::String(text), true, _) => text.trim_end_matches(['\r', '\n']).replace("\r\n", "\n"),
        (r, false, true) if !r.is_null() => serde_json::to_string_pretty(r).expect("JSON"),
        _ => serde_json::to_string_pretty(reply).expect("JSON"),
    }
}

pub fn call(args: &CallArgs) -> Result<()> {
    let requests = args.requests()?;
    let built = qemu::build(&args.build)?;
    let vm = harness::Qemu::start(&built.binary, &dev_vm(&crate_name()))?;
    let replies = send(&built.layout, &vm.qmp_socket(), &requests)?;
    let mut failed = 0;
    for reply in &replies {
        // An HMP command reports its errors in its text; QMP in an error reply.
        failed += usize::from(reply.get("error").is_some());
        out!("{}", render(reply, args.hmp, args.return_value));
    }
    let printed = vm.stdout();
    if !printed.is_empty() {
        eprintln!("QEMU's stdout:");
        for line in printed.lines() {
            eprintln!("    {line}");
        }
    }
    if failed > 0 {
        bail!("{failed} of {} commands answered with an error", replies.len());
    }
    Ok(())
}

pub fn shell(args: &ShellArgs) -> Result<()> {
    let built = qemu::build(&args.build)?;
    let l = &built.layout;
    // QEMU's stdout to the terminal (through our stderr): a command's printed line shows
    // beside its reply.
    let opts =
        harness::Options { stdout: harness::Stdout::Path("/dev/stderr".into()), ..dev_vm(&crate_name()) };
    let vm = harness::Qemu::start(&built.binary, &opts)?;
    sh::step(format!(
        "QEMU's qmp-shell on {} ({}): Tab completes, history in ~/.qmp-shell_history, Ctrl-D ends",
        built.binary.display(),
        if args.hmp { "human monitor" } else { "QMP, `hello-world message=hi` or JSON" }
    ));
    let mut shell = tools::command("python3")?;
    shell.env("PYTHONPATH", python_path(l)?).args(["-m", "qemu.qmp.qmp_shell", "-p"]);
    if args.hmp {
        shell.arg("-H");
    }
    shell.arg(vm.qmp_socket());
    let status = shell.status().context("cannot start qmp-shell")?;
    if !status.success() {
        bail!("qmp-shell exited with {status}");
    }
    Ok(())
}
