#!/bin/bash
# bdwgc-tests.sh - build a few of bdwgc's own tests against a given gc.h,
# for checking our libgc.so.1 drop-in. The bdwgc sources are Debian's
# libgc source package 1:8.2.2-3 (the version of the libgc1 on bookworm),
# fetched with apt-get into a cache outside the repo; no bdwgc code is in
# the repository.
#
# Usage: scripts/bdwgc-tests.sh --print-src      print the extracted source
#                                                dir, and exit
#        scripts/bdwgc-tests.sh OUTDIR [INCDIR]  fetch the source if needed,
#                                                then build the tests
#
# The source goes to $GCMEM_CACHE/libgc-8.2.2 (default
# ~/.cache/gcmem/libgc-8.2.2, as in deps.sh). When it is already there,
# nothing touches the network. Otherwise one `apt-get update` +
# `apt-get source --download-only` run against a private deb-src list
# (the system's apt lists and sources are left alone), and the package is
# unpacked in a temporary dir and renamed into place. GCMEM_DEBIAN_MIRROR
# overrides the mirror; CC and CXX the compilers (default gcc, g++).
#
# Built into OUTDIR/bin: realloc_test middle huge_test staticrootstest
# initsecondarythread subthread_create threadkey_test test_cpp, and into
# OUTDIR/lib the two libraries staticrootstest links against
# (libstaticrootslib_test.so, libstaticrootslib2_test.so; staticrootstest
# finds them through its RUNPATH $ORIGIN/../lib). All are linked with
# -lgc -lpthread (test_cpp also -lgccpp) against the libgc.so of libgc-dev;
# run them with LD_LIBRARY_PATH pointing at another libgc.so.1 to test it.
# (test_cpp needs libgccpp.so.1, which needs libgc.so.1 in turn.) None of
# them takes arguments except test_cpp (iterations, default 10).
#
# Headers: with INCDIR, "gc.h" comes from INCDIR (-I INCDIR is first). The
# other bdwgc headers the tests include (gc_backptr.h, gc_cpp.h,
# gc_allocator.h) come from INCDIR when it has them, else from copies of
# bdwgc's in OUTDIR/include, which holds no gc.h, so that their own
# #include "gc.h" reaches INCDIR's. Without INCDIR the tests use Debian's
# installed headers (-I /usr/include/gc, as bdwgc's build uses its
# include/). In both cases OUTDIR/include/private/ holds the two private
# bdwgc headers some tests include (gcconfig.h, gc_atomic_ops.h).
#
# A test that fails to build does not stop the others; the exit status is
# 1 if any failed.
set -euo pipefail

SRC_PKG=libgc
SRC_VERSION=1:8.2.2-3
SRC_TOPDIR=libgc-8.2.2
# Same mirror and key as /etc/apt/sources.list.d/debian.sources.
MIRROR=${GCMEM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
STAMP=.gcmem-extracted

home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
cache_root=${GCMEM_CACHE:-${XDG_CACHE_HOME:-$home/.cache}/gcmem}
src_cache=$cache_root/$SRC_TOPDIR

usage()
{
	echo "usage: $0 --print-src | OUTDIR [INCDIR]" >&2
	exit 2
}

if [ "${1:-}" = "--print-src" ]; then
	[ $# -eq 1 ] || usage
	echo "$src_cache"
	exit 0
elif [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ] || [ "${1#-}" != "$1" ]; then
	usage
fi
outdir=$1
incdir=${2:-}
if [ -n "$incdir" ] && [ ! -f "$incdir/gc.h" ]; then
	echo "bdwgc: $incdir/gc.h not found" >&2
	exit 2
fi

# --- fetch and extract the source -----------------------------------------
# The stamp is written before the rename, so its presence means a complete
# tree.
if [ ! -f "$src_cache/$STAMP" ]; then
	if [ ! -r "$KEYRING" ]; then
		echo "bdwgc: $KEYRING not found (is debian-archive-keyring installed?)" >&2
		exit 1
	fi
	echo "bdwgc: fetching $SRC_PKG $SRC_VERSION source from $MIRROR into $src_cache"
	mkdir -p "$cache_root"
	tmp=$(mktemp -d "$cache_root/.bdwgc.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	apt_dir=$tmp/apt
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
		"$tmp/dl"
	cat >"$apt_dir/bdwgc-src.sources" <<-EOF
		Types: deb-src
		URIs: $MIRROR
		Suites: $SUITE
		Components: main
		Signed-By: $KEYRING
	EOF
	# Only our .sources file; lists and caches in $tmp. The rest of the
	# system's apt configuration (proxy, ...) still applies.
	apt_opts=(
		-q
		-o Dir::Etc::SourceList=/dev/null
		-o "Dir::Etc::SourceParts=$apt_dir"
		-o "Dir::State::Lists=$apt_dir/lists"
		-o "Dir::Cache=$apt_dir/cache"
	)
	# As root apt would hand the download to the _apt user, which cannot
	# enter a private cache dir (it then warns and downloads as root).
	[ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
	apt-get "${apt_opts[@]}" update
	(cd "$tmp/dl" && apt-get "${apt_opts[@]}" source --download-only \
		"$SRC_PKG=$SRC_VERSION")
	# apt checked the files against the signed Sources index. dpkg-source
	# then checks them against the .dsc; it warns that it cannot check the
	# .dsc's signature without debian-keyring, which is expected.
	dsc=$tmp/dl/${SRC_PKG}_${SRC_VERSION#*:}.dsc
	if command -v dpkg-source >/dev/null; then
		if ! dpkg-source -x "$dsc" "$tmp/$SRC_TOPDIR" >"$tmp/x.log" 2>&1; then
			cat "$tmp/x.log" >&2
			exit 1
		fi
	else
		# The Debian patch series of 1:8.2.2-3 is empty: the tree is the
		# upstream tarball plus debian/.
		v=${SRC_VERSION#*:}
		mkdir "$tmp/$SRC_TOPDIR"
		tar -xzf "$tmp/dl/${SRC_PKG}_${v%-*}.orig.tar.gz" \
			-C "$tmp/$SRC_TOPDIR" --strip-components=1 --no-same-owner
		tar -xJf "$tmp/dl/${SRC_PKG}_$v.debian.tar.xz" \
			-C "$tmp/$SRC_TOPDIR" --no-same-owner
	fi
	echo "$SRC_PKG $SRC_VERSION" >"$tmp/$SRC_TOPDIR/$STAMP"
	# mv -T is a plain rename(2): it fails, instead of moving into it,
	# when another run has put the tree in place meanwhile.
	if ! mv -T "$tmp/$SRC_TOPDIR" "$src_cache" 2>/dev/null \
		&& [ ! -f "$src_cache/$STAMP" ]; then
		echo "bdwgc: cannot rename into $src_cache (remove it?)" >&2
		exit 1
	fi
fi

# --- build the tests --------------------------------------------------------
CC=${CC:-gcc}
CXX=${CXX:-g++}
# bdwgc's configure uses -g -O2 and turns on -Wall -Wextra.
CFLAGS_COMMON=(-g -O2 -Wall -Wextra)
tests=$src_cache/tests
inc=$outdir/include
bin=$outdir/bin
lib=$outdir/lib

if [ -n "$incdir" ]; then
	inc_flags=(-I "$incdir" -I "$inc")
else
	if [ ! -f /usr/include/gc/gc.h ]; then
		echo "bdwgc: /usr/include/gc/gc.h not found (is libgc-dev installed?)" >&2
		exit 1
	fi
	inc_flags=(-I /usr/include/gc -I "$inc")
fi

# Start from empty dirs, so that a test that fails to build leaves no old
# binary; but only in an OUTDIR this script made (marker file), or a new or
# empty one, so that a mistyped OUTDIR (/usr) loses nothing.
marker=$outdir/.bdwgc-tests
if [ ! -f "$marker" ] && [ -d "$outdir" ] \
	&& [ -n "$(ls -A -- "$outdir")" ]; then
	echo "bdwgc: $outdir is not empty and was not made by $0" >&2
	exit 2
fi
mkdir -p "$outdir"
touch "$marker"
rm -rf "$bin" "$lib" "$inc"
mkdir -p "$bin" "$lib"
mkdir -p "$inc/private"
# private/gcconfig.h: initsecondarythread, test_cpp (COVERT_DATAFLOW, and
# the platform macros LINUX...); private/gc_atomic_ops.h: subthread_create
# (AO_t, AO_fetch_and_add1, AO_load on GCC builtins).
cp "$src_cache/include/private/gcconfig.h" \
	"$src_cache/include/private/gc_atomic_ops.h" "$inc/private/"
if [ -n "$incdir" ]; then
	cp "$src_cache/include/gc_backptr.h" "$src_cache/include/gc_cpp.h" \
		"$src_cache/include/gc_allocator.h" "$inc/"
fi

failed=()

# build KIND NAME COMMAND...: run the compiler, note NAME if it fails.
build()
{
	echo "bdwgc: $1 $2"
	shift
	local name=$1
	shift
	"$@" || failed+=("$name")
}

# Defines, per test, are those of bdwgc's build (Makefile.am, tests/tests.am,
# and the config.h of a Linux threads build, i.e. Debian's) that the test or
# the bdwgc headers it includes look at:
#  - realloc_test middle huge_test staticroots*: none; they do not include
#    config.h, so in bdwgc's build too they see no GC_THREADS. huge_test
#    and staticroots* define their own (GC_IGNORE_WARN,
#    GC_MAXIMUM_HEAP_SIZE, GC_INITIAL_HEAP_SIZE, GC_ATTR_ALLOC_SIZE; GC_DEBUG).
#  - STATICROOTSLIB2, as tests.am: staticrootstest then also uses the
#    second library, a copy of staticrootslib.c built with it.
#  - GC_THREADS (from config.h) for the four tests that include config.h:
#    initsecondarythread, threadkey_test (both define it themselves too),
#    subthread_create (is an empty "skipped" test without it), test_cpp.
#  - GC_BUILTIN_ATOMIC (from config.h, as Debian builds
#    --with-libatomic-ops=none) for subthread_create: private/gc_atomic_ops.h
#    then uses GCC atomic builtins instead of libatomic_ops' atomic_ops.h.
# Not passed, as nothing these tests include looks at them: PARALLEL_MARK,
# THREAD_LOCAL_ALLOC, _REENTRANT, GC_DLL and the other config.h macros, and
# -fvisibility=hidden -DGC_VISIBILITY_HIDDEN_SET (with default visibility
# staticrootslib.c's functions are exported anyway).
ldlibs=(-lgc -lpthread)

for n in 1 2; do
	name=libstaticrootslib${n#1}_test
	defs=()
	[ "$n" = 1 ] || defs=(-DSTATICROOTSLIB2)
	build LD "lib/$name.so" "$CC" "${CFLAGS_COMMON[@]}" -fPIC -shared \
		"${inc_flags[@]}" "${defs[@]}" -Wl,-soname,"$name.so" \
		-o "$lib/$name.so" "$tests/staticrootslib.c" "${ldlibs[@]}"
done
# RUNPATH rather than RPATH (--enable-new-dtags), so that LD_LIBRARY_PATH
# still comes first.
# shellcheck disable=SC2016 # $ORIGIN is for the dynamic linker
build CC bin/staticrootstest "$CC" "${CFLAGS_COMMON[@]}" "${inc_flags[@]}" \
	-DSTATICROOTSLIB2 -o "$bin/staticrootstest" "$tests/staticrootstest.c" \
	-L "$lib" -lstaticrootslib_test -lstaticrootslib2_test "${ldlibs[@]}" \
	-Wl,--enable-new-dtags -Wl,-rpath,'$ORIGIN/../lib'

for t in realloc_test middle huge_test; do
	build CC "bin/$t" "$CC" "${CFLAGS_COMMON[@]}" "${inc_flags[@]}" \
		-o "$bin/$t" "$tests/$t.c" "${ldlibs[@]}"
done
for t in initsecondarythread threadkey_test; do
	build CC "bin/$t" "$CC" "${CFLAGS_COMMON[@]}" "${inc_flags[@]}" \
		-DGC_THREADS -o "$bin/$t" "$tests/$t.c" "${ldlibs[@]}"
done
build CC bin/subthread_create "$CC" "${CFLAGS_COMMON[@]}" "${inc_flags[@]}" \
	-DGC_THREADS -DGC_BUILTIN_ATOMIC \
	-o "$bin/subthread_create" "$tests/subthread_create.c" "${ldlibs[@]}"
build CXX bin/test_cpp "$CXX" "${CFLAGS_COMMON[@]}" "${inc_flags[@]}" \
	-DGC_THREADS -o "$bin/test_cpp" "$tests/test_cpp.cc" \
	-lgccpp "${ldlibs[@]}"

# Two tests compile to a stub printing "... skipped" when a gc.h lacks
# what they need; count that as a failure.
# threadkey_test: when GC_THREADS does not make gc.h define GC_PTHREADS.
# subthread_create: when private/gc_atomic_ops.h gives no
# AO_fetch_and_add1 (GC_THREADS or GC_BUILTIN_ATOMIC not seen).
for t in threadkey_test subthread_create; do
	if [ -f "$bin/$t" ] && grep -qaE "$t (test )?skipped" "$bin/$t"; then
		echo "bdwgc: $t built as its \"skipped\" stub" >&2
		failed+=("bin/$t")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "bdwgc: failed to build: ${failed[*]}" >&2
	exit 1
fi
echo "bdwgc: built into $bin and $lib"
