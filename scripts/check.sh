#!/bin/bash
# check.sh - `make check`: every test of gcmem on both target kernels.
#
# Usage: scripts/check.sh        (after `make deps` and `make host`)
#
# Host-side checks, each counted as one test:
#   uapi-standalone   uapi/linux/gcmem.h compiles alone with -Wall -Wextra
#                     -Werror in user space
#   checkpatch        checkpatch.pl --strict on kmod/ and uapi/ is clean
#   build:KREL        the module builds for KREL with W=1 and sparse (C=1
#                     on a fresh copy checks every file) without a warning
# Then, per kernel, the module and the static selftests go into an
# initramfs that boots under QEMU (qemu-images/boot.sh); every selftest
# case is one test (qemu-images/summarize.sh). Console logs are kept in
# $BUILD/KREL/console.log. The last line is "N passed, N failed, N skipped".
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-$top/build}
host=$build/host
export GCMEM_KVM_CACHE=$build/kvm-probe

passed=0 failed=0 skipped=0
failures=()

# record NAME RC: count one host-side check.
record()
{
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok: $1"
	else
		failed=$((failed + 1))
		failures+=("$1")
		echo "FAIL: $1"
	fi
}

mkdir -p "$build"

echo "== host checks"
echo '#include <linux/gcmem.h>
int main(void) { return sizeof(struct gcmem_handshake) != 64; }' |
	gcc -std=c99 -Wall -Wextra -Werror -pedantic -I"$top/uapi" -x c - \
		-o "$build/uapi-standalone" && "$build/uapi-standalone"
record uapi-standalone $?

make -s -C "$top" style
record checkpatch $?

mapfile -t krels < <("$top/scripts/kernels.sh") || true
if [ "${#krels[@]}" -ne 2 ]; then
	record "target kernels installed" 1
	krels=()
fi

for krel in "${krels[@]}"; do
	kdir=$build/$krel
	src=$kdir/src
	echo "== $krel: build"
	rm -rf "$src"
	mkdir -p "$src"
	cp -r "$top/Kbuild" "$top/kmod" "$top/uapi" "$src/"
	make -C "/lib/modules/$krel/build" M="$src" W=1 C=1 CHECK=sparse \
		modules > "$kdir/build.log" 2>&1
	rc=$?
	if grep -E 'warning:|error:' "$kdir/build.log"; then
		rc=1
	fi
	[ $rc -eq 0 ] || tail -n 20 "$kdir/build.log"
	record "build:$krel (W=1, sparse)" $rc
	[ $rc -eq 0 ] || continue

	echo "== $krel: boot and selftests"
	"$top/qemu-images/mkinitramfs.sh" "$kdir/initramfs.cpio.gz" \
		"$src/gcmem.ko" "$host/bin" || { record "initramfs:$krel" 1; continue; }
	"$top/qemu-images/boot.sh" "$krel" "$kdir/initramfs.cpio.gz" \
		"$kdir/console.log" check > "$kdir/boot.out" 2>&1
	boot_rc=$?
	grep -E '^(# boot|# guest)' "$kdir/boot.out"
	GCMEM_COUNTS=$kdir/counts "$top/qemu-images/summarize.sh" "$krel" \
		"$kdir/console.log" $boot_rc
	if read -r p f s < "$kdir/counts"; then
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
		[ "$f" -eq 0 ] || failures+=("$krel selftests (see $kdir/console.log)")
	else
		record "selftests:$krel" 1
	fi
done

echo
echo "== summary"
for f in "${failures[@]}"; do
	echo "failed: $f"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
