// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The demo `make run` shows: open a heap through libgcuser, print what the
 * handshake negotiated, touch the arena chunk by chunk and print what the
 * kernel committed and how it mapped it.
 *
 * Build: cc -O2 demo.c $(pkg-config --cflags --libs gcuser)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/gcmem.h>

#include "gcuser.h"

#define DEMO_CHUNKS	16

int main(void)
{
	const struct gcu_heap_info *h;
	const volatile struct gcmem_control *ctl;
	struct gcu_heap_stats st;
	unsigned long long sum = 0;
	unsigned char *p;
	size_t i, len;
	int ok;

	if (gcu_init()) {
		fprintf(stderr, "demo: gcu_init: %s\n", strerror(errno));
		return 1;
	}
	h = gcu_heap();
	ctl = h->control;
	printf("demo: heap open: api %u, features %#llx (%s mappings), ioctls %#llx\n",
	       ctl->api_version, (unsigned long long)h->features,
	       h->features & GCMEM_FEATURE_PMD_MAP ? "2 MiB PMD" : "4 KiB PTE",
	       (unsigned long long)h->ioctls);
	printf("demo: arena %p, %zu GiB reserved, limit %llu MiB, chunk %llu KiB\n",
	       h->arena, h->arena_size >> 30,
	       (unsigned long long)h->limit >> 20,
	       (unsigned long long)h->chunk_size >> 10);

	p = h->arena;
	len = DEMO_CHUNKS * h->chunk_size;
	for (i = 0; i < len; i += 4096) {
		sum += p[i];
		p[i] = (unsigned char)(i >> 12);
	}
	for (i = 0; i < len; i += 4096)
		if (p[i] != (unsigned char)(i >> 12))
			break;

	if (gcu_stats(&st)) {
		fprintf(stderr, "demo: gcu_stats: %s\n", strerror(errno));
		return 1;
	}
	printf("demo: touched %d chunks: first reads summed to %llu (zeroed), pattern %s\n",
	       DEMO_CHUNKS, sum,
	       i == len ? "intact" : "CORRUPT");
	printf("demo: committed %llu MiB (control page says %llu MiB), %llu PMD faults, %llu PTE faults\n",
	       (unsigned long long)st.committed >> 20,
	       (unsigned long long)ctl->committed >> 20,
	       (unsigned long long)st.pmd_faults,
	       (unsigned long long)st.pte_faults);

	ok = sum == 0 && i == len;
	gcu_shutdown();
	return ok ? 0 : 1;
}
