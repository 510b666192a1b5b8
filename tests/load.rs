// SPDX-License-Identifier: GPL-2.0-or-later
//! Several QMP monitors and a readline HMP monitor call `hello-world` at once, thousands
//! of calls each, some lines 40 KB long: every call is answered, every expected line is
//! on stdout, whole and exactly once, and QEMU runs on.
//!
//! What this proves is the dispatch under concurrent clients (no call lost or answered
//! twice, no monitor starved) and `print_line` with long lines on a pipe. It does not
//! prove `print_line`'s stream lock: QEMU runs monitor commands one at a time under the
//! BQL, so the commands' lines could not interleave even without it (the lock is for
//! QEMU's own `printf`s from other threads, which this test does not make). That the
//! commands hold the BQL is the compiler's word now: `print_line` takes the call's
//! `Bql` token (`tests/compile-fail/09-print-without-the-lock.patch`).
//!
//! `QEMU_HELLO_LONG=1` (`cargo xtask test --long`) makes it ten times longer.

#[path = "common/client.rs"]
mod client;

use client::HelloWorld;
use std::collections::HashMap;
use std::thread;

use harness::{Options, Qemu, binary_from_env};
use serde_json::json;

const QMP_MONITORS: usize = 3;
/// The `big` of [`message`] for QMP and for the readline monitor.
const QMP_BIG: usize = 10_000;
const HMP_BIG: usize = 40;

fn calls_per_monitor() -> usize {
    if std::env::var_os("QEMU_HELLO_LONG").is_some() { 20_000 } else { 2_000 }
}

/// Message `i` of a monitor: distinct, some long. The readline monitor redraws the
/// whole line for each byte typed (output quadratic in the line's length), so HMP lines
/// stay short; QMP ones reach 40 KB.
fn message(monitor: &str, i: usize, big: usize) -> String {
    let filler = if i % 97 == 0 { big } else { (i % 61).min(big) };
    format!("{monitor} call {i} {}", "€x".repeat(filler))
}

#[test]
fn qmp_and_hmp_monitors_at_once_each_call_answered_each_line_whole_and_once() {
    let calls = calls_per_monitor();
    let opts = Options { extra_qmp: QMP_MONITORS - 1, hmp_socket: true, ..Options::default() };
    let mut vm = Qemu::start(&binary_from_env(), &opts).expect("QEMU starts");
    let clients: Vec<_> = (0..QMP_MONITORS).map(|i| vm.qmp_at(i).unwrap()).collect();
    let mut hmp = vm.hmp().unwrap();
    thread::scope(|s| {
        for (m, mut qmp) in clients.into_iter().enumerate() {
            s.spawn(move || {
                for i in 0..calls {
                    let msg = message(&format!("qmp{m}"), i, QMP_BIG);
                    assert_eq!(qmp.execute(&HelloWorld::with(msg)).unwrap(), json!({}), "qmp{m} call {i}");
                }
            });
        }
        s.spawn(|| {
            for i in 0..calls {
                let out = hmp.command(&format!("hello-world {}", message("hmp", i, HMP_BIG))).unwrap();
                assert_eq!(out, "", "hmp call {i}");
            }
        });
    });

    let out = vm.stdout();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for line in out.lines() {
        *seen.entry(line).or_default() += 1;
    }
    let monitors: Vec<(String, usize)> = (0..QMP_MONITORS)
        .map(|m| (format!("qmp{m}"), QMP_BIG))
        .chain([("hmp".to_string(), HMP_BIG)])
        .collect();
    for (name, big) in &monitors {
        for i in 0..calls {
            let line = message(name, i, *big);
            assert_eq!(seen.get(line.as_str()), Some(&1), "{name} call {i}: its line whole and once");
        }
    }
    assert_eq!(out.lines().count(), monitors.len() * calls, "no other lines");
    assert!(out.ends_with('\n'), "the last line is whole");
    assert!(vm.is_running());
    eprintln!(
        "{} calls from {} monitors at once, {} bytes printed",
        monitors.len() * calls,
        monitors.len(),
        out.len()
    );
}
