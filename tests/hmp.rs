// SPDX-License-Identifier: GPL-2.0-or-later
//! HMP `hello-world`, through QMP's `human-monitor-command` and through a real readline
//! monitor socket.

use harness::commands::HumanMonitorCommand;
use harness::{Machine, Options, Qemu, binary_from_env};

fn start(machine: Machine) -> Qemu {
    let opts = Options { machine, hmp_socket: true, ..Options::default() };
    Qemu::start(&binary_from_env(), &opts).expect("QEMU starts")
}

fn hmc(line: &str) -> HumanMonitorCommand {
    HumanMonitorCommand { command_line: line.to_string() }
}

#[test]
fn through_human_monitor_command() {
    let mut vm = start(Machine::None);
    let mut qmp = vm.qmp().unwrap();
    assert_eq!(qmp.execute(&hmc("hello-world several words here, no quotes")).unwrap(), "");
    assert_eq!(qmp.execute(&hmc("hello-world")).unwrap(), "");
    assert_eq!(qmp.execute(&hmc("hello-world   \"quoted\"  %s")).unwrap(), "");
    assert_eq!(
        vm.stdout(),
        "several words here, no quotes\nHello, world\n\"quoted\"  %s\n",
        "HMP takes the rest of the line as the message"
    );
    // HMP errors come back as monitor output, through hmp_handle_error.
    let out = qmp.execute(&hmc("hello-world bell\u{7} here")).unwrap();
    assert_eq!(
        out,
        "Error: Parameter 'message' contains the control character U+0007 at character 4 (byte 4); \
         control characters are not allowed\r\n"
    );
    assert_eq!(vm.stdout().lines().count(), 3, "a refused message prints nothing");
    let help = qmp.execute(&hmc("help hello-world")).unwrap();
    assert_eq!(
        help,
        "hello-world [-c chardev] [message] -- print a message on QEMU's standard output or a chardev\r\n"
    );
    assert!(vm.is_running());
}

#[test]
fn through_a_readline_monitor_on_a_tcg_pc_vm() {
    let mut vm = start(Machine::TcgPc);
    let mut hmp = vm.hmp().expect("readline monitor");
    assert_eq!(hmp.command("hello-world We love qemu, from the readline monitor").unwrap(), "");
    assert_eq!(hmp.command("hello-world").unwrap(), "");
    let help = hmp.command("help hello-world").unwrap();
    assert_eq!(
        help,
        "hello-world [-c chardev] [message] -- print a message on QEMU's standard output or a chardev"
    );
    // A control character cannot be typed here: the readline monitor takes TAB, ESC
    // and the others as editing keys. `through_human_monitor_command` covers refusals.
    assert_eq!(vm.stdout(), "We love qemu, from the readline monitor\nHello, world\n");
    assert!(vm.is_running());
}
