// SPDX-License-Identifier: GPL-2.0-or-later
//! A client of QEMU's guest agent (`qemu-ga`) on the host's end of its channel: the
//! `qapi` crate's QGA client, after the protocol's own synchronisation.
//!
//! The agent answers only once the guest has booted and opened its port; until then the
//! host's socket accepts and buffers. [`Agent::connect`] sends `guest-sync` with a new
//! id every second and reads until the answer to the latest arrives, so a stale answer
//! to an earlier one is never taken for a later command's.

use std::io::{self, BufReader};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use qapi::qga::guest_sync;
use qapi::{Command, ExecuteError, Qga, Stream};

/// The host name the test guest's init sets (`cargo xtask guest`), which
/// `guest-get-host-name`, `virsh guestinfo --hostname` and `uname -n` answer.
pub const GUEST_HOSTNAME: &str = "hello-guest";

/// The port name libvirt's `<channel><target type='virtio' name=...>` and QEMU's
/// `virtserialport,name=...` give the agent.
pub const AGENT_PORT: &str = "org.qemu.guest_agent.0";

/// The test guest's kernel command line: its console on the first serial port, and a
/// kernel panic ends the VM.
pub const GUEST_CMDLINE: &str = "console=ttyS0 panic=-1";

/// The environment naming the test guest `cargo xtask test` builds: its kernel, its
/// initramfs and the kernel's release.
pub const GUEST_ENV: [&str; 3] =
    ["QEMU_HELLO_GUEST_KERNEL", "QEMU_HELLO_GUEST_INITRD", "QEMU_HELLO_GUEST_RELEASE"];

/// A synchronised connection to a guest agent.
pub struct Agent {
    qga: Qga<Stream<BufReader<UnixStream>, UnixStream>>,
    /// From the first connection attempt to the agent's first answer.
    pub waited: Duration,
}

impl Agent {
    /// Connects to the agent's channel at `socket` and synchronises, waiting up to
    /// `timeout` for the guest to boot and its agent to answer.
    pub fn connect(socket: &Path, timeout: Duration) -> io::Result<Agent> {
        let started = Instant::now();
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(s) => break s,
                Err(e) if started.elapsed() > timeout => {
                    return Err(io::Error::new(e.kind(), format!("{}: {e}", socket.display())));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        let mut qga = Qga::new(Stream::new(BufReader::new(stream.try_clone()?), stream));
        for id in 1.. {
            if started.elapsed() > timeout {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the guest agent at {} did not answer within {timeout:?}", socket.display()),
                ));
            }
            qga.write_command(&guest_sync { id })?;
            // Answers to earlier ids may come first; a read that times out means this
            // one is not answered yet: ask again with the next id.
            loop {
                match qga.read_response::<guest_sync>() {
                    Ok(got) if got == id => {
                        qga.inner_mut()
                            .get_mut_read()
                            .get_mut()
                            .set_read_timeout(Some(Duration::from_secs(60)))?;
                        return Ok(Agent { qga, waited: started.elapsed() });
                    }
                    Ok(_) => continue,
                    Err(ExecuteError::Io(e))
                        if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
                    {
                        break;
                    }
                    Err(e) => return Err(io::Error::other(format!("guest-sync: {e}"))),
                }
            }
        }
        unreachable!("ids run out")
    }

    /// Runs `command` and returns its answer (an error reply as [`ExecuteError::Qapi`]).
    pub fn execute<C: Command>(&mut self, command: &C) -> Result<C::Ok, ExecuteError> {
        self.qga.execute(command)
    }
}

/// The environment variable naming the guest agent built with the agent crate's library
/// (`cargo xtask test` sets it to the build's `bin/qemu-ga`).
pub const AGENT_BINARY_ENV: &str = "QEMU_HELLO_AGENT";

/// The patched `qemu-ga` named by [`AGENT_BINARY_ENV`]; panics with what to do when it
/// is unset or not a file.
pub fn agent_binary_from_env() -> std::path::PathBuf {
    match std::env::var_os(AGENT_BINARY_ENV) {
        Some(p) if Path::new(&p).is_file() => p.into(),
        Some(p) => panic!("{AGENT_BINARY_ENV}={} is not a file", Path::new(&p).display()),
        None => panic!(
            "{AGENT_BINARY_ENV} is not set: these tests need the guest agent built with the agent \
             crate's library.\nRun them with `cargo xtask test`, which builds it (qemu-ga in the \
             build's install/bin)"
        ),
    }
}

/// A `qemu-ga` on this host, listening on a unix socket (`-m unix-listen`) instead of a
/// guest's virtio-serial port, logging verbosely (`-v`) to a file of its own; killed
/// when dropped.
pub struct LocalAgent {
    child: std::process::Child,
    dir: tempfile::TempDir,
    /// The connection, synchronised.
    pub agent: Agent,
}

impl LocalAgent {
    /// Starts `binary` and connects to it.
    pub fn start(binary: &Path) -> io::Result<LocalAgent> {
        LocalAgent::start_wrapped(binary, &[])
    }

    /// Starts `binary` under the command `wrapper` (`["valgrind", ...]`; none when
    /// empty) and connects to it.
    pub fn start_wrapped(binary: &Path, wrapper: &[std::ffi::OsString]) -> io::Result<LocalAgent> {
        let dir = tempfile::Builder::new().prefix("qemu-ga-").tempdir()?;
        let socket = dir.path().join("qga.sock");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = tools::command(&program.to_string_lossy()).map_err(io::Error::other)?;
                c.args(args).arg(binary);
                c
            }
            None => tools::built(binary),
        };
        let child = cmd
            .arg("-m")
            .arg("unix-listen")
            .arg("-p")
            .arg(&socket)
            .arg("-l")
            .arg(dir.path().join("qga.log"))
            .arg("-v")
            .arg("-f")
            .arg(dir.path().join("qga.pid"))
            .arg("-t")
            .arg(dir.path())
            .stdin(std::process::Stdio::null())
            // What it writes before it opens its log (its version, with -v).
            .stderr(std::fs::File::create(dir.path().join("qga.stderr"))?)
            .spawn()?;
        // Under valgrind the agent takes several seconds to start.
        let agent = Agent::connect(&socket, Duration::from_secs(120))?;
        Ok(LocalAgent { child, dir, agent })
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("qga.log")).unwrap_or_default()
    }

    /// Asks the agent to exit (SIGTERM, on which qemu-ga leaves its main loop and exits
    /// through its normal path) and waits for it.
    pub fn terminate(mut self, timeout: Duration) -> io::Result<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let killed = tools::command("kill").map_err(io::Error::other)?.args(["-TERM", &pid]).status()?;
        if !killed.success() {
            return Err(io::Error::other(format!("kill -TERM {pid}: {killed}")));
        }
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if started.elapsed() > timeout {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("qemu-ga did not exit within {timeout:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the agent still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for LocalAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
