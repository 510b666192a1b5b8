// SPDX-License-Identifier: GPL-2.0-or-later
//! A real guest with a guest agent, and the patched QEMU's monitor beside it: the tiny
//! Linux guest `cargo xtask guest` makes from Debian's packages (Debian's kernel,
//! busybox, the virtio modules and a `qemu-ga`), booted under TCG.
//!
//! - Directly: the agent's channel on a unix socket, driven by the `qapi` crate's QGA
//!   client: `guest-get-host-name` and `guest-get-osinfo` against what the guest was
//!   made with, and the monitor's `hello-world` on the same VM.
//! - Under a private libvirt, the domain's `<channel>` to the agent: `virsh
//!   qemu-agent-command` (plain, `--pretty`, `--timeout`), libvirt's own agent use
//!   (`virsh domtime`, `virsh guestinfo --hostname`), and `virsh qemu-monitor-command`
//!   on the same domain.
//!
//! The guest's agent is the patched `qemu-ga` of this build, with the agent crate's
//! commands (`agent/`): `guest-hello-world` (and a refused message),
//! `guest-query-hello-world` and `guest-hello-info` against what the guest was made with
//! are called both ways, and `guest-hello-panic` (the call's error, the agent answers the
//! next) through libvirt. The times printed are from QEMU's start (or `virsh start`) to
//! the agent's first answer, and per call.

#[path = "common/client.rs"]
mod client;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::agent::{AGENT_PORT, Agent, GUEST_CMDLINE, GUEST_ENV, GUEST_HOSTNAME};
use harness::commands::GuestHelloInfoJson;
use harness::libvirt::{Domain, Libvirt};
use harness::{Machine, Options, Qemu, binary_from_env};
use serde_json::{Value, json};

/// The guest's kernel, initramfs and kernel release, from `cargo xtask test`.
fn guest() -> (PathBuf, PathBuf, String) {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: these tests need the test guest.\n\
                 Run them with `cargo xtask test`, which builds it (`cargo xtask guest`)"
            )
        })
    };
    let [kernel, initrd, release] = GUEST_ENV.map(get);
    (PathBuf::from(kernel), PathBuf::from(initrd), release)
}

/// How long a guest may take from QEMU's start to its agent's first answer under TCG
/// on a loaded machine (about 10 s alone).
const BOOT: Duration = Duration::from_secs(120);

#[test]
fn the_guest_agent_answers_on_its_channel_and_the_monitor_beside_it() {
    let (kernel, initrd, release) = guest();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("qga.sock");
    let started = Instant::now();
    let qemu = Qemu::start(
        &binary_from_env(),
        &Options {
            machine: Machine::Given,
            args: vec![
                "-M".into(),
                "pc".into(),
                "-accel".into(),
                "tcg".into(),
                "-m".into(),
                "256".into(),
                "-nic".into(),
                "none".into(),
                "-kernel".into(),
                kernel.display().to_string(),
                "-initrd".into(),
                initrd.display().to_string(),
                "-append".into(),
                GUEST_CMDLINE.into(),
                "-chardev".into(),
                format!("socket,id=qga0,path={},server=on,wait=off", socket.display()),
                "-device".into(),
                "virtio-serial-pci".into(),
                "-device".into(),
                format!("virtserialport,chardev=qga0,name={AGENT_PORT}"),
            ],
            ..Options::default()
        },
    )
    .unwrap();
    let mut agent = Agent::connect(&socket, BOOT)
        .unwrap_or_else(|e| panic!("{e}\n--- QEMU's output ---\n{}", qemu.stdout()));
    eprintln!("guest agent: first answer {:.1} s after QEMU started", started.elapsed().as_secs_f64());

    let call = Instant::now();
    let name = agent.execute(&qapi::qga::guest_get_host_name {}).unwrap();
    eprintln!("guest agent: guest-get-host-name answered in {:.1} ms", call.elapsed().as_secs_f64() * 1e3);
    assert_eq!(name.host_name, GUEST_HOSTNAME);
    let os = agent.execute(&qapi::qga::guest_get_osinfo {}).unwrap();
    assert_eq!(os.kernel_release.as_deref(), Some(release.as_str()), "{os:?}");

    // The agent crate's command, inside the guest.
    require_our_agent();
    let call = Instant::now();
    let info = agent.execute(&GuestHelloInfoJson::default()).unwrap();
    eprintln!("guest agent: guest-hello-info answered in {:.1} ms", call.elapsed().as_secs_f64() * 1e3);
    assert_eq!((&info["hostname"], &info["kernel-release"]), (&json!(GUEST_HOSTNAME), &json!(release)));
    let uptime = info["uptime"].as_f64().unwrap_or_default();
    assert!(uptime > 0.0 && uptime < started.elapsed().as_secs_f64(), "{info}");

    // The monitor of the same VM: the host half.
    qemu.qmp().unwrap().execute(&client::HelloWorld::with("from beside the guest")).unwrap();
    assert!(qemu.stdout().contains("from beside the guest\n"), "{}", qemu.stdout());
}

/// The guest carries the agent of this build (`cargo xtask test` sets the variable when
/// it builds the guest around it).
fn require_our_agent() {
    assert!(
        std::env::var_os(harness::agent::AGENT_BINARY_ENV).is_some(),
        "{} is not set: the guest must carry this build's qemu-ga (run with `cargo xtask test`)",
        harness::agent::AGENT_BINARY_ENV
    );
}

fn text(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The example domain, booting the test guest, with the agent's channel.
fn guest_domain(name: &str, emulator: &std::path::Path, kernel: &str, initrd: &str) -> String {
    let xml = harness::libvirt::domain_xml(name, emulator)
        .replace("<memory unit='MiB'>128</memory>", "<memory unit='MiB'>256</memory>")
        .replace(
            "<boot dev='hd'/>",
            &format!("<kernel>{kernel}</kernel><initrd>{initrd}</initrd><cmdline>{GUEST_CMDLINE}</cmdline>"),
        )
        .replace(
            "</devices>",
            &format!(
                "  <channel type='unix'><target type='virtio' name='{AGENT_PORT}'/></channel>\n  </devices>"
            ),
        );
    assert!(xml.contains("<kernel>") && xml.contains("<channel"), "the example domain changed:\n{xml}");
    xml
}

#[test]
fn virsh_drives_the_guest_agent_and_the_monitor_of_one_domain() {
    let (kernel, initrd, release) = guest();
    let lv = Libvirt::start().unwrap_or_else(|e| panic!("cannot start a private libvirtd: {e}"));
    let emulator = lv.reachable_emulator(&binary_from_env()).unwrap();
    let kernel = lv.reachable_file(&kernel).unwrap();
    let initrd = lv.reachable_file(&initrd).unwrap();
    let xml =
        guest_domain("hello-guest", &emulator, &kernel.display().to_string(), &initrd.display().to_string());
    let dom = Domain::define_xml(&lv, "hello-guest", &xml).unwrap();
    let started = Instant::now();
    dom.start().unwrap();

    // Until the guest has booted, libvirt says the agent is not connected.
    let ping = loop {
        let out = lv
            .virsh(&["qemu-agent-command", "hello-guest", "--timeout", "5", r#"{"execute":"guest-ping"}"#])
            .unwrap();
        if out.status.success() {
            break out;
        }
        assert!(
            started.elapsed() < BOOT,
            "the agent did not answer within {BOOT:?}: {}\n--- domain log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            lv.domain_log("hello-guest")
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("virsh: the guest agent answered {:.1} s after virsh start", started.elapsed().as_secs_f64());
    assert_eq!(serde_json::from_str::<Value>(text(&ping).trim()).unwrap(), json!({"return": {}}));

    let call = Instant::now();
    let out = lv
        .virsh(&["qemu-agent-command", "hello-guest", "--pretty", r#"{"execute":"guest-get-host-name"}"#])
        .unwrap();
    eprintln!(
        "virsh: qemu-agent-command guest-get-host-name took {:.0} ms",
        call.elapsed().as_secs_f64() * 1e3
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text(&out).contains("\n  \"return\": {"), "--pretty: {:?}", text(&out));
    let v: Value = serde_json::from_str(&text(&out)).unwrap();
    assert_eq!(v["return"]["host-name"], GUEST_HOSTNAME);

    let out = lv.virsh(&["qemu-agent-command", "hello-guest", r#"{"execute":"guest-get-osinfo"}"#]).unwrap();
    let v: Value = serde_json::from_str(text(&out).trim()).unwrap();
    assert_eq!(v["return"]["kernel-release"], release.as_str());

    // libvirt's own use of the agent.
    let out = lv.virsh(&["guestinfo", "hello-guest", "--hostname"]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text(&out)
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["hostname", ":", GUEST_HOSTNAME]),
        "virsh guestinfo --hostname: {}",
        text(&out)
    );
    let out = lv.virsh(&["domtime", "hello-guest"]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seconds: i64 = text(&out)
        .trim()
        .strip_prefix("Time:")
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(|| panic!("virsh domtime: {:?}", text(&out)));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((seconds - now).abs() < 3600, "the guest's clock {seconds} vs the host's {now}");

    // The agent crate's commands, through libvirt.
    require_our_agent();
    let agent = |json: &str| -> Result<Value, String> {
        let call = Instant::now();
        let out = lv.virsh(&["qemu-agent-command", "hello-guest", json]).unwrap();
        eprintln!("virsh: qemu-agent-command {json} took {:.0} ms", call.elapsed().as_secs_f64() * 1e3);
        if out.status.success() {
            Ok(serde_json::from_str(text(&out).trim()).unwrap())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    assert_eq!(
        agent(r#"{"execute":"guest-hello-world","arguments":{"message":"hi"}}"#),
        Ok(json!({"return": {}}))
    );
    let refused = agent(r#"{"execute":"guest-hello-world","arguments":{"message":"a\u0007"}}"#).unwrap_err();
    assert!(refused.contains("control character U+0007 at character 1 (byte 1)"), "{refused}");
    assert_eq!(
        agent(r#"{"execute":"guest-query-hello-world"}"#),
        Ok(
            json!({"return": {"calls": 2, "printed": 1, "refused": 1, "failed-writes": 0, "last-message": "hi"}})
        )
    );
    let info = agent(r#"{"execute":"guest-hello-info"}"#).unwrap();
    assert_eq!(info["return"]["hostname"], GUEST_HOSTNAME);
    assert_eq!(info["return"]["kernel-release"], release.as_str());
    assert!(info["return"]["uptime"].as_f64().is_some_and(|u| u > 0.0), "{info}");
    // A panic in a command's Rust: that call's error, and the agent answers the next.
    let panicked = agent(r#"{"execute":"guest-hello-panic"}"#).unwrap_err();
    assert!(
        panicked.contains("command 'guest-hello-panic' panicked at agent/src/commands/guest_hello_panic.rs:")
            && panicked.trim_end().ends_with(": asked to panic"),
        "{panicked}"
    );
    assert_eq!(
        agent(r#"{"execute":"guest-query-hello-world"}"#).map(|v| v["return"]["calls"].clone()),
        Ok(json!(2))
    );

    // The same domain's monitor: the host half.
    let out = dom
        .monitor(&[], r#"{"execute":"hello-world","arguments":{"message":"one domain, both halves"}}"#)
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_str::<Value>(text(&out).trim()).unwrap()["return"], json!({}));
}
