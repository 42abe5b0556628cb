#!/bin/bash
# kvm-probe.sh - decide whether QEMU can use KVM here: prints "kvm" or "tcg".
#
# Usage: qemu-images/kvm-probe.sh VMLINUZ INITRAMFS
#
# An accessible /dev/kvm is not enough (on some hosts KVM guests hang), so
# this boots VMLINUZ with INITRAMFS under -accel kvm with GCMEM_MODE=probe
# (init prints the result line and exits at once, no module) and answers
# "kvm" only if QEMU exits with 1 (guest-exit 0) and "GCMEM-RESULT: PASS"
# was printed, all within GCMEM_KVM_PROBE_TIMEOUT (default 25) seconds.
# Environment:
#   GCMEM_ACCEL=kvm|tcg     skip the probe, answer this
#   GCMEM_KVM_CACHE=FILE    reuse/store the answer there (probe once a run)
set -euo pipefail

[ $# -eq 2 ] || {
	echo "usage: $0 VMLINUZ INITRAMFS" >&2
	exit 2
}
vmlinuz=$1 initramfs=$2
cache=${GCMEM_KVM_CACHE:-}
probe_timeout=${GCMEM_KVM_PROBE_TIMEOUT:-25}

case ${GCMEM_ACCEL:-} in
kvm|tcg)
	echo "$GCMEM_ACCEL"
	exit 0
	;;
"")	;;
*)	echo "kvm-probe: GCMEM_ACCEL must be kvm or tcg" >&2; exit 2 ;;
esac

if [ -n "$cache" ] && [ -f "$cache" ]; then
	answer=$(cat "$cache")
	if [ "$answer" = kvm ] || [ "$answer" = tcg ]; then
		echo "$answer"
		exit 0
	fi
fi

probe()
{
	local log rc msg

	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	command -v qemu-system-x86_64 >/dev/null || return 1
	log=$(mktemp "${TMPDIR:-/tmp}/gcmem-kvm-probe.XXXXXX")
	# Same CPU model as boot.sh uses with KVM. The subshell keeps the
	# shell's "Aborted" notice (QEMU asserts on some hosts) in the log.
	set +e
	(timeout -k 5 "$probe_timeout" qemu-system-x86_64 \
		-accel kvm -cpu host -smp 1 -m 256M \
		-nodefaults -nographic -monitor none -serial stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-kernel "$vmlinuz" -initrd "$initramfs" \
		-append "console=ttyS0 panic=-1 quiet GCMEM_MODE=probe"; exit $?) \
		</dev/null >"$log" 2>&1
	rc=$?
	set -e
	if [ $rc -eq 1 ] && grep -aq 'GCMEM-RESULT: PASS' "$log"; then
		rm -f "$log"
		return 0
	fi
	echo "kvm-probe: /dev/kvm is there but a KVM guest did not boot" \
		"(qemu exit $rc, limit ${probe_timeout}s): using TCG" >&2
	msg=$(tr -d '\r' <"$log" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' \
		-e 's/\x1b[A-Za-z]//g' -e 's/.*\(qemu-system-x86_64: \)/\1/' |
		grep -a '^qemu-system-x86_64:' | tail -n 1 || true)
	[ -n "$msg" ] || msg=$(tail -n 1 "$log" | tr -d '\r')
	echo "kvm-probe: last output: ${msg:0:200}" >&2
	rm -f "$log"
	return 1
}

if probe; then
	answer=kvm
else
	answer=tcg
fi

if [ -n "$cache" ]; then
	mkdir -p "$(dirname "$cache")"
	echo "$answer" >"$cache.$$"
	mv -f "$cache.$$" "$cache"
fi
echo "$answer"
