#!/bin/bash
# run.sh - `make run`: boot the 6.12 image under QEMU and run the demo.
#
# Usage: scripts/run.sh          (after `make deps` and `make host`)
#
# Builds the module for the newest installed Debian 6.12 kernel, packs it
# with the static demo (GCBench, bench/gcbench.c) into an initramfs, boots
# it and shows the console.
# The console log is kept in $BUILD/KREL/demo.log.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-$top/build}
export GCMEM_KVM_CACHE=$build/kvm-probe

krel=$("$top/scripts/kernels.sh" 6.12)
kdir=$build/$krel
src=$kdir/src

rm -rf "$src"
mkdir -p "$src"
cp -r "$top/Kbuild" "$top/kmod" "$top/uapi" "$src/"
make -C "/lib/modules/$krel/build" M="$src" modules > "$kdir/build.log" 2>&1 ||
	{ tail -n 30 "$kdir/build.log"; exit 1; }

"$top/qemu-images/mkinitramfs.sh" "$kdir/demo.cpio.gz" "$src/gcmem.ko" \
	"$build/host/bin"
# The demo is GCBench; GCU_TRACE=1 prints a line per collection. Words
# the kernel does not know reach the guest's init, and the demo, as
# environment variables. Depth 18 is the published size; GCB_DEPTH=N scales it.
export GCMEM_BOOT_APPEND="GCU_TRACE=1 GCB_DEPTH=${GCB_DEPTH:-18} ${GCMEM_BOOT_APPEND:-}"
exec "$top/qemu-images/boot.sh" "$krel" "$kdir/demo.cpio.gz" \
	"$kdir/demo.log" demo
