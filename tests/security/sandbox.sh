#!/bin/sh
# The sandbox attacked: a compromised query worker (tests/sluice-worker-test,
# a query's LIMIT 9101.. choosing the attack) tries, after its scan and thus
# after confinement, what it must not do: open the exchange's files, reach
# the network, run programs, make processes, signal others, regain
# privileges, reach kernel interfaces a scan never needs, map executable
# memory, exhaust memory or time, and send the broker bad frames or flood
# its standard error.  Each runs through the daemon (`sluice serve`), and
# each must end in a killed or refused job, a clear error to the buyer, a
# query.failed event in the audit log with the reason, nothing released or
# charged, and a daemon that answers the next honest query.  The table of
# what happened is printed at the end (tests/README.md).
. "${top_srcdir:-.}/tests/integration/lib.sh"
need curl
FIXTURE="$top_builddir/tests/sluice-worker-test"
[ -x "$FIXTURE" ] || fail "$FIXTURE is not built"
. "$top_srcdir/tests/integration/serve_lib.sh"
trap 'kill -KILL $PID 2>/dev/null; rm -rf "$T"' EXIT

# The attacks in the order of abuse_probes[] in tests/worker/probes.c
# (LIMIT 9101 is the first), each with how it must end:
#   sigsys   killed by the seccomp filter
#   refused  the call failed (the worker says why in worker.log), the job failed
#   cpu      killed at the contract's CPU limit
#   crashed  killed by the signal it raised
#   protocol the broker refused its frames
#   capped   the broker kept the start of its standard error, dropped the rest
# alloc touches memory until malloc fails at the address-space limit or the
# CPU limit ends it, whichever comes first on the machine: either contains it.
ATTACKS="open:sigsys write-file:sigsys stat:sigsys open-db:sigsys
open-master-key:sigsys open-tls-key:sigsys open-other-store:sigsys
open-worker-log:sigsys open-own-store-write:sigsys open-shadow:sigsys
proc-self-maps:sigsys proc-1-environ:sigsys proc-self-mem:sigsys socket:sigsys
socketpair:sigsys execve:sigsys memfd:sigsys fork:sigsys vfork:sigsys
clone:sigsys clone3:refused thread-fork:sigsys thread-open:sigsys
thread-execve:sigsys thread-clone-newuser:sigsys ptrace:sigsys kill:sigsys
kill-group:sigsys kill-all:sigsys setuid-root:sigsys setresuid:sigsys
capset:sigsys unshare:sigsys mount:sigsys keyctl:sigsys io_uring:sigsys
userfaultfd:sigsys perf_event_open:sigsys bpf:sigsys mmap-exec:sigsys
mprotect-exec:sigsys mmap-shared:sigsys madvise-bad:sigsys int80:sigsys
x32:sigsys mmap-huge:refused alloc:refused/cpu loop:cpu abort:crashed
segv:crashed garbage:protocol huge-frame:protocol lie-frame:protocol
frame-unknown:protocol stderr-flood:capped"

# A contract of our own for the buyer: a 1-second CPU limit, so the endless
# loop ends quickly, and min_group 2, so that honest answers have rows.
python3 - "$EX/claims.terms.json" "$T/terms.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["release"] = {"mode": "threshold", "min_group": 2}
t["max_query_seconds"] = 1
t["query_quota"] = 100000
json.dump(t, open(sys.argv[2], "w"))
PY
expect_ok "$SLUICE" -d "$X" contract offer --product claims --buyer pacific-insurance \
	--terms "$T/terms.json" --out "$T/c.json"
for k in city-health-bureau ningbo-data-ops acme-merchant pacific-insurance; do
	expect_ok "$SLUICE" contract sign "$T/c.json" --identity "$D/$k.key"
done
expect_ok "$SLUICE" -d "$X" contract submit "$T/c.json"
C=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/c.json")

count() { sql "$X/sluice.db" "$1"; }
txns() { count "SELECT count(*) FROM ledger_transactions"; }
failed() { count "SELECT count(*) FROM audit_events WHERE action = 'query.failed'"; }
last_reason() { count "SELECT json_extract(event, '\$.details.reason') FROM audit_events WHERE action = 'query.failed' ORDER BY rowid DESC LIMIT 1"; }
query() { # LIMIT: POST /v1/queries as the buyer, LIMIT appended when not empty
	_sql="SELECT region, COUNT(*) FROM claims GROUP BY region${1:+ LIMIT $1}"
	api pacific-insurance POST /v1/queries "{\"contract\":\"$C\",\"sql\":\"$_sql\"}"
}

SLUICE_WORKER="$FIXTURE" start --workers 2 --max-jobs 2
export SLUICE_WORKER
query ""
[ "$STATUS" = 201 ] || fail "an honest query before the attacks: status $STATUS: $(cat "$OUT")"

n=9101 rows="" tried=0
for a in $ATTACKS; do
	name=${a%%:*} want=${a#*:}
	t0=$(txns) f0=$(failed) log0=$(wc -c <"$X/worker.log")
	query $n
	n=$((n + 1))
	tried=$((tried + 1))
	[ "$STATUS" != 201 ] || fail "$name: the attack was answered 201: $(cat "$OUT")"
	msg=$(json 'd["error"]["message"]')
	case $msg in "<json error"*) fail "$name: status $STATUS, no JSON error: $(cat "$OUT")" ;; esac
	[ -n "$msg" ] || fail "$name: an empty error message"
	if grep -q 'LEAKED\|"rows"' "$OUT"; then fail "$name: the answer holds what the worker sent: $(cat "$OUT")"; fi
	[ "$(failed)" = $((f0 + 1)) ] || fail "$name: not audited as query.failed"
	reason=$(last_reason)
	[ "$(txns)" = "$t0" ] || fail "$name: charged"
	wlog=$(tail -c +$((log0 + 1)) "$X/worker.log")
	case $wlog in *"probe ESCAPED"*) fail "$name: escaped: $(echo "$wlog" | grep ESCAPED)" ;; esac
	case $reason in
	*SIGSYS*) got=sigsys ;;
	*"CPU limit"* | *wall-clock*) got=cpu ;;
	*"killed by SIG"*) got=crashed ;;
	*"not read as frames"* | *frame* | *protocol* | *malformed*) got=protocol ;;
	*) case $wlog in *"further output dropped"*) got=capped ;; *"probe refused"* | *"probe answered"* | *"out of memory"* | *"flooded"*) got=refused ;; *) got="?" ;; esac ;;
	esac
	case /$want/ in */$got/*) ;; *) false ;; esac || fail "$name: ended '$got' ($reason), want '$want'; worker.log: $(echo "$wlog" | tail -n 3)"
	how=$(echo "$wlog" | sed -n 's/.*probe refused: [^:]*: //p; s/.*probe answered: //p; s/.*(further output dropped)/64 MiB written, the rest dropped/p' | head -n 1)
	rows="$rows$(printf '%-22s %-9s %-4s %s' "$name" "$got" "$STATUS" "${how:-$reason}" | cut -c 1-110)
"
	ok "$name: $got, $STATUS \"$msg\", audited"
	# The daemon carries on: the next honest query is answered and charged.
	query ""
	[ "$STATUS" = 201 ] || fail "after $name, an honest query: status $STATUS: $(cat "$OUT")"
	[ "$(txns)" = $((t0 + 1)) ] || fail "after $name, the honest query was not charged once"
done
[ "$tried" -ge 30 ] || fail "only $tried attacks"
check_eq "worker.log stays capped through the floods" "$(($(wc -c <"$X/worker.log") < 4194304))" 1
expect_ok "$SLUICE" -d "$X" ledger verify
stop
echo
echo "$tried attacks after confinement, each contained, audited, and followed by an honest answer:"
printf '%-22s %-9s %-4s %s\n' attack ended http "the worker's or the broker's account"
printf '%s' "$rows"
pass
