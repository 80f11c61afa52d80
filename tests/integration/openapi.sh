#!/bin/sh
# docs/openapi.yaml describes exactly the daemon's routes: every route of
# `sluice serve --routes` with its method and roles, and nothing else.  The
# file is read by its layout (paths at two spaces, methods at four,
# x-sluice-roles at six), which the check itself enforces.
. "${top_srcdir:-.}/tests/integration/lib.sh"

expect_ok "$SLUICE" serve --routes
sort "$OUT" >"$T/daemon"
check "the daemon has routes" test -s "$T/daemon"
python3 - "$top_srcdir/docs/openapi.yaml" >"$T/doc.unsorted" <<'PY' || fail "docs/openapi.yaml: $(cat "$T/doc.unsorted")"
import re, sys
lines = open(sys.argv[1]).read().split("\n")
try:
    start = lines.index("paths:")
except ValueError:
    print("no paths:"); sys.exit(1)
path = method = None
for line in lines[start + 1:]:
    if line and not line.startswith(" "):
        break
    m = re.match(r"^  (/\S*):$", line)
    if m:
        path = m.group(1); continue
    m = re.match(r"^    (get|post|put|delete|patch):$", line)
    if m:
        if method is not None:
            print("%s %s has no x-sluice-roles" % method); sys.exit(1)
        method = (m.group(1).upper(), path); continue
    m = re.match(r"^      x-sluice-roles: \[(.*)\]$", line)
    if m:
        if method is None:
            print("x-sluice-roles outside an operation under", path); sys.exit(1)
        order = ["platform", "holder", "operator", "merchant", "buyer", "auditor", "public"]
        roles = [r.strip() for r in m.group(1).split(",")]
        if sorted(roles, key=order.index) != roles:
            print("%s %s: roles out of order" % method); sys.exit(1)
        print("%s %s %s" % (method[0], method[1], ",".join(roles)))
        method = None
if method is not None:
    print("%s %s has no x-sluice-roles" % method); sys.exit(1)
PY
sort "$T/doc.unsorted" >"$T/doc"
diff "$T/daemon" "$T/doc" >"$T/diff"
check "docs/openapi.yaml and the daemon agree on routes and roles$(sed 's/^/\n  /' "$T/diff")" test ! -s "$T/diff"

# The check can fail: a route the file lacks, and one it has extra.
grep -v '^GET /v1/health ' "$T/doc" >"$T/doc-"
check "a missing route is noticed" sh -c "! diff -q '$T/daemon' '$T/doc-' >/dev/null"
{ cat "$T/doc"; echo "GET /v1/extra buyer"; } | sort >"$T/doc+"
check "an extra route is noticed" sh -c "! diff -q '$T/daemon' '$T/doc+' >/dev/null"
pass
