#!/bin/sh
# The libFuzzer harnesses (tests/fuzz/*_fuzz.c, `make fuzz`: clang with
# -fsanitize=fuzzer,address,undefined) run over their seed corpora and then
# fuzz for FUZZ_SECONDS each (default 6): a crash, a leak, a timeout or a
# failed check in any of them fails the test.  The corpora in
# tests/fuzz/corpus/<target>/ (the SQL one in tests/fuzz/sql_corpus/) are
# the regression inputs; what a run finds new goes to a scratch copy only.
. "${top_srcdir:-.}/tests/integration/lib.sh"
need clang
SECS=${FUZZ_SECONDS:-6}
# libFuzzer's runtime is a separate Debian package: without it nothing links.
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' >"$T/probe.c"
clang -fsanitize=fuzzer "$T/probe.c" -o "$T/probe" 2>/dev/null ||
	skip "clang cannot link libFuzzer (apt-get install clang libclang-rt-14-dev)"
B=${top_builddir:-.}
expect_ok ${MAKE:-make} -s -C "$B" fuzz
for t in sql csv job schema terms contract audit identity plan_check exec ingest http; do
	if [ "$t" = sql ]; then seeds="$top_srcdir/tests/fuzz/sql_corpus"; else seeds="$top_srcdir/tests/fuzz/corpus/$t"; fi
	check "the $t corpus has seeds" test -n "$(ls "$seeds")"
	mkdir -p "$T/$t"
	expect_ok "$B/tests/fuzz/${t}_fuzz" -runs=0 "$seeds"
	dict=
	[ -f "$top_srcdir/tests/fuzz/$t.dict" ] && dict=-dict="$top_srcdir/tests/fuzz/$t.dict"
	expect_ok "$B/tests/fuzz/${t}_fuzz" -max_len=4096 -timeout=10 -rss_limit_mb=2048 $dict \
		-max_total_time="$SECS" -print_final_stats=1 "$T/$t" "$seeds"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$ERR")
	ok "$t: $runs inputs in $SECS s, no crash, leak or timeout"
done
pass
