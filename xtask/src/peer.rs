// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask peer`: the emulator a VM migrates from and back to (tests/migration.rs),
//! the one a fleet already runs: Debian's own `qemu-system-x86` of the same release.
//!
//! Debian's package is fetched with `apt-get download` through a private apt
//! configuration (the host's Debian mirror and keyring, the release's suite, its own
//! lists under `target/peers/`), unpacked with `dpkg -x` with the `qemu-system-common`
//! that carries its TCG module, run by a launcher that names the module directory, and
//! its shared libraries installed by apt like any other dependency. The host's sources, and its packages other
//! than those libraries, are left as they are. Debian's binary finds its firmware where
//! Debian puts it (`/usr/share/qemu`, `/usr/share/seabios`, `/usr/lib/ipxe/qemu`), which
//! is where our build is configured to look too, so both sides run the same ROMs.
//!
//! QEMU 10.2.2 has no Debian build for this machine: its peer is the same source built
//! without the library, as the series walk builds it (`series::check`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::versions::{PeerSource, Version};
use crate::{BuildArgs, deps, series, sh, source};

/// The peer emulator of one release.
pub struct Peer {
    pub binary: PathBuf,
    /// What it is, for the test's report: Debian's package and version, or the plain build.
    pub description: String,
    /// Debian's version of it, for Debian's package.
    pub debian: Option<String>,
}

/// Packages of the peer's dependencies that are not shared libraries: Debian's QEMU data
/// and firmware (the host's own copies are used, as our build uses them) and the helpers
/// of `qemu-system-common`, which running the binary does not need.
const NOT_LIBRARIES: &[&str] = &["qemu-system-common", "qemu-system-data", "seabios", "ipxe-qemu"];

/// `cargo xtask peer`: prints the peer binary's path.
pub fn peer(args: &BuildArgs) -> Result<()> {
    let p = ensure(args.qemu, args)?;
    sh::step(format!("peer of QEMU {}: {}", args.qemu.name, p.description));
    println!("{}", p.binary.display());
    Ok(())
}

/// The peer of `v`, fetched (or built, for the upstream peer) if needed.
pub fn ensure(v: &'static Version, args: &BuildArgs) -> Result<Peer> {
    match v.peer {
        PeerSource::Upstream => {
            let plain = series::check(v, args)?;
            Ok(Peer {
                binary: upstream_launcher(&plain.binary)?,
                description: format!(
                    "QEMU {} from Debian's source built without the library (the series walk's tree; Debian has no build of {} for this machine)",
                    v.release, v.name
                ),
                debian: None,
            })
        }
        PeerSource::Debian { suite, version_prefix } => debian(suite, version_prefix),
    }
}

/// The series walk's emulator, through a launcher (see [`launcher`]) that the test and
/// libvirt run as they run any emulator.
fn upstream_launcher(binary: &Path) -> Result<PathBuf> {
    let path = sh::root().join("target/peers/upstream/qemu-system-x86_64");
    launcher(&path, &format!("exec {}", quoted(binary)))?;
    Ok(path)
}

/// Debian's `qemu-system-x86` from `suite`, whose version must start with
/// `version_prefix` (the same release as ours), run by a launcher that points QEMU at the
/// modules unpacked beside it.
fn debian(suite: &str, version_prefix: &str) -> Result<Peer> {
    let dir = sh::root().join("target/peers").join(suite);
    let launcher = dir.join("qemu-system-x86_64");
    let version = match fs::read_to_string(dir.join("version")) {
        Ok(version) if launcher.is_file() => version.trim().to_string(),
        _ => fetch(&dir, suite, version_prefix)?,
    };
    // Its libraries: every dependency but data, firmware and qemu-system-common, whose
    // modules for displays, audio and USB passthrough a headless VM does not load (the
    // TCG accelerator module it does load needs only libc and glib).
    let deb = dir.join("qemu-system-x86.deb");
    let depends = sh::output(tools::command("dpkg-deb")?.arg("--field").arg(&deb).arg("Depends"))?;
    let libraries = dependency_names(&depends, NOT_LIBRARIES);
    deps::ensure(&libraries.iter().map(String::as_str).collect::<Vec<_>>())?;
    let description = format!("Debian's qemu-system-x86 {version} ({suite})");
    Ok(Peer { binary: launcher, description, debian: Some(version) })
}

/// Downloads `qemu-system-x86` and the `qemu-system-common` of the same version (Debian
/// 12 builds the TCG accelerator as a module, which that package carries), unpacks both
/// into `dir/root`, and writes the launcher; returns the version.
fn fetch(dir: &Path, suite: &str, version_prefix: &str) -> Result<String> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    let apt = dir.join("apt");
    fs::create_dir_all(apt.join("lists/partial"))?;
    fs::write(
        apt.join("sources.list"),
        format!(
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {} {suite} main\n",
            source::debian_mirror()?
        ),
    )?;
    let opts = source::private_apt_options(&apt);
    sh::step(format!("fetching Debian's qemu-system-x86 from {suite} (a private apt configuration)"));
    sh::run(tools::command("apt-get")?.args(&opts).args(["-q", "update"]))?;
    let policy = sh::output(tools::command("apt-cache")?.args(&opts).args(["policy", "qemu-system-x86"]))?;
    let version = policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(str::trim)
        .filter(|c| *c != "(none)")
        .with_context(|| format!("{suite} has no qemu-system-x86:\n{policy}"))?
        .to_string();
    if !version.starts_with(version_prefix) {
        bail!("{suite}'s qemu-system-x86 is {version}, not the release {version_prefix}* this peer must be");
    }
    let root = dir.join("root");
    for package in ["qemu-system-x86", "qemu-system-common"] {
        let download = dir.join("download");
        fs::create_dir_all(&download)?;
        sh::run(
            tools::command("apt-get")?
                .args(&opts)
                .args(["-q", "download"])
                .arg(format!("{package}={version}"))
                .current_dir(&download),
        )?;
        let got = fs::read_dir(&download)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .with_context(|| format!("apt-get download {package} left no .deb"))?;
        let deb = dir.join(format!("{package}.deb"));
        fs::rename(&got, &deb)?;
        fs::remove_dir(&download)?;
        sh::run(tools::command("dpkg")?.arg("-x").arg(&deb).arg(&root))?;
    }
    launcher(
        &dir.join("qemu-system-x86_64"),
        &format!(
            "QEMU_MODULE_DIR={} exec {}",
            quoted(&root.join("usr/lib/x86_64-linux-gnu/qemu")),
            quoted(&root.join("usr/bin/qemu-system-x86_64"))
        ),
    )?;
    fs::write(dir.join("version"), format!("{version}\n"))?;
    Ok(version)
}

/// A shell script at `path` that runs `line` with Debian's firmware directories (`-L`)
/// and the script's arguments. An emulator outside its installed place looks for
/// firmware beside itself (7.2 resolves its data directories relative to the binary;
/// a build tree looks in the tree); `-L` names the directories Debian's QEMU and our
/// build are configured with, so each side runs the same ROMs.
fn launcher(path: &Path, line: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().context("a parent")?)?;
    let dirs: String = crate::qemu::FIRMWARE_DIRS.iter().map(|d| format!(" -L {d}")).collect();
    fs::write(path, format!("#!/bin/sh\n{line}{dirs} \"$@\"\n"))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// `path` as one word of a shell command line.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The package names of a `Depends` field (the first of each alternative), less `skip`.
pub fn dependency_names(depends: &str, skip: &[&str]) -> Vec<String> {
    depends
        .split(',')
        .filter_map(|d| d.split('|').next())
        .filter_map(|d| d.split_whitespace().next())
        .map(|n| n.split(':').next().unwrap_or(n).to_string())
        .filter(|n| !skip.contains(&n.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_names_take_the_first_alternative_and_drop_versions() {
        let field = "libaio1 (>= 0.3.93), libc6 (>= 2.34), qemu-system-common (= 1:7.2), \
                     seabios (>> 1.16.3-1~), libfoo1 | libbar1, zlib1g:amd64 (>= 1:1.2.0)";
        assert_eq!(
            dependency_names(field, NOT_LIBRARIES),
            ["libaio1", "libc6", "libfoo1", "zlib1g"].map(String::from)
        );
    }
}
