#!/bin/sh
# A product load over HTTPS (`sluice serve`, broker/upload.h): an upload
# opened by the product's merchant, sent in parts at their offsets and
# completed, publishes the same version as `product load`; a bad file is
# refused with the CLI's line:column errors and publishes nothing; parts out
# of order, past the size, too large, or of another party's upload are
# refused and leave the upload as it was; an idle upload is abandoned and a
# cancelled one ends, both audited, with no staged version left behind.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need curl

. "${top_srcdir:-.}/tests/integration/serve_lib.sh"
trap 'kill -KILL $PID 2>/dev/null; rm -rf "$T"' EXIT

# part PARTY UPLOAD OFFSET FILE: one part of an upload, the answer in $OUT.
part() {
	api "$1" POST "/v1/uploads/$2/parts?offset=$3" "@$4" -H 'Content-Type: application/octet-stream'
}
# open_upload PARTY PRODUCT FORMAT SIZE: $U is the new upload's id.
open_upload() {
	expect_status "$1" POST "/v1/products/$2/uploads" 201 "{\"format\": \"$3\", \"size\": $4}"
	U=$(json 'd["upload"]')
}
versions() { # PRODUCT: the rows of its versions, as a JSON list
	api acme-merchant GET "/v1/products/$1"
	json '[v["rows"] for v in d["versions"]]'
}
staged() { find "$X" -name '.staging-*' | wc -l; }

# Idle long enough for a slow (sanitizer) build between a test's requests; the idle test restarts it.
start --workers 2 --max-jobs 2 --upload-idle 60

# 1,000 rows of the demo's claims in two parts, the first cut inside a line.
head -n 1001 "$D/claims.csv" >"$T/good.csv"
SIZE=$(wc -c <"$T/good.csv")
CUT=$((SIZE / 2 + 7))
head -c "$CUT" "$T/good.csv" >"$T/good.1"
tail -c +$((CUT + 1)) "$T/good.csv" >"$T/good.2"
BEFORE=$(versions claims)

note "an upload in parts publishes a version"
open_upload acme-merchant claims csv "$SIZE"
json_eq "it starts empty" '[d["received"], d["size"], d["product"]]' "[0,$SIZE,\"claims\"]"
check "its id is an upload's" test "$(echo "$U" | cut -c1-2)" = u_
expect_status acme-merchant POST "/v1/uploads/$U/complete" 409
json_eq "it cannot complete before all its bytes" 'd["error"]["received"]' '0'
part acme-merchant "$U" 0 "$T/good.1"
check_eq "the first part" "$STATUS" 200
json_eq "it has the first part" 'd["received"]' "$CUT"
check_eq "its version is staged" "$(staged)" 1
part acme-merchant "$U" 0 "$T/good.1"
check_eq "the same part again (a retry)" "$STATUS" 409
json_eq "the conflict says where the upload is" '[d["error"]["code"], d["error"]["received"]]' "[\"conflict\",$CUT]"
part acme-merchant "$U" 5 "$T/good.2"
check_eq "a part at a wrong offset" "$STATUS" 409
expect_status acme-merchant GET "/v1/uploads/$U" 200
json_eq "its state is unchanged" 'd["received"]' "$CUT"
expect_status deepsight-ai GET "/v1/uploads/$U" 403
part deepsight-ai "$U" "$CUT" "$T/good.2"
check_eq "a buyer's part" "$STATUS" 403
part acme-merchant "$U" "$CUT" "$T/good.2"
check_eq "the second part" "$STATUS" 200
expect_status acme-merchant POST "/v1/uploads/$U/complete" 201
json_eq "the version has the rows the file has" '[d["product"], d["rows"]]' '["claims",1000]'
V=$(json 'd["version"]')
expect_status acme-merchant GET "/v1/uploads/$U" 404
check_eq "the catalog has the version" "$(versions claims)" "$(echo "$BEFORE" | sed 's/]$/,1000]/')"
expect_ok "$SLUICE" -d "$X" audit show --action product.version_published --json
json_eq "published by the merchant" "[e[\"actor\"] for e in d[\"events\"] if e[\"subject\"].endswith(\"@$V\")]" '["acme-merchant"]'
check_eq "no staged version is left" "$(staged)" 0

note "a bad file: the CLI's errors, nothing published"
sed '500s/^\([0-9]*\),[0-9]*,/\1,old,/' "$T/good.csv" >"$T/bad.csv"
BSIZE=$(wc -c <"$T/bad.csv")
"$SLUICE" -d "$X" product load claims "$T/bad.csv" --json >/dev/null 2>"$T/cli.json" && fail "the CLI loaded the bad file"
BEFORE=$(versions claims)
open_upload acme-merchant claims csv "$BSIZE"
part acme-merchant "$U" 0 "$T/bad.csv"
if [ "$STATUS" = 200 ]; then
	# The worker's refusal may come only at the end.
	expect_status acme-merchant POST "/v1/uploads/$U/complete" 422
else
	check_eq "the part that holds the error is refused" "$STATUS" 422
fi
check_eq "the same line:column errors as the CLI" \
	"$(json 'd["error"]["errors"]')" "$(json_file "$T/cli.json" 'd["error"]["errors"]')"
json_eq "they name the line" 'd["error"]["errors"][0]["line"]' '500'
check_eq "nothing was published" "$(versions claims)" "$BEFORE"
expect_status acme-merchant GET "/v1/uploads/$U" 404
check_eq "no staged version is left" "$(staged)" 0

note "another merchant's product and upload do not exist for it"
expect_ok "$SLUICE" -d "$X" party add other-merchant --role merchant --out "$D/other-merchant.key"
expect_status other-merchant POST /v1/products/claims/uploads 404 '{"format": "csv", "size": 10}'
open_upload acme-merchant claims csv "$SIZE"
expect_status other-merchant GET "/v1/uploads/$U" 404
part other-merchant "$U" 0 "$T/good.1"
check_eq "its part" "$STATUS" 404
expect_status other-merchant POST "/v1/uploads/$U/complete" 404
expect_status other-merchant POST "/v1/uploads/$U/cancel" 404
expect_status acme-merchant GET "/v1/uploads/$U" 200
json_eq "the upload is untouched" 'd["received"]' '0'

note "bad requests"
expect_status acme-merchant POST /v1/products/claims/uploads 400 '{"format": "xml", "size": 10}'
json_eq "the field" 'd["error"]["field"]' 'format'
expect_status acme-merchant POST /v1/products/claims/uploads 400 '{"format": "csv", "size": -1}'
json_eq "the field" 'd["error"]["field"]' 'size'
expect_status acme-merchant POST /v1/products/claims/uploads 400 '{"format": "csv"}'
expect_status acme-merchant POST /v1/products/nope/uploads 404 '{"format": "csv", "size": 10}'
api acme-merchant POST "/v1/uploads/$U/parts" "@$T/good.1" -H 'Content-Type: application/octet-stream'
check_eq "a part without an offset" "$STATUS" 400
part acme-merchant "$U" x1 "$T/good.1"
check_eq "a part with a bad offset" "$STATUS" 400
head -c 300 "$T/good.csv" >"$T/small"
cat "$T/good.csv" "$T/good.csv" | head -c $((SIZE + 1)) >"$T/over"
part acme-merchant "$U" 0 "$T/over"
check_eq "a part past the size announced" "$STATUS" 413
head -c $((1048576 + 1)) /dev/zero >"$T/huge"
part acme-merchant "$U" 0 "$T/huge"
check_eq "a part over 1 MiB" "$STATUS" 413
expect_status acme-merchant GET "/v1/uploads/$U" 200
json_eq "none of them changed it" 'd["received"]' '0'

note "open uploads are limited, and cancelled ones end"
U1=$U
expect_status acme-merchant POST /v1/products/claims/uploads 409 "{\"format\": \"csv\", \"size\": $SIZE}"
json_eq "one upload of a product at a time" 'd["error"]["code"]' 'conflict'
open_upload acme-merchant imaging jsonl 100
U2=$U
expect_status acme-merchant POST /v1/products/claims/uploads 429 "{\"format\": \"csv\", \"size\": $SIZE}"
expect_status acme-merchant POST "/v1/uploads/$U1/cancel" 200
expect_status acme-merchant GET "/v1/uploads/$U1" 404
expect_status acme-merchant POST "/v1/uploads/$U2/cancel" 200
open_upload acme-merchant claims csv "$SIZE"
U3=$U
part acme-merchant "$U3" 0 "$T/small"
check_eq "a part of a new upload" "$STATUS" 200
expect_status audit-office GET /metrics 200
check "the open uploads are counted" grep -q '^sluice_uploads_open 1$' "$OUT"

note "an idle upload is abandoned"
stop # U3 ends unpublished: "server stopped"
start --workers 2 --max-jobs 2 --upload-idle 2
open_upload acme-merchant claims csv "$SIZE"
U3=$U
part acme-merchant "$U3" 0 "$T/small"
check_eq "a part" "$STATUS" 200
i=0
while api acme-merchant GET "/v1/uploads/$U3" && [ "$STATUS" = 200 ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || fail "the idle upload was not abandoned"
	sleep 0.2
done
check_eq "after --upload-idle it is gone" "$STATUS" 404
expect_ok "$SLUICE" -d "$X" audit show --action product.load_failed --json
json_eq "abandoned, cancelled and stopped are audited" 'sorted(e["details"]["outcome"] for e in d["events"])' '["abandoned","cancelled","cancelled","server stopped"]'
check_eq "no staged version is left" "$(staged)" 0

note "SIGTERM ends an open upload unpublished"
open_upload acme-merchant claims csv "$SIZE"
part acme-merchant "$U" 0 "$T/good.1"
BEFORE=$(versions claims)
stop
expect_ok "$SLUICE" -d "$X" audit show --action product.load_failed --json
json_eq "audited" '[e["details"]["outcome"] for e in d["events"]][-1]' 'server stopped'
check_eq "no staged version is left" "$(staged)" 0
expect_ok "$SLUICE" -d "$X" product show claims --json
json_eq "nothing was published" 'len(d["versions"])' "$(echo "$BEFORE" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
pass
