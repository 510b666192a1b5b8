    {
        .name       = "hello-world",
        .args_type  = "message:S?",
        .params     = "[message]",
        .help       = "print a message on QEMU's standard output",
        .cmd        = hmp_hello_world,
    },

SRST
``hello-world`` [*message*]
  Print *message*, the rest of the command line, as one line on QEMU's
  standard output; without a message, print ``Hello, world``.  This is
  the human monitor's form of the QMP command ``hello-world`` and
  follows its rules: a message with a control character is refused.
ERST
