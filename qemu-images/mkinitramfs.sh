#!/bin/bash
# mkinitramfs.sh - build the minimal initramfs that boot.sh boots.
#
# Usage: qemu-images/mkinitramfs.sh OUT.cpio.gz MODULE.ko BINDIR [COMPATDIR]
#
# Contents (newc cpio, gzip):
#   /init                 qemu-images/init
#   /bin/busybox          from busybox-static, plus one symlink per applet
#   /sbin/guest-exit      qemu-images/guest-exit.c, built here (gcc -static)
#   /gcmem/gcmem.ko       MODULE.ko
#   /gcmem/bin/*          every regular executable file of BINDIR; for
#                         a dynamic one, the shared libraries it needs (at
#                         their paths here), with BINDIR/../lib's in
#                         /gcmem/lib (found through $ORIGIN/../lib)
#   /gcmem/compat/        COMPATDIR (scripts/compat-prep.sh), if given:
#                         programs built for Debian's libgc.so.1, with the
#                         shared libraries they need but that one, which
#                         they must take from /gcmem/lib (gcmem's)
#   /dev/console          (when run as root), /proc /sys /dev /tmp /root
#                         /sys/fs/cgroup as empty dirs
# No other kernel modules: the guest only needs built-in drivers.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUSYBOX=${GCMEM_BUSYBOX:-/bin/busybox}
CC=${CC:-gcc}

die()
{
	echo "mkinitramfs: $*" >&2
	exit 1
}

[ $# -eq 3 ] || [ $# -eq 4 ] || {
	echo "usage: $0 OUT.cpio.gz MODULE.ko BINDIR [COMPATDIR]" >&2
	exit 2
}
out=$1 module=$2 bindir=$3 compat=${4:-}
[ -z "$compat" ] || [ -x "$compat/gcmem-run" ] ||
	die "$compat is not a compat dir (no gcmem-run)"

[ -f "$module" ] || die "module $module not found"
[ -d "$bindir" ] || die "binary dir $bindir not found"
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (install busybox-static)"
for tool in cpio gzip "$CC"; do
	command -v "$tool" >/dev/null || die "$tool not found (run scripts/deps.sh)"
done

# is_dynamic FILE: true if FILE is an ELF program that needs a dynamic
# loader (it would fail in the guest with a confusing "not found").
is_dynamic()
{
	[ "$(head -c 4 "$1" | tail -c 3)" = ELF ] || return 1
	LC_ALL=C readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
}

mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gcmem-initramfs.XXXXXX")
partial=$out.tmp.$$
trap 'rm -rf "$tmp" "$partial"' EXIT
root=$tmp/root

mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,root,gcmem/bin} "$root/sys/fs/cgroup"
chmod 1777 "$root/tmp"

install -m 0755 "$BUSYBOX" "$root/bin/busybox"
# "busybox --list" names busybox itself: linking it over the real binary
# would make a symlink loop (init then fails with -ELOOP, error -40).
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] && continue
	ln -s busybox "$root/bin/$applet"
done

install -m 0755 "$here/init" "$root/init"

"$CC" -static -O2 -Wall -Wextra -o "$root/sbin/guest-exit" "$here/guest-exit.c"

install -m 0644 "$module" "$root/gcmem/gcmem.ko"

# add_libs FILE [SKIPDIR]: the shared libraries FILE needs, and their
# loader, at the paths they have here (the guest's loader looks there).
# Those in $bindir/../lib (libgcuser.so.0, found through $ORIGIN/../lib) go
# to /gcmem/lib with the rest of that directory, below; so do those in
# SKIPDIR, with theirs. libgc.so.1 is never taken from the system: the
# guest has gcmem's.
add_libs()
{
	local lib skip=${2:-$bindir/../lib}

	for lib in $(LC_ALL=C ldd "$1" | awk '
		/=> \// { print $3 } /^[ \t]*\// { print $1 }'); do
		case "$(realpath "$lib")" in
		"$(realpath "$bindir/../lib")"/*) continue ;;
		"$(realpath "$skip")"/*) continue ;;
		*/libgc.so.1*) continue ;;
		esac
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	# The C library loads libgcc_s.so.1 itself to unwind a thread that
	# calls pthread_exit() or is cancelled; ldd does not list it.
	lib=$(realpath "$("$CC" -print-file-name=libgcc_s.so.1)")
	if [ -f "$lib" ] && [ ! -e "$root/lib/x86_64-linux-gnu/libgcc_s.so.1" ]; then
		mkdir -p "$root/lib/x86_64-linux-gnu"
		cp -L "$lib" "$root/lib/x86_64-linux-gnu/libgcc_s.so.1"
	fi
}

n=0
for f in "$bindir"/*; do
	{ [ -f "$f" ] && [ -x "$f" ]; } || continue
	if is_dynamic "$f"; then
		[ -d "$bindir/../lib" ] ||
			die "$f is dynamically linked and $bindir/../lib is missing"
		add_libs "$f"
	fi
	install -m 0755 "$f" "$root/gcmem/bin/"
	n=$((n + 1))
done
[ $n -gt 0 ] || echo "mkinitramfs: warning: no executables in $bindir" >&2
if [ -d "$bindir/../lib" ]; then
	mkdir -p "$root/gcmem/lib"
	for f in "$bindir/../lib"/*; do
		[ -f "$f" ] || continue
		install -m 0755 "$f" "$root/gcmem/lib/"
		is_dynamic "$f" || add_libs "$f"
	done
fi

if [ -n "$compat" ]; then
	mkdir -p "$root/gcmem/compat"
	cp -a "$compat/." "$root/gcmem/compat/"
	for f in "$compat"/bin/* "$compat"/lib/*; do
		[ -f "$f" ] && is_dynamic "$f" && add_libs "$f" "$compat/lib"
	done
	# Shared objects (no interpreter) need their libraries too.
	for f in "$compat"/lib/*.so*; do
		[ -f "$f" ] && add_libs "$f" "$compat/lib"
	done
fi

# The kernel opens /dev/console before running /init; without the node the
# early output of init is lost (init reopens it from devtmpfs anyway).
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
fi

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet --reproducible) |
	gzip -6 -n >"$partial"
mv -f "$partial" "$out"
