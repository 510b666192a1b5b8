// SPDX-License-Identifier: GPL-2.0-or-later
//! The layer's own declarations from the configured QEMU tree (`QEMU_BUILD_DIR`): the
//! monitor, error, dictionary and stdio functions the runtime calls, nothing of any
//! command (a command crate's build generates those).

use std::fs;
use std::path::Path;

fn main() {
    let root = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo::rerun-if-changed=src/wrapper.h");
    println!("cargo::rerun-if-changed=src/vm.h");
    println!("cargo::rerun-if-changed=src/vm.c");
    println!("cargo::rerun-if-changed=src/any.h");
    println!("cargo::rerun-if-changed=src/any.c");
    // A documentation build on a host without QEMU (such hosts set DOCS_RS): the default
    // release's declarations, kept in src/docs_bindings.rs, stand in for bindgen's; nothing
    // is compiled or linked, so nothing needs a tree. `cargo xtask test` checks that the
    // file is what bindgen writes for the default release.
    println!("cargo::rerun-if-env-changed=DOCS_RS");
    println!("cargo::rustc-check-cfg=cfg(qemu_bql_locked)");
    if std::env::var_os("DOCS_RS").is_some() {
        println!("cargo::rerun-if-changed=src/docs_bindings.rs");
        println!("cargo::rustc-cfg=qemu_bql_locked");
        let out = qemu_monitor_layer_gen::build::out_dir().join("bindings.rs");
        fs::copy(root.join("src/docs_bindings.rs"), &out).unwrap_or_else(|e| {
            qemu_monitor_layer_gen::fail(&format!("cannot write {}: {e}", out.display()))
        });
        return;
    }
    let tree = qemu_monitor_layer_gen::Tree::from_env(&root);
    // QEMU 10 renamed qemu_mutex_iothread_locked() to bql_locked().
    let main_loop = tree.src.join("include/qemu/main-loop.h");
    println!("cargo::rerun-if-changed={}", main_loop.display());
    if fs::read_to_string(&main_loop).is_ok_and(|t| t.contains("bool bql_locked(void)")) {
        println!("cargo::rustc-cfg=qemu_bql_locked");
    }
    vm_c(&tree);
    // The layer's global allocator is glib's: a binary that is not QEMU (a command
    // crate's unit tests) links glib itself. In a staticlib this only names the library
    // QEMU links anyway.
    println!("cargo::rustc-link-lib=glib-2.0");
    let wrapper = fs::read_to_string(root.join("src/wrapper.h"))
        .unwrap_or_else(|e| qemu_monitor_layer_gen::fail(&format!("cannot read src/wrapper.h: {e}")));
    let builder = tree
        .bindgen(&wrapper)
        .clang_arg(format!("-I{}", root.join("src").display()))
        .allowlist_function("hmp_handle_error|monitor_printf")
        .allowlist_function("qdict_get_try_str|qdict_get_try_int|qdict_get_try_bool|qdict_haskey")
        .allowlist_function("qdict_get_double|bql_locked|qemu_mutex_iothread_locked")
        .allowlist_function("error_setg_internal")
        .allowlist_function("g_strerror|g_malloc|g_malloc0|g_free|g_intern_string|g_log")
        .newtype_enum("GLogLevelFlags")
        .allowlist_function("g_try_malloc|g_try_malloc0|g_try_realloc|posix_memalign")
        .allowlist_function("__errno_location")
        .allowlist_function("flockfile|funlockfile|fwrite_unlocked|fputc_unlocked|fflush_unlocked")
        .allowlist_function("clearerr_unlocked|__fpurge")
        .allowlist_function("qemu_monitor_layer_vm_.*|qemu_chr_find|qemu_chr_write")
        .allowlist_function("qemu_monitor_layer_any_.*")
        .allowlist_var("QEMU_MONITOR_LAYER_ANY_.*")
        .allowlist_var("stdout")
        .allowlist_type("Monitor|QDict|Error|Chardev|QemuMonitorLayerCpu|QObject")
        .opaque_type("Monitor|QDict|Error|_IO_FILE|Chardev|QObject");
    qemu_monitor_layer_gen::build::write_bindings(builder, &qemu_monitor_layer_gen::build::out_dir());
}

/// `src/vm.c`, the VM state command code reads (see `src/vm.h`), and `src/any.c`, QAPI's
/// `any` (see `src/any.h`), compiled with the flags
/// QEMU compiles its monitor with, against this release's headers: what is a macro, a
/// static inline or a struct field there is checked by the C compiler, release by release.
fn vm_c(tree: &qemu_monitor_layer_gen::Tree) {
    let flags = qemu_monitor_layer_gen::tree::tree_flags(&tree.build)
        .unwrap_or_else(|e| qemu_monitor_layer_gen::fail(&e));
    let runstate_h = ["include/system/runstate.h", "include/sysemu/runstate.h"]
        .into_iter()
        .map(|h| tree.src.join(h))
        .find(|h| h.is_file())
        .unwrap_or_else(|| qemu_monitor_layer_gen::fail("the QEMU tree has no runstate.h"));
    println!("cargo::rerun-if-changed={}", runstate_h.display());
    let mut build = cc::Build::new();
    build.file("src/vm.c").file("src/any.c").warnings(true).extra_warnings(false);
    for f in &flags {
        build.flag(f);
    }
    // QEMU's own C is compiled so; its headers assume it.
    build.flag("-fno-strict-aliasing").flag("-fwrapv").flag("-fno-common");
    // No path of this machine's in the object: QEMU's QOM casts (MACHINE(), OBJECT())
    // pass __FILE__ along, and a package must be the same bytes from any checkout.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo");
    for dir in [Path::new(&root), tree.src.as_path(), tree.build.as_path()] {
        build.flag(format!("-ffile-prefix-map={}/=", dir.display()));
    }
    // QEMU 7.2 has no runstate_get(): vm.c then asks runstate_check() for each state.
    if fs::read_to_string(&runstate_h).is_ok_and(|t| t.contains("RunState runstate_get(void)")) {
        build.define("QEMU_MONITOR_LAYER_HAVE_RUNSTATE_GET", None);
    }
    build.compile("qemu_monitor_layer_vm");
}
