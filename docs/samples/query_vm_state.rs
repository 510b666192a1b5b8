use crate::prelude::*;

/// The VM's run state and its number of vCPUs, read under the big lock (the `bql` token).
pub fn query_vm_state(bql: Bql<'_>) -> Result<qapi::VmState, CommandError> {
    Ok(qapi::VmState { status: vm::run_state(bql)?, vcpus: vm::cpus(bql)?.len() as i64 })
}
