// SPDX-License-Identifier: GPL-2.0-or-later
//! QMP `query-hello-vm` and HMP `info hello-vm` (qapi/query-hello-vm.json,
//! qapi/query-hello-vm.info.hx): the VM as QEMU's own queries report it, read through
//! the layer's safe accessors (`vm::`).

use core::fmt::Write;

use crate::prelude::*;

/// The VM's name, UUID, run state, memory and vCPUs.
pub fn query_hello_vm() -> Result<qapi::HelloVmInfo, CommandError> {
    let memory = vm::memory()?;
    Ok(qapi::HelloVmInfo {
        name: vm::name()?.map(GStr::from),
        uuid: vm::uuid()?,
        status: vm::run_state()?,
        running: vm::is_running()?,
        memory: qapi::HelloVmMemory { base: memory.base, plugged: memory.plugged },
        cpus: vm::cpus()?
            .into_iter()
            .map(|c| qapi::HelloVmCpu { cpu_index: c.index, qom_path: c.qom_path, thread_id: c.thread_id })
            .collect(),
    })
}

/// `info hello-vm`: the same, one figure per line.
pub fn hmp_info_hello_vm(mon: &mut Monitor) -> Result<(), CommandError> {
    if let Some(name) = vm::name()? {
        let _ = writeln!(mon, "name: {name}");
    }
    let status: qapi::RunState = vm::run_state()?;
    let memory = vm::memory()?;
    let _ = write!(
        mon,
        "uuid: {}\nstatus: {}\nrunning: {}\nbase memory: {}\n",
        vm::uuid()?.as_str(),
        status.name(),
        vm::is_running()?,
        memory.base
    );
    if let Some(plugged) = memory.plugged {
        let _ = writeln!(mon, "plugged memory: {plugged}");
    }
    for c in vm::cpus()? {
        let _ = writeln!(mon, "cpu {}: {} (thread {})", c.index, c.qom_path.as_str(), c.thread_id);
    }
    Ok(())
}
