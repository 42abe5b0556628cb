#!/bin/bash
# report.sh - turn a bench-mode console log into bench/RESULTS.md (stdout).
#
# Usage: bench/report.sh CONSOLE_LOG
#
# Reads the BENCH, BENCHINFO, BENCHCHECK and BENCHFAIL lines that the
# bench-* binaries print (format in bench/alloc_bench.c), takes the median
# of the repetitions of each configuration and prints Markdown: the
# figures, gcmem against the targets, the correctness checks, the
# environment and the commands. Environment (all optional, set by run.sh):
#   BENCH_COMMANDS     file with the commands that were run
#   BENCH_BOOT_RC      boot.sh's exit status
#   BENCH_NATIVE_LOG   output of the bdwgc and glibc binaries run natively
#   BENCH_PREVIOUS     the report this one replaces: its `make bench-host`
#                      block (bench/host/run.sh) is carried over
#   BENCH_QEMU_MEM     the guest's memory size
#   BENCH_LOADAVG      the host's load average before the boot
#   BENCH_REV          the source revision the run was built from
#   BENCH_HOST_OTHER   what else used the host's CPUs during the guest run
#   BENCH_HOST_OTHER_PCT  the same as a share of the host's CPU time (integer)
#   BENCH_PLOT         where to draw the GCBench pause distribution (PNG,
#                      default bench/gc-pauses.png; RESULTS.md links to its
#                      file name, so keep it next to RESULTS.md)
# GCBench's GCBENCH lines (format in bench/gcbench.c and bench/README.md)
# become a table of their own, and their pause histograms the PNG (gnuplot);
# the mark benchmark's MARKBENCH lines (bench/markbench.c) another, with the
# issue's mark targets judged.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LC_ALL=C

[ $# -eq 1 ] || { echo "usage: $0 CONSOLE_LOG" >&2; exit 2; }
log=$1
[ -r "$log" ] || { echo "report: cannot read $log" >&2; exit 2; }
native=${BENCH_NATIVE_LOG:-}
boot_rc=${BENCH_BOOT_RC:-?}

guest_kernel=$(sed -n 's/^# guest: kernel \([^,]*\),.*/\1/p' "$log" | head -n 1)
guest_cpus=$(sed -n 's/^# guest: kernel [^,]*, \([0-9]*\) cpus.*/\1/p' "$log" | head -n 1)
accel=$(sed -n 's/^# boot: kernel .*, accel \([a-z]*\),.*/\1/p' "$log" | head -n 1)
boot_verdict=$(grep -a '^# boot: \(PASS\|FAIL\)' "$log" || echo "# boot: (no verdict in the log)")
qemu=$(qemu-system-x86_64 --version 2>/dev/null | head -n 1 || echo unknown)
host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
rev=${BENCH_REV:-}
if [ -z "$rev" ]; then
	rev=$(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C "$here/.." status --porcelain 2>/dev/null)" ]; then
		rev="$rev, with uncommitted changes"
	fi
fi
allocs=$(sed -n 's/^BENCHINFO binary=.* allocs=\([0-9]*\) reps=\([0-9]*\).*/\1/p' "$log" | head -n 1)
# Runs per configuration: the most BENCH lines any configuration has.
runs=$(awk '$1 == "BENCH" { n[$2 " " $3 " " $4 " " $5]++ }
	END { m = 0; for (k in n) if (n[k] > m) m = n[k]; print m }' "$log")
rounds=$(grep -c '^# gcmem-bench: round ' "$log" || true)
guest_mem=$(sed -n 's/^BENCHINFO binary=.* mem_mib=\([0-9]*\) .*/\1/p' "$log" | head -n 1)

# tables LOG WHICH: Markdown for the BENCH lines of LOG.
#   WHICH=all      every configuration
#   WHICH=targets  gcmem against bdwgc and glibc, per the issue's targets
#   WHICH=reading  a few sentences on the targets
tables()
{
	awk -v which="$2" '
# mid(v, n): sort v[1..n] in place; its median.
function mid(v, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = v[i]
		for (j = i - 1; j >= 1 && v[j] > t; j--)
			v[j + 1] = v[j]
		v[j + 1] = t
	}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
# median(key): the median rate of key; lo[key] and hi[key] its range.
function median(key,    n, i, v, r) {
	n = cnt[key]
	for (i = 1; i <= n; i++)
		v[i] = rate[key, i]
	r = mid(v, n)
	lo[key] = v[1]
	hi[key] = v[n]
	return r
}
# wmedian(key): the median warm_rate of key, or -1 if it has none.
function wmedian(key,    n, i, v) {
	n = nwarm[key]
	if (!n)
		return -1
	for (i = 1; i <= n; i++)
		v[i] = warm[key, i]
	return mid(v, n)
}
function m(x) { return sprintf("%.2f", x / 1e6) }
# extra(key, name): the value of name=VALUE in the last rep of key.
function extra(key, name,    s) {
	s = " " ex[key] " "
	if (!match(s, " " name "=[^ ]*"))
		return ""
	s = substr(s, RSTART + 1, RLENGTH - 1)
	return substr(s, length(name) + 2)
}
function per_refill(key,    r) {
	if (!(key in refills) || refills[key] == "-" || refills[key] == "?")
		return "-"
	r = refills[key] + 0
	if (r == 0)
		return "no refill"
	return sprintf("%.0f", nalloc[key] / r)
}
# "LO" or "LO to HI", each formatted by F, the same when they round alike.
function span(f, lo, hi) {
	return sprintf(f, lo) (sprintf(f, lo) != sprintf(f, hi) ? " to " sprintf(f, hi) : "")
}
# refills per allocation, for the figure the issue asks for.
function per_alloc(key) {
	if (!(key in refills) || refills[key] == "-" || refills[key] == "?" ||
	    !nalloc[key])
		return ""
	return sprintf(" (%.5f refills per allocation)", refills[key] / nalloc[key])
}
function note(key, a,    s, t) {
	s = ""
	if (usr[key] + sys[key] > 0)
		s = sprintf("%.0f%% kernel; ", 100 * sys[key] / (usr[key] + sys[key]))
	if (a ~ /^gcmem/) {
		t = extra(key, "collections")
		if (t != "")
			s = s t " collections" (t + 0 ? ", longest pause " \
				extra(key, "pause_max_ms") " ms" \
				(extra(key, "pause_total_ms") != "" ? \
				 ", pauses " extra(key, "pause_total_ms") " ms in all" : "") \
				(extra(key, "stop_ms") != "" ? \
				 " (stopping " extra(key, "stop_ms") ")" : "") : "") "; "
		t = extra(key, "abandoned")
		if (t + 0)
			s = s t " abandoned; "
		s = s "peak committed " extra(key, "peak_committed_mib") " MiB"
		t = extra(key, "small_allocated")
		if (t != "" && t + 0 != nalloc[key] / cnt[key])
			s = s "; small_allocated " t " (not " nalloc[key] / cnt[key] ")"
		return s
	}
	if (a ~ /^bdwgc/)
		return s extra(key, "collections") " collections, heap " \
			extra(key, "heap_kib") " KiB at the end"
	if (a == "glibc-nofree")
		return s "arenas " extra(key, "arena_mib") " MiB at the end"
	sub(/; $/, "", s)
	return s
}
$1 == "BENCH" && NF >= 10 {
	key = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5
	if (!(key in cnt)) {
		cnt[key] = 0
		refills[key] = 0
		nalloc[key] = 0
	}
	cnt[key]++
	rate[key, cnt[key]] = $8 + 0
	if ($9 == "-" || $9 == "?")
		refills[key] = $9
	else if (refills[key] != "-" && refills[key] != "?")
		refills[key] += $9
	nalloc[key] += $6
	wall[key] += $7
	ex[key] = ""
	for (i = 11; i <= NF; i++) {
		ex[key] = ex[key] " " $i
		if ($i ~ /^user_s=/)
			usr[key] += substr($i, 8)
		else if ($i ~ /^sys_s=/)
			sys[key] += substr($i, 7)
		else if ($i ~ /^finish_ms=/)
			fin[key] += substr($i, 11)
		else if ($i ~ /^warm_rate=/)
			warm[key, ++nwarm[key]] = substr($i, 11) + 0
		else if ($i ~ /^pause_total_ms=/)
			pau[key] += substr($i, 16)
	}
	next
}
END {
	na = split("gcmem gcmem-nogc bdwgc bdwgc-nogc glibc glibc-nofree", A, " ")
	nk = split("ptr atomic -", K, " ")
	ns = split("32 16-128", S, " ")
	nt = split("1 2", T, " ")
	for (key in cnt)
		med[key] = median(key)
	desc["gcmem"] = "gcmem, collector on"
	desc["gcmem-nogc"] = "gcmem, gcpercent -1"
	desc["bdwgc"] = "bdwgc, collector on"
	desc["bdwgc-nogc"] = "bdwgc, GC_disable()"
	desc["glibc"] = "glibc malloc+free"
	desc["glibc-nofree"] = "glibc malloc, no free"
	kd["ptr"] = "scanned"
	kd["atomic"] = "atomic"
	kd["-"] = "-"
	if (which == "all") {
		print "| allocator | objects | sizes (B) | threads | M allocs/s (median) | min - max | allocs per refill | notes |"
		print "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"
		for (a = 1; a <= na; a++) for (k = 1; k <= nk; k++)
		for (s = 1; s <= ns; s++) for (t = 1; t <= nt; t++) {
			key = A[a] SUBSEP K[k] SUBSEP S[s] SUBSEP T[t]
			if (!(key in cnt))
				continue
			printf "| %s | %s | %s | %s | **%s** | %s - %s | %s | %s |\n",
				desc[A[a]], kd[K[k]], S[s], T[t], m(med[key]),
				m(lo[key]), m(hi[key]), per_refill(key),
				note(key, A[a])
			rows++
		}
		if (!rows)
			print "| (no results) | | | | | | | |"
		exit
	}
	# gcmem against the targets.
	for (k = 1; k <= 2; k++) for (s = 1; s <= ns; s++) for (t = 1; t <= nt; t++) {
		g = "gcmem" SUBSEP K[k] SUBSEP S[s] SUBSEP T[t]
		b = "bdwgc" SUBSEP K[k] SUBSEP S[s] SUBSEP T[t]
		c = "glibc" SUBSEP "-" SUBSEP S[s] SUBSEP T[t]
		n++
		gr = (g in med) ? med[g] : 0
		vb = (g in med && b in med) ? gr / med[b] : -1
		vc = (g in med && c in med) ? gr / med[c] : -1
		pr = (g in cnt) ? per_refill(g) : "-"
		if (vb >= 0) {
			nb++
			if (vb >= 2)
				okb++
			if (nb == 1 || vb < minb)
				minb = vb
			if (nb == 1 || vb > maxb)
				maxb = vb
		}
		if (vc >= 0) {
			nc++
			if (vc >= 1)
				okc++
			if (nc == 1 || vc < minc)
				minc = vc
			if (nc == 1 || vc > maxc)
				maxc = vc
		}
		if (pr != "-") {
			nr++
			pv = pr == "no refill" ? 1e18 : pr + 0
			if (pv >= 256)
				okr++
			if (nr == 1 || pv < minr)
				minr = pv
		}
		line[n] = sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |",
			kd[K[k]], S[s], T[t],
			(g in med) ? m(gr) : "missing",
			(b in med) ? m(med[b]) : "missing",
			vb >= 0 ? sprintf("%.2fx %s", vb, vb >= 2 ? "met" : "**missed**") : "-",
			(c in med) ? m(med[c]) : "missing",
			vc >= 0 ? sprintf("%.2fx %s", vc, vc >= 1 ? "met" : "**missed**") : "-",
			pr == "-" ? "-" : sprintf("%s%s %s", pr, per_alloc(g), (pr == "no refill" || pr + 0 >= 256) ? "met" : "**missed**"))
	}
	if (which == "targets") {
		print "| gcmem objects | sizes (B) | threads | gcmem M/s | bdwgc M/s | gcmem / bdwgc (target >= 2x) | glibc M/s | gcmem / glibc (target >= 1x) | allocs per refill (target >= 256) |"
		print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for (i = 1; i <= n; i++)
			print line[i]
		exit
	}
	if (!nb && !nc && !nr) {
		print "- No gcmem figures: the gcmem runs failed or did not run (see Failures), so no target can be judged."
		exit
	}
	if (nb)
		printf "- **2x bdwgc:** met in %d of %d configurations; gcmem / bdwgc ranges from %.2fx to %.2fx.\n", okb, nb, minb, maxb
	if (nc)
		printf "- **At least glibc:** met in %d of %d configurations; gcmem / glibc ranges from %.2fx to %.2fx.\n", okc, nc, minc, maxc
	if (nr)
		printf "- **At most one refill per 256 allocations:** met in %d of %d configurations; the fewest allocations per refill is %s%s.\n", okr, nr, (minr >= 1e18 ? "unbounded (no refill)" : sprintf("%.0f", minr)), (minr >= 256 && minr < 264 ? ": the target exactly, with no margin (a span of that class holds about as many objects; see the span sizes below)" : "")
	# Where the time goes, and how the rates scale to 2 threads.
	for (a = 1; a <= na; a++) {
		if (A[a] != "gcmem" && A[a] != "glibc")
			continue
		ks = 0
		kl = kh = sl = sh = ul = uh = cl = ch = -1
		# cl, ch: a change, which may be below 0; cn counts them.
		cn = 0
		fl = fh = pl = ph = ql = qh = wl = wh = -1
		for (k = 1; k <= nk; k++) for (s = 1; s <= ns; s++) {
			for (t = 1; t <= nt; t++) {
				key = A[a] SUBSEP K[k] SUBSEP S[s] SUBSEP T[t]
				if (!(key in cnt) || usr[key] + sys[key] <= 0)
					continue
				v = 100 * sys[key] / (usr[key] + sys[key])
				if (kl < 0 || v < kl) kl = v
				if (kh < 0 || v > kh) kh = v
			}
			k1 = A[a] SUBSEP K[k] SUBSEP S[s] SUBSEP 1
			k2 = A[a] SUBSEP K[k] SUBSEP S[s] SUBSEP 2
			if ((k1 in med) && (k2 in med) && med[k1] > 0) {
				v = med[k2] / med[k1]
				if (sl < 0 || v < sl) sl = v
				if (sh < 0 || v > sh) sh = v
			}
			# 2 threads: their CPU time over twice the wall time,
			# and their CPU time an allocation against 1 thread.
			if ((k1 in cnt) && (k2 in cnt) && wall[k2] > 0 &&
			    usr[k1] + sys[k1] > 0 && nalloc[k1] && nalloc[k2]) {
				v = 100 * (usr[k2] + sys[k2]) / (2 * wall[k2])
				if (ul < 0 || v < ul) ul = v
				if (uh < 0 || v > uh) uh = v
				c1 = (usr[k1] + sys[k1]) / nalloc[k1]
				v = 100 * ((usr[k2] + sys[k2]) / nalloc[k2] / c1 - 1)
				if (!cn || v < cl) cl = v
				if (!cn || v > ch) ch = v
				cn++
			}
			w1 = wmedian(k1)
			w2 = wmedian(k2)
			if (w1 > 0 && w2 > 0) {
				v = w2 / w1
				if (wl < 0 || v < wl) wl = v
				if (wh < 0 || v > wh) wh = v
			}
			# Shares of the timed loop (wall, summed over the
			# runs): the first thread to finish waiting for the
			# last; the pauses, 2 threads and 1.
			if ((k2 in fin) && wall[k2] > 0) {
				v = 100 * fin[k2] / 1e3 / wall[k2]
				if (fl < 0 || v < fl) fl = v
				if (fh < 0 || v > fh) fh = v
			}
			if ((k1 in pau) && (k2 in pau) && wall[k1] > 0 &&
			    wall[k2] > 0) {
				v = 100 * pau[k2] / 1e3 / wall[k2]
				if (pl < 0 || v < pl) pl = v
				if (ph < 0 || v > ph) ph = v
				v = 100 * pau[k1] / 1e3 / wall[k1]
				if (ql < 0 || v < ql) ql = v
				if (qh < 0 || v > qh) qh = v
			}
		}
		if (ul >= 0)
			busy[A[a]] = span("%.0f%%", ul, uh)
		if (cn)
			cpu[A[a]] = span("%+.0f%%", cl, ch)
		if (fl >= 0)
			finish[A[a]] = span("%.0f%%", fl, fh)
		if (pl >= 0)
			pause2[A[a]] = span("%.0f%%", pl, ph) " of the 2-thread loop, " span("%.0f%%", ql, qh) " of one thread" "'"'"'s"
		if (kl >= 0)
			kern[A[a]] = span("%.0f%%", kl, kh)
		if (sl >= 0)
			scale[A[a]] = span("%.2fx", sl, sh)
		if (wl >= 0)
			wscale[A[a]] = span("%.2fx", wl, wh)
	}
	if ("gcmem" in kern)
		printf "- **Where gcmem'"'"'s time goes:** %s of its CPU time is spent in the kernel (refill ioctls, collections, zeroing of the slots it hands out, chunk commits and faults), against %s for glibc malloc+free.\n", kern["gcmem"], ("glibc" in kern) ? kern["glibc"] : "(no figure)"
	if ("gcmem" in scale)
		printf "- **2 threads against 1:** gcmem %s, glibc malloc+free %s (the guest has 2 vCPUs).%s\n", scale["gcmem"], ("glibc" in scale) ? scale["glibc"] : "(no figure)", ("gcmem" in wscale) ? sprintf(" Once the heap is warm (the last three quarters of each thread" "'"'"'s allocations, after the heap has grown and the first cycles have run): gcmem %s, glibc malloc+free %s.", wscale["gcmem"], ("glibc" in wscale) ? wscale["glibc"] : "(no figure)") : ""
	if (("gcmem" in busy) && ("gcmem" in cpu))
		printf "- **Where 2 threads lose against 1:** gcmem'"'"'s 2 threads were on a CPU %s of the timed loop (the rest parked at the stops of cycles, waiting for a cycle to end or for the lock of the heap) and spent %s CPU time an allocation against one thread (process CPU time, getrusage); glibc malloc+free %s and %s.%s%s\n", busy["gcmem"], cpu["gcmem"], ("glibc" in busy) ? busy["glibc"] : "-", ("glibc" in cpu) ? cpu["glibc"] : "-", ("gcmem" in pause2) ? sprintf(" The pauses of the cycles, which stop both threads, took %s.", pause2["gcmem"]) : "", ("gcmem" in finish) ? sprintf(" The first thread to finish its half of the allocations waited for the other %s of the loop (glibc %s).", finish["gcmem"], ("glibc" in finish) ? finish["glibc"] : "-") : ""
}' "$1"
}

# The awk function v(name): the value of the field name=value on the line,
# or "-"; prepended to the table scripts below.
awk_v='
function v(name,    i) {
	for (i = 3; i <= NF; i++)
		if (index($i, name "=") == 1)
			return substr($i, length(name) + 2)
	return "-"
}'

# plot_png PNG DAT: gnuplot the commands on stdin (which plot '$DAT')
# into PNG, 900x500; 0 if drawn. DAT is removed either way.
plot_png()
{
	local gp term=png rc=0

	gp=$(mktemp)
	gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 && term=pngcairo
	{
		echo "set terminal $term size 900,500 noenhanced"
		echo "set output '$1'"
		cat
	} >"$gp"
	gnuplot "$gp" >/dev/null 2>&1 || rc=1
	rm -f "$2" "$gp"
	return $rc
}

# gcb_table LOG: the GCBENCH lines of LOG as a Markdown table, gcmem first,
# then bdwgc and glibc, in the order they ran within each.
gcb_table()
{
	awk "$awk_v"'
$1 == "GCBENCH" {
	sub(/\r$/, "")
	o = $2 == "gcmem" ? 1 : $2 == "bdwgc" ? 2 : 3
	d["gcmem"] = "gcmem (gcu_malloc)"
	d["bdwgc"] = "bdwgc (GC_MALLOC)"
	d["glibc"] = "glibc malloc + explicit free"
	w = v("workers")
	if ($2 == "bdwgc" && w != "-")
		w = "GC_MARKERS=" w " (" v("markers") " running)"
	else if ($2 == "gcmem" && w != "-")
		w = "mark_workers=" w
	else
		w = "-"
	name = ($2 in d) ? d[$2] : $2
	if (v("mode") == "concurrent" || v("mode") == "incremental")
		name = name ", " v("mode")
	# One row a configuration: its runs (one a round) kept in turn.
	k = name SUBSEP w
	if (!(k in runs))
		key[o, ++n[o]] = k
	r = ++runs[k]
	t[k, r] = v("time_s") + 0
	line[k, r] = sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s", \
		name, w, v("time_s"), v("cycles"), v("pauses"),
		v("pause_total_ms"), v("pause_max_ms"), v("peak_mib"),
		v("maxrss_mib"))
	chk[k, r] = $NF
	# The targets: gcmem concurrent and bdwgc stop-the-world, 2 workers.
	c = ""
	if ($2 == "gcmem" && v("mode") == "concurrent" && v("workers") == 2)
		c = "g"
	else if ($2 == "bdwgc" && v("mode") != "incremental" && v("workers") == 2)
		c = "b"
	if (c != "") {
		ck[c] = k
		if (v("pause_max_ms") + 0 > worst[c] + 0)
			worst[c] = v("pause_max_ms")
	}
}
END {
	print "| allocator | mark workers | time (s) | cycles | pauses | total pause (ms) | max pause (ms) | peak heap (MiB) | max RSS (MiB) | each run, time (s) | check |"
	print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	for (o = 1; o <= 3; o++)
		for (i = 1; i <= n[o]; i++) {
			k = key[o, i]
			m = runs[k]
			# Sort the runs by time (insertion sort: a few runs).
			for (a = 1; a <= m; a++)
				idx[a] = a
			for (a = 2; a <= m; a++)
				for (b = a; b > 1 && t[k, idx[b]] < t[k, idx[b - 1]]; b--) {
					x = idx[b]; idx[b] = idx[b - 1]; idx[b - 1] = x
				}
			all = ""
			bad = "ok"
			for (a = 1; a <= m; a++) {
				all = all (a > 1 ? ", " : "") sprintf("%.3f", t[k, idx[a]])
				if (chk[k, a] != "ok")
					bad = chk[k, a]
			}
			med = idx[int((m + 1) / 2)]
			print line[k, med] " | " all " | " bad " |"
			tmed[k] = t[k, med]
			rows++
		}
	if (!rows) {
		print "| (no GCBench results) | | | | | | | | | | |"
		exit
	}
	if (!("g" in ck) || !("b" in ck))
		exit
	print ""
	if (worst["b"] + 0 > 0)
		printf "- **Worst stop-the-world pause at most 1/10 of bdwgc'"'"'s (2 markers):** %s (gcmem concurrent %.3f ms, bdwgc %.3f ms, the worst of all their runs: %.1f%%).\n",
			(worst["g"] + 0 <= (worst["b"] + 0) / 10 ? "met" : "**missed**"),
			worst["g"], worst["b"], 100 * worst["g"] / worst["b"]
	printf "- **Total time below bdwgc'"'"'s with 2 markers:** %s (gcmem concurrent %.3f s, bdwgc %.3f s, the median runs).\n",
		(tmed[ck["g"]] < tmed[ck["b"]] ? "met" : "**missed**"),
		tmed[ck["g"]], tmed[ck["b"]]
}' "$1"
}

# gcb_plot LOG PNG: draw the pause histograms of the GCBENCH lines (gcmem
# and bdwgc, each worker count) as clustered bars; 0 if drawn.
gcb_plot()
{
	local dat

	command -v gnuplot >/dev/null || return 1
	dat=$(mktemp)
	awk '
$1 == "GCBENCH" && ($2 == "gcmem" || $2 == "bdwgc") {
	sub(/\r$/, "")
	h = ""
	w = "?"
	m = ""
	for (i = 3; i <= NF; i++) {
		if ($i ~ /^hist=/)
			h = substr($i, 6)
		else if ($i ~ /^workers=/)
			w = substr($i, 9)
		else if ($i == "mode=concurrent" || $i == "mode=incremental")
			m = ", " substr($i, 6)
	}
	if (h == "" || split(h, b, ",") != 24)
		next
	name = $2 ", " w " worker" (w == "1" ? "" : "s") m
	if (name in seen)
		next
	seen[name] = ++ns
	title[ns] = name
	for (i = 1; i <= 24; i++) {
		c[ns, i] = b[i] + 0
		if (b[i] + 0) {
			if (!lo || i < lo)
				lo = i
			if (i > hi)
				hi = i
		}
	}
}
END {
	if (!ns || !lo)
		exit 1
	printf "bucket"
	for (s = 1; s <= ns; s++)
		printf "\t\"%s\"", title[s]
	printf "\n"
	for (i = lo; i <= hi; i++) {
		us = 2 ^ (i - 1)
		printf "\"%s\"", us < 1000 ? sprintf("%d us", us) : \
			sprintf("%.3g ms", us / 1000)
		for (s = 1; s <= ns; s++)
			printf "\t%d", c[s, i]
		printf "\n"
	}
}' <(grep -a '^GCBENCH gcmem ' "$1"; grep -a '^GCBENCH bdwgc ' "$1") >"$dat" || { rm -f "$dat"; return 1; }
	plot_png "$2" "$dat" <<-EOF
	set title 'GCBench (depth ${gcb_depth:-?}): stop-the-world pauses per duration bucket [2^i, 2^(i+1)) us'
	set xlabel 'pause at least'
	set ylabel 'pauses'
	set key below
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set boxwidth 0.9
	set grid ytics
	set yrange [0:*]
	set xtics rotate by -30
	plot for [c=2:*] '$dat' using c:xtic(1) title columnheader(c)
	EOF
}

# lat_table LOG: the LATENCY lines of LOG as a Markdown table, gcmem
# first, then the targets judged (worst pause at most a tenth of bdwgc's
# stop-the-world one and at most 2 ms).
lat_table()
{
	awk "$awk_v"'
$1 == "LATENCY" {
	sub(/\r$/, "")
	o = $2 == "gcmem" ? 1 : 2
	c = v("config")
	st = v("stall_ms")
	if ($2 == "gcmem")
		st = st " (" v("stall_cycle_ms") ")"
	row[o, ++n[o]] = sprintf("| %s, %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |",
		$2, c, v("live_mib"), v("seconds"), v("ops"), v("op_p99_us"),
		v("op_p999_us"), v("op_max_us"), v("stalls"), st, v("cycles"),
		v("pauses"), v("pause_max_ms"), v("pause_total_ms"),
		v("peak_mib"), v("mmu_10ms"), $NF)
	pmax[$2 "," c] = v("pause_max_ms")
	peak[$2 "," c] = v("peak_mib")
	goal[$2 "," c] = v("goal_mib")
	live = v("live_mib")
}
END {
	print "| collector, mode | live (MiB) | timed (s) | operations | p99 op (us) | p99.9 op (us) | worst op (us) | stalls | stall time, ms (in cycles) | cycles | pauses | max pause (ms) | total pause (ms) | peak heap (MiB) | MMU 10 ms | check |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	for (o = 1; o <= 2; o++)
		for (i = 1; i <= n[o]; i++) {
			print row[o, i]
			rows++
		}
	if (!rows) {
		print "| (no latency results) | | | | | | | | | | | | | | | |"
		exit
	}
	print ""
	g = "gcmem,concurrent"
	b = "bdwgc,stw"
	if ((g in pmax) && (b in pmax) && pmax[b] + 0 > 0)
		printf "- **Worst stop-the-world pause at most 1/10 of bdwgc'"'"'s:** %s (gcmem concurrent %.3f ms, bdwgc %.3f ms: %.1f%%).\n",
			(pmax[g] + 0 <= (pmax[b] + 0) / 10 ? "met" : "**missed**"),
			pmax[g], pmax[b], 100 * pmax[g] / pmax[b]
	if (g in pmax)
		printf "- **Worst stop-the-world pause at most 2 ms at %s MiB live:** %s (%.3f ms).\n",
			live, (pmax[g] + 0 <= 2 ? "met" : "**missed**"), pmax[g]
	p = "gcmem,concurrent-pte"
	if (p in pmax)
		printf "- **The same, the arena mapped by pages (arena_pmd=0):** %s (%.3f ms).\n",
			(pmax[p] + 0 <= 2 ? "met" : "**missed**"), pmax[p]
	nm = split("concurrent concurrent-pte stw", modes, " ")
	for (i = 1; i <= nm; i++) {
		k = "gcmem," modes[i]
		if (!(k in goal) || goal[k] + 0 <= 0)
			continue
		printf "- **Peak heap within 10%% of the goal (gcmem %s):** %s (peak %s MiB, goal %s MiB: twice what the last cycle marked, gcpercent 100; %+.1f%%).\n",
			modes[i], (peak[k] + 0 <= 1.1 * goal[k] ? "met" : "**missed**"),
			peak[k], goal[k], 100 * (peak[k] / goal[k] - 1)
	}
}' "$1"
}

# lat_plot LOG PNG: the LATMMU lines of LOG, minimum mutator utilization
# against the window, one line per configuration; 0 if drawn.
lat_plot()
{
	local dat

	command -v gnuplot >/dev/null || return 1
	dat=$(mktemp)
	awk '
$1 == "LATMMU" {
	sub(/\r$/, "")
	name = $2 ", " substr($3, 8)
	if (name in seen)
		next
	seen[name] = ++ns
	title[ns] = name
	for (i = 4; i <= NF; i++) {
		split($i, kv, ":")
		if (!(kv[1] in wi)) {
			wi[kv[1]] = ++nw
			win[nw] = kv[1]
		}
		u[ns, wi[kv[1]]] = kv[2]
	}
}
END {
	if (!ns)
		exit 1
	printf "window_ms"
	for (s = 1; s <= ns; s++)
		printf "\t\"%s\"", title[s]
	printf "\n"
	for (w = 1; w <= nw; w++) {
		printf "%s", win[w]
		for (s = 1; s <= ns; s++)
			printf "\t%s", ((s, w) in u) ? u[s, w] : "?"
		printf "\n"
	}
}' "$1" >"$dat" || { rm -f "$dat"; return 1; }
	plot_png "$2" "$dat" <<-EOF
	set title 'Latency benchmark: minimum mutator utilization (worse of the 2 threads)'
	set xlabel 'window (ms)'
	set ylabel 'MMU'
	set logscale x
	set yrange [0:1]
	set key below
	set grid
	set datafile missing '?'
	plot for [c=2:*] '$dat' using 1:c with linespoints title columnheader(c)
	EOF
}

# mark_table LOG: the MARKBENCH lines of LOG as a Markdown table, gcmem
# first, then bdwgc, in the order they ran within each.
mark_table()
{
	awk "$awk_v"'
$1 == "MARKBENCH" {
	sub(/\r$/, "")
	o = $2 == "gcmem" ? 1 : 2
	if ($2 == "bdwgc")
		w = "GC_MARKERS=" v("workers") " (" v("markers") " running)"
	else
		w = "mark_workers=" v("workers") " (param " v("param") ")"
	row[o, ++n[o]] = sprintf("| %s | %s | %s | %s | %s - %s | %s | %s | %s | %s | %s | %s | %s | %s |",
		$2, w, v("live_mib"), v("mark_ms"), v("mark_ms_min"),
		v("mark_ms_max"), v("mark_mib_s"), v("per_worker_mib_s"),
		v("stop_ms"), v("sweep_ms"), v("pause_ms"), v("collect_ms"),
		v("worker_ms"), / ok$/ ? "ok" : "**FAILED**")
}
END {
	print "| collector | mark workers | live (MiB) | mark (ms, median) | mark min - max (ms) | mark rate (MiB/s) | per worker (MiB/s) | stop (ms) | sweep (ms) | world stopped (ms) | whole call (ms) | workers busy (ms) | check |"
	print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	for (o = 1; o <= 2; o++)
		for (i = 1; i <= n[o]; i++) {
			print row[o, i]
			rows++
		}
	if (!rows)
		print "| (no mark throughput results) | | | | | | | | | | | | |"
}' "$1"
}

# mark_targets LOG: the issue's two mark targets, judged from the first
# MARKBENCH line of each collector and worker count: a table, then a few
# sentences.
mark_targets()
{
	awk '
function v(name,    i) {
	for (i = 3; i <= NF; i++)
		if (index($i, name "=") == 1)
			return substr($i, length(name) + 2)
	return ""
}
function verdict(ok) { return ok ? "met" : "**missed**" }
$1 == "MARKBENCH" && ($2 == "gcmem" || $2 == "bdwgc") {
	sub(/\r$/, "")
	k = $2 SUBSEP v("workers")
	if (k in rate)
		next
	rate[k] = v("mark_mib_s") + 0
	pw[k] = v("per_worker_mib_s") + 0
	ok[k] = / ok$/
}
END {
	print "| mark workers | gcmem per worker (MiB/s) | bdwgc per worker (MiB/s) | gcmem / bdwgc (target >= 1x) |"
	print "| ---: | ---: | ---: | ---: |"
	for (w = 1; w <= 2; w++) {
		g = "gcmem" SUBSEP w
		b = "bdwgc" SUBSEP w
		if (!(g in pw) || !(b in pw) || pw[b] <= 0) {
			printf "| %d | %s | %s | (not judged: a run is missing) |\n", w,
				(g in pw) ? pw[g] : "-", (b in pw) ? pw[b] : "-"
			continue
		}
		r = pw[g] / pw[b]
		s = sprintf("%.2fx %s", r, verdict(r >= 1))
		if (!ok[g] || !ok[b])
			s = s " (a check FAILED)"
		printf "| %d | %.1f | %.1f | %s |\n", w, pw[g], pw[b], s
		line[++nl] = sprintf("%s with %d worker%s (%.1f against %.1f MiB/s per worker, %.2fx)",
			verdict(r >= 1), w, w == 1 ? "" : "s", pw[g], pw[b], r)
	}
	print ""
	print "| collector | 1 worker (MiB/s) | 2 workers (MiB/s) | 2 workers / 1 (target for gcmem >= 1.7x) |"
	print "| --- | ---: | ---: | ---: |"
	for (a = 1; a <= 2; a++) {
		c = a == 1 ? "gcmem" : "bdwgc"
		k1 = c SUBSEP 1
		k2 = c SUBSEP 2
		if (!(k1 in rate) || !(k2 in rate) || rate[k1] <= 0) {
			printf "| %s | %s | %s | (not judged: a run is missing) |\n", c,
				(k1 in rate) ? rate[k1] : "-", (k2 in rate) ? rate[k2] : "-"
			continue
		}
		sc[c] = rate[k2] / rate[k1]
		printf "| %s | %.1f | %.1f | %.2fx%s |\n", c, rate[k1], rate[k2],
			sc[c], c == "gcmem" ? " " verdict(sc[c] >= 1.7) : " (no target)"
	}
	print ""
	if (nl)
		printf "- **Mark rate per worker at or above bdwgc'"'"'s:** %s%s.\n", line[1], (nl > 1 ? "; " line[2] : "")
	else
		print "- **Mark rate per worker at or above bdwgc'"'"'s:** not judged (runs missing, see Failures)."
	if ("gcmem" in sc)
		printf "- **2 workers at least 1.7x one:** %s for gcmem (%.2fx); bdwgc scales %s from 1 to 2 markers.\n",
			verdict(sc["gcmem"] >= 1.7), sc["gcmem"],
			("bdwgc" in sc) ? sprintf("%.2fx", sc["bdwgc"]) : "(no figure)"
	else
		print "- **2 workers at least 1.7x one:** not judged (runs missing, see Failures)."
}' "$1"
}

# Lines that say something went wrong, verbatim.
failures()
{
	grep -a -E '^(FORKBENCHFAIL |GCBENCHFAIL |GCBENCH .* CORRUPT|LATENCYFAIL |LATENCY .* CORRUPT|MARKBENCHFAIL |MARKBENCH .* FAILED|BENCHFAIL |BENCHCHECK .* FAIL |# guest: FAIL|# boot: FAIL|# native: )' "$1" || true
}

echo "# Allocation benchmark results"
echo
echo "Generated by \`make bench\` (bench/run.sh, bench/report.sh) on $(date -u '+%Y-%m-%d %H:%M UTC');"
echo "do not edit by hand. How the benchmark works and why it is built this way:"
echo "[README.md](README.md)."
echo
echo "## Environment"
echo
echo "| | |"
echo "| --- | --- |"
echo "| guest kernel | \`${guest_kernel:-unknown}\` (uname -r in the guest), ${guest_cpus:-?} vCPUs, ${guest_mem:-?} MiB RAM (GCMEM_QEMU_MEM=${BENCH_QEMU_MEM:-?}) |"
echo "| QEMU | $qemu, accel **${accel:-unknown}**$([ "${accel:-}" = tcg ] && echo ' (`-accel tcg,thread=multi -cpu max`: KVM does not work on this host)') |"
echo "| host | ${host_cpu:-unknown}, $(nproc) CPUs, kernel $(uname -r); load average before the boot ${BENCH_LOADAVG:-unknown} |"
echo "| source | gcmem $rev (when the run started) |"
echo "| workload | ${allocs:-?} allocations per run (over all threads), median of ${runs:-?} runs each, in ${rounds:-?} rounds in which the allocators take turns; every run in a fresh process |"
echo "| interference | ${BENCH_HOST_OTHER:-not measured} |"
echo "| guest run | boot.sh exit $boot_rc: $(echo "$boot_verdict" | sed 's/^# boot: //' | paste -sd ';' - | sed 's/;/; /g') |"
echo
if [ "${BENCH_HOST_OTHER_PCT:-0}" -ge 10 ]; then
	echo "> **This run was disturbed:** other processes on the host used"
	echo "> ${BENCH_HOST_OTHER_PCT}% of its CPU time while the guest ran (see"
	echo "> interference above). The guest's vCPUs then wait their turn, which"
	echo "> hurts the 2-thread runs and bdwgc's collections most: treat these"
	echo "> figures as rough, and rerun \`make bench\` on an idle host."
	echo
fi
echo "## gcmem against the targets (in the guest)"
echo
echo "The issue's targets: gcmem allocates at least twice as fast as bdwgc"
echo "(GC_MALLOC / GC_MALLOC_ATOMIC with its collector on) and at least as fast"
echo "as glibc malloc+free, with at most one refill ioctl per 256 small"
echo "allocations. gcmem's scanned objects (gcu_malloc) are compared with"
echo "GC_MALLOC, its atomic ones (gcu_malloc_atomic) with GC_MALLOC_ATOMIC;"
echo "both with glibc malloc."
echo
tables "$log" targets
echo
tables "$log" reading
echo
echo "**Read with care.** Nothing stays live in this workload, so both"
echo "collectors run often on a tiny heap (the notes below count the"
echo "collections): gcmem with its default pacing (gcpercent 100, a cycle"
echo "when the heap in use reaches 4 MiB), bdwgc with its own heuristics."
echo "With pacing off (\`gcu_set_gcpercent(-1)\`) and \`GC_disable()\` both"
echo "only grow their heaps, so every object lands in fresh memory the kernel"
echo "has to commit and zero: those rows are shown for comparison, not as the"
echo "targets. glibc malloc+free recycles a 1024-object batch (at most"
echo "128 KiB) through its thread caches; glibc malloc without free is a"
echo "different workload (heap growth, no reuse), shown for scale. Under"
echo "QEMU TCG every figure is slowed, and unevenly (allocation 12-21x, kernel"
echo "entry and page faults differently again): only figures from the same"
echo "guest run compare, and none of them says how fast anything is on"
echo "hardware. Even on an idle host a single-threaded loop here varies by"
echo "up to a third from one run to the next (see the min - max columns:"
echo "TCG, address-space randomisation, the host's neighbours), so a ratio"
echo "within that of a target can land on either side of it in another run."
echo
echo "## All figures (in the guest)"
echo
echo "Millions of allocations per second, over all threads: median of the runs"
echo "and the slowest and fastest. \"kernel\": the share of the runs' CPU time"
echo "spent in the kernel (getrusage; page faults, zeroing, refill ioctls,"
echo "mmap/brk). \"scanned\" objects may hold pointers"
echo "(gcu_malloc, GC_MALLOC); \"atomic\" ones never do (gcu_malloc_atomic,"
echo "GC_MALLOC_ATOMIC). Allocations per refill: the runs' allocations over"
echo "their GCMEM_IOC_REFILL calls (gcu_stats() before and after the timed"
echo "loop)."
echo
tables "$log" all
echo
heapinfo=$(sed -n 's/^BENCHINFO gcmem class=\([0-9]*\) size=\([0-9]*\) npages=\([0-9]*\) objs_per_span=\([0-9]*\)$/\2 B: \3 pages, \4 objects/p' "$log" |
	awk '!seen[$0]++' | paste -sd ';' - | sed 's/;/; /g')
limitinfo=$(sed -n 's/^BENCHINFO gcmem bench_limit_mib=\([0-9]*\)$/\1/p' "$log" | head -n 1)
ioctl_us=$(sed -n 's/^BENCHINFO gcmem stats_ioctl_us=\([0-9.]*\)$/\1/p' "$log" |
	sort -n | sed -n '1p;$p' | uniq | paste -sd '-' - | sed 's/-/ to /')
if [ -n "$heapinfo" ] || [ -n "$limitinfo" ]; then
	echo "gcmem's heap limit for the runs: ${limitinfo:-?} MiB (gcu_set_limit, 3/4 of"
	echo "the guest's RAM). Its spans for the size classes up to 128 bytes (from the"
	echo "control page): ${heapinfo:-none reported}."
	if [ -n "$ioctl_us" ]; then
		echo "A cheap gcmem ioctl (GCMEM_IOC_STATS) takes $ioctl_us us in this guest,"
		echo "a floor under the cost of each refill."
	fi
	echo
fi
echo "## GCBench (in the guest)"
echo
gcb_depth=$(sed -n 's/^GCBENCH .* depth=\([0-9]*\) .*/\1/p' "$log" | head -n 1)
echo "GCBench (binary trees of Ellis, Kovac and Boehm; bench/gcbench.c) at"
echo "stretch depth ${gcb_depth:-?}$([ "${gcb_depth:-}" = 18 ] && echo ' (the published size)'), in the same guest as the figures above,"
echo "one run per configuration in each of the first three rounds: a row is"
echo "the run with the median time (every column from that run), and the"
echo "last columns give every run's time and whether every run's trees"
echo "checked out. gcmem runs with"
echo "\`mark_workers\` 1 and 2 (the module parameter, written before"
echo "\`gcu_init()\`), bdwgc with \`GC_MARKERS\` 1 and 2 (fair configuration as"
echo "above: no interior pointers, roots reset to the data segment,"
echo "\`GC_start_mark_threads()\`), glibc with every short-lived tree freed"
echo "explicitly. Time: the whole run, wall clock. Cycles: gcmem's"
echo "\`gcu_stats().cycles\`, bdwgc's \`GC_get_gc_no()\`. Pauses: gcmem's own"
echo "stop-the-world figures (\`pause_total_ns\`, \`pause_max_ns\`); for bdwgc"
echo "its world stops, \`GC_EVENT_PRE_STOP_WORLD\` to \`GC_EVENT_POST_START_WORLD\`"
echo "(\`GC_set_on_collection_event\`; in stop-the-world mode one a collection,"
echo "its mark; the sweep is lazy, in the allocations that follow,"
echo "and uncounted). Peak heap: gcmem's \`peak_committed\`, bdwgc's"
echo "\`GC_get_heap_size()\` at the end (bdwgc does not return heap here), glibc's"
echo "maximum RSS. Max RSS: \`getrusage()\` ru_maxrss of the process, for all"
echo "three; gcmem's heap counts in it as its committed chunks (since 410416c;"
echo "before, RSS counted none of the memory the module maps)."
echo "gcmem runs a third time, with 2 mark workers in concurrent mode"
echo "(\`GCU_MODE=concurrent\`): one pause a cycle (mark termination and the"
echo "start of the sweep), which both workers mark; the stacks' first scan,"
echo "the mark and the rest of the sweep beside the program, the mark by a"
echo "quarter of the workers (here one) and the threads' assists: the"
echo "kernel's driver runs the pacer's"
echo "cycles, which start a runway before the heap goal, while GCBench's one"
echo "thread goes on allocating, up to the goal. The pause scans again the"
echo "marked objects on the pages the program wrote since the last"
echo "precleaning round (this guest, 6.12, maps the arena with PMDs: a chunk"
echo "written in two rounds running, refilled with live objects, or written"
echo "in the last round is split to pages; a chunk written only before, in"
echo "one round, is scanned again whole)."
echo "bdwgc runs a third time too, with 2 markers in incremental mode"
echo "(\`GC_enable_incremental()\` after \`GC_INIT()\`): the mark in steps"
echo "within allocations, the program's writes tracked by bdwgc's own means."
echo "**What TCG distorts here:** a write fault, a TLB flush and a kernel"
echo "entry cost far more against straight-line code than on hardware, so"
echo "concurrent mode's tracking (faults, zaps) and every refill weigh more"
echo "in its total time than they would natively; loads never overlap, so the"
echo "mark's prefetching (bench-host below) buys nothing in these pauses."
echo
gcb_table "$log"
echo
plot=${BENCH_PLOT:-$here/gc-pauses.png}
if grep -aq '^GCBENCH ' "$log" && gcb_plot "$log" "$plot"; then
	echo "Pause distribution (gcmem and bdwgc, 1 and 2 mark workers; buckets"
	echo "\`[2^i, 2^(i+1))\` microseconds, as gcmem's \`pause_hist\`):"
	echo
	echo "![GCBench pause distribution]($(basename "$plot"))"
else
	echo "(No pause distribution plot: no GCBench histograms in the log, or gnuplot failed.)"
fi
echo
echo "## Latency under a large live heap (in the guest)"
echo
echo "bench/latency.c: a table of live entries (a 64-byte node and its 448-byte"
echo "value, both scanned; the table itself one large scanned object) that two"
echo "threads keep replacing at random, each operation two allocations, filling"
echo "them and a store into the table (every 64th also checks another entry)."
echo "After the table is built, the threads run for the timed part at a steady"
echo "load, 50000 operations a second each, in batches of 64 on schedule (a"
echo "service, not a flat-out loop: a collector that cannot keep up with the"
echo "allocation would make every figure its throughput's). Every operation is"
echo "timed, from its scheduled time when it starts late (so a pause counts in"
echo "every operation it holds up); one that runs longer than 200 us is a stall"
echo "(all of it lost to the program); stall time: theirs in all, and for gcmem,"
echo "in parentheses, that of the stalls that began or ended while a cycle was"
echo "under way. Operation times: over all operations of"
echo "the timed part, which spans the cycles counted. Pauses: gcmem's stop-the-world"
echo "figures (the whole run: the build of the table included in the maximum);"
echo "bdwgc's world stops over the timed part, as for GCBench. MMU: minimum"
echo "mutator utilization, the least share of any window of that length left"
echo "to the program by the stalls, the worse of the two threads. gcmem runs"
echo "concurrent (the default), concurrent with the arena mapped by 4 KiB pages"
echo "(concurrent-pte: the module's \`arena_pmd=0\`; by default 6.12 maps each"
echo "2 MiB chunk with one PMD, whose writes are then tracked by the chunk"
echo "until it is split to pages: written in two precleaning rounds running,"
echo "refilled with live objects, or written in the last round; by pages from"
echo "the start, for more write faults and TLB misses) and stop-the-world,"
echo "bdwgc (2 markers, the fair setup) stop-the-world and incremental. First"
echo "round only. In concurrent mode a quarter of the mark workers (here one)"
echo "mark beside the program, and an allocation that reaches the goal before"
echo "the mark ends helps it and waits: a stall of its thread, not a pause."
echo "**What TCG distorts here:** the 2 ms pause target is a guest figure;"
echo "a pause's rescan of 2 MiB of marked objects costs ~6 ms under TCG (no"
echo "overlapped misses, every access through QEMU's software TLB) and a small"
echo "fraction of that natively; operation times include the guest's vCPUs"
echo "losing the host's cores to QEMU's own threads."
echo
lat_table "$log"
echo
latplot=${BENCH_LATPLOT:-$here/latency-mmu.png}
if grep -aq '^LATMMU ' "$log" && lat_plot "$log" "$latplot"; then
	echo "![Latency benchmark MMU]($(basename "$latplot"))"
else
	echo "(No MMU plot: no LATMMU lines in the log, or gnuplot failed.)"
fi
echo
echo "## Mark throughput (in the guest)"
echo
mark_info=$(grep -a -m 1 '^MARKINFO [a-z]* kernel=' "$log" || true)
mark_v() { printf '%s\n' "$mark_info" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
echo "bench/markbench.c: $(mark_v mib) MiB of live 64-byte objects, linked in"
echo "random order (a seeded shuffle) into $(mark_v lists) lists whose heads sit in one"
echo "heap array, the only root; built with the collector off, then"
echo "$(mark_v collections) full collections forced (\`gcu_collect()\`, \`GC_gcollect()\`) and"
echo "timed; the median is shown, with the slowest and fastest mark. First"
echo "round only, in the same guest as the figures above. gcmem runs with"
echo "\`mark_workers\` 1 and 2, bdwgc with \`GC_MARKERS\` 1 and 2 (configured as"
echo "above); in both, only the mark workers mark (gcmem's collecting thread"
echo "waits, bdwgc's is one of its markers)."
echo
echo "The mark: gcmem's \`mark_total_ns\` (from posting the cycle to the"
echo "workers, root scanning included, to the getfull barrier), bdwgc's"
echo "\`GC_EVENT_MARK_START\` to \`GC_EVENT_MARK_END\` (roots included). Both with"
echo "the world stopped, mark bits cleared before. Rate: the live bytes the"
echo "program holds (objects and the heads array, the same for both) over the"
echo "mark's wall time; per worker: that over the workers. Stop: stopping the"
echo "world. Sweep: gcmem's, inside the pause; bdwgc's \`GC_EVENT_RECLAIM_*\`, with"
echo "the world restarted, which only queues blocks for its lazy sweep. World"
echo "stopped: gcmem's pause, bdwgc's \`GC_EVENT_PRE_STOP_WORLD\` to"
echo "\`GC_EVENT_POST_START_WORLD\`. Whole call: \`gcu_collect()\` or \`GC_gcollect()\`"
echo "timed by the program, the fairest figure for the collection as a whole."
echo "Workers busy: gcmem's \`worker_ns\`, summed over its workers (waiting at the"
echo "barrier included)."
echo
mark_table "$log"
echo
echo "The issue's targets: a mark rate per worker at or above bdwgc's, and 2"
echo "workers marking at least 1.7 times as fast as one."
echo
mark_targets "$log"
echo
echo "Every run then allocates an eighth of the live set anew, scribbles on it,"
echo "and walks every list, checking each object's place and payload (check"
echo "column). Under TCG a random pointer chase is slowed differently from"
echo "straight-line code; the native bdwgc rows below give the scale."
echo "**What TCG distorts here:** it gives independent loads no overlap, so"
echo "the mark loop's prefetch ring and candidate ring (kmod/mark.c), which"
echo "keep several misses in flight, gain nothing here and cost their"
echo "bookkeeping: with one worker the guest mark is ~7% slower with them"
echo "than without (4 interleaved pairs of guest runs at 2316098: medians"
echo "3.36 s against 3.12 s; it was ~25% before a prefetch at greying, which"
echo "the ring made redundant, went), natively ~5x faster. The native"
echo "figures of \`make bench-host\` (below) are the ones that measure the"
echo "mark loop."
echo
echo "## Correctness checks (untimed)"
echo
echo "Before its timed runs each allocator configuration allocates 100000"
echo "objects of the mixed sizes per thread and checks each is non-NULL,"
echo "16-byte aligned and zeroed where promised (gcmem, GC_MALLOC); for gcmem"
echo "also that it lies in the arena and, where GCMEM_IOC_QUERY exists, that"
echo "the kernel sees an allocated object starting there (every 997th object)."
echo "All objects are then filled with a pattern and verified after all"
echo "threads filled theirs (overlapping objects would show)."
echo
echo '```'
grep -a '^BENCHCHECK ' "$log" || echo "(no checks ran)"
echo '```'
echo
if grep -aq '^FORKBENCH ' "$log"; then
	echo "## fork() with a gcmem heap (in the guest)"
	echo
	echo "libgcuser gives a child of \`fork()\` a copy-on-write copy of the"
	echo "heap (bench/forkbench.c): fork() with a child that exits at once,"
	echo "fork() with a child that execs \`/bin/true\`, and \`posix_spawn()\` of"
	echo "\`/bin/true\` (no fork handlers), for live heaps of 1 KiB objects;"
	echo "then a pass writing a word of every object after a fork, with the"
	echo "child alive (every chunk is copied for the parent) and with the child"
	echo "gone (no copy, the faults that map the chunks writable again). Each"
	echo "figure is the median over the rounds of the median of 7 runs. fork's"
	echo "cost per MiB is the difference with the empty heap; a copy's is the"
	echo "difference of the two write passes. Under TCG copying memory costs"
	echo "far more than natively (a few hundred MiB/s here)."
	echo
	echo "| live MiB | committed MiB | fork ms | fork+exec ms | posix_spawn ms | fork ms per committed MiB | write pass, child alive ms | chunks copied | write pass, child gone ms | copy ms per MiB |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	# Per heap size, the median over the rounds of each figure; the
	# empty heap's row is the baseline of the per-MiB cost.
	awk 'function med(a, k, n,   i, j, t, v) {
		n = cnt[k]
		for (i = 1; i <= n; i++) v[i] = a[k, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		return v[int((n + 1) / 2)]
	}
	$1 == "FORKBENCH" {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		m = v["live_mib"]; c = ++cnt[m]
		fork[m, c] = v["fork_ms"]; exe[m, c] = v["exec_ms"]
		spawn[m, c] = v["spawn_ms"]; com[m, c] = v["committed_mib"]
		alive[m, c] = v["alive_ms"]; after[m, c] = v["after_ms"]
		copies[m, c] = v["copies"]
		if (!(m in seen)) { order[n++] = m; seen[m] = 1 }
	}
	END {
		base = med(fork, order[0])
		for (i = 0; i < n; i++) {
			m = order[i]; f = med(fork, m); cm = med(com, m)
			a = med(alive, m); w = med(after, m); cp = med(copies, m)
			per = cm > 0 && i > 0 ? sprintf("%.2f", (f - base) / cm) : "-"
			cper = cp > 0 ? sprintf("%.2f", (a - w) / (2 * cp)) : "-"
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			       m, cm, f, med(exe, m), med(spawn, m), per, a, cp,
			       w, cper
		}
	}' "$log"
	echo
fi
echo "## Failures"
echo
f=$(failures "$log")
if [ -n "$native" ] && [ -r "$native" ]; then
	nf=$(failures "$native")
	[ -z "$nf" ] || f=$(printf '%s\n%s' "$f" "$nf")
fi
if [ -z "$f" ]; then
	echo "None."
else
	echo '```'
	printf '%s\n' "$f"
	echo '```'
fi
if [ -n "$native" ] && [ -r "$native" ] && grep -aq '^BENCH ' "$native"; then
	echo
	echo "## bdwgc and glibc natively on the host (for scale)"
	echo
	echo "The same binaries and parameters run directly on the host ($(nproc)"
	echo "CPUs, kernel $(uname -r)), where gcmem cannot run (no module for this"
	echo "kernel). Only to show how unevenly TCG slows each allocator: the"
	echo "ratios between these rows and the guest's rows differ per allocator."
	echo
	tables "$native" all
fi
if [ -n "$native" ] && [ -r "$native" ] && grep -aq '^MARKBENCH ' "$native"; then
	echo
	echo "Mark throughput of bdwgc natively on the host, the same parameters:"
	echo
	mark_table "$native"
fi
# The native block of `make bench-host` (bench/host/run.sh), kept as the
# previous report had it.
if [ -n "${BENCH_PREVIOUS:-}" ] && [ -r "$BENCH_PREVIOUS" ] &&
   grep -q '^<!-- bench-host begin' "$BENCH_PREVIOUS"; then
	echo
	sed -n '/^<!-- bench-host begin/,/^<!-- bench-host end/p' "$BENCH_PREVIOUS"
fi
echo
echo "## Commands"
echo
echo "\`make bench\` from the top of the tree runs \`make deps\`, \`make benches\`"
echo "(the static binaries, see the Makefile) and \`bench/run.sh\`, which ran:"
echo
echo '```'
if [ -n "${BENCH_COMMANDS:-}" ] && [ -r "$BENCH_COMMANDS" ]; then
	cat "$BENCH_COMMANDS"
else
	echo "(not recorded)"
fi
echo "bench/report.sh \$BUILD/bench/console.log > bench/RESULTS.md"
echo '```'
echo
echo "Build lines of the binaries (\`make -n benches\` shows them):"
echo
echo '```'
make -s -n -B -C "$here/.." benches 2>/dev/null | grep -E -- '-DBENCH_' |
	sed -e "s|$here/..|.|g" -e "s|$(cd "$here/.." && pwd)|.|g" || echo "(make -n failed)"
echo '```'
