// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask repo DIR`: a signed Debian repository of the packages `cargo xtask
//! package` built, made with Debian's own tools (`apt-ftparchive`, `gpg`), that a host
//! adds with one `signed-by` sources entry.
//!
//! Layout (one suite, `stable`, one component, `main`, `amd64`):
//!
//! ```text
//! DIR/pool/main/qemu-hello-rs-<release>_<version>_amd64.deb
//! DIR/dists/stable/main/binary-amd64/Packages, Packages.gz
//! DIR/dists/stable/Release, Release.gpg, InRelease
//! DIR/qemu-hello-rs-archive-keyring.gpg    (the public key, for Signed-By)
//! DIR/qemu-hello-rs.sources                (the deb822 entry for this DIR)
//! ```
//!
//! The signing key is the user's (`--key-id ID`, from their gpg keyring) or one generated
//! once and kept in `target/apt-repo-key/` (`GNUPGHOME`), so that a repository rebuilt
//! later keeps the key hosts already trust.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::{deps, sh};

/// The Debian tools the repository is made with.
pub const TOOLS: &[&str] = &["apt-utils", "gnupg"];

pub const SUITE: &str = "stable";
pub const COMPONENT: &str = "main";
pub const KEYRING: &str = "qemu-hello-rs-archive-keyring.gpg";
pub const SOURCES: &str = "qemu-hello-rs.sources";

#[derive(clap::Args, Debug)]
pub struct RepoArgs {
    /// The repository's directory (created; its pool and indices are rewritten).
    dir: PathBuf,
    /// Sign with this key of your gpg keyring (default: a key generated once and kept in
    /// target/apt-repo-key/).
    #[arg(long, value_name = "ID")]
    key_id: Option<String>,
    /// The packages (default: every .deb in target/debian/).
    #[arg(value_name = "DEB")]
    debs: Vec<PathBuf>,
}

pub fn repo(args: &RepoArgs) -> Result<()> {
    let debs = if args.debs.is_empty() { built_debs()? } else { args.debs.clone() };
    let dir = write(&args.dir, &debs, args.key_id.as_deref())?;
    out!("{}", dir.join(SOURCES).display());
    Ok(())
}

/// Every package `cargo xtask package` left in `target/debian/`.
pub fn built_debs() -> Result<Vec<PathBuf>> {
    let out = sh::root().join("target/debian");
    let mut debs: Vec<PathBuf> = match fs::read_dir(&out) {
        Ok(entries) => entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "deb"))
            .collect(),
        Err(_) => Vec::new(),
    };
    debs.sort();
    if debs.is_empty() {
        bail!("no packages in {}: run `cargo xtask package [--qemu VERSION]` first", out.display());
    }
    Ok(debs)
}

/// Writes the repository of `debs` into `dir`, signed with `key_id` or the project's
/// generated key; returns `dir`, absolute.
pub fn write(dir: &Path, debs: &[PathBuf], key_id: Option<&str>) -> Result<PathBuf> {
    deps::ensure(TOOLS)?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let pool = dir.join("pool").join(COMPONENT);
    let binary = dir.join("dists").join(SUITE).join(COMPONENT).join("binary-amd64");
    for d in [&pool, &binary] {
        if d.exists() {
            fs::remove_dir_all(d)?;
        }
        fs::create_dir_all(d)?;
    }
    for deb in debs {
        let name = deb.file_name().with_context(|| format!("{} names no file", deb.display()))?;
        fs::copy(deb, pool.join(name)).with_context(|| format!("cannot copy {}", deb.display()))?;
    }
    sh::step(format!("indexing {} package(s) with apt-ftparchive", debs.len()));
    let packages =
        sh::output(tools::command("apt-ftparchive")?.arg("packages").arg("pool").current_dir(&dir))?;
    fs::write(binary.join("Packages"), &packages)?;
    sh::run(tools::command("gzip")?.args(["-9nkf"]).arg(binary.join("Packages")))?;
    let suite_dir = dir.join("dists").join(SUITE);
    for f in ["Release", "Release.gpg", "InRelease"] {
        let _ = fs::remove_file(suite_dir.join(f));
    }
    let release = sh::output(
        tools::command("apt-ftparchive")?
            .args(["-o", "APT::FTPArchive::Release::Origin=qemu-hello-rs"])
            .args(["-o", "APT::FTPArchive::Release::Label=qemu-hello-rs"])
            .args(["-o", &format!("APT::FTPArchive::Release::Suite={SUITE}")])
            .args(["-o", &format!("APT::FTPArchive::Release::Codename={SUITE}")])
            .args(["-o", "APT::FTPArchive::Release::Architectures=amd64"])
            .args(["-o", &format!("APT::FTPArchive::Release::Components={COMPONENT}")])
            .arg("release")
            .arg(".")
            .current_dir(&suite_dir),
    )?;
    fs::write(suite_dir.join("Release"), release)?;

    let (home, key) = match key_id {
        Some(id) => (None, id.to_string()),
        None => {
            let home = generated_key_home()?;
            let fpr = fingerprint(&home)?;
            (Some(home), fpr)
        }
    };
    let gpg = || {
        let mut c = tools::command("gpg")?;
        if let Some(h) = &home {
            // The generated key has no passphrase; the user's key asks gpg-agent for its own.
            c.env("GNUPGHOME", h).args(["--pinentry-mode", "loopback", "--passphrase", ""]);
        }
        c.args(["--batch", "--yes", "--local-user", &key]);
        Ok::<_, tools::Error>(c)
    };
    sh::step(format!("signing the Release file with key {key}"));
    sh::run(
        gpg()?
            .args(["--armor", "--detach-sign", "--output"])
            .arg(suite_dir.join("Release.gpg"))
            .arg(suite_dir.join("Release")),
    )?;
    sh::run(
        gpg()?
            .args(["--clearsign", "--output"])
            .arg(suite_dir.join("InRelease"))
            .arg(suite_dir.join("Release")),
    )?;
    sh::run(gpg()?.arg("--export").arg("--output").arg(dir.join(KEYRING)).arg(&key))?;
    fs::write(dir.join(SOURCES), sources_entry(&dir))?;
    sh::step(format!(
        "wrote the repository {}; a host adds it with {} in /etc/apt/sources.list.d/",
        dir.display(),
        dir.join(SOURCES).display()
    ));
    Ok(dir)
}

/// The deb822 sources entry for the repository at `dir` (served as `file:`; for HTTP,
/// replace `URIs:` with the URL and copy the keyring to /usr/share/keyrings/).
pub fn sources_entry(dir: &Path) -> String {
    format!(
        "Types: deb\nURIs: file:{}\nSuites: {SUITE}\nComponents: {COMPONENT}\nArchitectures: amd64\nSigned-By: {}\n",
        dir.display(),
        dir.join(KEYRING).display()
    )
}

/// The GNUPGHOME of the project's own signing key, generated on first use.
fn generated_key_home() -> Result<PathBuf> {
    let home = sh::root().join("target/apt-repo-key");
    if home.join("pubring.kbx").is_file() && fingerprint(&home).is_ok() {
        return Ok(home);
    }
    fs::create_dir_all(&home)?;
    set_private(&home)?;
    sh::step(format!("generating the repository's signing key in {}", home.display()));
    sh::run(
        tools::command("gpg")?
            .env("GNUPGHOME", &home)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(["--quick-generate-key", "qemu-hello-rs archive (generated by cargo xtask repo)"])
            .args(["ed25519", "sign", "never"]),
    )?;
    Ok(home)
}

fn set_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// The fingerprint of the one secret key in `home`.
fn fingerprint(home: &Path) -> Result<String> {
    let out = sh::output(tools::command("gpg")?.env("GNUPGHOME", home).args([
        "--batch",
        "--with-colons",
        "--list-secret-keys",
    ]))?;
    out.lines()
        .find_map(|l| l.strip_prefix("fpr:").map(|r| r.trim_matches(':').to_string()))
        .context("no secret key in the repository's key home")
}
