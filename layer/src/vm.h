/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM state the layer reads for command code (src/ffi.rs, module `vm`), from the C
 * of vm.c: what is a macro, a static inline or a struct field in QEMU's headers
 * (CPU_FOREACH, rcu_read_lock, MACHINE(), CPUState's fields) is read by C compiled with
 * the tree's own flags, so the compiler checks it against each release's headers; Rust
 * sees only these functions (through bindgen, from this file).
 *
 * Every function must be called with the BQL held.
 */
#ifndef QEMU_MONITOR_LAYER_VM_H
#define QEMU_MONITOR_LAYER_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One vCPU, as query-cpus-fast reports it; qom_path is g_malloc'd, the caller's. */
typedef struct QemuMonitorLayerCpu {
    int64_t cpu_index;
    int64_t thread_id;
    char *qom_path;
} QemuMonitorLayerCpu;

/* -name's guest name (query-name), NULL when none; QEMU's, alive until exit. */
const char *qemu_monitor_layer_vm_name(void);
/* The UUID as query-uuid prints it, g_malloc'd, the caller's. */
char *qemu_monitor_layer_vm_uuid(void);
/* The run state, QEMU's RunState value. */
unsigned int qemu_monitor_layer_vm_run_state(void);
/* Whether the VM runs (query-status's "running"). */
bool qemu_monitor_layer_vm_running(void);
/* The machine's base RAM in bytes (query-memory-size-summary's base-memory). */
uint64_t qemu_monitor_layer_vm_base_memory(void);
/* Plugged memory in bytes, or UINT64_MAX when the machine has no memory devices. */
uint64_t qemu_monitor_layer_vm_plugged_memory(void);
/*
 * The vCPUs in QEMU's order (query-cpus-fast's): fills out[0..n) and returns how many
 * there are (more than n: call again with room for them all).
 */
size_t qemu_monitor_layer_vm_cpus(QemuMonitorLayerCpu *out, size_t n);

#endif
