/* SPDX-License-Identifier: GPL-2.0 */
/* The uapi header wants the system's __u32 and friends, and the rest. */
#include_next <linux/types.h>
#include "../../shim.h"
