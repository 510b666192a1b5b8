// SPDX-License-Identifier: GPL-2.0-or-later
//! A throwaway copy of this repository, for tests that follow a user's steps (scaffold a
//! command, make a mistake) without touching the real checkout.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A copy of the working tree — tracked files and untracked ones git does not ignore, as
/// they are on disk — committed once in a fresh git repository, so that
/// [`RepoCopy::changed_files`] shows exactly what the steps changed.
pub struct RepoCopy {
    dir: tempfile::TempDir,
}

/// The project's files in the repository at `root`, relative to it: tracked ones and
/// untracked ones git does not ignore, as they are on disk (a file deleted in the working
/// tree is left out), limited to `pathspecs` (every file when empty).
pub fn project_files(root: &Path, pathspecs: &[&str]) -> io::Result<Vec<PathBuf>> {
    let out = tools::cmd("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--"])
        .args(pathspecs)
        .output()?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(io::Error::other(format!("git ls-files in {}: {why}", root.display())));
    }
    let mut files = Vec::new();
    for name in out.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let rel = PathBuf::from(
            std::str::from_utf8(name).map_err(|_| io::Error::other("a file name is not UTF-8"))?,
        );
        if root.join(&rel).is_file() {
            files.push(rel);
        }
    }
    Ok(files)
}

/// Copies the project's files (see [`project_files`]) from `root` into `dest`.
pub fn copy_project(root: &Path, dest: &Path) -> io::Result<()> {
    for rel in project_files(root, &[])? {
        let to = dest.join(&rel);
        std::fs::create_dir_all(to.parent().unwrap_or(dest))?;
        std::fs::copy(root.join(&rel), &to)?;
    }
    Ok(())
}

fn git(dir: &Path) -> Command {
    let mut cmd = tools::cmd("git");
    cmd.arg("-C").arg(dir).args(["-c", "user.name=test", "-c", "user.email=test@invalid"]);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Runs `cmd` and returns its stdout; fails the test with its output otherwise.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl RepoCopy {
    /// Copies the repository whose root is `root` (the crate's manifest dir).
    pub fn of(root: &Path) -> RepoCopy {
        let dir = tempfile::Builder::new().prefix("qemu-hello-rs-copy-").tempdir().expect("temp dir");
        copy_project(root, dir.path()).unwrap_or_else(|e| panic!("copying {}: {e}", root.display()));
        run(git(dir.path()).args(["init", "-q"]));
        run(git(dir.path()).args(["add", "-A"]));
        run(git(dir.path()).args(["commit", "-q", "-m", "copy"]));
        RepoCopy { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `cargo` run in the copy, with the environment of the cargo running the tests
    /// minus what would point it back at the real checkout.
    pub fn cargo(&self) -> Command {
        let mut cmd = tools::cmd("cargo");
        cmd.current_dir(self.path()).env_remove("CARGO_TARGET_DIR").env_remove("CARGO_MANIFEST_DIR");
        cmd
    }

    /// Applies the `git diff` in `patch` to the copy (`git apply`).
    pub fn apply(&self, patch: &Path) {
        run(git(self.path()).args(["apply", "--whitespace=nowarn"]).arg(patch));
    }

    /// Puts every file back as it was copied: changed files restored, new ones removed.
    pub fn restore(&self) {
        run(git(self.path()).args(["checkout", "-q", "--", "."]));
        run(git(self.path()).args(["clean", "-qfd"]));
    }

    /// The files the steps added, changed or removed, relative to the copy's root.
    pub fn changed_files(&self) -> Vec<PathBuf> {
        run(git(self.path()).args(["add", "-A"]));
        let out = run(git(self.path()).args(["diff", "--cached", "--name-only", "-z"]));
        out.stdout
            .split(|&b| b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| PathBuf::from(String::from_utf8_lossy(n).into_owned()))
            .collect()
    }
}
