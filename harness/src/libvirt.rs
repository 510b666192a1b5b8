// SPDX-License-Identifier: GPL-2.0-or-later
//! A private libvirt for tests and demos: `libvirtd` run as the unprivileged user `nobody`
//! in a short temp dir, with its own XDG dirs; nothing under /etc or /var is touched.
//! (A `libvirtd` run as root is always the system daemon.) [`Libvirt`] stops the daemons
//! it started, by pid, on drop; [`Domain`] destroys and undefines its domain on drop.
//!
//! `virsh` talks to it through `qemu+unix:///session?socket=…`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

/// The domain XML shipped in `examples/`, with `<emulator>` to be filled in.
pub const EXAMPLE_DOMAIN: &str = include_str!("../../examples/hello-domain.xml");

/// The example domain's XML with `emulator` as its `<emulator>` and `name` as its name.
pub fn domain_xml(name: &str, emulator: &Path) -> String {
    let mut xml = String::new();
    for line in EXAMPLE_DOMAIN.lines() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        if t.starts_with("<emulator>") {
            xml.push_str(&format!("{indent}<emulator>{}</emulator>\n", emulator.display()));
        } else if t.starts_with("<name>") {
            xml.push_str(&format!("{indent}<name>{name}</name>\n"));
        } else {
            xml.push_str(line);
            xml.push('\n');
        }
    }
    xml
}

/// A private `libvirtd` (and the `virtlogd` it spawns).
pub struct Libvirt {
    /// The private daemon's dir; `None` when connected to someone else's libvirt.
    private: Option<tempfile::TempDir>,
    uri: String,
    log_dir: PathBuf,
    kept: std::cell::Cell<bool>,
    /// How long the daemon took to open its socket.
    pub startup: Duration,
    /// For a host of [`crate::hosts::TwoHosts`]: the network namespace every `virsh` runs in.
    netns: Option<String>,
    /// The daemon's own log file.
    daemon_log: Option<PathBuf>,
}

fn run(cmd: &mut Command) -> std::io::Result<Output> {
    cmd.output()
}

impl Libvirt {
    /// Starts the daemon. Needs root (to run it as `nobody`) and libvirt's packages.
    pub fn start() -> Result<Libvirt, String> {
        if !tools::is_root() {
            return Err("a private libvirtd is started as root and runs as `nobody`; run as root".into());
        }
        // Installed here when missing (tools' table), with the QEMU driver libvirtd loads.
        for tool in ["libvirtd", "virsh", "runuser"] {
            tools::ensure_program(tool).map_err(|e| e.to_string())?;
        }
        tools::ensure(&["libvirt-daemon-driver-qemu"]).map_err(|e| e.to_string())?;
        // Unix socket paths must stay under 108 bytes: keep the dir short, in /tmp.
        let dir = tempfile::Builder::new().prefix("lv").tempdir_in("/tmp").map_err(|e| e.to_string())?;
        let d = dir.path();
        // Everything the daemon or a test writes into is made here, before the daemon
        // starts, and handed to `nobody` with the rest: the QEMU driver's state init
        // (which runs after the socket opens) makes `cache/libvirt/qemu/…` itself and
        // fails, taking the daemon down, when a directory on that path is root's.
        for sub in ["home", "config/libvirt", "cache/libvirt/qemu/log", "run"] {
            fs::create_dir_all(d.join(sub)).map_err(|e| e.to_string())?;
        }
        fs::set_permissions(d.join("run"), fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        let chown =
            run(tools::cmd("chown").args(["-R", "nobody:nogroup"]).arg(d)).map_err(|e| e.to_string())?;
        if !chown.status.success() {
            return Err(format!("chown nobody {}: {}", d.display(), String::from_utf8_lossy(&chown.stderr)));
        }
        let started = Instant::now();
        let out = run(tools::cmd("runuser")
            .args(["-u", "nobody", "--", "env"])
            .arg(format!("HOME={}", d.join("home").display()))
            .arg(format!("XDG_CONFIG_HOME={}", d.join("config").display()))
            .arg(format!("XDG_CACHE_HOME={}", d.join("cache").display()))
            .arg(format!("XDG_RUNTIME_DIR={}", d.join("run").display()))
            .args(["libvirtd", "-d"])
            .current_dir("/"))
        .map_err(|e| format!("cannot start libvirtd: {e}"))?;
        if !out.status.success() {
            return Err(format!("libvirtd -d failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let sock = d.join("run/libvirt/libvirt-sock");
        let mut lv = Libvirt {
            uri: format!("qemu+unix:///session?socket={}", sock.display()),
            log_dir: d.join("cache/libvirt/qemu/log"),
            daemon_log: Some(d.join("cache/libvirt/libvirtd.log")),
            private: Some(dir),
            kept: false.into(),
            startup: Duration::ZERO,
            netns: None,
        };
        let deadline = started + Duration::from_secs(20);
        while !sock.exists() {
            if Instant::now() > deadline {
                return Err(format!("libvirtd did not open {} in 20 s", sock.display()));
            }
            thread::sleep(Duration::from_millis(10));
        }
        lv.startup = started.elapsed();
        // The socket opens before the drivers initialise; a daemon whose state init
        // fails removes it and exits. A connection that answers shows it serves.
        let answer = lv.virsh(&["uri"]).map_err(|e| format!("cannot run virsh: {e}"))?;
        if !answer.status.success() {
            return Err(format!(
                "libvirtd opened {} but does not serve: {}\n--- libvirtd log ---\n{}",
                sock.display(),
                String::from_utf8_lossy(&answer.stderr).trim(),
                lv.daemon_log()
            ));
        }
        Ok(lv)
    }

    /// An existing libvirt at `uri` (empty: virsh's default); nothing is started or stopped.
    pub fn connect(uri: &str) -> Result<Libvirt, String> {
        let out =
            run(tools::cmd("virsh").args(if uri.is_empty() { vec![] } else { vec!["-c", uri] }).arg("uri"))
                .map_err(|e| format!("cannot run virsh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot connect to libvirt: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let uri = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let log_dir = if uri.contains("/system") {
            PathBuf::from("/var/log/libvirt/qemu")
        } else {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .unwrap_or_default();
            cache.join("libvirt/qemu/log")
        };
        Ok(Libvirt {
            private: None,
            uri,
            log_dir,
            kept: false.into(),
            startup: Duration::ZERO,
            netns: None,
            daemon_log: None,
        })
    }

    /// A system-mode `libvirtd` (root) inside the network namespace `netns`, listening on
    /// TCP at `addr` (an address of that namespace only), in a UTS namespace named
    /// `hostname` and a mount namespace of its own in which private directories of `dir`
    /// are bind-mounted over libvirt's system paths (`/etc/libvirt`, `/run/libvirt`,
    /// `/var/lib/libvirt`, `/var/cache/libvirt`, `/var/log/libvirt`), which must exist.
    /// `host_uuid` must differ between hosts that migrate to each other. Every `virsh`
    /// of the result runs inside `netns`: outside it the address is not routed.
    pub fn start_in_netns(
        dir: tempfile::TempDir,
        netns: &str,
        addr: &str,
        hostname: &str,
        host_uuid: &str,
    ) -> Result<Libvirt, String> {
        for tool in ["libvirtd", "virsh", "ip", "unshare", "mount", "hostname"] {
            tools::ensure_program(tool).map_err(|e| e.to_string())?;
        }
        // A system-mode libvirtd looks up its built-in QEMU user (Debian's `libvirt-qemu`)
        // before it reads qemu.conf, and fails without it; the user comes with
        // libvirt-daemon-system (found on a fresh machine: the daemons refused to start).
        tools::ensure(&["libvirt-daemon-system", "libvirt-daemon-driver-qemu"]).map_err(|e| e.to_string())?;
        let d = dir.path();
        for sub in ["etc", "run/libvirt", "lib", "cache", "log/qemu"] {
            fs::create_dir_all(d.join(sub)).map_err(|e| e.to_string())?;
        }
        let write =
            |name: &str, text: String| fs::write(d.join("etc").join(name), text).map_err(|e| e.to_string());
        write(
            "libvirtd.conf",
            format!(
                "listen_tls = 0\nlisten_tcp = 1\nlisten_addr = \"{addr}\"\nauth_tcp = \"none\"\n\
                 auth_unix_rw = \"none\"\nhost_uuid = \"{host_uuid}\"\n\
                 log_outputs = \"3:file:/var/log/libvirt/libvirtd.log\"\n"
            ),
        )?;
        write(
            "qemu.conf",
            format!(
                "user = \"root\"\ngroup = \"root\"\ndynamic_ownership = 0\nsecurity_driver = \"none\"\n\
                 cgroup_controllers = [ ]\nnamespaces = [ ]\nstdio_handler = \"file\"\n\
                 migration_host = \"{addr}\"\nmigration_address = \"{addr}\"\n"
            ),
        )?;
        let mut script = format!("set -e\nhostname {hostname}\n");
        for (sub, target) in [
            ("etc", "/etc/libvirt"),
            ("run/libvirt", "/run/libvirt"),
            ("lib", "/var/lib/libvirt"),
            ("cache", "/var/cache/libvirt"),
            ("log", "/var/log/libvirt"),
        ] {
            script.push_str(&format!("mount --bind '{}' {target}\n", d.join(sub).display()));
        }
        script.push_str(
            "exec libvirtd --listen -d -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid\n",
        );
        let started = Instant::now();
        let out = run(tools::cmd("ip")
            .args([
                "netns",
                "exec",
                netns,
                "unshare",
                "--uts",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
            ])
            .arg(&script)
            .current_dir("/"))
        .map_err(|e| format!("cannot start libvirtd in {netns}: {e}"))?;
        if !out.status.success() {
            return Err(format!("libvirtd in {netns} failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let mut lv = Libvirt {
            uri: format!("qemu+tcp://{addr}/system"),
            log_dir: d.join("log/qemu"),
            daemon_log: Some(d.join("log/libvirtd.log")),
            private: Some(dir),
            kept: false.into(),
            startup: Duration::ZERO,
            netns: Some(netns.to_string()),
        };
        // It serves once a connection answers.
        let deadline = started + Duration::from_secs(20);
        loop {
            let answer = lv.virsh(&["uri"]).map_err(|e| format!("cannot run virsh: {e}"))?;
            if answer.status.success() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "libvirtd in {netns} does not answer at {} after 20 s: {}\n--- libvirtd log ---\n{}",
                    lv.uri,
                    String::from_utf8_lossy(&answer.stderr).trim(),
                    lv.daemon_log()
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
        lv.startup = started.elapsed();
        Ok(lv)
    }

    /// Whether this guard started (and will stop) the daemon.
    pub fn is_private(&self) -> bool {
        self.private.is_some()
    }

    /// Leaves a private daemon (and its directory) running after the guard is gone;
    /// returns the directory.
    pub fn keep(&self) -> Option<&Path> {
        self.kept.set(true);
        self.private.as_ref().map(|d| d.path())
    }

    /// The connection URI for `virsh -c`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Runs `virsh -c URI args…`.
    pub fn virsh(&self, args: &[&str]) -> std::io::Result<Output> {
        run(&mut self.virsh_command(args))
    }

    /// `virsh -c URI args…` (inside the host's network namespace, for a host of
    /// [`crate::hosts::TwoHosts`]), not started (for a listener that runs beside other calls).
    pub fn virsh_command(&self, args: &[&str]) -> Command {
        let mut cmd = match &self.netns {
            Some(ns) => {
                tools::ensure_program("virsh").unwrap_or_else(|e| panic!("{e}"));
                let mut cmd = tools::cmd("ip");
                cmd.args(["netns", "exec", ns, "virsh"]);
                cmd
            }
            None => tools::cmd("virsh"),
        };
        cmd.arg("-c").arg(&self.uri).args(args);
        cmd
    }

    /// The emulator path libvirt (as `nobody`) can execute: `binary` itself if `nobody`
    /// can read it, else a copy in a directory of its own inside the private dir (QEMU
    /// finds Debian's firmware by absolute path either way).
    pub fn reachable_emulator(&self, binary: &Path) -> Result<PathBuf, String> {
        let Some(dir) = self.private.as_ref().filter(|_| self.netns.is_none()) else {
            // Someone else's libvirt, or a host's, whose QEMU runs as root.
            return Ok(binary.to_path_buf());
        };
        // A launcher script (`exec '<emulator>' …`, `QEMU_MODULE_DIR='<dir>'`) is only
        // reachable if what it names is: a checkout under a private home (`/root`) is not.
        let text = fs::read(binary).map_err(|e| format!("read {}: {e}", binary.display()))?;
        let named: Vec<PathBuf> = if text.starts_with(b"#!") {
            String::from_utf8_lossy(&text).split('\'').skip(1).step_by(2).map(PathBuf::from).collect()
        } else {
            Vec::new()
        };
        let named = named.into_iter().filter(|p| p.is_absolute() && p.exists()).collect::<Vec<_>>();
        if nobody_can(binary, "-x") && named.iter().all(|p| nobody_can(p, "-r")) {
            return Ok(binary.to_path_buf());
        }
        // A directory of its own per emulator: a second (a migration's peer) must not
        // overwrite the first under the same name.
        let own = (0..)
            .map(|n| dir.path().join(format!("emulator-{n}")))
            .find(|d| !d.exists())
            .expect("an unused name");
        fs::create_dir(&own).map_err(|e| format!("mkdir {}: {e}", own.display()))?;
        fs::set_permissions(&own, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        let copy = own.join("qemu-system-x86_64");
        if named.is_empty() {
            fs::copy(binary, &copy).map_err(|e| format!("copy {}: {e}", binary.display()))?;
        } else {
            // The launcher again, naming copies of what it names.
            let mut script = String::from_utf8_lossy(&text).into_owned();
            for (i, p) in named.iter().enumerate() {
                let local = own.join(format!("launcher-{i}"));
                copy_tree(p, &local)?;
                script = script.replace(&format!("'{}'", p.display()), &format!("'{}'", local.display()));
            }
            fs::write(&copy, script).map_err(|e| e.to_string())?;
        }
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        Ok(copy)
    }

    /// A path of `file` that the QEMU libvirt starts (as `nobody`) can read: `file`
    /// itself if it can, else a copy in a directory of its own in the private dir (a
    /// guest's kernel in a checkout under a private home).
    pub fn reachable_file(&self, file: &Path) -> Result<PathBuf, String> {
        let Some(dir) = self.private.as_ref().filter(|_| self.netns.is_none()) else {
            return Ok(file.to_path_buf());
        };
        if nobody_can(file, "-r") {
            return Ok(file.to_path_buf());
        }
        let own = dir.path().join("files");
        fs::create_dir_all(&own).map_err(|e| format!("mkdir {}: {e}", own.display()))?;
        fs::set_permissions(&own, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        let name = file.file_name().ok_or_else(|| format!("{} names no file", file.display()))?;
        let copy = own.join(name);
        fs::copy(file, &copy).map_err(|e| format!("copy {}: {e}", file.display()))?;
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o644)).map_err(|e| e.to_string())?;
        Ok(copy)
    }

    /// The domain's log: QEMU's command line, stderr and stdout, through virtlogd.
    pub fn domain_log(&self, name: &str) -> String {
        fs::read_to_string(self.log_path(name)).unwrap_or_default()
    }

    /// Where the daemon's QEMU driver keeps domain logs (for a private daemon, made
    /// before it starts and owned by `nobody`, so a serial `<log file=…>` can go there).
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.log_dir.join(format!("{name}.log"))
    }

    /// A private daemon's own log.
    pub fn daemon_log(&self) -> String {
        let Some(path) = &self.daemon_log else { return String::new() };
        fs::read_to_string(path).unwrap_or_default()
    }

    /// Stops the daemon whose pid `pidfile` holds.
    fn kill_pidfile(pidfile: &Path) {
        if let Ok(pid) = fs::read_to_string(pidfile) {
            let pid = pid.trim().to_string();
            let _ = tools::cmd("kill").arg(&pid).status();
            // Wait up to 5 s for it to go, then insist.
            for _ in 0..100 {
                if !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(&pid) {
                    return;
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = tools::cmd("kill").args(["-9", &pid]).status();
        }
    }
}

/// Copies a file (keeping its mode) or a directory tree, readable by everyone.
/// Whether the user `nobody` (as whom the private libvirt runs QEMU) passes `test
/// <flag> p` (`-r`: can read it, `-x`: can execute it).
fn nobody_can(p: &Path, flag: &str) -> bool {
    tools::cmd("runuser")
        .args(["-u", "nobody", "--", "test", flag])
        .arg(p)
        .status()
        .is_ok_and(|s| s.success())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    if from.is_dir() {
        fs::create_dir_all(to).map_err(|e| e.to_string())?;
        fs::set_permissions(to, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        for e in fs::read_dir(from).map_err(|e| e.to_string())? {
            let e = e.map_err(|e| e.to_string())?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map_err(|e| format!("copy {}: {e}", from.display()))?;
        fs::set_permissions(to, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())
    }
}

fn is_zombie(pid: &str) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
}

impl Drop for Libvirt {
    fn drop(&mut self) {
        let Some(dir) = self.private.take() else { return };
        if self.kept.get() {
            let _ = dir.keep();
            return;
        }
        if thread::panicking() {
            eprintln!("--- libvirtd log ---\n{}", self.daemon_log());
        }
        Libvirt::kill_pidfile(&dir.path().join("run/libvirt/libvirtd.pid"));
        Libvirt::kill_pidfile(&dir.path().join("run/libvirt/virtlogd.pid"));
    }
}

/// A defined (and maybe running) domain, destroyed and undefined on drop unless kept.
pub struct Domain<'a> {
    pub lv: &'a Libvirt,
    pub name: String,
    keep: bool,
}

impl<'a> Domain<'a> {
    /// Defines the example domain with `emulator`.
    pub fn define(lv: &'a Libvirt, name: &str, emulator: &Path) -> Result<Domain<'a>, String> {
        Domain::define_xml(lv, name, &domain_xml(name, emulator))
    }

    /// Defines the domain `name` from `xml` (which names it so).
    pub fn define_xml(lv: &'a Libvirt, name: &str, xml_text: &str) -> Result<Domain<'a>, String> {
        let xml = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        fs::write(xml.path(), xml_text).map_err(|e| e.to_string())?;
        let out = lv.virsh(&["define", &xml.path().display().to_string()]).map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("virsh define: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(Domain { lv, name: name.to_string(), keep: false })
    }

    pub fn start(&self) -> Result<(), String> {
        let out = self.lv.virsh(&["start", &self.name]).map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "virsh start: {}\n--- domain log ---\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.lv.domain_log(&self.name)
            ));
        }
        Ok(())
    }

    /// `virsh qemu-monitor-command DOM [flags…] CMD`.
    pub fn monitor(&self, flags: &[&str], cmd: &str) -> std::io::Result<Output> {
        let mut args = vec!["qemu-monitor-command", self.name.as_str()];
        args.extend_from_slice(flags);
        args.push(cmd);
        self.lv.virsh(&args)
    }

    /// Leaves the domain defined and running when dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    pub fn state(&self) -> String {
        self.lv
            .virsh(&["domstate", &self.name])
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }
}

impl Drop for Domain<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- domain log ({}) ---\n{}", self.name, self.lv.domain_log(&self.name));
        }
        if self.keep {
            return;
        }
        let _ = self.lv.virsh(&["destroy", &self.name]);
        let _ = self.lv.virsh(&["undefine", &self.name]);
    }
}

/// The system libvirt (`qemu:///system`): the distribution's daemons with their own
/// configuration, as root. [`SystemDaemons::ensure`] starts `virtlogd` and `libvirtd`
/// when none run and stops what it started on drop (pids from `/run/*.pid`); daemons
/// that were already running are left alone.
pub struct SystemDaemons {
    started: Vec<&'static str>,
}

impl SystemDaemons {
    pub fn ensure() -> Result<SystemDaemons, String> {
        // The system daemons' configuration and user come with libvirt-daemon-system.
        tools::ensure(&["libvirt-daemon-system", "libvirt-daemon-driver-qemu"]).map_err(|e| e.to_string())?;
        for tool in ["libvirtd", "virtlogd", "virsh"] {
            tools::ensure_program(tool).map_err(|e| e.to_string())?;
        }
        let mut started = Vec::new();
        for daemon in ["virtlogd", "libvirtd"] {
            // Root's, and alive: a private daemon runs as `nobody`, and a daemon an
            // earlier guard stopped may linger as a zombie until init reaps it.
            let running = tools::cmd("pgrep").args(["-u", "0", "-x", daemon]).output().is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).split_whitespace().any(|pid| !is_zombie(pid))
            });
            if running {
                continue;
            }
            let out = run(tools::cmd(daemon).arg("-d")).map_err(|e| format!("cannot start {daemon}: {e}"))?;
            if !out.status.success() {
                return Err(format!("{daemon} -d: {}", String::from_utf8_lossy(&out.stderr)));
            }
            started.push(daemon);
        }
        let daemons = SystemDaemons { started };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = run(tools::cmd("virsh").args(["-c", "qemu:///system", "uri"]))
                .is_ok_and(|o| o.status.success());
            if ok {
                return Ok(daemons);
            }
            if Instant::now() > deadline {
                return Err("the system libvirtd did not answer on qemu:///system within 30 s".into());
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether this guard started (and will stop) any daemon.
    pub fn started(&self) -> &[&'static str] {
        &self.started
    }
}

impl Drop for SystemDaemons {
    fn drop(&mut self) {
        // libvirtd first: it holds virtlogd's connection. Run as root, each writes
        // /run/<daemon>.pid.
        for daemon in self.started.iter().rev() {
            Libvirt::kill_pidfile(&PathBuf::from(format!("/run/{daemon}.pid")));
        }
    }
}

/// The lines of a domain log's last run (after libvirt's "starting up" header) that
/// report a problem: an error, a failure or a warning, whatever wrote it.
pub fn problem_lines(log: &str) -> Vec<String> {
    let run = log.rsplit_once("starting up").map_or(log, |(_, r)| r);
    run.lines()
        .skip(1)
        .filter(|l| {
            let l = l.to_lowercase();
            l.contains("error") || l.contains("failed") || l.contains("warning")
        })
        .map(String::from)
        .collect()
}

/// What process `pid` runs, as `/proc/<pid>/exe` names it. QEMU under libvirt runs in a
/// mount namespace of its own; seen by a reader whose root is not that namespace's root
/// (a chroot, as `cargo xtask fresh` runs in), the kernel names the file from the
/// namespace's root, so the path the reader knows is a suffix of this one.
pub fn exe_of(pid: &str) -> String {
    let link = format!("/proc/{pid}/exe");
    fs::read_link(&link).unwrap_or_else(|e| panic!("{link}: {e}")).to_string_lossy().into_owned()
}

/// Whether process `pid` runs `file` itself: its executable is named `file` (see
/// [`exe_of`]) and is the same file (device and inode), not another copy of it.
pub fn runs_file(pid: &str, file: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let named = exe_of(pid);
    if !named.ends_with(&file.display().to_string()) {
        return Err(format!("process {pid} runs {named}, not {}", file.display()));
    }
    let running = fs::metadata(format!("/proc/{pid}/exe")).map_err(|e| format!("/proc/{pid}/exe: {e}"))?;
    let installed = fs::metadata(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if (running.dev(), running.ino()) != (installed.dev(), installed.ino()) {
        return Err(format!("process {pid} runs a file named {named} that is not {} itself", file.display()));
    }
    Ok(())
}
