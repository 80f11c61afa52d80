/*
 * tests/fuzz/csv_fuzz.c -- libFuzzer harness for the CSV and JSON Lines
 * readers of sandbox/csv.c.
 *
 * The first input byte picks where the upload is cut in two; the second
 * picks the limits (small ones half of the time, so the limit paths are
 * reached); the rest is the upload.  Each reader gets the upload whole, in
 * the two pieces, and (when short) byte by byte; every piece is a fresh heap
 * copy freed as soon as its feed returns, so ASan catches a reader that keeps
 * a pointer into it.  The harness aborts unless every way gives the same
 * records, positions and error, and unless every CSV field is valid UTF-8
 * placed at a sane position.
 *
 * Build and run (ASan + UBSan):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *       -include config.h -I. tests/fuzz/csv_fuzz.c sandbox/csv.c sandbox/jsonl.c \
 *       sandbox/reader.c sandbox/simd.c common/err.c \
 *       -ljansson -o csv_fuzz
 *   ./csv_fuzz -max_total_time=120 CORPUS_DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/err.h"
#include "sandbox/csv.h"
#include "sandbox/jsonl.h"
#include "tests/ref_utf8.h"

#define BYTEWISE_MAX 512 /* inputs up to this long are also fed byte by byte */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one way of feeding gave: a running FNV-1a hash of it. */
struct digest {
	uint64_t h;
	uint64_t records;
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
csv_record(void *arg, size_t line, size_t nf, const struct csv_field *f)
{
	struct digest *d = arg;
	size_t i;

	if (nf == 0 || line == 0)
		abort();
	d->records++;
	digest_add(d, &line, sizeof(line));
	digest_add(d, &nf, sizeof(nf));
	for (i = 0; i < nf; i++) {
		if (f[i].p == NULL || !ref_utf8_valid((const uint8_t *)f[i].p, f[i].len) ||
		    f[i].line < line || f[i].col == 0 || (i > 0 && f[i].line < f[i - 1].line))
			abort();
		digest_add(d, &f[i].len, sizeof(f[i].len));
		digest_add(d, f[i].p, f[i].len);
		digest_add(d, &f[i].line, sizeof(f[i].line));
		digest_add(d, &f[i].col, sizeof(f[i].col));
		digest_add(d, &f[i].quoted, sizeof(f[i].quoted));
	}
	/* Stop now and then, to exercise the callback's stop. */
	return f[0].len == 3 && f[0].p[0] == '!' ? 42 : 0;
}

static int
jsonl_record(void *arg, size_t line, json_t *obj)
{
	struct digest *d = arg;
	char *text;

	if (!json_is_object(obj) || line == 0)
		abort();
	d->records++;
	digest_add(d, &line, sizeof(line));
	if ((text = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT)) == NULL)
		abort();
	digest_add(d, text, strlen(text));
	free(text);
	return 0;
}

/* Feed in[0 .. n-1] in pieces of at most piece bytes, the first cut at cut. */
static void
run(int jsonl, const struct csv_limits *lim, const uint8_t *in, size_t n, size_t cut, size_t piece,
    struct digest *d)
{
	struct csv_reader *cr = NULL;
	struct jsonl_reader *jr = NULL;
	size_t at = 0, k;
	uint8_t *copy;
	const char *msg;
	int rc = 0;

	d->h = 0xcbf29ce484222325ULL;
	d->records = 0;
	if (jsonl)
		jr = jsonl_new(lim->line_max);
	else
		cr = csv_new(lim);
	if (cr == NULL && jr == NULL)
		abort();
	sl_err_clear();
	while (rc == 0 && at < n) {
		k = at < cut ? cut - at : n - at;
		if (k > piece)
			k = piece;
		if ((copy = malloc(k)) == NULL)
			abort();
		memcpy(copy, in + at, k);
		rc = jsonl ? jsonl_feed(jr, copy, k, jsonl_record, d)
		           : csv_feed(cr, copy, k, csv_record, d);
		free(copy);
		at += k;
	}
	if (rc == 0)
		rc = jsonl ? jsonl_finish(jr, jsonl_record, d) : csv_finish(cr, csv_record, d);
	if (rc != 0 && rc != 42 && rc != SL_ERR_PARSE)
		abort();
	digest_add(d, &rc, sizeof(rc));
	if (rc == SL_ERR_PARSE) {
		msg = sl_err_msg(rc);
		digest_add(d, msg, strlen(msg));
	}
	csv_free(cr);
	jsonl_free(jr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_limits lim = {0, 0, 0};
	struct digest whole, split, bytewise;
	const uint8_t *in;
	size_t n, cut;
	int jsonl;
	uint8_t b;

	if (size < 2)
		return 0;
	in = data + 2;
	n = size - 2;
	cut = n * data[0] / 255;
	b = data[1];
	if (b & 0x80) {
		lim.field_max = 1 + (b & 0x0f);
		lim.fields_max = 1 + ((b >> 4) & 0x07);
		lim.line_max = 1 + (size_t)(b & 0x1f) * 2;
	}
	for (jsonl = 0; jsonl <= 1; jsonl++) {
		run(jsonl, &lim, in, n, n, SIZE_MAX, &whole);
		run(jsonl, &lim, in, n, cut, SIZE_MAX, &split);
		if (whole.h != split.h || whole.records != split.records)
			abort();
		if (n <= BYTEWISE_MAX) {
			run(jsonl, &lim, in, n, n, 1, &bytewise);
			if (whole.h != bytewise.h || whole.records != bytewise.records)
				abort();
		}
	}
	return 0;
}
