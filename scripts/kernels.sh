#!/bin/bash
# kernels.sh - print the kernel releases gcmem is built and tested against.
#
# Usage: scripts/kernels.sh          both, one per line, 6.1 first
#        scripts/kernels.sh 6.1      only the 6.1 one
#        scripts/kernels.sh 6.12     only the 6.12 one
#
# For each series it picks the newest (sort -V) installed plain Debian
# "-amd64" flavour (not -rt/-cloud) that has both /boot/vmlinuz-REL and the
# headers at /lib/modules/REL/build. Exits 1 with a message when a series
# has none (scripts/deps.sh installs them).
set -euo pipefail

SERIES=(6.1 6.12)

# newest_release SERIES: print the newest usable release of SERIES.
newest_release()
{
	local series=$1 re rel best=""

	# "6.1" must not match 6.12.x: require the dot after the series.
	# Debian names: 6.1.0-56-amd64, 6.12.117+deb12-amd64.
	re="^${series//./\\.}\\.[0-9][^-]*(-[0-9]+)?-amd64\$"
	best=$(for f in /boot/vmlinuz-*; do
		[ -e "$f" ] || continue
		rel=${f#/boot/vmlinuz-}
		[[ $rel =~ $re ]] || continue
		[ -d "/lib/modules/$rel/build" ] || continue
		echo "$rel"
	done | sort -V | tail -n 1)
	if [ -z "$best" ]; then
		echo "kernels: no $series.*-amd64 kernel with both /boot/vmlinuz-REL" \
			"and headers in /lib/modules/REL/build (run scripts/deps.sh)" >&2
		return 1
	fi
	echo "$best"
}

case $# in
0)	want=("${SERIES[@]}") ;;
1)	case $1 in
	6.1|6.12) want=("$1") ;;
	*)	echo "usage: $0 [6.1|6.12]" >&2; exit 2 ;;
	esac ;;
*)	echo "usage: $0 [6.1|6.12]" >&2; exit 2 ;;
esac

# Find all first so nothing is printed when one of them is missing.
out=()
for s in "${want[@]}"; do
	out+=("$(newest_release "$s")") || exit 1
done
printf '%s\n' "${out[@]}"
