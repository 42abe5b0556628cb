#!/bin/bash
# check.sh - `make check`: every test of gcmem on the three target kernels:
# Debian's 6.1 and 6.12, and the debug kernel (scripts/debug-kernel.sh).
#
# Usage: scripts/check.sh        (after `make deps` and `make host`)
#
# Host-side checks, each counted as one test:
#   uapi-standalone   uapi/linux/gcmem.h compiles alone with -Wall -Wextra
#                     -Werror in user space
#   checkpatch        checkpatch.pl --strict on kmod/ and uapi/ is clean
#   build:KREL        the module builds for KREL with W=1 and sparse (C=1
#                     on a fresh copy checks every file) without a warning
#   debug kernel built  scripts/debug-kernel.sh built it, or found it cached
# and the host unit tests (selftests/host/host_test.c, the module's own
# logic built in user space) under ASan+UBSan and under TSan, each case
# counted.
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

# timed NAME START: note how long a part took, for the summary.
times=()
timed()
{
	times+=("$1: $(( $(date +%s) - $2 )) s")
}

mkdir -p "$build"

t0=$(date +%s)
echo "== host checks"
echo '#include <linux/gcmem.h>
int main(void) { return sizeof(struct gcmem_handshake) != 64; }' |
	gcc -std=c99 -Wall -Wextra -Werror -pedantic -I"$top/uapi" -x c - \
		-o "$build/uapi-standalone" && "$build/uapi-standalone"
record uapi-standalone $?

make -s -C "$top" style
record checkpatch $?

# host_tests NAME BINARY: the host unit tests (selftests/host/), each TAP
# case counted, under a sanitizer; a crash counts as one more failure.
host_tests()
{
	local out=$build/$1.log p f s rc

	echo "== host unit tests ($1)"
	(cd "$build" && "$2") > "$out" 2>&1
	rc=$?
	grep -E '^(ok|not ok) |SUMMARY|ERROR' "$out"
	read -r p f s < <(sed -n \
		's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).* skip:\([0-9]*\).*/\1 \2 \3/p' \
		"$out")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	skipped=$((skipped + ${s:-0}))
	[ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))
	[ $rc -eq 0 ] || failures+=("host unit tests ($1, see $out)")
}
host_tests asan+ubsan "$host/../hosttest/host_test-asan"
host_tests tsan "$host/../hosttest/host_test-tsan"

# The target kernels: NAME|KDIR|VMLINUZ|QEMU_MEM|TIMEOUT|BOOT_APPEND per
# line. The
# fuzzer (selftests/fuzz_test.c) makes 10^6 calls on the debug kernel,
# where KASAN and lockdep watch them, and 30000 on the others; alloc_test's
# stress runs a twentieth of its objects on the debug kernel (the fuzzer
# and the fault-injection pass are its heavy work there) and half on the
# others: the two Debian guests share the machine's two cores with the
# debug guest, make check's long pole, and every second of CPU they spend
# is one it waits (200000 objects a variant still make thousands of
# refills from 2 to 8 threads).
#
# On the debug kernel the fuzzer makes 200000 calls: in concurrent mode,
# with the pacer's cycles driven by the kernel and completing (a root
# over [vvar] abandoned most of them before), 420000 took 609 s there, and
# the guest 1347 s, make check's long pole.
#
# The fuzzer's master seed is fixed, so that every run makes the same
# calls (a failure replays from the log) and takes the same time (seeds
# differed by 170 s on the debug kernel). GCMEM_FUZZ_SEED=S picks another,
# GCMEM_FUZZ_SEED=clock a new one per run.
fuzz_seed=${GCMEM_FUZZ_SEED:-1796175638}
[ "$fuzz_seed" = clock ] && fuzz_seed=$(date +%s)
targets=()
mapfile -t krels < <("$top/scripts/kernels.sh") || true
if [ "${#krels[@]}" -ne 2 ]; then
	record "target kernels installed" 1
	krels=()
fi
# The suite runs with every cycle concurrent (concurrent_min_live=0) on
# the debug kernel and on 6.1 (PMD- and PTE-mapped arenas: write tracking
# by the chunk and by the page), and with the defaults on 6.12: concurrent
# heaps, whose cycles stop the world while the heap is small (most of the
# tests'); concurrent_test runs both modes on every kernel.
for krel in "${krels[@]}"; do
	mode=
	case $krel in 6.1.*) mode=" GCMEM_PARAMS=concurrent_min_live=0" ;; esac
	targets+=("$krel|/lib/modules/$krel/build|/boot/vmlinuz-$krel|1G|900|GCMEM_FUZZ_SEED=$fuzz_seed GCMEM_FUZZ_CALLS=${GCMEM_FUZZ_CALLS_DEBIAN:-30000} GCMEM_STRESS_OBJECTS=200000$mode")
done

# The debug kernel (KASAN, lockdep, kmemleak, fault injection): built once
# into the cache, then reused. GCMEM_DEBUG_KERNEL=0 leaves it out (a quick
# run while developing; never in CI).
timed "host checks and host unit tests" "$t0"
if [ "${GCMEM_DEBUG_KERNEL:-1}" != 0 ]; then
	echo "== debug kernel"
	dk_start=$(date +%s)
	if dkdir=$("$top/scripts/debug-kernel.sh"); then
		echo "debug kernel: $dkdir ($(( $(date +%s) - dk_start )) s this run," \
			"$(cat "$dkdir/../build-seconds") s to build)"
		record "debug kernel built" 0
		timed "debug kernel (built once in $(cat "$dkdir/../build-seconds") s)" "$dk_start"
		dkrel=$(cat "$dkdir/include/config/kernel.release")
		# KASAN's shadow and quarantine and lockdep need room: with
		# 2G, one run of the fuzzer (of many; MemAvailable stayed
		# flat in the others) ran the guest out of memory. First:
		# its run is the longest (see the boots below).
		targets=("$dkrel|$dkdir|$dkdir/arch/x86/boot/bzImage|3G|3600|GCMEM_FUZZ_SEED=$fuzz_seed GCMEM_FUZZ_CALLS=${GCMEM_FUZZ_CALLS_DEBUG:-200000} GCMEM_STRESS_OBJECTS=20000 GCMEM_PARAMS=concurrent_min_live=0"
			 "${targets[@]}")
	else
		record "debug kernel built" 1
	fi
fi

# Code nobody here wrote, for the bdwgc_test selftest: bdwgc's own tests
# built against gcmem's gc.h, and Debian's w3m with its expected output
# (scripts/compat-prep.sh). They go into the Debian kernels' images; the
# debug kernel's guest, the longest, leaves them out (they skip there).
t0=$(date +%s)
compat=$build/compat
echo "== bdwgc's tests and w3m"
"$top/scripts/compat-prep.sh" "$compat" "$host/include" > "$build/compat.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { tail -n 20 "$build/compat.log"; compat=; }
record "bdwgc tests and w3m prepared" $rc
timed "bdwgc tests and w3m" "$t0"

# Build the module and an initramfs for each kernel first.
t0=$(date +%s)
ready=()
for target in "${targets[@]}"; do
	IFS='|' read -r krel kbuild vmlinuz mem timeout append <<< "$target"
	kdir=$build/$krel
	src=$kdir/src
	echo "== $krel: build"
	rm -rf "$src"
	mkdir -p "$src"
	cp -r "$top/Kbuild" "$top/kmod" "$top/uapi" "$src/"
	make -C "$kbuild" M="$src" W=1 C=1 CHECK=sparse \
		modules > "$kdir/build.log" 2>&1
	rc=$?
	if grep -E 'warning:|error:' "$kdir/build.log"; then
		rc=1
	fi
	[ $rc -eq 0 ] || tail -n 20 "$kdir/build.log"
	record "build:$krel (W=1, sparse)" $rc
	[ $rc -eq 0 ] || continue
	extra=()
	case "$krel" in
	"${dkrel:-none}") ;;
	*) [ -n "$compat" ] && extra=("$compat") ;;
	esac
	"$top/qemu-images/mkinitramfs.sh" "$kdir/initramfs.cpio.gz" \
		"$src/gcmem.ko" "$host/bin" "${extra[@]}" ||
		{ record "initramfs:$krel" 1; continue; }
	ready+=("$target")
	# One KVM probe for all (boot.sh asks kvm-probe.sh, which caches),
	# with the first image, beside the other builds: under TCG it waits
	# its whole timeout.
	if [ ${#ready[@]} -eq 1 ]; then
		"$top/qemu-images/kvm-probe.sh" "$vmlinuz" \
			"$kdir/initramfs.cpio.gz" >/dev/null &
		probe_pid=$!
	fi
done
[ -n "${probe_pid:-}" ] && wait "$probe_pid"

timed "module builds and images" "$t0"

# boot_one TARGET: boot a kernel's image and run the selftests; the
# verdict goes to build/KREL/boot.out and boot.rc.
#
# A guest kernel that dies of an int3 trap before gcmem is even loaded (no
# insmod line, the oops says "Not tainted") lost TCG's race with its own
# code patching: a vCPU ran a stale translation of a static-key site that
# another was patching (seen twice on 6.12, at boot in sched_clock_tick()).
# Nothing of gcmem ran; that guest is booted once more, and its first log
# is kept as console.log.crashed. Every other failure stands, and so does
# any crash once the module is in.
tcg_patch_race()
{
	grep -aq 'Oops: int3' "$1" && ! grep -aq '^# guest: insmod' "$1" &&
		grep -a -A1 'Oops: int3' "$1" | grep -aq 'Not tainted'
}

boot_one()
{
	local krel kbuild vmlinuz mem timeout append kdir rc try

	IFS='|' read -r krel kbuild vmlinuz mem timeout append <<< "$1"
	kdir=$build/$krel
	rm -f "$kdir/console.log.crashed"
	for try in 1 2; do
		GCMEM_VMLINUZ=$vmlinuz GCMEM_QEMU_MEM=$mem \
		GCMEM_BOOT_TIMEOUT=${GCMEM_BOOT_TIMEOUT:-$timeout} \
		GCMEM_BOOT_APPEND="$append${GCMEM_BOOT_APPEND:+ $GCMEM_BOOT_APPEND}" \
			"$top/qemu-images/boot.sh" "$krel" \
			"$kdir/initramfs.cpio.gz" "$kdir/console.log" check \
			> "$kdir/boot.out" 2>&1
		rc=$?
		if [ $rc -eq 0 ] || [ $try -eq 2 ] ||
		   ! tcg_patch_race "$kdir/console.log"; then
			break
		fi
		mv -f "$kdir/console.log" "$kdir/console.log.crashed"
	done
	if [ -f "$kdir/console.log.crashed" ]; then
		sed -i '1i # boot: booted twice: the first guest kernel died of an int3 trap before gcmem was loaded (TCG and static-key patching; console.log.crashed)' \
			"$kdir/boot.out"
	fi
	echo $rc > "$kdir/boot.rc"
}

# Up to GCMEM_CHECK_JOBS guests at once (default 2), in the order of
# $targets: the debug kernel's first. A guest under TCG keeps about one of this machine's
# two cores busy and waits the rest of the time (the tests sleep, stop
# threads, wait for children), so two at a time finish sooner; the tests
# are written for slow, loaded hosts. GCMEM_CHECK_JOBS=1 boots them one by
# one.
jobs_max=${GCMEM_CHECK_JOBS:-2}
t0=$(date +%s)
running=0
for target in "${ready[@]}"; do
	IFS='|' read -r krel _ <<< "$target"
	if [ "$running" -ge "$jobs_max" ]; then
		wait -n
		running=$((running - 1))
	fi
	echo "== $krel: boot and selftests (started $(date +%T))"
	boot_one "$target" &
	running=$((running + 1))
done
wait
timed "guests, $jobs_max at a time" "$t0"

# failure_excerpt LOG: what a failed guest said, for a CI log that is all
# that is left of the run (the build directory goes with the clone): the
# first kernel report (from the line that starts it: an OOM report's
# Mem-Info and slab lines follow its trace), and the output before each of
# the first three failing test cases.
failure_excerpt()
{
	local log=$1 n

	n=$(grep -anE -m 1 'invoked oom-killer|WARNING:|BUG:|Oops|Call Trace|KASAN|possible .*deadlock|INFO: task .* blocked' \
		"$log" | cut -d: -f1)
	if [ -n "$n" ]; then
		echo "--- $log, lines $((n > 20 ? n - 20 : 1))-$((n + 100)):"
		sed -n "$((n > 20 ? n - 20 : 1)),$((n + 100))p" "$log"
	fi
	grep -an '^not ok' "$log" | head -n 3 | while IFS=: read -r n _; do
		echo "--- $log, lines $((n > 40 ? n - 40 : 1))-$n:"
		sed -n "$((n > 40 ? n - 40 : 1)),${n}p" "$log"
	done
	echo "---"
}

for target in "${ready[@]}"; do
	IFS='|' read -r krel _ <<< "$target"
	kdir=$build/$krel
	echo "== $krel: results"
	grep -E '^(# boot|# guest)' "$kdir/boot.out"
	times+=("  $krel: $(sed -n 's/.*elapsed \([0-9.]*\)s$/\1/p' "$kdir/boot.out" | tail -n 1) s")
	GCMEM_COUNTS=$kdir/counts "$top/qemu-images/summarize.sh" "$krel" \
		"$kdir/console.log" "$(cat "$kdir/boot.rc" 2>/dev/null || echo 1)"
	if read -r p f s < "$kdir/counts"; then
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
		if [ "$f" -ne 0 ]; then
			failure_excerpt "$kdir/console.log"
			failures+=("$krel selftests (see $kdir/console.log)")
		fi
	else
		record "selftests:$krel" 1
	fi
done

echo
echo "== times"
printf '%s\n' "${times[@]}"
echo
echo "== summary"
for f in "${failures[@]}"; do
	echo "failed: $f"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
