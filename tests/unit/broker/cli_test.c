/*
 * tests/unit/broker/cli_test.c -- the command-table parser: what a spec
 * accepts, what it refuses with CLI_USAGE, and the values its getters give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/cli.h"

/* What the spec's run saw, for the test to check. */
static struct {
	int runs;
	const char *name, *out, *tag0, *tag1, *tag2, *arg0, *arg1;
	int json, verbose;
	int64_t n;
} seen;

static int
record(const struct cli *cli, const struct cli_args *a)
{
	(void)cli;
	seen.runs++;
	seen.name = cli_opt(a, "name");
	seen.out = cli_opt(a, "out");
	seen.tag0 = cli_opt_nth(a, "tag", 0);
	seen.tag1 = cli_opt_nth(a, "tag", 1);
	seen.tag2 = cli_opt_nth(a, "tag", 2);
	seen.json = cli_flag(a, "json");
	seen.verbose = cli_flag(a, "verbose");
	seen.n = cli_count(a, "number", -1);
	seen.arg0 = cli_arg(a, 0);
	seen.arg1 = cli_arg(a, 1);
	return CLI_OK;
}

static const struct cli_spec spec = {
    .path = "thing do",
    .summary = "do a thing",
    .args = {{"A"}, {"B"}},
    .opts =
        {
            {"name", 'n', CLI_STRING, "NAME", "a name"},
            {"out", 0, CLI_STRING, "FILE", "where", CLI_REQUIRED},
            {"tag", 0, CLI_STRING, "T", "a tag", CLI_REPEAT},
            {"json", 0, CLI_FLAG, NULL, "json", CLI_EXCL_NEXT},
            {"verbose", 'v', CLI_FLAG, NULL, "more"},
            {"number", 0, CLI_COUNT, "N", "a number", 0, 2, 10, "a number of 2..10"},
            {"format", 0, CLI_CHOICE, "csv|jsonl", "a format"},
            {"nominal", 0, CLI_FLAG, NULL, "shares a prefix with name"},
        },
    .run = record,
};

/* Run spec on the words of line (at most 16; '' is an empty one), after argv[0] "do". */
static int
run(const char *line)
{
	static char buf[512]; /* seen points into it */
	char *argv[18], *p;
	int argc = 0;

	memset(&seen, 0, sizeof seen);
	snprintf(buf, sizeof buf, "do %s", line);
	for (p = buf; *p != '\0' && argc < 17;) {
		argv[argc++] = p;
		p += strcspn(p, " ");
		if (*p == ' ')
			*p++ = '\0';
		if (strcmp(argv[argc - 1], "''") == 0)
			argv[argc - 1][0] = '\0';
	}
	argv[argc] = NULL;
	return cli_spec_run(NULL, &spec, argc, argv);
}

static void
test_accepts(void **state)
{
	(void)state;
	assert_int_equal(run("a --out f b"), CLI_OK);
	assert_int_equal(seen.runs, 1);
	assert_string_equal(seen.out, "f");
	assert_string_equal(seen.arg0, "a");
	assert_string_equal(seen.arg1, "b");
	assert_null(seen.name);
	assert_int_equal(seen.n, -1);

	/* =value, a short option with its value attached or apart, a cluster. */
	assert_int_equal(run("--out=f -nX -v a b"), CLI_OK);
	assert_string_equal(seen.name, "X");
	assert_int_equal(seen.verbose, 1);
	assert_int_equal(run("--out f -vn Y a b"), CLI_OK);
	assert_string_equal(seen.name, "Y");
	/* A unique prefix; the last of a repeated plain option; every repeat of CLI_REPEAT. */
	assert_int_equal(run("--ou f --nu 7 --out g --tag 1 --tag 2 a b"), CLI_OK);
	assert_string_equal(seen.out, "g");
	assert_int_equal(seen.n, 7);
	assert_string_equal(seen.tag0, "1");
	assert_string_equal(seen.tag1, "2");
	assert_null(seen.tag2);
	/* "--" ends the options; "-" is an argument; a value may start with "-". */
	assert_int_equal(run("--out -x -- --name -"), CLI_OK);
	assert_string_equal(seen.out, "-x");
	assert_string_equal(seen.arg0, "--name");
	assert_string_equal(seen.arg1, "-");
	assert_null(seen.name);
	assert_int_equal(run("--out '' --format jsonl a b"), CLI_OK);
	assert_string_equal(seen.out, "");
}

static void
test_refuses(void **state)
{
	static const char *const bad[] = {
	    "a b",                          /* missing --out */
	    "--out f a",                    /* missing B */
	    "--out f a b c",                /* too many */
	    "--out f a b --bogus",          /* unknown */
	    "--out f a b -x",               /* unknown short */
	    "--out f a b --n X",            /* ambiguous: name, nominal, number */
	    "--out f a b --json=1",         /* a flag with a value */
	    "a b --out",                    /* no value */
	    "a b --out f -n",               /* no value */
	    "--out f a b --number 1",       /* below min */
	    "--out f a b --number 11",      /* above max */
	    "--out f a b --number 5x",      /* not a number */
	    "--out f a b --number -5",      /* not a whole number */
	    "--out f a b --format xml",     /* not a choice */
	    "--out f a b --format cs",      /* a prefix is no choice */
	    "--out f a b --json --verbose", /* excluded */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		print_message("refuses: %s\n", bad[i]);
		assert_int_equal(run(bad[i]), CLI_USAGE);
		assert_int_equal(seen.runs, 0);
	}
}

static void
test_help(void **state)
{
	(void)state;
	/* --help wins over what is missing, and runs nothing. */
	assert_int_equal(run("--help"), CLI_OK);
	assert_int_equal(seen.runs, 0);
	assert_int_equal(run("a -h"), CLI_OK);
	assert_int_equal(seen.runs, 0);
	/* ... but not over a usage error before it. */
	assert_int_equal(run("--bogus --help"), CLI_USAGE);
}

static void
test_global(void **state)
{
	static const struct cli_spec g = {
	    .opts =
	        {
	            {"dir", 'd', CLI_STRING, "DIR", "dir", CLI_SHORT_ONLY},
	            {"help", 'h', CLI_FLAG, NULL, "help"},
	        },
	};
	char w0[] = "sluice", w1[] = "-dX", w2[] = "party", w3[] = "--dir", w4[] = "X";
	char *argv[] = {w0, w1, w2, w3, NULL};
	char *argv2[] = {w0, w3, w4, w2, NULL};
	struct cli_args *a = NULL;
	int next = 0;

	(void)state;
	/* Parsing stops at the command: its options are its own. */
	assert_int_equal(cli_parse_global(&g, 4, argv, &a, &next), CLI_OK);
	assert_int_equal(next, 2);
	assert_string_equal(cli_opt(a, "dir"), "X");
	assert_int_equal(cli_flag(a, "help"), 0);
	cli_args_free(a);
	/* A short-only option has no long form. */
	assert_int_equal(cli_parse_global(&g, 4, argv2, &a, &next), CLI_USAGE);
	assert_null(a);
}

/* x's shortest form, and that it reads back as x, sign of zero included. */
static void
assert_real(double x, const char *want)
{
	char text[CLI_REAL_TEXT_BYTES];
	double back;

	cli_real_text(x, text);
	assert_string_equal(text, want);
	back = strtod(text, NULL);
	assert_memory_equal(&back, &x, sizeof x);
}

static void
test_real_text(void **state)
{
	(void)state;
	assert_real(196035.79, "196035.79");
	assert_real(0.1, "0.1");
	assert_real(1e300, "1e+300");
	assert_real(5e-324, "5e-324");
	assert_real(-0.0, "-0.0");
	assert_real(0.0, "0.0");
	assert_real(2.0, "2.0");
	assert_real(-2.5, "-2.5");
	assert_real(1.0 / 3.0, "0.3333333333333333");
	assert_real(0.1 + 0.2, "0.30000000000000004");
	assert_real(123456789012345678.0, "1.2345678901234568e+17");
	assert_real(1.7976931348623157e308, "1.7976931348623157e+308");
	assert_real(-2.2250738585072014e-308, "-2.2250738585072014e-308");
}

/* The text of the JSON document src (parsed with real numbers kept) as cli_json_text() writes it. */
static char *
text_of(const char *src)
{
	json_t *doc = json_loads(src, JSON_DECODE_ANY, NULL);
	char *text;

	assert_non_null(doc);
	text = cli_json_text(doc);
	json_decref(doc);
	assert_non_null(text);
	return text;
}

static void
test_json_text(void **state)
{
	static const char *const same[] = {
	    "{}",
	    "[]",
	    "{\"a\": [], \"b\": {}}",
	    "[1, \"x\", null, true, false]",
	    "{\"z\": 1, \"a\": {\"y\": [1, [2, {\"q\": \"\\u00e9\\n\"}]], \"b\": null}}",
	    "\"caf\\u00e9\"",
	    "{\"\\u00e9\\\"\": 3}",
	    "42",
	    /* Every escape jansson writes: controls, quote, backslash, slash kept, DEL kept. */
	    "\"\\u0001\\b\\f\\n\\r\\t\\u001f \\\" \\\\ / \\u007f\"",
	    /* Two-, three- and four-byte UTF-8: the last one a surrogate pair. */
	    "{\"\\u6570\\u636e\": \"\\u00e9\\u6570\\ud83d\\ude00\\uffff\\u0800x\"}",
	    "-9223372036854775807",
	    /* Indented past one run of spaces. */
	    "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
	};
	json_t *doc;
	char *text, *want;
	size_t i;

	(void)state;
	/* Without reals: byte for byte what jansson writes, key order kept. */
	for (i = 0; i < sizeof same / sizeof same[0]; i++) {
		text = text_of(same[i]);
		doc = json_loads(same[i], JSON_DECODE_ANY, NULL);
		want = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
		assert_string_equal(text, want);
		free(want);
		free(text);
		json_decref(doc);
	}
	/* Reals in their shortest form, still reals. */
	doc = json_pack(
	    "{s:f, s:[f, f, f], s:f}", "sum", 196035.79, "r", 2.0, -0.0, 1.0 / 3.0, "tiny", 5e-324);
	assert_non_null(doc);
	text = cli_json_text(doc);
	assert_string_equal(text, "{\n  \"sum\": 196035.79,\n  \"r\": [\n    2.0,\n    -0.0,\n"
	                          "    0.3333333333333333\n  ],\n  \"tiny\": 5e-324\n}");
	free(text);
	json_decref(doc);
	/* Too deep: refused, not a stack overflow. */
	doc = json_array();
	for (i = 0; i < CLI_JSON_DEPTH_MAX; i++)
		doc = json_pack("[o]", doc);
	assert_null(cli_json_text(doc));
	json_decref(doc);
}

static void
test_table(void **state)
{
	static const char *const head[] = {"NAME", "N", "NOTE"};
	struct cli_table *t = cli_table_new(3, "lrl", head);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(t);
	/* Columns as wide as their widest cell; no trailing blanks; a line of its own. */
	assert_int_equal(cli_table_add(t, (const char *const[]){"a", "1", "x"}), 0);
	assert_int_equal(cli_table_line(t, "a heading wider than every column"), 0);
	assert_int_equal(
	    cli_table_add(t, (const char *const[]){"city-health-bureau", "100", NULL}), 0);
	assert_int_equal(cli_table_add(t, (const char *const[]){"b", NULL, NULL}), 0);
	assert_non_null(f = open_memstream(&text, &len));
	cli_table_print(t, f, "> ");
	assert_int_equal(fclose(f), 0);
	assert_string_equal(text, "> NAME                  N  NOTE\n"
	                          "> a                     1  x\n"
	                          "a heading wider than every column\n"
	                          "> city-health-bureau  100\n"
	                          "> b\n");
	free(text);
	cli_table_free(t);
	cli_table_print(NULL, stdout, "");
	cli_table_free(NULL);
	/* The alignment letters must name every column. */
	assert_null(cli_table_new(3, "lr", head));
	assert_null(cli_table_new(0, "", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),
	    cmocka_unit_test(test_refuses),
	    cmocka_unit_test(test_help),
	    cmocka_unit_test(test_global),
	    cmocka_unit_test(test_real_text),
	    cmocka_unit_test(test_json_text),
	    cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
