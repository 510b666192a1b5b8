// SPDX-License-Identifier: GPL-2.0-or-later
//! `guest-hello-world` (agent/qapi/guest-hello-world.json): one line in the agent's log.

use std::sync::{Mutex, MutexGuard};

use crate::message;
use crate::prelude::*;
use crate::stats::Stats;

/// What guest-hello-world has done since the agent started (`guest-query-hello-world`
/// reads it). The agent has no big lock: a `Mutex` keeps it, and a panic while it is
/// held (the layer turns it into the call's error) leaves the counters as they were.
pub static STATS: Mutex<Stats<String>> = Mutex::new(Stats::new());

/// The counters, whatever a panicking holder left: each update is one whole statement.
pub fn stats() -> MutexGuard<'static, Stats<String>> {
    STATS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes `message` (or "Hello, world") to the agent's log as one message, refusing
/// what `hello-world` refuses (text that is not UTF-8, a control character).
pub fn guest_hello_world(message: Option<Result<&str, ParamError>>) -> Result<(), CommandError> {
    let mut stats = stats();
    let line = match message.transpose().and_then(message::line) {
        Ok(line) => line,
        Err(refused) => {
            stats.refused();
            return Err(CommandError::new(refused));
        }
    };
    log_message(line);
    drop(stats.printed(line.to_string()));
    Ok(())
}
