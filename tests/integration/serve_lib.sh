# tests/integration/serve_lib.sh -- for the tests of `sluice serve`: the
# demo's exchange $X (made in $D, whose parties' client certificates are
# $D/NAME.crt and $D/NAME.key), a daemon of it on a free port, and curl with
# one of the certificates.  Sourced after lib.sh, with $SLUICE and $T set.
D="$T/demo"
"$SLUICE" demo --dir "$D" --rows 20000 >"$T/demo.out" 2>&1 || fail "demo: $(tail -n 3 "$T/demo.out")"
X="$D/exchange"
CA="$X/tls/ca.crt"

# start [OPTIONS...]: a daemon on a free port; $PORT and $PID; its output in $T/serve.out.
start() {
	rm -f "$T/port"
	"$SLUICE" -d "$X" serve --listen 127.0.0.1:0 --ready-file "$T/port" --log "$T/serve.log" "$@" >"$T/serve.out" &
	PID=$!
	i=0
	while [ ! -s "$T/port" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "serve did not start: $(tail -n 5 "$T/serve.log")"
		kill -0 $PID 2>/dev/null || fail "serve exited: $(tail -n 5 "$T/serve.log")"
		sleep 0.1
	done
	PORT=$(cat "$T/port")
}
stop() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID"
	_rc=$?
	[ $_rc -eq 0 ] || fail "serve exited $_rc after SIGTERM: $(tail -n 5 "$T/serve.log")"
}
# api PARTY METHOD PATH [BODY [CURL-ARGS...]]: the answer in $OUT, the status in $STATUS.
api() {
	_who=$1 _m=$2 _p=$3
	shift 3
	_body=
	if [ $# -gt 0 ]; then
		_body=$1
		shift
	fi
	LAST_CMD="$_who $_m $_p $_body"
	if [ -n "$_body" ]; then
		STATUS=$(curl -sS --cacert "$CA" --cert "$D/$_who.crt" --key "$D/$_who.key" -X "$_m" \
			-H 'Content-Type: application/json' --data-binary "$_body" -o "$OUT" -D "$T/.hdr" \
			-w '%{http_code}' "$@" "https://127.0.0.1:$PORT$_p" 2>"$ERR")
	else
		STATUS=$(curl -sS --cacert "$CA" --cert "$D/$_who.crt" --key "$D/$_who.key" -X "$_m" \
			-o "$OUT" -D "$T/.hdr" -w '%{http_code}' "$@" "https://127.0.0.1:$PORT$_p" 2>"$ERR")
	fi
}
# expect_status PARTY METHOD PATH WANT [BODY [CURL-ARGS...]]
expect_status() {
	_want=$4
	_a=$1 _b=$2 _c=$3
	shift 4
	api "$_a" "$_b" "$_c" "$@"
	[ "$STATUS" = "$_want" ] || fail "$_a $_b $_c: status $STATUS, want $_want"
	ok "$_a $_b $_c -> $_want"
}
