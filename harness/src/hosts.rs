// SPDX-License-Identifier: GPL-2.0-or-later
//! Two libvirt hosts on one machine, for `virsh migrate` between them as an operator
//! moves a VM from host to host.
//!
//! Each host is a network namespace made here (`ip netns add`), joined to the other by a
//! veth pair, with an address that exists only inside those two namespaces (10.77.0.1
//! and 10.77.0.2): nothing can reach them from the machine's own namespace, and nothing
//! sent to them leaves. In each runs a system-mode `libvirtd` (root) with a hostname and
//! host UUID of its own and private copies of libvirt's system directories
//! ([`Libvirt::start_in_netns`]). On drop: every domain of each host destroyed, the
//! daemons stopped, the namespaces (and with them the veth pair) deleted.

use std::path::Path;

use crate::libvirt::Libvirt;

/// The system directories a host's daemon gets private copies of (they must exist).
const SYSTEM_DIRS: [&str; 5] =
    ["/etc/libvirt", "/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt"];

/// Two libvirt hosts, `hosts[0]` at 10.77.0.1 and `hosts[1]` at 10.77.0.2.
pub struct TwoHosts {
    pub hosts: Vec<Libvirt>,
    namespaces: Vec<String>,
    veth: Vec<String>,
    /// System directories made here because the machine lacked them (removed on drop).
    made: Vec<&'static str>,
}

/// Each host's address, inside its namespace.
pub const ADDRESSES: [&str; 2] = ["10.77.0.1", "10.77.0.2"];

fn ip(args: &[&str]) -> Result<(), String> {
    let out = tools::cmd("ip").args(args).output().map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

impl TwoHosts {
    /// Makes the namespaces and the link, and starts a daemon in each. Needs root.
    pub fn start() -> Result<TwoHosts, String> {
        if !tools::is_root() {
            return Err("two libvirt hosts need root (network namespaces, system-mode daemons)".into());
        }
        tools::ensure_program("ip").map_err(|e| e.to_string())?;
        let tag = std::process::id();
        let mut two = TwoHosts {
            hosts: Vec::new(),
            namespaces: vec![format!("qhr-{tag}-a"), format!("qhr-{tag}-b")],
            // Interface names stay under 16 bytes.
            veth: vec![format!("qhr{}a", tag % 1_000_000), format!("qhr{}b", tag % 1_000_000)],
            made: Vec::new(),
        };
        let veth = two.veth.clone();
        for ns in &two.namespaces {
            ip(&["netns", "add", ns])?;
        }
        ip(&["link", "add", &veth[0], "type", "veth", "peer", "name", &veth[1]])?;
        for i in 0..2 {
            let ns = two.namespaces[i].clone();
            ip(&["link", "set", &veth[i], "netns", &ns])?;
            ip(&["-n", &ns, "addr", "add", &format!("{}/24", ADDRESSES[i]), "dev", &veth[i]])?;
            ip(&["-n", &ns, "link", "set", &veth[i], "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        for dir in SYSTEM_DIRS {
            if !Path::new(dir).is_dir() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{dir}: {e}"))?;
                two.made.push(dir);
            }
        }
        for (i, name) in ["a", "b"].iter().enumerate() {
            let dir = tempfile::Builder::new().prefix("lvh").tempdir_in("/tmp").map_err(|e| e.to_string())?;
            let uuid = format!("00000000-0000-4000-8000-00000000000{}", i + 1);
            let host = Libvirt::start_in_netns(
                dir,
                &two.namespaces[i],
                ADDRESSES[i],
                &format!("qhr-host-{name}"),
                &uuid,
            )?;
            two.hosts.push(host);
        }
        Ok(two)
    }

    /// The URI another host's `virsh migrate` names host `i` by.
    pub fn uri(&self, i: usize) -> String {
        format!("qemu+tcp://{}/system", ADDRESSES[i])
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        for host in &self.hosts {
            let listed = host.virsh(&["list", "--all", "--name"]).map(|o| o.stdout).unwrap_or_default();
            for name in String::from_utf8_lossy(&listed).lines().filter(|l| !l.trim().is_empty()) {
                let _ = host.virsh(&["destroy", name.trim()]);
                let _ = host.virsh(&["undefine", name.trim()]);
            }
        }
        // The daemons stop (by pid) as their guards drop.
        self.hosts.clear();
        for ns in &self.namespaces {
            let _ = ip(&["netns", "del", ns]);
        }
        // A pair that never moved into its namespaces (a failed start).
        if Path::new("/sys/class/net").join(&self.veth[0]).exists() {
            let _ = ip(&["link", "del", &self.veth[0]]);
        }
        for dir in &self.made {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
