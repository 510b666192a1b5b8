// SPDX-License-Identifier: GPL-2.0-or-later
//! QMP commands the tests and the driver send besides this crate's own (whose typed forms
//! the build writes from qapi/, tests/common/client.rs): malformed `hello-world` calls a
//! client could send, and QEMU's own commands.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// `hello-world` with arbitrary JSON arguments: wrong types, unknown members, and (with
/// `duplicate`) the same key twice.
#[derive(Debug, Clone)]
pub struct RawHelloWorld {
    pub members: Vec<(String, Value)>,
}

impl Serialize for RawHelloWorld {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.members.len()))?;
        for (k, v) in &self.members {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl qapi::Command for RawHelloWorld {
    type Ok = Value;
    const NAME: &'static str = "hello-world";
    const ALLOW_OOB: bool = false;
}

/// `hello-world` whose arguments object is given as raw JSON text, for input serde
/// cannot produce from Rust strings (lone surrogate escapes, duplicate keys).
#[derive(Debug, Clone)]
pub struct RawArgumentsHelloWorld {
    pub arguments: Box<serde_json::value::RawValue>,
}

impl RawArgumentsHelloWorld {
    /// The call with `arguments` sent as given; panics unless it is well-formed JSON.
    pub fn from_json(arguments: impl Into<String>) -> Self {
        let arguments = serde_json::value::RawValue::from_string(arguments.into()).expect("JSON text");
        RawArgumentsHelloWorld { arguments }
    }
}

impl Serialize for RawArgumentsHelloWorld {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.arguments.serialize(s)
    }
}

impl qapi::Command for RawArgumentsHelloWorld {
    type Ok = Value;
    const NAME: &'static str = "hello-world";
    const ALLOW_OOB: bool = false;
}

/// `query-qmp-schema`, returned as raw JSON (newer QEMUs have schema entries that older
/// typed bindings cannot parse).
#[derive(Serialize, Debug, Clone, Default)]
pub struct QueryQmpSchema {}

impl qapi::Command for QueryQmpSchema {
    type Ok = Vec<Value>;
    const NAME: &'static str = "query-qmp-schema";
    const ALLOW_OOB: bool = false;
}

/// `query-commands`, names only.
#[derive(Serialize, Debug, Clone, Default)]
pub struct QueryCommands {}

impl qapi::Command for QueryCommands {
    type Ok = Vec<Value>;
    const NAME: &'static str = "query-commands";
    const ALLOW_OOB: bool = false;
}

/// `query-name`, the cheapest built-in command: the baseline for latency comparisons.
#[derive(Serialize, Debug, Clone, Default)]
pub struct QueryName {}

impl qapi::Command for QueryName {
    type Ok = Value;
    const NAME: &'static str = "query-name";
    const ALLOW_OOB: bool = false;
}

/// `human-monitor-command`: runs an HMP command line, returns its output.
#[derive(Serialize, Debug, Clone)]
pub struct HumanMonitorCommand {
    #[serde(rename = "command-line")]
    pub command_line: String,
}

impl qapi::Command for HumanMonitorCommand {
    type Ok = String;
    const NAME: &'static str = "human-monitor-command";
    const ALLOW_OOB: bool = false;
}

/// QMP commands of QEMU's own that the tests send with JSON arguments and read as JSON:
/// the typed bindings of the `qapi` crate follow one schema, and a member another release
/// lacks (or adds) would make them refuse a reply that is right.
macro_rules! json_commands {
    ($($(#[$doc:meta])* $ty:ident = $name:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty(pub Value);

        impl Default for $ty {
            fn default() -> Self {
                $ty(Value::Object(Default::default()))
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        impl qapi::Command for $ty {
            type Ok = Value;
            const NAME: &'static str = $name;
            const ALLOW_OOB: bool = false;
        }
    )*};
}

json_commands! {
    /// `migrate` (`{"uri": ...}`).
    Migrate = "migrate";
    /// `migrate-incoming` on a QEMU started with `-incoming defer`.
    MigrateIncoming = "migrate-incoming";
    /// `query-migrate`: the status, times and counts of the last migration.
    QueryMigrate = "query-migrate";
    /// `query-status`: the run state.
    QueryStatus = "query-status";
    /// `query-machines`: the machine types and the aliases that name them.
    QueryMachines = "query-machines";
    /// `pmemsave`: guest physical memory to a file.
    Pmemsave = "pmemsave";
    /// `stop`: pause the VM.
    Stop = "stop";
    /// `cont`: resume it.
    Cont = "cont";
    /// `query-hello-vm`: the VM as our command reads it.
    QueryHelloVm = "query-hello-vm";
    /// `hello-world`, its arguments as JSON: for the driver (`cargo xtask run`, the
    /// bench), which is built before any QEMU tree. The tests call this crate's commands
    /// through the typed client its build writes from qapi/ (tests/common/client.rs).
    HelloWorldJson = "hello-world";
    /// `query-hello-world`, its reply as JSON (the driver's; see `HelloWorldJson`).
    QueryHelloWorldJson = "query-hello-world";
    /// The agent crate's `guest-hello-world`, its arguments as JSON (the driver's, and the
    /// guest's tests, which are another crate's: the agent crate's own tests use the typed
    /// client its build writes).
    GuestHelloWorldJson = "guest-hello-world";
    /// The agent crate's `guest-query-hello-world`, its reply as JSON.
    GuestQueryHelloWorldJson = "guest-query-hello-world";
    /// The agent crate's `guest-hello-info`, its reply as JSON.
    GuestHelloInfoJson = "guest-hello-info";
    /// The agent crate's `guest-hello-panic` (an error reply).
    GuestHelloPanicJson = "guest-hello-panic";
    /// `query-uuid`: the VM's UUID.
    QueryUuid = "query-uuid";
    /// `query-memory-size-summary`: base and plugged memory.
    QueryMemorySizeSummary = "query-memory-size-summary";
    /// `query-cpus-fast`: the vCPUs.
    QueryCpusFast = "query-cpus-fast";
    /// `object-add` (`{"qom-type": ..., "id": ..., ...}`).
    ObjectAdd = "object-add";
    /// `device_add` (`{"driver": ..., "id": ..., ...}`).
    DeviceAdd = "device_add";
    /// `ringbuf-read` (`{"device": ..., "size": ...}`).
    RingbufRead = "ringbuf-read";
}
