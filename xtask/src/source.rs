// SPDX-License-Identifier: GPL-2.0-or-later
//! Getting QEMU's source: a tarball the user gives, a cached download, or Debian's source
//! package fetched through a private apt configuration (the system's stays untouched).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::sh;
use crate::versions::Version;

/// Where downloads are kept between builds and clones: `$XDG_CACHE_HOME/qemu-hello-rs`.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| sh::root().join("target"));
    base.join("qemu-hello-rs")
}

pub fn sha256(path: &Path) -> Result<String> {
    let mut f = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// `--qemu-src`: an existing directory holding a QEMU source tree.
pub fn parse_source_dir(s: &str) -> Result<PathBuf> {
    let p = PathBuf::from(s);
    if !fs::metadata(&p)?.is_dir() {
        bail!("not a directory");
    }
    if !p.join("VERSION").is_file() {
        bail!("not a QEMU source tree (no VERSION file in it)");
    }
    Ok(p)
}

/// `--qemu-tarball`: an existing, readable file (its checksum is checked against the
/// chosen version when the build starts, every time).
pub fn parse_file(s: &str) -> Result<PathBuf> {
    let p = PathBuf::from(s);
    if !fs::metadata(&p)?.is_file() {
        bail!("not a file");
    }
    fs::File::open(&p)?;
    Ok(p)
}

/// Refuses a `--qemu-tarball` that is not `v`'s pinned tarball, naming the option.
pub fn check_given_tarball(given: &Path, v: &Version) -> Result<()> {
    verify(given, v).map_err(|e| anyhow::anyhow!("--qemu-tarball {e}"))
}

fn verify(path: &Path, v: &Version) -> Result<()> {
    let got = sha256(path)?;
    if got != v.sha256 {
        bail!(
            "{} has sha256 {got}, but QEMU {} is pinned to {}: refusing it",
            path.display(),
            v.name,
            v.sha256
        );
    }
    Ok(())
}

/// The verified orig tarball for `v`: `given`, else the cache, else a fresh download.
pub fn tarball(v: &Version, given: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        verify(p, v)?;
        return Ok(p.to_path_buf());
    }
    let cached = cache_dir().join(v.tarball);
    if cached.is_file() {
        match verify(&cached, v) {
            Ok(()) => return Ok(cached),
            Err(e) => {
                sh::step(format!("{e}; fetching it again"));
                fs::remove_file(&cached)?;
            }
        }
    }
    download(v, &cached)?;
    verify(&cached, v)?;
    Ok(cached)
}

/// The Debian mirror this machine's apt uses.
pub fn debian_mirror() -> Result<String> {
    let deb822 = fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    let from_deb822 = deb822
        .lines()
        .filter_map(|l| l.strip_prefix("URIs:"))
        .flat_map(str::split_whitespace)
        .find(|u| !u.contains("security"));
    if let Some(u) = from_deb822 {
        return Ok(u.to_string());
    }
    let legacy = fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    legacy
        .lines()
        .filter(|l| l.starts_with("deb "))
        .flat_map(|l| l.split_whitespace().find(|w| w.contains("://")))
        .find(|u| !u.contains("security"))
        .map(String::from)
        .context("found no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list")
}

/// The options that point apt at a private source list and state dir under `dir`.
pub fn private_apt_options(dir: &Path) -> Vec<String> {
    vec![
        "-o".into(),
        format!("Dir::Etc::SourceList={}", dir.join("sources.list").display()),
        "-o".into(),
        "Dir::Etc::SourceParts=-".into(),
        // The download lands under target/, which apt's unprivileged `_apt` cannot write.
        "-o".into(),
        "APT::Sandbox::User=root".into(),
        "-o".into(),
        format!("Dir::State::Lists={}", dir.join("lists").display()),
        // A mirror that serves a snapshot has suites past their Release file's
        // Valid-Until (sid's is a week); what we take from it is checked against the
        // pinned sha256 anyway.
        "-o".into(),
        "Acquire::Check-Valid-Until=false".into(),
    ]
}

fn download(v: &Version, dest: &Path) -> Result<()> {
    let apt = cache_dir().join("apt-src");
    fs::create_dir_all(apt.join("lists/partial"))?;
    let mirror = debian_mirror()?;
    let list: String = ["bookworm", "bookworm-backports", "trixie", "sid"]
        .iter()
        .map(|s| {
            format!("deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} {s} main\n")
        })
        .collect();
    fs::write(apt.join("sources.list"), list)?;
    let opts = private_apt_options(&apt);
    sh::step(format!(
        "fetching QEMU {} ({}, {} bytes) from Debian's source package",
        v.name, v.debian, v.size
    ));
    sh::run(tools::command("apt-get")?.args(&opts).args(["-q", "update"]))?;
    let work = tempfile::Builder::new().prefix("qemu-src-").tempdir_in(cache_dir())?;
    // The .dsc and Debian's patches may be refused by the mirror; only the orig tarball
    // matters, so a failed exit is judged by whether it arrived.
    let status = tools::command("apt-get")?
        .args(&opts)
        .args(["-q", "source", "--download-only"])
        .arg(format!("qemu={}", v.debian))
        .current_dir(work.path())
        .stdout(std::io::stderr())
        .status()?;
    let got = work.path().join(v.tarball);
    if !got.is_file() {
        bail!("apt-get source qemu={} ({status}) did not fetch {}", v.debian, v.tarball);
    }
    fs::rename(&got, dest)?;
    Ok(())
}

/// A git repository (one commit, "pristine") holding the unpacked release `v`: from
/// `src_dir` when given, else from the verified tarball (`given` or the cache).
pub fn pristine_git_tree(
    v: &Version,
    src_dir: Option<&Path>,
    given: Option<&Path>,
) -> Result<tempfile::TempDir> {
    let tmp = tempfile::Builder::new().prefix("qemu-pristine-").tempdir()?;
    pristine_git_tree_in(tmp.path(), v, src_dir, given)?;
    Ok(tmp)
}

/// [`pristine_git_tree`] in the existing, empty directory `tree`: a copy of `src_dir`
/// committed there, or a clone of the release's cached pristine repository.
pub fn pristine_git_tree_in(
    tree: &Path,
    v: &Version,
    src_dir: Option<&Path>,
    given: Option<&Path>,
) -> Result<()> {
    match src_dir {
        Some(dir) => {
            sh::run(tools::command("cp")?.arg("-a").arg(dir.join(".")).arg(tree))?;
            for args in [&["init", "-q"][..], &["add", "-A"], &["commit", "-q", "-m", "pristine"]] {
                git(tree, args)?;
            }
        }
        // A local clone hard-links the objects: seconds, where unpacking and committing
        // QEMU's 10,000 files again took about 45 s per tree.
        None => sh::run(
            tools::command("git")?.args(["clone", "-q"]).arg(pristine_repository(v, given)?).arg(tree),
        )?,
    }
    Ok(())
}

/// A bare repository beside the cached tarball holding one commit, "pristine": the
/// verified tarball of `v` unpacked, every file of it (QEMU's `.gitignore` names some
/// the tarball ships, such as `subprojects/*`: they are added all the same, and the
/// count is checked). Made once per tarball; a half-made one is never seen (it is
/// renamed into place when complete).
fn pristine_repository(v: &Version, given: Option<&Path>) -> Result<PathBuf> {
    let tarball = tarball(v, given)?;
    let repo = cache_dir().join(format!("{}.pristine-all.git", v.tarball));
    if repo.join("HEAD").is_file() {
        return Ok(repo);
    }
    sh::step(format!("committing {} into {} (once)", v.tarball, repo.display()));
    fs::create_dir_all(cache_dir())?;
    let scratch = tempfile::Builder::new().prefix(".pristine-").tempdir_in(cache_dir())?;
    let (work, bare) = (scratch.path().join("work"), scratch.path().join("bare.git"));
    fs::create_dir(&work)?;
    sh::run(
        tools::command("tar")?
            .arg("xf")
            .arg(&tarball)
            .args(["--no-same-owner", "--strip-components=1", "-C"])
            .arg(&work),
    )?;
    git(scratch.path(), &["init", "-q", "--bare", "bare.git"])?;
    let with_work = |args: &[&str]| {
        let mut all = vec!["--git-dir=bare.git", "--work-tree=work"];
        all.extend_from_slice(args);
        git(scratch.path(), &all)
    };
    // --force: files the tree's own .gitignore names are QEMU's all the same.
    with_work(&["add", "-A", "--force"])?;
    with_work(&["commit", "-q", "-m", "pristine"])?;
    let committed = sh::output(tools::command("git")?.current_dir(scratch.path()).args([
        "--git-dir=bare.git",
        "ls-tree",
        "-r",
        "--name-only",
        "HEAD",
    ]))?;
    let unpacked = count_files(&work)?;
    if committed.lines().count() != unpacked {
        bail!(
            "the pristine repository of {} holds {} files, the tarball {unpacked}",
            v.tarball,
            committed.lines().count()
        );
    }
    // Another driver may have won the race: its repository is the same commit.
    if fs::rename(&bare, &repo).is_err() && !repo.join("HEAD").is_file() {
        bail!("cannot move the pristine repository into {}", repo.display());
    }
    Ok(repo)
}

/// The files (and symbolic links) under `dir`, as git tracks them: directories are not
/// counted.
fn count_files(dir: &Path) -> Result<usize> {
    let mut n = 0;
    for e in fs::read_dir(dir)? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            n += count_files(&e.path())?;
        } else {
            n += 1;
        }
    }
    Ok(n)
}

/// Runs git in `tree` with a fixed identity, its output on stderr.
pub fn git(tree: &Path, args: &[&str]) -> Result<()> {
    sh::run(
        tools::command("git")?
            .arg("-C")
            .arg(tree)
            .args(["-c", "user.name=qemu-hello-rs", "-c", "user.email=ci@qemu-hello-rs.invalid"])
            .args(args)
            .stdout(std::process::Stdio::null()),
    )
}
