/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The QEMU and C library declarations the Rust side uses; read by bindgen (see build.rs). */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-misc.h"
#include "qobject/qdict.h"
#include "monitor/hmp.h"
#include <stdio_ext.h>
