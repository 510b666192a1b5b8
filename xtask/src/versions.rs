// SPDX-License-Identifier: GPL-2.0-or-later
//! The QEMU releases this project carries a patch series for, pinned to Debian's repacked
//! orig tarballs (see ../shared/notes/qemu-build.md for where these figures come from).

use anyhow::{Result, bail};

/// The version built when none is given.
pub const DEFAULT: &str = "10.2.2";

/// One supported QEMU release.
#[derive(Debug)]
pub struct Version {
    /// QEMU's version, also the name of its directory under `qemu-patches/`.
    pub name: &'static str,
    /// The release as its `VERSION` file and QMP greeting give it.
    pub release: &'static str,
    /// The Debian source package version that carries the orig tarball.
    pub debian: &'static str,
    /// The orig tarball's file name.
    pub tarball: &'static str,
    /// Its sha256.
    pub sha256: &'static str,
    /// Its size in bytes.
    pub size: u64,
    /// The meson this release builds with (pip requirement).
    pub meson: &'static str,
    /// The emulator a VM migrates from and back to (`cargo xtask peer`).
    pub peer: PeerSource,
}

/// Where a release's migration peer comes from.
#[derive(Debug)]
pub enum PeerSource {
    /// Debian's `qemu-system-x86` from `suite` (of this machine's Debian), whose version
    /// starts with `version_prefix`.
    Debian { suite: &'static str, version_prefix: &'static str },
    /// No Debian build for this machine: upstream QEMU built without the library.
    Upstream,
}

pub const ALL: &[Version] = &[
    Version {
        name: "10.2.2",
        release: "10.2.2",
        debian: "1:10.2.2+ds-1",
        tarball: "qemu_10.2.2+ds.orig.tar.xz",
        sha256: "be05230fe47a6937cd29f28f562932c8125f9c93c2a82c625198f7a4aa601dfb",
        size: 38_669_728,
        meson: "meson>=1.5",
        peer: PeerSource::Upstream,
    },
    Version {
        name: "10.0.13",
        release: "10.0.13",
        debian: "1:10.0.13+ds-0+deb13u1",
        tarball: "qemu_10.0.13+ds.orig.tar.xz",
        sha256: "6a0888e806c2ffc0c5f0733e974f9aea55491950d3c47c98669c8b236dde59ae",
        size: 40_010_016,
        meson: "meson>=1.5",
        // Debian 12 ships 10.0 in its backports suite.
        peer: PeerSource::Debian { suite: "bookworm-backports", version_prefix: "1:10.0." },
    },
    Version {
        name: "7.2",
        release: "7.2.0",
        debian: "1:7.2+dfsg-7+deb12u18",
        tarball: "qemu_7.2+dfsg.orig.tar.xz",
        sha256: "91aca71520040edc40b8d437aa3004dae614f58e286cf653ee8996c07af2962f",
        size: 23_523_172,
        // What Debian 12 builds 7.2 with; 7.2's meson.build predates meson 1.5.
        meson: "meson==1.0.1",
        peer: PeerSource::Debian { suite: "bookworm", version_prefix: "1:7.2+" },
    },
];

/// The supported release `name` (also clap's `value_parser` for `--qemu`).
pub fn get(name: &str) -> Result<&'static Version> {
    match ALL.iter().find(|v| v.name == name) {
        Some(v) => Ok(v),
        None => {
            let known: Vec<_> = ALL.iter().map(|v| v.name).collect();
            bail!("no patch series for QEMU {name}; supported: {}", known.join(", "))
        }
    }
}
