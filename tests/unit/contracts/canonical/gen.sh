#!/bin/sh
# tests/unit/contracts/canonical/gen.sh -- regenerate the fixed contracts that
# contract_test.c checks against, with no Sluice code involved: fresh keys from
# openssl, the canonical form (RFC 8785) from Python, signatures from openssl
# (Ed25519; SM2 with the ID 1234567812345678).  Writes SUITE.json (the signed
# document, members deliberately out of order and pretty-printed) and SUITE.jcs
# (the bytes every party signs).  Run from this directory; not run by `make check`.
#
# The canonical form below is json.dumps(sort_keys, no spaces, raw UTF-8),
# with one fix-up: floats that are whole numbers are written as integers, as
# ECMAScript does (15.0 -> 15).  That is enough for these documents: ASCII
# member names only, and no float whose shortest form Python and ECMAScript
# write differently (no exponents).
set -eu
K=$(mktemp -d)
trap 'rm -rf "$K"' EXIT
for suite in intl gm; do
	for who in merchant buyer platform; do
		if [ "$suite" = intl ]; then
			openssl genpkey -algorithm ED25519 -out "$K/$who.key"
		else
			openssl genpkey -algorithm SM2 -out "$K/$who.key"
		fi
		openssl pkey -in "$K/$who.key" -pubout -out "$K/$who.pub"
		if [ "$suite" = intl ]; then
			fp="SHA256:$(openssl pkey -pubin -in "$K/$who.pub" -outform DER | sha256sum | cut -d' ' -f1)"
		else
			fp="SM3:$(openssl pkey -pubin -in "$K/$who.pub" -outform DER | openssl dgst -sm3 -r | cut -d' ' -f1)"
		fi
		echo "$fp" >"$K/$who.fp"
	done
	python3 - "$suite" "$K" <<'PY'
import json, sys
suite, k = sys.argv[1], sys.argv[2]
def party(role, name):
    return {"public_key": open(f"{k}/{role}.pub").read(), "name": name,
            "fingerprint": open(f"{k}/{role}.fp").read().strip(), "role": role}
# Members in an order no serializer would choose; numbers in forms JCS rewrites.
doc = {
    "revenue_shares": {"platform": 2500, "acme-merchant": 7500},
    "release": {"max_rows_per_unit": 5, "epsilon_per_query": 0.25, "mode": "dp",
                "mechanism": "laplace", "epsilon_total": 15.0},
    "suite": suite,
    "purpose": "\u516c\u76ca\u7814\u7a76 caf\u00e9 research",
    "parties": [party("merchant", "acme-merchant"), party("buyer", "acme-buyer"),
                party("platform", "platform")],
    "id": "c_00112233445566778899aabbccddeeff" if suite == "intl"
          else "c_ffeeddccbbaa99887766554433221100",
    "sluice_contract": 1,
    "valid_until": "2030-01-01T00:00:00Z",
    "aggregates": ["SUM", "COUNT"],
    "columns": ["region", "age", "claim_fen"],
    "price_fen": 5000,
    "versions": {"until": 4, "from": 2},
    "offered_at": "2026-03-01T08:00:00Z",
    "product": {"name": "claims"},
    "valid_from": "2026-04-01T00:00:00Z",
}
def canon(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(m, ensure_ascii=False) + ":" + canon(v[m])
                              for m in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)
open(f"{k}/canon", "w", encoding="utf-8").write(canon(doc))
open(f"{suite}.jcs", "w", encoding="utf-8").write(canon(doc))
json.dump(doc, open(f"{k}/doc.json", "w"))
PY
	for who in platform buyer merchant; do
		if [ "$suite" = intl ]; then
			openssl pkeyutl -sign -rawin -inkey "$K/$who.key" -in "$K/canon" -out "$K/$who.sig"
		else
			openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:1234567812345678 \
				-inkey "$K/$who.key" -in "$K/canon" -out "$K/$who.sig"
		fi
	done
	python3 - "$suite" "$K" <<'PY'
import json, sys
suite, k = sys.argv[1], sys.argv[2]
doc = json.load(open(f"{k}/doc.json"))
names = {"merchant": "acme-merchant", "buyer": "acme-buyer", "platform": "platform"}
# Signatures out of role order too: the order carries no meaning.
doc["signatures"] = [{"signature": open(f"{k}/{r}.sig", "rb").read().hex(), "role": r,
                      "party": names[r]} for r in ("platform", "buyer", "merchant")]
text = json.dumps(doc, indent=3, ensure_ascii=False)
# Keep 15.0 as written, so the test sees JCS rewrite it.
open(f"{suite}.json", "w", encoding="utf-8").write(text + "\n")
PY
done
