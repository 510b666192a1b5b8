// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask libvirt`: the patched QEMU under libvirt. Defines and starts the example
//! domain with the patched binary as `<emulator>`, runs `virsh qemu-monitor-command` in
//! its four forms, shows the domain log's lines, times the steps, and cleans up unless
//! `--keep`.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use clap::Args;
use harness::libvirt::{Domain, Libvirt};

use crate::{BuildArgs, deps, qemu, sh};

#[derive(Args, Debug)]
pub struct LibvirtArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// libvirt URI to use (default: virsh's default connection).
    #[arg(long, value_name = "URI", conflicts_with = "private")]
    connect: Option<String>,
    /// Start a private libvirtd as `nobody` in a temp dir instead (needs root).
    #[arg(long)]
    private: bool,
    /// Leave the domain (and a private daemon) running.
    #[arg(long)]
    keep: bool,
    /// Monitor round trips to time for each command.
    #[arg(long, default_value_t = 40)]
    calls: usize,
}

const DOMAIN: &str = "qemu-hello-rs";

pub fn libvirt(args: &LibvirtArgs) -> Result<()> {
    let built = qemu::build(&args.build)?;
    let lv = if args.private {
        deps::ensure(deps::LIBVIRT)?;
        sh::step("starting a private libvirtd (as nobody)");
        Libvirt::start().map_err(|e| anyhow!(e))?
    } else {
        Libvirt::connect(args.connect.as_deref().unwrap_or("")).map_err(|e| anyhow!(e))?
    };
    sh::step(format!("libvirt at {}", lv.uri()));
    let emulator = lv.reachable_emulator(&built.binary).map_err(|e| anyhow!(e))?;

    let t = Instant::now();
    virsh_ok(
        &lv,
        &["domcapabilities", "--emulatorbin", &emulator.display().to_string(), "--virttype", "qemu"],
    )?;
    let probe = t.elapsed();
    let t = Instant::now();
    let mut dom = Domain::define(&lv, DOMAIN, &emulator).map_err(|e| anyhow!(e))?;
    let define = t.elapsed();
    let t = Instant::now();
    dom.start().map_err(|e| anyhow!(e))?;
    let start = t.elapsed();

    for (flags, cmd) in [
        (&[][..], r#"{"execute":"hello-world","arguments":{"message":"We love qemu, says libvirt"}}"#),
        (&["--pretty"][..], r#"{"execute":"hello-world","arguments":{"message":"pretty"}}"#),
        (&["--return-value"][..], r#"{"execute":"hello-world"}"#),
        (&["--hmp"][..], "hello-world several words through HMP"),
    ] {
        let out = dom.monitor(flags, cmd)?;
        let flags_shown: String = flags.iter().map(|f| format!("{f} ")).collect();
        out!("$ virsh qemu-monitor-command {DOMAIN} {flags_shown}'{cmd}'");
        out!("{}", String::from_utf8_lossy(&out.stdout).trim_end_matches('\n'));
        if !out.status.success() {
            bail!("virsh failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let log = lv.log_path(DOMAIN);
    let sent = ["We love qemu, says libvirt", "pretty", "Hello, world", "several words through HMP"];
    let lines = harness::wait_for_lines(&log, Duration::from_secs(10), |l| {
        sent.iter().all(|s| l.iter().any(|x| x == s))
    });
    out!("\n{} (last lines):", log.display());
    for l in lines.iter().rev().take(6).rev() {
        out!("    {l}");
    }

    let (hello, name) = latency(&dom, args.calls)?;
    out!("\n| step | time |\n|---|---|");
    if lv.is_private() {
        out!("| private libvirtd up | {:.2} s |", lv.startup.as_secs_f64());
    }
    out!("| first capability probe of the binary | {:.2} s |", probe.as_secs_f64());
    out!("| virsh define | {:.3} s |", define.as_secs_f64());
    out!("| virsh start | {:.2} s |", start.as_secs_f64());
    out!("| qemu-monitor-command hello-world (median of {}) | {:.1} ms |", args.calls, ms(hello));
    out!("| qemu-monitor-command query-name (median of {}) | {:.1} ms |", args.calls, ms(name));
    out!("| ratio hello-world / query-name | {:.2} |", hello.as_secs_f64() / name.as_secs_f64());

    if args.keep {
        dom.keep();
        out!("\nKept: domain {DOMAIN} is running; connect with: virsh -c '{}'", lv.uri());
        if let Some(dir) = lv.keep() {
            out!(
                "Stop the private daemon with: virsh -c '...' destroy {DOMAIN}; \
                 kill $(cat {0}/run/libvirt/libvirtd.pid) $(cat {0}/run/libvirt/virtlogd.pid)",
                dir.display()
            );
        }
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn virsh_ok(lv: &Libvirt, args: &[&str]) -> Result<()> {
    let out = lv.virsh(args)?;
    if !out.status.success() {
        bail!("virsh {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Median wall time of `virsh qemu-monitor-command` for hello-world (with a message)
/// and for query-name, alternating the two so both see the same machine load.
fn latency(dom: &Domain<'_>, calls: usize) -> Result<(Duration, Duration)> {
    let hello = r#"{"execute":"hello-world","arguments":{"message":"timing"}}"#;
    let name = r#"{"execute":"query-name"}"#;
    let (mut h, mut n) = (Vec::new(), Vec::new());
    for _ in 0..calls.max(1) {
        for (cmd, v) in [(hello, &mut h), (name, &mut n)] {
            let t = Instant::now();
            let out = dom.monitor(&["--return-value"], cmd)?;
            v.push(t.elapsed());
            if !out.status.success() {
                bail!("{cmd} failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
    Ok((median(&mut h), median(&mut n)))
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}
