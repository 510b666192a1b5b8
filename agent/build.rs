// SPDX-License-Identifier: GPL-2.0-or-later
//! Generates the handlers of the guest agent commands from their declarations in
//! `qapi/`, against the agent's generated headers in the configured QEMU tree of
//! `QEMU_BUILD_DIR` (configured with `--enable-guest-agent --agent-rust-lib`).

fn main() {
    qemu_monitor_layer_build::generate_agent();
}
