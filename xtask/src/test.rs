// SPDX-License-Identifier: GPL-2.0-or-later
//! `cargo xtask test`: builds if needed, then every check, failing on the first that fails.
//!
//! 1. rustfmt, and clippy (`-D warnings`) over the workspace; the benchmarks' C
//!    reference compiles against the release with QEMU's flags and `-Werror`;
//! 2. the patch series: exactly what `qapi/` generates (`cargo xtask patches --check`),
//!    QEMU's `scripts/checkpatch.pl`, and `git am` on pristine QEMU;
//! 3. unit and integration tests, with the patched binary and its staticlib named in the
//!    environment (`QEMU_HELLO_BINARY`, `QEMU_HELLO_STATICLIB`); libvirt's packages are
//!    installed first for the end-to-end test (tests/libvirt.rs).

use anyhow::{Context, Result};

use crate::qemu::{self, Layout};
use crate::versions::PeerSource;
use crate::{
    BuildArgs, crates, deps, guest, package, patches, peer, quick, reference, reproduce, series, sh, source,
    versions,
};

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Test every supported QEMU version in turn (ignores --qemu and its source options).
    #[arg(long)]
    all_versions: bool,
    /// The long variants: 100,000 generated calls, ten times the concurrent load; with
    /// --all-versions, also two releases' packages in one repository, side by side.
    #[arg(long)]
    long: bool,
    /// Only the series checks: every prefix builds without and with the library, the
    /// tree without it lacks the commands, QEMU's manual documents them (`cargo xtask
    /// test` runs these for the default release).
    #[arg(long, conflicts_with_all = ["all_versions", "long"])]
    series: bool,
    /// Only the quick tier, with the build done: rustfmt (command files too), clippy,
    /// the book (docs/, warnings as errors), unit tests, the generator's checks, the quick integration tests, the schema
    /// documentation's examples and the crate's transcripts (tests/transcripts/). With
    /// --crate, for that crate.
    #[arg(long, conflicts_with_all = ["all_versions", "long", "series"])]
    pub quick: bool,
}

pub fn test(args: &TestArgs) -> Result<()> {
    sh::step("cargo fmt --check");
    sh::run(qemu::cargo().current_dir(sh::root()).args(["fmt", "--all", "--check"]))?;
    if args.series {
        let built = qemu::build(&args.build)?;
        return test_series(&built, &args.build);
    }
    if args.quick {
        let built = qemu::build(&args.build)?;
        return quick::quick(&built, quick::Crates::All).map(drop);
    }
    if !args.all_versions {
        return test_version(&args.build, args.long, quick::Crates::All).map(drop);
    }
    let mut passed = Vec::new();
    let mut default_deb = None;
    for v in versions::ALL {
        // The crates whose tests read no release run once, with the default release.
        let crates =
            if v.name == versions::DEFAULT { quick::Crates::All } else { quick::Crates::ReleaseBound };
        let deb =
            test_version(&release_args(v), args.long, crates).with_context(|| format!("QEMU {}", v.name))?;
        default_deb = default_deb.or(deb);
        passed.push(v.name);
    }
    // A second release's package is one more QEMU build (about 4 min on a fresh
    // machine): with --long only, to keep CI within its time budget.
    if args.long {
        test_two_releases(&default_deb.context("the default release built no package")?)?;
    }
    sh::step(format!("all checks passed for QEMU {}", passed.join(", ")));
    Ok(())
}

/// The build arguments of release `v` from its pinned source.
fn release_args(v: &'static versions::Version) -> BuildArgs {
    BuildArgs { qemu: v, qemu_src: None, qemu_tarball: None, with_qemu_rust: false }
}

/// Builds one version, then clippy (its cfg follows that version's ABI), the series
/// checks, and the unit and integration tests against its binary. Returns the Debian
/// package it built and tested, which it does for the default release only.
fn test_version(args: &BuildArgs, long: bool, crates: quick::Crates) -> Result<Option<std::path::PathBuf>> {
    let built = qemu::build(args)?;
    let l = &built.layout;

    // rustfmt, clippy, the quick tests, the documentation's examples, the transcripts.
    let quick = quick::quick(&built, crates)?;

    sh::step(format!("the benchmarks' C reference compiles with QEMU {}'s own flags", l.version.name));
    let scratch = tempfile::tempdir()?;
    reference::compile(l, &scratch.path().join("hello-world.o"))?;

    check_series(l, args)?;

    let mut slow = quick::slow_tests()?;
    // The compile-fail cases record the default release's messages (tests/compile_errors.rs).
    if l.version.name != versions::DEFAULT {
        slow.retain(|t| t != "compile_errors");
    }
    sh::step(format!(
        "the other integration tests (QEMU {}): tests/{{{}}}.rs (the quick tier took {:.0} s)",
        l.version.name,
        slow.join(","),
        quick.as_secs_f64()
    ));
    let mut test = qemu::cargo();
    test.current_dir(sh::root()).args(["test", "-p", "qemu-hello-rs"]);
    for t in &slow {
        test.args(["--test", t]);
    }
    if long {
        test.env("QEMU_HELLO_LONG", "1").env("QEMU_HELLO_CASES", "100000");
    }
    quick::test_env(&built, &mut test);
    let guest = guest::test_env(&mut test, built.agent.as_deref())?;
    sh::step(format!(
        "tests/guest.rs boots the test guest: Debian's kernel {}, busybox, {}",
        guest.release, guest.agent
    ));
    sh::run(&mut test)?;

    qemu_own_tests(l, &built.binary)?;

    // The layer's glue for QEMU's own schema, compiled with every proof.
    let proven = crate::coverage::run(l, &built.binary)?;
    sh::step(&proven);

    // The README's path for a new command, followed in a copy of the repository: it
    // builds QEMU there (a few minutes with ccache), so once, for the default release;
    // the series walk and the manual likewise. The driver's answers run twice are the
    // same code for every release: checked once (about 3 min), here.
    if l.version.name == versions::DEFAULT {
        cli_test(
            &built,
            "each driver command's result, run twice, is the same",
            "each_result_is_the_same_when_run_twice",
        )?;
        test_series(&built, args)?;
        cli_test(
            &built,
            "a crate whose schema files share types: the series resolves at every commit",
            "a_series_whose_files_share_types_resolves_at_every_commit",
        )?;
    }
    // For the default release the peer is the series walk's tree (built above); for the
    // others, Debian's package.
    test_migration(&built, args)?;
    let mut deb = None;
    if l.version.name == versions::DEFAULT {
        deb = Some(test_package(l, args)?);
        sh::step("adding a command as the README says, in a copy of the repository (tests/new_command.rs)");
        let mut scaffold = qemu::cargo();
        scaffold
            .current_dir(sh::root())
            .args(["test", "--test", "new_command", "--", "--ignored"])
            .env("QEMU_HELLO_SERIES", l.version.name);
        qemu::cargo_env(l, &mut scaffold);
        sh::run(&mut scaffold)?;
        sh::step(
            "a command crate of its own, outside this repository, in a QEMU built with its own Rust too (tests/external_crate.rs)",
        );
        let mut external = qemu::cargo();
        external
            .current_dir(sh::root())
            .args(["test", "--test", "external_crate", "--", "--ignored"])
            .env("QEMU_HELLO_XTASK", xtask_exe()?)
            .env("QEMU_HELLO_SERIES", l.version.name);
        qemu::cargo_env(l, &mut external);
        sh::run(&mut external)?;
        sh::step(
            "the layer's crates package as published (cargo package: each built from its package, against this tree)",
        );
        // cargo verifies each crate against the others as packaged, which it treats as
        // registry crates: immutable, so both their extracted sources (in cargo's home) and
        // their builds (in the target dir) from an earlier run would be reused as they are.
        // A target dir of its own, emptied, and `crates::forget_packaged` start it clean.
        let layer_crates = ["qemu-monitor-layer-gen", "qemu-monitor-layer-build", "qemu-monitor-layer"];
        let target = sh::root().join("target/layer-package");
        if target.exists() {
            std::fs::remove_dir_all(&target).with_context(|| format!("removing {}", target.display()))?;
        }
        crates::forget_packaged(&layer_crates)?;
        let mut package = qemu::cargo();
        package.current_dir(sh::root()).arg("package");
        for name in layer_crates {
            package.args(["-p", name]);
        }
        package.arg("--allow-dirty").arg("--target-dir").arg(&target);
        qemu::cargo_env(l, &mut package);
        sh::run(&mut package)?;
        docs_without_tree(l)?;
    }
    sh::step(format!("all checks passed for QEMU {}", l.version.name));
    Ok(deb)
}

/// The layer's crates document themselves on a host without QEMU (which sets `DOCS_RS`:
/// the layer then reads `layer/src/docs_bindings.rs` instead of running bindgen), every
/// rustdoc warning an error; and that file is what bindgen writes for the default
/// release (`l`), so the documented API is the one built.
fn docs_without_tree(l: &qemu::Layout) -> Result<()> {
    sh::step("the layer's API documentation builds without a QEMU tree (DOCS_RS, rustdoc warnings denied)");
    let kept = sh::root().join("layer/src/docs_bindings.rs");
    let built = qemu::generated_out(l, "qemu-monitor-layer", "bindings.rs")?;
    if std::fs::read(&kept)? != std::fs::read(&built)? {
        anyhow::bail!(
            "{} is not what bindgen writes for QEMU {} ({}): copy that file over it",
            kept.display(),
            l.version.name,
            built.display()
        );
    }
    let mut doc = qemu::cargo();
    doc.current_dir(sh::root())
        .args(["doc", "--no-deps", "-p", "qemu-monitor-layer", "-p", "qemu-monitor-layer-build"])
        .args(["-p", "qemu-monitor-layer-gen", "--target-dir"])
        .arg(sh::root().join("target/docs"))
        .env("DOCS_RS", "1")
        .env("RUSTDOCFLAGS", "-D warnings")
        .env_remove("QEMU_BUILD_DIR");
    sh::run(&mut doc)
}

/// One of `xtask/tests/cli.rs`'s ignored tests (they need the build `built`).
fn cli_test(built: &qemu::Built, what: &str, name: &str) -> Result<()> {
    sh::step(format!("{what} (xtask/tests/cli.rs)"));
    let mut test = qemu::cargo();
    test.current_dir(sh::root())
        .args(["test", "-p", "xtask", "--test", "cli", "--", "--ignored", "--exact"])
        .arg(name);
    quick::test_env(built, &mut test);
    sh::run(&mut test)
}

/// The series' prefixes build without and with the library (`series::check`); the
/// emulator without it lacks every command and the one with it has them all
/// (tests/conditional.rs); QEMU's rendered manual documents each (tests/manual.rs).
fn test_series(built: &qemu::Built, args: &BuildArgs) -> Result<()> {
    let l = &built.layout;
    let plain = series::check(l.version, args)?;
    sh::step("the tree without the library lacks the commands; the manual documents them");
    let mut test = qemu::cargo();
    test.current_dir(sh::root())
        .args(["test", "--test", "conditional", "--test", "manual", "--", "--ignored"])
        .env(harness::BINARY_ENV, &built.binary)
        .env("QEMU_HELLO_PLAIN_BINARY", &plain.binary)
        .env("QEMU_HELLO_QMP_MANUAL", &plain.qmp_manual);
    qemu::cargo_env(l, &mut test);
    sh::run(&mut test)
}

/// One signed repository with the packages of two releases, installed side by side
/// (tests/repo.rs, `two_releases_side_by_side`): the default release's package,
/// `default_deb` (built and tested by its own checks), and 7.2's, the quickest to build.
fn test_two_releases(default_deb: &std::path::Path) -> Result<()> {
    let debs =
        [default_deb.to_path_buf(), package::package(&release_args(versions::get("7.2")?), 0)?.emulator];
    deps::ensure(crate::repo::TOOLS)?;
    sh::step("one signed repository with two releases, installed side by side (tests/repo.rs)");
    let mut test = qemu::cargo();
    test.current_dir(sh::root())
        .args([
            "test",
            "--test",
            "repo",
            "--",
            "--ignored",
            "--nocapture",
            "--exact",
            "two_releases_side_by_side",
        ])
        .env("QEMU_HELLO_DEBS", std::env::join_paths(&debs)?)
        .env("QEMU_HELLO_XTASK", xtask_exe()?);
    qemu::cargo_env(&Layout::new(versions::get(versions::DEFAULT)?, qemu::Flavor::Rust), &mut test);
    sh::run(&mut test)
}

/// tests/migration.rs: live migration both ways and `virsh save`/`restore --xml` with
/// the peer of `cargo xtask peer`.
fn test_migration(built: &qemu::Built, args: &BuildArgs) -> Result<()> {
    let l = &built.layout;
    let peer = peer::ensure(l.version, args)?;
    deps::ensure(deps::LIBVIRT)?;
    sh::step(format!(
        "live migration both ways over QMP and between two libvirt hosts (virsh migrate), virsh save/restore, and the release against the peer's: {} (tests/migration.rs)",
        peer.description
    ));
    let mut test = qemu::cargo();
    test.current_dir(sh::root())
        .args(["test", "--test", "migration", "--", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(harness::BINARY_ENV, &built.binary)
        .env("QEMU_HELLO_PEER_BINARY", &peer.binary)
        .env("QEMU_HELLO_PEER_NAME", &peer.description);
    if let Some(debian) = &built.debian {
        test.env("QEMU_HELLO_DEBIAN", debian);
    }
    // The peer from the suite our source is pinned from: the same Debian version, or our
    // pin is behind what the suite ships (`cargo xtask source status` says what changed).
    if let (Some(ours), Some(theirs)) = (&built.debian, &peer.debian) {
        // A binary rebuild of the same source (a binNMU) appends `+b<n>`.
        let theirs = theirs.rsplit_once("+b").map_or(theirs.as_str(), |(source, n)| {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) { source } else { theirs }
        });
        if matches!(l.version.peer, PeerSource::Debian { suite, .. } if suite == l.version.suite) {
            anyhow::ensure!(
                ours == theirs,
                "{} ships qemu {theirs}, but QEMU {} is pinned to {ours}: take Debian's update \
                 (`cargo xtask source status --update`)",
                l.version.suite,
                l.version.name
            );
            test.env("QEMU_HELLO_PEER_SAME_DEBIAN", "1");
        }
    }
    qemu::cargo_env(l, &mut test);
    sh::run(&mut test)
}

/// `cargo xtask package`, then tests/package.rs installs the emulator's `.deb` with apt
/// and runs it under the system libvirt, and installs the guest agent's and calls it;
/// returns the emulator's package.
fn test_package(l: &Layout, args: &BuildArgs) -> Result<std::path::PathBuf> {
    let debs = package::package(args, 0)?;
    let deb = debs.emulator.clone();
    deps::ensure(&[deps::SYSTEM_LIBVIRT, deps::LIBVIRT].concat())?;
    sh::step(format!(
        "installing {} and running it under the system libvirt (tests/package.rs)",
        deb.display()
    ));
    let mut test = qemu::cargo();
    test.current_dir(sh::root())
        .args(["test", "--test", "package", "--", "--ignored"])
        .env("QEMU_HELLO_DEB", &deb);
    match &debs.agent {
        Some(agent) => {
            test.env("QEMU_HELLO_AGENT_DEB", agent);
        }
        None => {
            sh::step("the command crate has no agent/: no guest agent package to test");
            test.args(["--skip", "the_guest_agent_package"]);
        }
    }
    qemu::cargo_env(l, &mut test);
    sh::run(&mut test)?;

    // A rebuild with a higher version, for the upgrade under a running domain.
    let upgrade = package::package(args, 1)?.emulator;
    deps::ensure(crate::repo::TOOLS)?;
    sh::step(
        "a signed apt repository of the package: verified, tampering refused, installed by name, \
         upgraded, rolled back and removed under a running domain, its key rotated (tests/repo.rs)",
    );
    let xtask = xtask_exe()?;
    let mut test = qemu::cargo();
    test.current_dir(sh::root())
        .args(["test", "--test", "repo", "--", "--ignored", "--nocapture", "--exact"])
        .args([
            "a_signed_repository_installs_and_refuses_tampering",
            "a_signing_key_rotates_without_a_refused_update",
        ])
        .env("QEMU_HELLO_DEB", &deb)
        .env("QEMU_HELLO_DEB_UPGRADE", &upgrade)
        .env("QEMU_HELLO_XTASK", &xtask);
    qemu::cargo_env(l, &mut test);
    sh::run(&mut test)?;

    sh::step("the package again from a second clone: byte-identical (reproducible)");
    reproduce::check(args, &debs.all(), &xtask)?;
    Ok(deb)
}

/// A copy of this xtask binary for the tests that run it (`QEMU_HELLO_XTASK`): cargo
/// rebuilds `target/debug/xtask` while this one runs (`cargo test --workspace` builds it
/// for xtask/tests/cli.rs), which leaves only `/proc/self/exe` pointing at this one.
fn xtask_exe() -> Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dest = sh::root().join("target/xtask-for-tests/xtask");
    std::fs::create_dir_all(dest.parent().context("a parent")?)?;
    let _ = std::fs::remove_file(&dest);
    std::fs::copy("/proc/self/exe", &dest).context("cannot copy /proc/self/exe")?;
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))?;
    Ok(dest)
}

/// The series is what the declarations in `qapi/` generate, passes checkpatch, and
/// applies with `git am` to pristine QEMU; the tree built is that, exactly, and Debian's
/// tree is the orig tarball plus every patch Debian applies.
fn check_series(l: &Layout, args: &BuildArgs) -> Result<()> {
    let tmp = source::pristine_git_tree(l.version, args.origin())?;
    let tree = tmp.path();
    patches::check(l, tree)?;

    let patches = l.patches()?;
    sh::step("checkpatch.pl on the series");
    sh::run(
        tools::command("perl")?.arg(l.src.join("scripts/checkpatch.pl")).arg("--no-tree").args(&patches),
    )?;

    sh::step("git am of the series onto pristine QEMU");
    source::git(tree, &["checkout", "-q", "--detach", "HEAD"])?;
    source::git(tree, &["reset", "-q", "--hard", ":/^pristine"])?;
    let patches = qemu::needed(tree, &patches)?;
    let mut am = vec!["am".to_string(), "-q".into()];
    am.extend(patches.iter().map(|p| p.display().to_string()));
    source::git(tree, &am.iter().map(String::as_str).collect::<Vec<_>>()).context("git am failed")?;
    let log = sh::output(
        tools::command("git")?
            .arg("-C")
            .arg(tree)
            .args(["log", "--format=%s", "-n"])
            .arg(patches.len().to_string()),
    )?;
    eprintln!("{log}");

    // The tree built is that tree, exactly: nothing else was changed or added.
    let differ = source::differences(tree, &l.src)?;
    anyhow::ensure!(
        differ.is_empty(),
        "{} is not the pristine tree plus exactly the series:\n{}",
        l.src.display(),
        differ.join("\n")
    );
    sh::step(format!("{} is the pristine tree plus exactly the series", l.src.display()));
    if let source::Origin::Debian = args.origin() {
        let entries = source::prove_debian_tree(l.version)?;
        sh::step(format!(
            "Debian's tree of {} is the orig tarball plus each of the {entries} entries of debian/patches/series",
            l.version.debian
        ));
    }
    Ok(())
}

/// QEMU's own tests that touch the monitor, built in the project's QEMU build tree and run
/// against the patched binary: `qmp-test` (the protocol), `qmp-cmd-test` (calls every
/// `query-*` command the schema has, `query-hello-world` included), `test-hmp` (HMP
/// commands and every `info` subcommand, `info hello-world` included), and QEMU's QAPI
/// schema regression tests (the generator our declarations go through).
fn qemu_own_tests(l: &Layout, binary: &std::path::Path) -> Result<()> {
    const QTESTS: [&str; 3] = ["qmp-test", "qmp-cmd-test", "test-hmp"];
    sh::step(format!("QEMU's own monitor tests against the patched binary: {}", QTESTS.join(", ")));
    let targets: Vec<String> = QTESTS.iter().map(|t| format!("tests/qtest/{t}")).collect();
    qemu::ninja(l, &targets.iter().map(String::as_str).collect::<Vec<_>>(), "ninja-qtests.log")?;
    for t in QTESTS {
        let mut cmd = tools::built(l.build.join("tests/qtest").join(t));
        cmd.current_dir(&l.build).env("QTEST_QEMU_BINARY", binary);
        sh::run_logged(&mut cmd, &l.dir.join(format!("{t}.log")), 1)
            .with_context(|| format!("QEMU's {t}"))?;
    }
    sh::step("QEMU's QAPI schema tests (meson test --suite qapi-schema)");
    let mut cmd = tools::built(l.venv.join("bin/meson"));
    cmd.args(["test", "--no-rebuild", "--print-errorlogs", "--suite", "qapi-schema", "-C"]).arg(&l.build);
    sh::run_logged(&mut cmd, &l.dir.join("qapi-schema-tests.log"), 1)
}
