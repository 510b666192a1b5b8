// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask fresh`: the README's two commands on a fresh Debian 12 system, timed.
//!
//! A clone on a used machine is not a fresh machine: what earlier runs installed is
//! still there, and once hid a missing install step. This builds a minimal bookworm
//! with `debootstrap` (variant minbase, from the mirror this machine's apt uses) in
//! `target/fresh/root/`, adds only what a machine of this kind has before any project
//! runs (ca-certificates, git, and gcc, which the Rust toolchain links with), brings in
//! this machine's Rust toolchain read-only and the settings that reach the registries
//! (apt's sources, the certificate authorities it trusts, pip's certificate and
//! timeout), clones this repository's HEAD into it, and
//! runs `cargo xtask run` and then `cargo xtask test` there, each in its own private
//! mount and PID namespace (`unshare`, then `chroot`), printing each one's time. Nothing
//! the host installed (packages, ccache, cargo's registry, QEMU's source cache) is seen.
//! The system is removed afterwards unless `--keep`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{sh, source};

#[derive(clap::Args, Debug)]
pub struct FreshArgs {
    /// Keep target/fresh/root/ afterwards (it is removed at the start of every run).
    #[arg(long)]
    keep: bool,
    /// Only `cargo xtask run`, not `cargo xtask test`.
    #[arg(long)]
    run_only: bool,
}

/// What a machine of this kind has before the project runs, besides Debian's minbase:
/// certificates for the registries, git to clone, gcc and libc's headers for rustc to
/// link. Everything else the project must install itself.
const BASE: &str = "ca-certificates,git,gcc,libc6-dev";

pub fn fresh(args: &FreshArgs) -> Result<()> {
    if !tools::is_root() {
        bail!("cargo xtask fresh builds a Debian system and enters it: run it as root");
    }
    let home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    let rustup = std::env::var_os("RUSTUP_HOME").map_or_else(|| home.join(".rustup"), PathBuf::from);
    let cargo_bin =
        std::env::var_os("CARGO_HOME").map_or_else(|| home.join(".cargo"), PathBuf::from).join("bin");
    if !rustup.join("toolchains").is_dir() || !cargo_bin.join("cargo").exists() {
        bail!("no rustup toolchain at {} (cargo in {})", rustup.display(), cargo_bin.display());
    }
    let dirty = sh::output(tools::command("git")?.arg("-C").arg(sh::root()).args(["status", "--porcelain"]))?;
    if !dirty.trim().is_empty() {
        sh::step("the working tree has uncommitted changes: the fresh system gets HEAD without them");
    }
    let head =
        sh::output(tools::command("git")?.arg("-C").arg(sh::root()).args(["rev-parse", "--short", "HEAD"]))?;

    let dir = sh::root().join("target/fresh");
    let root = dir.join("root");
    if root.exists() {
        sh::step(format!("removing the previous {}", root.display()));
        remove(&root)?;
    }
    fs::create_dir_all(&root)?;

    let started = Instant::now();
    let mirror = source::debian_mirror()?;
    sh::step(format!("debootstrap --variant=minbase bookworm into {}", root.display()));
    sh::run(
        tools::command("debootstrap")?
            .args(["--variant=minbase", &format!("--include={BASE}"), "bookworm"])
            .arg(&root)
            .arg(&mirror),
    )?;
    // apt in the new system reaches the registries as this machine's apt does: its
    // sources and its settings for them (a machine of this kind has both).
    let mut settings: Vec<PathBuf> =
        ["etc/apt/sources.list.d/debian.sources", "etc/apt/sources.list", "etc/resolv.conf", "etc/pip.conf"]
            .iter()
            .map(PathBuf::from)
            .collect();
    for e in fs::read_dir("/etc/apt/apt.conf.d")?.flatten() {
        let name = Path::new("etc/apt/apt.conf.d").join(e.file_name());
        if !root.join(&name).exists() {
            settings.push(name);
        }
    }
    for f in settings {
        let host = Path::new("/").join(&f);
        if host.is_file() {
            fs::copy(&host, root.join(&f)).with_context(|| format!("cannot copy {}", host.display()))?;
        }
    }
    // The certificates this machine trusts (its network's own authority among them), so
    // cargo and pip reach the registries as they do here: kept through any later
    // update-ca-certificates by living under /usr/local/share/ca-certificates.
    let local_ca = root.join("usr/local/share/ca-certificates/this-machine.crt");
    fs::copy("/etc/ssl/certs/ca-certificates.crt", &local_ca).context("this machine's CA bundle")?;
    sh::run(tools::command("chroot")?.arg(&root).arg("update-ca-certificates"))?;
    let clone = root.join("root/qemu-hello-rs");
    sh::run(tools::command("git")?.args(["clone", "-q", "--no-hardlinks"]).arg(sh::root()).arg(&clone))?;
    for d in [".rustup", ".cargo/bin"] {
        fs::create_dir_all(root.join("root").join(d))?;
    }
    let system = started.elapsed();
    out!("fresh: Debian 12 minbase + {BASE}, HEAD {} cloned: {:.0} s", head.trim(), system.as_secs_f64());

    let mut commands = vec!["cargo xtask run"];
    if !args.run_only {
        commands.push("cargo xtask test");
    }
    let mut failed = None;
    for command in commands {
        let started = Instant::now();
        let result = enter(&root, &rustup, &cargo_bin, command);
        let secs = started.elapsed().as_secs();
        let verdict = if result.is_ok() { "passed" } else { "FAILED" };
        out!("fresh: {command}: {verdict} in {} min {} s", secs / 60, secs % 60);
        if let Err(e) = result {
            failed = Some(e.context(command));
            break;
        }
    }
    if args.keep {
        sh::step(format!("kept {}", root.display()));
    } else {
        remove(&root)?;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Removes the system, refusing while anything is mounted under it (the host's /dev and
/// /sys are bound there while a command runs; their namespace ends with it).
fn remove(root: &Path) -> Result<()> {
    let mounts = fs::read_to_string("/proc/self/mountinfo")?;
    let prefix = format!("{}/", root.display());
    if let Some(m) = mounts.lines().filter_map(|l| l.split(' ').nth(4)).find(|m| m.starts_with(&prefix)) {
        bail!("{m} is still mounted: not removing {}", root.display());
    }
    fs::remove_dir_all(root).with_context(|| format!("cannot remove {}", root.display()))
}

/// Runs `command` in the clone inside `root`: a private mount and PID namespace whose
/// mounts (the kernel's file systems, the toolchain read-only) vanish with it. The root is
/// bound onto itself first, so that its `/` is a mount point as a machine's is (the two
/// libvirt hosts of tests/migration.rs make `/` a slave mount). The system gets pseudo
/// terminals of its own (a new devpts instance, its `ptmx` on `/dev/ptmx`), as a machine
/// or container has: through the host's /dev alone, QEMU under the system libvirt (which
/// builds each domain a /dev of its own from the mounts it sees) failed `-chardev pty`
/// with "Failed to create PTY: No such file or directory".
fn enter(root: &Path, rustup: &Path, cargo_bin: &Path, command: &str) -> Result<()> {
    let r = root.display();
    let setup = format!(
        "set -e
mount --bind {r} {r}
mount -t proc proc {r}/proc
mount --rbind /sys {r}/sys
mount --rbind /dev {r}/dev
mount -t devpts -o newinstance,gid=5,mode=620,ptmxmode=0666 devpts {r}/dev/pts
mount --bind {r}/dev/pts/ptmx {r}/dev/ptmx
mount -t tmpfs tmpfs {r}/run
mkdir -p {r}/run/lock
mount --bind {rustup} {r}/root/.rustup
mount -o remount,bind,ro {r}/root/.rustup
mount --bind {cargo_bin} {r}/root/.cargo/bin
mount -o remount,bind,ro {r}/root/.cargo/bin
exec chroot {r} /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  RUSTUP_AUTO_INSTALL=0 {env} \
  /bin/sh -c 'cd /root/qemu-hello-rs && {command} </dev/null'",
        rustup = rustup.display(),
        cargo_bin = cargo_bin.display(),
        env = pass_through_env(),
    );
    sh::step(format!("{command} (in the fresh system)"));
    sh::run(
        tools::command("unshare")?
            .args(["--mount", "--pid", "--fork", "--propagation", "private"])
            .args(["/bin/sh", "-c", &setup]),
    )
}

/// This machine's settings for reaching the registries (pip's certificate and timeout),
/// which a fresh machine of this kind has too; nothing else of the host's environment.
fn pass_through_env() -> String {
    ["PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_DISABLE_PIP_VERSION_CHECK"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
        .filter(|kv| !kv.contains(['\'', ' ']))
        .collect::<Vec<_>>()
        .join(" ")
}
