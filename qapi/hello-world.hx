    {
        .name       = "hello-world",
        .args_type  = "chardev:-cs,message:S?",
        .params     = "[-c chardev] [message]",
        .help       = "print a message on QEMU's standard output or a chardev",
        .cmd        = hmp_hello_world,
    },

SRST
``hello-world`` [``-c`` *chardev*] [*message*]
  Print *message*, the rest of the command line, as one line on QEMU's
  standard output; without a message, print ``Hello, world``.  With
  ``-c`` *chardev*, write the line to the character device of that id
  instead.  This is the human monitor's form of the QMP command
  ``hello-world`` and follows its rules: a message with a control
  character is refused, as is an unknown device.
ERST
