// SPDX-License-Identifier: GPL-2.0-or-later
//! Every external program the build driver (`xtask`) and the tests start, in one table
//! with the Debian package that provides it, and the one way to start them.
//!
//! [`command`] looks the program up in [`TABLE`], installs its package first when it is
//! missing (as root; otherwise it says which `apt-get install` line to run), and returns
//! a [`Command`] for it. A program that is not in the table is refused, at run time here
//! and for every literal name by `tools/tests/table.rs`, which also fails on any
//! `Command::new` outside this crate. Programs this project builds itself (QEMU, the
//! driver, QEMU's meson) are started with [`built`], which installs nothing.
//!
//! So a check never depends on what an earlier run happened to install: on a fresh
//! machine the first use of a tool installs it, and with [`ABSENT_ENV`] set every
//! package of the table counts as absent and nothing is installed (the driver's option
//! checks are tested that way: they must refuse before any tool is needed).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Where a program comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A Debian package, installed with apt when missing.
    Debian(&'static str),
    /// The machine's Rust toolchain (rustup), which brings cargo and rustc; never
    /// installed here (`$CARGO` and `$RUSTC` name the one cargo runs under).
    Toolchain,
}

use Source::{Debian, Toolchain};

/// Every program the driver and the tests start by name, and its source. Sorted by
/// program; `tools/tests/table.rs` checks each installed package really ships its
/// program.
pub const TABLE: &[(&str, Source)] = &[
    ("apparmor_parser", Debian("apparmor")),
    ("apt-cache", Debian("apt")),
    ("apt-ftparchive", Debian("apt-utils")),
    ("apt-get", Debian("apt")),
    ("ar", Debian("binutils")),
    ("callgrind_annotate", Debian("valgrind")),
    ("cargo", Toolchain),
    ("cc", Debian("gcc")),
    ("chmod", Debian("coreutils")),
    ("chown", Debian("coreutils")),
    ("chroot", Debian("coreutils")),
    ("cp", Debian("coreutils")),
    ("cpio", Debian("cpio")),
    ("date", Debian("coreutils")),
    ("debootstrap", Debian("debootstrap")),
    ("diff", Debian("diffutils")),
    ("diffoscope", Debian("diffoscope-minimal")),
    ("dpkg", Debian("dpkg")),
    ("dpkg-deb", Debian("dpkg")),
    ("dpkg-query", Debian("dpkg")),
    ("dpkg-shlibdeps", Debian("dpkg-dev")),
    ("dpkg-source", Debian("dpkg-dev")),
    ("du", Debian("coreutils")),
    ("find", Debian("findutils")),
    ("git", Debian("git")),
    ("gpg", Debian("gpg")),
    ("gpgv", Debian("gpgv")),
    ("gzip", Debian("gzip")),
    ("hostname", Debian("hostname")),
    ("id", Debian("coreutils")),
    ("ip", Debian("iproute2")),
    ("kill", Debian("procps")),
    ("ldd", Debian("libc-bin")),
    ("libvirtd", Debian("libvirt-daemon")),
    ("lintian", Debian("lintian")),
    ("man", Debian("man-db")),
    ("mount", Debian("mount")),
    ("ninja", Debian("ninja-build")),
    ("nm", Debian("binutils")),
    ("objcopy", Debian("binutils")),
    ("patch", Debian("patch")),
    ("perl", Debian("perl-base")),
    ("pgrep", Debian("procps")),
    ("pkg-config", Debian("pkgconf")),
    ("ps", Debian("procps")),
    ("python3", Debian("python3-minimal")),
    ("runuser", Debian("util-linux")),
    ("rustc", Toolchain),
    ("rustfmt", Toolchain),
    ("sh", Debian("dash")),
    ("size", Debian("binutils")),
    ("sphinx-build", Debian("python3-sphinx")),
    ("strip", Debian("binutils")),
    ("systemd-nspawn", Debian("systemd-container")),
    ("tar", Debian("tar")),
    ("timeout", Debian("coreutils")),
    ("touch", Debian("coreutils")),
    ("uname", Debian("coreutils")),
    ("unshare", Debian("util-linux")),
    ("valgrind", Debian("valgrind")),
    ("virsh", Debian("libvirt-clients")),
    ("virtlogd", Debian("libvirt-daemon")),
    ("xz", Debian("xz-utils")),
];

/// Set (to anything) to make every Debian package of the table count as absent and
/// refuse to install any: for testing that a refusal comes before any tool is needed.
pub const ABSENT_ENV: &str = "QEMU_HELLO_TOOLS_ABSENT";

/// Why a program cannot be started: one line, naming the program and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The source of `program`, if the table has it.
pub fn source_of(program: &str) -> Option<Source> {
    TABLE.iter().find(|(p, _)| *p == program).map(|&(_, s)| s)
}

/// A [`Command`] for `program` (a name from [`TABLE`]), its package installed first.
pub fn command(program: &str) -> Result<Command, Error> {
    let Some(source) = source_of(program) else {
        return Err(Error(format!(
            "`{program}` is not in the tools table (tools/src/lib.rs): add it with the Debian \
             package that provides it"
        )));
    };
    match source {
        Debian(package) => {
            ensure_for(Some(program), &[package])?;
            let path = resolve(program).ok_or_else(|| {
                Error(format!("`{program}` not found on PATH although Debian's {package} is installed"))
            })?;
            Ok(Command::new(path))
        }
        Toolchain => {
            // The cargo and rustc this process runs under, as cargo names them to it.
            let var = match program {
                "cargo" => Some("CARGO"),
                "rustc" => Some("RUSTC"),
                _ => None,
            };
            let path =
                var.and_then(std::env::var_os).map(PathBuf::from).or_else(|| resolve(program)).ok_or_else(
                    || Error(format!("`{program}` not found: install Rust's toolchain with rustup")),
                )?;
            Ok(Command::new(path))
        }
    }
}

/// Installs `program`'s package when missing, as [`command`] does, for a caller that
/// checks its tools before it starts any (a daemon's, a wrapper's).
pub fn ensure_program(program: &str) -> Result<(), Error> {
    command(program).map(drop)
}

/// [`command`] for tests and their harness, where a missing tool ends the test: panics
/// with the reason (which program, which package, what to run).
#[track_caller]
pub fn cmd(program: &str) -> Command {
    command(program).unwrap_or_else(|e| panic!("{e}"))
}

/// A [`Command`] for a program this project builds or is given by path (QEMU, the
/// driver itself, QEMU's meson in its build tree, a test's own helper): nothing to
/// install.
pub fn built(path: impl AsRef<OsStr>) -> Command {
    Command::new(path)
}

/// Installs the missing ones among Debian `packages` (libraries a build needs, which
/// no program of the table names), as [`command`] does for a program's package.
pub fn ensure(packages: &[&str]) -> Result<(), Error> {
    ensure_for(None, packages)
}

/// Whether we run as root (and may install packages).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Packages known to be installed, and the lock that keeps two threads from running
/// apt at once.
static INSTALLED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn ensure_for(program: Option<&str>, packages: &[&str]) -> Result<(), Error> {
    let for_what = program.map(|p| format!(" for `{p}`")).unwrap_or_default();
    if std::env::var_os(ABSENT_ENV).is_some() {
        return Err(Error(format!(
            "Debian's {}{for_what} counts as absent ({ABSENT_ENV} is set), and nothing is installed",
            packages.join(", ")
        )));
    }
    let mut known = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    let known = known.get_or_insert_with(HashSet::new);
    let unknown: Vec<&str> = packages.iter().copied().filter(|p| !known.contains(*p)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let missing = missing(&unknown)?;
    if !missing.is_empty() {
        install(&missing, &for_what)?;
        let still = self::missing(&missing.iter().map(String::as_str).collect::<Vec<_>>())?;
        if !still.is_empty() {
            return Err(Error(format!("apt-get installed but dpkg lacks {}{for_what}", still.join(", "))));
        }
    }
    known.extend(unknown.iter().map(|p| p.to_string()));
    Ok(())
}

/// The packages among `packages` that dpkg does not have installed.
fn missing(packages: &[&str]) -> Result<Vec<String>, Error> {
    // The one program this crate starts without the table: dpkg is Essential.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${db:Status-Status}\\n"])
        .args(packages)
        .stderr(Stdio::null())
        .output()
        .map_err(|e| Error(format!("cannot run dpkg-query: {e}")))?;
    // dpkg-query exits 1 when a package is unknown; its stdout still lists the rest.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(packages
        .iter()
        .filter(|p| !text.lines().any(|l| l == format!("{p} installed")))
        .map(|p| p.to_string())
        .collect())
}

fn install(missing: &[String], for_what: &str) -> Result<(), Error> {
    let line = format!("apt-get install -y --no-install-recommends {}", missing.join(" "));
    if !is_root() {
        return Err(Error(format!(
            "missing Debian packages{for_what}: {}; as root, run: apt-get update && {line}",
            missing.join(" ")
        )));
    }
    eprintln!("==> installing {}{for_what}", missing.join(" "));
    // Another process may hold dpkg's lock (a test installing its own tool): wait for it.
    const WAIT: [&str; 2] = ["-o", "DPkg::Lock::Timeout=600"];
    apt(Command::new("apt-get").args(WAIT).args(["update", "-q"]))?;
    apt(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(WAIT)
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(missing))
}

fn apt(cmd: &mut Command) -> Result<(), Error> {
    let what = format!("{cmd:?}");
    // apt's progress goes to our stderr: stdout carries results only.
    let status =
        cmd.stdout(std::io::stderr()).status().map_err(|e| Error(format!("cannot run {what}: {e}")))?;
    if !status.success() {
        return Err(Error(format!("{what} failed ({status})")));
    }
    Ok(())
}

/// `program` on PATH, or in the sbin directories a non-login root shell may lack.
pub fn resolve(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_has_no_duplicates() {
        for w in TABLE.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
    }

    #[test]
    fn a_program_outside_the_table_is_refused_by_name() {
        let e = command("no-such-tool").unwrap_err().to_string();
        assert!(e.contains("`no-such-tool` is not in the tools table"), "{e}");
    }

    #[test]
    fn an_essential_program_resolves() {
        assert!(resolve("sh").is_some());
        assert_eq!(resolve("/bin/true"), Some(PathBuf::from("/bin/true")));
        assert_eq!(resolve("no-such-tool"), None);
    }
}
