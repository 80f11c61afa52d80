#!/bin/sh
# bench/rekey_bench.sh -- issue 19's key rotation on threads: `sluice keys
# rotate-product` of ROWS generated claims (default 5,000,000), on one worker
# thread and on two ($SLUICE_THREADS, the broker's setting), alternating, in
# the same run, for each suite (intl: AES-256-GCM where the CPU has AES-NI;
# gm: SM4-CTR with HMAC-SM3); prints every run, the medians and the speed-up.
# Each rotation re-seals the latest version, so each run reads what the last
# one wrote.
# Usage: bench/rekey_bench.sh [ROWS] [RUNS]     (from the build tree, after make bench)
set -eu
ROWS=${1:-5000000}
RUNS=${2:-5}
cd "$(dirname "$0")/.."
B=$(mktemp -d /tmp/sluice-rekeybench.XXXXXX)
trap 'rm -rf "$B"' EXIT
. bench/common.sh
./bench/gen claims --rows "$ROWS" --seed 7 --format csv --out "$B/claims.csv"
now() { date +%s%N; }
ms() { echo "scale=2; ($2 - $1) / 1000000" | bc; }
for suite in intl gm; do
	S="./sluice -d $B/$suite"
	./sluice init --suite "$suite" "$B/$suite" >/dev/null
	$S party add merchant --role merchant --out "$B/$suite-m.key" >/dev/null
	$S product add claims --schema examples/claims.schema.json --merchant merchant >/dev/null
	$S product load claims "$B/claims.csv" >/dev/null
	i=1
	while [ "$i" -le "$RUNS" ]; do
		for t in 1 2; do
			t0=$(now); SLUICE_THREADS=$t $S keys rotate-product claims >/dev/null; t1=$(now)
			ms "$t0" "$t1" >>"$B/$suite-t$t.ms"
		done
		echo "$suite run $i: 1 thread $(tail -n 1 "$B/$suite-t1.ms") ms, 2 threads $(tail -n 1 "$B/$suite-t2.ms") ms"
		i=$((i + 1))
	done
	M1=$(median <"$B/$suite-t1.ms"); M2=$(median <"$B/$suite-t2.ms")
	echo "$suite: rotate-product of $ROWS rows ($($S product show claims | awk '$1 == "1" {print $5}') sealed bytes): 1 thread median $M1 ms, 2 threads median $M2 ms; $(echo "scale=2; $M1 / $M2" | bc)x"
	rm -rf "$B/$suite"
done
