// SPDX-License-Identifier: GPL-2.0-or-later
//! The QEMU releases this project carries a patch series for, each pinned to Debian's
//! complete source package: the `.dsc` by its sha256, which pins in turn the orig tarball
//! (QEMU's upstream release, repacked) and Debian's own changes (`.debian.tar.xz`: the
//! stable releases and fixes in `debian/patches/series`). See
//! ../shared/notes/qemu-build.md for where these figures come from.

use anyhow::{Result, bail};

/// The version built when none is given.
pub const DEFAULT: &str = "10.2.2";

/// One supported QEMU release.
#[derive(Debug)]
pub struct Version {
    /// QEMU's version, also the name of its directory under `qemu-patches/`.
    pub name: &'static str,
    /// The release Debian's tree is (its `VERSION` file, the QMP greeting): 7.2's
    /// `debian/patches` carry QEMU's stable releases up to 7.2.22.
    pub release: &'static str,
    /// The release the orig tarball alone is (an upstream tree, `--qemu-tarball`).
    pub upstream_release: &'static str,
    /// The Debian source package version built.
    pub debian: &'static str,
    /// The Debian suite that ships it (`cargo xtask source status` asks it for news).
    pub suite: &'static str,
    /// The source package's `.dsc` file name.
    pub dsc: &'static str,
    /// Its sha256: the root of trust for the rest (its `Checksums-Sha256` pins the
    /// tarballs; apt checked it against the archive's signed index when it fetched it).
    pub dsc_sha256: &'static str,
    /// The orig tarball's file name.
    pub tarball: &'static str,
    /// Its sha256 (also listed in the `.dsc`; `--qemu-tarball` is checked against it).
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
        upstream_release: "10.2.2",
        debian: "1:10.2.2+ds-1",
        suite: "sid",
        dsc: "qemu_10.2.2+ds-1.dsc",
        dsc_sha256: "f1684b3aa5ec500c3389d346c6501dee45041ea91656c6556d4da9023b7987dd",
        tarball: "qemu_10.2.2+ds.orig.tar.xz",
        sha256: "be05230fe47a6937cd29f28f562932c8125f9c93c2a82c625198f7a4aa601dfb",
        size: 38_669_728,
        meson: "meson>=1.5",
        peer: PeerSource::Upstream,
    },
    Version {
        name: "10.0.13",
        release: "10.0.13",
        upstream_release: "10.0.13",
        debian: "1:10.0.13+ds-0+deb13u1",
        suite: "trixie",
        dsc: "qemu_10.0.13+ds-0+deb13u1.dsc",
        dsc_sha256: "a426c892e5369058c3423816c8625bc8010bb5a58ece57261f62b64ee4d765ad",
        tarball: "qemu_10.0.13+ds.orig.tar.xz",
        sha256: "6a0888e806c2ffc0c5f0733e974f9aea55491950d3c47c98669c8b236dde59ae",
        size: 40_010_016,
        meson: "meson>=1.5",
        // Debian 12 ships 10.0 in its backports suite.
        peer: PeerSource::Debian { suite: "bookworm-backports", version_prefix: "1:10.0." },
    },
    Version {
        name: "7.2",
        release: "7.2.22",
        upstream_release: "7.2.0",
        debian: "1:7.2+dfsg-7+deb12u18",
        suite: "bookworm",
        dsc: "qemu_7.2+dfsg-7+deb12u18.dsc",
        dsc_sha256: "6b6bd27b947ec89e40a1d6b26d9c9f3c698ca691da13163e0483f6061bbb20b3",
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
