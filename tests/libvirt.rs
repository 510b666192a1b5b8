// SPDX-License-Identifier: GPL-2.0-or-later
//! The real thing: a private libvirtd starts the patched QEMU named in the domain XML's
//! `<emulator>`, and `virsh qemu-monitor-command` drives hello-world in all four forms,
//! reads `query-hello-world` (`--pretty`) and `info hello-world` (`--hmp`), and
//! `virsh qemu-monitor-event` catches a `HELLO_WORLD` event. A second domain (two vCPUs,
//! its serial console logged to a file) checks `query-hello-vm` against `virsh dominfo`
//! and `virsh domstate` around `virsh suspend` / `virsh resume`, and `hello-world` with
//! the serial port's chardev reaching that log.
//! Needs root and libvirt's packages (`cargo xtask test` installs them).

use std::time::Duration;

use harness::binary_from_env;
use harness::libvirt::{Domain, Libvirt};
use serde_json::{Value, json};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json_of(o: &std::process::Output) -> Value {
    serde_json::from_str(stdout(o).trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", stdout(o)))
}

/// Where each of `expected` stands as a whole line in this run of the domain's log
/// (after the last "starting up" header); panics unless each is there exactly once.
fn line_positions(log: &str, expected: &[&str]) -> Vec<usize> {
    let run = log.rsplit_once("starting up").map_or(log, |(_, r)| r);
    let lines: Vec<&str> = run.lines().collect();
    expected
        .iter()
        .map(|e| {
            let at: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| *l == e).map(|(i, _)| i).collect();
            assert_eq!(at.len(), 1, "{e:?} must be one whole line of the domain log:\n{log}");
            at[0]
        })
        .collect()
}

#[test]
fn virsh_qemu_monitor_command_drives_hello_world() {
    let lv = Libvirt::start().unwrap_or_else(|e| panic!("cannot start a private libvirtd: {e}"));
    let emulator = lv.reachable_emulator(&binary_from_env()).unwrap();
    let dom = Domain::define(&lv, "hello-e2e", &emulator).unwrap();
    dom.start().unwrap();

    let out = dom.monitor(&[], r#"{"execute":"query-commands"}"#).unwrap();
    assert!(out.status.success());
    let names: Vec<Value> =
        json_of(&out)["return"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect();
    assert!(names.contains(&json!("hello-world")), "query-commands: {names:?}");

    let out = dom
        .monitor(
            &["--pretty"],
            r#"{"execute":"hello-world","arguments":{"message":"first, through --pretty"}}"#,
        )
        .unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("\n  \"return\": {"), "--pretty output: {:?}", stdout(&out));
    assert_eq!(json_of(&out)["return"], json!({}));

    let out = dom.monitor(&["--return-value"], r#"{"execute":"hello-world"}"#).unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "{}");

    let out = dom.monitor(&["--hmp"], "hello-world third, several words through --hmp").unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "");

    let out = dom.monitor(&["--hmp"], "help hello-world").unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "hello-world [-c chardev] [message] -- print a message on QEMU's standard output or a chardev"
    );

    // Errors: without --return-value virsh exits 0 and prints the error JSON.
    let out = dom.monitor(&[], r#"{"execute":"hello-world","arguments":{"message":42}}"#).unwrap();
    assert!(out.status.success());
    let err = &json_of(&out)["error"];
    assert_eq!(err["class"], "GenericError");
    assert_eq!(err["desc"], "Invalid parameter type for 'message', expected: string");

    let out =
        dom.monitor(&[], r#"{"execute":"hello-world","arguments":{"message":"REFUSED\u001b[2J"}}"#).unwrap();
    let err = &json_of(&out)["error"];
    assert_eq!(err["class"], "GenericError");
    assert_eq!(
        err["desc"],
        "Parameter 'message' contains the control character U+001B at character 7 (byte 7); \
         control characters are not allowed"
    );
    // With --return-value an error makes virsh exit 1.
    let out = dom
        .monitor(&["--return-value"], r#"{"execute":"hello-world","arguments":{"message":"REFUSED\n"}}"#)
        .unwrap();
    assert!(!out.status.success(), "--return-value on an error exits non-zero");
    let out = dom.monitor(&["--hmp"], "hello-world REFUSED\u{7}").unwrap();
    assert!(stdout(&out).starts_with("Error: Parameter 'message' contains the control character U+0007"));

    // The domain log (through virtlogd) has each printed line, in call order, and
    // nothing from refused calls.
    let expected = ["first, through --pretty", "Hello, world", "third, several words through --hmp"];
    let lines = harness::wait_for_lines(&lv.log_path(&dom.name), Duration::from_secs(10), |l| {
        expected.iter().all(|e| l.iter().any(|x| x == e))
    });
    let log = lv.domain_log(&dom.name);
    let at = line_positions(&log, &expected);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "lines out of call order: {at:?}\n{log}");
    assert!(!log.contains("REFUSED"), "a refused message reached the log");
    let problems = harness::libvirt::problem_lines(&log);
    assert!(
        problems.is_empty(),
        "the domain log reports problems (a clean start has none): {problems:?}\n{log}"
    );
    assert!(lines.iter().any(|l| l.contains("tainted: custom-monitor")), "libvirt marks the domain tainted");

    // What hello-world has done, through --pretty and --hmp: three lines printed, three
    // messages refused (the wrong type never reached the command).
    let out = dom.monitor(&["--pretty"], r#"{"execute":"query-hello-world"}"#).unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("\n    \"calls\": 6"), "--pretty output: {:?}", stdout(&out));
    assert_eq!(
        json_of(&out)["return"],
        json!({"calls": 6, "printed": 3, "refused": 3, "failed-writes": 0,
               "last-message": "third, several words through --hmp"})
    );
    let out = dom.monitor(&["--hmp"], "info hello-world").unwrap();
    assert_eq!(
        stdout(&out).trim_end(),
        "calls: 6\r\nprinted: 3\r\nrefused: 3\r\nfailed writes: 0\r\nlast message: third, several words through --hmp"
    );

    // virsh qemu-monitor-event catches HELLO_WORLD from a call made meanwhile. The
    // listener subscribes some time after it starts, so call until it has caught one.
    let mut listener = lv
        .virsh_command(&[
            "qemu-monitor-event",
            "--domain",
            &dom.name,
            "--event",
            "HELLO_WORLD",
            "--timeout",
            "60",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("virsh qemu-monitor-event starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut calls = 0;
    let status = loop {
        if let Some(status) = listener.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "qemu-monitor-event caught nothing in 60 s");
        calls += 1;
        let call = format!(r#"{{"execute":"hello-world","arguments":{{"message":"event probe {calls}"}}}}"#);
        assert!(dom.monitor(&[], &call).unwrap().status.success());
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut caught = String::new();
    std::io::Read::read_to_string(&mut listener.stdout.take().unwrap(), &mut caught).unwrap();
    assert!(status.success(), "qemu-monitor-event: {status}, {caught:?}");
    assert!(
        caught.contains("event HELLO_WORLD") && caught.contains(r#"{"message":"event probe "#),
        "qemu-monitor-event printed {caught:?}"
    );
    eprintln!("qemu-monitor-event caught {:?} after {calls} calls", caught.trim());

    assert_eq!(dom.state(), "running");
}

/// `virsh dominfo`'s fields, by name.
fn dominfo(lv: &Libvirt, name: &str) -> std::collections::BTreeMap<String, String> {
    let out = lv.virsh(&["dominfo", name]).unwrap();
    assert!(out.status.success(), "virsh dominfo: {}", String::from_utf8_lossy(&out.stderr));
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn query_hello_vm_agrees_with_virsh_and_hello_world_reaches_the_serial_log() {
    let lv = Libvirt::start().unwrap_or_else(|e| panic!("cannot start a private libvirtd: {e}"));
    let emulator = lv.reachable_emulator(&binary_from_env()).unwrap();
    let name = "hello-vm-e2e";
    // The serial log goes beside the domain log: `Libvirt::start` made that directory
    // (owned by nobody) before the daemon started.
    let serial_log = lv.log_path(&format!("{name}-serial0"));
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(lv.log_dir()).unwrap());
    assert_ne!(owner, 0, "{} must belong to the daemon's user, not root", lv.log_dir().display());
    let xml =
        harness::libvirt::domain_xml(name, &emulator).replace("<vcpu>1</vcpu>", "<vcpu>2</vcpu>").replace(
            "<serial type='pty'><target port='0'/></serial>",
            &format!(
                "<serial type='pty'><log file='{}' append='off'/><target port='0'/></serial>",
                serial_log.display()
            ),
        );
    assert!(
        xml.contains("<vcpu>2</vcpu>") && xml.contains("<log file="),
        "the example domain changed:\n{xml}"
    );
    let dom = Domain::define_xml(&lv, name, &xml).unwrap();
    dom.start().unwrap();

    let vm = |dom: &Domain| -> Value {
        let out = dom.monitor(&["--return-value"], r#"{"execute":"query-hello-vm"}"#).unwrap();
        assert!(out.status.success(), "query-hello-vm: {}", String::from_utf8_lossy(&out.stderr));
        json_of(&out)
    };
    let info = dominfo(&lv, name);
    let v = vm(&dom);
    assert_eq!(v["name"], info["Name"], "{v}");
    assert_eq!(v["uuid"], info["UUID"], "{v}");
    let kib: u64 = info["Max memory"].trim_end_matches(" KiB").parse().unwrap();
    assert_eq!(v["memory"]["base"], kib * 1024, "{v} vs {info:?}");
    let cpus = v["cpus"].as_array().unwrap();
    assert_eq!(cpus.len().to_string(), info["CPU(s)"], "{v}");
    assert!(cpus.iter().all(|c| c["thread-id"].as_i64().unwrap() > 0), "{v}");
    let states = [("running", true, "running"), ("paused", false, "paused")];
    let check_state = |dom: &Domain, (status, running, virsh): (&str, bool, &str)| {
        let v = vm(dom);
        assert_eq!((v["status"].as_str(), v["running"].as_bool()), (Some(status), Some(running)), "{v}");
        assert_eq!(dom.state(), virsh);
        assert_eq!(dominfo(&lv, name)["State"], virsh);
    };
    check_state(&dom, states[0]);
    assert!(lv.virsh(&["suspend", name]).unwrap().status.success());
    check_state(&dom, states[1]);
    assert!(lv.virsh(&["resume", name]).unwrap().status.success());
    check_state(&dom, states[0]);
    let out = dom.monitor(&["--hmp"], "info hello-vm").unwrap();
    assert!(
        stdout(&out).starts_with(&format!("name: {name}\r\nuuid: {}\r\nstatus: running\r\n", info["UUID"]))
    );

    // libvirt names the serial port's chardev charserial0.
    let line = "to the serial console, through libvirt";
    let call =
        json!({ "execute": "hello-world", "arguments": { "message": line, "chardev": "charserial0" } });
    let out = dom.monitor(&["--return-value"], &call.to_string()).unwrap();
    assert!(out.status.success(), "{} {}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let out = dom.monitor(&["--hmp"], "hello-world -c charserial0 and through --hmp").unwrap();
    assert_eq!(stdout(&out).trim(), "");
    let lines = harness::wait_for_lines(&serial_log, Duration::from_secs(10), |l| {
        l.iter().any(|x| x == "and through --hmp")
    });
    let at: Vec<usize> = [line, "and through --hmp"]
        .iter()
        .map(|e| lines.iter().position(|l| l == e).unwrap_or_else(|| panic!("{e:?} not in {lines:?}")))
        .collect();
    assert!(at[0] < at[1], "{lines:?}");
    assert!(!lv.domain_log(name).contains(line), "the line went to the serial port, not QEMU's stdout");
    let out = dom.monitor(&["--return-value"], r#"{"execute":"query-hello-world"}"#).unwrap();
    assert_eq!(json_of(&out)["printed"], 2);
}

/// A checkout under a private home (`/root` is mode 700 on a fresh Debian) cannot be
/// reached by the private daemon's `nobody`: an emulator there, and a launcher script
/// naming one there (the migration peer's), are copied where it can run them, each to a
/// place of its own.
#[test]
fn an_emulator_behind_a_launcher_in_a_private_home_is_made_reachable() {
    use std::os::unix::fs::PermissionsExt;
    let lv = Libvirt::start().unwrap_or_else(|e| panic!("a private libvirtd: {e}"));
    let home = tempfile::Builder::new().prefix("private-home-").tempdir_in("/root").unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let real = home.path().join("real-qemu");
    std::fs::copy(binary_from_env(), &real).unwrap();
    let modules = home.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    std::fs::write(modules.join("note"), "a module dir the launcher names").unwrap();
    let launcher = home.path().join("qemu-system-x86_64");
    std::fs::write(
        &launcher,
        format!("#!/bin/sh\nQEMU_MODULE_DIR='{}' exec '{}' \"$@\"\n", modules.display(), real.display()),
    )
    .unwrap();
    std::fs::set_permissions(&launcher, std::fs::Permissions::from_mode(0o755)).unwrap();

    // `-no-user-config`, as libvirt starts every QEMU: without it QEMU opens its default
    // configuration file under the build's prefix, which is in the private home too (a
    // fresh system found that: EACCES there is fatal, where ENOENT is not).
    let as_nobody = |p: &std::path::Path| {
        tools::cmd("runuser")
            .args(["-u", "nobody", "--"])
            .arg(p)
            .args(["-no-user-config", "--version"])
            .output()
            .unwrap()
    };
    assert!(!as_nobody(&launcher).status.success(), "the private home is reachable: the test proves nothing");
    let reachable = lv.reachable_emulator(&launcher).expect("a reachable copy");
    assert_ne!(reachable, launcher);
    let out = as_nobody(&reachable);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).starts_with("QEMU emulator version"), "{}", stdout(&out));
    let script = std::fs::read_to_string(&reachable).unwrap();
    assert!(!script.contains(home.path().to_str().unwrap()), "{script}");

    // A second emulator there (a migration's peer) gets a copy of its own: it once
    // overwrote the first, and a restore "onto ours" ran the peer (a fresh system found it).
    let peer = home.path().join("peer").join("qemu-system-x86_64");
    std::fs::create_dir(peer.parent().unwrap()).unwrap();
    std::fs::write(&peer, "#!/bin/sh\necho the peer\n").unwrap();
    std::fs::set_permissions(&peer, std::fs::Permissions::from_mode(0o755)).unwrap();
    let peer_reachable = lv.reachable_emulator(&peer).expect("a reachable copy of the peer");
    assert_ne!(peer_reachable, reachable);
    assert_eq!(stdout(&as_nobody(&peer_reachable)), "the peer\n");
    let out = as_nobody(&reachable);
    assert!(stdout(&out).starts_with("QEMU emulator version"), "the first copy was overwritten: {out:?}");
}
