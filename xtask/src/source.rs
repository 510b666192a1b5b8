// SPDX-License-Identifier: GPL-2.0-or-later
//! Getting QEMU's source. By default, Debian's complete source package of the release:
//! the `.dsc` (its sha256 pinned in `versions.rs`), the orig tarball and Debian's changes,
//! fetched through a private apt configuration (the system's stays untouched), verified
//! and unpacked with `dpkg-source -x`, so `debian/patches/series` applies exactly as
//! Debian applies it (7.2: QEMU's stable releases 7.2.1 to 7.2.22 and Debian's fixes).
//! `--qemu-tarball FILE` and `--qemu-src DIR` give an upstream tree instead: the orig
//! tarball alone, or a directory.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::sh;
use crate::versions::Version;

/// Where a QEMU tree comes from.
#[derive(Clone, Copy, Debug)]
pub enum Origin<'a> {
    /// Debian's complete source package of the release (the default).
    Debian,
    /// The upstream release: the pinned orig tarball, this file or the cached one.
    Upstream(Option<&'a Path>),
    /// A directory the user gives (`--qemu-src`), taken as it is.
    Dir(&'a Path),
}

impl Origin<'_> {
    /// The release the tree's `VERSION` file names.
    pub fn release(&self, v: &Version) -> &'static str {
        match self {
            Origin::Debian => v.release,
            Origin::Upstream(_) | Origin::Dir(_) => v.upstream_release,
        }
    }

    /// What identifies the tree, for the stamps that say whether a copy is current.
    pub fn stamp(&self, v: &Version) -> Result<String> {
        Ok(match self {
            Origin::Debian => format!("debian {} sha256 {}", v.dsc, v.dsc_sha256),
            Origin::Upstream(_) => format!("tarball sha256 {}", v.sha256),
            Origin::Dir(dir) => format!("dir {}", dir.canonicalize()?.display()),
        })
    }

    /// Unpacks the tree into `dest`, which must not exist yet.
    pub fn unpack(&self, v: &Version, dest: &Path) -> Result<()> {
        match self {
            Origin::Debian => unpack_debian(v, dest),
            Origin::Upstream(given) => {
                let tarball = tarball(v, *given)?;
                fs::create_dir_all(dest)?;
                sh::run(
                    tools::command("tar")?
                        .arg("xf")
                        .arg(&tarball)
                        .args(["--no-same-owner", "--strip-components=1", "-C"])
                        .arg(dest),
                )
            }
            Origin::Dir(dir) => {
                fs::create_dir_all(dest)?;
                sh::run(tools::command("cp")?.arg("-a").arg(dir.join(".")).arg(dest))
            }
        }
    }
}

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

/// apt's options for a private list of Debian's source suites (the ones the pinned
/// releases come from), its index brought up to date.
pub fn source_apt() -> Result<Vec<String>> {
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
    sh::run(tools::command("apt-get")?.args(&opts).args(["-q", "update"]))?;
    Ok(opts)
}

/// Runs `apt-get source --download-only qemu=<version>` in `dir` (`what`: more
/// options, such as `--dsc-only`), through [`source_apt`].
pub fn apt_source(version: &str, dir: &Path, what: &[&str]) -> Result<std::process::ExitStatus> {
    let opts = source_apt()?;
    fs::create_dir_all(dir)?;
    Ok(tools::command("apt-get")?
        .args(&opts)
        .args(["-q", "source", "--download-only"])
        .args(what)
        .arg(format!("qemu={version}"))
        .current_dir(dir)
        .stdout(std::io::stderr())
        .status()?)
}

/// Fetches the orig tarball of `v` alone into `dest`.
fn download(v: &Version, dest: &Path) -> Result<()> {
    sh::step(format!(
        "fetching QEMU {}'s orig tarball ({}, {} bytes) from Debian's source package",
        v.name, v.debian, v.size
    ));
    let work = tempfile::Builder::new().prefix("qemu-src-").tempdir_in(cache_dir())?;
    // A failed exit is judged by whether the tarball arrived (and then by its sha256).
    let status = apt_source(v.debian, work.path(), &[])?;
    let got = work.path().join(v.tarball);
    if !got.is_file() {
        bail!("apt-get source qemu={} ({status}) did not fetch {}", v.debian, v.tarball);
    }
    fs::rename(&got, dest)?;
    Ok(())
}

/// The verified files of Debian's source package of `v` (the `.dsc`, the orig tarball,
/// `.debian.tar.xz`) in `$cache/debian/<source version>/`; fetched when missing or when
/// they fail the check. Returns the `.dsc`'s path.
pub fn debian_source(v: &Version) -> Result<PathBuf> {
    let dir = cache_dir().join("debian").join(v.dsc.trim_end_matches(".dsc"));
    let dsc = dir.join(v.dsc);
    if dsc.is_file() {
        match verify_debian(v, &dir) {
            Ok(()) => return Ok(dsc),
            Err(e) => {
                sh::step(format!("{e:#}; fetching the source package again"));
                fs::remove_dir_all(&dir)?;
            }
        }
    }
    fs::create_dir_all(&dir)?;
    // The orig tarball, when cached, is linked in: apt skips a file it finds with the
    // right checksum.
    let orig = cache_dir().join(v.tarball);
    if orig.is_file() && verify(&orig, v).is_ok() {
        fs::hard_link(&orig, dir.join(v.tarball))
            .or_else(|_| fs::copy(&orig, dir.join(v.tarball)).map(drop))?;
    }
    sh::step(format!("fetching Debian's source package qemu {} ({})", v.debian, v.dsc));
    let started = std::time::Instant::now();
    let status = apt_source(v.debian, &dir, &[])?;
    verify_debian(v, &dir).with_context(|| format!("apt-get source qemu={} ({status})", v.debian))?;
    sh::step(format!(
        "fetched and verified {} and the tarballs it names in {:.1} s",
        v.dsc,
        started.elapsed().as_secs_f64()
    ));
    Ok(dsc)
}

/// The `.dsc` in `dir` has the pinned sha256, and every file its `Checksums-Sha256`
/// lists is there with that size and sha256 (the orig tarball among them, as pinned).
pub fn verify_debian(v: &Version, dir: &Path) -> Result<()> {
    let dsc = dir.join(v.dsc);
    let got = sha256(&dsc)?;
    if got != v.dsc_sha256 {
        bail!(
            "{} has sha256 {got}, but QEMU {} is pinned to {}: refusing it",
            dsc.display(),
            v.name,
            v.dsc_sha256
        );
    }
    let files = dsc_files(&fs::read_to_string(&dsc)?)?;
    if !files.iter().any(|(sum, _, name)| name == v.tarball && sum == v.sha256) {
        bail!("{} does not name the pinned orig tarball {} ({})", v.dsc, v.tarball, v.sha256);
    }
    for (sum, size, name) in &files {
        let path = dir.join(name);
        let len =
            fs::metadata(&path).with_context(|| format!("{} names {name}, which is missing", v.dsc))?.len();
        if len != *size || sha256(&path)? != *sum {
            bail!("{name} is not the file {} names (size {size}, sha256 {sum})", v.dsc);
        }
    }
    Ok(())
}

/// The `Checksums-Sha256` field of a `.dsc`: (sha256, size, file name) per line.
pub fn dsc_files(dsc: &str) -> Result<Vec<(String, u64, String)>> {
    let mut files = Vec::new();
    let mut inside = false;
    for line in dsc.lines() {
        if line.starts_with("Checksums-Sha256:") {
            inside = true;
        } else if inside && line.starts_with(' ') {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [sum, size, name] = f[..] else { bail!("a malformed Checksums-Sha256 line: {line:?}") };
            files.push((sum.to_string(), size.parse()?, name.to_string()));
        } else {
            inside = false;
        }
    }
    if files.is_empty() {
        bail!("the .dsc has no Checksums-Sha256 field");
    }
    Ok(files)
}

/// `dpkg-source -x` of Debian's verified source package of `v` into `dest` (which must
/// not exist): the orig tarball, `debian/`, and every patch of `debian/patches/series`
/// applied as Debian applies them.
fn unpack_debian(v: &Version, dest: &Path) -> Result<()> {
    let dsc = debian_source(v)?;
    sh::run(
        tools::command("dpkg-source")?
            .args(["--no-check", "-x"])
            .arg(&dsc)
            .arg(dest)
            .stdout(std::process::Stdio::null()),
    )
    .with_context(|| format!("dpkg-source -x {}", dsc.display()))
}

/// A git repository (one commit, "pristine") holding the unpacked release `v` from
/// `origin`.
pub fn pristine_git_tree(v: &Version, origin: Origin) -> Result<tempfile::TempDir> {
    let tmp = tempfile::Builder::new().prefix("qemu-pristine-").tempdir()?;
    pristine_git_tree_in(tmp.path(), v, origin)?;
    Ok(tmp)
}

/// [`pristine_git_tree`] in the existing, empty directory `tree`: a copy of a given
/// directory committed there, or a clone of the release's cached pristine repository.
pub fn pristine_git_tree_in(tree: &Path, v: &Version, origin: Origin) -> Result<()> {
    match origin {
        Origin::Dir(dir) => {
            sh::run(tools::command("cp")?.arg("-a").arg(dir.join(".")).arg(tree))?;
            for args in [&["init", "-q"][..], &["add", "-A"], &["commit", "-q", "-m", "pristine"]] {
                git(tree, args)?;
            }
        }
        // A local clone hard-links the objects: seconds, where unpacking and committing
        // QEMU's 10,000 files again took about 45 s per tree.
        _ => sh::run(
            tools::command("git")?.args(["clone", "-q"]).arg(pristine_repository(v, origin)?).arg(tree),
        )?,
    }
    Ok(())
}

/// A bare repository in the cache holding one commit, "pristine": the tree of `v` from
/// `origin` (Debian's, as `dpkg-source -x` leaves it, or the orig tarball's), every file
/// of it (QEMU's `.gitignore` names some the tarball ships, such as `subprojects/*`:
/// they are added all the same, and the count is checked). Made once per source; a
/// half-made one is never seen (it is renamed into place when complete).
fn pristine_repository(v: &Version, origin: Origin) -> Result<PathBuf> {
    let name = match origin {
        Origin::Debian => v.dsc,
        _ => v.tarball,
    };
    let repo = cache_dir().join(format!("{name}.pristine-all.git"));
    if repo.join("HEAD").is_file() {
        return Ok(repo);
    }
    sh::step(format!("committing the tree of {name} into {} (once)", repo.display()));
    fs::create_dir_all(cache_dir())?;
    let scratch = tempfile::Builder::new().prefix(".pristine-").tempdir_in(cache_dir())?;
    let (work, bare) = (scratch.path().join("work"), scratch.path().join("bare.git"));
    origin.unpack(v, &work)?;
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
            "the pristine repository of {name} holds {} files, the tree {unpacked}",
            committed.lines().count()
        );
    }
    // Another driver may have won the race: its repository is the same commit.
    if fs::rename(&bare, &repo).is_err() && !repo.join("HEAD").is_file() {
        bail!("cannot move the pristine repository into {}", repo.display());
    }
    Ok(repo)
}

/// Proves that Debian's tree of `v` is the orig tarball plus every entry of its
/// `debian/patches/series`, in order: `.pc/applied-patches` (dpkg-source's record) lists
/// each entry, and reversing them all, last first, in a copy of Debian's tree leaves
/// exactly the orig tarball's tree (with `debian/` and `.pc/` set aside). Returns the
/// number of entries.
pub fn prove_debian_tree(v: &Version) -> Result<usize> {
    let debian = pristine_git_tree(v, Origin::Debian)?;
    let upstream = pristine_git_tree(v, Origin::Upstream(None))?;
    let tree = debian.path();
    let series: Vec<String> = fs::read_to_string(tree.join("debian/patches/series"))?
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let applied: Vec<String> =
        fs::read_to_string(tree.join(".pc/applied-patches"))?.lines().map(str::to_string).collect();
    let names: Vec<String> =
        series.iter().map(|e| e.split_whitespace().next().unwrap_or_default().to_string()).collect();
    if applied != names {
        bail!("dpkg-source applied {applied:?}, but debian/patches/series lists {names:?}");
    }
    for entry in series.iter().rev() {
        let mut words = entry.split_whitespace();
        let name = words.next().unwrap_or_default();
        // quilt's default strip level is 1; an entry may name another (`-p0`).
        let strip = words.find(|w| w.starts_with("-p")).unwrap_or("-p1");
        sh::run(
            tools::command("patch")?
                .args([strip, "--reverse", "--batch", "--quiet", "--no-backup-if-mismatch", "-d"])
                .arg(tree)
                .arg("-i")
                .arg(tree.join("debian/patches").join(name))
                .stdout(std::process::Stdio::null()),
        )
        .with_context(|| format!("debian/patches/{name} does not reverse out of Debian's tree"))?;
    }
    for dir in ["debian", ".pc"] {
        fs::remove_dir_all(tree.join(dir))?;
    }
    let differ = differences(upstream.path(), tree)?;
    if !differ.is_empty() {
        bail!(
            "Debian's tree of {} with its {} patches reversed is not the orig tarball's tree: \n{}",
            v.debian,
            series.len(),
            differ.join("\n")
        );
    }
    Ok(series.len())
}

/// What a build writes into QEMU's source tree: the bytecode caches Python writes when
/// the build runs QEMU's scripts from the tree, and the lock meson takes while it
/// resolves `subprojects/`.
const BUILD_BY_PRODUCTS: &[&str] = &["__pycache__/", "subprojects/.wraplock"];

/// The paths in which the directory `other` differs from the committed tree of the git
/// repository `repo` (`git status` of `other` against `repo`'s HEAD: modified, deleted,
/// added and ignored files alike), but what a build writes into the tree
/// ([`BUILD_BY_PRODUCTS`]).
pub fn differences(repo: &Path, other: &Path) -> Result<Vec<String>> {
    let status = sh::output(
        tools::command("git")?
            .arg(format!("--git-dir={}", repo.join(".git").display()))
            .arg(format!("--work-tree={}", other.display()))
            .args(["status", "--porcelain", "--untracked-files=all", "--ignored", "--no-renames"]),
    )?;
    Ok(status
        .lines()
        .filter(|l| !BUILD_BY_PRODUCTS.iter().any(|p| l.contains(p)))
        .map(str::to_string)
        .collect())
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
