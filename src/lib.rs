// SPDX-License-Identifier: GPL-2.0-or-later
//! QEMU's `hello-world` family of monitor commands, written in Rust on the command layer
//! (`layer/`, the `qemu-monitor-layer` crate).
//!
//! This crate builds a static library that QEMU links into `qemu-system-*`
//! (see `qemu-patches/`). A command is declared in `qapi/<command>.json` (and, with an
//! HMP form, `qapi/<command>.hx`) and implemented by a safe function in
//! `src/commands/<command>.rs`; `build.rs` generates the C handlers QEMU calls.
//!
//! - [`commands`]: the command functions, one file each, no `unsafe`.
//! - [`prelude`]: what a command function uses: the layer's `CommandError`, `GString`,
//!   `Bql` (the call's proof that QEMU's big lock is held), `BqlRefCell`, `Monitor`,
//!   `print_line`, and the schema's types and events (`qapi`).
//! - [`message`], [`stats`]: safe Rust, unit-tested without QEMU.
//!
//! Unit tests build with `std` and without the generated code, so they need no QEMU.

#![allow(clippy::result_large_err)]

pub mod message;
pub mod stats;

#[cfg(not(test))]
qemu_monitor_layer::commands!();
