/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The panic boundary from C: calls the handlers of a command that panics (`panic-on`,
 * scaffolded by tests/new_command.rs) through QEMU's own prototypes, under ASan, UBSan
 * and LeakSanitizer. Each of the four panics (an index out of range, an unwrap on None,
 * a formatted panic!, a capacity overflow) must come back as the call's Error, the
 * process must go on, and nothing may leak. Whatever else the library refers to (the
 * other commands' events and list frees) is stubbed by the test and never called.
 */
#include "fakes.h"

static const char *const PLACE = "command 'panic-on' panicked at src/commands/panic_on.rs:";

static Error *panic_on(const char *how)
{
    Error *err = NULL;

    qmp_panic_on(how, &err);
    return err;
}

static void check_panic(const char *how, const char *place, const char *message)
{
    Error *err = panic_on(how);

    CHECK(err != NULL, "panic-on %s returned no error", how);
    CHECK(g_str_has_prefix(err->msg, place), "%s: \"%s\"", how, err->msg);
    CHECK(g_str_has_suffix(err->msg, message), "%s: \"%s\"", how, err->msg);
    CHECK(strcmp(err->func, "qmp_panic_on") == 0, "func %s", err->func);
    error_free_fake(err);
}

int main(void)
{
    Monitor mon = { g_string_new("") };
    QDict args = { "how", "explicit" };
    Error *err;
    int round;

    /* Twice over, so the second round runs after the panic hook is in place. */
    for (round = 0; round < 2; round++) {
        check_panic("index", PLACE, ": index out of bounds: the len is 1 but the index is 7");
        check_panic("unwrap", PLACE, ": called `Option::unwrap()` on a `None` value");
        check_panic("explicit", PLACE, ": asked to panic explicit (8 letters)");
        check_panic("capacity", "command 'panic-on' panicked at ", ": capacity overflow");
    }
    err = panic_on("gently");
    CHECK(err && strcmp(err->msg, "unknown way to panic: gently") == 0, "gently");
    error_free_fake(err);

    hmp_panic_on(&mon, &args);
    CHECK(g_str_has_prefix(mon.out->str, "Error: command 'panic-on' panicked at "
                           "src/commands/panic_on.rs:") &&
          g_str_has_suffix(mon.out->str, ": asked to panic explicit (8 letters)\n"),
          "HMP \"%s\"", mon.out->str);

    g_string_free(mon.out, true);
    fprintf(stderr, "all checks passed\n");
    return failures;
}
