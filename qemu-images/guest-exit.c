// SPDX-License-Identifier: GPL-2.0
/*
 * guest-exit - end the QEMU guest with a chosen exit status.
 *
 * Usage: guest-exit CODE   (CODE: 0..255)
 *
 * Writes CODE to I/O port 0xf4, where QEMU's
 * "-device isa-debug-exit,iobase=0xf4,iosize=4" makes QEMU exit with
 * status (CODE << 1) | 1. So "guest-exit 0" gives 1 and "guest-exit 1"
 * gives 3 on the host; a kernel panic or poweroff gives 0 instead.
 * Built static (gcc -static -O2) by mkinitramfs.sh; runs as root in the
 * guest. Returns only if the device is missing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT		0xf4
#define DEBUG_EXIT_PORT_LEN	4

int main(int argc, char **argv)
{
	unsigned long code;
	char *end;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CODE (0..255)\n", argv[0]);
		return 2;
	}

	errno = 0;
	code = strtoul(argv[1], &end, 0);
	if (errno || end == argv[1] || *end || code > 255) {
		fprintf(stderr, "guest-exit: bad code '%s' (want 0..255)\n",
			argv[1]);
		return 2;
	}

	if (ioperm(DEBUG_EXIT_PORT, DEBUG_EXIT_PORT_LEN, 1)) {
		fprintf(stderr, "guest-exit: ioperm(0x%x): %s\n",
			DEBUG_EXIT_PORT, strerror(errno));
		return 1;
	}

	outb((unsigned char)code, DEBUG_EXIT_PORT);

	/* Still running: there is no isa-debug-exit device at that port. */
	fprintf(stderr, "guest-exit: no isa-debug-exit device at 0x%x\n",
		DEBUG_EXIT_PORT);
	return 1;
}
