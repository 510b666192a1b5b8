// SPDX-License-Identifier: GPL-2.0-or-later
//! Building QEMU with the Rust staticlib: patch a fresh source copy, configure, generate
//! the QAPI headers, build the staticlib against them, link `qemu-system-x86_64`.
//!
//! Everything lives in `target/qemu/<version>/`: `src/` (patched copy), `build/`,
//! `venv/` (the meson QEMU needs), `cargo/` (the staticlib's target dir), `install/`
//! (the prefix the emulator is installed into; `install/bin/qemu-system-x86_64` is the
//! result). Each step is skipped when its inputs have not changed, so a no-op rebuild
//! costs a few seconds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::versions::Version;
use crate::{BuildArgs, crates, deps, reference, sh, source};

/// Where the emulator finds firmware and data: Debian's directories (QEMU's own data,
/// SeaBIOS, the iPXE option ROMs), as Debian's own QEMU does.
pub const FIRMWARE_DIRS: &[&str] = &["/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu"];

/// Where packages install: one versioned prefix below it per QEMU release.
pub const PACKAGE_PREFIX: &str = "/usr/lib/qemu-hello-rs";

/// The generated headers the staticlib is compiled against.
pub const HEADERS: [&str; 4] =
    ["qapi/qapi-commands-misc.h", "config-poison.h", "qemu-version.h", "hmp-commands.h"];

/// The guest agent's generated header its command library is compiled against.
pub const AGENT_HEADER: &str = "qga/qga-qapi-commands.h";

/// Which implementation of the commands a build carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// The Rust staticlib (the product).
    Rust,
    /// The same series linking the C reference (`bench/hello-world.c`) in place of the
    /// staticlib, for benchmarks.
    ReferenceC,
    /// The series in a git tree, configured without `--monitor-rust-lib` (as any QEMU
    /// build that does not use this project): the bisectability check and the manual.
    Plain,
    /// The product configured for the hosts: prefix `/usr/lib/qemu-hello-rs/<version>`,
    /// with the staticlib built against this tree, installed into a staging dir for the
    /// `.deb` (a build of its own: another clone reproduces it without any other).
    Package,
    /// The product with QEMU's own Rust too (`--enable-rust`), its staticlib built
    /// against that tree: the two Rust libraries in one emulator.
    QemuRust,
}

/// Where one version's build lives.
pub struct Layout {
    pub version: &'static Version,
    pub flavor: Flavor,
    pub dir: PathBuf,
    pub src: PathBuf,
    pub build: PathBuf,
    pub venv: PathBuf,
    pub cargo_target: PathBuf,
}

impl Layout {
    pub fn new(version: &'static Version, flavor: Flavor) -> Layout {
        let name = match flavor {
            Flavor::Rust => version.name.to_string(),
            Flavor::ReferenceC => format!("{}-c", version.name),
            Flavor::Plain => format!("{}-series", version.name),
            Flavor::Package => format!("{}-pkg", version.name),
            Flavor::QemuRust => format!("{}-qemu-rust", version.name),
        };
        let dir = sh::crate_dir().join("target/qemu").join(name);
        Layout {
            version,
            flavor,
            src: dir.join("src"),
            build: dir.join("build"),
            venv: dir.join("venv"),
            cargo_target: dir.join("cargo"),
            dir,
        }
    }

    /// The install prefix QEMU is configured with.
    pub fn prefix(&self) -> PathBuf {
        match self.flavor {
            Flavor::Package => PathBuf::from(PACKAGE_PREFIX).join(self.version.name),
            _ => self.dir.join("install"),
        }
    }

    /// Where `meson install` puts the files: the prefix, or for a package the prefix
    /// inside the staging dir.
    pub fn install(&self) -> PathBuf {
        match self.flavor {
            Flavor::Package => self.stage().join(self.prefix().strip_prefix("/").unwrap_or(&self.prefix())),
            _ => self.prefix(),
        }
    }

    /// A package's root file system (`meson install --destdir`).
    pub fn stage(&self) -> PathBuf {
        self.dir.join("stage")
    }

    /// The installed, patched emulator.
    pub fn binary(&self) -> PathBuf {
        self.install().join("bin/qemu-system-x86_64")
    }

    /// The guest agent built from the same tree (`--enable-guest-agent`), with the agent
    /// crate's library linked in for the product.
    pub fn agent_binary(&self) -> PathBuf {
        self.install().join("bin/qemu-ga")
    }

    /// Whether this build has the guest agent: the product and the package's build (with
    /// the command crate's `agent/` library, when it has one and the series links it) and
    /// the plain tree of the series walk (without any library, as every other build of
    /// QEMU).
    pub fn has_agent(&self) -> bool {
        matches!(self.flavor, Flavor::Rust | Flavor::Plain | Flavor::Package)
    }

    /// The agent crate's staticlib, when this build links one: the product's and the
    /// package's, for a command crate with `agent/`, on a series that has the
    /// `agent_rust_lib` option.
    pub fn agent_staticlib(&self) -> Option<PathBuf> {
        let (_, lib) = agent_package()?;
        (matches!(self.flavor, Flavor::Rust | Flavor::Package)
            && has_meson_option(&self.src, "agent_rust_lib").unwrap_or(false))
        .then(|| self.cargo_target.join("release").join(format!("lib{lib}.a")))
    }

    /// The staticlib linked into it.
    pub fn staticlib(&self) -> PathBuf {
        match self.flavor {
            Flavor::ReferenceC => self.dir.join("libhello_world_c.a"),
            _ => self.cargo_target.join("release").join(format!("lib{}.a", crate_lib_name())),
        }
    }

    /// This build's patch series, feature patches first, then repack fixes.
    pub fn patches(&self) -> Result<Vec<PathBuf>> {
        let series = sh::crate_dir().join("qemu-patches").join(self.version.name);
        let mut all = patch_files(&series)?;
        all.extend(patch_files(&series.join("repack"))?);
        if all.is_empty() {
            bail!("no patches in {}", series.display());
        }
        if self.flavor == Flavor::QemuRust {
            let dir = sh::root().join("qemu-patches/with-qemu-rust").join(self.version.name);
            let extra = patch_files(&dir)?;
            if extra.is_empty() {
                bail!(
                    "--with-qemu-rust: no patch for QEMU {} in {} (it is written for 10.2.2)",
                    self.version.name,
                    dir.display()
                );
            }
            all.extend(extra);
        }
        Ok(all)
    }
}

/// A fix the repacked orig tarball needs (`qemu-patches/<version>/repack/`), not a
/// feature patch.
pub fn is_repack(patch: &Path) -> bool {
    patch.parent().is_some_and(|d| d.ends_with("repack"))
}

/// `patches` less the repack fixes `tree` carries already, each named on the way.
pub fn needed(tree: &Path, patches: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut kept = Vec::new();
    for p in patches {
        if is_repack(p) && carries(tree, p)? {
            sh::step(format!(
                "{}: the tree carries this fix already (Debian's patches do)",
                p.file_name().unwrap_or_default().to_string_lossy()
            ));
        } else {
            kept.push(p.clone());
        }
    }
    Ok(kept)
}

/// Whether `tree` carries `patch` already: it applies in reverse (Debian's 10.x patches
/// skip the edk2 unpack as the repack fix does).
pub fn carries(tree: &Path, patch: &Path) -> Result<bool> {
    Ok(tools::command("patch")?
        .args(["-p1", "--reverse", "--dry-run", "--batch", "--quiet", "-d"])
        .arg(tree)
        .arg("-i")
        .arg(patch)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?
        .success())
}

fn patch_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut v: Vec<PathBuf> = fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    v.retain(|p| p.extension().is_some_and(|e| e == "patch"));
    v.sort();
    Ok(v)
}

/// What a build produced.
pub struct Built {
    pub layout: Layout,
    pub binary: PathBuf,
    /// The release the tree is (its `VERSION` file: 7.2.22 from Debian's source).
    pub release: String,
    /// The Debian version it was unpacked from; `None` for an upstream tree.
    pub debian: Option<String>,
    /// The guest agent built from the same tree with the agent crate's library, when
    /// the build has one.
    pub agent: Option<PathBuf>,
}

pub fn build(args: &BuildArgs) -> Result<Built> {
    build_flavor(args, if args.with_qemu_rust { Flavor::QemuRust } else { Flavor::Rust })
}

/// A `--qemu-tarball` in `args` has been checked already, before anything else ran
/// (`BuildArgs::check` in main); `prepare_source` verifies it again when it unpacks it.
pub fn build_flavor(args: &BuildArgs, flavor: Flavor) -> Result<Built> {
    deps::ensure(deps::BUILD)?;
    let layout = Layout::new(args.qemu, flavor);
    fs::create_dir_all(&layout.dir)?;
    // One build of a tree at a time: two drivers at once (`cargo xtask call` in two
    // terminals, the tests' parallel calls) would rewrite the same archive together.
    let lock = fs::File::create(layout.dir.join(".build.lock"))?;
    if lock.try_lock().is_err() {
        sh::step(format!("waiting for another build of {} to finish", layout.dir.display()));
        lock.lock()?;
    }
    prepare_source(&layout, args)?;
    ensure_venv(&layout)?;
    if flavor == Flavor::QemuRust {
        deps::ensure(deps::QEMU_RUST)?;
        crates::fill_packagecache(&layout.src)?;
    }
    configure(&layout)?;
    if matches!(flavor, Flavor::Rust | Flavor::ReferenceC | Flavor::QemuRust | Flavor::Package) {
        sh::step("generating QEMU's headers (QAPI, trace, config)");
        let mut headers = HEADERS.to_vec();
        if layout.agent_staticlib().is_some() {
            headers.push(AGENT_HEADER);
        }
        ninja(&layout, &headers, "ninja-headers.log")?;
        match flavor {
            Flavor::ReferenceC => reference::build_archive(&layout)?,
            _ => build_staticlib(&layout)?,
        }
        if layout.agent_staticlib().is_some() {
            build_agent_staticlib(&layout)?;
        }
    }
    install(&layout)?;
    let binary = layout.binary().canonicalize()?;
    let release = fs::read_to_string(layout.src.join("VERSION"))?.trim().to_string();
    let debian = debian_version(&layout.src)?;
    let agent = match layout.agent_staticlib() {
        Some(_) => Some(layout.agent_binary().canonicalize()?),
        None => None,
    };
    Ok(Built { layout, binary, release, debian, agent })
}

/// Unpacks a fresh source copy and applies the series, unless the copy already matches
/// the source and the patches (recorded in `src.stamp`).
fn prepare_source(l: &Layout, args: &BuildArgs) -> Result<()> {
    let patches = l.patches()?;
    let origin = args.origin();
    let mut stamp = format!("{}\n", origin.stamp(l.version)?);
    for p in &patches {
        stamp.push_str(&format!(
            "{} {}\n",
            source::sha256(p)?,
            p.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    let stamp_file = l.dir.join("src.stamp");
    if l.src.join("VERSION").is_file() && fs::read_to_string(&stamp_file).ok().as_deref() == Some(&stamp) {
        return Ok(());
    }
    sh::step(format!(
        "preparing patched QEMU {} ({:?}) source in {}",
        l.version.name,
        l.flavor,
        l.src.display()
    ));
    for d in [&l.src, &l.build] {
        if d.exists() {
            fs::remove_dir_all(d).with_context(|| format!("cannot remove {}", d.display()))?;
        }
    }
    origin.unpack(l.version, &l.src)?;
    let version = fs::read_to_string(l.src.join("VERSION")).unwrap_or_default();
    let release = origin.release(l.version);
    if version.trim() != release {
        bail!("the source tree says it is QEMU {:?}, expected {release}", version.trim());
    }
    for p in &needed(&l.src, &patches)? {
        sh::run(
            tools::command("patch")?
                .args(["-p1", "--forward", "--batch", "--quiet", "-d"])
                .arg(&l.src)
                .arg("-i")
                .arg(p),
        )
        .with_context(|| format!("{} does not apply to QEMU {}", p.display(), l.version.name))?;
    }
    fs::write(stamp_file, stamp)?;
    Ok(())
}

pub fn ensure_venv(l: &Layout) -> Result<()> {
    // The plain tree also renders QEMU's manual with Debian's Sphinx (deps::DOCS): its
    // venv comes from Debian's Python and sees that Python's packages.
    let (base, venv_args, modules): (&str, &[&str], &str) = match l.flavor {
        Flavor::Plain => (
            "/usr/bin/python3",
            &["--system-site-packages"],
            "import mesonbuild, pycotap, sphinx, sphinx_rtd_theme",
        ),
        _ => ("python3", &[], "import mesonbuild, pycotap"),
    };
    let python = l.venv.join("bin/python3");
    let ok =
        python.is_file() && tools::built(&python).args(["-c", modules]).status().is_ok_and(|s| s.success());
    if ok {
        return Ok(());
    }
    sh::step(format!(
        "creating a Python venv with {} (the tarball lacks QEMU's bundled wheels)",
        l.version.meson
    ));
    if l.venv.exists() {
        fs::remove_dir_all(&l.venv)?;
    }
    // Debian's python3 by path (the plain tree's Sphinx is Debian's), or the first on PATH.
    tools::ensure(&["python3", "python3-venv"])?;
    let mut python = if base.contains('/') { tools::built(base) } else { tools::command(base)? };
    sh::run(python.args(["-m", "venv"]).args(venv_args).arg(&l.venv))?;
    sh::run(tools::built(l.venv.join("bin/pip")).args(["install", "-q", l.version.meson, "pycotap"]))
}

/// The environment every compiler run gets: ccache shares results across clones.
fn ccache_env(cmd: &mut Command) -> &mut Command {
    // Paths below the crate's directory hash as relative ones: another clone or crate
    // shares this one's compiled objects.
    cmd.env("CCACHE_BASEDIR", sh::crate_dir()).env("CCACHE_NOHASHDIR", "true")
}

/// The arguments QEMU's configure gets for `l`. Options that only some releases have
/// are added when the tree's own `configure` or `meson_options.txt` offers them.
fn configure_args(l: &Layout) -> Result<Vec<String>> {
    let configure = fs::read_to_string(l.src.join("configure"))?;
    let firmware = FIRMWARE_DIRS.join(":");
    let mut args = vec![
        "--cc=ccache cc".to_string(),
        format!("--prefix={}", l.prefix().display()),
        format!("--firmwarepath={firmware}"),
    ];
    // A package's configuration and state directories are the system's, as Debian's
    // QEMU has them: the packaged qemu-ga's defaults are then /etc/qemu/qemu-ga.conf and
    // /var/run/qemu-ga.pid, not paths under the emulator's prefix a guest does not have.
    if l.flavor == Flavor::Package {
        args.extend(["--sysconfdir=/etc", "--localstatedir=/var"].map(String::from));
    }
    // The series declares the commands under CONFIG_MONITOR_RUST_LIB, which the option
    // sets: configure with it from the start, so that the headers the staticlib is built
    // against declare them (see `empty_archive`).
    if matches!(l.flavor, Flavor::Rust | Flavor::ReferenceC | Flavor::Package | Flavor::QemuRust) {
        args.push(format!("--monitor-rust-lib={}", l.staticlib().display()));
    }
    if let Some(agent) = l.agent_staticlib() {
        args.push(format!("--agent-rust-lib={}", agent.display()));
    }
    if l.flavor == Flavor::QemuRust {
        // QEMU's own Rust: its crates from subprojects/packagecache (crates::), Debian's
        // bindgen, the toolchain's rustc.
        args.push("--enable-rust".into());
    }
    // A tree from Debian's source package names the Debian version it was built from,
    // as Debian's own QEMU does (`Debian <version>`), and this project.
    if let Some(debian) = debian_version(&l.src)? {
        args.push(format!("--with-pkgversion=Debian {debian} + qemu-hello-rs"));
    }
    // The plain tree renders the manual; the others leave it out.
    args.push(if l.flavor == Flavor::Plain { "--enable-docs" } else { "--disable-docs" }.to_string());
    args.extend(
        ["--target-list=x86_64-softmmu", "--disable-tools", "--disable-werror", "--disable-install-blobs"]
            .map(String::from),
    );
    args.push(if l.has_agent() { "--enable-guest-agent" } else { "--disable-guest-agent" }.to_string());
    // QEMU < 8 takes an external meson with --meson (and then refuses --python); later
    // ones install meson from the given Python's packages into their own venv.
    if configure.contains("--meson=") {
        args.push(format!("--meson={}", l.venv.join("bin/meson").display()));
    } else {
        args.push(format!("--python={}", l.venv.join("bin/python3").display()));
    }
    // No subproject downloads (QEMU >= 8.1; older releases use git submodules, which
    // configure ignores in a tarball).
    if configure.contains("--disable-download") {
        args.push("--disable-download".into());
    }
    // Absolute firmware and data paths (QEMU >= 8.0), so the installed binary finds
    // Debian's SeaBIOS and iPXE ROMs wherever it runs from, libvirt included. Older
    // releases resolve them relative to the installed binary, which works as well.
    if has_meson_option(&l.src, "relocatable")? {
        args.push("--disable-relocatable".into());
    }
    Ok(args)
}

/// Whether the tree `src` offers the meson option `name` (its `meson_options.txt`
/// declares `option('<name>'`): the series adds some, and releases differ in others.
pub fn has_meson_option(src: &Path, name: &str) -> Result<bool> {
    let path = src.join("meson_options.txt");
    let options = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(options.contains(&format!("option('{name}'")))
}

/// The Debian version a tree unpacked from Debian's source package is, from the first
/// line of its `debian/changelog` (`qemu (1:7.2+dfsg-7+deb12u18) bookworm-security; …`);
/// `None` for an upstream tree.
pub fn debian_version(src: &Path) -> Result<Option<String>> {
    let Ok(changelog) = fs::read_to_string(src.join("debian/changelog")) else { return Ok(None) };
    let first = changelog.lines().next().unwrap_or_default();
    let version = first
        .split_once(" (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(v, _)| v.to_string())
        .with_context(|| format!("debian/changelog begins {first:?}, not with `qemu (<version>)`"))?;
    Ok(Some(version))
}

/// Configures the build tree, again whenever the arguments change (`configure.stamp`).
pub fn configure(l: &Layout) -> Result<()> {
    let args = configure_args(l)?;
    let stamp = args.join("\n") + "\n";
    let stamp_file = l.dir.join("configure.stamp");
    if l.build.join("build.ninja").is_file()
        && fs::read_to_string(&stamp_file).ok().as_deref() == Some(&stamp)
    {
        return Ok(());
    }
    sh::step(format!("configuring QEMU {} (x86_64-softmmu)", l.version.name));
    if matches!(l.flavor, Flavor::Rust | Flavor::ReferenceC | Flavor::QemuRust | Flavor::Package) {
        empty_archive(&l.staticlib())?;
    }
    if let Some(agent) = l.agent_staticlib() {
        empty_archive(&agent)?;
    }
    if l.build.exists() {
        fs::remove_dir_all(&l.build)?;
    }
    fs::create_dir_all(&l.build)?;
    let mut cmd = tools::built(l.src.join("configure"));
    cmd.current_dir(&l.build).args(&args);
    ccache_env(&mut cmd);
    sh::run_logged(&mut cmd, &l.dir.join("configure.log"), 1)?;
    fs::write(stamp_file, stamp)?;
    Ok(())
}

/// Builds what `meson install` copies from the build tree (the emulator and its data,
/// not QEMU's own test programs), then installs into `target/qemu/<version>/install`.
/// Unchanged files keep their timestamps, so libvirt does not re-probe them.
fn install(l: &Layout) -> Result<()> {
    let meson = l.venv.join("bin/meson");
    let listing = sh::output(tools::built(&meson).arg("introspect").arg("--installed").arg(&l.build))?;
    let installed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&listing)?;
    let targets: Vec<String> = installed
        .keys()
        .filter_map(|k| Path::new(k).strip_prefix(&l.build).ok())
        .map(|p| p.display().to_string())
        .collect();
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    sh::step(format!("building and installing into {}", l.install().display()));
    ninja(l, &targets, "ninja.log")?;
    let mut cmd = tools::built(&meson);
    cmd.args(["install", "--no-rebuild", "--only-changed", "--quiet", "-C"]).arg(&l.build);
    if l.flavor == Flavor::Package {
        if l.stage().exists() {
            fs::remove_dir_all(l.stage())?;
        }
        cmd.arg("--destdir").arg(l.stage());
    }
    sh::run_logged(&mut cmd, &l.dir.join("install.log"), 1)
}

/// What a plain `ninja` builds (QEMU's `make`), less the manual under `docs/`: its
/// outputs, relative to the build tree.
pub fn default_targets_but_docs(l: &Layout) -> Result<Vec<String>> {
    let listing =
        sh::output(tools::built(l.venv.join("bin/meson")).arg("introspect").arg("--targets").arg(&l.build))?;
    let targets: Vec<serde_json::Value> = serde_json::from_str(&listing)?;
    let docs = l.build.join("docs");
    let mut out = Vec::new();
    for t in targets.iter().filter(|t| t["build_by_default"] == true) {
        for f in t["filename"].as_array().into_iter().flatten().filter_map(|f| f.as_str()) {
            let path = Path::new(f);
            if !path.starts_with(&docs) {
                out.push(path.strip_prefix(&l.build).unwrap_or(path).display().to_string());
            }
        }
    }
    if out.is_empty() {
        bail!("meson lists no default targets in {}", l.build.display());
    }
    Ok(out)
}

pub fn ninja(l: &Layout, targets: &[&str], log: &str) -> Result<()> {
    let mut cmd = tools::command("ninja")?;
    cmd.arg("-C").arg(&l.build).args(targets);
    ccache_env(&mut cmd);
    sh::run_logged(&mut cmd, &l.dir.join(log), 100)
}

/// The environment under which cargo builds, lints and tests the crate for `l`.
pub fn cargo_env(l: &Layout, cmd: &mut Command) {
    cmd.env("QEMU_BUILD_DIR", &l.build);
}

pub fn cargo() -> Command {
    tools::command("cargo").expect("cargo runs this driver")
}

/// The glue build.rs generated for the staticlib last built for `l`: the newest
/// `OUT_DIR/glue.rs` of the crate in that target dir.
pub fn generated_glue(l: &Layout) -> Result<String> {
    let path = generated_out(l, &crate_package().0, "glue.rs")?;
    fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// The newest `OUT_DIR/<file>` the build script of `package` wrote for the staticlib's
/// build for `l` (its release target dir).
pub fn generated_out(l: &Layout, package: &str, file: &str) -> Result<PathBuf> {
    let dir = l.cargo_target.join("release/build");
    let newest = fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        // `<package>-<hash>`, not another package whose name starts the same.
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_prefix(&format!("{package}-"))
                .is_some_and(|hash| !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .map(|e| e.path().join("out").join(file))
        .filter_map(|p| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max();
    let (_, path) = newest.with_context(|| format!("no {file} of {package} under {}", dir.display()))?;
    Ok(path)
}

fn build_staticlib(l: &Layout) -> Result<()> {
    sh::step("building the Rust staticlib against this tree's headers");
    cargo_release_lib(l, &crate_package().0, &sh::crate_dir().join("Cargo.toml"))?;
    seal_staticlib(&l.staticlib(), crate_lib_name())
}

/// The command crate's guest agent library (its `agent/` crate), against the same tree's
/// agent headers, for qemu-ga.
fn build_agent_staticlib(l: &Layout) -> Result<()> {
    let Some((package, lib)) = agent_package() else { return Ok(()) };
    let Some(path) = l.agent_staticlib() else { return Ok(()) };
    sh::step("building the guest agent's Rust staticlib against this tree's qga headers");
    cargo_release_lib(l, package, &sh::crate_dir().join("agent/Cargo.toml"))?;
    seal_staticlib(&path, lib)
}

/// `cargo build --release --lib` of `package` (manifest `manifest`) into the build's
/// target dir, with its tree and without this machine's paths.
fn cargo_release_lib(l: &Layout, package: &str, manifest: &Path) -> Result<()> {
    let mut cmd = cargo();
    cmd.current_dir(sh::crate_dir())
        .args(["build", "--release", "--lib", "--package", package, "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(&l.cargo_target);
    cargo_env(l, &mut cmd);
    // The library holds no path of this machine's: source paths (in panic locations and
    // error sources) are given relative to the crate and to this repository.
    let mut flags: Vec<String> =
        std::env::var("RUSTFLAGS").unwrap_or_default().split_whitespace().map(String::from).collect();
    for dir in [sh::crate_dir(), sh::root()] {
        flags.push(format!("--remap-path-prefix={}/=", dir.display()));
    }
    cmd.env_remove("RUSTFLAGS").env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"));
    if l.flavor == Flavor::Package {
        // The package's emulator is stripped, so line tables (which place a panic the
        // standard library raises at the command's line) would be dropped anyway; built
        // into it they give the binary a build ID that depends on the checkout's path,
        // and the package is no longer reproducible from another clone.
        cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    }
    sh::run(&mut cmd)
}

/// Leaves the handlers QEMU calls (`qmp_*`, `hmp_*`) the only global symbols of the
/// crate's own object in the staticlib (with the weak `DW.ref.rust_eh_personality`). LTO already makes everything else local but
/// three of the Rust standard library's (`rust_eh_personality`, a panic marker, the
/// `.init_array` entry that records argv), which a second standard library in the same
/// binary also defines: QEMU's own Rust (`--enable-rust`, linked whole), with which they
/// would clash. Made local, each copy keeps its own (both are the same code). Rewrites
/// the archive only when something changes, so an unchanged library does not relink QEMU.
pub fn seal_staticlib(lib: &Path, lib_name: &str) -> Result<()> {
    let prefix = format!("{lib_name}-");
    let members = sh::output(tools::command("ar")?.arg("t").arg(lib))?;
    let member = members
        .lines()
        .find(|m| m.starts_with(&prefix) && m.ends_with(".o"))
        .with_context(|| format!("{} has no member {prefix}*.o (built without LTO?)", lib.display()))?;
    let dir = tempfile::tempdir()?;
    sh::output(tools::command("ar")?.current_dir(dir.path()).arg("x").arg(lib).arg(member))?;
    let object = dir.path().join(member);
    let sealed = dir.path().join("sealed.o");
    // `DW.ref.rust_eh_personality` stays as it is (weak, hidden, the signature of a
    // COMDAT group): the linker keeps one such group and every object's unwind tables
    // reach the personality through it; made local, this object's tables would point into
    // a discarded group, and the first panic would crash the unwinder.
    sh::output(
        tools::command("objcopy")?
            .args(["--wildcard", "-G", "qmp_*", "-G", "hmp_*", "-G", "DW.ref.*"])
            .arg(&object)
            .arg(&sealed),
    )?;
    if fs::read(&object)? == fs::read(&sealed)? {
        return Ok(());
    }
    fs::rename(&sealed, &object)?;
    sh::output(tools::command("ar")?.current_dir(dir.path()).arg("rD").arg(lib).arg(member))?;
    Ok(())
}

/// The command crate's package name and its library's name (`cargo metadata`).
pub fn crate_package() -> &'static (String, String) {
    static PACKAGE: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    PACKAGE.get_or_init(|| {
        let manifest = sh::crate_dir().join("Cargo.toml");
        package_of(&manifest).unwrap_or_else(|e| {
            eprintln!("error: {}: {e:#}", manifest.display());
            std::process::exit(1)
        })
    })
}

/// The package name and staticlib name of the crate whose manifest is `manifest`.
fn package_of(manifest: &Path) -> Result<(String, String)> {
    let out = sh::output(
        cargo().args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"]).arg(manifest),
    )?;
    let meta: serde_json::Value = serde_json::from_str(&out)?;
    let manifest = manifest.canonicalize()?;
    let package = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["manifest_path"].as_str().is_some_and(|m| Path::new(m) == manifest))
        .context("cargo metadata does not list the crate")?;
    let lib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "staticlib")))
        .context("the crate has no staticlib target ([lib] crate-type = [\"staticlib\"])")?;
    let name = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    Ok((name(&package["name"]), name(&lib["name"]).replace('-', "_")))
}

/// The command crate's guest agent crate (`agent/` beside its `Cargo.toml`), as its
/// package name and library name, when it has one.
pub fn agent_package() -> Option<&'static (String, String)> {
    static PACKAGE: std::sync::OnceLock<Option<(String, String)>> = std::sync::OnceLock::new();
    PACKAGE
        .get_or_init(|| {
            let manifest = sh::crate_dir().join("agent/Cargo.toml");
            manifest.is_file().then(|| {
                package_of(&manifest).unwrap_or_else(|e| {
                    eprintln!("error: {}: {e:#}", manifest.display());
                    std::process::exit(1)
                })
            })
        })
        .as_ref()
}

fn crate_lib_name() -> &'static str {
    &crate_package().1
}

/// An empty `ar` archive at `path`, unless a file is there already. Meson wants the
/// `--monitor-rust-lib` file to exist at configure time, before the library can be built
/// (it needs the headers configure generates): until the real one is written, an empty
/// archive stands in. Nothing links it before then.
pub fn empty_archive(path: &Path) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    fs::create_dir_all(path.parent().context("archive path has no parent")?)?;
    sh::run(tools::command("ar")?.arg("rc").arg(path))
}
