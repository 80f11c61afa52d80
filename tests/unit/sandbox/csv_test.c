/*
 * tests/unit/sandbox/csv_test.c -- the CSV and JSON Lines push readers.
 *
 * The cases live in tests/unit/sandbox/csv/{cases,jsonl_cases}.json: an input
 * (text, hex or a file), optional limits, the records expected (line, field
 * values and, where given, columns, lines and quotedness) and the exact error
 * message or null.  Every case is fed whole, in every 2-way split, in every
 * 3-way split for short inputs, and byte by byte with empty feeds between,
 * and every way must give the same transcript: records, error and counts.
 * Beside them: UTF-8 against an independent decoder over every short
 * sequence, the 16 MiB line limit with a 20 MB line fed in pieces, the
 * callback's stop and ownership rules, and the shipped examples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/err.h"
#include "sandbox/csv.h"
#include "sandbox/jsonl.h"
#include "sandbox/simd.h"
#include "tests/ref_utf8.h"

#define MiB ((size_t)1 << 20)
#define SPLIT3_MAX 48 /* inputs up to this long are also fed in every 3-way split */

/* ---- helpers -------------------------------------------------------------- */

static char *
data_path(const char *rel)
{
	const char *root = getenv("top_srcdir");
	size_t len = 4096;
	char *p = malloc(len);

	assert_non_null(p);
	if (root != NULL)
		snprintf(p, len, "%s/%s", root, rel);
	else
		snprintf(p, len, "%s/../%s", SL_TEST_DATADIR, rel);
	return p;
}

/* Read the file at rel (from the source root) whole; caller frees. */
static uint8_t *
read_data(const char *rel, size_t *lenp)
{
	char *path = data_path(rel);
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	size_t len = 0, cap = 0, k;

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	for (;;) {
		if (cap - len < 65536) {
			cap = cap * 2 + 65536;
			b = realloc(b, cap);
			assert_non_null(b);
		}
		if ((k = fread(b + len, 1, cap - len, f)) == 0)
			break;
		len += k;
	}
	assert_false(ferror(f));
	fclose(f);
	free(path);
	*lenp = len;
	return b;
}

static json_t *
load_cases(const char *rel)
{
	char *path = data_path(rel);
	json_error_t e;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);

	if (j == NULL)
		fail_msg("%s:%d:%d: %s", path, e.line, e.column, e.text);
	free(path);
	return j;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The input of a case: "text" (a JSON string), "hex" (spaces allowed) or "file". */
static uint8_t *
case_input(const json_t *c, size_t *lenp)
{
	const json_t *t;
	const char *h;
	uint8_t *b;
	size_t n = 0;
	int hi, lo;

	*lenp = 0;
	if ((t = json_object_get(c, "text")) != NULL) {
		*lenp = json_string_length(t);
		b = malloc(*lenp + 1);
		assert_non_null(b);
		memcpy(b, json_string_value(t), *lenp);
		return b;
	}
	if ((t = json_object_get(c, "hex")) != NULL) {
		h = json_string_value(t);
		b = malloc(strlen(h) / 2 + 1);
		assert_non_null(b);
		while (*h != '\0') {
			if (*h == ' ') {
				h++;
				continue;
			}
			hi = hexval(h[0]);
			lo = hi < 0 ? -1 : hexval(h[1]);
			if (lo < 0)
				fail_msg("bad hex in case: %s", json_string_value(t));
			b[n++] = (uint8_t)(hi << 4 | lo);
			h += 2;
		}
		*lenp = n;
		return b;
	}
	if ((t = json_object_get(c, "file")) != NULL) {
		char rel[512];

		snprintf(rel, sizeof(rel), "tests/unit/sandbox/csv/%s", json_string_value(t));
		return read_data(rel, lenp);
	}
	fail_msg("case without text, hex or file");
	return NULL;
}

/* ---- feeding -------------------------------------------------------------- */

enum kind { KIND_CSV, KIND_JSONL };

/* What one way of feeding an input gave. */
struct run {
	json_t *recs;   /* the records, as JSON */
	int stop_after; /* the callback returns 99 at this record; 0 for never */
	size_t seen;
};

static int
csv_collect(void *arg, size_t line, size_t nf, const struct csv_field *f)
{
	struct run *run = arg;
	json_t *fields = json_array(), *cols = json_array(), *lines = json_array();
	json_t *quoted = json_array(), *v;
	size_t i;

	assert_true(nf >= 1);
	for (i = 0; i < nf; i++) {
		assert_non_null(f[i].p);
		/* json_stringn() refuses invalid UTF-8: the reader must never pass it on. */
		if ((v = json_stringn(f[i].p, f[i].len)) == NULL)
			fail_msg("line %zu field %zu: not UTF-8", line, i);
		json_array_append_new(fields, v);
		json_array_append_new(cols, json_integer((json_int_t)f[i].col));
		json_array_append_new(lines, json_integer((json_int_t)f[i].line));
		json_array_append_new(quoted, json_boolean(f[i].quoted));
	}
	json_array_append_new(
	    run->recs, json_pack("{s:I, s:o, s:o, s:o, s:o}", "line", (json_int_t)line, "fields",
	                   fields, "cols", cols, "lines", lines, "quoted", quoted));
	if (++run->seen == (size_t)run->stop_after)
		return 99;
	return 0;
}

static int
jsonl_collect(void *arg, size_t line, json_t *obj)
{
	struct run *run = arg;

	assert_true(json_is_object(obj));
	json_array_append_new(
	    run->recs, json_pack("{s:I, s:O}", "line", (json_int_t)line, "json", obj));
	if (++run->seen == (size_t)run->stop_after)
		return 99;
	return 0;
}

/* A reader of either kind, behind one interface. */
struct reader {
	enum kind kind;
	struct csv_reader *csv;
	struct jsonl_reader *jsonl;
};

static void
reader_new(struct reader *rd, enum kind kind, const struct csv_limits *lim)
{
	rd->kind = kind;
	rd->csv = NULL;
	rd->jsonl = NULL;
	if (kind == KIND_CSV)
		assert_non_null(rd->csv = csv_new(lim));
	else
		assert_non_null(rd->jsonl = jsonl_new(lim != NULL ? lim->line_max : 0));
}

static int
reader_feed(struct reader *rd, const uint8_t *p, size_t n, struct run *run)
{
	if (rd->kind == KIND_CSV)
		return csv_feed(rd->csv, p, n, csv_collect, run);
	return jsonl_feed(rd->jsonl, p, n, jsonl_collect, run);
}

static int
reader_finish(struct reader *rd, struct run *run)
{
	if (rd->kind == KIND_CSV)
		return csv_finish(rd->csv, csv_collect, run);
	return jsonl_finish(rd->jsonl, jsonl_collect, run);
}

static uint64_t
reader_records(const struct reader *rd)
{
	struct csv_stats st;

	if (rd->kind == KIND_JSONL)
		return jsonl_records(rd->jsonl);
	csv_stats(rd->csv, &st);
	return st.records;
}

/*
 * After SL_ERR_PARSE the reader gives the position as numbers, and the
 * message is that position and the rule; at any other time it gives none.
 */
static void
reader_check_fault(const struct reader *rd, int rc)
{
	const struct reader_fault *f =
	    rd->kind == KIND_CSV ? csv_fault(rd->csv) : jsonl_fault(rd->jsonl);
	char want[1024];

	if (rc != SL_ERR_PARSE) {
		assert_null(f);
		return;
	}
	assert_non_null(f);
	assert_int_not_equal(f->code, READER_OK);
	assert_true(f->line >= 1 && f->column >= 1);
	snprintf(want, sizeof(want), "%zu:%zu: %s", f->line, f->column, f->message);
	assert_string_equal(sl_err_msg(rc), want);
}

static void
reader_free(struct reader *rd)
{
	csv_free(rd->csv);
	jsonl_free(rd->jsonl);
}

/*
 * Feed in[0 .. n-1] cut at cuts[0 .. ncuts-1] (ascending), with an empty feed
 * after each piece if empties, then finish.  Returns the transcript: a JSON
 * text of the records, the return code, the message and the count; caller
 * frees.  *rcp gets the return code, *recsp (if not NULL) the records.
 */
static char *
feed(enum kind kind, const struct csv_limits *lim, const uint8_t *in, size_t n, const size_t *cuts,
    size_t ncuts, int empties, int *rcp, json_t **recsp)
{
	struct run run = {json_array(), 0, 0};
	struct reader rd;
	size_t i, from = 0, to;
	json_t *t;
	char *text;
	int rc = 0;

	reader_new(&rd, kind, lim);
	sl_err_clear();
	for (i = 0; i <= ncuts && rc == 0; i++) {
		to = i < ncuts ? cuts[i] : n;
		rc = reader_feed(&rd, in + from, to - from, &run);
		if (rc == 0 && empties)
			rc = reader_feed(&rd, NULL, 0, &run);
		from = to;
	}
	if (rc == 0)
		rc = reader_finish(&rd, &run);
	t = json_pack("{s:O, s:i, s:s?, s:I}", "records", run.recs, "rc", rc, "error",
	    rc != 0 ? sl_err_msg(rc) : NULL, "count", (json_int_t)reader_records(&rd));
	assert_non_null(t);
	reader_check_fault(&rd, rc);
	/* A spent reader keeps saying the same. */
	assert_int_equal(
	    reader_feed(&rd, (const uint8_t *)"x", 1, &run), rc != 0 ? rc : SL_ERR_INVAL);
	assert_int_equal(reader_finish(&rd, &run), rc != 0 ? rc : SL_ERR_INVAL);
	reader_free(&rd);
	text = json_dumps(t, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(text);
	json_decref(t);
	*rcp = rc;
	if (recsp != NULL)
		*recsp = run.recs;
	else
		json_decref(run.recs);
	return text;
}

/* Fail unless transcript got, from the feeding described by how, equals want. */
static void
same(const char *why, const char *want, const char *got, const char *how, size_t a, size_t b)
{
	if (strcmp(want, got) != 0)
		fail_msg("case \"%s\": fed %s (%zu, %zu) gave\n  %s\nbut whole it gave\n  %s", why,
		    how, a, b, got, want);
}

/* Compare the records of a whole feed with a case's expectations. */
static void
compare_expected(const char *why, const json_t *c, const json_t *recs, int rc, const char *msg)
{
	const json_t *want = json_object_get(c, "records"), *err = json_object_get(c, "error");
	const json_t *w, *g;
	const char *keys[] = {"line", "fields", "cols", "lines", "quoted", "json"};
	size_t i, k;

	if (json_is_null(err) && rc != 0)
		fail_msg("case \"%s\": failed with %d: %s", why, rc, msg);
	if (json_is_string(err)) {
		if (rc != SL_ERR_PARSE)
			fail_msg("case \"%s\": returned %d, not SL_ERR_PARSE", why, rc);
		if (strcmp(msg, json_string_value(err)) != 0)
			fail_msg("case \"%s\": message \"%s\", want \"%s\"", why, msg,
			    json_string_value(err));
	}
	if (json_array_size(want) != json_array_size(recs)) {
		char *t = json_dumps(recs, JSON_COMPACT);

		fail_msg("case \"%s\": %zu records, want %zu: %s", why, json_array_size(recs),
		    json_array_size(want), t);
	}
	json_array_foreach(want, i, w)
	{
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (json_object_get(w, keys[k]) == NULL)
				continue;
			g = json_object_get(json_array_get(recs, i), keys[k]);
			if (!json_equal(json_object_get(w, keys[k]), g)) {
				char *t = json_dumps(json_array_get(recs, i), JSON_COMPACT);

				fail_msg(
				    "case \"%s\": record %zu: %s differs: %s", why, i, keys[k], t);
			}
		}
	}
}

static void
limits_of(const json_t *c, struct csv_limits *lim)
{
	const json_t *l = json_object_get(c, "limits");

	memset(lim, 0, sizeof(*lim));
	if (l == NULL)
		return;
	lim->field_max = (size_t)json_integer_value(json_object_get(l, "field_max"));
	lim->fields_max = (size_t)json_integer_value(json_object_get(l, "fields_max"));
	lim->line_max = (size_t)json_integer_value(json_object_get(l, "line_max"));
}

/* Run one case every way; returns 1 if it expects an error. */
static int
run_case(enum kind kind, const json_t *c)
{
	const char *why = json_string_value(json_object_get(c, "why"));
	struct csv_limits lim;
	size_t n, i, j, cuts[2], *all;
	json_t *recs;
	uint8_t *in;
	char *whole, *got;
	int rc, rc2;

	if (why == NULL)
		fail_msg("a case without \"why\"");
	limits_of(c, &lim);
	in = case_input(c, &n);
	whole = feed(kind, &lim, in, n, NULL, 0, 0, &rc, &recs);
	compare_expected(why, c, recs, rc, sl_err_msg(rc));
	json_decref(recs);

	/* Every 2-way split. */
	for (i = 0; i <= n; i++) {
		cuts[0] = i;
		got = feed(kind, &lim, in, n, cuts, 1, 0, &rc2, NULL);
		same(why, whole, got, "in two at", i, 0);
		free(got);
	}
	/* Every 3-way split of a short input. */
	for (i = 0; n <= SPLIT3_MAX && i <= n; i++)
		for (j = i; j <= n; j++) {
			cuts[0] = i;
			cuts[1] = j;
			got = feed(kind, &lim, in, n, cuts, 2, 0, &rc2, NULL);
			same(why, whole, got, "in three at", i, j);
			free(got);
		}
	/* Byte by byte, with an empty feed after each byte. */
	all = calloc(n + 1, sizeof(*all));
	assert_non_null(all);
	for (i = 0; i < n; i++)
		all[i] = i + 1;
	got = feed(kind, &lim, in, n, all, n, 1, &rc2, NULL);
	same(why, whole, got, "byte by byte", n, 0);
	free(got);
	free(all);
	free(whole);
	free(in);
	return json_is_string(json_object_get(c, "error"));
}

static void
run_cases(enum kind kind, const char *rel, size_t min_bad)
{
	json_t *cases = load_cases(rel), *c;
	size_t i, bad = 0;

	assert_true(json_array_size(cases) > 0);
	json_array_foreach(cases, i, c)
	{
		bad += (size_t)run_case(kind, c);
	}
	assert_true(bad >= min_bad);
	json_decref(cases);
}

/* ---- CSV ------------------------------------------------------------------ */

static void
test_csv_cases(void **state)
{
	(void)state;
	run_cases(KIND_CSV, "tests/unit/sandbox/csv/cases.json", 40);
}

struct one_field {
	size_t n;
	uint8_t v[8];
};

static int
keep_field(void *arg, size_t line, size_t nf, const struct csv_field *f)
{
	struct one_field *o = arg;

	(void)line;
	assert_int_equal(nf, 1);
	assert_true(f[0].len <= sizeof(o->v));
	memcpy(o->v, f[0].p, f[0].len);
	o->n = f[0].len;
	return 0;
}

/*
 * Parse "a" and s[0 .. n-1] (the "a" keeps a BOM in s from being skipped) as
 * one CSV field, cut after cut bytes of s; 1 if accepted, with that value.
 */
static int
utf8_one(const uint8_t *s, size_t n, size_t cut)
{
	struct csv_reader *r = csv_new(NULL);
	struct one_field o = {0, {0}};
	uint8_t in[8] = {'a'};
	int rc;

	assert_non_null(r);
	memcpy(in + 1, s, n);
	if ((rc = csv_feed(r, in, cut + 1, keep_field, &o)) == 0 &&
	    (rc = csv_feed(r, in + cut + 1, n - cut, keep_field, &o)) == 0)
		rc = csv_finish(r, keep_field, &o);
	csv_free(r);
	if (rc == 0) {
		assert_int_equal(o.n, n + 1);
		assert_memory_equal(o.v, in, n + 1);
		return 1;
	}
	assert_int_equal(rc, SL_ERR_PARSE);
	assert_non_null(strstr(sl_err_msg(rc), ": invalid UTF-8 sequence at byte 0x"));
	return 0;
}

/*
 * Every sequence of up to 2 bytes, and of 3 and 4 bytes over a set of
 * telling trailing bytes, is accepted exactly when the decoder says it is
 * valid; the cut moves over every position.  Bytes that mean something to
 * CSV (',', '"', CR, LF) are left out: they are not UTF-8 questions.
 */
static void
test_csv_utf8_every_sequence(void **state)
{
	static const uint8_t tails[] = {
	    0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xf5, 0xff};
	uint8_t bytes[256], s[4];
	size_t nb = 0, i, j, k, l, t = 0, good = 0;
	unsigned b;

	(void)state;
	for (b = 0; b < 256; b++)
		if (b != ',' && b != '"' && b != '\r' && b != '\n' && (b >= 0x80 || b % 16 == 1))
			bytes[nb++] = (uint8_t)b;
	for (i = 0; i < nb; i++) {
		s[0] = bytes[i];
		good += (size_t)(utf8_one(s, 1, t++ % 2) == ref_utf8_valid(s, 1));
		for (j = 0; j < nb; j++) {
			s[1] = bytes[j];
			assert_int_equal(utf8_one(s, 2, t++ % 3), ref_utf8_valid(s, 2));
		}
	}
	assert_int_equal(good, nb);
	for (i = 0xc0; i <= 0xff; i++)
		for (j = 0; j < nb; j++)
			for (k = 0; k < sizeof(tails); k++) {
				s[0] = (uint8_t)i;
				s[1] = bytes[j];
				s[2] = tails[k];
				assert_int_equal(utf8_one(s, 3, t++ % 4), ref_utf8_valid(s, 3));
				if (i < 0xf0)
					continue;
				for (l = 0; l < sizeof(tails); l++) {
					s[3] = tails[l];
					assert_int_equal(
					    utf8_one(s, 4, t++ % 5), ref_utf8_valid(s, 4));
				}
			}
}

/* A stream of n bytes of one long line in pieces, made on the fly. */
struct long_line {
	size_t records, fields, bytes;
};

static int
count_record(void *arg, size_t line, size_t nf, const struct csv_field *f)
{
	struct long_line *ll = arg;
	size_t i;

	(void)line;
	ll->records++;
	ll->fields += nf;
	for (i = 0; i < nf; i++)
		ll->bytes += f[i].len;
	return 0;
}

/*
 * Feed "h1,h2\n" and then a line of total bytes, made of 8 KiB fields (so
 * no field or field-count limit trips first) and ended by eol, in pieces of
 * piece bytes.  Returns the first non-zero return; *fed gets the bytes fed.
 */
static int
feed_long_line(struct csv_reader *r, size_t total, const char *eol, size_t piece,
    struct long_line *ll, size_t *fed)
{
	uint8_t *buf = malloc(piece);
	size_t done = 0, i, k, eoln = strlen(eol);
	int rc;

	assert_non_null(buf);
	*fed = 0;
	if ((rc = csv_feed(r, (const uint8_t *)"h1,h2\n", 6, count_record, ll)) != 0)
		goto out;
	while (done < total + eoln) {
		k = total + eoln - done < piece ? total + eoln - done : piece;
		for (i = 0; i < k; i++) {
			size_t at = done + i;

			if (at >= total)
				buf[i] = (uint8_t)eol[at - total];
			else
				buf[i] = at % 8192 == 8191 ? ',' : (uint8_t)('a' + at % 26);
		}
		*fed += k;
		if ((rc = csv_feed(r, buf, k, count_record, ll)) != 0)
			goto out;
		done += k;
	}
	rc = csv_finish(r, count_record, ll);
out:
	free(buf);
	return rc;
}

/*
 * A 20 MB line fed in 64 KiB pieces is refused at byte 16 MiB + 1 with the
 * default limits, as soon as that byte arrives, having held no more than
 * 16 MiB; a line of exactly 16 MiB, with LF or CRLF, is accepted.
 */
static void
test_csv_long_line(void **state)
{
	struct csv_reader *r;
	struct long_line ll;
	struct csv_stats st;
	size_t fed;
	int rc;

	(void)state;
	memset(&ll, 0, sizeof(ll));
	assert_non_null(r = csv_new(NULL));
	rc = feed_long_line(r, 20000000, "\n", 65536 + 7, &ll, &fed);
	assert_int_equal(rc, SL_ERR_PARSE);
	assert_string_equal(sl_err_msg(rc), "2:16777217: line longer than 16777216 bytes");
	assert_int_equal(ll.records, 1);
	assert_true(fed < CSV_LINE_MAX_DEFAULT + 6 + 65536 + 7 + 1);
	csv_stats(r, &st);
	assert_true(st.held_max <= CSV_LINE_MAX_DEFAULT);
	csv_free(r);

	memset(&ll, 0, sizeof(ll));
	assert_non_null(r = csv_new(NULL));
	assert_int_equal(feed_long_line(r, CSV_LINE_MAX_DEFAULT, "\r\n", 65536, &ll, &fed), 0);
	assert_int_equal(ll.records, 2);
	/* The line ends in a ',' (its last byte is number 8192 * k), so an empty field. */
	assert_int_equal(ll.fields, 2 + CSV_LINE_MAX_DEFAULT / 8192 + 1);
	assert_int_equal(ll.bytes, 4 + CSV_LINE_MAX_DEFAULT - CSV_LINE_MAX_DEFAULT / 8192);
	csv_stats(r, &st);
	assert_true(st.held_max <= CSV_LINE_MAX_DEFAULT);
	csv_free(r);

	memset(&ll, 0, sizeof(ll));
	assert_non_null(r = csv_new(NULL));
	assert_int_equal(feed_long_line(r, CSV_LINE_MAX_DEFAULT, "\n", 1000003, &ll, &fed), 0);
	assert_int_equal(ll.records, 2);
	csv_free(r);
}

/*
 * A long line given in one feed is refused at the same byte, and a record
 * that lies whole in one feed is never copied.
 */
static void
test_csv_long_line_one_feed(void **state)
{
	struct csv_limits lim = {0, 0, MiB};
	struct csv_reader *r;
	struct long_line ll;
	struct csv_stats st;
	size_t n = 2 * MiB + 10, i;
	uint8_t *in = malloc(n);
	int rc;

	(void)state;
	assert_non_null(in);
	memcpy(in, "h1,h2\n", 6);
	for (i = 6; i < n; i++)
		in[i] = (i - 6) % 1024 == 1023 ? ',' : 'x';
	memset(&ll, 0, sizeof(ll));
	assert_non_null(r = csv_new(&lim));
	rc = csv_feed(r, in, n, count_record, &ll);
	assert_int_equal(rc, SL_ERR_PARSE);
	assert_string_equal(sl_err_msg(rc), "2:1048577: line longer than 1048576 bytes");
	assert_int_equal(ll.records, 1);
	csv_stats(r, &st);
	assert_int_equal(st.held_max, 0);
	csv_free(r);
	free(in);
}

static int
stop_at_two(void *arg, size_t line, size_t nf, const struct csv_field *f)
{
	size_t *n = arg;

	(void)line;
	(void)nf;
	(void)f;
	return ++*n == 2 ? 7 : 0;
}

/* A callback's non-zero return stops parsing, is returned, and sticks. */
static void
test_csv_callback_stops(void **state)
{
	static const uint8_t in[] = "a\nb\nc\n";
	struct csv_reader *r;
	struct csv_stats st;
	size_t n = 0;

	(void)state;
	assert_non_null(r = csv_new(NULL));
	assert_int_equal(csv_feed(r, in, sizeof(in) - 1, stop_at_two, &n), 7);
	assert_int_equal(n, 2);
	assert_int_equal(csv_feed(r, in, 1, stop_at_two, &n), 7);
	assert_int_equal(csv_finish(r, stop_at_two, &n), 7);
	assert_int_equal(n, 2);
	csv_stats(r, &st);
	assert_int_equal(st.records, 2);
	csv_free(r);

	/* The same from csv_finish(). */
	n = 1;
	assert_non_null(r = csv_new(NULL));
	assert_int_equal(csv_feed(r, in, 1, stop_at_two, &n), 0);
	assert_int_equal(csv_finish(r, stop_at_two, &n), 7);
	csv_free(r);
}

/* Counts tell an empty input (or one of only a BOM or an empty line) from one with records. */
static void
test_csv_counts(void **state)
{
	static const uint8_t bom[] = {0xef, 0xbb, 0xbf};
	struct csv_reader *r;
	struct csv_stats st;
	size_t n = 0;

	(void)state;
	assert_non_null(r = csv_new(NULL));
	assert_int_equal(csv_finish(r, stop_at_two, &n), 0);
	csv_stats(r, &st);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.held_max, 0);
	csv_free(r);

	assert_non_null(r = csv_new(NULL));
	assert_int_equal(csv_feed(r, bom, sizeof(bom), stop_at_two, &n), 0);
	assert_int_equal(csv_finish(r, stop_at_two, &n), 0);
	csv_stats(r, &st);
	assert_int_equal(st.bytes, 3);
	assert_int_equal(st.records, 0);
	csv_free(r);
	assert_int_equal(n, 0);

	assert_non_null(r = csv_new(NULL));
	assert_int_equal(csv_feed(r, (const uint8_t *)"a,b\n", 4, stop_at_two, &n), 0);
	assert_int_equal(csv_feed(r, (const uint8_t *)"c", 1, stop_at_two, &n), 0);
	csv_stats(r, &st);
	assert_int_equal(st.bytes, 5);
	assert_int_equal(st.records, 1);
	assert_int_equal(csv_finish(r, stop_at_two, &n), 7);
	csv_stats(r, &st);
	assert_int_equal(st.records, 2);
	csv_free(r);
	csv_free(NULL);
}

/* A digest of everything a reader hands out, for inputs too big for transcripts. */
struct digest {
	uint64_t h;
	size_t records;
};

static void
digest_add(struct digest *d, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		d->h = (d->h ^ b[i]) * 0x100000001b3ULL;
}

static int
digest_record(void *arg, size_t line, size_t nf, const struct csv_field *f)
{
	struct digest *d = arg;
	size_t i;

	d->records++;
	digest_add(d, &line, sizeof(line));
	digest_add(d, &nf, sizeof(nf));
	for (i = 0; i < nf; i++) {
		digest_add(d, &f[i].len, sizeof(f[i].len));
		digest_add(d, f[i].p, f[i].len);
		digest_add(d, &f[i].line, sizeof(f[i].line));
		digest_add(d, &f[i].col, sizeof(f[i].col));
		digest_add(d, &f[i].quoted, sizeof(f[i].quoted));
	}
	return 0;
}

static void
digest_csv(const uint8_t *in, size_t n, size_t piece, struct digest *d)
{
	struct csv_reader *r = csv_new(NULL);
	size_t at, k;

	assert_non_null(r);
	d->h = 0xcbf29ce484222325ULL;
	d->records = 0;
	for (at = 0; at < n; at += k) {
		k = n - at < piece ? n - at : piece;
		assert_int_equal(csv_feed(r, in + at, k, digest_record, d), 0);
	}
	assert_int_equal(csv_finish(r, digest_record, d), 0);
	csv_free(r);
}

/*
 * The shipped examples/claims.csv: one record of 12 fields per line, the
 * same whole, in odd pieces and byte by byte; and a sample with quotes,
 * CRLF and multi-line fields likewise.
 */
static void
test_csv_examples(void **state)
{
	const char *files[] = {"examples/claims.csv", "tests/unit/sandbox/csv/quoted.csv"};
	const size_t pieces[] = {1, 2, 3, 7, 64, 4093, 65536};
	struct digest whole, d;
	size_t n, i, k, lines;
	uint8_t *in;

	(void)state;
	for (k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		in = read_data(files[k], &n);
		digest_csv(in, n, n + 1, &whole);
		for (i = 0, lines = 0; i < n; i++)
			lines += in[i] == '\n';
		if (k == 0)
			assert_int_equal(whole.records, lines);
		for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
			digest_csv(in, n, pieces[i], &d);
			assert_int_equal(d.records, whole.records);
			assert_true(d.h == whole.h);
		}
		free(in);
	}
}

/*
 * A record of the most fields allowed (4096 of 200 bytes) is the same fed
 * whole or byte by byte (which must not cost time per field per byte); one
 * field more is refused at its comma.
 */
static void
test_csv_many_fields(void **state)
{
	size_t nf = CSV_FIELDS_MAX_DEFAULT, flen = 200, n = nf * (flen + 1), i;
	uint8_t *in = malloc(n + 2);
	struct digest whole, d;
	struct csv_reader *r;
	char want[64];
	int rc;

	(void)state;
	assert_non_null(in);
	for (i = 0; i < n; i++)
		in[i] = i % (flen + 1) == flen ? ',' : (uint8_t)('0' + i % 10);
	in[n - 1] = '\n';
	digest_csv(in, n, n, &whole);
	assert_int_equal(whole.records, 1);
	digest_csv(in, n, 1, &d);
	assert_int_equal(d.records, 1);
	assert_true(d.h == whole.h);

	in[n - 1] = ',';
	in[n] = 'x';
	in[n + 1] = '\n';
	assert_non_null(r = csv_new(NULL));
	for (i = 0, rc = 0; i < n + 2 && rc == 0; i++)
		rc = csv_feed(r, in + i, 1, digest_record, &d);
	assert_int_equal(rc, SL_ERR_PARSE);
	snprintf(want, sizeof(want), "1:%zu: more than 4096 fields", n);
	assert_string_equal(sl_err_msg(rc), want);
	csv_free(r);
	free(in);
}

/*
 * The fast path's two scans (AVX-512 and memchr) against each other, and both
 * against the general machine: random records of the bytes that matter
 * (commas, quotes, CRs, a multi-byte character), 1 to 300 bytes long so that
 * they cross 64-byte blocks, fed whole and in two pieces.  Every way must give the
 * same transcript.
 */
static void
test_csv_scan_paths(void **state)
{
	static const char *const atoms[] = {
	    "a", "bc", ",", ",,", "0123456789", "\"", "\r", "\xc3\xa9", " "};
	uint64_t seed = 0x9e3779b97f4a7c15u;
	uint8_t in[1024];
	size_t round, n, rec, cut;
	int rc, rc2;

	(void)state;
	for (round = 0; round < 3000; round++) {
		char *vec, *sca, *piece;

		/* One to three records of 1 to 300 bytes, ending in LF or CRLF. */
		for (n = 0, rec = 0; rec < 1 + round % 3; rec++) {
			size_t start = n, want = n + 1 + (round * 7 + rec * 131) % 300;

			while (n < want) {
				const char *a;

				seed = seed * 6364136223846793005u + 1442695040888963407u;
				a = atoms[(seed >> 33) % 5];
				memcpy(in + n, a, strlen(a));
				n += strlen(a);
			}
			/*
			 * Half the records get one quote, CR or two-byte character at
			 * a random place, so that each place of a 64-byte block gets
			 * to hold the line's first such byte.
			 */
			if ((seed >> 17) % 2 == 0) {
				const char *a = atoms[5 + (seed >> 23) % 4];
				size_t at = start + (size_t)(seed >> 27) % (n - start);

				memcpy(in + at, a, strlen(a) <= n - at ? strlen(a) : 1);
			}
			if ((seed >> 20) % 2 == 0)
				in[n++] = '\r';
			in[n++] = '\n';
		}
		cut = (size_t)(seed >> 40) % n;
		(void)simd_avx512(1);
		vec = feed(KIND_CSV, NULL, in, n, NULL, 0, 0, &rc, NULL);
		piece = feed(KIND_CSV, NULL, in, n, &cut, 1, 0, &rc2, NULL);
		same("AVX-512 scan, whole", vec, piece, "in two pieces", n, cut);
		(void)simd_avx512(0);
		sca = feed(KIND_CSV, NULL, in, n, NULL, 0, 0, &rc2, NULL);
		same("AVX-512 scan", vec, sca, "memchr scan", n, 0);
		(void)simd_avx512(1);
		free(vec);
		free(sca);
		free(piece);
	}
}

/* ---- JSON Lines ----------------------------------------------------------- */

static void
test_jsonl_cases(void **state)
{
	(void)state;
	run_cases(KIND_JSONL, "tests/unit/sandbox/csv/jsonl_cases.json", 15);
}

static int
jsonl_count(void *arg, size_t line, json_t *obj)
{
	size_t *n = arg;

	(void)obj;
	assert_int_equal(line, *n + 1);
	++*n;
	return 0;
}

/* A 20 MB line in pieces is refused at byte 16 MiB + 1; one of 16 MiB is parsed. */
static void
test_jsonl_long_line(void **state)
{
	static const char head[] = "{\"a\":\"", tail[] = "\"}\r\n{}";
	const size_t totals[] = {20000000, JSONL_LINE_MAX_DEFAULT};
	size_t piece = 65536, total, done, k, i, n, t;
	uint8_t *buf = malloc(piece);
	struct jsonl_reader *r;
	int rc;

	(void)state;
	assert_non_null(buf);
	for (t = 0; t < sizeof(totals) / sizeof(totals[0]); t++) {
		/* {} LF, then {"a":"xx...x"} of total bytes CRLF, then {} */
		total = totals[t];
		assert_non_null(r = jsonl_new(0));
		n = 0;
		rc = jsonl_feed(r, (const uint8_t *)"{}\n", 3, jsonl_count, &n);
		for (done = 0; rc == 0 && done < total + 4; done += k) {
			k = total + 4 - done < piece ? total + 4 - done : piece;
			for (i = 0; i < k; i++) {
				size_t at = done + i;

				if (at < 6)
					buf[i] = (uint8_t)head[at];
				else if (at < total - 2)
					buf[i] = 'x';
				else
					buf[i] = (uint8_t)tail[at - (total - 2)];
			}
			rc = jsonl_feed(r, buf, k, jsonl_count, &n);
		}
		if (rc == 0)
			rc = jsonl_finish(r, jsonl_count, &n);
		if (total > JSONL_LINE_MAX_DEFAULT) {
			assert_int_equal(rc, SL_ERR_PARSE);
			assert_string_equal(
			    sl_err_msg(rc), "2:16777217: line longer than 16777216 bytes");
			assert_true(done <= JSONL_LINE_MAX_DEFAULT + piece);
			assert_int_equal(n, 1);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(n, 3);
		}
		jsonl_free(r);
	}
	free(buf);
}

static int
keep_objects(void *arg, size_t line, json_t *obj)
{
	(void)line;
	return json_array_append(arg, obj);
}

/* A callback keeps an object by taking a reference; the reader drops its own. */
static void
test_jsonl_ownership(void **state)
{
	static const uint8_t in[] = "{\"a\":[1,2]}\n{\"b\":{\"c\":null}}";
	struct jsonl_reader *r;
	json_t *kept = json_array();

	(void)state;
	assert_non_null(r = jsonl_new(0));
	assert_int_equal(jsonl_feed(r, in, sizeof(in) - 1, keep_objects, kept), 0);
	assert_int_equal(jsonl_finish(r, keep_objects, kept), 0);
	assert_int_equal(jsonl_records(r), 2);
	jsonl_free(r);
	jsonl_free(NULL);
	assert_int_equal(json_array_size(kept), 2);
	assert_int_equal(json_array_get(kept, 0)->refcount, 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(kept, 0), "a")), 2);
	assert_true(
	    json_is_null(json_object_get(json_object_get(json_array_get(kept, 1), "b"), "c")));
	json_decref(kept);
}

/* Deep nesting is refused by jansson's depth limit, not by the stack. */
static void
test_jsonl_deep(void **state)
{
	size_t depth = 100000, i, n = 0;
	uint8_t *in = malloc(depth + 8);
	struct jsonl_reader *r;
	int rc;

	(void)state;
	assert_non_null(in);
	memcpy(in, "{\"a\":", 5);
	for (i = 5; i < depth; i++)
		in[i] = '[';
	assert_non_null(r = jsonl_new(0));
	rc = jsonl_feed(r, in, depth, jsonl_count, &n);
	if (rc == 0)
		rc = jsonl_finish(r, jsonl_count, &n);
	assert_int_equal(rc, SL_ERR_PARSE);
	assert_non_null(strstr(sl_err_msg(rc), "maximum parsing depth reached"));
	assert_int_equal(strncmp(sl_err_msg(rc), "1:", 2), 0);
	jsonl_free(r);
	free(in);
}

/* The shipped examples/imaging.jsonl: one object per line, whole and in pieces. */
static void
test_jsonl_example(void **state)
{
	const size_t pieces[] = {1, 13, 4096, 1 << 20};
	struct jsonl_reader *r;
	size_t n, i, at, k, lines, got;
	uint8_t *in;

	(void)state;
	in = read_data("examples/imaging.jsonl", &n);
	for (i = 0, lines = 0; i < n; i++)
		lines += in[i] == '\n';
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		assert_non_null(r = jsonl_new(0));
		got = 0;
		for (at = 0; at < n; at += k) {
			k = n - at < pieces[i] ? n - at : pieces[i];
			assert_int_equal(jsonl_feed(r, in + at, k, jsonl_count, &got), 0);
		}
		assert_int_equal(jsonl_finish(r, jsonl_count, &got), 0);
		assert_int_equal(got, lines);
		jsonl_free(r);
	}
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_cases),
	    cmocka_unit_test(test_csv_utf8_every_sequence),
	    cmocka_unit_test(test_csv_long_line),
	    cmocka_unit_test(test_csv_long_line_one_feed),
	    cmocka_unit_test(test_csv_callback_stops),
	    cmocka_unit_test(test_csv_counts),
	    cmocka_unit_test(test_csv_examples),
	    cmocka_unit_test(test_csv_many_fields),
	    cmocka_unit_test(test_csv_scan_paths),
	    cmocka_unit_test(test_jsonl_cases),
	    cmocka_unit_test(test_jsonl_long_line),
	    cmocka_unit_test(test_jsonl_ownership),
	    cmocka_unit_test(test_jsonl_deep),
	    cmocka_unit_test(test_jsonl_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
