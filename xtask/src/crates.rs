// SPDX-License-Identifier: GPL-2.0-or-later
//! The Rust crates QEMU's own Rust (`--enable-rust`) builds, put where meson looks before
//! it would download: `subprojects/packagecache/<source_filename>` of each `*-rs.wrap`.
//!
//! The wraps name each crate's archive and its sha256. Cargo fetches the same archives
//! (a `.crate` is the gzipped tarball the wrap names), so each comes from cargo's cache,
//! fetched by cargo when missing, and must have the wrap's hash: meson checks it again.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::{sh, source};

/// One `[wrap-file]` of a crate.
struct Wrap {
    /// `<name>-<version>`, the archive's top directory.
    directory: String,
    source_filename: String,
    source_hash: String,
}

impl Wrap {
    /// The crate's name and version, from `directory`.
    fn crate_version(&self) -> Option<(&str, &str)> {
        let at =
            self.directory.char_indices().rev().find(|&(i, c)| {
                c == '-' && self.directory[i + 1..].starts_with(|d: char| d.is_ascii_digit())
            })?;
        Some((&self.directory[..at.0], &self.directory[at.0 + 1..]))
    }
}

fn wraps(src: &Path) -> Result<Vec<Wrap>> {
    let dir = src.join("subprojects");
    let mut out = Vec::new();
    for e in fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = e?.path();
        if !path.to_string_lossy().ends_with("-rs.wrap") {
            continue;
        }
        let text = fs::read_to_string(&path)?;
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.trim_start().strip_prefix('=').map(|v| v.trim().to_string()))
                .with_context(|| format!("{} has no {k}", path.display()))
        };
        out.push(Wrap {
            directory: field("directory")?,
            source_filename: field("source_filename")?,
            source_hash: field("source_hash")?,
        });
    }
    out.sort_by(|a, b| a.directory.cmp(&b.directory));
    if out.is_empty() {
        bail!("{} has no *-rs.wrap: this QEMU has no Rust crates to build", dir.display());
    }
    Ok(out)
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default()
}

/// cargo's download cache: `$CARGO_HOME/registry/cache/<registry>/`.
fn cargo_caches() -> Vec<PathBuf> {
    fs::read_dir(cargo_home().join("registry/cache"))
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

/// Removes what cargo extracted of `crates`, any version, under `$CARGO_HOME/registry/src/`.
///
/// `cargo package -p a -p b` verifies `b` against the `a` it just packaged, through a
/// registry of its own in `target/package/`. cargo extracts that `a` under
/// `registry/src/-<hash of that path>/a-<version>/` and, if that directory is there already,
/// uses it as it is: a later run from the same path then verifies against the `a` of the
/// first run. That happened in CI, whose cargo home outlives a clone at the same path
/// (`generate_agent` "not found" in a `qemu-monitor-layer-gen` from before it was written).
/// Our crates are not published, so every such directory is one of these stale copies.
/// (The builds of those copies in the target dir are reused the same way: the caller
/// empties its target dir.)
pub fn forget_packaged(crates: &[&str]) -> Result<()> {
    forget_extracted(&cargo_home(), crates)
}

fn forget_extracted(cargo_home: &Path, crates: &[&str]) -> Result<()> {
    let Ok(registries) = fs::read_dir(cargo_home.join("registry/src")) else { return Ok(()) };
    for registry in registries {
        for extracted in fs::read_dir(registry?.path())? {
            let extracted = extracted?.path();
            let name = extracted.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let ours = crates.iter().any(|c| {
                name.strip_prefix(c)
                    .and_then(|v| v.strip_prefix('-'))
                    .is_some_and(|v| v.starts_with(|ch: char| ch.is_ascii_digit()))
            });
            if ours {
                fs::remove_dir_all(&extracted)
                    .with_context(|| format!("removing {}", extracted.display()))?;
            }
        }
    }
    Ok(())
}

fn cached(caches: &[PathBuf], directory: &str) -> Option<PathBuf> {
    caches.iter().map(|c| c.join(format!("{directory}.crate"))).find(|p| p.is_file())
}

/// Fills `src/subprojects/packagecache/` with every crate the wraps name.
pub fn fill_packagecache(src: &Path) -> Result<()> {
    let wraps = wraps(src)?;
    let cache = src.join("subprojects/packagecache");
    fs::create_dir_all(&cache)?;
    let before = cargo_caches();
    let missing: Vec<&Wrap> = wraps.iter().filter(|w| cached(&before, &w.directory).is_none()).collect();
    if !missing.is_empty() {
        fetch(&missing)?;
    }
    // Read after the fetch: it may have made the first registry cache directory.
    let caches = cargo_caches();
    for w in &wraps {
        let dest = cache.join(&w.source_filename);
        if dest.is_file() && source::sha256(&dest)? == w.source_hash {
            continue;
        }
        let from =
            cached(&caches, &w.directory).with_context(|| format!("cargo did not fetch {}", w.directory))?;
        let hash = source::sha256(&from)?;
        if hash != w.source_hash {
            bail!("{}: sha256 {hash}, but QEMU's wrap expects {}", from.display(), w.source_hash);
        }
        fs::copy(&from, &dest).with_context(|| format!("cannot copy {}", from.display()))?;
    }
    sh::step(format!("{} Rust crates of QEMU in {} (sha256 as the wraps say)", wraps.len(), cache.display()));
    Ok(())
}

/// Lets cargo download the crates: a throw-away package depending on each exact version.
fn fetch(missing: &[&Wrap]) -> Result<()> {
    let dir = tempfile::Builder::new().prefix("qemu-crates-").tempdir()?;
    let mut manifest = String::from(
        "[package]\nname = \"qemu-crates\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    );
    for w in missing {
        let (name, version) = w
            .crate_version()
            .with_context(|| format!("cannot read a crate and version in {:?}", w.directory))?;
        manifest.push_str(&format!("{name} = \"={version}\"\n"));
    }
    fs::write(dir.path().join("Cargo.toml"), manifest)?;
    fs::create_dir(dir.path().join("src"))?;
    fs::write(dir.path().join("src/lib.rs"), "")?;
    sh::step(format!("fetching {} crate(s) of QEMU's Rust with cargo", missing.len()));
    sh::run(crate::qemu::cargo().arg("fetch").current_dir(dir.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_every_extracted_version_of_the_named_crates_and_nothing_else() {
        let home = tempfile::tempdir().unwrap();
        let src = home.path().join("registry/src");
        let dirs = [
            "-14cd1cce6819ff87/qemu-monitor-layer-gen-0.1.0",
            "-22c3805da5a543b4/qemu-monitor-layer-gen-0.2.0",
            "-22c3805da5a543b4/qemu-monitor-layer-0.1.0",
            "index.example-1949cf8c6b5b557f/qemu-monitor-layer-gen-0.1.0",
            "index.example-1949cf8c6b5b557f/qemu-monitor-layer-genx-0.1.0",
            "index.example-1949cf8c6b5b557f/qemu-monitor-layer-build-0.1.0",
            "index.example-1949cf8c6b5b557f/serde-1.0.0",
        ];
        for d in dirs {
            fs::create_dir_all(src.join(d).join("src")).unwrap();
        }
        forget_extracted(home.path(), &["qemu-monitor-layer-gen", "qemu-monitor-layer"]).unwrap();
        let left: Vec<bool> = dirs.iter().map(|d| src.join(d).exists()).collect();
        assert_eq!(left, [false, false, false, false, true, true, true]);
        // No cargo home yet: nothing to forget.
        forget_extracted(&home.path().join("absent"), &["qemu-monitor-layer"]).unwrap();
    }
}
