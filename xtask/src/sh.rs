// SPDX-License-Identifier: GPL-2.0-or-later
//! Running tools: echo the command to stderr, keep stdout clean, fail with context.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

/// The workspace root (the directory holding the top-level Cargo.toml).
/// Names a clone of this repository for xtask to serve instead of its own.
pub const ROOT_ENV: &str = "QEMU_HELLO_ROOT";

pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| match std::env::var_os(ROOT_ENV) {
        // Another clone of this repository, for the reproducibility check
        // (`reproduce::check`), with this same xtask.
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives in the workspace")
            .to_path_buf(),
    })
}

static CRATE_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Chooses the command crate the build serves (`--crate DIR`); once, before any use.
pub fn set_crate_dir(dir: PathBuf) {
    let _ = CRATE_DIR.set(dir);
}

/// The command crate whose declarations (`qapi/`), series (`qemu-patches/`) and library
/// the build uses, with its builds in its own `target/qemu/`: `--crate DIR`, or this
/// repository's root crate.
pub fn crate_dir() -> &'static Path {
    CRATE_DIR.get_or_init(|| root().to_path_buf())
}

/// Progress for the user, on stderr, with the time since the driver started (a long
/// run's log then says where its time went).
pub fn step(msg: impl AsRef<str>) {
    let t = started().elapsed().as_secs();
    eprintln!("==> [{}m{:02}s] {}", t / 60, t % 60, msg.as_ref());
}

/// When the driver started: `main` calls this first.
pub fn started() -> std::time::Instant {
    static STARTED: OnceLock<std::time::Instant> = OnceLock::new();
    *STARTED.get_or_init(std::time::Instant::now)
}

/// The command line, for messages; a long one (ninja with every default target) is cut
/// after 30 arguments.
fn describe(cmd: &Command) -> String {
    const SHOWN: usize = 30;
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args().take(SHOWN) {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    let more = cmd.get_args().len().saturating_sub(SHOWN);
    if more > 0 {
        s.push_str(&format!(" ... ({more} more)"));
    }
    s
}

/// Runs `cmd` with its stdout sent to our stderr; fails if it exits non-zero.
pub fn run(cmd: &mut Command) -> Result<()> {
    let what = describe(cmd);
    eprintln!("$ {what}");
    let status = cmd.stdout(std::io::stderr()).status().with_context(|| format!("cannot start `{what}`"))?;
    if !status.success() {
        bail!("`{what}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout; fails if it exits non-zero.
pub fn output(cmd: &mut Command) -> Result<String> {
    let what = describe(cmd);
    let out = cmd.stderr(Stdio::inherit()).output().with_context(|| format!("cannot start `{what}`"))?;
    if !out.status.success() {
        bail!("`{what}` failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` with `input` on its stdin and returns its stdout; fails if it exits
/// non-zero.
pub fn output_with_input(cmd: &mut Command, input: &[u8]) -> Result<String> {
    let what = describe(cmd);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start `{what}`"))?;
    child.stdin.take().expect("piped").write_all(input)?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("`{what}` failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a long build step (ninja, configure) with its output in `log`, showing one
/// progress line in `every` of ninja's `[n/m]` lines and all other lines; on failure,
/// the last lines of the log.
pub fn run_logged(cmd: &mut Command, log: &Path, every: usize) -> Result<()> {
    let what = describe(cmd);
    eprintln!("$ {what}   (log: {})", log.display());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{what}`"))?;
    // Merge stderr into the same stream by reading it on a thread.
    let err = child.stderr.take().expect("piped");
    let err_thread =
        std::thread::spawn(move || BufReader::new(err).lines().map_while(Result::ok).collect::<Vec<_>>());
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines().map_while(Result::ok) {
        let progress = line.starts_with('[') && line.contains('/');
        if !progress || lines.len() % every.max(1) == 0 {
            eprintln!("   {line}");
        }
        lines.push(line);
    }
    lines.extend(err_thread.join().unwrap_or_default());
    std::fs::write(log, lines.join("\n") + "\n")
        .with_context(|| format!("cannot write {}", log.display()))?;
    let status = child.wait()?;
    if !status.success() {
        let tail = lines.iter().rev().take(40).rev().cloned().collect::<Vec<_>>().join("\n");
        bail!("`{what}` failed ({status}); last lines of {}:\n{tail}", log.display());
    }
    Ok(())
}

/// Writes one line of results to stdout. A reader that has gone (`cargo xtask build |
/// head -n 1`) ends the program quietly, as a closed pipe ends `cat`; any other write
/// error ends it with a one-line message.
pub fn out_line(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(line).and_then(|()| stdout.write_all(b"\n")).and_then(|()| stdout.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// `println!` for results, through [`out_line`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::sh::out_line(format_args!($($arg)*)) };
}
