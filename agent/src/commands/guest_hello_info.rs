// SPDX-License-Identifier: GPL-2.0-or-later
//! `guest-hello-info` (agent/qapi/guest-hello-info.json): the guest's host name, kernel
//! release and uptime, from its own `/proc`.

use crate::info;
use crate::prelude::*;

/// What the guest's kernel says of itself; a file that cannot be read or parsed is the
/// call's error, naming the file.
pub fn guest_hello_info() -> Result<qapi::GuestHelloInfo, CommandError> {
    let read = |path: &str| std::fs::read_to_string(path).map_err(|e| (path.to_string(), e.to_string()));
    let guest = info::read(read).map_err(CommandError::new)?;
    Ok(qapi::GuestHelloInfo {
        hostname: GString::from(guest.hostname),
        kernel_release: GString::from(guest.kernel_release),
        uptime: guest.uptime,
    })
}
