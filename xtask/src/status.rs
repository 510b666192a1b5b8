// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask source status [--qemu VERSION] [--update]`: Debian's security updates.
//!
//! For each release, the Debian source version it is pinned to (`versions.rs`) against
//! the newest version of the same upstream release that its suite offers now, and the
//! `debian/changelog` entries between them, the lines naming a CVE first. A newer
//! upstream release in the suite (sid's 11.1 beside our 10.2.2) is named, not taken: it
//! needs a series of its own. `--update` fetches and verifies the newer source package,
//! rewrites the pin in `xtask/src/versions.rs`, regenerates the series and checks it;
//! review and commit the result.

use std::fs;

use anyhow::{Context, Result, bail};

use crate::versions::{self, Version};
use crate::{qemu, sh, source};

#[derive(clap::Args, Debug)]
pub struct SourceArgs {
    #[command(subcommand)]
    action: SourceAction,
}

#[derive(clap::Subcommand, Debug)]
enum SourceAction {
    /// The pinned Debian version of each release against what its suite offers now, and
    /// the changelog entries between them (CVE lines first).
    Status(StatusArgs),
}

#[derive(clap::Args, Debug)]
struct StatusArgs {
    /// Only this QEMU version (default: every supported one).
    #[arg(long, value_name = "VERSION", value_parser = versions::get)]
    qemu: Option<&'static Version>,
    /// Take the newer Debian version: fetch and verify it, re-pin, regenerate the series
    /// and check it.
    #[arg(long)]
    update: bool,
    /// Compare as if the release were pinned to this Debian version (what a checkout
    /// pinned to an older revision would see); with one --qemu, and not with --update.
    #[arg(long, value_name = "DEBIAN_VERSION", requires = "qemu", conflicts_with = "update")]
    as_if_pinned: Option<String>,
}

pub fn source(args: &SourceArgs) -> Result<()> {
    match &args.action {
        SourceAction::Status(s) => status(s),
    }
}

fn status(args: &StatusArgs) -> Result<()> {
    let chosen: Vec<&'static Version> = match args.qemu {
        Some(v) => vec![v],
        None => versions::ALL.iter().collect(),
    };
    let opts = source::source_apt()?;
    let madison = sh::output(tools::command("apt-cache")?.args(&opts).args(["madison", "qemu"]))?;
    let offered = offered(&madison);
    for v in chosen {
        let pinned = args.as_if_pinned.as_deref().unwrap_or(v.debian);
        let in_suite: Vec<&str> = offered
            .iter()
            .filter(|(_, suite)| suite == v.suite)
            .map(|(version, _)| version.as_str())
            .collect();
        let same = newest(in_suite.iter().copied().filter(|o| upstream(o) == upstream(pinned)))?;
        let later = newest(in_suite.iter().copied().filter(|o| upstream(o) != upstream(pinned)))?;
        let Some(current) = same else {
            bail!("{} offers no qemu of the release {} (it offers {in_suite:?})", v.suite, upstream(pinned));
        };
        if let Some(other) = later.filter(|o| newer(o, pinned).unwrap_or(false)) {
            out!(
                "QEMU {}: {} also offers {other}, a later upstream release (a series of its own)",
                v.name,
                v.suite
            );
        }
        if !newer(current, pinned)? {
            out!("QEMU {}: pinned to {pinned}, the newest {} offers: current", v.name, v.suite);
            continue;
        }
        out!("QEMU {}: pinned to {pinned}; {} offers {current}", v.name, v.suite);
        let scratch = tempfile::Builder::new().prefix("qemu-debian-").tempdir()?;
        let status = source::apt_source(current, scratch.path(), &["--diff-only"])?;
        let debian_tar = fs::read_dir(scratch.path())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(".debian.tar.xz"))
            .with_context(|| {
                format!("apt-get source --diff-only qemu={current} ({status}) fetched no debian tarball")
            })?;
        let changelog =
            sh::output(tools::command("tar")?.arg("xOf").arg(&debian_tar).arg("debian/changelog"))?;
        print_news(&changelog, pinned)?;
        if args.update {
            update(v, current)?;
        }
    }
    Ok(())
}

/// `apt-cache madison qemu`'s source lines: (version, suite).
fn offered(madison: &str) -> Vec<(String, String)> {
    madison
        .lines()
        .filter(|l| l.trim_end().ends_with("Sources"))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split('|').map(str::trim).collect();
            let suite = fields.get(2)?.split_whitespace().nth(1)?.split('/').next()?;
            Some((fields.get(1)?.to_string(), suite.to_string()))
        })
        .collect()
}

/// A Debian version's epoch and upstream part (`1:7.2+dfsg` of `1:7.2+dfsg-7+deb12u18`).
fn upstream(version: &str) -> &str {
    version.rsplit_once('-').map_or(version, |(u, _)| u)
}

/// Whether Debian version `a` is later than `b` (dpkg's ordering).
fn newer(a: &str, b: &str) -> Result<bool> {
    Ok(tools::command("dpkg")?.args(["--compare-versions", a, "gt", b]).status()?.success())
}

fn newest<'a>(versions: impl Iterator<Item = &'a str>) -> Result<Option<&'a str>> {
    let mut best: Option<&str> = None;
    for v in versions {
        if best.map_or(Ok(true), |b| newer(v, b))? {
            best = Some(v);
        }
    }
    Ok(best)
}

/// Prints the changelog entries later than `pinned`: first every line that names a CVE,
/// then the entries whole.
fn print_news(changelog: &str, pinned: &str) -> Result<()> {
    let mut entries: Vec<(String, Vec<&str>)> = Vec::new();
    for line in changelog.lines() {
        if let Some(rest) = line.strip_prefix("qemu (") {
            let version = rest.split(')').next().unwrap_or_default().to_string();
            if !newer(&version, pinned)? {
                break;
            }
            entries.push((version, vec![line]));
        } else if let Some((_, lines)) = entries.last_mut() {
            lines.push(line);
        }
    }
    let cves: Vec<&str> =
        entries.iter().flat_map(|(_, lines)| lines.iter().copied()).filter(|l| l.contains("CVE-")).collect();
    out!("  {} changelog entries since {pinned}; {} lines name a CVE:", entries.len(), cves.len());
    for l in &cves {
        out!("  {}", l.trim());
    }
    for (_, lines) in &entries {
        for l in lines {
            out!("  | {l}");
        }
    }
    Ok(())
}

/// Re-pins `v` to Debian's `current`: fetches and checks it (its `.dsc`'s checksums
/// verify the tarballs; `dpkg-source -x` applies Debian's series), rewrites the pin in
/// `xtask/src/versions.rs`, then regenerates the series from the new tree and checks it.
fn update(v: &Version, current: &str) -> Result<()> {
    let dir = tempfile::Builder::new().prefix("qemu-debian-").tempdir()?;
    sh::step(format!("fetching Debian's source package qemu {current}"));
    let status = source::apt_source(current, dir.path(), &[])?;
    let dsc = fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "dsc"))
        .with_context(|| format!("apt-get source qemu={current} ({status}) fetched no .dsc"))?;
    let dsc_name = dsc.file_name().unwrap_or_default().to_string_lossy().to_string();
    let files = source::dsc_files(&fs::read_to_string(&dsc)?)?;
    for (sum, _, name) in &files {
        if source::sha256(&dir.path().join(name))? != *sum {
            bail!("{name} does not have the sha256 {dsc_name} names");
        }
    }
    if !files.iter().any(|(sum, _, name)| name == v.tarball && sum == v.sha256) {
        bail!(
            "{dsc_name} names another orig tarball than {}: a new upstream release, not an update",
            v.tarball
        );
    }
    let tree = dir.path().join("tree");
    sh::run(tools::command("dpkg-source")?.args(["--no-check", "-x"]).arg(&dsc).arg(&tree))?;
    let release = fs::read_to_string(tree.join("VERSION"))?.trim().to_string();
    let pin = sh::root().join("xtask/src/versions.rs");
    let text = fs::read_to_string(&pin)?;
    let new = repin(&text, v, current, &dsc_name, &source::sha256(&dsc)?, &release)?;
    fs::write(&pin, new)?;
    out!("QEMU {}: re-pinned to {current} ({dsc_name}, release {release}) in {}", v.name, pin.display());
    // The series from the new tree, through the rebuilt driver (the pin is compiled in).
    sh::run(qemu::cargo().current_dir(sh::root()).args(["xtask", "patches", "--qemu", v.name]))?;
    sh::run(qemu::cargo().current_dir(sh::root()).args(["xtask", "patches", "--check", "--qemu", v.name]))?;
    sh::step(format!(
        "review the changes (git diff xtask/src/versions.rs qemu-patches/{}), run `cargo xtask test --qemu {}`, commit",
        v.name, v.name
    ));
    Ok(())
}

/// `versions.rs` with `v`'s entry pinned to `debian` (its `.dsc` and the release its tree is).
fn repin(
    text: &str,
    v: &Version,
    debian: &str,
    dsc: &str,
    dsc_sha256: &str,
    release: &str,
) -> Result<String> {
    let start = text.find(&format!("name: \"{}\",", v.name)).context("the release's entry in versions.rs")?;
    let end = start + text[start..].find("\n    },").context("the end of the release's entry")?;
    let mut entry = text[start..end].to_string();
    for (field, old, new) in [
        ("debian", v.debian, debian),
        ("dsc", v.dsc, dsc),
        ("dsc_sha256", v.dsc_sha256, dsc_sha256),
        ("release", v.release, release),
    ] {
        let from = format!("{field}: \"{old}\",");
        if !entry.contains(&from) {
            bail!("versions.rs: {from} is not in QEMU {}'s entry", v.name);
        }
        entry = entry.replace(&from, &format!("{field}: \"{new}\","));
    }
    Ok(format!("{}{entry}{}", &text[..start], &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn madison_lines_give_versions_and_suites() {
        let m = "      qemu | 1:7.2+dfsg-7+deb12u18 | http://mirror.invalid/debian bookworm/main Sources\n\
                 \x20     qemu | 1:10.2.2+ds-1 | http://mirror.invalid/debian sid/main Sources\n";
        assert_eq!(
            offered(m),
            [
                ("1:7.2+dfsg-7+deb12u18".to_string(), "bookworm".to_string()),
                ("1:10.2.2+ds-1".into(), "sid".into())
            ]
        );
        assert_eq!(upstream("1:7.2+dfsg-7+deb12u18"), "1:7.2+dfsg");
    }

    #[test]
    fn repin_changes_only_that_release() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/versions.rs")).unwrap();
        let v = versions::get("7.2").unwrap();
        let new =
            repin(&text, v, "1:7.2+dfsg-7+deb12u19", "qemu_7.2+dfsg-7+deb12u19.dsc", "ab", "7.2.23").unwrap();
        assert!(new.contains("debian: \"1:7.2+dfsg-7+deb12u19\","));
        assert!(new.contains("release: \"7.2.23\","));
        assert!(new.contains("debian: \"1:10.2.2+ds-1\","), "another release's pin changed");
        assert_eq!(new.lines().count(), text.lines().count());
    }
}
