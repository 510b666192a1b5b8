/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The QEMU and C library declarations the layer's runtime uses; read by bindgen (see build.rs); nothing of any command. */
#include "qemu/osdep.h"
#include "qapi/error.h"
/* QEMU >= 10.0 moved the QObject headers from qapi/qmp/ to qobject/. */
#if __has_include("qobject/qdict.h")
#include "qobject/qdict.h"
#else
#include "qapi/qmp/qdict.h"
#endif
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include <stdio_ext.h>
#include "qemu/main-loop.h"
#include "chardev/char.h"
#include "vm.h"
#include "any.h"
