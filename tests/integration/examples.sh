#!/bin/sh
# examples/ (issue 16): every sample product has terms that stay valid for a
# year, and the README's recipe runs as written, from the top of the tree.
set -u
. "$(dirname "$0")/lib.sh"

note "every sample product has terms, valid a year from now"
for s in "$EX"/*.schema.json; do
	p=$(basename "$s" .schema.json)
	check "terms for $p" [ -f "$EX/$p.terms.json" ]
	check "$p's terms run a year more" python3 -c '
import datetime, json, sys
until = json.load(open(sys.argv[1]))["valid_until"]
year = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=365)
sys.exit(until <= year.strftime("%Y-%m-%dT%H:%M:%SZ"))' "$EX/$p.terms.json"
done

note "the README's recipe"
# The sh block under "## A whole exchange from these files".
awk '/^## A whole exchange/ { q = 1; next } q && /^## / { exit }
     q && /^```sh/ { b = 1; next } b && /^```/ { exit } b { print }' "$EX/README.md" >"$T/recipe.sh"
check "the recipe is there" [ -s "$T/recipe.sh" ]
# It runs from the top of a tree with ./sluice: the build tree, with the
# examples linked in when the sources are elsewhere (make distcheck).
if [ ! -d "$top_builddir/examples" ]; then
	mkdir "$T/top" && ln -s "$top_builddir/sluice" "$top_builddir/sluice-worker" "$EX" "$T/top/" ||
		fail "a tree to run the recipe in"
	top="$T/top"
else
	top=$top_builddir
fi
(cd "$top" && sh -eu "$T/recipe.sh") >"$OUT" 2>"$ERR" || fail "the recipe failed"
ok "the recipe ran"
expect_stdout_contains "checkpoint signed"
expect_stdout_contains "(dp, laplace: epsilon 1 spent"
pass
