/*
 * tests/unit/broker/fault_test.c -- an ingest worker's ERROR places in
 * words from the uploaded file (broker/fault.h): every ingest rule renders
 * from the file and the schema, and a place the file or the schema does not
 * have, or a rule of the other kind, is refused rather than quoted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/fault.h"
#include "common/err.h"
#include "common/schema.h"
#include "sandbox/job.h"

static const char schema_json[] =
    "{\"name\":\"t\",\"columns\":["
    "{\"name\":\"id\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"age\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[0,120]},"
    "{\"name\":\"amt\",\"type\":\"DECIMAL(10,2)\",\"class\":\"measure\",\"bounds\":[0,1000],"
    "\"bounds_mode\":\"reject\"},"
    "{\"name\":\"r\",\"type\":\"REAL\",\"class\":\"measure\",\"bounds\":[-1.5,1.5],"
    "\"bounds_mode\":\"reject\"},"
    "{\"name\":\"day\",\"type\":\"DATE\",\"class\":\"dimension\",\"nullable\":true}]}";

/* A file of len bytes at text, open for reading; the caller closes it. */
static int
file_of(const char *text, size_t len)
{
	FILE *f = tmpfile();
	int fd;

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fflush(f), 0);
	fd = dup(fileno(f));
	fclose(f);
	assert_true(fd >= 0);
	return fd;
}

/*
 * The words of the one place pl in the file text (len bytes) under the
 * test schema, into buf; the return code of the rendering.
 */
static int
render_len(const char *text, size_t len, const struct job_place *pl, char *buf, size_t buflen)
{
	struct job_error_frame *e = calloc(1, sizeof *e);
	struct fault_file *file = calloc(1, sizeof *file);
	struct fault_input in = {0};
	struct schema *sch = NULL;
	int fd = file_of(text, len), r;

	assert_non_null(e);
	assert_non_null(file);
	assert_int_equal(schema_parse(schema_json, strlen(schema_json), &sch), 0);
	e->code = JOB_ERR_INPUT;
	e->total = 1;
	e->nplaces = 1;
	e->places[0] = *pl;
	assert_int_equal(fault_file_read(fault_pread_fd, &fd, e, file), 0);
	in.schema = sch;
	in.file = file;
	r = fault_place_words(e, 0, &in, buf, buflen);
	close(fd);
	schema_free(sch);
	free(file);
	free(e);
	return r;
}

static int
render(const char *text, const struct job_place *pl, char *buf, size_t buflen)
{
	return render_len(text, strlen(text), pl, buf, buflen);
}

static const char csv[] = "id,age,amt,r,day\n"
                          "1,200,\"a\"\"b\\\",x,2024-13-01\n"
                          "\xc3\xa9\xff,,\n";

struct words_case {
	struct job_place pl;
	const char *want;
};

/* Places in csv and what they say. */
static const struct words_case cases[] = {
    {{2, 3, 3, JOB_RULE_INGEST_OUT_OF_BOUNDS, 0, 2, 0},
        "column age: \"200\" is outside the bounds [0, 120]"},
    {{2, 7, 7, JOB_RULE_INGEST_NOT_DECIMAL, 0, 3, 0},
        "column amt: \"a\\x22b\\x5c\" is not a DECIMAL(10,2)"},
    {{2, 7, 7, JOB_RULE_INGEST_OUT_OF_BOUNDS, 0, 3, 0},
        "column amt: \"a\\x22b\\x5c\" is outside the bounds [0, 100000] (scaled)"},
    {{2, 15, 1, JOB_RULE_INGEST_OUT_OF_BOUNDS, 0, 4, 0},
        "column r: \"x\" is outside the bounds [-1.5, 1.5]"},
    {{2, 15, 0, JOB_RULE_INGEST_OUT_OF_BOUNDS, 0, 2, 0},
        "column age: the value is outside the bounds [0, 120]"},
    {{2, 17, 10, JOB_RULE_INGEST_NOT_DATE, 0, 5, 0},
        "column day: \"2024-13-01\" is not a date YYYY-MM-DD"},
    {{3, 3, 1, JOB_RULE_INGEST_UTF8, 0, 0, 0}, "invalid UTF-8 sequence at byte 0xff"},
    {{3, 1, 3, JOB_RULE_INGEST_NOT_IN_DOMAIN, 0, 1, 0},
        "column id: \"\\xc3\\xa9\\xff\" is not in the column's domain"},
    {{3, 5, 0, JOB_RULE_INGEST_NOT_NULLABLE, 0, 1, 0},
        "column id: empty, but the column is not nullable"},
    {{3, 1, 0, JOB_RULE_INGEST_FIELD_COUNT, 0, 0, 3}, "3 fields, but the header has 5"},
    {{1, 4, 3, JOB_RULE_INGEST_HEADER_UNKNOWN, 0, 0, 0}, "header: unknown column \"age\""},
    {{1, 1, 0, JOB_RULE_INGEST_HEADER_MISSING, 0, 5, 0}, "header: column \"day\" is missing"},
    {{1, 1, 0, JOB_RULE_INGEST_HEADER_TWICE, 0, 2, 0}, "header: column \"age\" appears twice"},
    {{2, 2, 0, JOB_RULE_INGEST_FIELD_LONG, 0, 0, 1048576}, "field longer than 1048576 bytes"},
    /* Positions past the line's last byte: an empty field at the newline, the end of the file. */
    {{2, 27, 0, JOB_RULE_INGEST_LINE_LONG, 0, 0, 7}, "line longer than 7 bytes"},
    {{4, 1, 0, JOB_RULE_INGEST_NO_ROWS, 0, 0, 0}, "no rows to load"},
};

static void
test_words(void **state)
{
	char buf[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (render(csv, &cases[i].pl, buf, sizeof buf) != 0)
			fail_msg("case %zu refused: %s", i, sl_err_msg(SL_ERR_PARSE));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("case %zu: \"%s\", want \"%s\"", i, buf, cases[i].want);
	}
}

/* Every ingest rule renders: no directive, no "?" is left in its words. */
static void
test_every_rule(void **state)
{
	char buf[512];
	uint32_t rule;

	(void)state;
	for (rule = JOB_RULE_INGEST_FIRST_; rule <= JOB_RULE_INGEST_LAST_; rule++) {
		struct job_place pl = {2, 3, 3, rule, 0, 2, 9};

		assert_true(job_rule_is_ingest(rule));
		assert_int_equal(render(csv, &pl, buf, sizeof buf), 0);
		if (buf[0] == '\0' || strchr(buf, '%') != NULL || strchr(buf, '?') != NULL)
			fail_msg("rule %u: \"%s\"", rule, buf);
	}
	assert_false(job_rule_is_ingest(JOB_RULE_BUCKET_RANGE));
	assert_false(job_rule_is_ingest(JOB_RULE_MAX_ + 1));
}

/* A long token is cut; a BOM is not part of line 1; a line far longer than a read. */
static void
test_file_shapes(void **state)
{
	size_t n = 300000, i;
	char *big = malloc(n + 64), buf[512];
	struct job_place pl = {2, 200001, 60, JOB_RULE_INGEST_NOT_INT, 0, 1, 0};
	struct job_place bom = {1, 1, 2, JOB_RULE_INGEST_NOT_INT, 0, 1, 0};

	(void)state;
	assert_non_null(big);
	memcpy(big, "id\n", 3);
	for (i = 3; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n] = '\n';
	assert_int_equal(render_len(big, n + 1, &pl, buf, sizeof buf), 0);
	/* Byte 200001 of line 2 is byte 200003 of the file. */
	assert_true(strncmp(buf, "column id: \"", 12) == 0);
	assert_int_equal(buf[12], 'a' + 200003 % 26);
	assert_non_null(strstr(buf, "...\" is not an integer"));
	assert_int_equal(strlen(buf), strlen("column id: \"...\" is not an integer") + 48);
	/* The place runs past the line's end. */
	pl.length = 100000;
	assert_int_equal(render_len(big, n + 1, &pl, buf, sizeof buf), SL_ERR_PARSE);
	pl.length = (uint32_t)(n - 3 - 200000);
	assert_int_equal(render_len(big, n + 1, &pl, buf, sizeof buf), 0);
	free(big);

	assert_int_equal(render("\xef\xbb\xbfid\n", &bom, buf, sizeof buf), 0);
	assert_string_equal(buf, "column id: \"id\" is not an integer");
	/* Two bytes of a BOM are data. */
	assert_int_equal(render("\xef\xbbid\n", &bom, buf, sizeof buf), 0);
	assert_string_equal(buf, "column id: \"\\xef\\xbb\" is not an integer");
	/* An empty file has line 1, empty. */
	bom = (struct job_place){1, 1, 0, JOB_RULE_INGEST_EMPTY_FILE, 0, 0, 0};
	assert_int_equal(render("", &bom, buf, sizeof buf), 0);
	assert_string_equal(buf, "empty file: no header row");
}

/* What a lying worker may say, refused. */
static void
test_refused(void **state)
{
	static const struct job_place lies[] = {
	    {0, 0, 0, JOB_RULE_INGEST_NO_ROWS, 0, 0, 0},       /* no line */
	    {5, 1, 0, JOB_RULE_INGEST_NO_ROWS, 0, 0, 0},       /* past the last line */
	    {2, 0, 0, JOB_RULE_INGEST_QUOTE, 0, 0, 0},         /* column 0 */
	    {2, 28, 0, JOB_RULE_INGEST_QUOTE, 0, 0, 0},        /* past the line's end */
	    {2, 20, 9, JOB_RULE_INGEST_NOT_INT, 0, 1, 0},      /* length past the line */
	    {1, 1, 40, JOB_RULE_INGEST_NOT_INT, 0, 1, 0},      /* into the next line */
	    {2, 3, 3, JOB_RULE_INGEST_NOT_INT, 0, 6, 0},       /* a column the schema lacks */
	    {2, 3, 3, JOB_RULE_INGEST_NOT_INT, 0, 0, 0},       /* no column where one is named */
	    {2, 3, 3, JOB_RULE_INGEST_OUT_OF_BOUNDS, 0, 1, 0}, /* bounds of a column without */
	    {2, 3, 0, JOB_RULE_INGEST_UTF8, 0, 0, 0},          /* no byte to name */
	    {2, 3, 3, JOB_RULE_EXPECTED, JOB_PHRASE_COLUMN, 0, 0}, /* a query's rule */
	};
	char buf[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof lies / sizeof lies[0]; i++) {
		if (render(csv, &lies[i], buf, sizeof buf) != SL_ERR_PARSE)
			fail_msg("lie %zu rendered: \"%s\"", i, buf);
		assert_string_equal(buf, "");
	}
}

/* An unknown rule never decodes; an ingest rule is refused in a query's text. */
static void
test_other_kinds(void **state)
{
	struct job_error_frame e = {JOB_ERR_INPUT, 1, 1, {{1, 1, 0, JOB_RULE_MAX_ + 1, 0, 0, 0}}};
	struct job_error_frame got;
	struct fault_input in = {"SELECT 1", 8, NULL, "t", NULL};
	uint8_t buf[JOB_ERROR_MAX];
	char words[256];
	size_t len;

	(void)state;
	assert_int_equal(job_error_encode(&e, buf, &len), 0);
	assert_int_equal(job_error_decode(buf, len, &got), SL_ERR_PARSE);
	e.code = JOB_ERR_QUERY;
	e.places[0].rule = JOB_RULE_INGEST_NO_ROWS;
	assert_int_equal(fault_words(&e, &in, words, sizeof words), SL_ERR_PARSE);
	e.places[0].rule = JOB_RULE_NUL;
	assert_int_equal(fault_words(&e, &in, words, sizeof words), 0);
	assert_string_equal(words, "1:1: NUL byte in query");
}

/* A quoted name with a doubled quote in it is named whole, undoubled. */
static void
test_quoted_name(void **state)
{
	static const char text[] = "SELECT region FROM t ORDER BY \"n\"\"y\" DESC";
	struct job_error_frame e = {JOB_ERR_QUERY, 1, 1, {{1, 31, 0, JOB_RULE_ORDER_NAME, 0, 0, 0}}};
	struct fault_input in = {text, sizeof text - 1, NULL, "t", NULL};
	char words[256];

	(void)state;
	assert_int_equal(fault_words(&e, &in, words, sizeof words), 0);
	assert_string_equal(words, "1:31: ORDER BY n\"y: no output column of that name");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_words),
	    cmocka_unit_test(test_every_rule),
	    cmocka_unit_test(test_file_shapes),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_other_kinds),
	    cmocka_unit_test(test_quoted_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
