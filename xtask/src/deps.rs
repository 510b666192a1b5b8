// SPDX-License-Identifier: GPL-2.0-or-later
//! Debian packages the build needs besides the programs of the tools table (libraries,
//! and the tools QEMU's own build runs): installed when missing if we are root,
//! otherwise the exact `apt-get install` line is printed and the build stops.

use anyhow::Result;

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

/// Installs the missing ones among `packages` (as root), or explains how to
/// (`tools::ensure`: the same path every program of the tools table takes).
pub fn ensure(packages: &[&str]) -> Result<()> {
    Ok(tools::ensure(packages)?)
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
