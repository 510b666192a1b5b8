// SPDX-License-Identifier: GPL-2.0-or-later
//! A throwaway copy of this repository, for tests that follow a user's steps (scaffold a
//! command, make a mistake) without touching the real checkout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A copy of the working tree — tracked files and untracked ones git does not ignore, as
/// they are on disk — committed once in a fresh git repository, so that
/// [`RepoCopy::changed_files`] shows exactly what the steps changed.
pub struct RepoCopy {
    dir: tempfile::TempDir,
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(["-c", "user.name=test", "-c", "user.email=test@invalid"]);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

impl RepoCopy {
    /// Copies the repository whose root is `root` (the crate's manifest dir).
    pub fn of(root: &Path) -> RepoCopy {
        let dir = tempfile::Builder::new().prefix("qemu-hello-rs-copy-").tempdir().expect("temp dir");
        let list = run(git(root).args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"]));
        for name in list.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let rel = Path::new(std::str::from_utf8(name).expect("UTF-8 file names"));
            let (from, to) = (root.join(rel), dir.path().join(rel));
            if !from.exists() {
                continue; // deleted in the working tree
            }
            std::fs::create_dir_all(to.parent().expect("a file has a parent")).expect("mkdir");
            std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        }
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
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(self.path()).env_remove("CARGO_TARGET_DIR").env_remove("CARGO_MANIFEST_DIR");
        cmd
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
