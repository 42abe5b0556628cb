#!/bin/bash
# summarize.sh - count the test results in a check-mode console log.
#
# Usage: qemu-images/summarize.sh LABEL LOG [BOOT_RC]
#
# Counts the top-level TAP result lines (at column 0) that lie between
# "# gcmem-binary: NAME begin" and "# gcmem-binary: NAME exit=RC" (each
# may end with the guest's uptime in parentheses):
#   "ok N name"            passed
#   "not ok N name"        failed
#   "... # SKIP reason"    skipped (whether ok or not ok)
# Indented (nested) TAP lines and kernel lines ("[ time] ...") are ignored.
# A binary also adds one failure of its own when it exited non-zero without
# reporting a failing case, printed no "# Totals:" line, or has no exit line
# (the guest died; the last "#  RUN" case is named). A non-zero BOOT_RC adds
# the failure "boot: <reasons>", from the "# boot: FAIL: " lines boot.sh
# appended to LOG, except when the only reason is that the guest reported
# FAIL and failing test cases already account for that.
# Prints "FAIL: LABEL: <name>" per failure, then
# "LABEL: P passed, F failed, S skipped"; writes "P F S" to the file named
# by $GCMEM_COUNTS if set. Exit status 0 if F is 0, else 1.
set -euo pipefail

[ $# -eq 2 ] || [ $# -eq 3 ] || {
	echo "usage: $0 LABEL LOG [BOOT_RC]" >&2
	exit 2
}
label=$1 log=$2 boot_rc=${3:-0}
[ -r "$log" ] || { echo "summarize: cannot read $log" >&2; exit 2; }

export LC_ALL=C
# The reason boot.sh gives for QEMU exit status 3 (keep the two in step).
GUEST_FAILED="guest reported FAIL (qemu exit 3 = guest-exit 1)"
out=$(awk -v label="$label" -v boot_rc="$boot_rc" '
function fail(name) {
	nfail++
	print "FAIL: " label ": " name
}
# close_binary(): account for the binary whose bracket is open.
function close_binary(rc, have_rc) {
	if (!have_rc)
		fail(bin " (no exit line: the guest died or hung" \
		     (last_run != "" ? "; last started: " last_run : "") ")")
	else if (!totals)
		fail(bin " (exit=" rc ", no \"# Totals:\" line)")
	else if (rc != 0 && !bin_fails)
		fail(bin " (exit=" rc " without a failing test case)")
	bin = ""
}
# case_name(): the test name of a TAP result line, without its directive.
function case_name(line) {
	sub(/^(not )?ok [0-9]+ ?/, "", line)
	sub(/ *#.*$/, "", line)
	return line
}
{ sub(/\r+$/, "") }
/^# gcmem-binary: [^ ]+ begin( \(.*\))?$/ {
	if (bin != "")
		close_binary(0, 0)
	bin = $3
	totals = 0
	bin_fails = 0
	last_run = ""
	nbins++
	next
}
/^# gcmem-binary: [^ ]+ exit=[0-9]+( \(.*\))?$/ {
	split($4, kv, "=")
	if (bin == "" || bin != $3) {
		if (bin != "")
			close_binary(0, 0)
		bin = $3
		totals = 0
		bin_fails = 0
		nbins++
	}
	close_binary(kv[2] + 0, 1)
	next
}
bin == "" { next }
/^# Totals: / { totals = 1; next }
/^#  RUN / { last_run = $3; next }
/^(not )?ok [0-9]+( |$)/ {
	if ($0 ~ /# [Ss][Kk][Ii][Pp]/)
		nskip++
	else if ($0 ~ /^ok/)
		npass++
	else {
		bin_fails++
		fail(bin ": " case_name($0))
	}
}
END {
	if (bin != "")
		close_binary(0, 0)
	if (nbins == 0 && boot_rc == 0)
		fail("no test binary ran")
	print "COUNTS " npass + 0 " " nfail + 0 " " nskip + 0
}' "$log")

counts=$(sed -n 's/^COUNTS //p' <<<"$out")
read -r pass nfail skip <<<"$counts"
sed '/^COUNTS /d' <<<"$out"

# The boot failure. "guest reported FAIL" alone is no news when the test
# binaries failed: do not count those failures twice.
if [ "$boot_rc" != 0 ]; then
	all=$(sed -n 's/^# boot: FAIL: //p' "$log")
	reasons=$(grep -vxF "$GUEST_FAILED" <<<"$all" || true)
	[ "$nfail" -gt 0 ] || reasons=$all
	[ -n "$all" ] || reasons="boot.sh exit status $boot_rc"
	if [ -n "$reasons" ]; then
		reasons=$(awk 'NR > 1 { printf "; " } { printf "%s", $0 }' <<<"$reasons")
		echo "FAIL: $label: boot: $reasons"
		nfail=$((nfail + 1))
	fi
fi

echo "$label: $pass passed, $nfail failed, $skip skipped"
if [ -n "${GCMEM_COUNTS:-}" ]; then
	echo "$pass $nfail $skip" >"$GCMEM_COUNTS"
fi
[ "$nfail" -eq 0 ]
