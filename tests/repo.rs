// SPDX-License-Identifier: GPL-2.0-or-later
//! The signed apt repository `cargo xtask repo` writes, used as a host uses it.
//!
//! First without touching the host (apt with its own lists, cache and sources in a
//! temporary directory): `apt-get update` verifies the signature and offers the package;
//! a tampered `Packages` file, a tampered `InRelease` and a repository signed by a key
//! the entry does not name are each refused, and nothing of them is offered. Then as an
//! administrator: the repository's one `signed-by` sources entry goes into
//! `/etc/apt/sources.list.d/`, `apt-get install qemu-hello-rs-<release>` installs it from
//! there with its dependencies, and the emulator runs. Then an upgrade under a running
//! domain of the system libvirt (`upgrade_under_a_running_domain`): a rebuild with a
//! higher version (`QEMU_HELLO_DEB_UPGRADE`) published to the same repository,
//! `apt-get upgrade`, a restart onto the new binary, and `apt-get remove` under the
//! running domain. Afterwards the package, the entry and the repository's lists are
//! removed, and the host's sources are as they were.
//!
//! `two_releases_side_by_side` (run by `cargo xtask test --all-versions`, with the
//! packages of the default release and of 7.2 in `QEMU_HELLO_DEBS`): one repository holds
//! both, apt offers each at its version, both install together by name, each emulator
//! runs as its release and answers `hello-world`, and the host is left as it was.
//!
//! Needs root, the `.deb` of `cargo xtask package` in `QEMU_HELLO_DEB` and the xtask
//! binary in `QEMU_HELLO_XTASK`; `cargo xtask test` (default release) runs it after
//! tests/package.rs.

#[path = "common/client.rs"]
mod client;

use client::HelloWorld;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harness::libvirt::{Domain, Libvirt, SystemDaemons};
use harness::repo::stdout_of;

fn env_path(name: &str) -> PathBuf {
    let p = std::env::var_os(name).map(PathBuf::from).unwrap_or_else(|| {
        panic!("{name} is not set (cargo xtask test sets it for this test, after building the package)")
    });
    assert!(p.exists(), "{name}={} does not exist", p.display());
    p
}

fn field(deb: &Path, name: &str) -> String {
    stdout_of(tools::cmd("dpkg-deb").arg("--field").arg(deb).arg(name)).trim().to_string()
}

/// apt with its own sources, lists and cache under `dir`: nothing of the host's is read
/// or changed.
struct IsolatedApt {
    dir: tempfile::TempDir,
}

impl IsolatedApt {
    fn new(sources: &str) -> IsolatedApt {
        let dir = tempfile::tempdir().unwrap();
        for d in ["parts", "lists/partial", "cache/archives/partial"] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        fs::write(dir.path().join("parts/repo.sources"), sources).unwrap();
        IsolatedApt { dir }
    }

    fn cmd(&self, program: &str) -> Command {
        let d = self.dir.path().display();
        let mut c = tools::cmd(program);
        c.args(["-o", "Dir::Etc::SourceList=/dev/null"])
            .args(["-o", &format!("Dir::Etc::SourceParts={d}/parts")])
            .args(["-o", &format!("Dir::State::Lists={d}/lists")])
            .args(["-o", &format!("Dir::Cache={d}/cache")])
            .args(["-o", "Debug::NoLocking=1"]);
        c
    }

    fn update(&self) -> Output {
        self.cmd("apt-get").args(["update", "-q"]).output().expect("apt-get runs")
    }

    /// The candidate version apt offers for `package`, if any.
    fn candidate(&self, package: &str) -> Option<String> {
        let out = self.cmd("apt-cache").args(["policy", package]).output().expect("apt-cache runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.trim().strip_prefix("Candidate: "))
            .filter(|v| *v != "(none)")
            .map(str::to_string)
    }
}

fn all_output(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A copy of the repository at `repo` in `dest`, with `edit` applied; its sources entry.
fn tampered(repo: &Path, dest: &Path, edit: impl FnOnce(&Path)) -> String {
    stdout_of(tools::cmd("cp").arg("-a").arg(repo).arg(dest));
    edit(dest);
    fs::read_to_string(repo.join("qemu-hello-rs.sources"))
        .unwrap()
        .replace(&repo.display().to_string(), &dest.display().to_string())
}

/// What the test adds to the host, removed on drop (also when it fails).
struct HostEntry {
    sources: PathBuf,
    packages: Vec<String>,
    lists_prefix: String,
    /// A sources directory holding only this entry: apt with it fetches nothing else.
    only_ours: tempfile::TempDir,
}

impl HostEntry {
    /// Adds the repository's one sources entry to `/etc/apt/sources.list.d/` and fetches
    /// that entry's lists only (no network; the host's other lists are kept).
    fn add(repo: &Path, sources: &str, packages: &[String]) -> HostEntry {
        let entry = HostEntry {
            sources: PathBuf::from("/etc/apt/sources.list.d/qemu-hello-rs-test.sources"),
            packages: packages.to_vec(),
            // apt names a list file after its URI, '/' as '_'.
            lists_prefix: format!("{}_", repo.display().to_string().replace('/', "_")),
            only_ours: tempfile::tempdir().unwrap(),
        };
        let _ = tools::cmd("apt-get").args(["purge", "-y", "-q"]).args(packages).output();
        fs::write(&entry.sources, sources).unwrap();
        fs::write(entry.only_ours.path().join("ours.sources"), sources).unwrap();
        let out = tools::cmd("apt-get")
            .args([
                "update",
                "-q",
                "-o",
                "APT::Get::List-Cleanup=false",
                "-o",
                "Dir::Etc::SourceList=/dev/null",
            ])
            .args(["-o", &format!("Dir::Etc::SourceParts={}", entry.only_ours.path().display())])
            .output()
            .unwrap();
        assert!(out.status.success(), "apt-get update:\n{}", all_output(&out));
        entry
    }

    /// `apt-get install` of the packages by name, as an administrator does; the time it took.
    fn install(&self) -> std::time::Duration {
        let start = std::time::Instant::now();
        let out = tools::cmd("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&self.packages)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "apt-get install {:?} from the repository:\n{}",
            self.packages,
            all_output(&out)
        );
        start.elapsed()
    }
}

/// Whether `/var/lib/apt/lists` holds a list whose name starts with `prefix`.
fn has_lists(prefix: &str) -> bool {
    fs::read_dir("/var/lib/apt/lists")
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
}

impl Drop for HostEntry {
    fn drop(&mut self) {
        let _ = tools::cmd("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["purge", "-y", "-q"])
            .args(&self.packages)
            .output();
        let _ = fs::remove_file(&self.sources);
        if let Ok(entries) = fs::read_dir("/var/lib/apt/lists") {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&self.lists_prefix) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
}

/// `apt-get ARGS` as root, non-interactive, seeing only the repository's sources entry
/// (in `only_ours`): nothing else on the host is upgraded or fetched.
fn apt_get_ours(only_ours: &Path, args: &[&str]) -> Output {
    tools::cmd("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["-q", "-o", "Dir::Etc::SourceList=/dev/null"])
        .args(["-o", &format!("Dir::Etc::SourceParts={}", only_ours.display())])
        .args(["-o", "APT::Get::List-Cleanup=false"])
        .args(args)
        .output()
        .expect("apt-get runs")
}

/// The installed version of `package`.
fn installed_version(package: &str) -> String {
    stdout_of(tools::cmd("dpkg-query").args(["-W", "-f", "${Version}", package]))
}

/// `virsh destroy` and `virsh start` of `dom`, checked to run `emulator`'s installed file
/// (`/proc/<pid>/exe` names it and has its inode); the new process's pid.
fn restart_on_installed(lv: &Libvirt, dom: &Domain, emulator: &Path, which: &str) -> String {
    let out = lv.virsh(&["destroy", &dom.name]).unwrap();
    assert!(out.status.success(), "virsh destroy: {}", all_output(&out));
    dom.start().unwrap();
    let pid = pid_of(dom);
    harness::libvirt::runs_file(&pid, emulator)
        .unwrap_or_else(|e| panic!("the restarted domain does not run the installed ({which}) file: {e}"));
    pid
}

fn pid_of(dom: &Domain) -> String {
    fs::read_to_string(format!("/run/libvirt/qemu/{}.pid", dom.name))
        .expect("libvirt's pid file")
        .trim()
        .to_string()
}

/// `hello-world` through `virsh qemu-monitor-command`: it answers `{}`.
fn hello(dom: &Domain, message: &str) {
    let cmd = format!(r#"{{"execute":"hello-world","arguments":{{"message":"{message}"}}}}"#);
    let out = dom.monitor(&["--return-value"], &cmd).expect("virsh runs");
    assert!(
        out.status.success() && all_output(&out).trim() == "{}",
        "hello-world ({message}): {}",
        all_output(&out)
    );
}

/// The installed package (from the repository) runs a domain under the system libvirt; a
/// rebuild with a higher version is published to the same repository, and `apt-get
/// upgrade` replaces the emulator while the domain runs. The domain keeps running its
/// old binary (deleted on disk) and answering; `virsh destroy` + `virsh start` runs the
/// new one (the same inode as the installed file). `apt-get remove` while it runs leaves
/// it running; a new start then fails at once with libvirt's error naming the emulator.
fn upgrade_under_a_running_domain(
    xtask: &Path,
    repo: &Path,
    keys: &Path,
    deb: &Path,
    package: &str,
    emulator: &Path,
    only_ours: &Path,
) {
    let upgrade = env_path("QEMU_HELLO_DEB_UPGRADE");
    assert_eq!(field(&upgrade, "Package"), package);
    let (old_version, new_version) = (field(deb, "Version"), field(&upgrade, "Version"));
    let newer = tools::cmd("dpkg").args(["--compare-versions", &new_version, "gt", &old_version]).status();
    assert!(newer.unwrap().success(), "{new_version} is not newer than {old_version}");

    let _daemons = SystemDaemons::ensure().unwrap_or_else(|e| panic!("the system libvirt: {e}"));
    let lv = Libvirt::connect("qemu:///system").unwrap();
    let dom = Domain::define(&lv, "qemu-hello-rs-upgrade", emulator).unwrap();
    dom.start().unwrap();
    let old_pid = pid_of(&dom);
    hello(&dom, "before the upgrade");

    // Only the rebuild is published: the pool keeps the first version (for the rollback).
    stdout_of(tools::built(xtask).arg("repo").arg(repo).arg("--key-home").arg(keys).arg(&upgrade));
    let out = apt_get_ours(only_ours, &["update"]);
    assert!(
        out.status.success(),
        "apt-get update:
{}",
        all_output(&out)
    );
    let start = std::time::Instant::now();
    let out = apt_get_ours(only_ours, &["upgrade", "-y"]);
    assert!(
        out.status.success(),
        "apt-get upgrade:
{}",
        all_output(&out)
    );
    eprintln!(
        "apt-get upgrade to {new_version} under a running domain: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(installed_version(package), new_version, "apt-get upgrade did not install the new version");

    // The domain runs on, on its old binary (replaced on disk), and answers.
    assert_eq!(dom.state(), "running");
    let exe = harness::libvirt::exe_of(&old_pid);
    assert!(exe.ends_with(&format!("{} (deleted)", emulator.display())), "the running emulator: {exe}");
    hello(&dom, "after the upgrade, on the old binary");

    // A new start runs the new binary.
    let new_pid = restart_on_installed(&lv, &dom, emulator, "the new");
    assert_ne!(new_pid, old_pid);
    hello(&dom, "on the new binary");

    // Rolled back while the domain runs (the pool kept the first version); a restart then
    // runs the first version's binary.
    let pinned = format!("{package}={old_version}");
    let start = std::time::Instant::now();
    let out = apt_get_ours(only_ours, &["install", "-y", "--allow-downgrades", &pinned]);
    assert!(out.status.success(), "apt-get install {pinned}:\n{}", all_output(&out));
    eprintln!(
        "apt-get install {pinned} (a rollback) under a running domain: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(installed_version(package), old_version, "the rollback did not install the first version");
    assert_eq!(dom.state(), "running");
    hello(&dom, "after the rollback, on the rebuild's binary");
    restart_on_installed(&lv, &dom, emulator, "the first version's");
    hello(&dom, "on the first version's binary again");

    // Removed while the domain runs: it keeps running; a new start is refused at once.
    let out = apt_get_ours(only_ours, &["remove", "-y", package]);
    assert!(
        out.status.success(),
        "apt-get remove:
{}",
        all_output(&out)
    );
    assert!(!emulator.exists(), "{} is left after apt-get remove", emulator.display());
    assert_eq!(dom.state(), "running");
    hello(&dom, "after apt-get remove");
    let out = lv.virsh(&["destroy", &dom.name]).unwrap();
    assert!(out.status.success(), "virsh destroy: {}", all_output(&out));
    let virsh = lv.virsh_command(&["start", &dom.name]);
    let start = std::time::Instant::now();
    let out = tools::cmd("timeout")
        .arg("60")
        .arg(virsh.get_program())
        .args(virsh.get_args())
        .output()
        .expect("timeout runs virsh");
    let took = start.elapsed();
    let text = all_output(&out);
    assert_ne!(out.status.code(), Some(124), "virsh start of a removed emulator hung for 60 s");
    assert!(
        !out.status.success(),
        "a domain started with its emulator removed:
{text}"
    );
    assert!(
        text.contains(&emulator.display().to_string()) && text.contains("No such file or directory"),
        "libvirt's error does not name the missing emulator:
{text}"
    );
    eprintln!(
        "virsh start with the emulator removed: refused in {:.1} s: {}",
        took.as_secs_f64(),
        text.trim()
    );
}

/// `apt-get update` in isolation (nothing of the host's read or changed) of the
/// repository entry `sources` with the keyring `keyring` in place of its own.
fn update_trusting(sources: &str, repo: &Path, keyring: &Path) -> Output {
    let entry = sources.replace(
        &repo.join("qemu-hello-rs-archive-keyring.gpg").display().to_string(),
        &keyring.display().to_string(),
    );
    IsolatedApt::new(&entry).update()
}

/// A key rotation, as the README's "Rotating the signing key" does it: a host that trusts
/// only the old key keeps updating through the overlap (`--new-key`: both keys sign),
/// takes the new keyring, and keeps updating after `--retire-key`; a host that never took
/// the new keyring is then refused, which is what the overlap is for.
#[test]
#[ignore = "needs a built package; cargo xtask test runs it for the default release"]
fn a_signing_key_rotates_without_a_refused_update() {
    let deb = env_path("QEMU_HELLO_DEB");
    let xtask = env_path("QEMU_HELLO_XTASK");
    let tmp = tempfile::tempdir().unwrap();
    let (repo, keys) = (tmp.path().join("repo"), tmp.path().join("keys"));
    let publish = |extra: &[&str]| {
        let printed = stdout_of(
            tools::built(&xtask).arg("repo").arg(&repo).arg("--key-home").arg(&keys).args(extra).arg(&deb),
        );
        fs::read_to_string(printed.lines().last().expect("repo prints the sources entry")).unwrap()
    };
    let keyring = |name: &str| {
        let copy = tmp.path().join(name);
        fs::copy(repo.join("qemu-hello-rs-archive-keyring.gpg"), &copy).unwrap();
        copy
    };
    let fingerprints = || {
        let out = stdout_of(tools::cmd("gpg").env("GNUPGHOME", &keys).args([
            "--batch",
            "--with-colons",
            "--list-secret-keys",
        ]));
        out.lines()
            .filter_map(|l| l.strip_prefix("fpr:").map(|f| f.trim_matches(':').to_string()))
            .collect::<Vec<_>>()
    };
    let ok = |out: Output, what: &str| assert!(out.status.success(), "{what}:\n{}", all_output(&out));

    let sources = publish(&[]);
    let old_only = keyring("old.gpg");
    let old = fingerprints();
    assert_eq!(old.len(), 1, "{old:?}");
    ok(update_trusting(&sources, &repo, &old_only), "a host trusting the key");

    // The overlap: both keys sign, the keyring holds both.
    let sources = publish(&["--new-key"]);
    let both = fingerprints();
    assert_eq!(both.len(), 2, "{both:?}");
    ok(update_trusting(&sources, &repo, &old_only), "during the overlap, a host trusting only the old key");
    let both_keys = keyring("both.gpg");
    ok(update_trusting(&sources, &repo, &both_keys), "during the overlap, a host with the new keyring");

    // The old key retired: only the new one signs.
    let sources = publish(&["--retire-key", &old[0]]);
    let new = fingerprints();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_ne!(new[0], old[0]);
    ok(update_trusting(&sources, &repo, &both_keys), "after the rotation, a host that took the new keyring");
    let out = update_trusting(&sources, &repo, &old_only);
    let text = all_output(&out);
    assert!(
        !out.status.success() && text.contains("NO_PUBKEY"),
        "a host trusting only the retired key accepted:\n{text}"
    );

    // Neither the last key nor one the home lacks can be retired.
    let out = tools::built(&xtask)
        .arg("repo")
        .arg(&repo)
        .arg("--key-home")
        .arg(&keys)
        .args(["--retire-key", &new[0]])
        .arg(&deb)
        .output()
        .unwrap();
    assert!(!out.status.success() && all_output(&out).contains("is the only key"), "{}", all_output(&out));
    // A key home under the build tree is refused: `cargo clean` would destroy it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tools::built(&xtask)
        .arg("repo")
        .arg(&repo)
        .arg("--key-home")
        .arg(root.join("target/keys-here"))
        .arg(&deb)
        .output()
        .unwrap();
    assert!(
        !out.status.success() && all_output(&out).contains("`cargo clean` would destroy"),
        "{}",
        all_output(&out)
    );
    assert!(!root.join("target/keys-here").exists());
}

fn sources_dir_listing() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir("/etc/apt/sources.list.d")
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
#[ignore = "needs root and a built package; cargo xtask test runs it for the default release"]
fn a_signed_repository_installs_and_refuses_tampering() {
    let deb = env_path("QEMU_HELLO_DEB");
    let xtask = env_path("QEMU_HELLO_XTASK");
    let (package, version) = (field(&deb, "Package"), field(&deb, "Version"));
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    let start = std::time::Instant::now();
    let keys = tmp.path().join("keys");
    let printed =
        stdout_of(tools::built(&xtask).arg("repo").arg(&repo).arg("--key-home").arg(&keys).arg(&deb));
    eprintln!("repository built in {:.1} s", start.elapsed().as_secs_f64());
    let sources_file = PathBuf::from(printed.lines().last().expect("repo prints the sources entry"));
    let sources = fs::read_to_string(&sources_file).unwrap();
    assert!(sources.contains("Signed-By: ") && sources.contains("URIs: file:"), "{sources}");

    // The signature verifies, and apt offers exactly the package's version.
    let apt = IsolatedApt::new(&sources);
    let out = apt.update();
    assert!(out.status.success(), "apt-get update of the repository failed:\n{}", all_output(&out));
    assert_eq!(apt.candidate(&package), Some(version.clone()), "the version apt offers");

    // A Packages file changed after signing: its hash no longer matches the signed Release.
    let bad = tampered(&repo, &tmp.path().join("bad-packages"), |r| {
        let p = r.join("dists/stable/main/binary-amd64/Packages");
        let text = fs::read_to_string(&p).unwrap().replace(&format!("Version: {version}"), "Version: 99.0");
        fs::write(&p, text).unwrap();
        stdout_of(tools::cmd("gzip").arg("-9nkf").arg(&p));
    });
    let apt = IsolatedApt::new(&bad);
    let out = apt.update();
    let text = all_output(&out);
    assert!(
        !out.status.success() && text.contains("Hash Sum mismatch"),
        "a tampered Packages accepted:\n{text}"
    );
    assert_eq!(apt.candidate(&package), None, "the tampered repository's package is offered");

    // The signed file itself changed: the signature is bad.
    let bad = tampered(&repo, &tmp.path().join("bad-release"), |r| {
        let p = r.join("dists/stable/InRelease");
        let text = fs::read_to_string(&p).unwrap().replace("Label: qemu-hello-rs", "Label: someone-else");
        fs::write(&p, text).unwrap();
    });
    let apt = IsolatedApt::new(&bad);
    let out = apt.update();
    let text = all_output(&out);
    assert!(!out.status.success() && text.contains("BADSIG"), "a tampered InRelease accepted:\n{text}");
    assert_eq!(apt.candidate(&package), None);

    // Signed by a key the entry does not name.
    let other_home = tmp.path().join("other-gnupg");
    fs::create_dir(&other_home).unwrap();
    let gpg = |args: &[&str]| {
        stdout_of(
            tools::cmd("gpg")
                .env("GNUPGHOME", &other_home)
                .args(["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""])
                .args(args),
        )
    };
    gpg(&["--quick-generate-key", "someone else", "ed25519", "sign", "never"]);
    let other = tmp.path().join("other.gpg");
    gpg(&["--export", "--output", other.to_str().unwrap()]);
    let apt = IsolatedApt::new(&sources.replace(
        &repo.join("qemu-hello-rs-archive-keyring.gpg").display().to_string(),
        &other.display().to_string(),
    ));
    let out = apt.update();
    let text = all_output(&out);
    assert!(
        !out.status.success() && text.contains("NO_PUBKEY"),
        "a repository signed by another key accepted:\n{text}"
    );
    assert_eq!(apt.candidate(&package), None);

    // As an administrator: one sources entry, then apt-get install by name.
    let before = sources_dir_listing();
    let entry = HostEntry::add(&repo, &sources, std::slice::from_ref(&package));
    let took = entry.install();
    eprintln!("installed from the repository in {:.1} s", took.as_secs_f64());
    let installed = stdout_of(tools::cmd("dpkg-query").args(["-W", "-f", "${Version}", &package]));
    assert_eq!(installed, version);
    let policy = stdout_of(tools::cmd("apt-cache").args(["policy", &package]));
    assert!(policy.contains(&format!("file:{} stable/main", repo.display())), "{policy}");
    let emulator = installed_emulator(&package);

    upgrade_under_a_running_domain(&xtask, &repo, &keys, &deb, &package, &emulator, entry.only_ours.path());
    remove_and_check(entry, &before);
}

/// The installed package's emulator, checked to run and be its release.
fn installed_emulator(package: &str) -> PathBuf {
    let release = package.trim_start_matches("qemu-hello-rs-");
    let emulator = PathBuf::from(format!("/usr/lib/qemu-hello-rs/{release}/bin/qemu-system-x86_64"));
    let v = stdout_of(tools::built(&emulator).arg("--version"));
    assert!(v.starts_with(&format!("QEMU emulator version {release}")), "{v}");
    emulator
}

/// Removes what `entry` added, and checks the host is as it was: its sources entries
/// (`before`), no list of the repository, none of the packages installed.
fn remove_and_check(entry: HostEntry, before: &[String]) {
    let (packages, prefix) = (entry.packages.clone(), entry.lists_prefix.clone());
    assert!(has_lists(&prefix), "no list of the repository in /var/lib/apt/lists (prefix {prefix})");
    drop(entry);
    assert_eq!(sources_dir_listing(), before, "the host's sources entries are not as they were");
    assert!(!has_lists(&prefix), "the repository's lists are left in /var/lib/apt/lists");
    for package in &packages {
        let left = tools::cmd("dpkg-query").args(["-W", package]).output().unwrap();
        assert!(
            !left.status.success() || String::from_utf8_lossy(&left.stdout).trim().ends_with('\t'),
            "{package} is still installed"
        );
    }
}

#[test]
#[ignore = "needs root and packages of two releases; cargo xtask test --all-versions runs it"]
fn two_releases_side_by_side() {
    let debs: Vec<PathBuf> = std::env::var("QEMU_HELLO_DEBS")
        .expect("QEMU_HELLO_DEBS names the packages of two releases, ':' between them (cargo xtask test --all-versions sets it)")
        .split(':')
        .map(PathBuf::from)
        .collect();
    assert!(debs.len() >= 2 && debs.iter().all(|d| d.is_file()), "QEMU_HELLO_DEBS: {debs:?}");
    let xtask = env_path("QEMU_HELLO_XTASK");
    let packages: Vec<String> = debs.iter().map(|d| field(d, "Package")).collect();
    let mut distinct = packages.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), debs.len(), "not one package per release: {packages:?}");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    let start = std::time::Instant::now();
    let keys = tmp.path().join("keys");
    let printed =
        stdout_of(tools::built(&xtask).arg("repo").arg(&repo).arg("--key-home").arg(&keys).args(&debs));
    eprintln!("repository of {} releases built in {:.1} s", debs.len(), start.elapsed().as_secs_f64());
    let sources = fs::read_to_string(printed.lines().last().expect("repo prints the sources entry")).unwrap();

    // apt offers each release's package at its version.
    let apt = IsolatedApt::new(&sources);
    let out = apt.update();
    assert!(out.status.success(), "apt-get update:\n{}", all_output(&out));
    for (deb, package) in debs.iter().zip(&packages) {
        assert_eq!(
            apt.candidate(package),
            Some(field(deb, "Version")),
            "the version apt offers for {package}"
        );
    }

    // Installed together, by name, each runs as its own release.
    let before = sources_dir_listing();
    let entry = HostEntry::add(&repo, &sources, &packages);
    let took = entry.install();
    eprintln!("{} installed side by side in {:.1} s", packages.join(" and "), took.as_secs_f64());
    let emulators: Vec<PathBuf> = packages.iter().map(|p| installed_emulator(p)).collect();
    for (package, emulator) in packages.iter().zip(&emulators) {
        let vm = harness::Qemu::start(emulator, &harness::Options::default()).expect("the emulator starts");
        let mut qmp = vm.qmp().expect("handshake");
        let reply = qmp.execute(&HelloWorld::with(package.as_str())).expect("hello-world");
        assert_eq!(reply, serde_json::json!({}), "{package}");
        assert_eq!(vm.stdout(), format!("{package}\n"), "{package}");
    }
    remove_and_check(entry, &before);
}
