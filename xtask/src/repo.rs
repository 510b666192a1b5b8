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
//! The signing key is the user's (`--key-id ID`, from their gpg keyring) or the project's
//! own, generated once into a key home outside the build tree (`--key-home DIR`; by
//! default `$XDG_DATA_HOME/qemu-hello-rs/apt-repo-key`, else
//! `~/.local/share/qemu-hello-rs/apt-repo-key`), so that `cargo clean` never destroys the
//! key every host trusts. A key home under `target/` is refused; one left there by an
//! earlier version of this driver is moved out on first use.
//!
//! Every key in the key home signs, and the keyring exports them all. Rotating is two
//! steps with an overlap between them: `--new-key` adds a key (the Release is then signed
//! by the old and the new one, and the keyring holds both; a host still trusting only
//! the old key verifies the old signature), hosts take the new keyring, then
//! `--retire-key FINGERPRINT` removes the old one.
//!
//! The pool is added to, never rewritten: earlier versions stay, so a host can roll
//! back with `apt-get install <package>=<version>`. Publishing a file the pool already
//! holds with other contents is refused (rebuild with `cargo xtask package --rebuild N`).

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
    /// Sign with this key of your gpg keyring instead of the project's key home.
    #[arg(long, value_name = "ID", conflicts_with_all = ["key_home", "new_key", "retire_key"])]
    key_id: Option<String>,
    /// The project's signing keys (a GnuPG home, made on first use; default
    /// $XDG_DATA_HOME/qemu-hello-rs/apt-repo-key or ~/.local/share/qemu-hello-rs/apt-repo-key).
    #[arg(long, value_name = "DIR")]
    key_home: Option<PathBuf>,
    /// Add a new signing key to the key home before signing: the overlap of a rotation.
    #[arg(long)]
    new_key: bool,
    /// Remove this key from the key home before signing: the end of a rotation.
    #[arg(long, value_name = "FINGERPRINT")]
    retire_key: Option<String>,
    /// The packages (default: every .deb in target/debian/).
    #[arg(value_name = "DEB")]
    debs: Vec<PathBuf>,
}

pub fn repo(args: &RepoArgs) -> Result<()> {
    let debs = if args.debs.is_empty() { built_debs()? } else { args.debs.clone() };
    let signer = match &args.key_id {
        Some(id) => Signer::Id(id.clone()),
        None => {
            let home = key_home(args.key_home.as_deref())?;
            if let Some(fpr) = &args.retire_key {
                retire_key(&home, fpr)?;
            }
            if args.new_key {
                new_key(&home)?;
            }
            Signer::Home(home)
        }
    };
    let dir = write(&args.dir, &debs, &signer)?;
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

/// Who signs: a key of the user's keyring, or every key of a key home.
pub enum Signer {
    Id(String),
    Home(PathBuf),
}

/// Adds `debs` to the repository in `dir` (earlier packages stay), indexes and signs it;
/// returns `dir`, absolute.
pub fn write(dir: &Path, debs: &[PathBuf], signer: &Signer) -> Result<PathBuf> {
    deps::ensure(TOOLS)?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let pool = dir.join("pool").join(COMPONENT);
    let binary = dir.join("dists").join(SUITE).join(COMPONENT).join("binary-amd64");
    for d in [&pool, &binary] {
        fs::create_dir_all(d)?;
    }
    for deb in debs {
        let name = deb.file_name().with_context(|| format!("{} names no file", deb.display()))?;
        let dest = pool.join(name);
        let new = fs::read(deb).with_context(|| format!("cannot read {}", deb.display()))?;
        match fs::read(&dest) {
            Ok(published) if published == new => continue,
            Ok(_) => bail!(
                "{} is already published with other contents: hosts may have it; publish a rebuild \
                 (`cargo xtask package --rebuild N`) instead",
                dest.display()
            ),
            Err(_) => fs::write(&dest, new).with_context(|| format!("cannot write {}", dest.display()))?,
        }
    }
    let count = fs::read_dir(&pool)?.count();
    sh::step(format!("indexing the pool's {count} package(s) with apt-ftparchive"));
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

    let (home, keys) = match signer {
        Signer::Id(id) => (None, vec![id.clone()]),
        Signer::Home(home) => (Some(home), fingerprints(home)?),
    };
    let gpg = || {
        let mut c = tools::command("gpg")?;
        if let Some(h) = &home {
            // The generated keys have no passphrase; the user's key asks gpg-agent.
            c.env("GNUPGHOME", h).args(["--pinentry-mode", "loopback", "--passphrase", ""]);
        }
        c.args(["--batch", "--yes"]);
        for key in &keys {
            c.args(["--local-user", key]);
        }
        Ok::<_, tools::Error>(c)
    };
    sh::step(format!("signing the Release file with {}", keys.join(" and ")));
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
    sh::run(gpg()?.arg("--export").arg("--output").arg(dir.join(KEYRING)).args(&keys))?;
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

/// The key home: `given`, or the default outside the build tree; made, with one key, on
/// first use (or moved from `target/apt-repo-key/`, where this driver used to keep it).
pub fn key_home(given: Option<&Path>) -> Result<PathBuf> {
    let home = match given {
        Some(dir) => std::path::absolute(dir)?,
        None => default_key_home()?,
    };
    let target = std::path::absolute(sh::root().join("target"))?;
    if home.starts_with(&target) {
        bail!(
            "the key home {} is under {}: `cargo clean` would destroy the key hosts trust; \
             give one outside the build tree",
            home.display(),
            target.display()
        );
    }
    if has_key(&home) {
        return Ok(home);
    }
    let legacy = target.join("apt-repo-key");
    if given.is_none() && !home.exists() && has_key(&legacy) {
        sh::step(format!(
            "moving the repository's signing key from {} to {}",
            legacy.display(),
            home.display()
        ));
        fs::create_dir_all(home.parent().context("a key home has a parent")?)?;
        sh::run(tools::command("cp")?.arg("-a").arg(&legacy).arg(&home))?;
        fs::remove_dir_all(&legacy)?;
        return Ok(home);
    }
    fs::create_dir_all(&home)?;
    set_private(&home)?;
    new_key(&home)?;
    Ok(home)
}

/// `$XDG_DATA_HOME/qemu-hello-rs/apt-repo-key`, else `~/.local/share/…`.
fn default_key_home() -> Result<PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").context("neither XDG_DATA_HOME nor HOME is set")?)
            .join(".local/share"),
    };
    Ok(data.join("qemu-hello-rs/apt-repo-key"))
}

fn has_key(home: &Path) -> bool {
    home.join("pubring.kbx").is_file() && fingerprints(home).is_ok_and(|f| !f.is_empty())
}

/// Generates a signing key into `home`, beside any there.
fn new_key(home: &Path) -> Result<()> {
    sh::step(format!("generating a signing key in {}", home.display()));
    // The creation time (in ns) in the user ID keeps two keys of one home apart by name.
    let uid = format!(
        "qemu-hello-rs archive (generated by cargo xtask repo, {})",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    );
    sh::run(
        tools::command("gpg")?
            .env("GNUPGHOME", home)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(["--quick-generate-key", &uid])
            .args(["ed25519", "sign", "never"]),
    )
}

/// Removes key `fpr` from `home`; refused when it is not there or is the last one.
fn retire_key(home: &Path, fpr: &str) -> Result<()> {
    let keys = fingerprints(home)?;
    if !keys.iter().any(|k| k.eq_ignore_ascii_case(fpr)) {
        bail!("no key {fpr} in {} (it holds {})", home.display(), keys.join(", "));
    }
    if keys.len() == 1 {
        bail!("{fpr} is the only key in {}: add one with --new-key first", home.display());
    }
    sh::step(format!("retiring key {fpr} from {}", home.display()));
    sh::run(tools::command("gpg")?.env("GNUPGHOME", home).args([
        "--batch",
        "--yes",
        "--delete-secret-and-public-key",
        fpr,
    ]))
}

fn set_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// The fingerprints of the secret keys in `home` (primary keys), oldest first.
pub fn fingerprints(home: &Path) -> Result<Vec<String>> {
    let out = sh::output(tools::command("gpg")?.env("GNUPGHOME", home).args([
        "--batch",
        "--with-colons",
        "--list-secret-keys",
    ]))?;
    // Each `sec` line is followed by its own `fpr` line.
    let mut keys = Vec::new();
    let mut after_sec = false;
    for l in out.lines() {
        if l.starts_with("sec:") {
            after_sec = true;
        } else if let Some(rest) = l.strip_prefix("fpr:").filter(|_| after_sec) {
            keys.push(rest.trim_matches(':').to_string());
            after_sec = false;
        }
    }
    if keys.is_empty() {
        bail!("no secret key in the key home {}", home.display());
    }
    Ok(keys)
}
