// SPDX-License-Identifier: GPL-2.0-or-later
//! The patched QEMU under valgrind memcheck through 1,000 calls of each path: QMP with and
//! without a message, refused messages (a control character, and `\u0000`, which reaches
//! the command as invalid UTF-8), and HMP with, without and refused (4,000 `HELLO_WORLD`
//! events in all), plus 1,000 `query-hello-world` (a returned struct) and 1,000
//! `info hello-world`. Then a clean `quit`,
//! so memcheck reports leaks. No memcheck error and no leaked block may have
//! `hello-world` code (the Rust handlers, the crate, or QEMU's generated marshaller for
//! the command) in its stack.

use std::ffi::OsString;
use std::time::Duration;

use harness::commands::{HelloWorld, HumanMonitorCommand, QueryHelloWorld, RawArgumentsHelloWorld};
use harness::qapi::ExecuteError;
use harness::{Options, Qemu, binary_from_env};
use serde_json::json;

const CALLS: usize = 1_000;

/// Frames that belong to `hello-world`: the exports, the crate's own functions, and the
/// QAPI-generated `qmp_marshal_hello_world`.
const OURS: &[&str] = &["hello_world", "qemu_hello_rs"];

/// One memcheck record: its first line and its stack.
struct Record {
    text: String,
}

impl Record {
    fn is_ours(&self) -> bool {
        OURS.iter().any(|f| self.text.contains(f))
    }
    fn is_leak(&self) -> bool {
        [" are definitely lost", " are indirectly lost", " are possibly lost"]
            .iter()
            .any(|k| self.text.contains(k))
    }
}

/// Splits memcheck's log into records (groups of `==pid==` lines between blank ones).
fn records(log: &str) -> Vec<Record> {
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
fn body(line: &str) -> &str {
    line.split_once("== ").map_or("", |(_, b)| b)
}

fn summary_line<'a>(log: &'a str, key: &str) -> &'a str {
    log.lines()
        .rev()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("no {key:?} in memcheck's log:\n{log}"))
}

#[test]
fn memcheck_finds_nothing_from_hello_world() {
    let logdir = tempfile::tempdir().unwrap();
    let log_path = logdir.path().join("memcheck.log");
    let wrapper: Vec<OsString> = [
        "valgrind",
        "--tool=memcheck",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect,possible",
        "--num-callers=40",
        "--child-silent-after-fork=yes",
    ]
    .iter()
    .map(OsString::from)
    .chain([OsString::from(format!("--log-file={}", log_path.display()))])
    .collect();
    if std::process::Command::new("valgrind").arg("--version").output().is_err() {
        panic!("valgrind is not installed: `cargo xtask test` installs it (apt-get install valgrind)");
    }
    let opts = Options { wrapper, ..Options::default() };
    let mut vm = Qemu::start(&binary_from_env(), &opts).expect("QEMU starts under valgrind");
    let mut qmp = vm.qmp().unwrap();

    for i in 0..CALLS {
        assert_eq!(qmp.execute(&HelloWorld::with(format!("memcheck {i} €🦀"))).unwrap(), json!({}));
        assert_eq!(qmp.execute(&HelloWorld::default()).unwrap(), json!({}));
        for refused in [r#"{"message": "bell \u0007"}"#, r#"{"message": "nul \u0000"}"#]
            .map(RawArgumentsHelloWorld::from_json)
        {
            assert!(matches!(qmp.execute(&refused), Err(ExecuteError::Qapi(_))), "refused");
        }
        for (line, error) in [
            (format!("hello-world hmp {i} several words"), false),
            ("hello-world".to_string(), false),
            (format!("hello-world tab\there {i}"), true),
        ] {
            let out = qmp.execute(&HumanMonitorCommand { command_line: line }).unwrap();
            assert_eq!(out.starts_with("Error: "), error, "{out:?}");
        }
        // The returned struct (glib memory QEMU frees) and HMP `info`.
        let info = qmp.execute(&QueryHelloWorld {}).unwrap();
        assert_eq!(info.calls, 7 * (i as i64 + 1));
        let out = qmp.execute(&HumanMonitorCommand { command_line: "info hello-world".into() }).unwrap();
        assert!(out.starts_with(&format!("calls: {}\r\n", 7 * (i + 1))), "{out:?}");
    }
    let printed = vm.stdout().lines().count();
    assert_eq!(printed, 4 * CALLS, "each accepted call printed its line");
    // The event path: one HELLO_WORLD per printed line.
    assert_eq!(harness::custom_events(&mut qmp).len(), 4 * CALLS, "one event per printed line");

    // `quit` replies, then QEMU exits through its normal path; memcheck then scans for leaks.
    let _ = qmp.execute(&harness::qapi::qmp::quit {});
    let status = vm.wait_exit(Duration::from_secs(300)).expect("QEMU exits after quit");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "QEMU exited with {status} under valgrind:\n{log}");

    let all = records(&log);
    let ours: Vec<&Record> = all.iter().filter(|r| r.is_ours()).collect();
    let errors = summary_line(&log, "ERROR SUMMARY:");
    eprintln!("memcheck after {} calls:", 9 * CALLS);
    for key in ["definitely lost:", "indirectly lost:", "possibly lost:", "ERROR SUMMARY:"] {
        eprintln!("  {}", body(summary_line(&log, key)));
    }
    let leaks = all.iter().filter(|r| r.is_leak()).count();
    eprintln!("  {leaks} leak records in all, {} with hello-world in the stack", ours.len());
    for r in all.iter().filter(|r| r.is_leak()) {
        eprintln!("  {}", r.text.lines().take(6).collect::<Vec<_>>().join("\n    "));
    }
    assert!(
        ours.is_empty(),
        "memcheck reports involving hello-world:\n{}",
        ours.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n")
    );
    // Invalid reads, writes, frees and uses of uninitialised values anywhere fail too.
    let accesses: Vec<&Record> = all
        .iter()
        .filter(|r| {
            ["Invalid ", "uninitialised", "Mismatched free", "overlap"].iter().any(|k| r.text.contains(k))
        })
        .collect();
    assert!(
        accesses.is_empty(),
        "memcheck errors ({errors}):\n{}",
        accesses.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n")
    );
}

/// The log reading above finds a record with our frames, and only that one.
#[test]
fn a_leak_in_hello_world_would_be_found() {
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
    let ours: Vec<_> = all.iter().filter(|r| r.is_ours()).collect();
    assert_eq!(ours.len(), 1);
    assert!(ours[0].text.starts_with("24 bytes in 1 blocks are definitely lost"));
}
