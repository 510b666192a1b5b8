/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Calls the generated handlers of the Rust staticlib through QEMU's own prototypes (the
 * headers of the configured tree), with fake Error, Monitor and QDict functions in
 * place of QEMU's, under ASan and UBSan. Built and run by tests/layer_c.rs in
 * milliseconds, without booting QEMU. Prints each check on stderr; exits 1 on the
 * first that fails. The staticlib's printed lines go to stdout, which the test reads.
 */
#include "fakes.h"

static GPtrArray *events;

/* An event as "message", or "message -> chardev" when it names a device. */
#ifdef QEMU_HAS_MESSAGE_FLAG
void qapi_event_send_hello_world(const char *message, bool has_chardev, const char *chardev)
{
    CHECK(has_chardev == (chardev != NULL), "has_chardev");
#else
void qapi_event_send_hello_world(const char *message, const char *chardev)
{
#endif
    g_ptr_array_add(events, g_strdup_printf("%s%s%s", message, chardev ? " -> " : "",
                                            chardev ? chardev : ""));
}

/*
 * Character devices as the layer calls them (chardev/char.h): "ring" takes every
 * byte, "short" takes at most 3 per write, "full" refuses (-1, as QEMU's I/O channel
 * does); any other id does not exist.
 */
struct Chardev {
    GString *written;
    int take; /* bytes a write takes at most; -1: it fails */
};
static Chardev ring = { NULL, INT_MAX }, short_dev = { NULL, 3 }, full = { NULL, -1 };

Chardev *qemu_chr_find(const char *name);
Chardev *qemu_chr_find(const char *name)
{
    return !strcmp(name, "ring") ? &ring : !strcmp(name, "short") ? &short_dev
        : !strcmp(name, "full") ? &full : NULL;
}

int qemu_chr_write(Chardev *s, const uint8_t *buf, int len, bool write_all);
int qemu_chr_write(Chardev *s, const uint8_t *buf, int len, bool write_all)
{
    int n;

    CHECK(!write_all, "write_all would wait for the device");
    if (s->take < 0) {
        errno = EINVAL;
        return -1;
    }
    n = MIN(len, s->take);
    g_string_append_len(s->written, (const char *)buf, n);
    return n;
}

/* The handler through this release's prototype (7.2 passes has_message, has_chardev). */
static Error *hello_to(const char *message, const char *chardev)
{
    Error *err = NULL;
#ifdef QEMU_HAS_MESSAGE_FLAG
    qmp_hello_world(message != NULL, message, chardev != NULL, chardev, &err);
#else
    qmp_hello_world(message, chardev, &err);
#endif
    return err;
}

static Error *hello(const char *message)
{
    return hello_to(message, NULL);
}

/* A call to `chardev` fails with `expected`; no event, nothing written to "ring". */
static void check_device_error(const char *chardev, const char *expected)
{
    guint events_before = events->len;
    gsize ring_before = ring.written->len;
    Error *err = hello_to("to a device", chardev);

    CHECK(err != NULL, "the write to %s was accepted", chardev);
    CHECK(strcmp(err->msg, expected) == 0, "got \"%s\"", err->msg);
    CHECK(strcmp(err->func, "qmp_hello_world") == 0, "func %s", err->func);
    CHECK(events->len == events_before, "a failed call sent an event");
    CHECK(ring.written->len == ring_before, "a failed call wrote to ring");
    error_free_fake(err);
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
    QDict args = { "message", NULL, "chardev", NULL };

    events = g_ptr_array_new_with_free_func(g_free);
    ring.written = g_string_new("");
    short_dev.written = g_string_new("");
    full.written = g_string_new("");

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

    args.value = "from hmp";
    hmp_hello_world(&mon, &args);
    CHECK(mon.out->len == 0, "HMP success printed \"%s\"", mon.out->str);
    args.value = "bell\a";
    hmp_hello_world(&mon, &args);
    CHECK(g_str_has_prefix(mon.out->str, "Error: Parameter 'message' contains the "
                           "control character U+0007"), "HMP error \"%s\"", mon.out->str);
    g_string_truncate(mon.out, 0);
    args.value = NULL;
    hmp_info_hello_world(&mon, &args);
    CHECK(strcmp(mon.out->str, "calls: 7\nprinted: 3\nrefused: 4\nfailed writes: 0\n"
                 "last message: from hmp\n") == 0, "info \"%s\"", mon.out->str);
    CHECK(events->len == 3, "%u events", events->len);

    /* QEMU calls every handler here under the BQL (none is allow-oob): the handler makes
     * the call's Bql token, and the commands' state takes it. No run-time lock check is
     * left to test: an allow-oob command gets no token, and without one the state cannot
     * be reached (tests/compile_errors.rs). */
    g_string_truncate(mon.out, 0);

    /* The chardev form: the line and its newline to the device, the event names it. */
    err = hello_to("to ring", "ring");
    CHECK(err == NULL, "%s", err->msg);
    CHECK(strcmp(ring.written->str, "to ring\n") == 0, "ring \"%s\"", ring.written->str);
    CHECK(events->len == 4 && strcmp(g_ptr_array_index(events, 3), "to ring -> ring") == 0,
          "the event names the device");
    check_device_error("nope", "Device 'nope' not found");
    check_device_error("short", "Device 'short' took 3 of 12 bytes");
    check_device_error("full", "Device 'full' refused the write");
    /* HMP's -c option. */
    g_string_truncate(mon.out, 0);
    args.value = "hmp to ring";
    args.value2 = "ring";
    hmp_hello_world(&mon, &args);
    CHECK(mon.out->len == 0, "HMP -c printed \"%s\"", mon.out->str);
    CHECK(strcmp(ring.written->str, "to ring\nhmp to ring\n") == 0, "ring \"%s\"", ring.written->str);
    args.value2 = "nope";
    hmp_hello_world(&mon, &args);
    CHECK(strcmp(mon.out->str, "Error: Device 'nope' not found\n") == 0, "HMP -c nope \"%s\"",
          mon.out->str);
    args.value = args.value2 = NULL;
    g_string_truncate(mon.out, 0);
    hmp_info_hello_world(&mon, &args);
    CHECK(strcmp(mon.out->str, "calls: 13\nprinted: 5\nrefused: 6\nfailed writes: 2\n"
                 "last message: hmp to ring\n") == 0, "info \"%s\"", mon.out->str);

    g_string_free(ring.written, true);
    g_string_free(short_dev.written, true);
    g_string_free(full.written, true);
    g_string_free(mon.out, true);
    g_ptr_array_free(events, true);
    fprintf(stderr, "all checks passed\n");
    return failures;
}
