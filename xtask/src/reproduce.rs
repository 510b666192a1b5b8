// SPDX-License-Identifier: GPL-2.0-or-later
//! Reproducible packages: the `.deb`s `cargo xtask package` built here (the emulator's
//! and the guest agent's) are built again from a second clone of the same state, in
//! another directory with its own target dir, and each pair must be byte-identical. On any difference, diffoscope's report of it is
//! printed and the check fails.
//!
//! What makes them equal: the series' fixed dates; QEMU's C compiled with relative
//! source paths (meson's) and stripped; the Rust library built with this machine's paths
//! remapped away (`build_staticlib`); `SOURCE_DATE_EPOCH` (the last commit's time) for
//! the changelog and for dpkg-deb, which clamps file times and sorts the archive's
//! members; md5sums sorted, modes normalised, gzip without names or times.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{BuildArgs, deps, sh, source};

/// Builds the packages again in a second clone with `xtask` (this same program) and
/// compares each of `debs` with the second clone's of the same name.
pub fn check(args: &BuildArgs, debs: &[PathBuf], xtask: &Path) -> Result<()> {
    let tmp = tempfile::Builder::new().prefix("qemu-hello-rs-second-clone-").tempdir()?;
    let clone = tmp.path().join("clone");
    sh::step(format!(
        "a second clone in {}: the same files and history, its own target dir",
        clone.display()
    ));
    // The same state as this checkout, committed or not, and its history (the changelog
    // names the commit and takes its date).
    harness::repo::copy_project(sh::root(), &clone).context("copying the project")?;
    sh::run(tools::command("cp")?.arg("-a").arg(sh::root().join(".git")).arg(clone.join(".git")))?;

    let mut cmd = tools::built(xtask);
    cmd.env(sh::ROOT_ENV, &clone).args(["package", "--qemu", args.qemu.name]);
    if let Some(t) = &args.qemu_tarball {
        cmd.arg("--qemu-tarball").arg(t);
    }
    if let Some(d) = &args.qemu_src {
        cmd.arg("--qemu-src").arg(d);
    }
    let start = Instant::now();
    let out = sh::output(&mut cmd)?;
    let last = PathBuf::from(out.lines().last().context("package printed no path")?);
    eprintln!("the second clone's packages built in {:.0} s", start.elapsed().as_secs_f64());
    anyhow::ensure!(last.starts_with(&clone), "{} is not the second clone's package", last.display());
    let second_dir = last.parent().context("the package's directory")?;

    for deb in debs {
        let name = deb.file_name().context("a package's file name")?;
        let second = second_dir.join(name);
        anyhow::ensure!(second.is_file(), "the second clone built no {}", name.to_string_lossy());
        if fs::read(deb)? == fs::read(&second)? {
            sh::step(format!(
                "reproducible: {} is byte-identical from both clones (sha256 {})",
                name.to_string_lossy(),
                source::sha256(deb)?
            ));
            continue;
        }
        deps::ensure(&["diffoscope-minimal"])?;
        sh::step("the packages differ; diffoscope's report:");
        let status = tools::command("diffoscope")?.arg("--text").arg("-").arg(deb).arg(&second).status()?;
        bail!(
            "{} and {} differ (diffoscope exited with {status}): the package is not reproducible",
            deb.display(),
            second.display()
        )
    }
    Ok(())
}
