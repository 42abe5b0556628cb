#!/bin/bash
# debug-kernel.sh - build gcmem's debug kernel once and cache it.
#
# Usage: scripts/debug-kernel.sh           build it unless cached; print its
#                                          build tree (the KDIR) last
#        scripts/debug-kernel.sh --print   print the cached build tree, or
#                                          exit 1 if there is none
#
# The kernel is linux-source-6.12 (Debian's tarball, installed by deps.sh)
# configured as allnoconfig plus qemu-images/debug-kernel.config: a guest
# just big enough for the selftests, with KASAN, KFENCE, lockdep, kmemleak,
# UBSAN and fault injection. Every option the fragment names must come out
# with the fragment's value, or the build fails (a dependency that went
# missing would silently drop a checker).
#
# The cache lives outside the tree, in $GCMEM_CACHE (default
# ~/.cache/gcmem)/debug-kernel/KEY, where KEY hashes the fragment, the
# recipe's version below, the source package's version and the compiler's:
# a second run with the same inputs builds nothing. KEY/obj is the build tree (bzImage,
# Module.symvers, what out-of-tree modules build against), KEY/src the
# source it needs, KEY/build-seconds how long the build took. That file is
# written last: a key without it is an interrupted build, started over.
# Older keys are removed when a build completes. The trees record their
# absolute paths, so a build happens where it stays.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
frag=$top/qemu-images/debug-kernel.config
SRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
SRC_TOPDIR=linux-source-6.12

home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
cache_root=${GCMEM_CACHE:-${XDG_CACHE_HOME:-$home/.cache}/gcmem}/debug-kernel

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) || {
	echo "debug-kernel: linux-source-6.12 is not installed (run scripts/deps.sh)" >&2
	exit 1
}
# Bump when the build steps below change what gets built.
RECIPE=1
key=$( { cat "$frag"; echo "recipe $RECIPE $srcver"; gcc --version | head -n 1; } |
	sha256sum | cut -c1-16)
dir=$cache_root/$key

case ${1:-} in
--print)
	[ -s "$dir/build-seconds" ] || exit 1
	echo "$dir/obj"
	exit 0 ;;
"")	;;
*)	echo "usage: $0 [--print]" >&2; exit 2 ;;
esac

if [ -s "$dir/build-seconds" ]; then
	echo "debug-kernel: cached in $dir (built in $(cat "$dir/build-seconds") s)" >&2
	echo "$dir/obj"
	exit 0
fi

rm -rf "$dir"
mkdir -p "$dir"
start=$(date +%s)
echo "debug-kernel: building $SRC_TOPDIR $srcver with $frag into $dir" >&2

tar -xJf "$SRC_TARBALL" -C "$dir" --no-same-owner
mv "$dir/$SRC_TOPDIR" "$dir/src"
kmake=(make -s -C "$dir/src" O="$dir/obj" ARCH=x86_64 -j"$(nproc)")

# The fragment's values are forced, everything else is "no", then the
# options that have no prompt in this base get their defaults.
"${kmake[@]}" KCONFIG_ALLCONFIG="$frag" allnoconfig >&2
"${kmake[@]}" olddefconfig >&2

bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)	want=$line name=${line%%=*} ;;
	"# CONFIG_"*" is not set")
		name=${line#\# }; name=${name%% *}; want="# $name is not set" ;;
	*)	continue ;;
	esac
	got=$(grep -E "^($name=|# $name is not set)" "$dir/obj/.config" || true)
	[ -z "$got" ] && [[ $want == "#"* ]] && continue
	if [ "$got" != "$want" ]; then
		echo "debug-kernel: $name: want '$want', got '${got:-<absent>}'" >&2
		bad=1
	fi
done < "$frag"
[ $bad -eq 0 ] || { echo "debug-kernel: the fragment did not apply" >&2; exit 1; }

# bzImage for the guest; modules for Module.symvers, which out-of-tree
# modules need to resolve the kernel's symbols.
"${kmake[@]}" bzImage modules >&2

echo $(( $(date +%s) - start )) > "$dir/build-seconds"
for old in "$cache_root"/*; do
	[ "$old" = "$dir" ] || rm -rf "$old"
done
echo "debug-kernel: built in $(cat "$dir/build-seconds") s" >&2
echo "$dir/obj"
