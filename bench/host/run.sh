#!/bin/bash
# run.sh - `make bench-host`: the module's own mark loop, natively, beside
# bdwgc's, and the memory system's limits on the same machine; the tables
# and a plot go into bench/RESULTS.md between the bench-host markers
# (bench/report.sh carries that block over when `make bench` rewrites the
# file).
#
# Usage: bench/host/run.sh MARKHOST BDWGC_MARKBENCH [ALLOC_BENCH...]
#   MARKHOST         build/hostbench/markhost (bench/host/markhost.c)
#   BDWGC_MARKBENCH  build/host/bench/bench-mark-bdwgc (bench/markbench.c)
#   ALLOC_BENCH      allocation benchmarks to run natively: allochost
#                    (gcmem's, over the stand-in) and builds of
#                    bench/alloc_bench.c (bdwgc, glibc, jemalloc,
#                    mimalloc), BENCH_HOST_ALLOCS
#                    allocations a run (default 10000000), BENCH_HOST_REPS
#                    runs (default 3)
# Environment: BENCH_RESULTS (default bench/RESULTS.md), BENCH_HOST_MIB
# (live set, default 256), BENCH_HOST_RUNS (marks per worker count,
# default 5), BENCH_HOST_LOG (write up this log of an earlier run instead
# of running).
#
# Native means this machine as it is, a virtual machine with hardware
# paging where it is one: no QEMU, no TCG. Nothing else should run beside
# it (a helper's guest would halve a worker's share of the CPUs).
set -euo pipefail

[ $# -ge 2 ] || {
	echo "usage: $0 MARKHOST BDWGC_MARKBENCH [ALLOC_BENCH...]" >&2
	exit 2
}
markhost=$1 bdwgc=$2
shift 2
allocs=("$@")
top=$(cd "$(dirname "$0")/../.." && pwd)
results=${BENCH_RESULTS:-$top/bench/RESULTS.md}
mib=${BENCH_HOST_MIB:-256}
runs=${BENCH_HOST_RUNS:-5}
out=$(dirname "$markhost")
log=$out/native.log
plot=$(dirname "$results")/native-mark.png
aplot=$(dirname "$results")/native-alloc.png

# measure LOG: every run, its output lines appended to LOG.
measure()
{
	local p spec shape l

	{
		echo "# native: $(uname -r), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
		echo "# native: THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)"
		echo "# native: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	} >>"$1"
	for p in thp 4k; do
		"$markhost" chase -m "$mib" -p "$p" | tee -a "$1"
	done
	for spec in "lists 1024" "lists 1" "tree" "array" "large"; do
		read -r shape l <<<"$spec"
		"$markhost" mark -m "$mib" -g "$shape" -l "${l:-1}" -w 1,2 \
			-c "$runs" -p thp |
			sed "s/shape=lists /shape=lists($l) /" | tee -a "$1"
		# The machine's two-thread parallelism again, right after.
		[ "$l" != 1024 ] ||
			"$markhost" chase -m "$mib" -p thp | grep 'chains=8x2' |
			sed 's/^CHASE /CHASEAFTER /' | tee -a "$1"
	done
	"$markhost" mark -m "$mib" -g lists -l 1024 -w 1,2 -c "$runs" -p 4k |
		sed 's/shape=lists /shape=lists(1024) /' | tee -a "$1"
	for l in 1024 1; do
		"$bdwgc" -m "$mib" -l "$l" -w 1,2 -k "$runs" 2>&1 |
			grep -a '^MARKBENCH' | sed "s/^/BDWGC lists($l) /" |
			tee -a "$1"
	done
	for shape in tree array large; do
		"$bdwgc" -m "$mib" -g "$shape" -w 1,2 -k "$runs" 2>&1 |
			grep -a '^MARKBENCH' | sed "s/^/BDWGC $shape /" |
			tee -a "$1"
	done
	# allochost twice: its heap only growing, and swept (its argument).
	for b in "${allocs[@]}"; do
		args=("")
		[ "${b##*/}" != allochost ] || args=("" reuse)
		for a in "${args[@]}"; do
			BENCH_ALLOCS=${BENCH_HOST_ALLOCS:-10000000} \
			BENCH_REPS=${BENCH_HOST_REPS:-3} "$b" $a 2>&1 |
				grep -a -E '^(BENCH|BENCHFAIL) ' | tee -a "$1"
		done
	done
}

if [ -n "${BENCH_HOST_LOG:-}" ]; then
	log=$BENCH_HOST_LOG
else
	: >"$log"
	measure "$log"
fi

# The tables.
section=$(mktemp)
dat=$(mktemp)
adat=$(mktemp)
awk -v mib="$mib" -v runs="$runs" -v plotname="$(basename "$plot")" -v dat="$dat" \
    -v aplotname="$(basename "$aplot")" -v adat="$adat" '
function median(list,   v, n, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n ? (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) : 0
}
function field(line, key,   i, n, kv) {
	n = split(line, kv, " ")
	for (i = 1; i <= n; i++)
		if (index(kv[i], key "=") == 1)
			return substr(kv[i], length(key) + 2)
	return ""
}
/^# native: / { sub(/^# native: /, ""); env[++nenv] = $0 }
/^CHASE / { chase[field($0, "pages"), field($0, "chains")] = field($0, "ns_load") }
/^CHASEAFTER / { after8x2 = field($0, "ns_load") }
/^MARKHOST / {
	k = field($0, "shape") SUBSEP field($0, "pages") SUBSEP field($0, "workers")
	rows[++nrows] = k
	ms[k] = field($0, "ms"); nso[k] = field($0, "ns_obj")
	nsw[k] = field($0, "ns_word"); rate[k] = field($0, "mibs")
	share[k] = field($0, "share"); rerun += field($0, "rerun")
	ok[k] = $NF
}
/^BENCH / {
	# BENCH ALLOC KIND SIZES THREADS ALLOCS SECONDS RATE ...
	ak = $2 (($3 == "-") ? "" : " " $3) SUBSEP $4
	if (!(ak in aseen)) {
		aseen[ak] = 1
		arows[++narows] = ak
	}
	arate[ak, $5] = arate[ak, $5] " " $8
}
/^BENCHFAIL / { afail++ }
/^BDWGC / {
	shape = $2; w = field($0, "workers")
	b = shape SUBSEP "thp" SUBSEP w
	bms[b] = field($0, "mark_ms"); brate[b] = field($0, "mark_mib_s")
	bobj[b] = field($0, "objs"); bok[b] = $NF
	bwords[b] = field($0, "live_mib") * 131072
}
END {
	print "<!-- bench-host begin: bench/host/run.sh writes this block; bench/report.sh keeps it -->"
	print "## Mark throughput natively (`make bench-host`)"
	print ""
	print "**Native, not in the guest:** kmod/mark.c, work.c, bitmap.c and sizeclass.c,"
	print "unchanged, compiled in user space against the host shims (selftests/host/)"
	print "and marking a heap laid out as the module lays it out (2 MiB chunks, 8 KiB"
	print "pages, spans, the span table, pointer bits) in ordinary memory, with"
	print "threads as the mark workers; bdwgc is Debian'"'"'s, marking bench/markbench.c'"'"'s"
	print "graph in its own heap with GC_MARKERS. Under TCG every load costs the same"
	print "whether or not others are in flight, so what the mark loop does for the"
	print "memory system shows only here. " mib " MiB of 64-byte objects in random"
	print "order; median of " runs " marks each. A mark during which the"
	print "workers had less than 90% of their CPUs (their time runnable but not"
	print "running, /proc/thread-self/schedstat, and the time the hypervisor took"
	print "the CPUs, steal in /proc/stat, against workers x wall time) measured"
	print "other load, not the mark: it is run again, up to " runs " times a row"
	print "(" rerun + 0 " marks this run); the CPU share column is the least of the"
	print "marks kept."
	print ""
	for (i = 1; i <= nenv; i++)
		print "- " env[i]
	print ""
	print "The memory system (" mib " MiB of 64-byte nodes in one random cycle):"
	print ""
	print "| pages | 1 chain: ns per load | 8 chains: ns per load | 8 chains on each of 2 threads: ns per load (wall) | 2 threads / 1 |"
	print "| --- | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= 2; i++) {
		pg = i == 1 ? "thp" : "4k"
		printf "| %s | %s | %s | %s | %s |\n", (i == 1 ? "2 MiB (THP)" : "4 KiB"),
			chase[pg, 1], chase[pg, 8], chase[pg, "8x2"],
			(chase[pg, "8x2"] ? sprintf("%.2fx", chase[pg, 8] / chase[pg, "8x2"]) : "-")
	}
	print ""
	if (after8x2 && chase["thp", 8])
		printf "Right after the 1024-list marks, 8 chains on each of 2 threads (THP): %s ns a load, %.2fx one thread'"'"'s 8 chains. Two workers can scale only as far as the machine lets two threads load at once: where this is well below the figure above, the two vCPUs were sharing a core or losing time to the host while the marks ran.\n\n", after8x2, chase["thp", 8] / after8x2
	print "| graph | pages | collector | workers | mark (ms) | ns per object | ns per word | MiB/s | MiB/s per worker | CPU share | check |"
	print "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	for (i = 1; i <= nrows; i++) {
		k = rows[i]
		split(k, p, SUBSEP)
		printf "| %s | %s | gcmem (kmod/mark.c) | %s | %.1f | %.1f | %.2f | %.1f | %.1f | %s | %s |\n",
			p[1], p[2], p[3], ms[k], nso[k], nsw[k], rate[k], rate[k] / p[3],
			(share[k] == "" ? "-" : share[k]), ok[k]
		if ((k in bms)) {
			printf "| %s | %s | bdwgc | %s | %.1f | %.1f | %.2f | %.1f | %.1f | - | %s |\n",
				p[1], "bdwgc'"'"'s own", p[3], bms[k], bms[k] * 1e6 / bobj[k],
				bms[k] * 1e6 / bwords[k], brate[k], brate[k] / p[3], bok[k]
		}
	}
	print ""
	k1 = "lists(1024)" SUBSEP "thp" SUBSEP 1
	k2 = "lists(1024)" SUBSEP "thp" SUBSEP 2
	if ((k1 in rate) && (k1 in brate)) {
		r = rate[k1] / brate[k1]
		printf "- **At least 5x bdwgc per worker** (1 worker, 1024 lists): %.2fx, %s.\n",
			r, (r >= 5 ? "met" : "**not met**")
	}
	c8 = chase["thp", 8]
	if ((k1 in nso) && c8 != "") {
		r = nso[k1] / c8
		printf "- **Within 2x of the 8-chain limit** (%s ns a load, one miss an object): %.1f ns an object, %.1fx the limit, %s.\n",
			c8, nso[k1], r, (r <= 2 ? "met" : "**not met**")
	}
	if ((k1 in rate) && (k2 in rate)) {
		r = rate[k2] / rate[k1]
		printf "- **2 workers at least 1.7x one** (1024 lists): %.2fx, %s%s%s.\n",
			r, (r >= 1.7 ? "met" : "**not met**"),
			(after8x2 && chase["thp", 8] ? sprintf(" (this machine'"'"'s own 2-thread chase: %.2fx one thread before the marks, %.2fx after)", chase["thp", 8] / chase["thp", "8x2"], chase["thp", 8] / after8x2) : ""),
			(share[k2] != "" && share[k2] < 0.9 ? \
			 sprintf(" (the workers had %d%% of their CPUs: another task ran; measure again on a quiet machine)", share[k2] * 100) : "")
	}
	print "- bdwgc marks bench/markbench.c'"'"'s graphs of the same shapes (-l, -g tree|array|large), built in its own heap by GC_MALLOC."
	print ""
	print "![mark rates natively](" plotname ")"
	print ""
	if (narows) {
		print "Allocation natively: bench/alloc_bench.c'"'"'s workload (nothing kept live;"
		print "malloc+free in batches of 1024; \"-nofree\" and \"nogc\": the heap only"
		print "grows), millions of allocations a second over all threads, the median"
		print "of the runs. **gcmem-standin** is libgcuser, unchanged, whose device"
		print "calls a user-space stand-in serves (bench/host/standin.c, allochost.c):"
		print "the refill is kmod/alloc.c'"'"'s gcmem_refill(), called where the module"
		print "has an ioctl, over an arena of ordinary memory (THP) that only grows"
		print "(no cycle runs): its peers are the -nofree and nogc rows, and what it"
		print "shows is the fast path and the refill'"'"'s logic, not the module."
		print "Profiled (perf), two thirds of its time is the host kernel zeroing the"
		print "fresh huge pages the growing heap touches (clear_page_erms), and the"
		print "first runs after a large process exits are often several times"
		print "slower (the host compacting memory for huge pages): read the growing"
		print "rows as rough. **gcmem-standin-reuse** is the same with its memory"
		print "recycled, as malloc+free'"'"'s is: whenever the spans in use would pass"
		print "4 MiB (the module'"'"'s least heap goal; nothing is live) the stand-in"
		print "runs a cycle that is kmod/sweep.c'"'"'s sweep alone (nothing to mark, no"
		print "world to stop: a program whose roots hold nothing), and the refills"
		print "hand out the swept spans and freed pages again, zeroing the free slots"
		print "as the module does; the heap stays at 4 MiB. Its peer is malloc+free."
		print "What a cycle of the module costs beyond the sweep (a stop, the roots,"
		print "a system call a refill) is not in it: the guest'"'"'s tables measure those."
		print ""
		print "| allocator | sizes (B) | 1 thread (M/s) | 2 threads (M/s) | 2 threads / 1 |"
		print "| --- | --- | ---: | ---: | ---: |"
		for (i = 1; i <= narows; i++) {
			ak = arows[i]
			split(ak, p, SUBSEP)
			m1 = median(arate[ak, 1])
			m2 = median(arate[ak, 2])
			printf "| %s | %s | %.1f | %.1f | %.2fx |\n", p[1], p[2],
				m1 / 1e6, m2 / 1e6, m1 ? m2 / m1 : 0
			printf("\"%s %s\" %.1f %.1f\n", p[1], p[2], m1 / 1e6,
			       m2 / 1e6) > adat
		}
		gk = "gcmem-standin-reuse ptr" SUBSEP "32"
		if (!((gk, 1) in arate))
			gk = "gcmem-standin ptr" SUBSEP "32"
		g1 = median(arate[gk, 1])
		g2 = median(arate[gk, 2])
		split(gk, gn, SUBSEP)
		m1 = median(arate["mimalloc" SUBSEP "32", 1])
		m2 = median(arate["mimalloc" SUBSEP "32", 2])
		if (g1 && m1) {
			print ""
			printf "- **At least mimalloc'"'"'s rate, 32-byte objects** (%s against mimalloc malloc+free): 1 thread %.2fx, 2 threads %.2fx, %s.\n",
				gn[1], g1 / m1, g2 / m2, (g1 >= m1 && g2 >= m2 ? "met" : "**not met**")
		}
		if (afail)
			print "\n**" afail " allocation runs failed** (BENCHFAIL lines in the log)."
		print ""
		print "![allocation rates natively](" aplotname ")"
		print ""
	}
	print "<!-- bench-host end -->"
	for (i = 1; i <= nrows; i++) {
		k = rows[i]
		split(k, p, SUBSEP)
		if (p[2] != "thp")
			continue
		printf("\"%s\" %s %s\n", p[1] " " p[3] "w", rate[k],
		       (k in brate) ? brate[k] : 0) > dat
	}
}' "$log" >"$section"

if command -v gnuplot >/dev/null; then
	gnuplot <<-EOF || echo "bench-host: gnuplot failed, no plot" >&2
	set terminal pngcairo size 900,500 noenhanced
	set output '$plot'
	set title 'Mark rate natively, $mib MiB live (higher is better)'
	set ylabel 'MiB/s'
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set xtics rotate by -30
	set key top left
	set yrange [0:*]
	plot '$dat' using 2:xtic(1) title 'gcmem (kmod/mark.c)', '' using 3 title 'bdwgc'
	EOF
	[ ! -s "$adat" ] || gnuplot <<-EOF || echo "bench-host: gnuplot failed, no allocation plot" >&2
	set terminal pngcairo size 1100,550 noenhanced
	set output '$aplot'
	set title 'Allocation rate natively, nothing live (higher is better)'
	set ylabel 'millions of allocations a second'
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set xtics rotate by -40 font ',8'
	set rmargin 10
	set key top center
	set yrange [0:*]
	plot '$adat' using 2:xtic(1) title '1 thread', '' using 3 title '2 threads'
	EOF
fi
rm -f "$dat" "$adat"

# Into RESULTS.md: replace the block, or put it before "## Commands".
tmp=$results.tmp
if grep -q '^<!-- bench-host begin' "$results" 2>/dev/null; then
	awk -v f="$section" '
	/^<!-- bench-host begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
	/^<!-- bench-host end/ { skip = 0; next }
	!skip' "$results" >"$tmp"
elif grep -q '^## Commands' "$results" 2>/dev/null; then
	awk -v f="$section" '
	/^## Commands/ { while ((getline l < f) > 0) print l; print "" }
	{ print }' "$results" >"$tmp"
else
	{ [ -r "$results" ] && cat "$results"; echo; cat "$section"; } >"$tmp"
fi
mv -f "$tmp" "$results"
rm -f "$section"
echo "bench-host: wrote $results (log: $log)"
! grep -aqE 'FAILED|^BENCHFAIL ' "$log"
