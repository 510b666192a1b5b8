// SPDX-License-Identifier: GPL-2.0-or-later
//! QMP `query-hello-vm` and HMP `info hello-vm` (qapi/query-hello-vm.json,
//! qapi/query-hello-vm.info.hx): the VM as QEMU's own queries report it, read through
//! the layer's safe accessors (`vm::`).

use core::fmt::Write;

use crate::prelude::*;

/// The VM's name, UUID, run state, memory and vCPUs (read under QEMU's big lock, which
/// the call's `bql` token proves is held).
pub fn query_hello_vm(bql: Bql<'_>) -> Result<qapi::HelloVmInfo, CommandError> {
    let memory = vm::memory(bql)?;
    Ok(qapi::HelloVmInfo {
        name: vm::name(bql)?,
        uuid: vm::uuid(bql)?,
        status: vm::run_state(bql)?,
        running: vm::is_running(bql)?,
        memory: qapi::HelloVmMemory { base: memory.base, plugged: memory.plugged },
        cpus: vm::cpus(bql)?
            .into_iter()
            .map(|c| qapi::HelloVmCpu { cpu_index: c.index, qom_path: c.qom_path, thread_id: c.thread_id })
            .collect(),
    })
}

/// `info hello-vm`: the same, one figure per line.
pub fn hmp_info_hello_vm(mon: &mut Monitor, bql: Bql<'_>) -> Result<(), CommandError> {
    if let Some(name) = vm::name(bql)? {
        let _ = writeln!(mon, "name: {}", name.as_str());
    }
    let status: qapi::RunState = vm::run_state(bql)?;
    let memory = vm::memory(bql)?;
    let _ = write!(
        mon,
        "uuid: {}\nstatus: {}\nrunning: {}\nbase memory: {}\n",
        vm::uuid(bql)?.as_str(),
        status.name(),
        vm::is_running(bql)?,
        memory.base
    );
    if let Some(plugged) = memory.plugged {
        let _ = writeln!(mon, "plugged memory: {plugged}");
    }
    for c in vm::cpus(bql)? {
        let _ = writeln!(mon, "cpu {}: {} (thread {})", c.index, c.qom_path.as_str(), c.thread_id);
    }
    Ok(())
}
