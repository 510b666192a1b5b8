// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU under valgrind memcheck: the wrapper that starts it, and the reading of
//! memcheck's log once QEMU has quit (`tests/valgrind.rs`, `tests/new_command.rs`).

use std::ffi::OsString;
use std::path::PathBuf;

use crate::Options;

/// One memcheck record: its first line and its stack.
pub struct Record {
    pub text: String,
}

impl Record {
    /// Whether any frame of the record names one of `ours`.
    pub fn mentions(&self, ours: &[&str]) -> bool {
        ours.iter().any(|f| self.text.contains(f))
    }

    /// Whether the record is a leak (definite, indirect or possible).
    pub fn is_leak(&self) -> bool {
        [" are definitely lost", " are indirectly lost", " are possibly lost"]
            .iter()
            .any(|k| self.text.contains(k))
    }

    /// Whether the record is an invalid access, a use of uninitialised memory, a
    /// mismatched free or an overlapping copy.
    pub fn is_access_error(&self) -> bool {
        ["Invalid ", "uninitialised", "Mismatched free", "overlap"].iter().any(|k| self.text.contains(k))
    }
}

/// Splits memcheck's log into records (groups of `==pid==` lines between blank ones).
pub fn records(log: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in log.lines() {
        let body = body(line);
        if body.trim().is_empty() {
            if !cur.is_empty() {
                out.push(Record { text: std::mem::take(&mut cur) });
            }
        } else {
            cur.push_str(body);
            cur.push('\n');
        }
    }
    if !cur.is_empty() {
        out.push(Record { text: cur });
    }
    out
}

/// A memcheck log line without its `==pid== ` prefix.
pub fn body(line: &str) -> &str {
    line.split_once("== ").map_or("", |(_, b)| b)
}

/// The last line of the log holding `key` ("definitely lost:", "ERROR SUMMARY:", …).
pub fn summary_line<'a>(log: &'a str, key: &str) -> &'a str {
    log.lines()
        .rev()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("no {key:?} in memcheck's log:\n{log}"))
}

/// QEMU's start options under memcheck (full leak check), and where its log goes.
pub struct Memcheck {
    _dir: tempfile::TempDir,
    pub log: PathBuf,
}

impl Memcheck {
    /// The wrapper and its log file; installs valgrind when missing (tools' table), or
    /// fails saying how.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Memcheck {
        tools::ensure_program("valgrind").unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().expect("a temp dir");
        let log = dir.path().join("memcheck.log");
        Memcheck { _dir: dir, log }
    }

    /// `opts` with QEMU run under memcheck.
    pub fn options(&self, opts: Options) -> Options {
        Options { wrapper: self.wrapper(), ..opts }
    }

    /// The command a program runs under for memcheck, its log going to [`Memcheck::log`].
    pub fn wrapper(&self) -> Vec<OsString> {
        [
            "valgrind",
            "--tool=memcheck",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--num-callers=40",
            "--child-silent-after-fork=yes",
        ]
        .iter()
        .map(OsString::from)
        .chain([OsString::from(format!("--log-file={}", self.log.display()))])
        .collect()
    }

    /// Reads the log after QEMU has exited, prints its summary, and fails if any record
    /// has one of `ours` in its stack or any invalid access is reported at all.
    pub fn check(&self, ours: &[&str], what: &str) {
        let log = std::fs::read_to_string(&self.log).expect("memcheck's log");
        let all = records(&log);
        let mine: Vec<&Record> = all.iter().filter(|r| r.mentions(ours)).collect();
        eprintln!("memcheck after {what}:");
        for key in ["definitely lost:", "indirectly lost:", "possibly lost:", "ERROR SUMMARY:"] {
            eprintln!("  {}", body(summary_line(&log, key)));
        }
        let leaks = all.iter().filter(|r| r.is_leak()).count();
        eprintln!("  {leaks} leak records in all, {} with {ours:?} in the stack", mine.len());
        for r in all.iter().filter(|r| r.is_leak()) {
            eprintln!("  {}", r.text.lines().take(6).collect::<Vec<_>>().join("\n    "));
        }
        assert!(
            mine.is_empty(),
            "memcheck reports involving {ours:?}:\n{}",
            mine.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n")
        );
        let accesses: Vec<&Record> = all.iter().filter(|r| r.is_access_error()).collect();
        assert!(
            accesses.is_empty(),
            "memcheck errors ({}):\n{}",
            summary_line(&log, "ERROR SUMMARY:"),
            accesses.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log reading finds a record with our frames, and only that one.
    #[test]
    fn a_leak_in_our_code_would_be_found() {
        let log = "\
==7== Memcheck, a memory error detector
==7==
==7== 24 bytes in 1 blocks are definitely lost in loss record 1 of 2
==7==    at 0x48407B4: malloc (vg_replace_malloc.c:381)
==7==    by 0x6F2A11: g_malloc (gmem.c:130)
==7==    by 0x3D1B2C: error_setg_internal (error.c:107)
==7==    by 0x2C0F10: qmp_hello_world (ffi.rs:70)
==7==    by 0x2C1A00: qmp_marshal_hello_world (qapi-commands-misc.c:400)
==7==
==7== 400 bytes in 1 blocks are possibly lost in loss record 2 of 2
==7==    at 0x4845A83: calloc (vg_replace_malloc.c:1340)
==7==    by 0x4011F2: _dl_allocate_tls (dl-tls.c:375)
==7==    by 0x4A0E0A: pthread_create@@GLIBC_2.34 (pthread_create.c:647)
==7==
==7== ERROR SUMMARY: 2 errors from 2 contexts (suppressed: 0 from 0)
";
        let all = records(log);
        let leaks: Vec<_> = all.iter().filter(|r| r.is_leak()).collect();
        assert_eq!(leaks.len(), 2);
        let ours: Vec<_> = all.iter().filter(|r| r.mentions(&["hello_world"])).collect();
        assert_eq!(ours.len(), 1);
        assert!(ours[0].text.starts_with("24 bytes in 1 blocks are definitely lost"));
    }
}
