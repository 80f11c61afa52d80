/*
 * sandbox/jsonl.c -- the push parser for uploaded JSON Lines (jsonl.h).
 *
 * Runs in the confined ingest worker on bytes from the socket, none of them
 * trusted.  A reader holds only the line in progress, copied only when it is
 * split across feeds, and never more than line_max bytes of it; jansson
 * parses each complete line (and checks its UTF-8 and nesting depth).
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sandbox/jsonl.h"
#include "sandbox/reader.h"

struct jsonl_reader {
	size_t line_max;
	int done, err; /* once done, every call returns err */
	int started;   /* the BOM question is settled */
	uint8_t bom[READER_BOM_BYTES];
	size_t nbom;
	size_t line;  /* the line being gathered */
	uint8_t *buf; /* its bytes so far, when split across feeds */
	size_t len, cap;
	uint64_t records;
	struct reader_fault fault; /* why parsing stopped, after SL_ERR_PARSE */
};

struct jsonl_reader *
jsonl_new(size_t line_max)
{
	struct jsonl_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->line_max = line_max != 0 ? line_max : JSONL_LINE_MAX_DEFAULT;
	if (r->line_max > READER_LIMIT_CAP)
		r->line_max = READER_LIMIT_CAP;
	r->line = 1;
	return r;
}

static const char *
jsonl_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	case JSON_OBJECT:
		break;
	}
	return "an object";
}

/*
 * Parse the complete line s[0 .. n-1] (its LF gone, within the limit) as
 * line r->line and hand its object to fn.
 */
static int
jsonl_line(struct jsonl_reader *r, const uint8_t *s, size_t n, jsonl_record_fn fn, void *arg)
{
	json_error_t e;
	json_t *j = NULL;
	size_t i;
	size_t col;
	int rc;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	for (i = 0; i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'); i++)
		;
	if (i == n) {
		rc = reader_fail(&r->fault, READER_ERR_BLANK, r->line, 1, 0, "blank line");
		goto out;
	}
	if ((j = json_loadb((const char *)s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e)) ==
	    NULL) {
		/*
		 * jansson's position counts the bytes it has read, as our columns
		 * do, so it is the column of the last of them; it has not read a
		 * byte that is not UTF-8, so that one is the next.
		 */
		col = e.position > 0 ? (size_t)e.position : 1;
		if (json_error_code(&e) == json_error_invalid_utf8)
			col++;
		rc = reader_fail(&r->fault, READER_ERR_JSON, r->line, col, 0, "%s", e.text);
		goto out;
	}
	if (!json_is_object(j)) {
		rc = reader_fail(&r->fault, READER_ERR_NOT_OBJECT, r->line, i + 1, 0,
		    "expected a JSON object, got %s", jsonl_type_name(j));
		goto out;
	}
	r->records++;
	rc = fn(arg, r->line, j);
out:
	json_decref(j);
	return rc;
}

static int
jsonl_too_long(struct jsonl_reader *r)
{
	return reader_fail(&r->fault, READER_ERR_LINE_LONG, r->line, r->line_max + 1, r->line_max,
	    "line longer than %zu bytes", r->line_max);
}

/*
 * Whether a line whose first len bytes (no LF among them) are known, the
 * last being last, is already over the limit: only a CR may follow the
 * line_max-th byte, and only if LF follows it.
 */
static int
jsonl_over(const struct jsonl_reader *r, size_t len, uint8_t last)
{
	return len > r->line_max + 1 || (len == r->line_max + 1 && last != '\r');
}

static int
jsonl_buf_put(struct jsonl_reader *r, const uint8_t *p, size_t n)
{
	size_t need = r->len + n, cap; /* no overflow: len + n <= line_max + 1 */
	uint8_t *b;

	if (need > r->cap) {
		cap = r->cap < READER_BUF_START ? READER_BUF_START : r->cap;
		while (cap < need)
			cap *= 2;
		if (cap > r->line_max + 1)
			cap = r->line_max + 1;
		if ((b = realloc(r->buf, cap)) == NULL)
			return sl_errf(SL_ERR_NOMEM, "out of memory for a %zu-byte line", need);
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len = need;
	return 0;
}

static int
jsonl_piece(struct jsonl_reader *r, const uint8_t *p, size_t n, jsonl_record_fn fn, void *arg)
{
	const uint8_t *nl;
	size_t win, k;
	int rc;

	while (n > 0) {
		/* The LF may come after at most line_max bytes and a CR. */
		win = r->line_max + 2 - r->len;
		if (win > n)
			win = n;
		if ((nl = memchr(p, '\n', win)) == NULL) {
			if (win < n || jsonl_over(r, r->len + n, p[n - 1]))
				return jsonl_too_long(r);
			return jsonl_buf_put(r, p, n);
		}
		k = (size_t)(nl - p);
		if (r->len + k > r->line_max &&
		    !(r->len + k == r->line_max + 1 &&
		        (k > 0 ? p[k - 1] : r->buf[r->len - 1]) == '\r'))
			return jsonl_too_long(r);
		if (r->len == 0) {
			rc = jsonl_line(r, p, k, fn, arg);
		} else {
			if ((rc = jsonl_buf_put(r, p, k)) != 0)
				return rc;
			rc = jsonl_line(r, r->buf, r->len, fn, arg);
			r->len = 0;
		}
		if (rc != 0)
			return rc;
		r->line++;
		p += k + 1;
		n -= k + 1;
	}
	return 0;
}

static int
jsonl_again(const struct jsonl_reader *r)
{
	if (r->err == SL_ERR_INVAL)
		return sl_errf(SL_ERR_INVAL, "jsonl: reader used after jsonl_finish()");
	return r->err;
}

void
jsonl_mid_file(struct jsonl_reader *r)
{
	r->started = 1;
}

int
jsonl_feed(struct jsonl_reader *r, const uint8_t *p, size_t n, jsonl_record_fn fn, void *arg)
{
	size_t took, replay;
	int done, rc = 0;

	if (r->done)
		return jsonl_again(r);
	if (n == 0)
		return 0; /* p may be NULL */
	if (!r->started) {
		took = reader_bom_take(r->bom, &r->nbom, p, n, &replay, &done);
		p += took;
		n -= took;
		if (done) {
			r->started = 1;
			if (replay == took) {
				p -= took;
				n += took;
			} else if (replay > 0 &&
			           (rc = jsonl_piece(r, r->bom, replay, fn, arg)) != 0) {
				goto out;
			}
		}
	}
	if (n > 0)
		rc = jsonl_piece(r, p, n, fn, arg);
out:
	if (rc != 0) {
		r->done = 1;
		r->err = rc;
	}
	return rc;
}

int
jsonl_finish(struct jsonl_reader *r, jsonl_record_fn fn, void *arg)
{
	int rc = 0;

	if (r->done)
		return jsonl_again(r);
	if (!r->started && (rc = jsonl_piece(r, r->bom, r->nbom, fn, arg)) != 0)
		goto out;
	if (r->len > 0)
		rc = jsonl_line(r, r->buf, r->len, fn, arg);
out:
	r->done = 1;
	r->err = rc != 0 ? rc : SL_ERR_INVAL;
	return rc;
}

uint64_t
jsonl_records(const struct jsonl_reader *r)
{
	return r->records;
}

const struct reader_fault *
jsonl_fault(const struct jsonl_reader *r)
{
	return r->fault.code != READER_OK ? &r->fault : NULL;
}

void
jsonl_free(struct jsonl_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}
