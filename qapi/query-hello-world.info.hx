    {
        .name       = "hello-world",
        .args_type  = "",
        .params     = "",
        .help       = "show what hello-world has done since QEMU started",
        .cmd        = hmp_info_hello_world,
    },

SRST
  ``info hello-world``
    Show what ``hello-world`` has done since QEMU started, over QMP and
    HMP together: calls, lines printed, refused messages, failed writes,
    and the last message printed.
ERST
