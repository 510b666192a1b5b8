// SPDX-License-Identifier: GPL-2.0-or-later
//! `guest-query-hello-world` (agent/qapi/guest-query-hello-world.json): what
//! guest-hello-world has done since the agent started.

use super::guest_hello_world::stats;
use crate::prelude::*;

/// The counters, and the last logged line once there is one.
pub fn guest_query_hello_world() -> Result<qapi::GuestHelloWorldInfo, CommandError> {
    let stats = stats();
    let c = stats.counters;
    Ok(qapi::GuestHelloWorldInfo {
        calls: count(c.calls()),
        printed: count(c.printed),
        refused: count(c.refused),
        failed_writes: count(c.failed_writes),
        last_message: stats.last().map(|s| GString::new(s)),
    })
}

/// QAPI's `int` is signed; a count cannot reach `i64::MAX` in practice.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
