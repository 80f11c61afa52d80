#!/bin/sh
# Products (issue 4, catalog part): add, list, show; every refusal names the
# file, field or party and leaves the exchange as it was.  Both suites.
set -u
. "$(dirname "$0")/lib.sh"

snapshot() { # DIR -> a text that changes when the catalog or stores change
	sqlite3 "$1/sluice.db" .dump 2>/dev/null | grep -v '^PRAGMA\|^BEGIN\|^COMMIT'
	find "$1/stores" -mindepth 1 -printf '%P %s %m\n' | sort
}

refused() { # EXIT TEXT CMD... : refused with TEXT on stderr and nothing changed
	want=$1 text=$2
	shift 2
	before=$(snapshot "$D")
	expect_fail "$want" "$@"
	expect_stderr_contains "$text"
	[ "$(snapshot "$D")" = "$before" ] || fail "state changed after a refused: $*"
}

for suite in intl gm; do
	note "suite $suite"
	D="$T/$suite"
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	expect_ok "$SLUICE" -d "$D" party add acme --role merchant --out "$T/$suite-acme.key"
	expect_ok "$SLUICE" -d "$D" party add city --role holder --out "$T/$suite-city.key"
	expect_ok "$SLUICE" -d "$D" party add ops --role operator --out "$T/$suite-ops.key"
	# --identity: only the merchant's own key; refused, nothing changes.
	D0=$(snapshot "$D")
	expect_fail 1 "$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" \
		--merchant acme --holder city --operator ops --identity "$T/$suite-city.key"
	expect_stderr_contains "$T/$suite-city.key: the key of party city, not of acme (the product's --merchant)"
	[ "$(snapshot "$D")" = "$D0" ] || fail "a refused --identity changed the exchange"
	expect_ok "$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" \
		--merchant acme --holder city --operator ops --identity "$T/$suite-acme.key"
	expect_stdout_contains "Added product claims"
	[ -d "$D/stores/claims" ] || fail "no store directory"
	expect_ok "$SLUICE" -d "$D" product add imaging --schema "$EX/imaging.schema.json" --merchant acme --json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["name"]=="imaging" and d["merchant"]=="acme" and d["holder"] is None and d["versions"]==[], d' "$OUT" ||
		fail "product add --json"

	expect_ok "$SLUICE" -d "$D" product list --json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [p["name"] for p in d["products"]]==["claims","imaging"]' "$OUT" ||
		fail "product list --json"
	expect_ok "$SLUICE" -d "$D" product show claims
	check "show: claim_fen's row" grep -Eq "^claim_fen +INT +measure +bounds \[0, 10000000\]\$" "$OUT"
	sed -n '/^COLUMN/,/^$/p' "$OUT" >"$T/columns"
	check "show: the column table lines up" table_aligned llll "$T/columns"
	expect_stdout_contains "(no versions loaded yet)"
	expect_ok "$SLUICE" -d "$D" product show claims --json
	python3 - "$OUT" <<'PY' || fail "product show --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["holder"] == "city" and d["operator"] == "ops" and "key_version" not in d
assert [c["name"] for c in d["schema"]["columns"]][:2] == ["member_id", "age"]
PY
	# Data keys belong to versions (load.sh): a product without versions holds none.
	expect_ok "$SLUICE" -d "$D" keys status --json
	python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["data_keys"]==0' "$OUT" ||
		fail "no data keys before a load"
	expect_ok "$SLUICE" -d "$D" keys rotate-master
	expect_ok "$SLUICE" -d "$D" keys status
	expect_stdout_contains "0 data keys"
	expect_ok "$SLUICE" -d "$D" audit show --action product.listed --json
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; assert [x["subject"] for x in e]==["claims","imaging"] and [x["actor"] for x in e]==["acme","platform"]' "$OUT" ||
		fail "product.listed events"

	# Refusals.
	S="$T/$suite-s.json"
	refused 1 "product 'claims' already exists" \
		"$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" --merchant acme
	refused 1 "the schema names product \"claims\", not \"other\"" \
		"$SLUICE" -d "$D" product add other --schema "$EX/claims.schema.json" --merchant acme
	refused 1 "--merchant city: that party is a holder, not a merchant" \
		"$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" --merchant city
	refused 1 "--holder nobody: no such party" \
		"$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" --merchant acme --holder nobody
	refused 1 "--operator city: that party is a holder, not a operator" \
		"$SLUICE" -d "$D" product add claims --schema "$EX/claims.schema.json" --merchant acme --operator city
	sed 's/"name": "claims"/"name": "bad"/; s/"INT", "class": "unit"/"INTEGER", "class": "unit"/' "$EX/claims.schema.json" >"$S"
	refused 1 "$S: columns[0].type: unknown type \"INTEGER\"" \
		"$SLUICE" -d "$D" product add bad --schema "$S" --merchant acme
	printf '{"name": "bad", "columns": [\n  {"name": "id", "type": "INT", "class": "unit"},\n' >"$S"
	refused 1 "$S: 3:" "$SLUICE" -d "$D" product add bad --schema "$S" --merchant acme
	refused 1 "nope.json: no such file" \
		"$SLUICE" -d "$D" product add bad --schema "$T/nope.json" --merchant acme
	refused 1 "product name 'Bad!'" \
		"$SLUICE" -d "$D" product add 'Bad!' --schema "$EX/claims.schema.json" --merchant acme
	refused 2 "missing --merchant" "$SLUICE" -d "$D" product add bad --schema "$S"
	refused 2 "missing --schema" "$SLUICE" -d "$D" product add bad --merchant acme
	refused 1 "no product named 'nope'" "$SLUICE" -d "$D" product show nope
done
pass
