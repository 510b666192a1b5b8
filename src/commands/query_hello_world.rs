// SPDX-License-Identifier: GPL-2.0-or-later
//! QMP `query-hello-world` and HMP `info hello-world` (qapi/query-hello-world.json,
//! qapi/query-hello-world.info.hx): what hello-world has done since QEMU started.

use core::fmt::Write;

use super::hello_world::STATS;
use crate::prelude::*;

/// The counters, and the last printed line once there is one.
pub fn query_hello_world(bql: Bql<'_>) -> Result<qapi::HelloWorldInfo, CommandError> {
    let stats = STATS.borrow(bql)?;
    let c = stats.counters;
    Ok(qapi::HelloWorldInfo {
        calls: count(c.calls()),
        printed: count(c.printed),
        refused: count(c.refused),
        failed_writes: count(c.failed_writes),
        last_message: stats.last().map(|s| GString::new(s.as_str())),
    })
}

/// `info hello-world`: the same figures, one per line.
pub fn hmp_info_hello_world(mon: &mut Monitor, bql: Bql<'_>) -> Result<(), CommandError> {
    let stats = STATS.borrow(bql)?;
    let c = stats.counters;
    let last = stats.last().map(|s| GString::new(s.as_str()));
    drop(stats);
    let _ = write!(
        mon,
        "calls: {}\nprinted: {}\nrefused: {}\nfailed writes: {}\n",
        c.calls(),
        c.printed,
        c.refused,
        c.failed_writes
    );
    if let Some(last) = last {
        let _ = writeln!(mon, "last message: {}", last.as_str());
    }
    Ok(())
}

/// QAPI's `int` is signed; a count cannot reach `i64::MAX` in practice.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
