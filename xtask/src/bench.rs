// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask bench`: the Rust implementation against the C reference
//! (`bench/hello-world.c`: the same commands, event and contract in C, see
//! `crate::reference`), each linked into the same patched QEMU release.
//!
//! Everything is measured in one run, alternating rounds between the two binaries so both
//! see the same machine load: QMP and HMP calls/s with p50/p99 latency, startup to the QMP
//! greeting, the bytes the Rust part adds, and build times; and, under callgrind, the
//! instructions per call of the whole QMP and HMP paths (noise-free, unlike calls/s). Prints a table and writes it
//! with machine notes to BENCHMARKS.md.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use harness::commands::{HelloWorldJson, HumanMonitorCommand, QueryHelloVm, QueryHelloWorldJson};
use harness::{Machine, Options, Qemu};
use serde_json::json;

use crate::qemu::{self, Built, Flavor};
use crate::{BuildArgs, deps, sh};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Alternating rounds per binary.
    #[arg(long, default_value_t = 6)]
    rounds: usize,
    /// Timed calls per round and monitor.
    #[arg(long, default_value_t = 3000)]
    calls: usize,
    /// QEMU starts per binary for the startup figure.
    #[arg(long, default_value_t = 20)]
    starts: usize,
    /// Calls of each kind under callgrind, for the instructions-per-call figures.
    #[arg(long, default_value_t = 1000)]
    callgrind_calls: usize,
    /// Skip the build-time figures (they rebuild the staticlib from clean).
    #[arg(long)]
    no_build_times: bool,
    /// Where to write the report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: String,
}

/// Latencies of one kind of call, pooled over rounds, and each round's calls/s.
#[derive(Default)]
struct Series {
    latencies: Vec<Duration>,
    rates: Vec<f64>,
}

impl Series {
    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort();
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
    fn median_rate(&mut self) -> f64 {
        self.rates.sort_by(f64::total_cmp);
        self.rates[self.rates.len() / 2]
    }
}

#[derive(Default)]
struct Impl {
    qmp: Series,
    hmp: Series,
    startup: Vec<Duration>,
}

fn round(binary: &Path, calls: usize, imp: &mut Impl) -> Result<()> {
    let vm = Qemu::start(binary, &Options::default())?;
    let mut qmp = vm.qmp()?;
    let hello = HelloWorldJson(json!({ "message": "We love qemu" }));
    let hmp = HumanMonitorCommand { command_line: "hello-world We love qemu".into() };
    for _ in 0..calls / 10 {
        qmp.execute(&hello)?;
        qmp.execute(&hmp)?;
    }
    let t = Instant::now();
    for _ in 0..calls {
        let c = Instant::now();
        qmp.execute(&hello)?;
        imp.qmp.latencies.push(c.elapsed());
    }
    imp.qmp.rates.push(calls as f64 / t.elapsed().as_secs_f64());
    let t = Instant::now();
    for _ in 0..calls {
        let c = Instant::now();
        qmp.execute(&hmp)?;
        imp.hmp.latencies.push(c.elapsed());
    }
    imp.hmp.rates.push(calls as f64 / t.elapsed().as_secs_f64());
    let expected = 2 * (calls + calls / 10);
    let printed = vm.stdout().lines().filter(|l| *l == "We love qemu").count();
    anyhow::ensure!(
        printed == expected,
        "{}: printed {printed} lines, expected {expected}",
        binary.display()
    );
    // Both implementations keep the same counters.
    let info = qmp.execute(&QueryHelloWorldJson::default())?;
    let want = json!({
        "calls": expected, "printed": expected, "refused": 0, "failed-writes": 0,
        "last-message": "We love qemu"
    });
    anyhow::ensure!(info == want, "{}: query-hello-world says {info:?}", binary.display());
    Ok(())
}

fn startup(binary: &Path) -> Result<Duration> {
    let t = Instant::now();
    let vm = Qemu::start(binary, &Options::default())?;
    let _ = vm.qmp_with_greeting(0)?;
    Ok(t.elapsed())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// text + data + bss of a binary or object, as `size` reports it.
fn size_of(path: &Path) -> Result<u64> {
    let out = sh::output(tools::command("size")?.arg(path))?;
    let total = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(3).and_then(|d| d.parse::<u64>().ok()).unwrap_or(0))
        .sum();
    Ok(total)
}

/// The symbols `nm -S --defined-only` lists for the emulator binary: each name's size
/// (`None` for a name defined more than once, such as a local `__func__.1` that many
/// objects have, which cannot be attributed).
struct BinarySymbols(std::collections::HashMap<String, Option<u64>>);

impl BinarySymbols {
    fn read(binary: &Path) -> Result<BinarySymbols> {
        let mut symbols = std::collections::HashMap::new();
        let listing = sh::output(tools::command("nm")?.args(["-S", "--defined-only"]).arg(binary))?;
        for line in listing.lines() {
            // With -S, a symbol without a size has three fields; it is counted as present.
            let (size, name) = match line.split_whitespace().collect::<Vec<_>>()[..] {
                [_, size, _, name] => (u64::from_str_radix(size, 16).ok(), name),
                [_, _, name] => (None, name),
                _ => continue,
            };
            symbols.entry(name.to_string()).and_modify(|s| *s = None).or_insert(size);
        }
        Ok(BinarySymbols(symbols))
    }
}

/// The staticlib's members, each with the names of the global code symbols it defines
/// (`T`) and of every symbol it defines, from one `nm --defined-only` of the archive.
struct Member {
    name: String,
    code: Vec<String>,
    all: Vec<String>,
}

fn archive_members(lib: &Path) -> Result<Vec<Member>> {
    let listing = sh::output(tools::command("nm")?.args(["--defined-only", "--quiet"]).arg(lib))?;
    let mut members = Vec::new();
    for block in listing.split("\n\n") {
        let mut lines = block.lines().filter(|l| !l.is_empty());
        let Some(name) = lines.next().and_then(|h| h.strip_suffix(':')) else { continue };
        let mut member = Member { name: name.to_string(), code: Vec::new(), all: Vec::new() };
        for line in lines {
            let Some(symbol) = line.split_whitespace().nth(2) else { continue };
            if line.contains(" T ") {
                member.code.push(symbol.to_string());
            }
            member.all.push(symbol.to_string());
        }
        members.push(member);
    }
    Ok(members)
}

/// The archive members the linker takes from the staticlib: those defining a symbol
/// that the emulator binary defines too (the crate's LTO object and the few
/// compiler-builtins objects it needs).
fn rust_part_size(built: &Built, binary: &BinarySymbols, members: &[Member]) -> Result<u64> {
    let lib = built.layout.staticlib();
    let dir = tempfile::tempdir()?;
    let mut total = 0;
    for member in members {
        if member.code.iter().any(|s| binary.0.contains_key(s)) {
            sh::output(tools::command("ar")?.current_dir(dir.path()).arg("x").arg(&lib).arg(&member.name))?;
            total += size_of(&dir.path().join(&member.name))?;
        }
    }
    Ok(total)
}

/// The named symbols the staticlib puts into the binary, summed by their `nm -S` sizes:
/// our own code (the commands, the generated handlers, the layer and its C) and Rust's
/// runtime (std, core, alloc, the panic machinery with its backtrace symbolizer,
/// compiler-builtins). Code that LTO inlined across that line counts where it landed;
/// unnamed constants and padding count in neither, so the two add up to less than the
/// members' text+data+bss.
struct RustPartSplit {
    ours: u64,
    runtime: u64,
}

fn rust_part_split(binary: &BinarySymbols, members: &[Member]) -> RustPartSplit {
    let mut split = RustPartSplit { ours: 0, runtime: 0 };
    let mut counted = std::collections::HashSet::new();
    for member in members {
        // The layer's C (layer/build.rs compiles vm.c and any.c) and the crate's LTO
        // object; every other member is compiler-builtins.
        let layer_c = member.name.ends_with("-vm.o") || member.name.ends_with("-any.o");
        let crate_object = member.name.starts_with("qemu_hello_rs-");
        for name in &member.all {
            let Some(&Some(size)) = binary.0.get(name) else { continue };
            if !counted.insert(name) {
                continue;
            }
            let handler = name.starts_with("qmp_") || name.starts_with("hmp_");
            let ours = layer_c
                || (crate_object
                    && (name.contains("qemu_hello_rs") || name.contains("qemu_monitor_layer") || handler));
            if ours {
                split.ours += size;
            } else {
                split.runtime += size;
            }
        }
    }
    split
}

/// The message of the instructions-per-call figures: 47 characters, as in the issue
/// that set their goals.
const CALLGRIND_MESSAGE: &str = "We love qemu, and we say it in forty-seven char";

/// Instructions per call under callgrind (inclusive Ir), which do not depend on the
/// machine's load: the whole QMP handler path and the whole HMP path, each measured in a
/// run of its own, with the part of each that is QEMU's own emission of the
/// `HELLO_WORLD` event (both implementations send it); and, on a paused two-vCPU `pc`
/// VM, `query-hello-vm` and `hello-world` to a ringbuf.
struct Instructions {
    qmp: f64,
    qmp_event: f64,
    hmp: f64,
    hmp_event: f64,
    vm: f64,
    chardev: f64,
    chardev_event: f64,
}

/// One callgrind run of `calls` rounds of `call` on QEMU started with `opts`: the
/// inclusive Ir per round of each of `functions`.
fn callgrind_run(
    binary: &Path,
    calls: usize,
    opts: Options,
    call: &dyn Fn(&mut harness::Qmp) -> Result<()>,
    functions: &[&str],
) -> Result<Vec<f64>> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("callgrind.out");
    let wrapper = [
        "valgrind".to_string(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out.display()),
    ]
    .map(std::ffi::OsString::from)
    .to_vec();
    let mut vm = Qemu::start(binary, &Options { wrapper, ..opts })?;
    let mut qmp = vm.qmp()?;
    for _ in 0..calls {
        call(&mut qmp)?;
    }
    let _ = qmp.execute(&harness::qapi::qmp::quit {});
    let status = vm.wait_exit(Duration::from_secs(300))?;
    anyhow::ensure!(status.success(), "{} under callgrind exited with {status}", binary.display());
    let text = sh::output(
        tools::command("callgrind_annotate")?
            .args(["--tree=calling", "--inclusive=yes", "--threshold=100", "--auto=no"])
            .arg(&out),
    )?;
    // A function's lines: "  86,123,803 ( 6.16%)  *  file.c:function [binary]". Code
    // inlined from another file (a header's static inline) is a cost centre of its own
    // ("header.h:function"); callgrind_annotate also prints the function's total over its
    // centres, the largest of its lines, which is the figure taken.
    let per_call = |function: &str| -> f64 {
        let tag = format!(":{function}");
        let total: u64 = text
            .lines()
            .filter_map(|l| {
                let (cost, centre) = l.split_once("  *  ")?;
                let name = centre.split_whitespace().next()?;
                name.ends_with(&tag)
                    .then(|| cost.split_whitespace().next()?.replace(',', "").parse::<u64>().ok())?
            })
            .max()
            .unwrap_or(0);
        total as f64 / calls as f64
    };
    Ok(functions.iter().map(|f| per_call(f)).collect())
}

fn callgrind(binary: &Path, calls: usize) -> Result<Instructions> {
    anyhow::ensure!(CALLGRIND_MESSAGE.len() == 47, "the callgrind message must have 47 characters");
    let event = "qapi_event_send_hello_world";
    let qmp_call = |q: &mut harness::Qmp| {
        q.execute(&HelloWorldJson(json!({ "message": CALLGRIND_MESSAGE }))).map(drop).map_err(Into::into)
    };
    let hmc = HumanMonitorCommand { command_line: format!("hello-world {CALLGRIND_MESSAGE}") };
    let hmp_call = |q: &mut harness::Qmp| q.execute(&hmc).map(drop).map_err(Into::into);
    let q = callgrind_run(binary, calls, Options::default(), &qmp_call, &["qmp_marshal_hello_world", event])?;
    let h = callgrind_run(binary, calls, Options::default(), &hmp_call, &["handle_hmp_command", event])?;
    let args = "-M pc -accel tcg -S -smp 2 -nic none -name bench -chardev ringbuf,id=ring,size=64K";
    let vm_opts = Options {
        machine: Machine::Given,
        args: args.split(' ').map(String::from).collect(),
        ..Options::default()
    };
    let vm_call = |q: &mut harness::Qmp| -> Result<()> {
        q.execute(&QueryHelloVm::default())?;
        q.execute(&HelloWorldJson(json!({ "message": CALLGRIND_MESSAGE, "chardev": "ring" })))?;
        Ok(())
    };
    let v = callgrind_run(
        binary,
        calls,
        vm_opts,
        &vm_call,
        &["qmp_marshal_query_hello_vm", "qmp_marshal_hello_world", event],
    )?;
    Ok(Instructions {
        qmp: q[0],
        qmp_event: q[1],
        hmp: h[0],
        hmp_event: h[1],
        vm: v[0],
        chardev: v[1],
        chardev_event: v[2],
    })
}

fn timed(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed())
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let rust = qemu::build(&args.build)?;
    let c = qemu::build_flavor(&args.build, Flavor::ReferenceC)?;
    let bins = [("Rust", &rust.binary), ("C", &c.binary)];
    let mut imps = [Impl::default(), Impl::default()];

    sh::step(format!(
        "{} alternating rounds of {} QMP + {} HMP calls per binary",
        args.rounds, args.calls, args.calls
    ));
    for r in 0..args.rounds {
        let order: [usize; 2] = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            round(bins[i].1, args.calls, &mut imps[i]).with_context(|| bins[i].0)?;
        }
    }
    sh::step(format!("{} alternating starts per binary", args.starts));
    for _ in 0..args.starts {
        for i in 0..2 {
            let d = startup(bins[i].1)?;
            imps[i].startup.push(d);
        }
    }

    deps::ensure(deps::TEST_TOOLS)?;
    sh::step(format!(
        "instructions per call under callgrind ({} QMP + {} HMP calls per binary)",
        args.callgrind_calls, args.callgrind_calls
    ));
    let ir_rust = callgrind(&rust.binary, args.callgrind_calls).context("Rust under callgrind")?;
    let ir_c = callgrind(&c.binary, args.callgrind_calls).context("C under callgrind")?;

    let rust_size = size_of(&rust.binary)?;
    let c_size = size_of(&c.binary)?;
    let binary = BinarySymbols::read(&rust.binary)?;
    let members = archive_members(&rust.layout.staticlib())?;
    let rust_part = rust_part_size(&rust, &binary, &members)?;
    let split = rust_part_split(&binary, &members);

    let mut report = String::new();
    let [ir, ic] = &mut imps;
    let (rq, cq, rh, ch) =
        (ir.qmp.median_rate(), ic.qmp.median_rate(), ir.hmp.median_rate(), ic.hmp.median_rate());
    writeln!(report, "| figure | Rust | C reference | Rust / C |")?;
    writeln!(report, "|---|---|---|---|")?;
    writeln!(
        report,
        "| QMP hello-world calls/s (median of {} rounds) | {rq:.0} | {cq:.0} | {:.3} |",
        args.rounds,
        rq / cq
    )?;
    for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
        let (a, b) = (ir.qmp.percentile(p), ic.qmp.percentile(p));
        writeln!(report, "| QMP latency {name} (µs) | {:.1} | {:.1} | {:.3} |", us(a), us(b), us(a) / us(b))?;
    }
    writeln!(report, "| HMP (human-monitor-command) calls/s | {rh:.0} | {ch:.0} | {:.3} |", rh / ch)?;
    for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
        let (a, b) = (ir.hmp.percentile(p), ic.hmp.percentile(p));
        writeln!(report, "| HMP latency {name} (µs) | {:.1} | {:.1} | {:.3} |", us(a), us(b), us(a) / us(b))?;
    }
    let (sr, sc) = (median(&mut ir.startup), median(&mut ic.startup));
    writeln!(
        report,
        "| startup to QMP greeting, -M none (ms, median of {}) | {:.1} | {:.1} | {:.3} |",
        args.starts,
        sr.as_secs_f64() * 1e3,
        sc.as_secs_f64() * 1e3,
        sr.as_secs_f64() / sc.as_secs_f64()
    )?;
    writeln!(
        report,
        "| qemu-system-x86_64 text+data+bss (bytes) | {rust_size} | {c_size} | {:+} |",
        rust_size as i64 - c_size as i64
    )?;
    writeln!(
        report,
        "| Rust archive members linked in, text+data+bss (bytes) | {rust_part} | | with std: the panic boundary, \
         formatting and glib's heap for command code (15,487 as `no_std` without them) |"
    )?;
    writeln!(
        report,
        "| of which named symbols of our own code: commands, generated handlers, layer (bytes) | {} | | \
         goal ≤ 16,384: {} |",
        split.ours,
        met(split.ours <= 16_384)
    )?;
    writeln!(
        report,
        "| of which named symbols of Rust's runtime: std, core, alloc, backtrace symbolizer, \
         compiler-builtins (bytes) | {} | | |",
        split.runtime
    )?;
    let goal = |ratio: f64, max: f64| format!("{ratio:.3} (goal ≤ {max:.2}: {})", met(ratio <= max));
    writeln!(
        report,
        "| Ir/call, whole QMP path (`qmp_marshal_hello_world`, callgrind) | {:.0} | {:.0} | {} |",
        ir_rust.qmp,
        ir_c.qmp,
        goal(ir_rust.qmp / ir_c.qmp, 1.00)
    )?;
    writeln!(
        report,
        "| Ir/call, whole HMP path (`handle_hmp_command`, callgrind) | {:.0} | {:.0} | {} |",
        ir_rust.hmp,
        ir_c.hmp,
        goal(ir_rust.hmp / ir_c.hmp, 1.00)
    )?;
    writeln!(
        report,
        "| Ir/call of QEMU's `HELLO_WORLD` emission inside the QMP / HMP path | {:.0} / {:.0} | {:.0} / {:.0} | |",
        ir_rust.qmp_event, ir_rust.hmp_event, ir_c.qmp_event, ir_c.hmp_event
    )?;
    let (q, h) = (ir_rust.qmp - ir_rust.qmp_event, ir_rust.hmp - ir_rust.hmp_event);
    let (cq, ch) = (ir_c.qmp - ir_c.qmp_event, ir_c.hmp - ir_c.hmp_event);
    writeln!(
        report,
        "| Ir/call, QMP path less the event emission | {q:.0} | {cq:.0} | {} |",
        goal(q / cq, 1.00)
    )?;
    writeln!(
        report,
        "| Ir/call, HMP path less the event emission | {h:.0} | {ch:.0} | {} |",
        goal(h / ch, 1.00)
    )?;
    let (d, cd) = (ir_rust.chardev - ir_rust.chardev_event, ir_c.chardev - ir_c.chardev_event);
    writeln!(
        report,
        "| Ir/call, QMP hello-world to a ringbuf (`qmp_marshal_hello_world`, pc VM) | {:.0} | {:.0} | {} |",
        ir_rust.chardev,
        ir_c.chardev,
        goal(ir_rust.chardev / ir_c.chardev, 1.00)
    )?;
    writeln!(
        report,
        "| Ir/call, the same less the event emission | {d:.0} | {cd:.0} | {} |",
        goal(d / cd, 1.00)
    )?;
    writeln!(
        report,
        "| Ir/call, `query-hello-vm` (`qmp_marshal_query_hello_vm`, pc VM, 2 vCPUs) | {:.0} | {:.0} | {:.3} |",
        ir_rust.vm,
        ir_c.vm,
        ir_rust.vm / ir_c.vm
    )?;

    if !args.no_build_times {
        sh::step("build times: no-op, one .rs edit, clean Rust part");
        let noop = timed(|| qemu::build(&args.build).map(drop))?;
        let edited = sh::root().join("src/commands/hello_world.rs");
        let touch = |p: &Path| sh::run(tools::command("touch")?.arg(p));
        touch(&edited)?;
        let edit = timed(|| qemu::build(&args.build).map(drop))?;
        fs::remove_dir_all(&rust.layout.cargo_target).context("cleaning the staticlib's target dir")?;
        let clean = timed(|| qemu::build(&args.build).map(drop))?;
        writeln!(report, "| build: no-op `cargo xtask build` (s) | {:.1} | | |", noop.as_secs_f64())?;
        writeln!(
            report,
            "| build: touch src/commands/hello_world.rs (build.rs reruns: signature check, bindgen) → relinked, installed QEMU (s) | {:.1} | | ≤ 30 s: {} |",
            edit.as_secs_f64(),
            met(edit.as_secs_f64() <= 30.0)
        )?;
        writeln!(
            report,
            "| build: clean Rust part (bindgen, crate, relink) (s) | {:.1} | | |",
            clean.as_secs_f64()
        )?;
    }
    out!("{report}");

    let notes = machine_notes(&rust)?;
    let text = format!(
        "# Benchmarks\n\nWritten by `cargo xtask bench` (rounds: {}, calls per round: {}, starts: {}). \
         Rust and C reference alternate in one run on one machine; ratios are the figures to \
         compare, as these machines are shared.\n\n{notes}\n{report}",
        args.rounds, args.calls, args.starts
    );
    fs::write(sh::root().join(&args.out), text)?;
    sh::step(format!("wrote {}", args.out));
    Ok(())
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn machine_notes(built: &Built) -> Result<String> {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = sh::output(tools::command("uname")?.arg("-r"))?.trim().to_string();
    let rustc = sh::output(tools::command("rustc")?.arg("--version"))?.trim().to_string();
    let date = sh::output(tools::command("date")?.args(["-u", "+%Y-%m-%d %H:%M UTC"]))?.trim().to_string();
    Ok(format!(
        "- date: {date}\n- machine: {cores} cores, {cpu}, kernel {kernel}\n- QEMU {} (`-M none`, TCG), {rustc}, \
         staticlib built with `--release` (LTO, panic=unwind, std)\n- client: one QMP unix-socket client (the `qapi` crate), \
         message \"We love qemu\", QEMU's stdout to a file\n",
        built.layout.version.name
    ))
}
