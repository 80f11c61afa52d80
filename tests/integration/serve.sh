#!/bin/sh
# sluice serve: the HTTPS API on a loopback port, driven with curl and the
# client certificates of `party add` (the demo's parties): every route for
# the roles it lists and refuses, cross-party reads answered 404, bad input,
# TLS refusals, the job limit, a slowloris client, many connections, and a
# SIGTERM during running queries that leaves the ledger and the audit log whole.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need curl
need openssl
need faketime

. "${top_srcdir:-.}/tests/integration/serve_lib.sh"
cid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$D/$1.contract.json"; }
C_DS_IMG=$(cid deepsight-ai-imaging)
C_PI=$(cid pacific-insurance-claims)
trap 'kill -KILL $PID 2>/dev/null; pkill -KILL -f "$T/later serve" 2>/dev/null; rm -rf "$T"' EXIT

start --workers 2 --max-jobs 2 --request-timeout 2

note "every role reaches the routes its table lists"
for p in city-health-bureau ningbo-data-ops acme-merchant deepsight-ai pacific-insurance audit-office; do
	expect_status $p GET /v1/health 200
	expect_status $p GET /v1/products 200
	json_eq "$p sees the catalog" 'sorted(p["name"] for p in d["products"])' '["claims","imaging"]'
done
expect_status deepsight-ai GET /v1/products/claims 200
json_eq "a product's page has its schema" '"columns" in json.dumps(d)' 'true'
expect_status deepsight-ai GET /v1/products/nope 404
json_eq "a missing product's error" 'd["error"]["code"]' 'notfound'

note "a merchant lists a product"
NEWP=$(python3 -c 'import json,sys; s = json.load(open(sys.argv[1])); s["name"] = "claims2"; print(json.dumps({"name": "claims2", "schema": s, "holder": "city-health-bureau", "operator": "ningbo-data-ops"}))' "$D/claims.schema.json")
expect_status deepsight-ai POST /v1/products 403 "$NEWP"
expect_status acme-merchant POST /v1/products 400 "$(echo "$NEWP" | sed 's/"name": "claims2", "schema"/"name": "claims3", "schema"/')"
json_eq "a schema naming another product" 'd["error"]["field"]' 'schema'
expect_status acme-merchant POST /v1/products 400 '{"name":"claims2","schema":"x"}'
expect_status acme-merchant POST /v1/products 400 "$(echo "$NEWP" | sed 's/"name": "claims2", "schema"/"name": "Bad Name", "schema"/')"
json_eq "a bad product name is the name's fault" 'd["error"]["field"]' 'name'
expect_status acme-merchant POST /v1/products 201 "$NEWP"
json_eq "the new product's merchant is the caller" 'd["merchant"]' 'acme-merchant'
expect_status acme-merchant POST /v1/products 409 "$NEWP"
expect_status deepsight-ai GET /v1/products 200
json_eq "it is in the catalog" 'sorted(p["name"] for p in d["products"])' '["claims","claims2","imaging"]'
# The catalog's answer is kept between requests: another process's change must still show.
head -n 51 "$D/claims.csv" >"$T/claims2.csv"
"$SLUICE" -d "$X" product load claims2 "$T/claims2.csv" >"$T/load2.out" 2>&1 || fail "product load claims2: $(cat "$T/load2.out")"
expect_status deepsight-ai GET /v1/products 200
json_eq "a load by the CLI is in the catalog" '[[v["rows"] for v in p["versions"]] for p in d["products"] if p["name"] == "claims2"]' '[[50]]'

note "contracts: each party sees its own"
expect_status deepsight-ai GET /v1/contracts 200
json_eq "deepsight-ai's contracts" 'sorted(c["buyer"] for c in d["contracts"])' '["deepsight-ai","deepsight-ai"]'
expect_status pacific-insurance GET /v1/contracts 200
json_eq "pacific-insurance's contracts" '[c["id"] for c in d["contracts"]]' "[\"$C_PI\"]"
expect_status audit-office GET /v1/contracts 200
json_eq "the auditor sees all" 'len(d["contracts"])' '3'
expect_status pacific-insurance GET "/v1/contracts/$C_PI" 200
json_eq "the contract document" 'd["id"]' "$C_PI"
expect_status deepsight-ai GET "/v1/contracts/$C_PI" 404
json_eq "another buyer's contract does not exist for deepsight-ai" 'd["error"]["code"]' 'notfound'
expect_status deepsight-ai GET "/v1/contracts/c_00000000000000000000000000000000" 404
expect_status deepsight-ai GET "/v1/contracts/$C_DS_IMG/budget" 200
json_eq "a dp contract's budget" 'd["mechanism"]' 'laplace'
expect_status pacific-insurance GET "/v1/contracts/$C_DS_IMG/budget" 404
expect_status audit-office POST "/v1/contracts/$C_PI/revoke" 403 '{"reason":"x"}'
expect_status deepsight-ai POST "/v1/contracts/$C_PI/revoke" 404 '{"reason":"x"}'
expect_status pacific-insurance GET "/v1/contracts/$C_PI" 200
json_eq "a refused revoke changes nothing" 'd["state"]' 'active'

note "a contract offered, signed offline and submitted over HTTPS"
OFFER=$(python3 -c 'import json,sys; print(json.dumps({"product": "claims", "buyer": "deepsight-ai", "terms": json.load(open(sys.argv[1]))}))' "$D/insurer.terms.json")
expect_status deepsight-ai POST /v1/contracts 403 "$OFFER"
expect_status acme-merchant POST /v1/contracts 404 "$(echo "$OFFER" | sed 's/"claims"/"nope"/')"
expect_status acme-merchant POST /v1/contracts 400 '{"product":"claims","buyer":"deepsight-ai","terms":"x"}'
json_eq "terms must be an object" 'd["error"]["field"]' 'terms'
expect_status acme-merchant POST /v1/contracts 201 "$OFFER"
cp "$OUT" "$T/new.contract.json"
C_NEW=$(json 'd["id"]')
for p in city-health-bureau ningbo-data-ops acme-merchant deepsight-ai; do
	expect_ok "$SLUICE" contract sign "$T/new.contract.json" --identity "$D/$p.key"
done
expect_status pacific-insurance POST "/v1/contracts/$C_NEW/submit" 404 "@$T/new.contract.json"
expect_status deepsight-ai POST "/v1/contracts/$C_PI/submit" 404 "@$T/new.contract.json"
expect_status deepsight-ai POST "/v1/contracts/$C_DS_IMG/submit" 400 "@$T/new.contract.json"
json_eq "a document submitted under another id" 'd["error"]["field"]' 'id'
expect_status deepsight-ai POST "/v1/contracts/$C_NEW/submit" 400 '{"id": "'$C_NEW'"}'
python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); d["sluice_contract"] = 2; json.dump(d, open(sys.argv[2], "w"))' \
	"$T/new.contract.json" "$T/v2.contract.json" || fail "v2"
# A format this build does not know is the request's fault, not the server's (http_fuzz).
expect_status deepsight-ai POST "/v1/contracts/$C_NEW/submit" 400 "@$T/v2.contract.json"
expect_status deepsight-ai POST "/v1/contracts/$C_NEW/submit" 200 "@$T/new.contract.json"
json_eq "countersigned on submission" 'd["activated"]' 'true'
json_eq "the document comes back countersigned" '"platform" in json.dumps(d["document"])' 'true'
expect_status deepsight-ai GET "/v1/contracts/$C_NEW" 200
json_eq "the new contract is active" 'd["state"]' 'active'

note "queries"
Q='{"contract":"'$C_PI'","sql":"SELECT region, COUNT(*) FROM claims GROUP BY region"}'
expect_status pacific-insurance POST /v1/queries 201 "$Q"
json_eq "the answer has its columns" 'd["columns"]' '["region","COUNT(*)"]'
QID=$(json 'd["query_id"]')
expect_status pacific-insurance GET "/v1/queries/$QID" 200
json_eq "the stored result" 'd["state"]' 'released'
expect_status audit-office GET "/v1/queries/$QID" 200
expect_status deepsight-ai GET "/v1/queries/$QID" 404
# The list: a buyer's own queries with their text, every query without it for the auditor.
expect_status pacific-insurance GET /v1/queries 200
json_eq "the buyer's list has its query, with its SQL" "[q['sql'] is not None for q in d['queries'] if q['query_id'] == '$QID']" '[true]'
expect_status deepsight-ai GET "/v1/queries?contract=$C_PI" 200
json_eq "another buyer's list of that contract is empty" 'd["queries"]' '[]'
expect_status deepsight-ai GET /v1/queries 200
json_eq "nor is the query in its own list" "[q for q in d['queries'] if q['query_id'] == '$QID']" '[]'
expect_status audit-office GET /v1/queries 200
json_eq "the auditor sees it, without the text" "[('sql' in q) for q in d['queries'] if q['query_id'] == '$QID']" '[false]'
expect_status acme-merchant GET /v1/queries 403
expect_status city-health-bureau POST /v1/queries 403 "$Q"
json_eq "a holder may not query" 'd["error"]["code"]' 'policy'
expect_status deepsight-ai POST /v1/queries 403 "$Q"
json_eq "another buyer's contract refuses deepsight-ai" 'd["error"]["code"]' 'refused'
expect_status pacific-insurance POST /v1/queries 201 "$Q" -H 'Idempotency-Key: retry-1'
QID1=$(json 'd["query_id"]')
expect_status pacific-insurance POST /v1/queries 200 "$Q" -H 'Idempotency-Key: retry-1'
json_eq "a retry answers the stored query" 'd["query_id"]' "$QID1"
expect_status pacific-insurance POST /v1/queries 403 '{"contract":"'$C_PI'","sql":"SELECT name FROM claims"}'
json_eq "a refused query names itself" 'd["error"]["state"]' 'refused'

note "ledger and audit"
expect_status pacific-insurance GET /v1/ledger 200
json_eq "a buyer sees its own statement" '[s["account"] for s in d["statements"]]' '["pacific-insurance"]'
expect_status pacific-insurance GET '/v1/ledger?party=acme-merchant' 403
expect_status acme-merchant GET /v1/ledger 200
json_eq "a merchant sees its income" '[s["account"] for s in d["statements"]]' '["acme-merchant"]'
expect_status audit-office GET /v1/ledger 200
check "the auditor sees every account" test "$(json 'len(d["statements"])')" -ge 5
expect_status pacific-insurance GET /v1/audit/export 403
expect_status acme-merchant GET /v1/audit/checkpoint 403
expect_status audit-office GET /v1/audit/checkpoint 200
json_eq "the checkpoint" '"signature" in d' 'true'
expect_status audit-office GET /v1/audit/export 200
cp "$OUT" "$T/export.jsonl"
expect_ok "$SLUICE" audit verify "$T/export.jsonl" --key "$X/platform.pub"
expect_status audit-office GET '/v1/audit/export?format=xml' 400
expect_status audit-office GET '/v1/audit/export?from=9&until=3' 400
expect_status pacific-insurance GET /metrics 403
expect_status audit-office GET /metrics 200
check "metrics count requests" grep -q '^sluice_http_requests_total{route="/v1/queries",status="201"}' "$OUT"
check "metrics count refusals" grep -q '^sluice_refusals_total{reason="policy"}' "$OUT"
check "metrics have the job histogram" grep -q '^sluice_job_duration_seconds_count ' "$OUT"

note "bad input"
expect_status pacific-insurance POST /v1/queries 400 '{"contract":'
json_eq "malformed JSON" 'd["error"]["code"]' 'parse'
expect_status pacific-insurance POST /v1/queries 400 '{"contract":1,"sql":"SELECT 1"}'
json_eq "a wrong type names the field" 'd["error"]["field"]' 'contract'
expect_status pacific-insurance POST /v1/queries 400 '{"contract":"x","sql":"SELECT 1","extra":"1"}'
json_eq "an unknown field" 'd["error"]["field"]' 'extra'
expect_status pacific-insurance POST /v1/queries 400 '{"sql":"SELECT 1"}'
json_eq "a missing field" 'd["error"]["field"]' 'contract'
expect_status pacific-insurance POST /v1/queries 400 '[1]'
python3 -c 'import sys; sys.stdout.write("{\"contract\":\"x\",\"sql\":\"" + "a" * 1100000 + "\"}")' >"$T/big.json"
expect_status pacific-insurance POST /v1/queries 413 "@$T/big.json"
expect_status pacific-insurance GET /v1/nothing 404
expect_status pacific-insurance POST /v1/health 405 '{}'
expect_status pacific-insurance GET '/v1/products/..' 404
expect_status pacific-insurance POST /v1/queries 400 "$Q" -H "Idempotency-Key: $(printf '%0200d' 0)"
expect_status pacific-insurance GET /v1/health 200

note "TLS: no certificate, a foreign one, the wrong kind"
run curl -sS --cacert "$CA" "https://127.0.0.1:$PORT/v1/health"
check "no client certificate: refused" test $? -ne 0
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=Sluice/OU=buyer/CN=pacific-insurance" \
	-days 30 -keyout "$T/foreign.key" -out "$T/foreign.crt" >/dev/null 2>&1 || fail "openssl req"
run curl -sS --cacert "$CA" --cert "$T/foreign.crt" --key "$T/foreign.key" "https://127.0.0.1:$PORT/v1/health"
check "a certificate of another CA: refused" test $? -ne 0
run curl -sS --tls-max 1.2 --cacert "$CA" --cert "$D/pacific-insurance.crt" --key "$D/pacific-insurance.key" "https://127.0.0.1:$PORT/v1/health"
check "TLS 1.2: refused" test $? -ne 0
expect_status pacific-insurance GET /v1/health 200
"$SLUICE" -d "$X" audit show --action tls.refused >"$OUT" 2>"$ERR"
check "the foreign certificate is audited" grep -q 'pacific-insurance' "$OUT"

note "an expired certificate"
# A copy of the exchange served 900 days on (client certificates last 825):
# every certificate has expired by then.  The copy keeps the real log clean.
# libfaketime is preloaded, so a sanitizer build must let it come first.
cp -a "$X" "$T/later"
rm -f "$T/later.port"
# Only the wall clock moves on (certificates are checked against it); the
# monotonic clock of the event loop's timers stays true.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" FAKETIME_DONT_FAKE_MONOTONIC=1 \
	faketime -f '+900d' "$SLUICE" -d "$T/later" serve --listen 127.0.0.1:0 --ready-file "$T/later.port" \
	--log "$T/later.log" &
LPID=$!
i=0
while [ ! -s "$T/later.port" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the later server did not start: $(tail -n 3 "$T/later.log")"
	sleep 0.1
done
run curl -sS --cacert "$CA" --cert "$D/pacific-insurance.crt" --key "$D/pacific-insurance.key" \
	"https://127.0.0.1:$(cat "$T/later.port")/v1/health"
check "an expired certificate: refused at the handshake" test $? -ne 0
# faketime runs the server as its child: stop the server itself.
pkill -TERM -f "$T/later serve"
wait $LPID
i=0
while pgrep -f "$T/later serve" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the later server did not stop on SIGTERM"
	sleep 0.1
done
"$SLUICE" -d "$T/later" audit show --action tls.refused >"$OUT" 2>"$ERR"
check "the expired certificate is audited with the reason" grep -q 'CN=pacific-insurance.*certificate has expired' "$OUT"
expect_status pacific-insurance GET /v1/health 200

note "slowloris and many connections"
python3 - "$PORT" "$D" "$CA" <<'PY' || fail "slowloris: the server kept a half-sent request open"
import socket, ssl, sys, time
port, d, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(d + "/pacific-insurance.crt", d + "/pacific-insurance.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
t0 = time.time()
s.settimeout(1)
while time.time() - t0 < 8:
    try:
        s.sendall(b"X-Slow: 1\r\n")
        if s.recv(1) == b"":
            break
    except socket.timeout:
        continue
    except (OSError, ssl.SSLError):
        break
else:
    sys.exit(1)
assert time.time() - t0 < 6, time.time() - t0
PY
ok "a slowloris client is cut off after --request-timeout"
python3 - "$PORT" "$D" "$CA" <<'PY' || fail "1000 connections: the next good request failed"
import socket, subprocess, sys
port, d, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
for s in socks[:500]:
    s.sendall(b"\x16\x03\x01\x00\x05hello")  # half a ClientHello
out = subprocess.run(["curl", "-sS", "--cacert", ca, "--cert", d + "/pacific-insurance.crt",
    "--key", d + "/pacific-insurance.key", "-o", "/dev/null", "-w", "%{http_code}",
    "https://127.0.0.1:%d/v1/health" % port], capture_output=True, text=True, timeout=60)
assert out.stdout == "200", (out.stdout, out.stderr)
PY
ok "with 1000 connections open, a good request is answered"
expect_status pacific-insurance GET /v1/health 200

note "a revoked party"
expect_status deepsight-ai GET /v1/health 200
expect_fail 2 "$SLUICE" -d "$X" party revoke deepsight-ai
expect_fail 1 "$SLUICE" -d "$X" party revoke nobody --reason test
expect_stderr_contains "nobody"
expect_ok "$SLUICE" -d "$X" party revoke deepsight-ai --reason "contract breach" --json
json_eq "revoked" 'd["state"]' 'revoked'
expect_fail 1 "$SLUICE" -d "$X" party revoke deepsight-ai --reason again
expect_stderr_contains "was revoked on"
expect_status deepsight-ai GET /v1/health 401
json_eq "its certificate no longer authenticates" 'd["error"]["code"]' 'auth'
expect_fail 1 "$SLUICE" -d "$X" query --contract "$C_DS_IMG" --identity "$D/deepsight-ai.key" "SELECT COUNT(*) FROM imaging"
expect_stderr_contains "deepsight-ai was revoked on"
expect_fail 1 "$SLUICE" -d "$X" ledger --identity "$D/deepsight-ai.key"
expect_stderr_contains "revoked on"
expect_ok "$SLUICE" -d "$X" party list --json
json_eq "party list shows it" '[p["revoke_reason"] for p in d["parties"] if p["name"] == "deepsight-ai"]' '["contract breach"]'
expect_ok "$SLUICE" -d "$X" audit show --action party.revoked
expect_stdout_contains "deepsight-ai"
expect_status pacific-insurance GET /v1/health 200
stop

note "a worker killed while it waits fails only its own job"
start --workers 2 --max-jobs 2
pkill -KILL -P "$PID" -f sluice-worker
sleep 0.2
expect_status pacific-insurance POST /v1/queries 500 "$Q"
json_eq "the job of a dead worker fails" 'd["error"]["state"]' 'failed'
n=0
until api pacific-insurance POST /v1/queries "$Q" && [ "$STATUS" = 201 ]; do
	n=$((n + 1))
	[ $n -lt 5 ] || fail "no query succeeded after the workers were killed: $STATUS"
done
ok "the next jobs get fresh workers"
expect_status pacific-insurance GET /v1/health 200
stop

note "the master key rotated, and a version loaded, beside the running daemon"
start --max-jobs 1 # one job thread: the one that loaded the old key answers
expect_status pacific-insurance POST /v1/queries 201 "$Q"
expect_ok "$SLUICE" -d "$X" keys rotate-master
expect_ok "$SLUICE" -d "$X" product load claims "$D/claims.csv"
# The new version's data key is wrapped under the new master key: the
# daemon, which loaded the old one, must notice and load the new one.
expect_status pacific-insurance POST /v1/queries 201 "$Q"
v=$(json 'd["version"]')
expect_ok "$SLUICE" -d "$X" product show claims --json
json_eq "the daemon answered from the new version" "d['versions'][-1]['version']" "$v"
stop

note "a product without a holder or an operator, and its contract"
# A product names its holder and operator only if it has them; the contract
# then has three parties.  Reading it once crashed the daemon (a party looked
# up for every role).  Found by tests/fuzz/http_fuzz.c.
python3 -c '
import json, sys
s = json.load(open(sys.argv[1])); s["name"] = "bare"; json.dump(s, open(sys.argv[2], "w"))
t = json.load(open(sys.argv[3])); t["revenue_shares"] = {"acme-merchant": 9000, "platform": 1000}
json.dump(t, open(sys.argv[4], "w"))' "$D/claims.schema.json" "$T/bare.schema.json" "$D/insurer.terms.json" "$T/bare.terms.json" ||
	fail "bare schema"
expect_ok "$SLUICE" -d "$X" product add bare --schema "$T/bare.schema.json" --merchant acme-merchant
expect_ok "$SLUICE" -d "$X" contract offer --product bare --buyer pacific-insurance --terms "$T/bare.terms.json" --out "$T/bare.c.json"
expect_ok "$SLUICE" contract sign "$T/bare.c.json" --identity "$D/acme-merchant.key"
expect_ok "$SLUICE" contract sign "$T/bare.c.json" --identity "$D/pacific-insurance.key"
expect_ok "$SLUICE" -d "$X" contract submit "$T/bare.c.json"
C_BARE=$(json_file "$T/bare.c.json" 'd["id"]')
start
expect_status pacific-insurance GET /v1/contracts 200
json_eq "the buyer sees it" "[c['id'] for c in d['contracts'] if c['id'] == '$C_BARE']" "[\"$C_BARE\"]"
expect_status acme-merchant GET "/v1/contracts/$C_BARE" 200
expect_status city-health-bureau GET "/v1/contracts/$C_BARE" 404
expect_status city-health-bureau GET /v1/contracts 200
expect_status pacific-insurance GET /v1/health 200
stop

note "the job limit, and SIGTERM during running queries"
start --workers 2 --max-jobs 2
answered() { grep -c '"route":"/v1/queries","status":201' "$T/serve.log"; }
before=$(answered)
n=0
while [ $n -lt 20 ]; do
	curl -sS --cacert "$CA" --cert "$D/pacific-insurance.crt" --key "$D/pacific-insurance.key" \
		-H 'Content-Type: application/json' -o "$T/q$n.json" -w '%{http_code}\n' \
		--data-binary "$Q" "https://127.0.0.1:$PORT/v1/queries" >"$T/s$n" 2>/dev/null &
	n=$((n + 1))
done
# SIGTERM once the first query is answered, with the others running or on their way.
i=0
while [ "$(answered)" -le "$before" ]; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "no query was answered in 60 s: $(tail -n 3 "$T/serve.log")"
	sleep 0.1
done
kill -TERM "$PID"
wait
check "the server stopped" test -z "$(kill -0 "$PID" 2>&1 | grep -v 'No such')"
cat "$T"/s* >"$T/statuses"
check "some queries ran" grep -q '^201$' "$T/statuses"
check "every answer is a status" test "$(grep -cE '^(201|429|503|000)$' "$T/statuses")" -eq 20
expect_ok "$SLUICE" -d "$X" ledger verify
expect_ok "$SLUICE" -d "$X" audit export --out "$T/after.jsonl"
expect_ok "$SLUICE" audit verify "$T/after.jsonl" --key "$X/platform.pub"
check "no query is charged without its answer stored" test "$(sql "$X/sluice.db" "SELECT COUNT(*) FROM queries WHERE state = 'released' AND answer IS NULL")" -eq 0
pass
