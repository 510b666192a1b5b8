/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The C reference of `cargo xtask bench`: hello-world (to standard output or a
 * character device), query-hello-world, query-hello-vm, their HMP twins and the
 * HELLO_WORLD event, with the contract of the Rust implementation (src/commands/,
 * qapi/): the message checked (valid UTF-8, no control character), printed as one
 * line, counted, kept as the last message, announced by the event; the VM read as
 * QEMU's own queries read it (hw/core/machine-qmp-cmds.c).
 * Written as a QEMU developer would write it in C, in the style of monitor/hmp-cmds.c.
 *
 * xtask compiles it with the very flags QEMU compiles monitor/hmp-cmds.c with and links
 * it through the series' --monitor-rust-lib option in place of the Rust staticlib, so
 * the two emulators differ only in this library.
 */

#include "qemu/osdep.h"
#include <stdio_ext.h>
#include "chardev/char.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "hw/mem/memory-device.h"
#include "qemu/rcu.h"
#include "qemu/uuid.h"
#if __has_include("system/system.h")
#include "system/runstate.h"
#include "system/system.h"
#else
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#endif
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-misc.h"
#include "qapi/qapi-events-misc.h"
#if __has_include("qobject/qdict.h")
#include "qobject/qdict.h"
#else
#include "qapi/qmp/qdict.h"
#endif

/* QEMU before 8.0 passes a has_ flag with each optional pointer argument. */
#if QEMU_VERSION_MAJOR < 8
#define HAS_FLAGS 1
#else
#define HAS_FLAGS 0
#endif

static struct {
    int64_t printed;
    int64_t refused;
    int64_t failed_writes;
    char *last_message;
} hello_world_stats;

/*
 * Checks @message: valid UTF-8 without control characters (U+0000 to U+001F,
 * U+007F to U+009F).  Reports the first problem, as the Rust command does.
 */
static bool hello_world_check(const char *message, Error **errp)
{
    const char *end;
    const unsigned char *p;
    bool valid = g_utf8_validate(message, -1, &end);

    for (p = (const unsigned char *)message; p < (const unsigned char *)end; p++) {
        if (*p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] <= 0x9f)) {
            error_setg(errp, "Parameter 'message' contains the control character "
                       "U+%04X at character %ld (byte %td); control characters "
                       "are not allowed", *p == 0xc2 ? p[1] : *p,
                       g_utf8_pointer_to_offset(message, (const char *)p),
                       (const char *)p - message);
            return false;
        }
    }
    if (valid) {
        return true;
    }
    /* QEMU's JSON parser passes \u0000 as the overlong sequence C0 80. */
    if ((unsigned char)end[0] == 0xc0 && (unsigned char)end[1] == 0x80) {
        error_setg(errp, "Parameter 'message' contains the control character "
                   "U+0000 at character %ld (byte %td); control characters "
                   "are not allowed", g_utf8_pointer_to_offset(message, end),
                   end - message);
    } else {
        error_setg(errp, "Parameter 'message' is not valid UTF-8 at byte %td",
                   end - message);
    }
    return false;
}

/* Writes @line and a newline to @chardev at once, never waiting for the device. */
static bool hello_world_to_chardev(const char *chardev, const char *line,
                                   bool *refused, Error **errp)
{
    Chardev *chr = qemu_chr_find(chardev);
    g_autofree char *buf = NULL;
    int len, n;

    if (!chr) {
        error_setg(errp, "Device '%s' not found", chardev);
        *refused = true;
        return false;
    }
    buf = g_strdup_printf("%s\n", line);
    len = strlen(buf);
    n = qemu_chr_write(chr, (const uint8_t *)buf, len, false);
    if (n < 0) {
        error_setg(errp, "Device '%s' refused the write", chardev);
        return false;
    }
    if (n != len) {
        error_setg(errp, "Device '%s' took %d of %d bytes", chardev, n, len);
        return false;
    }
    return true;
}

void qmp_hello_world(
#if HAS_FLAGS
                     bool has_message,
#endif
                     const char *message,
#if HAS_FLAGS
                     bool has_chardev,
#endif
                     const char *chardev, Error **errp)
{
    const char *line = message ? message : "Hello, world";
    bool refused = false;

    if (!hello_world_check(line, errp)) {
        hello_world_stats.refused++;
        return;
    }
    if (chardev) {
        if (!hello_world_to_chardev(chardev, line, &refused, errp)) {
            if (refused) {
                hello_world_stats.refused++;
            } else {
                hello_world_stats.failed_writes++;
            }
            return;
        }
    } else if (printf("%s\n", line) < 0 || fflush(stdout) != 0) {
        error_setg_errno(errp, errno,
                         "Cannot write the message to standard output");
        __fpurge(stdout);
        clearerr(stdout);
        hello_world_stats.failed_writes++;
        return;
    }
    hello_world_stats.printed++;
    g_free(hello_world_stats.last_message);
    hello_world_stats.last_message = g_strdup(line);
#if HAS_FLAGS
    qapi_event_send_hello_world(line, chardev != NULL, chardev);
#else
    qapi_event_send_hello_world(line, chardev);
#endif
}

HelloWorldInfo *qmp_query_hello_world(Error **errp)
{
    HelloWorldInfo *info = g_new0(HelloWorldInfo, 1);

    info->printed = hello_world_stats.printed;
    info->refused = hello_world_stats.refused;
    info->failed_writes = hello_world_stats.failed_writes;
    info->calls = info->printed + info->refused + info->failed_writes;
    if (hello_world_stats.last_message) {
#if HAS_FLAGS
        info->has_last_message = true;
#endif
        info->last_message = g_strdup(hello_world_stats.last_message);
    }
    return info;
}

void hmp_hello_world(Monitor *mon, const QDict *qdict)
{
    const char *message = qdict_get_try_str(qdict, "message");
    const char *chardev = qdict_get_try_str(qdict, "chardev");
    Error *err = NULL;

#if HAS_FLAGS
    qmp_hello_world(message != NULL, message, chardev != NULL, chardev, &err);
#else
    qmp_hello_world(message, chardev, &err);
#endif
    hmp_handle_error(mon, err);
}

void hmp_info_hello_world(Monitor *mon, const QDict *qdict)
{
    g_autoptr(HelloWorldInfo) info = qmp_query_hello_world(NULL);

    monitor_printf(mon, "calls: %" PRId64 "\n", info->calls);
    monitor_printf(mon, "printed: %" PRId64 "\n", info->printed);
    monitor_printf(mon, "refused: %" PRId64 "\n", info->refused);
    monitor_printf(mon, "failed writes: %" PRId64 "\n", info->failed_writes);
    if (info->last_message) {
        monitor_printf(mon, "last message: %s\n", info->last_message);
    }
}

/* QEMU 7.2 has no runstate_get(): ask for each state. */
static RunState hello_vm_run_state(void)
{
#if QEMU_VERSION_MAJOR < 8
    RunState s;

    for (s = 0; s < RUN_STATE__MAX; s++) {
        if (runstate_check(s)) {
            return s;
        }
    }
    return RUN_STATE__MAX;
#else
    return runstate_get();
#endif
}

HelloVmInfo *qmp_query_hello_vm(Error **errp)
{
    HelloVmInfo *info = g_new0(HelloVmInfo, 1);
    MachineState *ms = MACHINE(qdev_get_machine());
    HelloVmCpuList **tail = &info->cpus;
    CPUState *cpu;

    if (qemu_name) {
#if HAS_FLAGS
        info->has_name = true;
#endif
        info->name = g_strdup(qemu_name);
    }
    info->uuid = qemu_uuid_unparse_strdup(&qemu_uuid);
    info->status = hello_vm_run_state();
    info->running = runstate_is_running();
    info->memory = g_new0(HelloVmMemory, 1);
    info->memory->base = ms->ram_size;
    info->memory->plugged = get_plugged_memory_size();
    info->memory->has_plugged = info->memory->plugged != (uint64_t)-1;
    RCU_READ_LOCK_GUARD();
    CPU_FOREACH(cpu) {
        HelloVmCpu *value = g_new0(HelloVmCpu, 1);

        value->cpu_index = cpu->cpu_index;
        value->qom_path = object_get_canonical_path(OBJECT(cpu));
        value->thread_id = cpu->thread_id;
        QAPI_LIST_APPEND(tail, value);
    }
    return info;
}

void hmp_info_hello_vm(Monitor *mon, const QDict *qdict)
{
    g_autoptr(HelloVmInfo) info = qmp_query_hello_vm(NULL);
    HelloVmCpuList *cpu;

    if (info->name) {
        monitor_printf(mon, "name: %s\n", info->name);
    }
    monitor_printf(mon, "uuid: %s\n", info->uuid);
    monitor_printf(mon, "status: %s\n", RunState_str(info->status));
    monitor_printf(mon, "running: %s\n", info->running ? "true" : "false");
    monitor_printf(mon, "base memory: %" PRIu64 "\n", info->memory->base);
    if (info->memory->has_plugged) {
        monitor_printf(mon, "plugged memory: %" PRIu64 "\n", info->memory->plugged);
    }
    for (cpu = info->cpus; cpu; cpu = cpu->next) {
        monitor_printf(mon, "cpu %" PRId64 ": %s (thread %" PRId64 ")\n",
                       cpu->value->cpu_index, cpu->value->qom_path,
                       cpu->value->thread_id);
    }
}
