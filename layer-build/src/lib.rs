// SPDX-License-Identifier: GPL-2.0-or-later
//! The build-time half of [`qemu-monitor-layer`]: what a command crate's `build.rs`
//! calls, the way `cxx-build` serves `cxx`.
//!
//! ```no_run
//! // the `fn main` of a command crate's build.rs
//! qemu_monitor_layer_build::generate();
//! ```
//!
//! It reads the crate's declarations (`qapi/<command>.json` with QEMU's own QAPI front
//! end, and the HMP entries `qapi/<command>.hx` / `.info.hx`), checks the command
//! functions' signatures in `src/commands/<command>.rs`, and writes into `OUT_DIR`:
//!
//! - `glue.rs`: the `extern "C"` handlers QEMU calls, the schema's types and event
//!   senders, each handler with its compile-time proof against bindgen's prototype;
//! - `commands.rs`: one module per command file, each under `#[forbid(unsafe_code)]`;
//! - `bindings.rs`: bindgen's declarations of exactly what the glue calls, with QEMU's
//!   `Monitor`, `QDict` and `Error` taken from the layer (one Rust type each).
//!
//! The crate's `src/lib.rs` includes them with `qemu_monitor_layer::commands!()`.
//!
//! The QEMU tree is the configured, patched build tree named by `QEMU_BUILD_DIR` (which
//! `cargo xtask build` sets); without it, `target/qemu/<default release>/build` under
//! the crate or its workspace.
//!
//! Everything it refuses is reported together, each with the file, the command or type
//! and the member, and the build stops. The generator itself (its schema model, checks,
//! lowering and writers, used by the driver too) is [`qemu-monitor-layer-gen`].
//!
//! [`qemu-monitor-layer`]: ../qemu_monitor_layer/index.html
//! [`qemu-monitor-layer-gen`]: ../qemu_monitor_layer_gen/index.html

#![deny(missing_docs)]

/// Generates the command crate's glue, commands and bindings into `OUT_DIR`; stops the
/// build with a message naming the file, command and member on anything it refuses.
pub fn generate() {
    qemu_monitor_layer_gen::build::generate();
}

/// [`generate`] for a crate of guest agent commands, which `qemu-ga` links (the series'
/// `--agent-rust-lib`): its declarations in `qapi/` are checked for what the agent has
/// (no HMP entry, no event, no `Bql` token: each refused by name), and the handlers are
/// proven against the agent's generated headers. The crate's `src/lib.rs` includes the
/// result with `qemu_monitor_layer::agent_commands!()`.
pub fn generate_agent() {
    qemu_monitor_layer_gen::build::generate_agent();
}
