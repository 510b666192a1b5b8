// SPDX-License-Identifier: GPL-2.0-or-later
//! The Debian package on a host, as an administrator uses it: `apt-get install ./….deb`
//! (apt resolves the dependencies), the **system** libvirt (the distribution's daemons
//! and configuration, as root; started if none run, stopped afterwards) runs a domain
//! whose `<emulator>` is the installed path, QEMU runs as `libvirt-qemu`, hello-world
//! answers in the four `virsh qemu-monitor-command` forms and its lines reach
//! `/var/log/libvirt/qemu/<domain>.log` (which has no error line); the AppArmor
//! snippets compile into libvirt's profiles; then the package is purged and nothing of
//! it is left.
//!
//! The guest agent's package (`QEMU_HELLO_AGENT_DEB`) is checked the same way on this
//! host, which stands in for a guest: its files, its relation to Debian's
//! `qemu-guest-agent`, `apt-get install`, the installed `/usr/sbin/qemu-ga` answering the
//! agent crate's commands (on a unix socket: the host has no agent channel), and purge.
//!
//! Needs root and the `.deb`s from `cargo xtask package`, named in `QEMU_HELLO_DEB` and
//! `QEMU_HELLO_AGENT_DEB`; `cargo xtask test` (default release) builds them and runs
//! these tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use harness::libvirt::{Domain, Libvirt, SystemDaemons};
use serde_json::{Value, json};

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn deb() -> PathBuf {
    deb_from("QEMU_HELLO_DEB")
}

fn deb_from(var: &str) -> PathBuf {
    let deb = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "{var} is not set: it names a .deb that `cargo xtask package` builds \
             (`cargo xtask test` builds it and runs this test)"
        )
    });
    assert!(deb.is_file(), "{var}={} does not exist", deb.display());
    deb.canonicalize().unwrap()
}

/// One test at a time installs with apt (dpkg's lock is the machine's).
static APT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The package, installed with apt and purged on drop (also when the test fails).
struct Installed {
    name: String,
}

impl Installed {
    fn new(deb: &Path) -> Installed {
        let name =
            text(&run(tools::cmd("dpkg-deb").arg("--field").arg(deb).arg("Package"))).trim().to_string();
        // A leftover of an interrupted run would make this one prove nothing.
        let _ = tools::cmd("apt-get").args(["purge", "-y", "-q", &name]).output();
        run(tools::cmd("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .arg(deb));
        Installed { name }
    }

    fn files(&self) -> Vec<PathBuf> {
        text(&run(tools::cmd("dpkg-query").args(["-L", &self.name]))).lines().map(PathBuf::from).collect()
    }

    fn purge(&self) {
        run(tools::cmd("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["purge", "-y", "-q", &self.name]));
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = tools::cmd("apt-get").args(["purge", "-y", "-q", &self.name]).output();
        }
    }
}

/// The package's own files stay under its prefix and its doc dir, and every one of them
/// belongs to it alone (Debian's QEMU, if installed, is not touched).
fn check_layout(pkg: &Installed, prefix: &Path) {
    let doc = Path::new("/usr/share/doc").join(&pkg.name);
    let files = pkg.files();
    for f in &files {
        let ours = f.starts_with(prefix) || f.starts_with(&doc);
        let parent = prefix.starts_with(f) || doc.starts_with(f);
        assert!(
            ours || parent,
            "{} installs {} outside {} and {}",
            pkg.name,
            f.display(),
            prefix.display(),
            doc.display()
        );
        if ours && f.is_file() {
            let owners = text(&run(tools::cmd("dpkg-query").arg("-S").arg(f)));
            assert_eq!(owners.trim(), format!("{}: {}", pkg.name, f.display()), "shared file");
        }
    }
    for f in ["bin/qemu-system-x86_64", "share/qemu/keymaps/en-us", "share/qemu/trace-events-all"] {
        assert!(prefix.join(f).is_file(), "{} lacks {f}", pkg.name);
    }
    assert!(doc.join("copyright").is_file() && doc.join("changelog.gz").is_file());
}

/// The AppArmor snippets, included as the README says, compile into the libvirt
/// profiles (in a copy of /etc/apparmor.d; nothing is loaded: this machine's kernel has
/// no AppArmor, so confinement itself cannot be tried here).
fn check_apparmor(prefix: &Path) {
    let copy = tempfile::tempdir().unwrap();
    run(tools::cmd("cp").arg("-a").arg("/etc/apparmor.d/.").arg(copy.path()));
    let snippets = prefix.join("share/apparmor");
    for (local, snippet) in [
        ("local/usr.sbin.libvirtd", "usr.sbin.libvirtd"),
        ("local/abstractions/libvirt-qemu", "libvirt-qemu"),
        ("local/usr.lib.libvirt.virt-aa-helper", "usr.lib.libvirt.virt-aa-helper"),
    ] {
        let snippet = snippets.join(snippet);
        let body = fs::read_to_string(&snippet).unwrap_or_else(|e| panic!("{}: {e}", snippet.display()));
        assert!(body.contains(&prefix.join("bin/qemu-system-x86_64").display().to_string()), "{body}");
        let local = copy.path().join(local);
        let mut text = fs::read_to_string(&local).unwrap_or_default();
        text.push_str(&format!("include if exists \"{}\"\n", snippet.display()));
        fs::write(&local, text).unwrap();
    }
    for profile in ["usr.sbin.libvirtd", "usr.lib.libvirt.virt-aa-helper", "libvirt/TEMPLATE.qemu"] {
        run(tools::cmd("apparmor_parser")
            .args(["--skip-kernel-load", "--skip-cache", "--base"])
            .arg(copy.path())
            .arg(copy.path().join(profile)));
    }
}

fn monitor_json(dom: &Domain, flags: &[&str], cmd: &str) -> Value {
    let out = dom.monitor(flags, cmd).unwrap();
    assert!(out.status.success(), "virsh qemu-monitor-command {flags:?} {cmd}: {out:?}");
    serde_json::from_str(text(&out).trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", text(&out)))
}

#[test]
#[ignore = "run by `cargo xtask test`: installs QEMU_HELLO_DEB with apt and uses the system libvirt (root)"]
fn the_package_installs_runs_under_the_system_libvirt_and_leaves_nothing() {
    let _apt = APT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let deb = deb();
    let pkg = Installed::new(&deb);
    let emulator = pkg
        .files()
        .into_iter()
        .find(|f| f.ends_with("bin/qemu-system-x86_64"))
        .expect("the package installs bin/qemu-system-x86_64");
    let prefix = emulator.parent().and_then(Path::parent).unwrap().to_path_buf();
    check_layout(&pkg, &prefix);
    check_apparmor(&prefix);

    {
        let daemons = SystemDaemons::ensure().unwrap_or_else(|e| panic!("the system libvirt: {e}"));
        eprintln!("started for this test: {:?}", daemons.started());
        let lv = Libvirt::connect("qemu:///system").unwrap();
        let dom = Domain::define(&lv, "qemu-hello-rs-package", &emulator).unwrap();
        let log = lv.log_path(&dom.name);
        let _ = fs::remove_file(&log);
        dom.start().unwrap();

        // QEMU runs from the installed path as libvirt-qemu.
        let pid =
            fs::read_to_string(format!("/run/libvirt/qemu/{}.pid", dom.name)).expect("libvirt's pid file");
        let pid = pid.trim();
        harness::libvirt::runs_file(pid, &emulator).unwrap();
        let user = text(&run(tools::cmd("ps").args(["-o", "user=", "-p", pid])));
        assert_eq!(user.trim(), "libvirt-qemu", "QEMU's user");

        // The four forms.
        let plain =
            monitor_json(&dom, &[], r#"{"execute":"hello-world","arguments":{"message":"installed: json"}}"#);
        assert_eq!(plain["return"], json!({}));
        let pretty = dom
            .monitor(
                &["--pretty"],
                r#"{"execute":"hello-world","arguments":{"message":"installed: pretty"}}"#,
            )
            .unwrap();
        assert!(text(&pretty).contains("\n  \"return\": {"), "--pretty: {:?}", text(&pretty));
        let value = dom.monitor(&["--return-value"], r#"{"execute":"hello-world"}"#).unwrap();
        assert!(value.status.success());
        assert_eq!(text(&value).trim(), "{}");
        let hmp = dom.monitor(&["--hmp"], "hello-world installed: hmp").unwrap();
        assert!(hmp.status.success());
        assert_eq!(text(&hmp).trim(), "");

        let expected = ["installed: json", "installed: pretty", "Hello, world", "installed: hmp"];
        let lines = harness::wait_for_lines(&log, Duration::from_secs(10), |l| {
            expected.iter().all(|e| l.iter().any(|x| x == e))
        });
        for e in expected {
            assert!(lines.iter().any(|l| l == e), "{e:?} not in {}:\n{}", log.display(), lines.join("\n"));
        }
        // A clean start: no error or warning from QEMU (before, Debian's repacked source
        // left out kvmvapic.bin and every start said `Failed to open file "kvmvapic.bin"`).
        let problems = harness::libvirt::problem_lines(&lines.join("\n"));
        assert!(problems.is_empty(), "the domain log reports problems: {problems:?}\n{}", lines.join("\n"));
        drop(dom);
        // The domain is gone; so goes libvirt's log of it.
        let _ = fs::remove_file(&log);
    }

    pkg.purge();
    let status = tools::cmd("dpkg-query").args(["-W", "-f=${db:Status-Status}", &pkg.name]).output().unwrap();
    let state = text(&status);
    assert!(state.trim().is_empty() || state.trim() == "not-installed", "{} still {state:?}", pkg.name);
    assert!(!prefix.exists(), "{} is left after purge", prefix.display());
    let doc = Path::new("/usr/share/doc").join(&pkg.name);
    assert!(!doc.exists(), "{} is left after purge", doc.display());
}

/// The guest agent's package: what it holds, that it takes the place of Debian's
/// `qemu-guest-agent`, and the installed agent answering the agent crate's commands.
#[test]
#[ignore = "run by `cargo xtask test`: installs QEMU_HELLO_AGENT_DEB with apt (root)"]
fn the_guest_agent_package_installs_answers_and_leaves_nothing() {
    use harness::agent::LocalAgent;
    use harness::commands::{GuestHelloPanicJson, GuestHelloWorldJson};
    let _apt = APT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());

    let deb = deb_from("QEMU_HELLO_AGENT_DEB");
    let field =
        |name: &str| text(&run(tools::cmd("dpkg-deb").arg("--field").arg(&deb).arg(name))).trim().to_string();
    for relation in ["Conflicts", "Replaces", "Provides"] {
        assert_eq!(field(relation), "qemu-guest-agent", "{relation}");
    }
    // Its files: the agent, how systemd starts it, its manual and its doc dir; nothing else.
    let name = field("Package");
    let listing = text(&run(tools::cmd("dpkg-deb").arg("--contents").arg(&deb)));
    let mut files: Vec<&str> =
        listing.lines().filter(|l| l.starts_with('-')).filter_map(|l| l.split_whitespace().nth(5)).collect();
    files.sort_unstable();
    let doc = format!("./usr/share/doc/{name}");
    let changelog = format!("{doc}/changelog.gz");
    let copyright = format!("{doc}/copyright");
    let mut expected = vec![
        "./lib/systemd/system/qemu-guest-agent.service",
        "./lib/udev/rules.d/60-qemu-guest-agent.rules",
        "./usr/sbin/qemu-ga",
        "./usr/share/man/man8/qemu-ga.8.gz",
        &changelog,
        &copyright,
    ];
    expected.sort_unstable();
    assert_eq!(files, expected, "{listing}");
    assert!(
        !tools::cmd("dpkg-query")
            .args(["-W", "-f=${db:Status-Status}", "qemu-guest-agent"])
            .output()
            .is_ok_and(|o| text(&o).trim() == "installed"),
        "Debian's qemu-guest-agent is installed on this host: installing {name} would remove it"
    );

    let pkg = Installed::new(&deb);
    let agent = Path::new("/usr/sbin/qemu-ga");
    assert!(pkg.files().iter().any(|f| f == agent), "{name} does not install {}", agent.display());
    // Its defaults are the system's paths (a guest has no emulator prefix).
    let defaults = text(&run(tools::built(agent).arg("-D")));
    for line in ["pidfile=/var/run/qemu-ga.pid", "statedir=/var/run"] {
        assert!(defaults.lines().any(|l| l == line), "qemu-ga -D lacks {line}:\n{defaults}");
    }
    let unit = fs::read_to_string("/lib/systemd/system/qemu-guest-agent.service").unwrap();
    assert!(unit.lines().any(|l| l == "ExecStart=-/usr/sbin/qemu-ga"), "{unit}");
    {
        let mut ga = LocalAgent::start(agent).expect("the installed qemu-ga starts on a unix socket");
        let hello = GuestHelloWorldJson(json!({"message": "installed in a guest"}));
        assert_eq!(ga.agent.execute(&hello).unwrap(), json!({}));
        assert!(ga.log().contains(": message: installed in a guest"), "{}", ga.log());
        match ga.agent.execute(&GuestHelloPanicJson::default()) {
            Err(qapi::ExecuteError::Qapi(e)) => {
                assert!(e.desc.starts_with("command 'guest-hello-panic' panicked at "), "{}", e.desc)
            }
            other => panic!("guest-hello-panic: {other:?}"),
        }
        assert_eq!(ga.agent.execute(&GuestHelloWorldJson::default()).unwrap(), json!({}));
        assert!(ga.is_running());
    }

    pkg.purge();
    for f in [agent, Path::new("/lib/systemd/system/qemu-guest-agent.service"), Path::new(&doc[1..])] {
        assert!(!f.exists(), "{} is left after purge", f.display());
    }
}
