#!/bin/bash
# boot.sh - boot an installed Debian kernel with a gcmem initramfs in QEMU
# and judge the run from QEMU's exit status and the serial console log.
#
# Usage: qemu-images/boot.sh KREL INITRAMFS LOG MODE  (MODE: check|demo|bench)
#
# Boots /boot/vmlinuz-KREL, or the kernel image GCMEM_VMLINUZ names (the
# debug kernel: KREL is then only its name), with KVM if kvm-probe.sh says
# it works, else TCG;
# shows the console on stdout and writes it (CRs stripped) to LOG. PASS
# needs all of: QEMU exit status 1 (guest ran "guest-exit 0"), the line
# "GCMEM-RESULT: PASS" in LOG, and no kernel warning/oops/lockdep/... text
# in LOG. Each problem is printed as "# boot: FAIL: <reason>", and these
# verdict lines are appended to LOG as well (summarize.sh reads them).
# Exit status: 0 pass, 1 fail (or bad usage), 2 timeout.
# Environment: GCMEM_BOOT_TIMEOUT (seconds, default 900), GCMEM_QEMU_MEM
# (default 1G), GCMEM_BOOT_APPEND (extra kernel command line words), and
# GCMEM_ACCEL / GCMEM_KVM_CACHE (see kvm-probe.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LC_ALL=C

[ $# -eq 4 ] || {
	echo "usage: $0 KREL INITRAMFS LOG MODE   (MODE: check|demo|bench)" >&2
	exit 1
}
krel=$1 initramfs=$2 log=$3 mode=$4
vmlinuz=${GCMEM_VMLINUZ:-/boot/vmlinuz-$krel}
# summarize.sh drops this reason when failing test cases explain it.
GUEST_FAILED="guest reported FAIL (qemu exit 3 = guest-exit 1)"
timeout_s=${GCMEM_BOOT_TIMEOUT:-900}
mem=${GCMEM_QEMU_MEM:-1G}

case $mode in
check|demo|bench) ;;
*)	echo "boot: MODE must be check, demo or bench, not '$mode'" >&2; exit 1 ;;
esac
[ -r "$vmlinuz" ] || { echo "boot: cannot read $vmlinuz" >&2; exit 1; }
[ -r "$initramfs" ] || { echo "boot: cannot read $initramfs" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "boot: qemu-system-x86_64 not found (run scripts/deps.sh)" >&2; exit 1; }

accel=$("$here/kvm-probe.sh" "$vmlinuz" "$initramfs") || exit 1
case $accel in
kvm)	accel_args=(-accel kvm -cpu host) ;;
*)	accel_args=(-accel "tcg,thread=multi" -cpu max) ;;
esac

# Oopses stay non-fatal (no oops=panic) so that the whole trace and the
# rest of the run reach the log; a panic reboots, and -no-reboot turns
# that into QEMU exit status 0, which never counts as a pass.
#
# tsc=reliable: under TCG on a loaded host the clocksource watchdog sees
# the TSC skew against the HPET and marks it unstable mid-run; switching
# sched_clock then patches kernel text with int3 breakpoints while the
# other vCPU runs it, which TCG does not survive (seen once: "Oops: int3"
# in sched_clock_cpu from __sched_clock_work, 6.12, during make check).
# The emulated TSC follows the host's clock; it is reliable enough here.
cmdline="console=ttyS0 panic=-1 loglevel=7 mitigations=off edd=off"
cmdline+=" tsc=reliable"
cmdline+=" GCMEM_MODE=$mode"
cmdline+=${GCMEM_BOOT_APPEND:+ $GCMEM_BOOT_APPEND}

mkdir -p "$(dirname "$log")"

# -nodefaults: no NIC (no iPXE ROM, faster), no VGA, only our serial port.
# sed drops CRs and the terminal escapes SeaBIOS sends (ESC c resets the
# user's terminal), so that LOG is plain text.
#
# A guest kernel that dies before it runs /init never loaded gcmem: under
# TCG that is QEMU's cross-modifying code (an "Oops: int3" where the
# kernel patches its text while the other vCPU runs it, seen in early boot
# even with tsc=reliable, about once in a hundred boots). Such a boot is
# tried once more; its log is kept beside LOG as LOG.early-death.
start=$EPOCHREALTIME
for attempt in 1 2; do
	echo "# boot: kernel $krel, mode $mode, accel $accel, timeout ${timeout_s}s" |
		tee "$log"
	set +e
	timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
		"${accel_args[@]}" -smp 2 -m "$mem" \
		-nodefaults -nographic -monitor none -serial stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-kernel "$vmlinuz" -initrd "$initramfs" -append "$cmdline" \
		</dev/null 2>&1 |
		sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[A-Za-z]//g' |
		tee -a "$log"
	status=("${PIPESTATUS[@]}")
	set -e
	rc=${status[0]}
	if [ "$attempt" -eq 1 ] && [ "$rc" -eq 0 ] &&
	   ! grep -aqF 'Run /init as init process' "$log"; then
		mv "$log" "$log.early-death"
		echo "# boot: the guest kernel died before /init (see $log.early-death): booting again"
		continue
	fi
	break
done
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" \
	'BEGIN { printf "%.1f", b - a }')

reasons=()
timed_out=0
case $rc in
1)	;;
124|137)
	timed_out=1
	reasons+=("timeout: no result after ${timeout_s}s, qemu killed") ;;
3)	reasons+=("$GUEST_FAILED") ;;
0)	reasons+=("qemu exit 0: guest panicked or powered off without guest-exit") ;;
*)	reasons+=("qemu exit $rc (not guest-exit 0)") ;;
esac

# init explains its own failures (insmod, missing binaries, demo status)
# in "# guest: FAIL: " lines; failing test binaries speak for themselves.
while IFS= read -r line; do
	reasons+=("guest: ${line:0:200}")
done < <(sed -n 's/^# guest: FAIL: //p' "$log")

if grep -aqF 'GCMEM-RESULT: PASS' "$log"; then
	:
elif grep -aqF 'GCMEM-RESULT: FAIL' "$log"; then
	[ "$rc" -eq 3 ] || reasons+=("guest printed GCMEM-RESULT: FAIL")
else
	reasons+=("no GCMEM-RESULT line in the log")
fi

# Kernel trouble that must fail a run even if every test passed. \b keeps
# "BUG:" from matching "DEBUG:".
patterns=(
	'\bWARNING:'
	'\bBUG:'
	'Oops'
	'Call Trace'
	'Kernel panic'
	'\bINFO: '
	'DEBUG_LOCKS_WARN_ON'
	'lockdep is turned off'
	'possible recursive locking'
	'possible circular locking'
	'KASAN'
	'UBSAN'
	'kmemleak: [0-9]+ new suspected'
	'general protection fault'
	'INFO: task .* blocked'
)
for re in "${patterns[@]}"; do
	first=$(grep -aE -m 1 -- "$re" "$log" || true)
	[ -n "$first" ] || continue
	reasons+=("log matches '$re': ${first:0:200}")
done

{
	echo "# boot: kernel $krel, accel $accel, qemu exit $rc, elapsed ${elapsed}s"
	if [ ${#reasons[@]} -eq 0 ]; then
		echo "# boot: PASS"
	else
		for r in "${reasons[@]}"; do
			echo "# boot: FAIL: $r"
		done
	fi
} | tee -a "$log"

if [ $timed_out -eq 1 ]; then
	exit 2
elif [ ${#reasons[@]} -gt 0 ]; then
	exit 1
fi
exit 0
