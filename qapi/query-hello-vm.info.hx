    {
        .name       = "hello-vm",
        .args_type  = "",
        .params     = "",
        .help       = "show the VM's name, UUID, state, memory and vCPUs",
        .cmd        = hmp_info_hello_vm,
    },

SRST
  ``info hello-vm``
    Show what ``query-hello-vm`` returns, one figure per line: the
    VM's name (when it has one), UUID, run state, whether it runs, its
    base and plugged memory in bytes, and each vCPU with its QOM path
    and host thread.
ERST
