#!/bin/sh
# Audit log: export, offline verify, and every tamper case named (issue 3).
# Both suites.  Needs python3 to edit exports precisely.
set -u
. "$(dirname "$0")/lib.sh"

# Rewrite line N of FILE with a python expression over `l` (the line, str).
edit_line() { # FILE N EXPR
	python3 - "$1" "$2" "$3" <<'PY'
import sys
path, n, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path, encoding="utf-8").read().split("\n")
l = lines[n - 1]
lines[n - 1] = eval(expr)
open(path, "w", encoding="utf-8").write("\n".join(lines))
PY
}

# Tamper with an export precisely (tests/integration/audit_edit.py).
edit() { # SRC DST OP ARGS...
	python3 "$top_srcdir/tests/integration/audit_edit.py" "$suite" "$@" || fail "audit_edit.py $*"
}

verify_fails_with() { # FILE TEXT [ARGS...]
	f=$1 text=$2
	shift 2
	expect_fail 1 "$SLUICE" audit verify "$f" --key "$D/platform.pub" "$@"
	expect_stdout_contains "$text"
}

for suite in intl gm; do
	note "suite $suite"
	D="$T/$suite"
	expect_ok "$SLUICE" init --suite "$suite" "$D"
	expect_ok "$SLUICE" -d "$D" party add hb --role holder --out "$T/$suite-hb.key"
	expect_ok "$SLUICE" -d "$D" party add ops --role operator --out "$T/$suite-ops.key"
	expect_ok "$SLUICE" -d "$D" keys rotate-master
	expect_ok "$SLUICE" -d "$D" party add acme --role merchant --out "$T/$suite-acme.key"

	# The log holds what happened, in order.
	expect_ok "$SLUICE" -d "$D" audit show --json
	actions=$(python3 -c 'import json,sys; print(" ".join(e["action"] for e in json.load(open(sys.argv[1]))["events"]))' "$OUT")
	[ "$actions" = "exchange.initialized party.added party.added keys.master_rotated party.added" ] ||
		fail "audit show actions: $actions"
	expect_ok "$SLUICE" -d "$D" audit show --action party.added
	[ "$(grep -c party.added "$OUT")" -eq 3 ] || fail "audit show --action filters"
	expect_ok "$SLUICE" -d "$D" audit show --actor system --json
	[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["events"]))' "$OUT")" = 1 ] ||
		fail "audit show --actor filters"

	E="$T/$suite-e1.jsonl"
	expect_ok "$SLUICE" -d "$D" audit export --out "$E"
	[ -f "$E.checkpoint.json" ] || fail "no checkpoint file beside the export"
	# header, 6 events (the export is itself an event), checkpoint
	[ "$(wc -l <"$E")" -eq 8 ] || fail "export has $(wc -l <"$E") lines, want 8"
	expect_ok "$SLUICE" audit verify "$E" --key "$D/platform.pub"
	expect_stdout_contains "events 1..6 of 6 verified"
	expect_stdout_contains "good signature"
	# Without --key it says which key it used.
	expect_ok "$SLUICE" audit verify "$E"
	expect_stdout_contains "header"
	expect_ok "$SLUICE" audit verify "$E" --json
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and d["tree_size"]==6' "$OUT" ||
		fail "verify --json"

	# 1. One byte of an event edited.
	cp "$E" "$T/x"; edit_line "$T/x" 3 'l.replace("\"hb\"", "\"hc\"", 1)'
	verify_fails_with "$T/x" "event seq 2: edited"
	# 2. An event deleted.
	sed '4d' "$E" >"$T/x"
	verify_fails_with "$T/x" "event seq 3: missing"
	# 3. Two events swapped.
	awk 'NR == 4 { held = $0; next } NR == 5 { print; print held; next } { print }' "$E" >"$T/x"
	verify_fails_with "$T/x" "event seq 3: reordered"
	# 4. A forged event appended before the checkpoint: a copy of the last, seq + 1.
	python3 - "$E" "$T/x" <<'PY'
import sys, json, hashlib
src, dst = sys.argv[1], sys.argv[2]
lines = open(src).read().rstrip("\n").split("\n")
ev = json.loads(lines[6])["event"]
ev["seq"] = 7; ev["action"] = "party.removed"
b = json.dumps(ev, separators=(",", ":"), sort_keys=True)
forged = '{"event":%s,"leaf":"%s"}' % (b, "00" * 32)
lines.insert(7, forged)
open(dst, "w").write("\n".join(lines) + "\n")
PY
	verify_fails_with "$T/x" "event seq 7: e"
	# ... and after the checkpoint.
	cp "$E" "$T/x"; sed -n '7p' "$E" >>"$T/x"
	verify_fails_with "$T/x" "extra event after the checkpoint"
	# 5. Truncated: the checkpoint cut off; or the last events cut off.
	head -n 7 "$E" >"$T/x"
	verify_fails_with "$T/x" "truncated"
	sed '6,7d' "$E" >"$T/x"
	verify_fails_with "$T/x" "event seq 5: missing (truncated"
	# 6. The checkpoint changed: its size, its root, its time.
	cp "$E" "$T/x"; edit_line "$T/x" 8 'l.replace("\"tree_size\":6", "\"tree_size\":5")'
	verify_fails_with "$T/x" "bad signature"
	cp "$E" "$T/x"; edit_line "$T/x" 8 'l.replace("\"time\":\"2", "\"time\":\"1")'
	verify_fails_with "$T/x" "bad signature"
	# 7. An event edited with its leaf hash recomputed: only the signed root catches it.
	python3 - "$E" "$T/x" "$suite" <<'PY'
import sys, hashlib, subprocess
src, dst, suite = sys.argv[1:4]
lines = open(src).read().rstrip("\n").split("\n")
l = lines[2]
ev = l[len('{"event":'):-len(',"leaf":"') - 64 - 2].replace('"hb"', '"hc"', 1)
data = b"\x00" + ev.encode()
if suite == "intl":
    h = hashlib.sha256(data).hexdigest()
else:
    h = subprocess.run(["openssl", "dgst", "-sm3", "-r"], input=data, capture_output=True).stdout.split()[0].decode()
lines[2] = '{"event":%s,"leaf":"%s"}' % (ev, h)
open(dst, "w").write("\n".join(lines) + "\n")
PY
	verify_fails_with "$T/x" "root mismatch"
	# 8. Another exchange's key: the header names a different key, and both are named;
	#    with the header's key swapped for it too, the checkpoint names the signer.
	expect_ok "$SLUICE" init --suite "$suite" "$T/$suite-other"
	OTHER="$T/$suite-other/platform.pub"
	verify_fails_with "$E" "line 1: the header's \"platform_key\" is $(fingerprint "$suite" "$D/platform.pub"), not the --key $(fingerprint "$suite" "$OTHER")" --key "$OTHER"
	edit "$E" "$T/x" member 1 platform_key "$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$OTHER")"
	verify_fails_with "$T/x" "names signing key" --key "$OTHER"
	# ... and a header key that is no key at all fails even with --key.
	edit "$E" "$T/x" member 1 platform_key '"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"'
	verify_fails_with "$T/x" 'line 1: "platform_key" is not an Ed25519 or SM2 public key'
	# Garbage and empty files are refused, not crashed on.
	printf 'not json\n' >"$T/x"
	verify_fails_with "$T/x" "not a JSON object"
	: >"$T/x"
	verify_fails_with "$T/x" "empty file"

	note "the verifier is strict: one byte form, exactly the members defined, suite $suite"
	# Unknown members, in every structure the format defines, named with their line.
	edit "$E" "$T/x" member 1 comment '"hi"'
	verify_fails_with "$T/x" 'line 1: the header has unknown member "comment"'
	edit "$E" "$T/x" member 8 comment '"hi"'
	verify_fails_with "$T/x" 'line 8: the checkpoint line has unknown member "comment"'
	edit "$E" "$T/x" body-member 8 comment '"hi"'
	verify_fails_with "$T/x" 'line 8: checkpoint: "checkpoint": unknown member "comment"'
	edit "$E" "$T/x" event-member 3 comment '"hi"'
	verify_fails_with "$T/x" 'event seq 2 (line 3): unknown member "comment"'
	# An event whose leaf matches its bytes is still refused unless it is canonical and
	# of the format's shape (the fast check says no; the message comes from a parse).
	edit "$E" "$T/x" event-text 3 '"time":"' '"time":"\/'
	verify_fails_with "$T/x" "line 3: event is not in canonical form"
	edit "$E" "$T/x" event-text 3 '"details":{' '"details" :{'
	verify_fails_with "$T/x" "line 3: event is not in canonical form"
	edit "$E" "$T/x" event-text 3 '"subject":"' '"subject":7,"sz":"'
	verify_fails_with "$T/x" 'event seq 2 (line 3): unknown member "sz"'
	# A missing member is named too.
	python3 -c 'import json,sys; h=json.loads(open(sys.argv[1]).readline()); h.pop("platform_key"); print(json.dumps(h, sort_keys=True, separators=(",", ":")))' "$E" >"$T/x"
	tail -n +2 "$E" >>"$T/x"
	verify_fails_with "$T/x" 'line 1: the header lacks member "platform_key"'
	# No line may be reformatted, not even those the signature does not cover.
	edit "$E" "$T/x" reformat 1
	verify_fails_with "$T/x" "line 1: the header is not in canonical form"
	edit "$E" "$T/x" reformat 8
	verify_fails_with "$T/x" "line 8: the checkpoint line is not in canonical form"
	# Every line ends with a newline: a file without the last one was cut short.
	edit "$E" "$T/x" no-newline
	verify_fails_with "$T/x" "line 8: no newline at its end"
	# A prefix or suffix appears exactly when the range needs one, never empty.
	edit "$E" "$T/x" insert 2 '{"frontier":[],"tree_size":0,"type":"prefix"}'
	verify_fails_with "$T/x" "line 2: a prefix, but the header's \"from\" is 1"
	edit "$E" "$T/x" insert 8 '{"leaves":[],"type":"suffix"}'
	verify_fails_with "$T/x" "line 8: a suffix, but the header's \"until\" is the end of the log (6)"
	# Anyone can cut the head and tail off a whole export, and the cut file verifies:
	# only the range printed shows whether the file is the whole log.
	edit "$E" "$T/cut.jsonl" cut 3 5
	expect_ok "$SLUICE" audit verify "$T/cut.jsonl" --key "$D/platform.pub"
	expect_stdout_contains "events 3..5 of 6 verified"
	expect_stdout_contains "NOT the whole log"
	expect_ok "$SLUICE" audit verify "$T/cut.jsonl" --key "$D/platform.pub" --json
	json_eq "a cut export is not complete" 'd["complete"]' false
	expect_ok "$SLUICE" audit verify "$E" --key "$D/platform.pub" --json
	json_eq "a whole export is complete" 'd["complete"]' true
	# ... and a cut file that lost its prefix or its suffix says which.
	sed '2d' "$T/cut.jsonl" >"$T/x"
	verify_fails_with "$T/x" "line 2: expected the prefix (the frontier of events 1..2)"
	edit "$T/cut.jsonl" "$T/x" reformat 6
	verify_fails_with "$T/x" "line 6: the suffix is not in canonical form"
	sed '6d' "$T/cut.jsonl" >"$T/x"
	verify_fails_with "$T/x" "event seq 6: missing (truncated"

	note "a rewritten database is caught, and checkpoints.log repaired, suite $suite"
	REWRITE="$top_srcdir/tests/integration/audit_rewrite.py"
	fresh() { # NAME: R is a new copy of $D; its checkpoints and log are remembered
		R="$T/$suite-$1"
		cp -a "$D" "$R"
		cp "$R/checkpoints.log" "$T/log.before"
		signed_before=$(sql "$R/sluice.db" "SELECT count(*) FROM audit_checkpoints")
	}
	nothing_signed() { # DESC
		check "$1: no export written" [ ! -e "$T/rw.jsonl" ]
		check_eq "$1: nothing signed" "$(sql "$R/sluice.db" "SELECT count(*) FROM audit_checkpoints")" "$signed_before"
		check "$1: checkpoints.log unchanged" cmp -s "$R/checkpoints.log" "$T/log.before"
	}
	check_eq "checkpoints.log has the export's checkpoint" "$(wc -l <"$D/checkpoints.log")" 1
	check "checkpoints.log holds the signed document" python3 -c '
import json, sys
a = json.loads(open(sys.argv[1]).readline())
b = json.load(open(sys.argv[2]))
b.pop("type")
assert a == b' "$D/checkpoints.log" "$E.checkpoint.json"
	# 1. Event 2 and its leaf rewritten and the frontier recomputed: the database agrees
	#    with itself, but its leaves no longer give checkpoint 6's signed root.
	fresh rewritten
	python3 "$REWRITE" "$R/sluice.db" "$suite" 2 '"hb"' '"hc"' >/dev/null || fail "rewrite event 2"
	expect_fail 1 "$SLUICE" -d "$R" audit export --out "$T/rw.jsonl"
	expect_stderr_contains "the events up to 6 no longer match checkpoint 6"
	nothing_signed "rewritten event"
	# 2. Only the event's bytes changed: its leaf no longer matches, found before signing.
	fresh bytes
	python3 "$REWRITE" "$R/sluice.db" "$suite" 2 '"hb"' '"hc"' --no-leaf --no-frontier >/dev/null || fail "edit event 2"
	expect_fail 1 "$SLUICE" -d "$R" audit export --out "$T/rw.jsonl"
	expect_stderr_contains "event 2 no longer matches its leaf hash"
	expect_stderr_contains "refusing to sign"
	nothing_signed "edited event"
	# 3. The stored frontier replaced: it is not the tree of the stored leaves.
	fresh frontier
	sql "$R/sluice.db" "UPDATE audit_tree SET frontier = randomblob(length(frontier))"
	expect_fail 1 "$SLUICE" -d "$R" audit export --out "$T/rw.jsonl"
	expect_stderr_contains "is not the tree of the 7 stored leaves"
	expect_stderr_contains "refusing to sign"
	nothing_signed "forged frontier"
	# 4. The checkpoint rows deleted: checkpoints.log still has them; any command fails.
	fresh deleted
	sql "$R/sluice.db" "DELETE FROM audit_checkpoints"
	expect_fail 1 "$SLUICE" -d "$R" audit show
	expect_stderr_contains "checkpoints.log has checkpoint 6 that the database lacks: the audit log was rewritten"
	expect_fail 1 "$SLUICE" -d "$R" audit export --out "$T/rw.jsonl"
	expect_stderr_contains "checkpoints.log has checkpoint 6 that the database lacks"
	check "deleted rows: no export written" [ ! -e "$T/rw.jsonl" ]
	# ... or one replaced by another signed document (here the line with a changed time).
	fresh replaced
	sql "$R/sluice.db" "UPDATE audit_checkpoints SET document = replace(document, '\"time\":\"2', '\"time\":\"1')"
	expect_fail 1 "$SLUICE" -d "$R" audit show
	expect_stderr_contains "checkpoint 6 (line 1) differs from the database's"
	# 5. A crash after the commit, before the append: the next open appends it again,
	#    whether the line is missing or cut short.
	fresh crashed
	: >"$R/checkpoints.log"
	expect_ok "$SLUICE" -d "$R" audit show
	check "a missing line is appended at open" cmp -s "$R/checkpoints.log" "$T/log.before"
	head -c 40 "$T/log.before" >"$R/checkpoints.log"
	expect_ok "$SLUICE" -d "$R" audit show
	check "a torn line is replaced at open" cmp -s "$R/checkpoints.log" "$T/log.before"
	# 6. A data directory from before checkpoints.log: created from the database.
	rm "$R/checkpoints.log"
	expect_ok "$SLUICE" -d "$R" audit show
	check "checkpoints.log recreated from the verified rows" cmp -s "$R/checkpoints.log" "$T/log.before"
	# ... but not from a database whose checkpoint its leaves no longer match.
	rm "$R/checkpoints.log"
	python3 "$REWRITE" "$R/sluice.db" "$suite" 2 '"hb"' '"hc"' >/dev/null || fail "rewrite event 2"
	expect_fail 1 "$SLUICE" -d "$R" audit show
	expect_stderr_contains "the events up to 6 no longer match checkpoint 6"
	# 7. A line the platform never signed, appended to the log.
	fresh forged
	sed 's/"tree_size":6/"tree_size":7/' "$T/log.before" >>"$R/checkpoints.log"
	expect_fail 1 "$SLUICE" -d "$R" audit show
	expect_stderr_contains "checkpoints.log has checkpoint 7 that the database lacks"

	# A copy of the exchange taken now will diverge from it: a rewritten history.
	cp -a "$D" "$T/$suite-fork"

	# A later export extends the earlier one: --since proves it.
	expect_ok "$SLUICE" -d "$D" party add bob --role buyer --out "$T/$suite-bob.key"
	E2="$T/$suite-e2.jsonl"
	expect_ok "$SLUICE" -d "$D" audit export --out "$E2" --since "$E.checkpoint.json"
	expect_ok "$SLUICE" audit verify "$E2" --key "$D/platform.pub" --since "$E.checkpoint.json"
	expect_stdout_contains "consistent with the checkpoint of tree size 6"
	# A tampered proof, or a proof missing, fails.
	cp "$E2" "$T/x"; edit_line "$T/x" $(wc -l <"$E2") '(lambda i: l[:i] + ("0" if l[i] != "0" else "1") + l[i + 1:])(l.index("\"proof\":[\"") + 10)'
	verify_fails_with "$T/x" "consistency proof mismatch" --since "$E.checkpoint.json"
	verify_fails_with "$E" "no consistency proof" --since "$E.checkpoint.json"
	# Without --since the consistency line is still checked, and said to be unanchored.
	expect_ok "$SLUICE" audit verify "$E2" --key "$D/platform.pub"
	expect_stdout_contains "consistency proof from tree size 6 checks, but its starting root is not signed"
	expect_ok "$SLUICE" audit verify "$E2" --key "$D/platform.pub" --json
	json_eq "an unanchored proof is reported" '[d["proof_from_size"], "since_tree_size" in d]' '[6,false]'
	L2=$(wc -l <"$E2")
	verify_fails_with "$T/x" "line $L2: consistency proof mismatch"
	# The newest checkpoint on its own: the one E2's export signed, a --since for the next.
	expect_ok "$SLUICE" -d "$D" audit checkpoint --out "$T/$suite-cp.json"
	check "the checkpoint command hands out E2's checkpoint" cmp -s "$T/$suite-cp.json" "$E2.checkpoint.json"
	expect_ok "$SLUICE" -d "$D" audit checkpoint --json
	json_eq "its tree size" 'd["checkpoint"]["tree_size"]' "$(json_file "$E2.checkpoint.json" 'd["checkpoint"]["tree_size"]')"
	expect_fail 1 "$SLUICE" -d "$D" audit checkpoint --identity "$T/$suite-bob.key"
	expect_stderr_contains "only the platform and auditors"
	expect_ok "$SLUICE" -d "$D" party add carol --role buyer --out "$T/$suite-carol.key"
	expect_ok "$SLUICE" -d "$D" audit export --out "$T/$suite-e3.jsonl" --since "$T/$suite-cp.json"
	expect_ok "$SLUICE" audit verify "$T/$suite-e3.jsonl" --key "$D/platform.pub" --since "$T/$suite-cp.json"
	edit "$E2" "$T/x" member "$L2" to_size 99
	verify_fails_with "$T/x" "line $L2: the consistency proof must run from a \"from_size\" in 1..8 to \"to_size\" 8"
	edit "$E2" "$T/x" member "$L2" note '"x"'
	verify_fails_with "$T/x" "line $L2: the consistency line has unknown member \"note\""

	# The fork (same platform key) records something else at seq 7: its log is not
	# an extension of E2's.  Its exporter refuses, and its export cannot prove it.
	F="$T/$suite-fork"
	expect_ok "$SLUICE" -d "$F" party add mallory --role buyer --out "$T/$suite-m.key"
	expect_ok "$SLUICE" -d "$F" party add eve --role buyer --out "$T/$suite-eve.key"
	expect_fail 1 "$SLUICE" -d "$F" audit export --out "$T/fork.jsonl" --since "$E2.checkpoint.json"
	expect_stderr_contains "history differs"
	expect_ok "$SLUICE" -d "$F" audit export --out "$T/fork.jsonl" --since "$E.checkpoint.json"
	expect_ok "$SLUICE" audit verify "$T/fork.jsonl" --key "$D/platform.pub" --since "$E.checkpoint.json"
	verify_fails_with "$T/fork.jsonl" "not from the --since checkpoint" --since "$E2.checkpoint.json"

	# Ranges: part of the log verifies against the whole log's checkpoint.
	expect_ok "$SLUICE" -d "$D" audit export --out "$T/r.jsonl" --from 3 --until 5
	expect_ok "$SLUICE" audit verify "$T/r.jsonl" --key "$D/platform.pub"
	expect_stdout_contains "events 3..5 of"
	sed -i '4s/"subject":"master"/"subject":"mastex"/' "$T/r.jsonl"
	verify_fails_with "$T/r.jsonl" "event seq 4: edited"
	# Bad ranges are refused before anything is written, and log no export.
	exported() { "$SLUICE" -d "$D" audit show --action audit.exported | grep -c audit.exported; }
	before=$(exported)
	expect_fail 2 "$SLUICE" -d "$D" audit export --out "$T/bad.jsonl" --from 5 --until 3
	expect_fail 1 "$SLUICE" -d "$D" audit export --out "$T/bad.jsonl" --until 999
	expect_stderr_contains "--until 999 is beyond the log"
	[ ! -e "$T/bad.jsonl" ] || fail "a refused export left a file"
	[ "$(exported)" = "$before" ] || fail "a refused export logged audit.exported"

	# CSV for spreadsheets.
	expect_ok "$SLUICE" -d "$D" audit export --out "$T/a.csv" --format csv
	python3 - "$T/a.csv" <<'PY' || fail "CSV export"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["seq", "time", "actor", "action", "subject", "details"], rows[0]
assert [r[3] for r in rows[1:3]] == ["exchange.initialized", "party.added"], rows[1:3]
assert all(isinstance(json.loads(r[5]), dict) for r in rows[1:])
assert [int(r[0]) for r in rows[1:]] == list(range(1, len(rows)))
PY
	# A missing --since file, and usage errors.
	expect_fail 1 "$SLUICE" -d "$D" audit export --out "$T/y.jsonl" --since "$T/nope.json"
	expect_stderr_contains "nope.json"
	expect_fail 2 "$SLUICE" -d "$D" audit export
	expect_fail 2 "$SLUICE" audit verify
done
pass
