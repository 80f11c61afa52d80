#!/bin/sh
# The keys attacked: a copy of a data directory without its master key
# reveals no row (no command opens a store, no file holds a row's text, every
# sealed record is as incompressible as random bytes); another exchange's
# master key, a wrong passphrase and key or passphrase files that group or
# others may read are refused, with a message saying which and what to do,
# and change nothing.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need python3
need mdb_dump
expect_ok "$SLUICE" demo --dir "$T/demo" --keep --rows 20000
D="$T/demo"
X="$D/exchange"
C=$("$SLUICE" -d "$X" contract list --json |
	python3 -c 'import json,sys; print([c["id"] for c in json.load(sys.stdin)["contracts"] if c["buyer"] == "pacific-insurance"][0])')
Q="SELECT region, COUNT(*) FROM claims GROUP BY region"

note "a copy without its master key"
cp -a "$X" "$T/copy" || fail "cp -a"
rm "$T/copy/master.key"
expect_fail 1 "$SLUICE" -d "$T/copy" query --contract "$C" --identity "$D/pacific-insurance.key" "$Q"
expect_stderr_contains "master.key"
for cmd in "keys status" "audit export --out $T/copy.jsonl" "keys rotate-product claims"; do
	# shellcheck disable=SC2086 # the words of the command
	expect_fail 1 "$SLUICE" -d "$T/copy" $cmd
	expect_stderr_contains "master.key"
done
check "a refused export wrote nothing" test ! -e "$T/copy.jsonl"
# The rows' text: the hidden column (names) and whole CSV lines of the demo's
# file.  The detector must find them where they are, or it proves nothing.
python3 - "$D/claims.csv" "$T/needles" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
head, body = rows[0], rows[1:]
i = head.index("name")
names = sorted({r[i] for r in body if len(r[i]) >= 8})[:500]
lines = [",".join(r) for r in body[:200]]
open(sys.argv[2], "w").write("\n".join(names + lines) + "\n")
PY
n=$(wc -l <"$T/needles")
check "$n row texts to look for" [ "$n" -ge 600 ]
mkdir "$T/control" && cp "$D/claims.csv" "$T/control/" || fail "control"
check "the detector finds them in the CSV" grep -r -a -q -F -f "$T/needles" "$T/control"
if grep -r -a -l -F -f "$T/needles" "$T/copy" >"$T/found"; then
	fail "row text in the copy: $(head -n 3 "$T/found")"
fi
ok "no file of the copy holds a name or a line of the rows"
python3 - "$T/copy/stores" <<'PY' >"$OUT" 2>"$ERR" || fail "a sealed record compresses: $(cat "$OUT" "$ERR")"
import glob, subprocess, sys, zlib
n = worst = 0
for f in glob.glob(sys.argv[1] + "/*/*/data.mdb"):
    out = subprocess.run(["mdb_dump", "-n", f], capture_output=True, text=True, check=True).stdout.splitlines()
    body = out[out.index("HEADER=END") + 1:out.index("DATA=END")]
    for v in body[1::2]:
        b = bytes.fromhex(v.strip())
        if len(b) < 256:
            continue
        n += 1
        ratio = len(zlib.compress(b, 9)) / len(b)
        worst = min(worst or ratio, ratio)
        if ratio < 0.99:
            print("%s: a record of %d bytes compresses to %.3f" % (f, len(b), ratio))
            sys.exit(1)
print("%d sealed records, the most compressible at %.4f" % (n, worst))
PY
ok "$(cat "$OUT")"

note "another exchange's master key"
expect_ok "$SLUICE" init "$T/other"
cp "$T/other/master.key" "$T/copy/master.key"
snap copy "$T/copy"
expect_fail 1 "$SLUICE" -d "$T/copy" query --contract "$C" --identity "$D/pacific-insurance.key" "$Q"
expect_stderr_contains "wrong master key for this data directory"
same copy "$T/copy" "the refused query changed nothing"

note "a wrong passphrase"
printf 'correct horse battery\n' >"$T/pass"
printf 'correct horse batterY\n' >"$T/wrong"
chmod 600 "$T/pass" "$T/wrong"
P="$T/p"
expect_ok "$SLUICE" init --passphrase-file "$T/pass" "$P"
export SLUICE_PASSPHRASE_FILE="$T/pass"
for p in city-health-bureau:holder ningbo-data-ops:operator acme-merchant:merchant pacific-insurance:buyer; do
	expect_ok "$SLUICE" -d "$P" party add "${p%%:*}" --role "${p##*:}" --out "$T/p-${p%%:*}.key"
done
expect_ok "$SLUICE" -d "$P" product add claims --schema "$D/claims.schema.json" --merchant acme-merchant \
	--holder city-health-bureau --operator ningbo-data-ops
expect_ok "$SLUICE" -d "$P" product load claims "$D/claims.csv"
"$SLUICE" -d "$P" contract offer --product claims --buyer pacific-insurance --terms "$D/insurer.terms.json" \
	--out "$T/pc.json" >/dev/null || fail "offer"
for k in city-health-bureau ningbo-data-ops acme-merchant pacific-insurance; do
	"$SLUICE" contract sign "$T/pc.json" --identity "$T/p-$k.key" >/dev/null || fail "sign $k"
done
expect_ok "$SLUICE" -d "$P" contract submit "$T/pc.json"
PC=$(json_file "$T/pc.json" 'd["id"]')
expect_ok "$SLUICE" -d "$P" query --contract "$PC" --identity "$T/p-pacific-insurance.key" "$Q"
snap p "$P"
for pf in "$T/wrong" ""; do
	SLUICE_PASSPHRASE_FILE=$pf
	expect_fail 1 "$SLUICE" -d "$P" query --contract "$PC" --identity "$T/p-pacific-insurance.key" "$Q"
	if [ -n "$pf" ]; then
		expect_stderr_contains "wrong passphrase"
	else
		expect_stderr_contains "give --passphrase-file F"
	fi
	expect_fail 1 "$SLUICE" -d "$P" product load claims "$D/claims.csv"
	expect_fail 1 "$SLUICE" -d "$P" keys rotate-product claims
done
same p "$P" "the refused commands changed nothing"
unset SLUICE_PASSPHRASE_FILE

note "key and passphrase files others may read"
for m in 640 604 644 660; do
	cp "$D/pacific-insurance.key" "$T/loose.key"
	chmod "$m" "$T/loose.key"
	expect_fail 1 "$SLUICE" -d "$X" query --contract "$C" --identity "$T/loose.key" "$Q"
	expect_stderr_contains "mode $m lets group or others use it"
	expect_stderr_contains "chmod 600"
	chmod "$m" "$T/pass"
	expect_fail 1 "$SLUICE" -d "$P" --passphrase-file "$T/pass" keys status
	expect_stderr_contains "mode $m lets group or others use it"
	chmod 600 "$T/pass"
	chmod "$m" "$X/master.key"
	expect_fail 1 "$SLUICE" -d "$X" keys status
	expect_stderr_contains "chmod 600"
	chmod 600 "$X/master.key"
done
expect_ok "$SLUICE" -d "$X" query --contract "$C" --identity "$D/pacific-insurance.key" "$Q"
pass
