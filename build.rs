// SPDX-License-Identifier: GPL-2.0-or-later
//! Generates the handlers of our commands from their declarations in `qapi/` (see
//! `qemu-monitor-layer-build`), against the configured QEMU tree of `QEMU_BUILD_DIR`.

fn main() {
    qemu_monitor_layer_build::generate();
}
