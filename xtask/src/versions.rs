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
}

pub const ALL: &[Version] = &[Version {
    name: "10.2.2",
    debian: "1:10.2.2+ds-1",
    tarball: "qemu_10.2.2+ds.orig.tar.xz",
    sha256: "be05230fe47a6937cd29f28f562932c8125f9c93c2a82c625198f7a4aa601dfb",
    size: 38_669_728,
    meson: "meson>=1.5",
}];

pub fn get(name: &str) -> Result<&'static Version> {
    match ALL.iter().find(|v| v.name == name) {
        Some(v) => Ok(v),
        None => {
            let known: Vec<_> = ALL.iter().map(|v| v.name).collect();
            bail!("no patch series for QEMU {name}; supported: {}", known.join(", "))
        }
    }
}
