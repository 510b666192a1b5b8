// SPDX-License-Identifier: GPL-2.0-or-later
//! `query-hello-vm` and `info hello-vm` against QEMU's own queries (`query-name`,
//! `query-uuid`, `query-status`, `query-memory-size-summary`, `query-cpus-fast`), field
//! by field, in the states and configurations a VM can be in: with and without `-name`
//! and `-uuid`; `-S` before `cont`, running, paused with `stop`, after `cont`; memory
//! with and without slots and with a hot-plugged DIMM; one and several vCPUs; `-M none`.

use harness::commands::{
    Cont, DeviceAdd, HumanMonitorCommand, ObjectAdd, QueryCpusFast, QueryHelloVm, QueryMemorySizeSummary,
    QueryName, QueryStatus, QueryUuid, Stop,
};
use harness::{Machine, Options, Qemu, Qmp, binary_from_env};
use serde_json::{Map, Value, json};

/// What QEMU's own five queries say, in query-hello-vm's shape.
fn expected(qmp: &mut Qmp) -> Value {
    let mut out = Map::new();
    let name = qmp.execute(&QueryName::default()).unwrap();
    if let Some(n) = name.get("name") {
        out.insert("name".into(), n.clone());
    }
    out.insert("uuid".into(), qmp.execute(&QueryUuid::default()).unwrap()["UUID"].clone());
    let status = qmp.execute(&QueryStatus::default()).unwrap();
    out.insert("status".into(), status["status"].clone());
    out.insert("running".into(), status["running"].clone());
    let mem = qmp.execute(&QueryMemorySizeSummary::default()).unwrap();
    let mut memory = Map::new();
    memory.insert("base".into(), mem["base-memory"].clone());
    if let Some(p) = mem.get("plugged-memory") {
        memory.insert("plugged".into(), p.clone());
    }
    out.insert("memory".into(), Value::Object(memory));
    let cpus = qmp.execute(&QueryCpusFast::default()).unwrap();
    let cpus: Vec<Value> = cpus
        .as_array()
        .expect("query-cpus-fast returns a list")
        .iter()
        .map(|c| json!({ "cpu-index": c["cpu-index"], "qom-path": c["qom-path"], "thread-id": c["thread-id"] }))
        .collect();
    out.insert("cpus".into(), Value::Array(cpus));
    Value::Object(out)
}

/// query-hello-vm, checked against QEMU's queries asked right after (every field, no
/// field more or less), and `info hello-vm` against it; returns it.
fn check(qmp: &mut Qmp, case: &str) -> Value {
    let ours = qmp.execute(&QueryHelloVm::default()).unwrap();
    let theirs = expected(qmp);
    assert_eq!(ours, theirs, "{case}: query-hello-vm differs from QEMU's own queries");
    let info = qmp.execute(&HumanMonitorCommand { command_line: "info hello-vm".into() }).unwrap();
    assert_eq!(info, info_text(&ours), "{case}: info hello-vm");
    ours
}

/// `info hello-vm` as it should print `v`, one figure per line.
fn info_text(v: &Value) -> String {
    let mut s = String::new();
    if let Some(n) = v.get("name") {
        s += &format!("name: {}\r\n", n.as_str().unwrap());
    }
    s += &format!(
        "uuid: {}\r\nstatus: {}\r\nrunning: {}\r\nbase memory: {}\r\n",
        v["uuid"].as_str().unwrap(),
        v["status"].as_str().unwrap(),
        v["running"],
        v["memory"]["base"]
    );
    if let Some(p) = v["memory"].get("plugged") {
        s += &format!("plugged memory: {p}\r\n");
    }
    for c in v["cpus"].as_array().unwrap() {
        s += &format!(
            "cpu {}: {} (thread {})\r\n",
            c["cpu-index"],
            c["qom-path"].as_str().unwrap(),
            c["thread-id"]
        );
    }
    s
}

fn start(machine: Machine, args: &[&str]) -> Qemu {
    let opts = Options { machine, args: args.iter().map(|s| s.to_string()).collect(), ..Options::default() };
    Qemu::start(&binary_from_env(), &opts).expect("QEMU starts")
}

/// `-M none`: no name, the nil UUID, no vCPU, running.
#[test]
fn machine_none() {
    let vm = start(Machine::None, &[]);
    let v = check(&mut vm.qmp().unwrap(), "-M none");
    assert!(v.get("name").is_none(), "{v}");
    assert_eq!(v["uuid"], "00000000-0000-0000-0000-000000000000", "{v}");
    assert_eq!(v["cpus"], json!([]), "{v}");
    assert_eq!(v["status"], "running", "{v}");
}

/// A named VM with a UUID, started paused (-S), through cont, stop and cont again.
#[test]
fn name_uuid_and_every_run_state() {
    let uuid = "9f6a3a52-5c5e-4d1b-9a4e-3a3c1f0b5e21";
    let vm = start(Machine::TcgPc, &["-name", "hello-guest", "-uuid", uuid, "-S"]);
    let mut qmp = vm.qmp().unwrap();
    let v = check(&mut qmp, "-S");
    assert_eq!((v["name"].as_str(), v["uuid"].as_str()), (Some("hello-guest"), Some(uuid)), "{v}");
    assert_eq!((v["status"].as_str(), v["running"].as_bool()), (Some("prelaunch"), Some(false)), "{v}");
    qmp.execute(&Cont::default()).unwrap();
    let v = check(&mut qmp, "after cont");
    assert_eq!((v["status"].as_str(), v["running"].as_bool()), (Some("running"), Some(true)), "{v}");
    qmp.execute(&Stop::default()).unwrap();
    let v = check(&mut qmp, "after stop");
    assert_eq!((v["status"].as_str(), v["running"].as_bool()), (Some("paused"), Some(false)), "{v}");
    qmp.execute(&Cont::default()).unwrap();
    let v = check(&mut qmp, "after cont again");
    assert_eq!(v["status"], "running", "{v}");
    assert_eq!(v["memory"]["base"], 128 << 20, "{v}");
    let cpus = v["cpus"].as_array().unwrap();
    assert_eq!(cpus.len(), 1, "{v}");
    assert!(cpus[0]["thread-id"].as_i64().unwrap() > 0, "{v}");
}

/// Four vCPUs, each on its own thread, in QEMU's order.
#[test]
fn several_vcpus() {
    let vm = start(Machine::TcgPc, &["-smp", "4"]);
    let v = check(&mut vm.qmp().unwrap(), "-smp 4");
    let cpus = v["cpus"].as_array().unwrap();
    let indexes: Vec<i64> = cpus.iter().map(|c| c["cpu-index"].as_i64().unwrap()).collect();
    assert_eq!(indexes, [0, 1, 2, 3], "{v}");
    let mut threads: Vec<i64> = cpus.iter().map(|c| c["thread-id"].as_i64().unwrap()).collect();
    threads.sort();
    threads.dedup();
    assert_eq!(threads.len(), 4, "a thread per vCPU under TCG: {v}");
}

/// Memory slots: plugged memory 0, then a hot-plugged 64 MiB DIMM.
#[test]
fn memory_slots_and_a_hotplugged_dimm() {
    let vm =
        start(Machine::Given, &["-M", "pc", "-accel", "tcg", "-nic", "none", "-m", "256M,slots=2,maxmem=1G"]);
    let mut qmp = vm.qmp().unwrap();
    let v = check(&mut qmp, "slots, nothing plugged");
    assert_eq!(v["memory"], json!({ "base": 256 << 20, "plugged": 0 }), "{v}");
    qmp.execute(&ObjectAdd(json!({ "qom-type": "memory-backend-ram", "id": "mem1", "size": 64 << 20 })))
        .unwrap();
    qmp.execute(&DeviceAdd(json!({ "driver": "pc-dimm", "id": "dimm1", "memdev": "mem1" }))).unwrap();
    let v = check(&mut qmp, "a DIMM plugged");
    assert_eq!(v["memory"], json!({ "base": 256 << 20, "plugged": 64 << 20 }), "{v}");
}
