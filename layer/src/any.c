/* SPDX-License-Identifier: GPL-2.0-or-later */
/* See any.h. */
#include "qemu/osdep.h"
/* QEMU >= 10.0 moved the QObject headers from qapi/qmp/ to qobject/. */
#if __has_include("qobject/qobject.h")
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnull.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#else
#include "qapi/qmp/qbool.h"
#include "qapi/qmp/qdict.h"
#include "qapi/qmp/qlist.h"
#include "qapi/qmp/qnull.h"
#include "qapi/qmp/qnum.h"
#include "qapi/qmp/qstring.h"
#endif
#include "any.h"

int qemu_monitor_layer_any_kind(const QObject *o)
{
    int64_t i;
    uint64_t u;

    switch (qobject_type(o)) {
    case QTYPE_QBOOL:
        return QEMU_MONITOR_LAYER_ANY_BOOL;
    case QTYPE_QNUM:
        if (qnum_get_try_int(qobject_to(QNum, o), &i)) {
            return QEMU_MONITOR_LAYER_ANY_INT;
        }
        if (qnum_get_try_uint(qobject_to(QNum, o), &u)) {
            return QEMU_MONITOR_LAYER_ANY_UINT;
        }
        return QEMU_MONITOR_LAYER_ANY_NUMBER;
    case QTYPE_QSTRING:
        return QEMU_MONITOR_LAYER_ANY_STR;
    case QTYPE_QLIST:
        return QEMU_MONITOR_LAYER_ANY_LIST;
    case QTYPE_QDICT:
        return QEMU_MONITOR_LAYER_ANY_DICT;
    default:
        return QEMU_MONITOR_LAYER_ANY_NULL;
    }
}

bool qemu_monitor_layer_any_bool(const QObject *o)
{
    return qbool_get_bool(qobject_to(QBool, o));
}

int64_t qemu_monitor_layer_any_int(const QObject *o)
{
    int64_t i = 0;

    qnum_get_try_int(qobject_to(QNum, o), &i);
    return i;
}

uint64_t qemu_monitor_layer_any_uint(const QObject *o)
{
    uint64_t u = 0;

    qnum_get_try_uint(qobject_to(QNum, o), &u);
    return u;
}

double qemu_monitor_layer_any_number(const QObject *o)
{
    return qnum_get_double(qobject_to(QNum, o));
}

const char *qemu_monitor_layer_any_str(const QObject *o)
{
    return qstring_get_str(qobject_to(QString, o));
}

const void *qemu_monitor_layer_any_first(const QObject *o)
{
    if (qobject_type(o) == QTYPE_QLIST) {
        return qlist_first(qobject_to(QList, o));
    }
    return qdict_first(qobject_to(QDict, o));
}

const void *qemu_monitor_layer_any_next(const QObject *o, const void *entry)
{
    if (qobject_type(o) == QTYPE_QLIST) {
        return qlist_next(entry);
    }
    return qdict_next(qobject_to(QDict, o), entry);
}

const QObject *qemu_monitor_layer_any_value(const QObject *o, const void *entry)
{
    if (qobject_type(o) == QTYPE_QLIST) {
        return qlist_entry_obj(entry);
    }
    return qdict_entry_value(entry);
}

const char *qemu_monitor_layer_any_key(const QObject *o, const void *entry)
{
    return qdict_entry_key(entry);
}

QObject *qemu_monitor_layer_any_new_null(void)
{
    return QOBJECT(qnull());
}

QObject *qemu_monitor_layer_any_new_bool(bool value)
{
    return QOBJECT(qbool_from_bool(value));
}

QObject *qemu_monitor_layer_any_new_int(int64_t value)
{
    return QOBJECT(qnum_from_int(value));
}

QObject *qemu_monitor_layer_any_new_uint(uint64_t value)
{
    return QOBJECT(qnum_from_uint(value));
}

QObject *qemu_monitor_layer_any_new_number(double value)
{
    return QOBJECT(qnum_from_double(value));
}

QObject *qemu_monitor_layer_any_new_str(const char *text, size_t len)
{
    return QOBJECT(qstring_from_substr(text, 0, len));
}

QObject *qemu_monitor_layer_any_new_list(void)
{
    return QOBJECT(qlist_new());
}

QObject *qemu_monitor_layer_any_new_dict(void)
{
    return QOBJECT(qdict_new());
}

void qemu_monitor_layer_any_append(QObject *list, QObject *value)
{
    qlist_append_obj(qobject_to(QList, list), value);
}

void qemu_monitor_layer_any_put(QObject *dict, const char *key, QObject *value)
{
    qdict_put_obj(qobject_to(QDict, dict), key, value);
}

void qemu_monitor_layer_any_release(QObject *o)
{
    qobject_unref(o);
}
