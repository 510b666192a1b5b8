// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask package [--qemu VERSION]`: the patched QEMU as a Debian package for the
//! hosts that run it.
//!
//! The emulator is configured again with the prefix `/usr/lib/qemu-hello-rs/<version>`
//! (ccache makes that a relink, mostly), linked with the staticlib of the ordinary
//! build, and installed into a staging dir; the package `qemu-hello-rs-<version>` holds
//! the stripped emulator, its data (keymaps, trace events) and the AppArmor snippets of
//! `packaging/apparmor/`, with Debian's tools doing the Debian parts: `dpkg-shlibdeps`
//! for the libraries it links, `dpkg-deb` to build, `lintian` to check. Firmware comes
//! from Debian's packages (seabios, ipxe-qemu, and qemu-system-data for QEMU's own option
//! ROMs that Debian's repacked source lacks), found by the configured firmware path.
//!
//! The guest agent built in the same tree, with the agent crate's library, ships as a
//! package of its own, `qemu-hello-rs-guest-agent` (installed in guests, not on hosts):
//! `/usr/sbin/qemu-ga` with the systemd unit, udev rule and maintainer scripts of
//! `packaging/agent/`, in place of Debian's `qemu-guest-agent`, which it replaces.
//!
//! The `.deb`s are written to `target/debian/`; the emulator's path is the last line on
//! stdout, the agent's the line before.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::qemu::{self, Flavor, PACKAGE_PREFIX};
use crate::{BuildArgs, deps, sh};

/// Debian's tools for building and checking a package.
pub const TOOLS: &[&str] = &["dpkg-dev", "lintian", "binutils"];

/// What the package needs besides the libraries dpkg-shlibdeps finds.
const FIRMWARE: &str = "seabios, ipxe-qemu, qemu-system-data";

const MAINTAINER: &str = "qemu-hello-rs developers <dev@qemu-hello-rs.invalid>";

#[derive(clap::Args, Debug)]
pub struct PackageArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// A rebuild of the same source for an upgrade: the version gets `+bN` (Debian's
    /// binary-rebuild suffix), which apt takes as newer.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rebuild: u32,
}

/// The package's version: the crate's, the QEMU release, and `+bN` for a rebuild.
pub fn version(release: &str, rebuild: u32) -> String {
    let base = format!("{}+qemu{release}", env!("CARGO_PKG_VERSION"));
    if rebuild == 0 { base } else { format!("{base}+b{rebuild}") }
}

/// The packages one build makes: the emulator's, and the guest agent's when the command
/// crate has agent commands.
pub struct Debs {
    pub emulator: PathBuf,
    pub agent: Option<PathBuf>,
}

impl Debs {
    /// Every `.deb`, the emulator's first.
    pub fn all(&self) -> Vec<PathBuf> {
        std::iter::once(self.emulator.clone()).chain(self.agent.clone()).collect()
    }
}

/// The guest agent's package name: one per guest, whatever the release (the version
/// says which).
pub const AGENT_PACKAGE: &str = "qemu-hello-rs-guest-agent";

pub fn package(args: &BuildArgs, rebuild: u32) -> Result<Debs> {
    deps::ensure(TOOLS)?;
    let built = qemu::build_flavor(args, Flavor::Package)?;
    let l = &built.layout;
    let v = l.version;
    let name = format!("qemu-hello-rs-{}", v.name);
    let version = &version(&built.release, rebuild);
    // What the tree is: Debian's source package of the release, or an upstream tree.
    let origin = match &built.debian {
        Some(debian) => format!("QEMU {} from Debian's source package qemu {debian}", built.release),
        None => format!("QEMU {} (an upstream tree)", built.release),
    };
    let stage = l.stage();
    let prefix = l.install();
    let commit = LastCommit::read();

    // The guest agent leaves the emulator's stage for a package of its own.
    let agent_stage = l.dir.join("stage-agent");
    if agent_stage.exists() {
        fs::remove_dir_all(&agent_stage)?;
    }
    let agent_binary = l.agent_binary();
    let agent = match &built.agent {
        Some(_) => {
            let sbin = agent_stage.join("usr/sbin");
            fs::create_dir_all(&sbin)?;
            fs::rename(&agent_binary, sbin.join("qemu-ga"))?;
            Some(agent_package(l, &agent_stage, version, &origin, &commit)?)
        }
        None => {
            if agent_binary.exists() {
                fs::remove_file(&agent_binary)?;
            }
            None
        }
    };

    // The agent's state directory (`/var/run`, which is /run on a Debian system): made by
    // the system, not by a package.
    let var = stage.join("var");
    if var.exists() {
        anyhow::ensure!(
            sh::output(tools::command("find")?.arg(&var).args(["-not", "-type", "d"]))?.trim().is_empty(),
            "meson installed files under {}",
            var.display()
        );
        fs::remove_dir_all(&var)?;
    }

    sh::step(format!("assembling {name} {version} in {}", stage.display()));
    // Only the emulator and its data: no desktop entry, icons or plugin header for an
    // emulator that libvirt starts.
    for extra in ["share/applications", "share/icons", "include"] {
        let p = prefix.join(extra);
        if p.exists() {
            fs::remove_dir_all(&p)?;
        }
    }
    let binary = prefix.join("bin/qemu-system-x86_64");
    strip(&binary)?;
    let apparmor = prefix.join("share/apparmor");
    fs::create_dir_all(&apparmor)?;
    let installed_prefix = l.prefix();
    for snippet in fs::read_dir(sh::root().join("packaging/apparmor"))? {
        let snippet = snippet?.path();
        let text = fs::read_to_string(&snippet)?
            .replace("@PREFIX@", &installed_prefix.display().to_string())
            .replace("@VERSION@", v.name);
        fs::write(apparmor.join(snippet.file_name().context("snippet name")?), text)?;
    }
    let depends = format!("{}, {FIRMWARE}", shlibs(&name, &binary)?);
    let control = control(&name, version, &origin, v.name, &depends, &stage, &l.src)?;
    let emulator = build_deb(&stage, &name, version, &origin, &control, &commit)?;
    Ok(Debs { emulator, agent })
}

/// `strip` as Debian's tools strip a binary.
fn strip(binary: &Path) -> Result<()> {
    sh::run(tools::command("strip")?.args(["--strip-unneeded", "--remove-section=.comment"]).arg(binary))
}

/// The guest agent's package, from `stage` holding `usr/sbin/qemu-ga`.
fn agent_package(
    l: &qemu::Layout,
    stage: &Path,
    version: &str,
    origin: &str,
    commit: &LastCommit,
) -> Result<PathBuf> {
    let name = AGENT_PACKAGE;
    sh::step(format!("assembling {name} {version} in {}", stage.display()));
    let binary = stage.join("usr/sbin/qemu-ga");
    strip(&binary)?;
    let files = sh::root().join("packaging/agent");
    let commands = harness::declared::definitions_in(&sh::crate_dir().join("agent"), &l.src)
        .into_iter()
        .filter(|d| d.meta == "command")
        .map(|d| d.name)
        .collect::<Vec<_>>();
    anyhow::ensure!(!commands.is_empty(), "the agent crate declares no command");
    for (file, dest) in [
        ("qemu-guest-agent.service", "lib/systemd/system/qemu-guest-agent.service"),
        ("60-qemu-guest-agent.rules", "lib/udev/rules.d/60-qemu-guest-agent.rules"),
        ("qemu-ga.8", "usr/share/man/man8/qemu-ga.8"),
    ] {
        let dest = stage.join(dest);
        fs::create_dir_all(dest.parent().context("a parent")?)?;
        let text = fs::read_to_string(files.join(file))?
            .replace("@ORIGIN@", origin)
            .replace("@COMMANDS@", &commands.join(", "));
        fs::write(&dest, text)?;
    }
    sh::run(tools::command("gzip")?.args(["-9n", "-f"]).arg(stage.join("usr/share/man/man8/qemu-ga.8")))?;
    let control_dir = stage.join("DEBIAN");
    fs::create_dir_all(&control_dir)?;
    for script in ["postinst", "prerm"] {
        fs::copy(files.join(script), control_dir.join(script))?;
    }
    let size_kib = installed_size(stage)?;
    let long = long_description(&format!(
        "The guest agent qemu-ga of {origin}, with the guest agent commands of qemu-hello-rs, \
         written in Rust, linked in: {}. Install it inside a QEMU guest, in place of \
         Debian's qemu-guest-agent, which it replaces; systemd starts it when the \
         org.qemu.guest_agent.0 port appears, and a libvirt host calls the commands with \
         virsh qemu-agent-command.",
        commands.join(", ")
    ));
    let control = format!(
        "Package: {name}\n\
         Version: {version}\n\
         Architecture: amd64\n\
         Maintainer: {MAINTAINER}\n\
         Installed-Size: {size_kib}\n\
         Pre-Depends: init-system-helpers (>= 1.54~)\n\
         Depends: {}\n\
         Conflicts: qemu-guest-agent\n\
         Replaces: qemu-guest-agent\n\
         Provides: qemu-guest-agent\n\
         Section: admin\n\
         Priority: optional\n\
         Description: QEMU guest agent with commands written in Rust\n{long}",
        shlibs(name, &binary)?
    );
    build_deb(stage, name, version, origin, &control, commit)
}

/// The doc files, control file, md5sums and modes of `stage`, then the `.deb` (in
/// `target/debian/`), checked by lintian.
fn build_deb(
    stage: &Path,
    name: &str,
    version: &str,
    origin: &str,
    control: &str,
    commit: &LastCommit,
) -> Result<PathBuf> {
    let doc = stage.join("usr/share/doc").join(name);
    fs::create_dir_all(&doc)?;
    fs::write(doc.join("copyright"), copyright())?;
    fs::write(doc.join("changelog"), changelog(name, version, origin, commit))?;
    sh::run(tools::command("gzip")?.args(["-9n", "-f"]).arg(doc.join("changelog")))?;

    let control_dir = stage.join("DEBIAN");
    fs::create_dir_all(&control_dir)?;
    fs::write(control_dir.join("control"), control)?;
    md5sums(stage)?;
    normalize_modes(stage)?;
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        let script = control_dir.join(script);
        if script.exists() {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&script, fs::Permissions::from_mode(0o755))?;
        }
    }

    let out_dir = sh::root().join("target/debian");
    fs::create_dir_all(&out_dir)?;
    let deb = out_dir.join(format!("{name}_{version}_amd64.deb"));
    // Reproducible: every file dated SOURCE_DATE_EPOCH, the last commit's time (dpkg-deb
    // would only clamp the newer ones, leaving a file older than the commit as it is on
    // this disk), which also dates the archive; dpkg-deb sorts the members itself.
    let epoch = commit.epoch.to_string();
    sh::run(
        tools::command("find")?
            .arg(stage)
            .args(["-exec", "touch", "--no-dereference", "--date"])
            .arg(format!("@{epoch}"))
            .args(["{}", "+"]),
    )?;
    sh::run(
        tools::command("dpkg-deb")?
            .env("SOURCE_DATE_EPOCH", &epoch)
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(stage)
            .arg(&deb),
    )?;

    sh::step(format!("lintian {}", deb.file_name().unwrap_or_default().to_string_lossy()));
    sh::run(tools::command("lintian")?.args(["--fail-on", "error,warning", "--display-info"]).arg(&deb))?;
    Ok(deb)
}

/// `${shlibs:Depends}` for `binary`, from dpkg-shlibdeps (which wants a debian/control
/// naming the package, so it runs in a scratch dir that has one).
fn shlibs(name: &str, binary: &Path) -> Result<String> {
    let scratch = tempfile::tempdir()?;
    fs::create_dir_all(scratch.path().join("debian"))?;
    fs::write(
        scratch.path().join("debian/control"),
        format!("Source: qemu-hello-rs\n\nPackage: {name}\nArchitecture: amd64\n"),
    )?;
    let out =
        sh::output(tools::command("dpkg-shlibdeps")?.arg("-O").arg(binary).current_dir(scratch.path()))?;
    let deps = out
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .with_context(|| format!("dpkg-shlibdeps printed no shlibs:Depends: {out}"))?;
    Ok(deps.trim().to_string())
}

/// The control file; `origin` says which QEMU (release and source), `series` is the
/// directory the package installs into under the prefix, `src` the QEMU source tree
/// whose QAPI front end reads the declarations.
fn control(
    name: &str,
    version: &str,
    origin: &str,
    series: &str,
    depends: &str,
    stage: &Path,
    src: &Path,
) -> Result<String> {
    let size_kib = installed_size(stage)?;
    let defs = harness::declared::definitions_in(sh::root(), src);
    let hmp = harness::declared::hmp_entries(sh::root());
    let list =
        |meta: &str| defs.iter().filter(|d| d.meta == meta).map(|d| d.name.as_str()).collect::<Vec<_>>();
    let hmp: Vec<String> =
        hmp.iter().map(|e| if e.info { format!("info {}", e.name) } else { e.name.clone() }).collect();
    let long = format!(
        "The x86_64 system emulator of {origin}, with the monitor commands of qemu-hello-rs, \
         written in Rust, linked in. QMP commands: {}. QMP events: {}. HMP commands: {}. \
         It installs under {PACKAGE_PREFIX}/{series}/ beside Debian's own QEMU, which it \
         leaves alone; a libvirt domain selects it with <emulator>{PACKAGE_PREFIX}/{series}/bin/qemu-system-x86_64</emulator>.",
        list("command").join(", "),
        list("event").join(", "),
        hmp.join(", "),
    );
    let long = long_description(&long);
    Ok(format!(
        "Package: {name}\n\
         Version: {version}\n\
         Architecture: amd64\n\
         Maintainer: {MAINTAINER}\n\
         Installed-Size: {size_kib}\n\
         Depends: {depends}\n\
         Section: misc\n\
         Priority: optional\n\
         Description: QEMU {series} with monitor commands written in Rust\n{long}"
    ))
}

/// Installed-Size: the KiB of `stage` but its control files.
fn installed_size(stage: &Path) -> Result<String> {
    let du = sh::output(tools::command("du")?.args(["-sk", "--exclude=DEBIAN"]).arg(stage))?;
    Ok(du.split_whitespace().next().context("du printed nothing")?.to_string())
}

/// A control file's long description: `text` wrapped at 72 columns, each line indented
/// by one space.
fn long_description(text: &str) -> String {
    textwrap(text, 72).iter().map(|l| format!(" {l}\n")).collect()
}

/// Greedy word wrap for the control file's long description.
fn textwrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// The commit a package is built from: its hash and its committer date, which dates
/// both the changelog and every file of the package (SOURCE_DATE_EPOCH), read once.
struct LastCommit {
    hash: String,
    /// Seconds since the epoch.
    epoch: i64,
    /// The same moment in RFC 2822 form, as a Debian changelog dates an entry.
    date: String,
}

impl LastCommit {
    /// The checkout's last commit, or the epoch itself (and no hash) without git history.
    fn read() -> LastCommit {
        let log = tools::command("git")
            .map_err(anyhow::Error::from)
            .and_then(|mut git| {
                sh::output(git.arg("-C").arg(sh::root()).args(["log", "-1", "--format=%H%n%ct%n%cD"]))
            })
            .unwrap_or_default();
        let mut lines = log.lines().map(str::trim);
        let hash = lines.next().unwrap_or_default().to_string();
        match (lines.next().and_then(|t| t.parse().ok()), lines.next()) {
            (Some(epoch), Some(date)) if !hash.is_empty() => {
                LastCommit { hash, epoch, date: date.to_string() }
            }
            _ => LastCommit {
                hash: String::new(),
                epoch: 0,
                date: "Thu, 01 Jan 1970 00:00:00 +0000".to_string(),
            },
        }
    }
}

/// The changelog of a native package, dated by the last commit (reproducible), naming
/// that commit.
fn changelog(name: &str, version: &str, origin: &str, commit: &LastCommit) -> String {
    let hash = if commit.hash.is_empty() { "an unknown commit (no git history)" } else { &commit.hash };
    // An entry's lines stay within 80 columns (lintian): the text wrapped at 76 after
    // the bullet's four.
    let entry = textwrap(
        &format!(
            "{origin}, with the qemu-hello-rs commands, built by `cargo xtask package` from commit {hash}."
        ),
        76,
    )
    .join("\n    ");
    format!(
        "{name} ({version}) unstable; urgency=medium\n\n  * {entry}\n\n -- {MAINTAINER}  {}\n",
        commit.date
    )
}

fn copyright() -> String {
    format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: qemu-hello-rs\n\
         Comment: QEMU, patched with the series in qemu-patches/, with the qemu-hello-rs\n \
         staticlib (Rust) linked in; the staticlib includes Rust's standard library.\n\n\
         Files: *\n\
         Copyright: 2003-2025 Fabrice Bellard and the QEMU Project developers\n \
         2026 the qemu-hello-rs developers\n\
         License: GPL-2\n\
         {GPL}\n\n\
         Files: usr/lib/qemu-hello-rs/*/share/apparmor/*\n\
         Copyright: 2026 the qemu-hello-rs developers\n\
         License: GPL-2+\n \
         On Debian systems, the complete text of the GNU General Public License\n \
         version 2 can be found in /usr/share/common-licenses/GPL-2.\n",
    )
}

const GPL: &str = " QEMU as a whole is released under the GNU General Public License, version 2;\n \
     parts of it are under other, compatible licenses (see its LICENSE file). The\n \
     qemu-hello-rs code is GPL-2.0-or-later; Rust's standard library is MIT or Apache-2.0.\n \
     .\n \
     On Debian systems, the complete text of the GNU General Public License\n \
     version 2 can be found in /usr/share/common-licenses/GPL-2.";

/// DEBIAN/md5sums: each file's md5 and its path relative to the root.
fn md5sums(stage: &Path) -> Result<()> {
    let list = sh::output(
        tools::command("sh")?
            .arg("-c")
            .arg("find * -path DEBIAN -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum")
            .current_dir(stage),
    )?;
    if list.trim().is_empty() {
        bail!("no files in {}", stage.display());
    }
    fs::write(stage.join("DEBIAN/md5sums"), list)?;
    Ok(())
}

/// 0755 for dirs and executables, 0644 for the rest, whatever the umask was.
fn normalize_modes(stage: &Path) -> Result<()> {
    sh::run(tools::command("chmod")?.args(["-R", "u=rwX,go=rX"]).arg(stage))
}
