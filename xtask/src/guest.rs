// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask guest`: a tiny Linux guest made from Debian's packages, no image
//! downloaded: Debian's kernel (`linux-image-amd64`'s current one) and an initramfs
//! holding busybox (`busybox-static`), the virtio modules the agent's port needs, and a
//! guest agent with its shared libraries. Its init mounts what the agent needs, loads
//! the modules in dependency order, names the machine [`HOSTNAME`], finds the port
//! libvirt and QEMU name `org.qemu.guest_agent.0` and runs the agent on it.
//!
//! The agent is a `qemu-ga` binary given by the caller; [`debian_agent`] is Debian's own
//! (the `qemu-guest-agent` package of this machine's suite), which the guest's tests run
//! until the agent built from the patched tree replaces it.
//!
//! The packages are fetched with `apt-get download` into `target/guest/debs/` (kept, so
//! a second build downloads nothing) and unpacked with `dpkg-deb -x`; the initramfs is a
//! gzipped newc cpio.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::sh;

pub use harness::agent::{AGENT_PORT, GUEST_CMDLINE as CMDLINE, GUEST_HOSTNAME as HOSTNAME};

/// The virtio modules the agent's port needs, in dependency order (Debian's kernel
/// builds every virtio driver as a module; each `.ko` names its own in `depends=`).
const MODULES: &[&str] = &[
    "virtio_ring",
    "virtio",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "virtio_console",
];

/// A built guest: what `-kernel`, `-initrd` and `-append` (or libvirt's `<kernel>`,
/// `<initrd>`, `<cmdline>`) take.
#[derive(Debug, Clone)]
pub struct Guest {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The kernel's release (`uname -r` in the guest).
    pub release: String,
    /// The agent it runs (a description: where it comes from).
    pub agent: String,
}

fn dir() -> PathBuf {
    sh::root().join("target/guest")
}

/// Downloads `packages` (exact names) into `target/guest/debs/` unless there already;
/// returns each one's `.deb`.
fn download(packages: &[String]) -> Result<Vec<PathBuf>> {
    let debs = dir().join("debs");
    fs::create_dir_all(&debs)?;
    let find = |package: &str| -> Option<PathBuf> {
        fs::read_dir(&debs)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{package}_"))))
    };
    let missing: Vec<&String> = packages.iter().filter(|p| find(p).is_none()).collect();
    if !missing.is_empty() {
        sh::step(format!(
            "fetching the guest's packages: {}",
            missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
        ));
        let fetch =
            || sh::run(tools::command("apt-get")?.args(["-q", "download"]).args(&missing).current_dir(&debs));
        if fetch().is_err() {
            // Lists older than the archive name versions it no longer has.
            sh::run(tools::command("apt-get")?.args(["-q", "update"]))?;
            fetch()?;
        }
    }
    packages.iter().map(|p| find(p).with_context(|| format!("apt-get download {p} left no .deb"))).collect()
}

/// The kernel package `linux-image-amd64` currently depends on (`linux-image-6.1.0-NN-amd64`).
fn kernel_package() -> Result<String> {
    let depends = sh::output(tools::command("apt-cache")?.args(["depends", "linux-image-amd64"]))?;
    depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-amd64"))
        .map(str::to_string)
        .with_context(|| format!("linux-image-amd64 depends on no kernel image:\n{depends}"))
}

/// Debian's `qemu-ga` (the `qemu-guest-agent` package of this machine's suite),
/// unpacked into `target/guest/debian-agent/`.
pub fn debian_agent() -> Result<(PathBuf, String)> {
    let deb = download(&["qemu-guest-agent".to_string()])?.remove(0);
    let root = dir().join("debian-agent");
    let _ = fs::remove_dir_all(&root);
    sh::run(tools::command("dpkg-deb")?.arg("-x").arg(&deb).arg(&root))?;
    let version = sh::output(tools::command("dpkg-deb")?.arg("--field").arg(&deb).arg("Version"))?;
    // Its shared libraries, which the guest gets copied from this machine.
    let depends = sh::output(tools::command("dpkg-deb")?.arg("--field").arg(&deb).arg("Depends"))?;
    let libraries = crate::peer::dependency_names(&depends, &[]);
    crate::deps::ensure(&libraries.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok((root.join("usr/sbin/qemu-ga"), format!("Debian's qemu-ga {}", version.trim())))
}

/// Builds the guest around the agent binary `agent` (described by `about`) into
/// `target/guest/`.
pub fn build(agent: &Path, about: &str) -> Result<Guest> {
    let kernel_pkg = kernel_package()?;
    let debs = download(&[kernel_pkg.clone(), "busybox-static".to_string()])?;
    let work = dir().join("work");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work)?;
    let kernel_root = work.join("kernel");
    let root = work.join("initramfs");
    sh::run(tools::command("dpkg-deb")?.arg("-x").arg(&debs[0]).arg(&kernel_root))?;
    sh::run(tools::command("dpkg-deb")?.arg("-x").arg(&debs[1]).arg(work.join("busybox")))?;

    // The kernel and its release: boot/vmlinuz-<release>.
    let boot = kernel_root.join("boot");
    let vmlinuz = fs::read_dir(&boot)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .with_context(|| format!("{kernel_pkg} has no boot/vmlinuz-*"))?;
    let release = vmlinuz.file_name().unwrap().to_string_lossy()["vmlinuz-".len()..].to_string();
    let modules = kernel_root.join("lib/modules").join(&release);

    for d in ["bin", "dev", "proc", "sys", "tmp", "run", "lib/modules", "var/run"] {
        fs::create_dir_all(root.join(d))?;
    }
    fs::copy(work.join("busybox/bin/busybox"), root.join("bin/busybox"))?;
    for m in MODULES {
        let ko = find_module(&modules, m)?;
        fs::copy(&ko, root.join("lib/modules").join(format!("{m}.ko")))?;
    }
    copy_with_libraries(agent, &root)?;
    let init = root.join("init");
    fs::write(&init, init_script())?;
    sh::run(tools::command("chmod")?.arg("0755").arg(&init).arg(root.join("bin/busybox")))?;

    let out = dir();
    let kernel = out.join("vmlinuz");
    fs::copy(&vmlinuz, &kernel)?;
    let initrd = out.join("initramfs.cpio.gz");
    pack(&root, &initrd)?;
    fs::remove_dir_all(&work)?;
    Ok(Guest { kernel, initrd, release, agent: about.to_string() })
}

/// `name.ko` under the kernel's module tree.
fn find_module(dir: &Path, name: &str) -> Result<PathBuf> {
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n == format!("{name}.ko").as_str()) {
                return Ok(p);
            }
        }
    }
    bail!("the kernel has no module {name}.ko under {}", dir.display())
}

/// `binary` into `root/bin/qemu-ga`, and every shared library `ldd` lists for it (and
/// the dynamic loader) at the same path under `root`.
fn copy_with_libraries(binary: &Path, root: &Path) -> Result<()> {
    fs::copy(binary, root.join("bin/qemu-ga"))
        .with_context(|| format!("cannot copy {}", binary.display()))?;
    let listed = sh::output(tools::command("ldd")?.arg(binary))?;
    for line in listed.lines() {
        if line.contains("not found") {
            bail!("{}: a library it needs is not on this machine: {}", binary.display(), line.trim());
        }
        // "libglib-2.0.so.0 => /lib/x86_64-linux-gnu/libglib-2.0.so.0 (0x...)" or
        // "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no file.
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next().filter(|p| p.starts_with('/')),
        };
        let Some(path) = path.filter(|p| p.starts_with('/')) else { continue };
        let to = root.join(path.trim_start_matches('/'));
        fs::create_dir_all(to.parent().unwrap())?;
        fs::copy(path, &to).with_context(|| format!("cannot copy {path}"))?;
    }
    Ok(())
}

/// The guest's `/init`.
fn init_script() -> String {
    let modules: String = MODULES.iter().map(|m| format!("insmod /lib/modules/{m}.ko\n")).collect();
    format!(
        r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
{modules}hostname {HOSTNAME}
port=
for i in $(seq 50); do
    for p in /sys/class/virtio-ports/*; do
        [ -f "$p/name" ] && [ "$(cat "$p/name")" = "{AGENT_PORT}" ] && port=/dev/${{p##*/}}
    done
    [ -n "$port" ] && [ -c "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "hello-guest: no virtio port named {AGENT_PORT}"
    poweroff -f
fi
echo "hello-guest: $(uname -n) $(uname -r), agent on $port"
qemu-ga --method=virtio-serial --path="$port" --statedir=/run --pidfile=/run/qemu-ga.pid
echo "hello-guest: qemu-ga exited with status $?"
poweroff -f
"#
    )
}

/// `root` as a gzipped newc cpio archive at `out`, its files in name order.
fn pack(root: &Path, out: &Path) -> Result<()> {
    let list = sh::output(tools::command("find")?.arg(".").current_dir(root))?;
    let mut names: Vec<&str> = list.lines().collect();
    names.sort();
    let cpio_out = out.with_extension("");
    let archive = fs::File::create(&cpio_out)?;
    let mut cpio = tools::command("cpio")?;
    cpio.args(["--quiet", "-o", "-H", "newc", "--reproducible"])
        .current_dir(root)
        .stdin(std::process::Stdio::piped())
        .stdout(archive);
    let mut child = cpio.spawn().context("cannot start cpio")?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(names.join("\n").as_bytes())?;
        stdin.write_all(b"\n")?;
    }
    if !child.wait()?.success() {
        bail!("cpio failed writing {}", cpio_out.display());
    }
    sh::run(tools::command("gzip")?.args(["-9", "-n", "-f"]).arg(&cpio_out))?;
    if !out.is_file() {
        bail!("gzip did not write {}", out.display());
    }
    Ok(())
}

/// Builds the test guest around `agent` (the build's own qemu-ga, with the agent crate's
/// library), or Debian's when the build has none, and names it to `cmd` the way
/// `tests/guest.rs` reads it.
pub fn test_env(cmd: &mut std::process::Command, agent: Option<&Path>) -> Result<Guest> {
    let (agent, about) = match agent {
        Some(a) => (a.to_path_buf(), "qemu-ga of this build, with the agent crate's commands".to_string()),
        None => debian_agent()?,
    };
    let g = build(&agent, &about)?;
    let [kernel, initrd, release] = harness::agent::GUEST_ENV;
    cmd.env(kernel, &g.kernel).env(initrd, &g.initrd).env(release, &g.release);
    Ok(g)
}

#[derive(clap::Args, Debug)]
pub struct GuestArgs {
    /// The `qemu-ga` to put in the guest, e.g. a build's
    /// `target/qemu/10.2.2/install/bin/qemu-ga` (with the agent crate's commands).
    /// Default: Debian's own (the `qemu-guest-agent` package).
    #[arg(long, value_name = "PATH")]
    agent: Option<PathBuf>,
}

/// `cargo xtask guest`: builds the guest around the agent and prints its kernel and
/// initramfs.
pub fn guest(args: &GuestArgs) -> Result<()> {
    let (agent, about) = match &args.agent {
        Some(a) if a.is_file() => (a.clone(), format!("the qemu-ga at {}", a.display())),
        Some(a) => bail!("--agent {}: no such file", a.display()),
        None => debian_agent()?,
    };
    let g = build(&agent, &about)?;
    out!("kernel {} ({}), command line {CMDLINE:?}", g.kernel.display(), g.release);
    out!("initrd {} ({})", g.initrd.display(), g.agent);
    Ok(())
}
