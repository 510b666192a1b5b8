// SPDX-License-Identifier: GPL-2.0-or-later
//! Running VMs move onto our emulator and back, with the emulator a fleet already runs:
//! the peer (`QEMU_HELLO_PEER_BINARY`, from `cargo xtask peer`) is Debian's own
//! `qemu-system-x86` of the same release, or for 10.2.2 (no Debian build for this
//! machine) upstream QEMU built without the library.
//!
//! `live_migration_both_ways`: one TCG VM, the same machine type and device set on both
//! sides, goes peer → ours → peer live while it runs, then peer → ours → peer again
//! paused. After each live hop the VM runs (`query-status`); after each paused hop its
//! memory, dumped with QEMU's own `pmemsave`, is byte-identical to the dump before the
//! hop. On our side `hello-world` and `query-hello-world` answer; on the peer's,
//! `hello-world` does not exist. Each hop prints its time, downtime and bytes sent.
//!
//! `save_and_restore_through_libvirt`: a domain of a private libvirt runs on the peer;
//! `virsh save`, then `virsh restore --xml` with our emulator in `<emulator>`, driven with
//! `virsh qemu-monitor-command`; then saved again and restored onto the peer.
//!
//! `our_release_is_the_peers_or_later`: `query-version` (the QMP greeting) on both:
//! ours is the peer's release or later; when both come from the same Debian source
//! version (7.2: bookworm's `qemu` and ours, `QEMU_HELLO_PEER_SAME_DEBIAN`), the release
//! is the same (7.2.22, with every stable release Debian applies) and ours names the
//! peer's package string plus this project.
//!
//! `virsh_migrate_between_two_libvirt_hosts`: as an operator moves a VM from host to
//! host. Two system-mode libvirt daemons, each in a network namespace of its own made by
//! the test (a veth pair between them, addresses only inside those namespaces, distinct
//! hostnames and host UUIDs: `harness::hosts`), one running the peer, the other ours.
//! `virsh domcapabilities --emulatorbin` resolves `pc` and `q35` to the same machine
//! types for both binaries; a domain `virsh migrate --live`s from the peer's host to ours
//! and back (on ours `hello-world` and `query-hello-vm` answer through `virsh
//! qemu-monitor-command`, on the peer's `hello-world` is CommandNotFound, the domain runs
//! after each hop), then paused both ways with its memory byte-identical (`pmemsave`
//! through `virsh qemu-monitor-command`). Each hop prints its time and downtime.
//!
//! `cargo xtask test` runs all four for each release it tests.

#[path = "common/client.rs"]
mod client;

use client::{HelloWorld, QueryHelloWorld};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::commands::{
    Cont, Migrate, MigrateIncoming, Pmemsave, QueryMachines, QueryMigrate, QueryStatus, Stop,
};
use harness::hosts::TwoHosts;
use harness::libvirt::{Domain, Libvirt};
use harness::qapi::{ErrorClass, ExecuteError};
use harness::{Machine, Options, Qemu, Qmp, binary_from_env};
use serde_json::{Value, json};

const GUEST_MIB: u64 = 128;

fn peer_from_env() -> (PathBuf, String) {
    let binary = std::env::var_os("QEMU_HELLO_PEER_BINARY").map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "QEMU_HELLO_PEER_BINARY is not set: it names the emulator to migrate with \
             (`cargo xtask peer --qemu VERSION` prints it; `cargo xtask test` sets it)"
        )
    });
    assert!(binary.is_file(), "QEMU_HELLO_PEER_BINARY={} is not a file", binary.display());
    let name = std::env::var("QEMU_HELLO_PEER_NAME").unwrap_or_else(|_| binary.display().to_string());
    (binary, name)
}

/// The machine type both sides run: the versioned type the peer's `pc` stands for (a
/// bare `pc` means each side's own newest type, and a VM cannot change type in flight).
/// Our emulator must know it too.
fn common_machine_type(peer: &Path, ours: &Path) -> String {
    let machines = |binary: &Path| -> Vec<Value> {
        let vm = Qemu::start(binary, &Options::default()).expect("QEMU starts with -M none");
        let mut qmp = vm.qmp().expect("handshake");
        match qmp.execute(&QueryMachines::default()).expect("query-machines") {
            Value::Array(list) => list,
            other => panic!("query-machines returned {other}"),
        }
    };
    let peer_machines = machines(peer);
    let versioned = peer_machines
        .iter()
        .find(|m| m["alias"] == "pc")
        .and_then(|m| m["name"].as_str())
        .unwrap_or_else(|| panic!("the peer has no `pc` alias: {peer_machines:?}"))
        .to_string();
    let ours_machines = machines(ours);
    assert!(
        ours_machines.iter().any(|m| m["name"] == versioned.as_str()),
        "our emulator lacks the peer's machine type {versioned}"
    );
    versioned
}

/// The VM, as both sides run it: a TCG `pc` guest with 2 vCPUs, VGA, a serial port,
/// virtio RNG and balloon, and a USB tablet; no disk (SeaBIOS idles).
fn start_vm(binary: &Path, machine: &str, incoming: bool) -> Qemu {
    let mut args: Vec<String> = [
        "-M",
        machine,
        "-accel",
        "tcg",
        "-m",
        "128",
        "-smp",
        "2",
        "-device",
        "VGA",
        "-chardev",
        "null,id=serial0",
        "-device",
        "isa-serial,chardev=serial0",
        "-device",
        "virtio-rng-pci",
        "-device",
        "virtio-balloon-pci",
        "-device",
        "piix3-usb-uhci",
        "-device",
        "usb-tablet",
    ]
    .map(String::from)
    .to_vec();
    if incoming {
        args.extend(["-incoming", "defer"].map(String::from));
    }
    Qemu::start(binary, &Options { machine: Machine::Given, args, ..Options::default() })
        .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()))
}

fn status(qmp: &mut Qmp) -> String {
    let s = qmp.execute(&QueryStatus::default()).expect("query-status");
    s["status"].as_str().unwrap_or_else(|| panic!("query-status: {s}")).to_string()
}

/// Polls `query-status` until it is no longer `from`; returns the new status.
fn status_after(qmp: &mut Qmp, from: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = status(qmp);
        if s != from {
            return s;
        }
        assert!(Instant::now() < deadline, "still {from} after 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback").local_addr().unwrap().port()
}

/// A VM and its QMP client, with what it runs on.
struct Side {
    vm: Qemu,
    qmp: Qmp,
    ours: bool,
}

/// Migrates `from` to a new VM on `to_binary` over loopback; returns the destination
/// with its status after the migration, and prints the hop's figures.
fn hop(label: &str, from: &mut Side, to_binary: &Path, ours: bool, machine: &str) -> (Side, String) {
    let vm = start_vm(to_binary, machine, true);
    let mut qmp = vm.qmp().expect("destination handshake");
    let uri = format!("tcp:127.0.0.1:{}", free_port());
    qmp.execute(&MigrateIncoming(json!({ "uri": uri }))).expect("migrate-incoming");
    from.qmp.execute(&Migrate(json!({ "uri": uri }))).expect("migrate");
    let deadline = Instant::now() + Duration::from_secs(300);
    let info = loop {
        let info = from.qmp.execute(&QueryMigrate::default()).expect("query-migrate");
        match info["status"].as_str() {
            Some("completed") => break info,
            Some("failed" | "cancelled") => panic!(
                "{label}: migration {info}\n--- destination stderr ---\n{}\n--- source stderr ---\n{}",
                vm.stderr(),
                from.vm.stderr()
            ),
            _ => {}
        }
        assert!(Instant::now() < deadline, "{label}: migration not done after 300 s: {info}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = status_after(&mut qmp, "inmigrate");
    assert_eq!(self::status(&mut from.qmp), "postmigrate", "{label}: the source after the migration");
    println!(
        "{label}: {} ms in all, downtime {} ms, {:.1} MiB sent",
        info["total-time"],
        info["downtime"],
        info["ram"]["transferred"].as_f64().unwrap_or(0.0) / 1048576.0
    );
    (Side { vm, qmp, ours }, status)
}

/// On our emulator hello-world prints and counts; on the peer it does not exist.
fn check_commands(side: &mut Side, message: &str) {
    if side.ours {
        let before = side.vm.stdout();
        assert_eq!(side.qmp.execute(&HelloWorld::with(message)).expect("hello-world"), json!({}));
        assert_eq!(&side.vm.stdout()[before.len()..], format!("{message}\n"));
        let info = side.qmp.execute(&QueryHelloWorld::default()).expect("query-hello-world");
        assert_eq!((info.calls, info.printed, info.last_message.as_deref()), (1, 1, Some(message)));
    } else {
        match side.qmp.execute(&HelloWorld::with(message)) {
            Err(ExecuteError::Qapi(e)) => assert_eq!(e.class, ErrorClass::CommandNotFound, "{}", e.desc),
            other => panic!("the peer answered hello-world: {other:?}"),
        }
    }
}

fn pmemsave(side: &mut Side, path: &Path) -> Vec<u8> {
    let args = json!({ "val": 0, "size": GUEST_MIB << 20, "filename": path.display().to_string() });
    side.qmp.execute(&Pmemsave(args)).expect("pmemsave");
    let bytes = fs::read(path).expect("pmemsave wrote its file");
    assert_eq!(bytes.len() as u64, GUEST_MIB << 20, "{}", path.display());
    fs::remove_file(path).unwrap();
    bytes
}

#[test]
#[ignore = "needs QEMU_HELLO_BINARY and QEMU_HELLO_PEER_BINARY; cargo xtask test runs it"]
fn live_migration_both_ways() {
    let ours = binary_from_env();
    let (peer, peer_name) = peer_from_env();
    let machine = common_machine_type(&peer, &ours);
    println!("peer: {peer_name}\nmachine type on both sides: {machine}");
    let dumps = tempfile::tempdir().unwrap();

    let vm = start_vm(&peer, &machine, false);
    let qmp = vm.qmp().expect("handshake");
    let mut side = Side { vm, qmp, ours: false };
    assert_eq!(status(&mut side.qmp), "running");
    // Let SeaBIOS run a little first: the guest has state worth moving.
    std::thread::sleep(Duration::from_millis(500));

    // Live, while the VM runs: onto our emulator and back.
    let mut n = 0;
    for (to, ours_side) in [(&ours, true), (&peer, false)] {
        n += 1;
        let label = format!("hop {n} live, {} -> {}", name(side.ours), name(ours_side));
        let (mut next, status) = hop(&label, &mut side, to, ours_side, &machine);
        assert_eq!(status, "running", "{label}: the VM does not run after the hop");
        check_commands(&mut next, &format!("hello from hop {n}"));
        assert_eq!(self::status(&mut next.qmp), "running", "{label}: the VM stopped after the commands");
        side = next;
    }

    // Paused: the same memory on both sides of each hop.
    side.qmp.execute(&Stop::default()).expect("stop");
    let mut before = pmemsave(&mut side, &dumps.path().join("before"));
    // What the comparison is worth: the guest's memory is not what a VM that has not
    // run yet holds, so a hop that lost it would show.
    let fresh = {
        let vm = start_vm(&ours, &machine, false);
        let qmp = vm.qmp().expect("handshake");
        let mut fresh = Side { vm, qmp, ours: true };
        fresh.qmp.execute(&Stop::default()).expect("stop");
        pmemsave(&mut fresh, &dumps.path().join("fresh"))
    };
    let pages = |m: &[u8]| m.chunks(4096).filter(|p| p.iter().any(|&b| b != 0)).count();
    let differing = before.chunks(4096).zip(fresh.chunks(4096)).filter(|(a, b)| a != b).count();
    println!(
        "guest memory: {} non-zero pages of 4 KiB, {differing} of them unlike a VM that just started",
        pages(&before)
    );
    assert!(differing > 0, "the guest's memory is that of a VM that just started: nothing to compare");
    for (to, ours_side) in [(&ours, true), (&peer, false)] {
        n += 1;
        let label = format!("hop {n} paused, {} -> {}", name(side.ours), name(ours_side));
        let (mut next, status) = hop(&label, &mut side, to, ours_side, &machine);
        assert_eq!(status, "paused", "{label}");
        let after = pmemsave(&mut next, &dumps.path().join(format!("after-{n}")));
        let first_difference = before.iter().zip(&after).position(|(a, b)| a != b);
        assert!(first_difference.is_none(), "{label}: guest memory differs at {first_difference:#x?}");
        println!("{label}: {GUEST_MIB} MiB of guest memory byte-identical (pmemsave)");
        check_commands(&mut next, &format!("hello from hop {n}"));
        before = after;
        side = next;
    }
    side.qmp.execute(&Cont::default()).expect("cont");
    assert_eq!(status(&mut side.qmp), "running", "the VM does not run after cont");
}

/// The version a binary's QMP greeting announces: the (major, minor, micro) release and
/// the package string.
fn announced(binary: &Path) -> ((i64, i64, i64), String) {
    let vm = Qemu::start(binary, &Options { machine: Machine::None, ..Options::default() })
        .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()));
    let (_qmp, greeting) = vm.qmp_with_greeting(0).expect("greeting");
    let v = greeting.version;
    ((v.qemu.major, v.qemu.minor, v.qemu.micro), v.package)
}

#[test]
#[ignore = "needs QEMU_HELLO_BINARY and QEMU_HELLO_PEER_BINARY; cargo xtask test runs it"]
fn our_release_is_the_peers_or_later() {
    let (peer, peer_name) = peer_from_env();
    let (ours_release, ours_package) = announced(&binary_from_env());
    let (peer_release, peer_package) = announced(&peer);
    println!(
        "ours: {ours_release:?} {ours_package:?}\npeer ({peer_name}): {peer_release:?} {peer_package:?}"
    );
    assert!(ours_release >= peer_release, "ours is {ours_release:?}, older than the peer's {peer_release:?}");
    if std::env::var_os("QEMU_HELLO_PEER_SAME_DEBIAN").is_some() {
        let debian = std::env::var("QEMU_HELLO_DEBIAN").expect("QEMU_HELLO_DEBIAN names our Debian version");
        // A binary rebuild of the same source (a binNMU) appends `+b<n>` to its version.
        let peer_source = peer_package.rsplit_once("+b").map_or(peer_package.as_str(), |(source, n)| {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) { source } else { &peer_package }
        });
        assert_eq!(peer_source, format!("Debian {debian}"), "the peer is not built from Debian's {debian}");
        assert_eq!(ours_release, peer_release, "the same Debian source, another release");
        assert_eq!(ours_package, format!("Debian {debian} + qemu-hello-rs"));
    }
}

fn name(ours: bool) -> &'static str {
    if ours { "ours" } else { "peer" }
}

fn virsh_ok(lv: &Libvirt, args: &[&str]) -> String {
    let out = lv.virsh(args).expect("virsh runs");
    assert!(
        out.status.success(),
        "virsh {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The saved domain's XML with `emulator` in `<emulator>`.
fn xml_with_emulator(lv: &Libvirt, image: &Path, emulator: &Path, dest: &Path) {
    let xml = virsh_ok(lv, &["save-image-dumpxml", &image.display().to_string()]);
    let start = xml.find("<emulator>").expect("the saved XML has <emulator>");
    let end = xml[start..].find("</emulator>").expect("</emulator>") + start + "</emulator>".len();
    let xml = format!("{}<emulator>{}</emulator>{}", &xml[..start], emulator.display(), &xml[end..]);
    fs::write(dest, xml).unwrap();
}

/// Saves the running domain and restores it onto `emulator`; prints both times.
fn save_restore(lv: &Libvirt, dom: &Domain, dir: &Path, emulator: &Path, label: &str) {
    let image = dir.join(format!("{label}.save"));
    let xml = dir.join(format!("{label}.xml"));
    let t = Instant::now();
    virsh_ok(lv, &["save", &dom.name, &image.display().to_string()]);
    let saved = t.elapsed();
    assert_eq!(dom.state(), "shut off", "after virsh save");
    xml_with_emulator(lv, &image, emulator, &xml);
    let t = Instant::now();
    virsh_ok(lv, &["restore", &image.display().to_string(), "--xml", &xml.display().to_string()]);
    println!(
        "{label}: virsh save {} ms, virsh restore --xml {} ms",
        saved.as_millis(),
        t.elapsed().as_millis()
    );
    assert_eq!(dom.state(), "running", "{label}: after virsh restore");
    let live = virsh_ok(lv, &["dumpxml", &dom.name]);
    assert!(
        live.contains(&format!("<emulator>{}</emulator>", emulator.display())),
        "{label}: the restored domain does not run {}:\n{live}",
        emulator.display()
    );
    fs::remove_file(&image).unwrap();
}

#[test]
#[ignore = "needs root, libvirt, QEMU_HELLO_BINARY and QEMU_HELLO_PEER_BINARY; cargo xtask test runs it"]
fn save_and_restore_through_libvirt() {
    let (peer, peer_name) = peer_from_env();
    let lv = Libvirt::start().unwrap_or_else(|e| panic!("a private libvirtd: {e}"));
    let ours = lv.reachable_emulator(&binary_from_env()).expect("our emulator for libvirt");
    let peer = lv.reachable_emulator(&peer).expect("the peer for libvirt");
    println!("peer: {peer_name}");
    // The daemon runs as `nobody`: it writes the save images.
    let dir = tempfile::Builder::new().prefix("hello-save-").tempdir().unwrap();
    let nobody = harness::repo::stdout_of(tools::cmd("id").args(["-u", "nobody"]));
    std::os::unix::fs::chown(dir.path(), Some(nobody.trim().parse().expect("nobody's uid")), None).unwrap();

    let dom = Domain::define(&lv, "hello-migrate", &peer).expect("virsh define");
    dom.start().expect("the domain starts on the peer");
    let not_found = dom.monitor(&[], r#"{"execute":"hello-world"}"#).expect("virsh runs");
    assert!(
        String::from_utf8_lossy(&not_found.stdout).contains("CommandNotFound"),
        "the peer answered hello-world: {not_found:?}"
    );

    save_restore(&lv, &dom, dir.path(), &ours, "peer -> ours");
    let reply = dom
        .monitor(
            &["--pretty"],
            r#"{"execute":"hello-world","arguments":{"message":"restored onto qemu-hello-rs"}}"#,
        )
        .expect("virsh runs");
    let reply: Value = serde_json::from_slice(&reply.stdout).expect("JSON from virsh --pretty");
    assert_eq!(reply["return"], json!({}), "{reply}");
    let info = dom.monitor(&["--return-value"], r#"{"execute":"query-hello-world"}"#).expect("virsh runs");
    let info: Value = serde_json::from_slice(&info.stdout).expect("JSON from virsh --return-value");
    assert_eq!((&info["calls"], &info["last-message"]), (&json!(1), &json!("restored onto qemu-hello-rs")));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lv.domain_log(&dom.name).contains("restored onto qemu-hello-rs\n") {
        assert!(
            Instant::now() < deadline,
            "the line is not in the domain's log:\n{}",
            lv.domain_log(&dom.name)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    save_restore(&lv, &dom, dir.path(), &peer, "ours -> peer");
    let not_found = dom.monitor(&[], r#"{"execute":"hello-world"}"#).expect("virsh runs");
    assert!(String::from_utf8_lossy(&not_found.stdout).contains("CommandNotFound"), "{not_found:?}");
    let status = dom.monitor(&["--return-value"], r#"{"execute":"query-status"}"#).expect("virsh runs");
    let status: Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(status["status"], "running", "{status}");
}

/// `virsh domcapabilities --emulatorbin BINARY --machine MACHINE` on `lv`: the machine
/// type libvirt resolves `machine` to for that emulator.
fn resolved_machine(lv: &Libvirt, binary: &Path, machine: &str) -> String {
    let caps = virsh_ok(
        lv,
        &[
            "domcapabilities",
            "--emulatorbin",
            &binary.display().to_string(),
            "--arch",
            "x86_64",
            "--virttype",
            "qemu",
            "--machine",
            machine,
        ],
    );
    let start = caps.find("<machine>").expect("<machine> in domcapabilities") + "<machine>".len();
    caps[start..caps[start..].find("</machine>").unwrap() + start].to_string()
}

/// The running domain `name`'s migratable XML on `lv`, with `emulator` in `<emulator>`.
fn migratable_xml(lv: &Libvirt, name: &str, emulator: &Path) -> String {
    let xml = virsh_ok(lv, &["dumpxml", "--migratable", name]);
    let start = xml.find("<emulator>").expect("<emulator> in the domain XML");
    let end = xml[start..].find("</emulator>").expect("</emulator>") + start + "</emulator>".len();
    format!("{}<emulator>{}</emulator>{}", &xml[..start], emulator.display(), &xml[end..])
}

/// `virsh migrate [--live] NAME DEST-URI --xml …` from host `from` of `hosts` to the
/// other, the domain then running `emulator`; returns the hop's `domjobinfo --completed`
/// (printed with the hop's time).
fn virsh_migrate(
    hosts: &TwoHosts,
    from: usize,
    name: &str,
    emulator: &Path,
    live: bool,
    label: &str,
) -> String {
    let (src, to) = (&hosts.hosts[from], 1 - from);
    let xml = tempfile::NamedTempFile::new().unwrap();
    fs::write(xml.path(), migratable_xml(src, name, emulator)).unwrap();
    let xml = xml.path().display().to_string();
    let uri = hosts.uri(to);
    let mut args = vec!["migrate"];
    if live {
        args.push("--live");
    }
    args.extend(["--xml", &xml, name, &uri]);
    let t = Instant::now();
    virsh_ok(src, &args);
    let took = t.elapsed();
    let job = virsh_ok(&hosts.hosts[to], &["domjobinfo", "--completed", name]);
    let field = |key: &str| {
        job.lines()
            .find(|l| l.starts_with(key))
            .map(|l| l[key.len()..].split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    println!(
        "{label}: virsh migrate {} ms; job {}, downtime {}",
        took.as_millis(),
        field("Time elapsed:"),
        field("Total downtime:")
    );
    let live_xml = virsh_ok(&hosts.hosts[to], &["dumpxml", name]);
    assert!(
        live_xml.contains(&format!("<emulator>{}</emulator>", emulator.display())),
        "{label}: the domain does not run {} after the hop",
        emulator.display()
    );
    assert!(
        virsh_ok(src, &["list", "--all", "--name"]).lines().all(|l| l.trim() != name),
        "{label}: the domain is still on the source host"
    );
    job
}

/// On host `at`, our emulator answers `hello-world` and `query-hello-vm` through `virsh
/// qemu-monitor-command`; the peer answers CommandNotFound.
fn check_virsh_commands(lv: &Libvirt, name: &str, ours: bool, message: &str) {
    let call = format!(r#"{{"execute":"hello-world","arguments":{{"message":"{message}"}}}}"#);
    let reply = virsh_ok(lv, &["qemu-monitor-command", name, &call]);
    let reply: Value = serde_json::from_str(&reply).expect("JSON from virsh");
    if ours {
        assert_eq!(reply["return"], json!({}), "{reply}");
        let vm = virsh_ok(
            lv,
            &["qemu-monitor-command", name, "--return-value", r#"{"execute":"query-hello-vm"}"#],
        );
        let vm: Value = serde_json::from_str(&vm).expect("JSON from virsh --return-value");
        assert_eq!(vm["name"], json!(name), "query-hello-vm: {vm}");
        assert_eq!(vm["status"], json!("running"), "query-hello-vm: {vm}");
    } else {
        assert_eq!(
            reply["error"]["class"],
            json!("CommandNotFound"),
            "the peer answered hello-world: {reply}"
        );
    }
}

/// `pmemsave` of the guest's memory through `virsh qemu-monitor-command` on `lv`.
fn virsh_pmemsave(lv: &Libvirt, name: &str, path: &Path) -> Vec<u8> {
    let call = json!({
        "execute": "pmemsave",
        "arguments": { "val": 0, "size": 128u64 << 20, "filename": path.display().to_string() }
    });
    let reply = virsh_ok(lv, &["qemu-monitor-command", name, &call.to_string()]);
    assert!(reply.contains("\"return\""), "pmemsave: {reply}");
    let bytes = fs::read(path).expect("pmemsave wrote its file");
    fs::remove_file(path).unwrap();
    bytes
}

#[test]
#[ignore = "needs root, libvirt, QEMU_HELLO_BINARY and QEMU_HELLO_PEER_BINARY; cargo xtask test runs it"]
fn virsh_migrate_between_two_libvirt_hosts() {
    let (peer, peer_name) = peer_from_env();
    let ours = binary_from_env();
    let hosts = TwoHosts::start().unwrap_or_else(|e| panic!("two libvirt hosts: {e}"));
    println!(
        "peer: {peer_name}\nhosts: {} (the peer's) and {} (ours), daemons up in {} / {} ms",
        hosts.uri(0),
        hosts.uri(1),
        hosts.hosts[0].startup.as_millis(),
        hosts.hosts[1].startup.as_millis()
    );
    let (a, b) = (&hosts.hosts[0], &hosts.hosts[1]);

    // libvirt sees in ours the machine types it sees in Debian's binary.
    for machine in ["pc", "q35"] {
        let (theirs, mine) = (resolved_machine(a, &peer, machine), resolved_machine(b, &ours, machine));
        println!("domcapabilities --machine {machine}: peer {theirs}, ours {mine}");
        assert_eq!(mine, theirs, "libvirt resolves {machine} differently for our emulator");
        assert_eq!(resolved_machine(b, &ours, &theirs), theirs, "ours lacks {theirs}");
    }

    let name = "hello-hosts";
    let xml = tempfile::NamedTempFile::new().unwrap();
    fs::write(xml.path(), harness::libvirt::domain_xml(name, &peer)).unwrap();
    virsh_ok(a, &["create", &xml.path().display().to_string()]);
    check_virsh_commands(a, name, false, "on the peer");
    std::thread::sleep(Duration::from_millis(500));

    // Live, while it runs: onto our host and back.
    virsh_migrate(&hosts, 0, name, &ours, true, "hop 1 live, peer host -> our host");
    assert_eq!(virsh_ok(b, &["domstate", name]).trim(), "running");
    check_virsh_commands(b, name, true, "hello after hop 1");
    virsh_migrate(&hosts, 1, name, &peer, true, "hop 2 live, our host -> peer host");
    assert_eq!(virsh_ok(a, &["domstate", name]).trim(), "running");
    check_virsh_commands(a, name, false, "after hop 2");

    // Paused: the same memory on both sides of each hop.
    let dumps = tempfile::tempdir().unwrap();
    virsh_ok(a, &["suspend", name]);
    let mut before = virsh_pmemsave(a, name, &dumps.path().join("before"));
    for (n, from, emulator) in [(3, 0, &ours), (4, 1, &peer)] {
        let label = format!("hop {n} paused, {} host -> {} host", name_of(from), name_of(1 - from));
        virsh_migrate(&hosts, from, name, emulator, false, &label);
        let to = &hosts.hosts[1 - from];
        assert_eq!(virsh_ok(to, &["domstate", name]).trim(), "paused", "{label}");
        let after = virsh_pmemsave(to, name, &dumps.path().join(format!("after-{n}")));
        let first_difference = before.iter().zip(&after).position(|(x, y)| x != y);
        assert!(first_difference.is_none(), "{label}: guest memory differs at {first_difference:#x?}");
        println!("{label}: {} MiB of guest memory byte-identical (pmemsave)", after.len() >> 20);
        before = after;
    }
    virsh_ok(a, &["resume", name]);
    assert_eq!(virsh_ok(a, &["domstate", name]).trim(), "running");
}

fn name_of(host: usize) -> &'static str {
    if host == 0 { "peer" } else { "our" }
}
