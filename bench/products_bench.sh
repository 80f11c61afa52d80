#!/bin/sh
# bench/products_bench.sh -- issue 17's last target: `GET /v1/products` over TLS 1.3
# keep-alive on loopback, against nginx (the Debian package, one worker) serving the same
# JSON as a static file over TLS 1.3, with the same load generator in the same run (target:
# sluice at least 0.5x nginx's requests/s).
#
# Every route of `sluice serve` needs a client certificate and wrk cannot present one, so the
# load comes from bench/https_load (wrk-like: keep-alive, one request in flight per
# connection).  nginx uses the exchange's own server certificate and key and asks for and
# verifies the client certificate against the platform CA, as sluice does; a second nginx
# server (same process, another port) does without client verification.  When wrk is
# installed it is run against that one as well, which calibrates https_load against wrk.
# Each run measures every server once (sluice and nginx alternating which goes first); the
# medians and the ratio are printed last.
# Usage: bench/products_bench.sh [SECONDS] [RUNS] [CONNS]   (from the build tree, after make bench)
# With SLUICE_PERF=FILE (and perf installed), one more measurement of sluice follows the runs
# under `perf record --call-graph dwarf -p` of the daemon, saved to FILE, and its top symbols are printed.
set -eu
SECONDS_=${1:-5}
RUNS=${2:-5}
CONNS=${3:-2}
cd "$(dirname "$0")/.."
NGINX=$(command -v nginx 2>/dev/null || true)
if [ -z "$NGINX" ] && [ -x /usr/sbin/nginx ]; then NGINX=/usr/sbin/nginx; fi
if [ -z "$NGINX" ]; then
	echo "products_bench: nginx is not installed (apt-get install nginx): skipped"
	exit 0
fi
if [ ! -x bench/https_load ] || [ ! -x bench/gen ]; then
	echo "products_bench: bench/https_load or bench/gen missing: run make bench first" >&2
	exit 1
fi
B=$(mktemp -d /tmp/sluice-productsbench.XXXXXX)
PID=
NPID=
stop() {
	for p in $PID $NPID; do kill "$p" 2>/dev/null || true; done
	for p in $PID $NPID; do wait "$p" 2>/dev/null || true; done
	rm -rf "$B"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP
. bench/common.sh
X="$B/x"
S="./sluice -d $X"

# An exchange with eight products, half of them with two versions: a catalog of a few KB.
./bench/gen claims --rows 10 --seed 7 --format csv --out "$B/c.csv"
./sluice init "$X" >/dev/null
$S party add merchant --role merchant --out "$B/m.key" >/dev/null
$S party add buyer --role buyer --out "$B/b.key" >/dev/null
for n in 1 2 3 4 5 6 7 8; do
	sed "s/\"name\": *\"claims\"/\"name\": \"claims_$n\"/" examples/claims.schema.json >"$B/s.json"
	$S product add "claims_$n" --schema "$B/s.json" --merchant merchant >/dev/null
	$S product load "claims_$n" "$B/c.csv" >/dev/null
	if [ "$n" -le 4 ]; then $S product load "claims_$n" "$B/c.csv" >/dev/null; fi
done

$S serve --listen 127.0.0.1:0 --ready-file "$B/port" --log "$B/serve.log" &
PID=$!
i=0
while [ ! -s "$B/port" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$PID" 2>/dev/null; then
		echo "products_bench: sluice serve did not start" >&2
		cat "$B/serve.log" >&2 2>/dev/null || true
		exit 1
	fi
	sleep 0.1
done
P=$(cat "$B/port")
CA="$X/tls/ca.crt"
CERT="$B/b.crt"
KEY="$B/b.key"

# The static copy nginx serves: the daemon's own answer, byte for byte.
mkdir -p "$B/www/v1" "$B/ngx/tmp"
curl -sS --fail --cacert "$CA" --cert "$CERT" --key "$KEY" -o "$B/www/v1/products" \
	"https://127.0.0.1:$P/v1/products"
SIZE=$(wc -c <"$B/www/v1/products" | tr -d ' ')

# Two free ports for nginx: with client verification (NV) and without (NO).
PORTS=$(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
NV=${PORTS% *}
NO=${PORTS#* }
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;" # the worker reads $B, which is mode 0700
cat >"$B/ngx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
$USER_LINE
pid $B/ngx/nginx.pid;
error_log $B/ngx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	default_type application/json;
	keepalive_requests 1000000;
	keepalive_timeout 75s;
	client_body_temp_path $B/ngx/tmp/body;
	proxy_temp_path $B/ngx/tmp/proxy;
	fastcgi_temp_path $B/ngx/tmp/fastcgi;
	uwsgi_temp_path $B/ngx/tmp/uwsgi;
	scgi_temp_path $B/ngx/tmp/scgi;
	ssl_protocols TLSv1.3;
	ssl_certificate $X/tls/server.crt;
	ssl_certificate_key $X/tls/server.key;
	ssl_session_tickets off;
	root $B/www;
	server {
		listen 127.0.0.1:$NV ssl;
		ssl_verify_client on;
		ssl_client_certificate $CA;
		ssl_verify_depth 2;
	}
	server {
		listen 127.0.0.1:$NO ssl;
	}
}
CONF
if ! "$NGINX" -t -q -e "$B/ngx/error.log" -p "$B/ngx" -c "$B/ngx/nginx.conf" 2>"$B/ngx/t.err"; then
	echo "products_bench: nginx refuses the configuration:" >&2
	cat "$B/ngx/t.err" >&2
	exit 1
fi
"$NGINX" -e "$B/ngx/error.log" -p "$B/ngx" -c "$B/ngx/nginx.conf" &
NPID=$!
i=0
until curl -sS --fail --cacert "$CA" --cert "$CERT" --key "$KEY" -o "$B/ngx.body" \
	"https://127.0.0.1:$NV/v1/products" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$NPID" 2>/dev/null; then
		echo "products_bench: nginx did not start" >&2
		cat "$B/ngx/error.log" >&2 2>/dev/null || true
		exit 1
	fi
	sleep 0.1
done
cmp -s "$B/ngx.body" "$B/www/v1/products" || { echo "products_bench: nginx serves another body" >&2; exit 1; }

WRK=$(command -v wrk 2>/dev/null || true)
echo "GET /v1/products: $SIZE bytes of JSON, $CONNS connections, ${SECONDS_}s a measurement, $RUNS runs"
echo "sluice serve on 127.0.0.1:$P; nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), one worker, on 127.0.0.1:$NV (mTLS) and 127.0.0.1:$NO (no client certificate)"
[ -z "$WRK" ] && echo "wrk not installed: no calibration against wrk"

load() { # PORT [--cert C --key K]
	port=$1
	shift
	./bench/https_load --host 127.0.0.1 --port "$port" --path /v1/products --ca "$CA" "$@" \
		--connections "$CONNS" --threads 1 --duration "$SECONDS_" || true
}
field() { echo "$1" | sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p"; }
check() { # NAME JSON
	e=$(field "$2" errors)
	x=$(field "$2" non2xx)
	b=$(field "$2" body_bytes)
	[ "${e:-1}" = 0 ] && [ "${x:-1}" = 0 ] && [ "${b:-0}" = "$SIZE" ] ||
		echo "  warning: $1: errors ${e:-?}, non-2xx ${x:-?}, body ${b:-?} bytes (expected $SIZE)"
}
i=1
while [ "$i" -le "$RUNS" ]; do
	if [ $((i % 2)) = 1 ]; then
		s=$(load "$P" --cert "$CERT" --key "$KEY")
		n=$(load "$NV" --cert "$CERT" --key "$KEY")
	else
		n=$(load "$NV" --cert "$CERT" --key "$KEY")
		s=$(load "$P" --cert "$CERT" --key "$KEY")
	fi
	o=$(load "$NO")
	echo "run $i: sluice serve (mTLS):  $s"
	check sluice "$s"
	echo "run $i: nginx (mTLS):         $n"
	check "nginx mTLS" "$n"
	echo "run $i: nginx (no client cert): $o"
	check "nginx" "$o"
	field "$s" per_second >>"$B/s.rate"
	field "$s" p50_ms >>"$B/s.p50"
	field "$s" p99_ms >>"$B/s.p99"
	field "$n" per_second >>"$B/n.rate"
	field "$n" p50_ms >>"$B/n.p50"
	field "$n" p99_ms >>"$B/n.p99"
	field "$o" per_second >>"$B/o.rate"
	awk -v s="$(field "$s" per_second)" -v n="$(field "$n" per_second)" \
		'BEGIN { printf "%.3f\n", (n > 0) ? s / n : 0 }' >>"$B/ratio"
	echo "run $i: sluice/nginx (mTLS): $(tail -n 1 "$B/ratio")"
	if [ -n "$WRK" ]; then
		w=$("$WRK" -t1 -c"$CONNS" -d"${SECONDS_}s" "https://127.0.0.1:$NO/v1/products" 2>&1 || true)
		wr=$(echo "$w" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
		cal=$(awk -v w="${wr:-0}" -v o="$(field "$o" per_second)" 'BEGIN { if (w > 0) printf " (https_load/wrk %.3f)", o / w }')
		echo "run $i: wrk -t1 -c$CONNS -d${SECONDS_}s, nginx (no client cert): ${wr:-?} requests/s$cal$(echo "$w" | grep -i 'non-2xx\|errors' | sed 's/^ */; /' | tr -d '\n')"
		if [ -n "$wr" ]; then echo "$wr" >>"$B/w.rate"; fi
	fi
	i=$((i + 1))
done
SR=$(median <"$B/s.rate")
NR=$(median <"$B/n.rate")
OR=$(median <"$B/o.rate")
echo "medians of $RUNS runs, $CONNS connections:"
echo "  sluice serve (mTLS):           $SR requests/s, p50 $(median <"$B/s.p50") ms, p99 $(median <"$B/s.p99") ms"
echo "  nginx (mTLS):                  $NR requests/s, p50 $(median <"$B/n.p50") ms, p99 $(median <"$B/n.p99") ms"
echo "  nginx (no client certificate): $OR requests/s"
awk -v s="$SR" -v n="$NR" -v o="$OR" -v r="$(median <"$B/ratio")" 'BEGIN {
	printf "  sluice/nginx (mTLS): %.3f (median of the runs'"'"' ratios %.3f; target: at least 0.5)\n", s / n, r
	printf "  sluice/nginx (no client certificate): %.3f\n", s / o }'
if [ -s "$B/w.rate" ]; then
	WR=$(median <"$B/w.rate")
	awk -v w="$WR" -v o="$OR" 'BEGIN {
		printf "  calibration, nginx without client certificate: wrk %.1f requests/s, https_load %.1f (https_load/wrk %.3f)\n", w, o, o / w }'
fi
if [ -n "${SLUICE_PERF:-}" ]; then
	if command -v perf >/dev/null 2>&1; then
		perf record -q --call-graph dwarf,16384 -o "$SLUICE_PERF" -p "$PID" -- sleep "$SECONDS_" 2>"$B/perf.err" &
		PERF=$!
		sleep 0.2
		echo "under perf: sluice serve (mTLS): $(load "$P" --cert "$CERT" --key "$KEY")"
		wait "$PERF" || cat "$B/perf.err" >&2
		echo "perf record --call-graph dwarf -p (sluice serve), top symbols (self):"
		perf report -i "$SLUICE_PERF" --no-children --sort symbol --stdio -g none 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -n 25
	else
		echo "SLUICE_PERF set but perf is not installed"
	fi
fi
