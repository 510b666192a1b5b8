/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU's Error, Monitor and QDict functions as the command layer calls them, faked for
 * the C contract tests (tests/c/layer.c, tests/c/panic.c): an Error records its text,
 * source location and function; a Monitor collects what is printed in a GString; a
 * QDict holds one or two string arguments. Included once per test program.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-misc.h"
#include "qapi/qapi-events-misc.h"
#include "qapi/qapi-types-misc.h"
#include "monitor/hmp.h"

/* The fakes' own versions of QEMU's opaque types. */
struct Error {
    char *msg;
    const char *src;
    int line;
    const char *func;
};
struct Monitor {
    GString *out;
};
struct QDict {
    const char *key;   /* a string argument's name */
    const char *value; /* NULL when absent */
    const char *key2;  /* a second one's, or NULL */
    const char *value2;
};

static int failures;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            fprintf(stderr, "ok: %s\n", #cond);                               \
        } else {                                                              \
            fprintf(stderr, "FAILED at line %d: %s: ", __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
            exit(1);                                                          \
        }                                                                     \
    } while (0)

void error_setg_internal(Error **errp, const char *src, int line,
                         const char *func, const char *fmt, ...)
{
    va_list ap;
    Error *e = g_new0(Error, 1);

    va_start(ap, fmt);
    e->msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    e->src = src;
    e->line = line;
    e->func = func;
    if (!errp || *errp) {
        fprintf(stderr, "FAILED: error_setg_internal with errp %p\n", (void *)errp);
        exit(1);
    }
    *errp = e;
}

static void error_free_fake(Error *e)
{
    g_free(e->msg);
    g_free(e);
}

bool hmp_handle_error(Monitor *mon, Error *err)
{
    if (!err) {
        return false;
    }
    g_string_append_printf(mon->out, "Error: %s\n", err->msg);
    error_free_fake(err);
    return true;
}

int monitor_printf(Monitor *mon, const char *fmt, ...)
{
    va_list ap;
    gsize before = mon->out->len;

    va_start(ap, fmt);
    g_string_append_vprintf(mon->out, fmt, ap);
    va_end(ap);
    return mon->out->len - before;
}

const char *qdict_get_try_str(const QDict *qdict, const char *key)
{
    if (qdict->key2 && strcmp(key, qdict->key2) == 0) {
        return qdict->value2;
    }
    CHECK(strcmp(key, qdict->key) == 0, "unexpected key %s", key);
    return qdict->value;
}

int qdict_haskey(const QDict *qdict, const char *key)
{
    return 0;
}

int64_t qdict_get_try_int(const QDict *qdict, const char *key, int64_t def)
{
    return def;
}

bool qdict_get_try_bool(const QDict *qdict, const char *key, bool def)
{
    return def;
}

/* QEMU's big lock, as the command layer's debug assertion asks about it (7.2 and 10.x
 * names): every call here is made as QEMU makes it, under the lock. */
bool bql_locked(void)
{
    return true;
}

bool qemu_mutex_iothread_locked(void)
{
    return true;
}

