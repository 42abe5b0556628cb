#!/bin/bash
# run.sh - `make bench`: the allocation, GCBench and mark benchmarks in a
# 6.12 QEMU guest, written up in bench/RESULTS.md.
#
# Usage: bench/run.sh        (after `make deps` and `make benches`)
#
# Builds the module for the newest installed Debian 6.12 kernel, packs it
# with the static bench-* binaries of $BUILD/host/bench into an initramfs,
# boots it with GCMEM_MODE=bench (init runs the bench-* binaries in turn,
# BENCH_ROUNDS times), runs the bdwgc and glibc binaries (and the mark
# benchmark's bdwgc one) natively on the host as well, for scale, and has
# bench/report.sh turn the logs into bench/RESULTS.md, with the GCBench
# pause plot bench/gc-pauses.png beside it.
# Everything else stays in $BUILD/bench/: console.log, native.log,
# build.log, the initramfs.
#
# Environment:
#   GCMEM_QEMU_MEM      guest memory (default here 2G: with pacing off the
#                       gcmem-nogc runs' heap only grows)
#   BENCH_ALLOCS        allocations per run, over all threads (default
#                       4000000; passed to the guest on the command line)
#   BENCH_ROUNDS        rounds (default 5): init runs every binary once per
#                       round, so that the allocators take turns
#   BENCH_REPS          timed runs per configuration and round (default 1)
#   BENCH_MARK_MIB      the mark benchmark's live set in MiB (default 256)
#   BENCH_MARK_LISTS    the lists it is linked into (default 1024)
#   BENCH_MARK_COLLECTIONS  timed collections per mark run (default 3)
#   BENCH_NATIVE=0      skip the native host runs
#   BENCH_RESULTS       where to write the report (default bench/RESULTS.md)
#   and those of qemu-images/boot.sh (GCMEM_BOOT_TIMEOUT, GCMEM_ACCEL, ...).
# Exit status: 0 when the guest run passed and the report was written.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-$top/build}
bindir=$build/host/bench
out=$build/bench
results=${BENCH_RESULTS:-$top/bench/RESULTS.md}
export GCMEM_KVM_CACHE=$build/kvm-probe
export GCMEM_QEMU_MEM=${GCMEM_QEMU_MEM:-2G}
export GCMEM_BOOT_TIMEOUT=${GCMEM_BOOT_TIMEOUT:-1800}
export BENCH_ALLOCS=${BENCH_ALLOCS:-4000000}
export BENCH_REPS=${BENCH_REPS:-1}
export BENCH_ROUNDS=${BENCH_ROUNDS:-5}
export BENCH_MARK_MIB=${BENCH_MARK_MIB:-256}
export BENCH_MARK_LISTS=${BENCH_MARK_LISTS:-1024}
export BENCH_MARK_COLLECTIONS=${BENCH_MARK_COLLECTIONS:-3}
export LC_ALL=C

for b in gcmem bdwgc glibc mark-gcmem mark-bdwgc; do
	[ -x "$bindir/bench-$b" ] ||
		{ echo "bench: $bindir/bench-$b missing (make benches)" >&2; exit 1; }
done

krel=$("$top/scripts/kernels.sh" 6.12)
# The tree the module is built from, for the report.
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$top" status --porcelain 2>/dev/null)" ]; then
	rev="$rev, with uncommitted changes"
fi
src=$out/src
mkdir -p "$out"
rm -rf "$src"
mkdir -p "$src"
cp -r "$top/Kbuild" "$top/kmod" "$top/uapi" "$src/"
# The commands, as run, for RESULTS.md.
cmds=$out/commands.txt
: >"$cmds"
note() { printf '%s\n' "$*" >>"$cmds"; }

note "make -C /lib/modules/$krel/build M=\$BUILD/bench/src modules"
make -C "/lib/modules/$krel/build" M="$src" modules >"$out/build.log" 2>&1 ||
	{ tail -n 30 "$out/build.log"; exit 1; }

note "qemu-images/mkinitramfs.sh \$BUILD/bench/initramfs.cpio.gz" \
	"\$BUILD/bench/src/gcmem.ko \$BUILD/host/bench"
"$top/qemu-images/mkinitramfs.sh" "$out/initramfs.cpio.gz" "$src/gcmem.ko" \
	"$bindir"

# The guest's init hands the BENCH_* words of the kernel command line to
# the binaries as their environment.
append="BENCH_ALLOCS=$BENCH_ALLOCS BENCH_REPS=$BENCH_REPS BENCH_ROUNDS=$BENCH_ROUNDS"
append+=" BENCH_MARK_MIB=$BENCH_MARK_MIB BENCH_MARK_LISTS=$BENCH_MARK_LISTS"
append+=" BENCH_MARK_COLLECTIONS=$BENCH_MARK_COLLECTIONS"
[ -z "${GCMEM_BOOT_APPEND:-}" ] || append="$GCMEM_BOOT_APPEND $append"
note "GCMEM_QEMU_MEM=$GCMEM_QEMU_MEM GCMEM_BOOT_APPEND='$append'" \
	"qemu-images/boot.sh $krel \$BUILD/bench/initramfs.cpio.gz" \
	"\$BUILD/bench/console.log bench"
note "  (in the guest, init runs every /gcmem/bin/bench-* in turn," \
	"$BENCH_ROUNDS times, with BENCH_ROUND=1..$BENCH_ROUNDS; the" \
	"bench-gcb-* ones work in rounds 1-3, the bench-mark-* ones in" \
	"round 1 only)"

# Other work on the host slows the guest's vCPUs, and so does time the
# host's own hypervisor steals: measure both over the guest run. Busy and
# steal come from /proc/stat (all CPUs); QEMU's own CPU time from `time`.
cpu_ticks()
{
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat
}
cut -d' ' -f1-3 /proc/loadavg >"$out/loadavg"
read -r busy0 steal0 < <(cpu_ticks)
TIMEFORMAT='%R %U %S'
set +e
{ time GCMEM_BOOT_APPEND=$append "$top/qemu-images/boot.sh" "$krel" \
	"$out/initramfs.cpio.gz" "$out/console.log" bench \
	>"$out/boot.out" 2>&1; } 2>"$out/boot.time"
boot_rc=$?
set -e
read -r busy1 steal1 < <(cpu_ticks)
read -r wall usr sys <"$out/boot.time" || wall=0 usr=0 sys=0
hz=$(getconf CLK_TCK)
host_other=$(awk -v b="$((busy1 - busy0))" -v s="$((steal1 - steal0))" \
	-v hz="$hz" -v w="$wall" -v u="$usr" -v y="$sys" 'BEGIN {
	o = b / hz - u - y
	if (o < 0)
		o = 0
	printf "%.0f s of CPU used by other host processes and %.0f s", o, s / hz
	printf " stolen by the host'"'"'s hypervisor, over the %.0f s guest run", w
	printf " (QEMU and boot.sh themselves: %.0f s)", u + y
}')
host_other_pct=$(awk -v b="$((busy1 - busy0))" -v hz="$hz" -v w="$wall" \
	-v u="$usr" -v y="$sys" -v n="$(nproc)" 'BEGIN {
	o = b / hz - u - y
	printf "%d", (w > 0 && o > 0) ? 100 * o / (w * n) : 0
}')
grep -aE '^(BENCH|# boot|# guest)' "$out/boot.out" || true

native=
if [ "${BENCH_NATIVE:-1}" != 0 ]; then
	native=$out/native.log
	: >"$native"
	note "\$BUILD/host/bench/bench-bdwgc; \$BUILD/host/bench/bench-glibc;" \
		"\$BUILD/host/bench/bench-mark-bdwgc" \
		"  (natively on the host, the same rounds)"
	echo "# native: bench-bdwgc, bench-glibc, bench-mark-bdwgc," \
		"$BENCH_ROUNDS rounds"
	for ((round = 1; round <= BENCH_ROUNDS; round++)); do
		for b in bdwgc glibc mark-bdwgc; do
			(cd "${TMPDIR:-/tmp}" && BENCH_ROUND=$round "$bindir/bench-$b") \
				>>"$native" 2>&1 ||
				echo "# native: bench-$b round $round exit=$?" |
				tee -a "$native"
		done
	done
fi

BENCH_COMMANDS=$cmds BENCH_LOADAVG=$(cat "$out/loadavg") BENCH_BOOT_RC=$boot_rc \
	BENCH_HOST_OTHER=$host_other BENCH_HOST_OTHER_PCT=$host_other_pct \
	BENCH_REV=$rev \
	BENCH_NATIVE_LOG=$native \
	BENCH_PREVIOUS=$results \
	BENCH_QEMU_MEM=$GCMEM_QEMU_MEM \
	BENCH_PLOT=$(dirname "$results")/gc-pauses.png \
	BENCH_LATPLOT=$(dirname "$results")/latency-mmu.png \
	"$top/bench/report.sh" "$out/console.log" >"$results.tmp"
mv -f "$results.tmp" "$results"
echo "bench: wrote $results (guest log: $out/console.log)"
if [ "$boot_rc" -ne 0 ]; then
	echo "bench: the guest run failed (boot.sh exit $boot_rc):" >&2
	grep -a '^# boot: FAIL' "$out/console.log" >&2 || true
	exit 1
fi
