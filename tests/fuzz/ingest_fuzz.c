/*
 * tests/fuzz/ingest_fuzz.c -- libFuzzer harness for the validation of an
 * upload against the product schema: the ingest job (sandbox/ingest.c) and
 * its values (sandbox/value.c), run in-process over a socketpair into a real
 * store in a temporary directory.
 *
 * The first input byte picks one of four schemas (bit 0-1: domains of TEXT
 * and INT, reject and clamp bounds, DECIMAL(p,s) from (4,4) to (18,0),
 * DATE, REAL, BOOL, TEXT, nullable or not), the format (bit 2: CSV or JSON
 * Lines) and the size of the DATA frames it comes in (bits 3-4); the rest
 * is the upload.  Each frame's payload is a heap copy of exactly its length.
 * Each upload is ingested again on 2 or 3 threads (bit 7) in blocks of 1 to
 * 4,096 bytes (bits 5-6), and must end exactly as on one thread.
 *
 * A refusal must be an ERROR frame of code JOB_ERR_INPUT that decodes, with
 * one to INGEST_ERRORS_MAX places, each an ingest rule with a template, on a
 * line of the upload and a byte column of that line (length bytes within
 * it); a value rule must name a column of the schema, and the bytes it
 * quotes (a CSV field, unquoted) must break that very rule again when
 * value_parse() is given them (SL_ERR_INVAL).  An acceptance must be a
 * RESULT whose manifest digest opens the version it wrote, of as many rows
 * as it claims; every stored value must honour its column: NULL only where
 * nullable, in the domain, within reject bounds, DECIMAL below 10^p, a real
 * date of four-digit year, a finite REAL, BOOL 0 or 1, TEXT valid UTF-8;
 * and each printed back in canonical form (digits, the DECIMAL's point and
 * scale digits, %.17g, YYYY-MM-DD, true/false) must validate again to the
 * very same value.  For JSON Lines, a JSON number stored in a DECIMAL or
 * REAL column must be the number that was sent (no digit dropped beyond the
 * scale).
 *
 * Four faults it found are fixed, their inputs in the corpus (regress-*):
 * "0.5" refused by DECIMAL(p,p); a JSON number below 1e-4 rounded into a
 * DECIMAL; a REAL with leading white space other than ' ' accepted; NULL + 0
 * in the store's dictionary for an empty first text.  On threads, two more:
 * NULL + 0 for an empty upload's line count and for an empty first text
 * kept in a block (regress-threads-*).
 *
 * Build and run (ASan + UBSan): make fuzz, then
 *   tests/fuzz/ingest_fuzz -max_len=4096 -dict=tests/fuzz/ingest.dict CORPUS_DIR \
 *       tests/fuzz/corpus/ingest
 */
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "common/err.h"
#include "common/file.h"
#include "common/schema.h"
#include "keys/keys.h"
#include "sandbox/ingest.h"
#include "sandbox/job.h"
#include "sandbox/store.h"
#include "sandbox/value.h"
#include "tests/fuzz/check.h"
#include "tests/fuzz/keys_init.h"
#include "tests/ref_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSCHEMAS 4

static const char *const schema_json[NSCHEMAS] = {
    "{\"name\":\"t\",\"columns\":["
    "{\"name\":\"id\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"sex\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"F\",\"M\",\"\"]},"
    "{\"name\":\"amt\",\"type\":\"DECIMAL(10,2)\",\"class\":\"measure\",\"bounds\":[0,1000],"
    "\"bounds_mode\":\"reject\"},"
    "{\"name\":\"day\",\"type\":\"DATE\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"note\",\"type\":\"TEXT\",\"class\":\"hidden\",\"nullable\":true}]}",
    "{\"name\":\"t\",\"columns\":["
    "{\"name\":\"k\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"code\",\"type\":\"INT\",\"class\":\"dimension\",\"domain\":[1,2,3,10,-5]},"
    "{\"name\":\"lvl\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[-100,100]},"
    "{\"name\":\"r\",\"type\":\"REAL\",\"class\":\"measure\",\"bounds\":[-1.5,2.5],"
    "\"bounds_mode\":\"reject\",\"nullable\":true},"
    "{\"name\":\"ok\",\"type\":\"BOOL\",\"class\":\"dimension\",\"nullable\":true}]}",
    "{\"name\":\"t\",\"columns\":["
    "{\"name\":\"u\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"d\",\"type\":\"DECIMAL(18,0)\",\"class\":\"measure\","
    "\"bounds\":[-999999999999999,999999999999999]},"
    "{\"name\":\"e\",\"type\":\"DECIMAL(4,4)\",\"class\":\"measure\",\"bounds\":[0,0.5],"
    "\"nullable\":true},"
    "{\"name\":\"big\",\"type\":\"INT\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"t\",\"type\":\"TEXT\",\"class\":\"dimension\"}]}",
    "{\"name\":\"t\",\"columns\":["
    "{\"name\":\"u\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"when\",\"type\":\"DATE\",\"class\":\"dimension\"},"
    "{\"name\":\"x\",\"type\":\"REAL\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"dec\",\"type\":\"DECIMAL(6,3)\",\"class\":\"dimension\",\"nullable\":true,"
    "\"bounds\":[-1,1]},"
    "{\"name\":\"b\",\"type\":\"BOOL\",\"class\":\"dimension\"}]}",
};

static struct {
	char dir[64];
	struct schema *s[NSCHEMAS];
	uint8_t key[STORE_KEY_BYTES];
} S;

static void
cleanup(void)
{
	size_t i;

	for (i = 0; i < NSCHEMAS; i++)
		schema_free(S.s[i]);
	(void)sl_rmtree(S.dir);
}

static void
setup(void)
{
	size_t i;

	fuzz_keys_init();
	signal(SIGPIPE, SIG_IGN); /* the feeder's writes after a refusal */
	/* tmpfs when there is one: LMDB syncs every commit. */
	snprintf(S.dir, sizeof S.dir, "%s/ingest_fuzz.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	CHECK(mkdtemp(S.dir) != NULL);
	atexit(cleanup);
	keys_random(S.key, sizeof S.key);
	for (i = 0; i < NSCHEMAS; i++) {
		int r = schema_parse(schema_json[i], strlen(schema_json[i]), &S.s[i]);

		if (r != 0)
			fprintf(stderr, "schema %zu: %s\n", i, sl_err_msg(r));
		CHECK(r == 0);
	}
}

/* ---- the upload's lines ------------------------------------------------------------ */

struct lines {
	size_t n;
	size_t *start, *len; /* of each line, without its '\n' */
};

static void
lines_of(const uint8_t *p, size_t n, struct lines *l)
{
	size_t i, at = 0;

	l->n = 0;
	CHECK((l->start = malloc((n + 1) * sizeof(size_t))) != NULL);
	CHECK((l->len = malloc((n + 1) * sizeof(size_t))) != NULL);
	for (i = 0; i <= n; i++)
		if (i == n || p[i] == '\n') {
			l->start[l->n] = at;
			l->len[l->n++] = i - at;
			at = i + 1;
		}
}

/* ---- refusals ---------------------------------------------------------------------- */

static int
value_rule(uint32_t rule)
{
	return rule >= JOB_RULE_INGEST_NOT_NULLABLE && rule <= JOB_RULE_INGEST_JSON_NUMBER;
}

static void
check_place(const struct schema *s, int jsonl, const uint8_t *p, const struct lines *l,
    const struct job_place *pl)
{
	const struct schema_column *c;
	struct value v;
	uint32_t rule;
	size_t at, i, n;
	char *field;
	int quoted;

	CHECK(job_rule_is_ingest(pl->rule) && job_rule_text(pl->rule) != NULL);
	CHECK(pl->line >= 1 && pl->line <= l->n);
	CHECK(pl->column >= 1 && pl->column <= l->len[pl->line - 1] + 1);
	CHECK(pl->length <= l->len[pl->line - 1] + 1 - pl->column);
	CHECK(pl->field <= s->ncols);
	if (pl->rule == JOB_RULE_INGEST_HEADER_TWICE || pl->rule == JOB_RULE_INGEST_HEADER_MISSING)
		CHECK(pl->field >= 1);
	if (!value_rule(pl->rule))
		return;
	CHECK(pl->field >= 1);
	if (jsonl) {
		/* JSON Lines values have no positions of their own: the line's start. */
		CHECK(pl->column == 1 && pl->length == 0);
		return;
	}
	CHECK(pl->rule < JOB_RULE_INGEST_JSON_STRING);
	c = &s->cols[pl->field - 1];
	if (pl->length == 0) {
		/* An unquoted empty field (NULL), or a quoted one over lines. */
		at = l->start[pl->line - 1] + pl->column - 1;
		if (pl->rule == JOB_RULE_INGEST_NOT_NULLABLE &&
		    (at == l->start[pl->line - 1] + l->len[pl->line - 1] || p[at] == ','))
			CHECK(!c->nullable);
		return;
	}
	/* The bytes quoted break the same rule again. */
	at = l->start[pl->line - 1] + pl->column - 1;
	n = pl->length;
	quoted = p[at] == '"';
	CHECK((field = malloc(n + 1)) != NULL);
	if (quoted) {
		CHECK(n >= 2 && p[at + n - 1] == '"');
		for (i = at + 1, n = 0; i < at + pl->length - 1; i++) {
			field[n++] = (char)p[i];
			if (p[i] == '"')
				i++; /* "" is one quote */
		}
	} else {
		memcpy(field, p + at, n);
	}
	CHECK(value_parse(c, field, n, !quoted && n == 0, &v, &rule) == SL_ERR_INVAL);
	if (rule != pl->rule)
		fprintf(stderr, "place %u:%u rule %u, again %u\n", pl->line, pl->column, pl->rule,
		    rule);
	CHECK(rule == pl->rule);
	free(field);
}

static void
check_refusal(const struct schema *s, int jsonl, const uint8_t *p, size_t n, const uint8_t *frame,
    size_t flen)
{
	struct job_error_frame e;
	struct lines l;
	size_t i;

	CHECK(job_error_decode(frame, flen, &e) == 0);
	CHECK(e.code == JOB_ERR_INPUT && job_error_text(e.code) != NULL);
	CHECK(e.nplaces >= 1 && e.nplaces <= INGEST_ERRORS_MAX && e.total >= e.nplaces);
	lines_of(p, n, &l);
	for (i = 0; i < e.nplaces; i++)
		check_place(s, jsonl, p, &l, &e.places[i]);
	free(l.start);
	free(l.len);
}

/* ---- accepted values --------------------------------------------------------------- */

static int64_t
pow10i(int k)
{
	int64_t p = 1;

	while (k-- > 0)
		p *= 10;
	return p;
}

/* v of column c as canonical text into buf. */
static size_t
canonical(const struct schema_column *c, const struct store_vec *vec, uint32_t row,
    const char *const *strs, const uint32_t *lens, char *buf, size_t cap, const char **out)
{
	int64_t i = vec->ints != NULL ? vec->ints[row] : 0, y, p;
	uint64_t mag;
	int m, d;

	*out = buf;
	switch (c->type) {
	case SCHEMA_INT:
		return (size_t)snprintf(buf, cap, "%" PRId64, i);
	case SCHEMA_DECIMAL:
		p = pow10i(c->scale);
		mag = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
		if (c->scale == 0)
			return (size_t)snprintf(buf, cap, "%s%" PRIu64, i < 0 ? "-" : "", mag);
		return (size_t)snprintf(buf, cap, "%s%" PRIu64 ".%0*" PRIu64, i < 0 ? "-" : "",
		    mag / (uint64_t)p, c->scale, mag % (uint64_t)p);
	case SCHEMA_REAL:
		return (size_t)snprintf(buf, cap, "%.17g", vec->reals[row]);
	case SCHEMA_DATE:
		value_civil(i, &y, &m, &d);
		CHECK(y >= 0 && y <= 9999);
		return (size_t)snprintf(buf, cap, "%04" PRId64 "-%02d-%02d", y, m, d);
	case SCHEMA_BOOL:
		return (size_t)snprintf(buf, cap, "%s", i ? "true" : "false");
	case SCHEMA_TEXT:
		*out = strs[vec->codes[row]];
		return lens[vec->codes[row]];
	}
	return 0;
}

static void
check_value(const struct schema_column *c, const struct store_vec *vec, uint32_t row,
    const char *const *strs, const uint32_t *lens, uint32_t ndict)
{
	char buf[64];
	const char *text;
	struct value v;
	uint32_t rule;
	size_t len;
	int64_t i;

	if (vec->nulls != NULL && (vec->nulls[row / 8] >> (row % 8) & 1)) {
		CHECK(c->nullable);
		return;
	}
	switch (c->type) {
	case SCHEMA_REAL:
		CHECK(isfinite(vec->reals[row]));
		if (c->has_bounds && c->bounds_mode == SCHEMA_BOUNDS_REJECT)
			CHECK(vec->reals[row] >= c->rlo && vec->reals[row] <= c->rhi);
		break;
	case SCHEMA_TEXT:
		CHECK(vec->codes[row] < ndict);
		CHECK(
		    ref_utf8_valid((const uint8_t *)strs[vec->codes[row]], lens[vec->codes[row]]));
		if (c->ndomain > 0)
			CHECK(schema_in_domain(c, strs[vec->codes[row]], lens[vec->codes[row]], 0));
		break;
	default:
		i = vec->ints[row];
		if (c->type == SCHEMA_BOOL)
			CHECK(i == 0 || i == 1);
		if (c->type == SCHEMA_DECIMAL)
			CHECK(i > -pow10i(c->precision) && i < pow10i(c->precision));
		if (c->ndomain > 0)
			CHECK(schema_in_domain(c, NULL, 0, i));
		if (c->has_bounds && c->bounds_mode == SCHEMA_BOUNDS_REJECT)
			CHECK(i >= c->lo && i <= c->hi);
		break;
	}
	/* Printed back in canonical form, the same value. */
	len = canonical(c, vec, row, strs, lens, buf, sizeof buf, &text);
	CHECK(text != buf || len < sizeof buf);
	CHECK(value_parse(c, text, len, 0, &v, &rule) == 0);
	CHECK(!v.null);
	switch (c->type) {
	case SCHEMA_REAL:
		CHECK(memcmp(&v.r, &vec->reals[row], sizeof v.r) == 0 ||
		      (v.r == 0 && vec->reals[row] == 0));
		break;
	case SCHEMA_TEXT:
		CHECK(v.len == lens[vec->codes[row]] && memcmp(v.s, text, v.len) == 0);
		break;
	default:
		CHECK(v.i == vec->ints[row]);
	}
}

/* A JSON Lines row's number, stored in a DECIMAL or REAL column, is the number sent. */
static void
check_json_col(const struct schema *s, size_t col, const char *line, size_t n,
    const struct store_vec *vec, uint32_t row)
{
	const struct schema_column *c = &s->cols[col];
	json_t *obj = json_loadb(line, n, JSON_DECODE_ANY, NULL), *j;
	char buf[64];
	const char *text;
	double x;

	j = json_object_get(obj, c->name);
	if (json_is_number(j)) {
		x = json_number_value(j);
		if (c->type == SCHEMA_REAL) {
			CHECK(vec->reals[row] == x);
		} else if (json_is_integer(j)) {
			CHECK(vec->ints[row] == json_integer_value(j) * pow10i(c->scale));
		} else {
			canonical(c, vec, row, NULL, NULL, buf, sizeof buf, &text);
			if (strtod(buf, NULL) != x)
				fprintf(
				    stderr, "column %s: sent %.17g, stored %s\n", c->name, x, buf);
			CHECK(strtod(buf, NULL) == x);
		}
	}
	json_decref(obj);
}

static void
check_version(const struct schema *s, int jsonl, const uint8_t *p, size_t n, const uint8_t *frame,
    size_t flen)
{
	struct job_written w;
	struct store *st = NULL;
	struct store_reader *rd = NULL;
	struct store_ident id = {"t", 1, KEYS_SUITE_INTL, S.key, NULL};
	struct store_vec vecs[8];
	const char *const *strs[8];
	const uint32_t *lens[8];
	uint32_t ndict[8], chunk, row;
	uint64_t rows = 0;
	struct lines l;
	size_t col;

	CHECK(job_written_decode(frame, flen, &w) == 0);
	CHECK(w.rows >= 1);
	id.manifest_digest = w.manifest;
	CHECK(store_open(S.dir, 0, 0, &st) == 0);
	CHECK(store_reader_open(st, &id, s, &rd) == 0);
	CHECK(store_reader_rows(rd) == w.rows);
	CHECK(s->ncols <= 8);
	lines_of(p, n, &l);
	for (col = 0; col < s->ncols; col++) {
		strs[col] = NULL;
		lens[col] = NULL;
		ndict[col] = 0;
		if (s->cols[col].type == SCHEMA_TEXT)
			CHECK(store_read_dict(rd, col, &strs[col], &lens[col], &ndict[col]) == 0);
	}
	for (chunk = 0; chunk < store_reader_chunks(rd); chunk++) {
		/* A vec is borrowed until the next read: one column at a time. */
		for (col = 0; col < s->ncols; col++) {
			CHECK(store_read_chunk(rd, col, chunk, &vecs[col]) == 0);
			for (row = 0; row < vecs[col].rows; row++)
				check_value(&s->cols[col], &vecs[col], row, strs[col], lens[col],
				    ndict[col]);
		}
		rows += vecs[0].rows;
	}
	CHECK(rows == w.rows);
	/* One line a row, when the upload is that simple (n < 4 KiB: one chunk). */
	if (jsonl && store_reader_chunks(rd) == 1 &&
	    (l.n == w.rows || (l.n == w.rows + 1 && l.len[l.n - 1] == 0))) {
		for (col = 0; col < s->ncols; col++) {
			if (s->cols[col].type != SCHEMA_DECIMAL && s->cols[col].type != SCHEMA_REAL)
				continue;
			CHECK(store_read_chunk(rd, col, 0, &vecs[col]) == 0);
			for (row = 0; row < w.rows; row++)
				if (vecs[col].nulls == NULL ||
				    !(vecs[col].nulls[row / 8] >> (row % 8) & 1))
					check_json_col(s, col, (const char *)p + l.start[row],
					    l.len[row], &vecs[col], row);
		}
	}
	free(l.start);
	free(l.len);
	store_reader_close(rd);
	store_close(st);
}

/*
 * value_parse() alone on the upload's first bytes, for every column of s:
 * a value accepted is what check_value() wants of a stored one, and its
 * text has no white space around it (strtod() would skip some).
 */
static void
check_direct(const struct schema *s, const uint8_t *p, size_t n)
{
	struct store_vec vec;
	const char *strs[1];
	uint32_t lens[1], code = 0, rule;
	uint8_t nulls = 0;
	struct value v;
	size_t col;
	char *text;

	if (n > 40)
		n = 40;
	CHECK((text = malloc(n > 0 ? n : 1)) != NULL);
	if (n > 0)
		memcpy(text, p, n);
	for (col = 0; col < s->ncols; col++) {
		const struct schema_column *c = &s->cols[col];
		int r = value_parse(c, text, n, 0, &v, &rule);

		if (r != 0) {
			CHECK(r == SL_ERR_INVAL && value_rule(rule) && job_rule_text(rule) != NULL);
			continue;
		}
		CHECK(rule == JOB_RULE_NONE && !v.null);
		if (c->type != SCHEMA_TEXT)
			CHECK(n > 0 && !isspace(p[0]) && !isspace(p[n - 1]));
		/* Whether TEXT is UTF-8 is the readers' to check, not value_parse()'s. */
		if (c->type == SCHEMA_TEXT && !ref_utf8_valid(p, n))
			continue;
		memset(&vec, 0, sizeof vec);
		vec.rows = 1;
		vec.nulls = NULL;
		vec.ints = &v.i;
		vec.reals = &v.r;
		vec.codes = &code;
		strs[0] = v.s;
		lens[0] = (uint32_t)v.len;
		check_value(c, &vec, 0, strs, lens, 1);
	}
	(void)nulls;
	free(text);
}

struct feed {
	int fd;
	const uint8_t *p;
	size_t n, step;
};

/* DATA frames of at most step bytes, each a heap copy of exactly its length, then END. */
static void *
feed_upload(void *arg)
{
	struct feed *f = arg;
	size_t off, k;
	uint8_t *piece;
	int r = 0;

	for (off = 0; r == 0 && off < f->n; off += k) {
		k = f->n - off < f->step ? f->n - off : f->step;
		CHECK((piece = malloc(k)) != NULL);
		memcpy(piece, f->p + off, k);
		r = job_frame_write(f->fd, JOB_FRAME_DATA, piece, k);
		free(piece);
	}
	if (r == 0)
		(void)!job_frame_write(f->fd, JOB_FRAME_END, NULL, 0);
	return NULL;
}

/* One ingest of p[0 .. n) in frames of step bytes on threads threads: the frame it ends with. */
static void
run_once(const struct job_header *h0, const uint8_t *p, size_t n, size_t step, unsigned threads,
    uint32_t *type, uint8_t **payload, size_t *plen)
{
	struct job_header h = *h0;
	struct ingest *in = NULL;
	struct feed feed;
	pthread_t feeder;
	int sv[2], r;

	h.threads = threads;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	/* The broker's side, on a thread of its own: a socket holds few small frames. */
	feed.fd = sv[0];
	feed.p = p;
	feed.n = n;
	feed.step = step;
	CHECK(pthread_create(&feeder, NULL, feed_upload, &feed) == 0);
	CHECK(ingest_prepare(&h, &in) == 0);
	r = ingest_run(in, sv[1]);
	if (r != 0)
		fprintf(stderr, "ingest_run: %s\n", sl_err_msg(r));
	CHECK(r == 0);
	ingest_free(in);
	*payload = NULL;
	do {
		free(*payload);
		CHECK(job_frame_read(sv[0], type, payload, plen, JOB_FRAME_MAX) == 0);
	} while (*type == JOB_FRAME_PROGRESS);
	/* A refusal leaves the rest of the upload unread: the feeder's writes fail now. */
	close(sv[1]);
	CHECK(pthread_join(feeder, NULL) == 0);
	close(sv[0]);
}

/*
 * On threads, cut into blocks of few bytes, the upload must end as on one:
 * the same ERROR frame byte for byte, or a RESULT of the same counts (its
 * manifest digest differs by the nonces) whose version checks as the first's.
 */
static void
check_threads(const struct job_header *h, const struct schema *s, int jsonl, const uint8_t *p,
    size_t n, size_t step, unsigned threads, size_t block, uint32_t type1, const uint8_t *pay1,
    size_t len1)
{
	struct job_written a, b;
	uint8_t *payload;
	uint32_t type;
	size_t plen;

	ingest_block_bytes = block;
	run_once(h, p, n, step, threads, &type, &payload, &plen);
	ingest_block_bytes = INGEST_BLOCK_BYTES;
	CHECK(type == type1);
	if (type == JOB_FRAME_ERROR) {
		CHECK(plen == len1 && memcmp(payload, pay1, plen) == 0);
	} else {
		CHECK(job_written_decode(pay1, len1, &a) == 0 &&
		      job_written_decode(payload, plen, &b) == 0);
		CHECK(a.rows == b.rows && a.chunks == b.chunks && a.bytes == b.bytes);
		check_version(s, jsonl, p, n, payload, plen);
	}
	free(payload);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t steps[] = {SIZE_MAX, 1, 7, 64};
	static const size_t blocks[] = {1, 7, 64, 4096};
	static int ready;
	const struct schema *s;
	struct job_header h;
	uint8_t *payload = NULL;
	size_t n, plen, step;
	uint32_t type;
	int jsonl;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1)
		return 0;
	s = S.s[data[0] & 3];
	jsonl = data[0] >> 2 & 1;
	check_direct(s, data + 1, size - 1);
	step = steps[data[0] >> 3 & 3];
	n = size - 1;
	memset(&h, 0, sizeof h);
	h.version = JOB_PROTOCOL_VERSION;
	h.kind = JOB_KIND_INGEST;
	h.suite = KEYS_SUITE_INTL;
	h.map_bytes = 8 << 20;
	h.data_version = 1;
	memcpy(h.key, S.key, sizeof S.key);
	h.store = S.dir;
	h.product = (char *)"t";
	h.schema = (char *)schema_json[data[0] & 3];
	h.params = jsonl ? (char *)"{\"format\":\"jsonl\"}" : (char *)"{\"format\":\"csv\"}";
	run_once(&h, data + 1, n, step, 1, &type, &payload, &plen);
	if (type == JOB_FRAME_ERROR) {
		check_refusal(s, jsonl, data + 1, n, payload, plen);
	} else {
		CHECK(type == JOB_FRAME_RESULT);
		check_version(s, jsonl, data + 1, n, payload, plen);
	}
	/* Bits 5-7: blocks of 1 to 4,096 bytes on 2 or 3 threads. */
	check_threads(&h, s, jsonl, data + 1, n, step, 2 + (data[0] >> 7 & 1),
	    blocks[data[0] >> 5 & 3], type, payload, plen);
	free(payload);
	return 0;
}
