// SPDX-License-Identifier: GPL-2.0-or-later
//! Boots a (patched) QEMU for tests and demos and talks to its monitors.
//!
//! [`Qemu`] owns a temp dir holding the monitor sockets and QEMU's stdout/stderr files,
//! starts QEMU with a deadline, and kills it on drop; when dropped during a panic it
//! prints what QEMU wrote, so a failing test shows QEMU's side. [`Qemu::qmp`] returns a
//! client of the maintained `qapi` crate after the capabilities handshake; [`commands`]
//! has the `hello-world` command types, well-formed and deliberately malformed.

pub mod agent;
pub mod commands;
pub mod declared;
pub mod events;
pub mod hosts;
pub mod libvirt;
pub mod memcheck;
pub mod repo;

/// The QMP client crate, re-exported so tests match on its error types.
pub use qapi;

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A connected, negotiated QMP client.
pub type Qmp = qapi::Qmp<qapi::Stream<events::EventFilter<BufReader<UnixStream>>, UnixStream>>;

/// The environment variable naming the patched QEMU binary for integration tests.
pub const BINARY_ENV: &str = "QEMU_HELLO_BINARY";

/// How long QEMU may take to open its monitor sockets (generous: under valgrind it
/// takes tens of seconds; a QEMU that fails to start is noticed as soon as it exits).
const START_DEADLINE: Duration = Duration::from_secs(120);

/// The machine QEMU emulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    /// `-M none`: no guest at all; starts in milliseconds, needs no firmware.
    None,
    /// A TCG `pc` VM with SeaBIOS and no disk: the BIOS idles.
    TcgPc,
    /// No machine options of the harness's: [`Options::args`] gives them.
    Given,
}

/// Where QEMU's standard output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stdout {
    /// A file in the temp dir, readable with [`Qemu::stdout`].
    File,
    /// Any file, such as `/dev/full`.
    Path(PathBuf),
    /// A pipe whose read end is closed before QEMU starts: every write gets EPIPE.
    BrokenPipe,
}

/// How to start QEMU.
#[derive(Clone, Debug)]
pub struct Options {
    pub machine: Machine,
    pub stdout: Stdout,
    /// Also open a human monitor (`-mon mode=readline`) on a socket.
    pub hmp_socket: bool,
    /// How many extra QMP monitor sockets to open besides the main one.
    pub extra_qmp: usize,
    /// A command QEMU runs under, such as `["valgrind", "--leak-check=full"]`.
    pub wrapper: Vec<std::ffi::OsString>,
    /// More of QEMU's command line, after the machine's.
    pub args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            machine: Machine::None,
            stdout: Stdout::File,
            hmp_socket: false,
            extra_qmp: 0,
            wrapper: Vec::new(),
            args: Vec::new(),
        }
    }
}

/// A running QEMU, killed when dropped.
pub struct Qemu {
    child: Child,
    dir: tempfile::TempDir,
    binary: PathBuf,
}

/// The patched binary named by [`BINARY_ENV`]; panics with how to get one if unset.
pub fn binary_from_env() -> PathBuf {
    match std::env::var_os(BINARY_ENV) {
        Some(p) if Path::new(&p).is_file() => PathBuf::from(p),
        Some(p) => panic!("{BINARY_ENV}={} is not a file", Path::new(&p).display()),
        None => panic!(
            "{BINARY_ENV} is not set: these tests need the patched QEMU.\n\
             Run them with `cargo xtask test`, which builds it, or set \
             {BINARY_ENV}=$(cargo xtask build | tail -n 1)"
        ),
    }
}

impl Qemu {
    /// Starts `binary` with `opts` and waits until its monitor sockets accept connections.
    pub fn start(binary: &Path, opts: &Options) -> io::Result<Qemu> {
        let dir = tempfile::Builder::new().prefix("qemu-hello-").tempdir()?;
        let mut cmd = match opts.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = tools::command(&program.to_string_lossy()).map_err(io::Error::other)?;
                c.args(args).arg(binary);
                c
            }
            None => tools::built(binary),
        };
        cmd.args(["-nodefaults", "-display", "none", "-no-user-config"]);
        match opts.machine {
            Machine::None => cmd.args(["-M", "none"]),
            Machine::TcgPc => cmd.args(["-M", "pc", "-accel", "tcg", "-m", "128", "-nic", "none"]),
            Machine::Given => &mut cmd,
        };
        cmd.args(&opts.args);
        let mut sockets = vec![dir.path().join("qmp.sock")];
        cmd.arg("-qmp").arg(server_arg(&sockets[0]));
        for i in 0..opts.extra_qmp {
            let s = dir.path().join(format!("qmp{i}.sock"));
            cmd.arg("-qmp").arg(server_arg(&s));
            sockets.push(s);
        }
        if opts.hmp_socket {
            let s = dir.path().join("hmp.sock");
            cmd.arg("-chardev").arg(format!("socket,id=hmp,path={},server=on,wait=off", s.display()));
            cmd.args(["-mon", "chardev=hmp,mode=readline"]);
            sockets.push(s);
        }
        let stdout = match &opts.stdout {
            Stdout::File => Stdio::from(fs::File::create(dir.path().join("stdout"))?),
            Stdout::Path(p) => Stdio::from(fs::OpenOptions::new().write(true).open(p)?),
            Stdout::BrokenPipe => {
                let (reader, writer) = io::pipe()?;
                drop(reader);
                Stdio::from(writer)
            }
        };
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(fs::File::create(dir.path().join("stderr"))?);
        let child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {}: {e}", binary.display())))?;
        let mut qemu = Qemu { child, dir, binary: binary.to_path_buf() };
        for s in &sockets {
            qemu.wait_for_socket(s)?;
        }
        Ok(qemu)
    }

    fn wait_for_socket(&mut self, path: &Path) -> io::Result<()> {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "QEMU exited ({status}) before opening {}; stderr:\n{}",
                    path.display(),
                    self.stderr()
                )));
            }
            if path.exists() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("QEMU did not open {} within {START_DEADLINE:?}", path.display()),
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// A QMP client on the main monitor (`index` 0) or an extra one (1..), after the
    /// capabilities handshake. Each QMP socket takes one client at a time.
    pub fn qmp_at(&self, index: usize) -> io::Result<Qmp> {
        self.qmp_with_greeting(index).map(|(qmp, _)| qmp)
    }

    /// Like [`Qemu::qmp_at`], also returning the greeting QEMU sent.
    pub fn qmp_with_greeting(&self, index: usize) -> io::Result<(Qmp, qapi::qmp::QMP)> {
        let name = if index == 0 { "qmp.sock".to_string() } else { format!("qmp{}.sock", index - 1) };
        let stream = connect(&self.dir.path().join(name))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let reader = events::EventFilter::new(BufReader::new(stream.try_clone()?));
        let mut qmp = qapi::Qmp::new(qapi::Stream::new(reader, stream));
        let greeting = qmp.handshake().map_err(io::Error::other)?;
        Ok((qmp, greeting))
    }

    /// A QMP client on the main monitor (`index` 0) or an extra one, with the `oob`
    /// capability enabled (QEMU offers it on a socket monitor, which has an I/O thread
    /// of its own); fails if QEMU does not offer it.
    pub fn qmp_oob(&self, index: usize) -> io::Result<Qmp> {
        let name = if index == 0 { "qmp.sock".to_string() } else { format!("qmp{}.sock", index - 1) };
        let stream = connect(&self.dir.path().join(name))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let reader = events::EventFilter::new(BufReader::new(stream.try_clone()?));
        let mut qmp = qapi::Qmp::new(qapi::Stream::new(reader, stream));
        let greeting = qmp.read_capabilities()?;
        // The crate's untagged enum reads "oob" as `Unknown("oob")`, not `OutOfBand`.
        let offered = greeting.capabilities.iter().any(|c| match c {
            qapi::qmp::QmpCapability::OutOfBand => true,
            qapi::qmp::QmpCapability::Unknown(v) => v == "oob",
        });
        if !offered {
            return Err(io::Error::other(format!("QEMU does not offer the oob capability: {greeting:?}")));
        }
        let enable = qapi::qmp::qmp_capabilities { enable: Some(vec![qapi::qmp::QMPCapability::oob]) };
        qmp.execute(&enable).map_err(io::Error::other)?;
        Ok(qmp)
    }

    /// A QMP client on the main monitor.
    pub fn qmp(&self) -> io::Result<Qmp> {
        self.qmp_at(0)
    }

    /// The main QMP monitor's socket, for a client of another program (QEMU's
    /// `qmp-shell`); it takes one client at a time.
    pub fn qmp_socket(&self) -> PathBuf {
        self.dir.path().join("qmp.sock")
    }

    /// A client of the readline human monitor (needs [`Options::hmp_socket`]).
    pub fn hmp(&self) -> io::Result<Hmp> {
        Hmp::connect(&self.dir.path().join("hmp.sock"))
    }

    /// Everything QEMU has written to stdout so far (with [`Stdout::File`]).
    pub fn stdout(&self) -> String {
        fs::read_to_string(self.dir.path().join("stdout")).unwrap_or_default()
    }

    /// What QEMU has written to stdout (with [`Stdout::File`]) since byte `*offset`;
    /// advances `*offset` past it.
    pub fn stdout_since(&self, offset: &mut u64) -> io::Result<Vec<u8>> {
        use std::io::Seek;
        let mut f = fs::File::open(self.dir.path().join("stdout"))?;
        f.seek(io::SeekFrom::Start(*offset))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        *offset += buf.len() as u64;
        Ok(buf)
    }

    /// Everything QEMU has written to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// Waits up to `timeout` for QEMU to exit (after a `quit`), returning its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> io::Result<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("QEMU still running after {timeout:?}"),
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the QEMU process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The QEMU process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The binary this QEMU runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }
}

/// Connects to a monitor socket. QEMU creates the socket file a moment before it calls
/// `listen()`, so a connection refused right after start is retried until the deadline.
fn connect(path: &Path) -> io::Result<UnixStream> {
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        match UnixStream::connect(path) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                return Err(io::Error::new(e.kind(), format!("cannot connect to {}: {e}", path.display())));
            }
            Ok(s) => return Ok(s),
        }
    }
}

fn server_arg(path: &Path) -> String {
    format!("unix:{},server=on,wait=off", path.display())
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- QEMU ({}) stdout ---\n{}", self.binary.display(), self.stdout());
            eprintln!("--- QEMU stderr ---\n{}", self.stderr());
        }
    }
}

/// A client of a readline (`-mon mode=readline`) human monitor on a socket.
///
/// The monitor echoes input and prints a `(qemu) ` prompt; [`Hmp::command`] sends one
/// line and returns what the monitor printed before the next prompt, without the echo.
pub struct Hmp {
    stream: UnixStream,
    pending: Vec<u8>,
}

const PROMPT: &[u8] = b"(qemu) ";

impl Hmp {
    fn connect(path: &Path) -> io::Result<Hmp> {
        let stream = connect(path)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut hmp = Hmp { stream, pending: Vec::new() };
        hmp.read_to_prompt()?; // the banner
        Ok(hmp)
    }

    fn read_to_prompt(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(i) = self.pending.windows(PROMPT.len()).position(|w| w == PROMPT) {
                let out = self.pending[..i].to_vec();
                self.pending.drain(..i + PROMPT.len());
                return Ok(out);
            }
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "monitor closed"));
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Runs one command line and returns the monitor's output: non-empty lines joined
    /// by `\n`, terminal control sequences removed.
    pub fn command(&mut self, line: &str) -> io::Result<String> {
        self.stream.write_all(line.as_bytes())?;
        self.stream.write_all(b"\r")?;
        let raw = self.read_to_prompt()?;
        // The monitor echoes the line as it is typed (with redraws), then a newline;
        // the command's own output follows.
        let output = match raw.iter().position(|&b| b == b'\n') {
            Some(i) => &raw[i + 1..],
            None => &[][..],
        };
        let text = strip_terminal_codes(&String::from_utf8_lossy(output));
        Ok(text.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n"))
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`) and carriage returns.
fn strip_terminal_codes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if d.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

/// Reads lines of a growing file (QEMU's stdout) until `pred` holds or `timeout` passes.
pub fn wait_for_lines(path: &Path, timeout: Duration, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let lines: Vec<String> = fs::File::open(path)
            .map(|f| BufReader::new(f).lines().map_while(Result::ok).collect())
            .unwrap_or_default();
        if pred(&lines) || Instant::now() > deadline {
            return lines;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command` out of band (`exec-oob`, with `id`) on a client from
/// [`Qemu::qmp_oob`], and returns its reply.
pub fn execute_oob<C: qapi::Command>(
    qmp: &mut Qmp,
    command: C,
    id: &str,
) -> Result<C::Ok, qapi::ExecuteError> {
    let mut line = serde_json::to_vec(&qapi::ExecuteOob::new(command, id)).map_err(io::Error::other)?;
    line.push(b'\n');
    let w = qmp.inner_mut().get_mut_write();
    w.write_all(&line)?;
    w.flush()?;
    qmp.read_response::<C>()
}

/// The events the `qapi` crate does not know (ours, such as `HELLO_WORLD`) that `qmp` has
/// received so far, oldest first; read them after a call to see the events it caused.
pub fn custom_events(qmp: &mut Qmp) -> Vec<serde_json::Value> {
    qmp.inner_mut().get_mut_read().take_events()
}
