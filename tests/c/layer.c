/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Calls the generated handlers of the Rust staticlib through QEMU's own prototypes (the
 * headers of the configured tree), with fake Error, Monitor and QDict functions in
 * place of QEMU's, under ASan and UBSan. Built and run by tests/layer_c.rs in
 * milliseconds, without booting QEMU. Prints each check on stderr; exits 1 on the
 * first that fails. The staticlib's printed lines go to stdout, which the test reads.
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
    const char *message; /* NULL when absent */
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
    CHECK(strcmp(key, "message") == 0, "unexpected key %s", key);
    return qdict->message;
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

static GPtrArray *events;

/* QEMU's big lock, as the command layer asks about it (7.2 and 10.x names). */
static bool fake_bql = true;

bool bql_locked(void)
{
    return fake_bql;
}

bool qemu_mutex_iothread_locked(void)
{
    return fake_bql;
}

void qapi_event_send_hello_world(const char *message)
{
    g_ptr_array_add(events, g_strdup(message));
}

/* The handler through this release's prototype (7.2 passes has_message). */
static Error *hello(const char *message)
{
    Error *err = NULL;
#ifdef QEMU_HAS_MESSAGE_FLAG
    qmp_hello_world(message != NULL, message, &err);
#else
    qmp_hello_world(message, &err);
#endif
    return err;
}

static void check_refused(const char *message, const char *expected)
{
    guint events_before = events->len;
    Error *err = hello(message);

    CHECK(err != NULL, "%s was accepted", message);
    CHECK(strcmp(err->msg, expected) == 0, "got \"%s\"", err->msg);
    CHECK(g_str_has_suffix(err->src, ".rs"), "src %s", err->src);
    CHECK(err->line > 0, "line %d", err->line);
    CHECK(strcmp(err->func, "qmp_hello_world") == 0, "func %s", err->func);
    CHECK(events->len == events_before, "a refused call sent an event");
    error_free_fake(err);
}

int main(void)
{
    Error *err;
    HelloWorldInfo *info;
    Monitor mon = { g_string_new("") };
    QDict args = { NULL };

    events = g_ptr_array_new_with_free_func(g_free);

    err = hello(NULL);
    CHECK(err == NULL, "%s", err->msg);
    err = hello("We love qemu");
    CHECK(err == NULL, "%s", err->msg);
    CHECK(events->len == 2, "%u events", events->len);
    CHECK(strcmp(g_ptr_array_index(events, 0), "Hello, world") == 0, "event 0");
    CHECK(strcmp(g_ptr_array_index(events, 1), "We love qemu") == 0, "event 1");

    check_refused("a\nb", "Parameter 'message' contains the control character "
                  "U+000A at character 1 (byte 1); control characters are not allowed");
    /* QEMU's JSON parser hands \u0000 over as the overlong bytes C0 80. */
    check_refused("x\xC0\x80", "Parameter 'message' contains the control character "
                  "U+0000 at character 1 (byte 1); control characters are not allowed");
    check_refused("\xFF", "Parameter 'message' is not valid UTF-8 at byte 0");

    err = NULL;
    info = qmp_query_hello_world(&err);
    CHECK(err == NULL && info != NULL, "query failed");
    CHECK(info->calls == 5 && info->printed == 2 && info->refused == 3 &&
          info->failed_writes == 0, "counters %" PRId64 " %" PRId64 " %" PRId64,
          info->calls, info->printed, info->refused);
#ifdef QEMU_HAS_MESSAGE_FLAG
    CHECK(info->has_last_message, "has_last_message");
#endif
    CHECK(info->last_message && strcmp(info->last_message, "We love qemu") == 0,
          "last message");
    /* What qapi_free_HelloWorldInfo does: every string and the struct, with g_free. */
    g_free(info->last_message);
    g_free(info);

    args.message = "from hmp";
    hmp_hello_world(&mon, &args);
    CHECK(mon.out->len == 0, "HMP success printed \"%s\"", mon.out->str);
    args.message = "bell\a";
    hmp_hello_world(&mon, &args);
    CHECK(g_str_has_prefix(mon.out->str, "Error: Parameter 'message' contains the "
                           "control character U+0007"), "HMP error \"%s\"", mon.out->str);
    g_string_truncate(mon.out, 0);
    args.message = NULL;
    hmp_info_hello_world(&mon, &args);
    CHECK(strcmp(mon.out->str, "calls: 7\nprinted: 3\nrefused: 4\nfailed writes: 0\n"
                 "last message: from hmp\n") == 0, "info \"%s\"", mon.out->str);
    CHECK(events->len == 3, "%u events", events->len);

    /* Without the BQL the commands' state is refused: an error, nothing printed or sent. */
    fake_bql = false;
    err = hello("no lock");
    CHECK(err != NULL && strcmp(err->msg, "The command's state was used without "
                                "QEMU's big lock (BQL) held") == 0, "no-BQL hello-world");
    CHECK(g_str_has_suffix(err->src, "hello_world.rs"), "src %s", err->src);
    error_free_fake(err);
    err = NULL;
    info = qmp_query_hello_world(&err);
    CHECK(info == NULL && err != NULL, "no-BQL query-hello-world answered");
    error_free_fake(err);
    g_string_truncate(mon.out, 0);
    hmp_info_hello_world(&mon, &args);
    CHECK(strcmp(mon.out->str, "Error: The command's state was used without QEMU's big "
                 "lock (BQL) held\n") == 0, "no-BQL info \"%s\"", mon.out->str);
    CHECK(events->len == 3, "%u events", events->len);
    fake_bql = true;
    g_string_truncate(mon.out, 0);
    hmp_info_hello_world(&mon, &args);
    CHECK(g_str_has_prefix(mon.out->str, "calls: 7\n"), "counters changed: \"%s\"",
          mon.out->str);

    g_string_free(mon.out, true);
    g_ptr_array_free(events, true);
    fprintf(stderr, "all checks passed\n");
    return failures;
}
