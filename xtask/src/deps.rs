// SPDX-License-Identifier: GPL-2.0-or-later
//! Debian packages the build needs: installed when missing if we are root, otherwise
//! the exact `apt-get install` line is printed and the build stops.

use std::process::Command;

use anyhow::{Result, bail};

use crate::sh;

/// What building QEMU 10.x with the staticlib needs on Debian 12.
pub const BUILD: &[&str] = &[
    "build-essential",
    "ninja-build",
    "pkg-config",
    "libglib2.0-dev",
    "libpixman-1-dev",
    "libfdt-dev",
    "libslirp-dev",
    "flex",
    "bison",
    "device-tree-compiler",
    "python3-venv",
    "libclang-dev",
    "clang",
    "ccache",
    "xz-utils",
    "patch",
    // Firmware for a pc VM: SeaBIOS, the iPXE option ROMs, and QEMU's own option ROMs
    // (kvmvapic.bin, linuxboot_dma.bin, ...) that Debian's repacked source leaves out.
    "seabios",
    "ipxe-qemu",
    "qemu-system-data",
];

fn missing(packages: &[&str]) -> Result<Vec<String>> {
    let mut cmd = Command::new("dpkg-query");
    cmd.args(["-W", "-f=${Package} ${db:Status-Status}\\n"]).args(packages);
    // dpkg-query exits 1 when a package is unknown; its stdout still lists the rest.
    let out = cmd.output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(packages
        .iter()
        .filter(|p| !text.lines().any(|l| l == format!("{p} installed")))
        .map(|p| p.to_string())
        .collect())
}

/// Installs the missing ones among `packages` (as root), or explains how to.
pub fn ensure(packages: &[&str]) -> Result<()> {
    let missing = missing(packages)?;
    if missing.is_empty() {
        return Ok(());
    }
    let line = format!("apt-get install -y --no-install-recommends {}", missing.join(" "));
    if !sh::is_root() {
        bail!("missing Debian packages; as root, run:\n  apt-get update && {line}");
    }
    sh::step(format!("installing {}", missing.join(" ")));
    sh::run(Command::new("apt-get").args(["update", "-q"]))?;
    sh::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing),
    )
}

/// A private libvirtd for the end-to-end test and `cargo xtask libvirt`: bookworm's own
/// libvirt 9.0, from the machine's apt sources as they are (no extra suite needed; it
/// drives QEMU 10.2 when the domain enables ACPI, see examples/hello-domain.xml).
pub const LIBVIRT: &[&str] = &["libvirt-daemon", "libvirt-daemon-driver-qemu", "libvirt-clients"];

/// The system libvirt (its daemons, configuration and the `libvirt-qemu` user) for
/// tests/package.rs, and AppArmor's parser to check the snippets the package ships.
pub const SYSTEM_LIBVIRT: &[&str] = &["libvirt-daemon-system", "apparmor"];

/// QEMU's own Rust (`--with-qemu-rust`): Debian's bindgen (0.60, as QEMU 10.2 asks);
/// rustc and cargo come with the toolchain that builds this project.
pub const QEMU_RUST: &[&str] = &["bindgen"];

/// Tools the tests run QEMU under: memcheck for tests/valgrind.rs.
pub const TEST_TOOLS: &[&str] = &["valgrind"];
