// SPDX-License-Identifier: GPL-2.0-or-later
//! `guest-hello-panic` (agent/qapi/guest-hello-panic.json): a panic in a command, on
//! purpose, to show (and test, in `agent/tests/socket.rs` and `tests/guest.rs`) that it
//! is that call's error and the agent answers the next call.

use crate::prelude::*;

/// Panics with "asked to panic"; the layer's boundary turns that into the call's error.
pub fn guest_hello_panic() -> Result<(), CommandError> {
    panic!("asked to panic")
}
