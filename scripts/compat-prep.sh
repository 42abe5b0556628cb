#!/bin/bash
# compat-prep.sh - what the bdwgc_test selftest runs in the guest: bdwgc's
# own tests built against gcmem's gc.h, Debian's w3m with a page to dump
# and the dump Debian's libgc gives, and gcmem-run for the guest.
#
# Usage: scripts/compat-prep.sh OUTDIR INCDIR
#
#   OUTDIR/bin/*            bdwgc's tests (scripts/bdwgc-tests.sh) and w3m
#   OUTDIR/lib/*            the libraries staticrootstest needs
#   OUTDIR/w3m/page.html    a generated page: a table of ROWS rows and
#                           nested lists, some thousands of elements
#   OUTDIR/w3m/expected.txt `w3m -dump` of it here, under Debian's libgc
#   OUTDIR/gcmem-run        gcmem-run, looking in /gcmem/lib
# Nothing of bdwgc or w3m enters the repository: the sources come from
# Debian's package into the cache, w3m is the installed package's binary.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -eq 2 ] || {
	echo "usage: $0 OUTDIR INCDIR" >&2
	exit 2
}
out=$1 inc=$2
W3M=${GCMEM_W3M:-/usr/bin/w3m}
ROWS=${GCMEM_W3M_ROWS:-1500}

mkdir -p "$out"
"$top/scripts/bdwgc-tests.sh" "$out" "$inc"

[ -x "$W3M" ] || {
	echo "compat-prep: $W3M not found (scripts/deps.sh installs w3m)" >&2
	exit 1
}
install -m 0755 "$W3M" "$out/bin/w3m"

# The page: the same bytes every run (no dates, no randomness).
mkdir -p "$out/w3m"
awk -v rows="$ROWS" 'BEGIN {
	print "<html><head><title>gcmem w3m test</title></head><body>"
	print "<h1>A table and some lists</h1>"
	print "<table border=1><tr><th>n</th><th>square</th><th>word</th><th>note</th></tr>"
	split("alpha beta gamma delta epsilon zeta eta theta iota kappa", w, " ")
	for (i = 1; i <= rows; i++)
		printf "<tr><td>%d</td><td>%d</td><td>%s-%s</td><td><b>%x</b> <i>%o</i></td></tr>\n",
		       i, i * i, w[i % 10 + 1], w[int(i / 10) % 10 + 1], i * 7919, i
	print "</table>"
	for (i = 1; i <= rows / 10; i++) {
		printf "<h2>Section %d</h2><ul>\n", i
		for (j = 1; j <= 4; j++) {
			printf "<li>item %d.%d<ol>", i, j
			for (k = 1; k <= 3; k++)
				printf "<li>%s %d.%d.%d <a href=\"#s%d\">link</a></li>", w[(i + j + k) % 10 + 1], i, j, k, i
			print "</ol></li>"
		}
		print "</ul><p>Paragraph text that wraps around the column limit, repeated so that lines are filled and broken by the renderer, again and again and again.</p>"
	}
	print "</body></html>"
}' > "$out/w3m/page.html.tmp"
mv -f "$out/w3m/page.html.tmp" "$out/w3m/page.html"
env -i HOME=/nonexistent "$W3M" -dump -cols 100 -O US-ASCII \
	"$out/w3m/page.html" > "$out/w3m/expected.txt.tmp"
mv -f "$out/w3m/expected.txt.tmp" "$out/w3m/expected.txt"

sed 's|@LIBDIR@|/gcmem/lib|g' "$top/libgcuser/gc/gcmem-run.in" > "$out/gcmem-run"
chmod 0755 "$out/gcmem-run"
