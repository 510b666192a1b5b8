/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QAPI's `any` (a QObject) for the layer's `Any` (src/ffi.rs): read into a Rust value,
 * and built from one. QObject's accessors are static inlines and macros in QEMU's
 * headers, which moved from qapi/qmp/ to qobject/ in 10.0; any.c is compiled with the
 * tree's own flags, and Rust sees only these functions (through bindgen).
 */
#ifndef QEMU_MONITOR_LAYER_ANY_H
#define QEMU_MONITOR_LAYER_ANY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct QObject QObject;

/* What a QObject holds; a QNum is an int when it fits int64_t, else a uint when it fits
 * uint64_t, else a number. */
#define QEMU_MONITOR_LAYER_ANY_NULL 0
#define QEMU_MONITOR_LAYER_ANY_BOOL 1
#define QEMU_MONITOR_LAYER_ANY_INT 2
#define QEMU_MONITOR_LAYER_ANY_UINT 3
#define QEMU_MONITOR_LAYER_ANY_NUMBER 4
#define QEMU_MONITOR_LAYER_ANY_STR 5
#define QEMU_MONITOR_LAYER_ANY_LIST 6
#define QEMU_MONITOR_LAYER_ANY_DICT 7

/* Reading: `o` is a valid QObject the caller keeps alive. */
int qemu_monitor_layer_any_kind(const QObject *o);
bool qemu_monitor_layer_any_bool(const QObject *o);
int64_t qemu_monitor_layer_any_int(const QObject *o);
uint64_t qemu_monitor_layer_any_uint(const QObject *o);
double qemu_monitor_layer_any_number(const QObject *o);
/* The string, NUL-terminated, alive as long as `o`. */
const char *qemu_monitor_layer_any_str(const QObject *o);
/* A list's or a dict's entries: the first (NULL when empty), the one after `entry`
 * (NULL after the last), an entry's value and (a dict's) key, alive as long as `o`. */
const void *qemu_monitor_layer_any_first(const QObject *o);
const void *qemu_monitor_layer_any_next(const QObject *o, const void *entry);
const QObject *qemu_monitor_layer_any_value(const QObject *o, const void *entry);
const char *qemu_monitor_layer_any_key(const QObject *o, const void *entry);

/* Building: each returns a new reference, the caller's. */
QObject *qemu_monitor_layer_any_new_null(void);
QObject *qemu_monitor_layer_any_new_bool(bool value);
QObject *qemu_monitor_layer_any_new_int(int64_t value);
QObject *qemu_monitor_layer_any_new_uint(uint64_t value);
QObject *qemu_monitor_layer_any_new_number(double value);
/* `len` bytes of `text` (cut at a NUL, as QString is). */
QObject *qemu_monitor_layer_any_new_str(const char *text, size_t len);
QObject *qemu_monitor_layer_any_new_list(void);
QObject *qemu_monitor_layer_any_new_dict(void);
/* Appends `value` to `list` (a list of ours), taking the caller's reference. */
void qemu_monitor_layer_any_append(QObject *list, QObject *value);
/* Puts `value` under the NUL-terminated `key` in `dict` (a dict of ours), taking the
 * caller's reference. */
void qemu_monitor_layer_any_put(QObject *dict, const char *key, QObject *value);
/* Drops a reference. */
void qemu_monitor_layer_any_release(QObject *o);

#endif
