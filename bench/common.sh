# bench/common.sh -- helpers the benchmark scripts share; sourced, not run.
# Expects $B (the run's scratch directory) and the source tree as cwd.

# DuckDB, for the ratios measured in the same run: bench/package.json declares
# @duckdb/node-api; npm installs it into bench/node_modules the first time.  If
# node, npm or the install fails, DUCKDB_WHY says why and the rest goes on.
duckdb_ready() {
	DUCKDB_WHY=
	if ! command -v node >/dev/null 2>&1; then DUCKDB_WHY="node not found"; return 1; fi
	[ -d bench/node_modules/@duckdb/node-api ] && return 0
	if ! command -v npm >/dev/null 2>&1; then DUCKDB_WHY="npm not found"; return 1; fi
	echo "installing @duckdb/node-api from bench/package.json (npm install --prefix bench)"
	if ! npm install --prefix bench --no-audit --no-fund --loglevel=error >"$B/npm.log" 2>&1; then
		DUCKDB_WHY="npm install --prefix bench failed: $(grep -m 1 -i "err" "$B/npm.log" | cut -c 1-160)"
		return 1
	fi
	[ -d bench/node_modules/@duckdb/node-api ] || { DUCKDB_WHY="npm install gave no bench/node_modules/@duckdb/node-api"; return 1; }
}

# faster SLUICE PEER: which of two times is smaller, and by how much.
faster() { awk -v s="$1" -v d="$2" 'BEGIN { if (s <= d) printf "sluice is %.2fx faster", d / s; else printf "DuckDB is %.2fx faster", s / d }'; }

# median of the numbers on stdin, one per line.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
