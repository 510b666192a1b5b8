// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask`: builds the patched QEMU with the Rust staticlib, runs it, tests it.
//!
//! stdout carries results only (for `build`, the binary's absolute path as its last
//! line); progress and the output of the tools it runs go to stderr.

#[macro_use]
mod sh;
mod bench;
mod book;
mod call;
mod coverage;
mod crates;
mod deps;
mod fresh;
mod guest;
mod libvirt;
mod package;
mod patches;
mod peer;
mod qemu;
mod quick;
mod reference;
mod repo;
mod reproduce;
mod run;
mod scaffold;
mod series;
mod source;
mod status;
mod test;
mod versions;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run and test QEMU with monitor commands in Rust")]
struct Cli {
    /// The command crate to build QEMU with (its qapi/, qemu-patches/ and staticlib; its
    /// builds go to its target/qemu/): a crate of your own that depends on the layer.
    /// Default: this repository's hello-world crate.
    #[arg(long = "crate", value_name = "DIR", global = true)]
    crate_dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fetch, patch, configure and build QEMU with the Rust staticlib; print the binary's path.
    Build(BuildArgs),
    /// Build if needed, boot the patched QEMU and call hello-world over QMP and HMP.
    Run(BuildArgs),
    /// Build if needed, boot the development VM and send each command given (QMP JSON, or
    /// HMP lines with --hmp); print each reply as `virsh qemu-monitor-command --pretty`.
    Call(call::CallArgs),
    /// Build if needed, boot the development VM and open QEMU's qmp-shell on it (--hmp:
    /// the human monitor), with history and tab completion.
    Shell(call::ShellArgs),
    /// Build if needed, then rustfmt, clippy, series checks, unit and integration tests.
    Test(test::TestArgs),
    /// Render the book (docs/) into target/book/ with warnings as errors; print its index.
    Book,
    /// Benchmark the Rust implementation against the C reference; write BENCHMARKS.md.
    Bench(bench::BenchArgs),
    /// Write the stubs of a new command: qapi/NAME.json, src/commands/NAME.rs (--hmp: qapi/NAME.hx).
    NewCommand(scaffold::NewCommandArgs),
    /// Debian's source packages: `source status` compares each release's pin with what
    /// its suite offers now and prints the changelog between (--update: re-pin).
    Source(status::SourceArgs),
    /// Regenerate qemu-patches/<version>/ from the declarations in qapi/ (--check: compare only).
    Patches(patches::PatchesArgs),
    /// Build a Debian package of the patched QEMU (prefix /usr/lib/qemu-hello-rs/VERSION); print its path.
    Package(package::PackageArgs),
    /// Build the package, then build it again from a second clone of this state in a
    /// temporary directory; fail, with diffoscope's report, unless both are byte-identical.
    Reproduce(BuildArgs),
    /// Write a signed Debian repository of the built packages (target/debian/*.deb, or
    /// those given) into DIR; print the path of its sources entry.
    Repo(repo::RepoArgs),
    /// Run the patched QEMU under libvirt and drive it with virsh qemu-monitor-command.
    Libvirt(libvirt::LibvirtArgs),
    /// Generate and compile the layer's glue for every command and event of the release's
    /// own schema; print what it carries and why the rest is refused.
    Coverage(BuildArgs),
    /// Fetch the emulator a VM migrates from and back to (Debian's qemu-system-x86 of the
    /// release, or for 10.2.2 the upstream build without the library); print its path.
    Peer(BuildArgs),
    /// The README's two commands on a fresh Debian 12 system made with debootstrap (as
    /// root; this machine's Rust toolchain the only thing brought in), each one timed.
    Fresh(fresh::FreshArgs),
    /// Build a tiny Linux guest from Debian's packages (kernel, busybox, a guest agent);
    /// print its kernel and initramfs.
    Guest(guest::GuestArgs),
    /// Build if needed; print the Rust glue generated from qapi/ for the release (the
    /// handlers QEMU calls, each with its compile-time proof), for review.
    Glue(BuildArgs),
}

/// Which QEMU to build, and where its source comes from.
#[derive(Args, Clone, Debug)]
pub struct BuildArgs {
    /// QEMU version (one with a series under qemu-patches/).
    #[arg(long, default_value = versions::DEFAULT, value_parser = versions::get)]
    qemu: &'static versions::Version,
    /// Use this unpacked, pristine QEMU source tree (an upstream tree, taken as it is)
    /// instead of Debian's source package.
    #[arg(long, value_name = "DIR", conflicts_with = "qemu_tarball", value_parser = source::parse_source_dir)]
    qemu_src: Option<PathBuf>,
    /// Build the upstream release from this orig tarball alone, without Debian's patches
    /// (its sha256 must match the pinned one; checked every time).
    #[arg(long, value_name = "FILE", value_parser = source::parse_file)]
    qemu_tarball: Option<PathBuf>,
    /// Build QEMU with its own Rust as well (`--enable-rust`: QEMU's Rust devices, such
    /// as the HPET, beside the command library), in target/qemu/<version>-qemu-rust/.
    /// For the releases with a patch in qemu-patches/with-qemu-rust/ (10.2.2).
    #[arg(long)]
    with_qemu_rust: bool,
}

/// Errors end the program with one line on stderr: what failed and why, the causes
/// chained (`error: a: b`).
fn main() {
    sh::started();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

impl Cmd {
    /// The build options the command takes, if it takes them.
    fn build_args(&self) -> Option<&BuildArgs> {
        match self {
            Cmd::Build(a)
            | Cmd::Run(a)
            | Cmd::Reproduce(a)
            | Cmd::Coverage(a)
            | Cmd::Peer(a)
            | Cmd::Glue(a) => Some(a),
            Cmd::Test(a) => Some(&a.build),
            Cmd::Bench(a) => Some(&a.build),
            Cmd::Package(a) => Some(&a.build),
            Cmd::Libvirt(a) => Some(&a.build),
            Cmd::Call(a) => Some(&a.build),
            Cmd::Shell(a) => Some(&a.build),
            Cmd::NewCommand(_)
            | Cmd::Patches(_)
            | Cmd::Repo(_)
            | Cmd::Fresh(_)
            | Cmd::Source(_)
            | Cmd::Guest(_)
            | Cmd::Book => None,
        }
    }
}

impl BuildArgs {
    /// Where the tree comes from: Debian's source package unless an upstream tree is given.
    pub fn origin(&self) -> source::Origin<'_> {
        match (&self.qemu_src, &self.qemu_tarball) {
            (Some(dir), _) => source::Origin::Dir(dir),
            (None, Some(tarball)) => source::Origin::Upstream(Some(tarball)),
            (None, None) => source::Origin::Debian,
        }
    }

    /// The checks clap cannot make alone (a given tarball is the pinned one for
    /// `--qemu`): before anything is installed or built, so a bad option is refused on
    /// the first line whatever the machine has.
    fn check(&self) -> Result<()> {
        if let Some(given) = &self.qemu_tarball {
            source::check_given_tarball(given, self.qemu)?;
        }
        Ok(())
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(args) = cli.cmd.build_args() {
        args.check()?;
    }
    if let Cmd::Call(args) = &cli.cmd {
        args.requests()?;
    }
    if let Some(dir) = cli.crate_dir {
        if !dir.join("Cargo.toml").is_file() || !dir.join("qapi").is_dir() {
            anyhow::bail!("--crate {}: not a command crate (it needs Cargo.toml and qapi/)", dir.display());
        }
        if !matches!(
            cli.cmd,
            Cmd::Build(_)
                | Cmd::Run(_)
                | Cmd::Patches(_)
                | Cmd::NewCommand(_)
                | Cmd::Glue(_)
                | Cmd::Call(_)
                | Cmd::Shell(_)
                | Cmd::Test(test::TestArgs { quick: true, .. })
        ) {
            anyhow::bail!(
                "--crate is for build, run, call, shell, test --quick, patches, new-command and glue; \
                 test, bench, package, repo and libvirt serve this repository's crate"
            );
        }
        sh::set_crate_dir(dir.canonicalize()?);
    }
    match cli.cmd {
        Cmd::Build(args) => {
            let built = qemu::build(&args)?;
            out!("{}", built.binary.display());
        }
        Cmd::Run(args) => run::run(&args)?,
        Cmd::Test(args) => test::test(&args)?,
        Cmd::Libvirt(args) => libvirt::libvirt(&args)?,
        Cmd::Bench(args) => bench::bench(&args)?,
        Cmd::Patches(args) => patches::patches(&args)?,
        Cmd::Source(args) => status::source(&args)?,
        Cmd::Book => out!("{}", book::book()?.display()),
        Cmd::Package(args) => {
            let debs = package::package(&args.build, args.rebuild)?;
            if let Some(agent) = &debs.agent {
                out!("{}", agent.display());
            }
            out!("{}", debs.emulator.display());
        }
        Cmd::Reproduce(args) => {
            let debs = package::package(&args, 0)?;
            reproduce::check(&args, &debs.all(), &std::env::current_exe()?)?;
        }
        Cmd::NewCommand(args) => scaffold::new_command(&args)?,
        Cmd::Repo(args) => repo::repo(&args)?,
        Cmd::Peer(args) => peer::peer(&args)?,
        Cmd::Coverage(args) => coverage::coverage(&args)?,
        Cmd::Fresh(args) => fresh::fresh(&args)?,
        Cmd::Guest(args) => guest::guest(&args)?,
        Cmd::Call(args) => call::call(&args)?,
        Cmd::Shell(args) => call::shell(&args)?,
        Cmd::Glue(args) => {
            let built = qemu::build(&args)?;
            out!("{}", qemu::generated_glue(&built.layout)?);
        }
    }
    Ok(())
}
