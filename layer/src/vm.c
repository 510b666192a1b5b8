/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM state command code reads through the layer (vm.h), as QEMU's own query
 * commands read it (hw/core/machine-qmp-cmds.c, system/qdev-monitor.c): compiled by the
 * layer's build.rs with the flags QEMU compiles its monitor with, against the headers
 * of the release being built. Release differences live here and nowhere else.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/uuid.h"
#include "qom/object.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "hw/mem/memory-device.h"
#include "hw/qdev-core.h"
/* QEMU 8.2 moved include/sysemu/ to include/system/. */
#if __has_include("system/system.h")
#include "system/system.h"
#include "system/runstate.h"
#else
#include "sysemu/sysemu.h"
#include "sysemu/runstate.h"
#endif
#include "vm.h"

const char *qemu_monitor_layer_vm_name(void)
{
    return qemu_name;
}

char *qemu_monitor_layer_vm_uuid(void)
{
    return qemu_uuid_unparse_strdup(&qemu_uuid);
}

unsigned int qemu_monitor_layer_vm_run_state(void)
{
#ifdef QEMU_MONITOR_LAYER_HAVE_RUNSTATE_GET
    return runstate_get();
#else
    /* QEMU 7.2 keeps the state static in softmmu/runstate.c; ask for each value. */
    for (unsigned int s = 0; s < RUN_STATE__MAX; s++) {
        if (runstate_check(s)) {
            return s;
        }
    }
    return RUN_STATE__MAX;
#endif
}

bool qemu_monitor_layer_vm_running(void)
{
    return runstate_is_running();
}

uint64_t qemu_monitor_layer_vm_base_memory(void)
{
    return MACHINE(qdev_get_machine())->ram_size;
}

uint64_t qemu_monitor_layer_vm_plugged_memory(void)
{
    return get_plugged_memory_size();
}

size_t qemu_monitor_layer_vm_cpus(QemuMonitorLayerCpu *out, size_t n)
{
    CPUState *cpu;
    size_t i = 0;

    /* CPU_FOREACH walks an RCU list; QEMU's own readers are inside a read section. */
    RCU_READ_LOCK_GUARD();
    CPU_FOREACH(cpu) {
        if (i < n) {
            out[i].cpu_index = cpu->cpu_index;
            out[i].thread_id = cpu->thread_id;
            out[i].qom_path = object_get_canonical_path(OBJECT(cpu));
        }
        i++;
    }
    return i;
}
