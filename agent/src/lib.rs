// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU guest agent commands written in Rust on the command layer: `guest-hello-world`,
//! `guest-query-hello-world` and `guest-hello-info`, linked into `qemu-ga`, which runs
//! inside the guest (see `qemu-patches/`, the `agent_rust_lib` option).
//!
//! Declared in `agent/qapi/<command>.json` and implemented by a safe function in
//! `agent/src/commands/<command>.rs`, as monitor commands are; `build.rs` calls
//! `qemu_monitor_layer_build::generate_agent()`, which proves each handler against
//! qemu-ga's generated prototypes and refuses what the agent lacks (HMP, events, the
//! big lock, the VM).
//!
//! - [`message`]: the monitor's `hello-world` rules, shared: which line a call logs, and
//!   which messages it refuses.
//! - [`info`]: reading the guest's own `/proc`, unit-tested without QEMU.

#![allow(clippy::result_large_err)]

// The monitor crate's own files (unit-tested there), for the commands only.
#[cfg(not(test))]
#[path = "../../src/message.rs"]
pub mod message;

#[cfg(not(test))]
#[path = "../../src/stats.rs"]
pub mod stats;

pub mod info;

#[cfg(not(test))]
qemu_monitor_layer::agent_commands!();
