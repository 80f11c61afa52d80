#!/bin/sh
# product load through the confined worker (issue 4): CSV and JSON Lines,
# every refusal lists the first errors by file:line:column and leaves the
# catalog and the visible versions as they were.  Both suites.
set -u
. "$(dirname "$0")/lib.sh"

versions() { "$SLUICE" -d "$D" product show "$1" --json | python3 -c 'import json,sys; print([(v["version"], v["rows"], v["state"]) for v in json.load(sys.stdin)["versions"]])'; }

refused() { # TEXT FILE [ARGS]: refused with TEXT, visible versions unchanged
	text=$1 file=$2
	shift 2
	before=$(versions claims)
	expect_fail 1 "$SLUICE" -d "$D" product load claims "$file" "$@"
	expect_stderr_contains "$text"
	expect_stderr_contains "nothing loaded"
	[ "$(versions claims)" = "$before" ] || fail "versions changed after a refused load"
}

for suite in intl gm; do
	note "suite $suite"
	D="$T/$suite"
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	expect_ok "$SLUICE" -d "$D" party add acme --role merchant --out "$T/$suite-acme.key"
	expect_ok "$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" --merchant acme
	expect_ok "$SLUICE" -d "$D" product add imaging --schema "$EX/imaging.schema.json" --merchant acme

	expect_ok "$SLUICE" -d "$D" party add other --role merchant --out "$T/$suite-other.key"
	# --identity: only the product's merchant's key; refused before any job.
	events_before=$(sql "$D/sluice.db" "SELECT count(*) FROM audit_events")
	expect_fail 1 "$SLUICE" -d "$D" product load claims "$EX/claims.csv" --identity "$T/$suite-other.key"
	expect_stderr_contains "$T/$suite-other.key: the key of party other, not of acme (the merchant of product claims)"
	[ "$(versions claims)" = "[]" ] || fail "a refused --identity loaded a version"
	check_eq "a refused --identity is not audited as a load" "$(sql "$D/sluice.db" "SELECT count(*) FROM audit_events")" "$events_before"
	expect_ok "$SLUICE" -d "$D" product load claims "$EX/claims.csv" --identity "$T/$suite-acme.key"
	expect_stdout_contains "Loaded 5000 rows into claims version 1"
	expect_ok "$SLUICE" -d "$D" product load imaging "$EX/imaging.jsonl" --json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["rows"]==5000 and d["version"]==1 and d["chunks"]==9' "$OUT" ||
		fail "load --json"
	[ "$(versions claims)" = "[(1, 5000, 'published')]" ] || fail "claims versions: $(versions claims)"
	# The store holds no plaintext: a district name and a member's name never appear.
	if grep -q -a -e beilun -e "Zhang " "$D/stores/claims/1/data.mdb"; then
		fail "plaintext in the store"
	fi
	expect_ok "$SLUICE" -d "$D" audit show --action product.version_published --json
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; assert [x["subject"] for x in e]==["claims@1","imaging@1"] and e[0]["details"]["rows"]==5000 and [x["actor"] for x in e]==["acme","platform"]' "$OUT" ||
		fail "version_published events"

	# A second load makes version 2; drop-version retires 1.
	expect_ok "$SLUICE" -d "$D" product load claims "$EX/claims.csv" --format csv
	expect_ok "$SLUICE" -d "$D" product drop-version claims 1
	[ "$(versions claims)" = "[(1, 5000, 'dropped'), (2, 5000, 'published')]" ] || fail "drop-version"
	expect_fail 1 "$SLUICE" -d "$D" product drop-version claims 1
	expect_stderr_contains "already dropped"

	# Data key rotation: version 3 is version 2 re-sealed under key 2; key 1 is retired.
	expect_ok "$SLUICE" -d "$D" keys rotate-product claims --json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["version"]==3 and d["rows"]==5000' "$OUT" ||
		fail "rotate-product --json"
	expect_ok "$SLUICE" -d "$D" product show claims --json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [(v["version"], v["key_version"]) for v in d["versions"]]==[(1,1),(2,1),(3,1)]' "$OUT" ||
		fail "versions after rotate-product"
	[ "$(sqlite3 "$D/sluice.db" "SELECT name, retired IS NOT NULL FROM wrapped_keys WHERE kind = 'dek' AND name LIKE 'claims@%' ORDER BY name" | tr '\n' ' ')" = "claims@1|0 claims@2|1 claims@3|0 " ] ||
		fail "each version has its own key, and the re-sealed one's is retired"
	[ "$(sqlite3 "$D/sluice.db" "SELECT count(DISTINCT blob) FROM wrapped_keys WHERE kind = 'dek' AND name LIKE 'claims@%'")" = 3 ] ||
		fail "version keys are not distinct"
	expect_ok "$SLUICE" -d "$D" audit show --action keys.product_rotated --json
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; d=e[0]["details"]; assert d["from_version"]==2 and d["version"]==3 and d["rows"]==5000 and len(d["manifest"])==64' "$OUT" ||
		fail "keys.product_rotated event"
	# One environment per version, read-only once published, and no lock file anywhere.
	for v in 1 2 3; do
		[ "$(stat -c %a "$D/stores/claims/$v") $(stat -c %a "$D/stores/claims/$v/data.mdb")" = "500 400" ] ||
			fail "version $v is not read-only: $(stat -c %a "$D/stores/claims/$v")"
	done
	[ -z "$(find "$D/stores" -name lock.mdb -o -name '.staging-*')" ] ||
		fail "a lock file or staging directory is left: $(find "$D/stores" -name lock.mdb -o -name '.staging-*')"
	expect_fail 1 "$SLUICE" -d "$D" keys rotate-product nope
	expect_stderr_contains "no product named 'nope'"

	note "refusals, suite $suite"
	H=$(head -n 1 "$EX/claims.csv")
	{ echo "$H"; echo '7,200,F,beilun,huimin_bao,I,1,1,0,2020,2020-01-01,n'; } >"$T/bounds.csv"
	refused "bounds.csv:2:3: column age: \"200\" is outside the bounds [0, 120]" "$T/bounds.csv"
	{ echo "$H"; echo '7,20,F,beilun,huimin_bao,I,1,1,0,2020,2020-13-01,n'; } >"$T/date.csv"
	refused "date.csv:2:39: column admitted: \"2020-13-01\" is not a date YYYY-MM-DD" "$T/date.csv"
	{ echo "$H"; echo '7,20,F,beilun,huimin_bao,I,1,1,0,2020,,"n'; } >"$T/quote.csv"
	refused "quote.csv:2:40: unterminated quoted field" "$T/quote.csv"
	{ echo "$H"; echo '7,20,F,beilun'; } >"$T/short.csv"
	refused "short.csv:2:1: 4 fields, but the header has 12" "$T/short.csv"
	{ echo "$H"; printf '7,20,F,beil\377un,huimin_bao,I,1,1,0,2020,,n\n'; } >"$T/utf8.csv"
	refused "utf8.csv:2:12: invalid UTF-8" "$T/utf8.csv"
	{ echo "$H"; echo '7,20,F,paris,huimin_bao,I,1,1,0,2020,,n'; } >"$T/domain.csv"
	refused "domain.csv:2:8: column region: \"paris\" is not in the column's domain" "$T/domain.csv"
	{ echo "$H"; echo '7,20,F,beilun,huimin_bao,I,1.5,1,0,2020,,n'; } >"$T/num.csv"
	refused "num.csv:2:28: column claim_fen: \"1.5\" is not an integer" "$T/num.csv"
	echo "$H" | sed 's/region/district/' >"$T/header.csv"
	refused "header.csv:1:19: header: unknown column \"district\"" "$T/header.csv"
	: >"$T/empty.csv"
	refused "empty.csv:1:1: empty file: no header row" "$T/empty.csv"
	# 30 bad rows: the first 20 are listed, then a count.
	{ echo "$H"; i=0; while [ $i -lt 30 ]; do echo "$i,20,X,beilun,huimin_bao,I,1,1,0,2020,,n"; i=$((i + 1)); done; } >"$T/many.csv"
	refused "many.csv: ... and 10 more errors" "$T/many.csv"
	[ "$(grep -c 'many.csv:[0-9]*:[0-9]*: column sex' "$ERR")" = 20 ] || fail "not 20 errors listed"
	# A line over 16 MiB is refused without being buffered whole.
	python3 -c 'import sys; sys.stdout.write(sys.argv[1] + "\n7,20,F," + "b" * (17 << 20) + "\n")' "$H" >"$T/long.csv"
	refused "long.csv:2:1048584: field longer than 1048576 bytes" "$T/long.csv"
	# And a long line of short fields stops at the line limit.
	python3 -c 'import sys; sys.stdout.write(sys.argv[1] + "\n" + ("b" * 1000000 + ",") * 17 + "\n")' "$H" >"$T/long2.csv"
	refused "long2.csv:2:16777217: line longer than 16777216 bytes" "$T/long2.csv"
	# Refused loads are audited with their error count, and no value from the upload.
	expect_ok "$SLUICE" -d "$D" audit show --action product.load_refused --json
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; assert len(e)==12 and e[0]["details"]=={"errors":1,"version":4} and e[0]["subject"]=="claims@4" and {x["actor"] for x in e}=={"platform"}' "$OUT" ||
		fail "product.load_refused events"
	grep -q 'paris\|2020-13-01' "$OUT" && fail "an uploaded value reached the audit log"
	printf '{"member_id": 1, "age": "20"}\n' >"$T/bad.jsonl"
	refused "bad.jsonl:1:1: column age: wrong JSON type for a number column" "$T/bad.jsonl"
	refused "bad.jsonl:1:1: column age" "$T/bad.jsonl" --identity "$T/$suite-acme.key"
	expect_ok "$SLUICE" -d "$D" audit show --action product.load_refused --json
	json_eq "a refused load under the merchant's key names the merchant" '[x["actor"] for x in d["events"]][-2:]' '["platform","acme"]'
	expect_fail 2 "$SLUICE" -d "$D" product load claims "$T/x.txt"
	expect_stderr_contains "give --format csv|jsonl"
	expect_fail 1 "$SLUICE" -d "$D" product load claims "$T/nope.csv"
	expect_stderr_contains "nope.csv: No such file"
	expect_fail 1 "$SLUICE" -d "$D" product load nope "$EX/claims.csv"
	expect_stderr_contains "no product named 'nope'"
done
pass
