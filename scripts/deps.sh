#!/bin/bash
# deps.sh - install what gcmem needs to build and test, then cache a few
# files from the Debian linux-source-6.12 tarball outside the repo.
#
# Usage: scripts/deps.sh                 install what is missing (idempotent)
#        scripts/deps.sh --print-cache   print the dir holding the extracted
#                                        tools/ and scripts/ files, and exit
#
# When everything is present it only runs dpkg-query and a few file tests
# (no apt-get update, well under a second) and prints nothing. Otherwise it
# runs `apt-get update` once, installs only the missing packages and prints
# one line per action. Not root and something missing: lists it, exits 1.
set -euo pipefail

PACKAGES=(
	qemu-system-x86 busybox-static cpio gzip kmod gcc make libc6-dev bc
	xz-utils sparse libgc-dev gnuplot-nox
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64 linux-source-6.12
	flex bison libelf-dev libssl-dev libasan8 libubsan1 libtsan2
	g++ w3m libjemalloc-dev libmimalloc-dev
)

SRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
SRC_TOPDIR=linux-source-6.12
SRC_FILES=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)

home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
cache_root=${GCMEM_CACHE:-${XDG_CACHE_HOME:-$home/.cache}/gcmem}
src_cache=$cache_root/$SRC_TOPDIR

if [ "${1:-}" = "--print-cache" ]; then
	echo "$src_cache"
	exit 0
elif [ $# -gt 0 ]; then
	echo "usage: $0 [--print-cache]" >&2
	exit 2
fi

# --- packages -------------------------------------------------------------
# One dpkg-query call for all packages; a package dpkg has never heard of
# is simply absent from its output.
declare -A installed=()
while read -r pkg status; do
	[ "$status" = installed ] && installed[${pkg%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' \
	"${PACKAGES[@]}" 2>/dev/null || true)

missing=()
for pkg in "${PACKAGES[@]}"; do
	[ -n "${installed[$pkg]:-}" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: run as root (or: apt-get install ${missing[*]})" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Wait for another apt/dpkg (e.g. unattended-upgrades on a new
	# machine) instead of failing at once on its lock.
	lock=(-o DPkg::Lock::Timeout=300)
	echo "deps: apt-get update"
	apt-get "${lock[@]}" update -q
	echo "deps: apt-get install ${missing[*]}"
	apt-get "${lock[@]}" install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# --- files from the kernel source tarball ---------------------------------
need_extract=0
for f in "${SRC_FILES[@]}"; do
	[ -s "$src_cache/$f" ] || need_extract=1
done

if [ $need_extract -eq 1 ]; then
	if [ ! -r "$SRC_TARBALL" ]; then
		echo "deps: $SRC_TARBALL not found (is linux-source-6.12 installed?)" >&2
		exit 1
	fi
	echo "deps: extracting ${#SRC_FILES[@]} files from $SRC_TARBALL into $src_cache"
	mkdir -p "$cache_root"
	tmp=$(mktemp -d "$cache_root/.extract.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	members=()
	for f in "${SRC_FILES[@]}"; do
		members+=("$SRC_TOPDIR/$f")
	done
	tar -xJf "$SRC_TARBALL" -C "$tmp" --no-same-owner --wildcards \
		"${members[@]}"
	# Move each file into place with a rename, so a concurrent reader
	# never sees a half-written file.
	for f in "${SRC_FILES[@]}"; do
		mkdir -p "$src_cache/$(dirname "$f")"
		mv -f "$tmp/$SRC_TOPDIR/$f" "$src_cache/$f"
	done
fi
