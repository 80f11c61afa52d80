/*
 * sandbox/job.c -- frames and their codecs (sandbox/job.h).
 *
 * Both processes link this file, so the two sides of each frame are the
 * same code.  Every length comes from the peer and is checked before use.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/byteorder.h"
#include "common/err.h"
#include "common/fn.h"
#include "sandbox/job.h"

/* Largest string field; paths, product ids, schemas and parameters are small. */
#define JOB_STRING_MAX (1u << 20)

static int
io_all(int fd, void *buf, size_t len, int writing)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = writing ? write(fd, p, len) : read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return SL_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- the frame head ------------------------------------------------------ */

static const char *const frame_names[] = {
    [JOB_FRAME_HEADER] = "HEADER",
    [JOB_FRAME_DATA] = "DATA",
    [JOB_FRAME_END] = "END",
    [JOB_FRAME_PROGRESS] = "PROGRESS",
    [JOB_FRAME_RESULT] = "RESULT",
    [JOB_FRAME_ERROR] = "ERROR",
    [JOB_FRAME_PLAN] = "PLAN",
    [JOB_FRAME_GO] = "GO",
    [JOB_FRAME_ABORT] = "ABORT",
};

const char *
job_frame_name(uint32_t type)
{
	return type < sizeof frame_names / sizeof frame_names[0] ? frame_names[type] : NULL;
}

void
job_frame_head_put(uint8_t head[JOB_FRAME_HEAD], uint32_t type, uint32_t len)
{
	be32_put(head, type);
	be32_put(head + 4, len);
}

int
job_frame_head_get(const uint8_t head[JOB_FRAME_HEAD], uint32_t *type, uint32_t *len)
{
	uint32_t t = be32_get(head), n = be32_get(head + 4);

	if (job_frame_name(t) == NULL)
		return sl_errf(SL_ERR_PARSE, "unknown frame type %u", t);
	if (n > JOB_FRAME_MAX)
		return sl_errf(SL_ERR_PARSE,
		    "job frame: a %s frame of %u bytes, more than %u allowed", job_frame_name(t), n,
		    JOB_FRAME_MAX);
	*type = t;
	*len = n;
	return 0;
}

/* ---- the permit table ---------------------------------------------------- */

#define K_INGEST (1u << JOB_KIND_INGEST)
#define K_QUERY (1u << JOB_KIND_QUERY)
#define K_REKEY (1u << JOB_KIND_REKEY)
#define K_TEST (1u << 0) /* JOB_KIND_TEST, and a header whose kind is not known */
#define K_ANY (K_INGEST | K_QUERY | K_REKEY | K_TEST)
#define K_STREAM (K_INGEST | K_REKEY | K_TEST)

static const struct permit {
	unsigned kinds;
	enum job_state from;
	enum job_side side;
	uint32_t type;
	enum job_state to;
} permits[] = {
    {K_ANY, JOB_ST_START, JOB_FROM_BROKER, JOB_FRAME_HEADER, JOB_ST_INPUT},
    /* The input: the upload, the SQL text, or (rekey) nothing but END. */
    {K_INGEST | K_QUERY | K_TEST, JOB_ST_INPUT, JOB_FROM_BROKER, JOB_FRAME_DATA, JOB_ST_INPUT},
    {K_STREAM, JOB_ST_INPUT, JOB_FROM_BROKER, JOB_FRAME_END, JOB_ST_RUN},
    {K_QUERY, JOB_ST_INPUT, JOB_FROM_BROKER, JOB_FRAME_END, JOB_ST_PLAN},
    /* A worker may give up at any time, e.g. on a bad header before any input. */
    {K_ANY, JOB_ST_INPUT, JOB_FROM_WORKER, JOB_FRAME_ERROR, JOB_ST_DONE},
    {K_INGEST | K_TEST, JOB_ST_INPUT, JOB_FROM_WORKER, JOB_FRAME_PROGRESS, JOB_ST_INPUT},
    /* Confinement probes answer before any input; the broker may still send it. */
    {K_TEST, JOB_ST_INPUT, JOB_FROM_WORKER, JOB_FRAME_RESULT, JOB_ST_DONE},
    {K_TEST, JOB_ST_DONE, JOB_FROM_BROKER, JOB_FRAME_DATA, JOB_ST_DONE},
    {K_TEST, JOB_ST_DONE, JOB_FROM_BROKER, JOB_FRAME_END, JOB_ST_DONE},
    /* The query's two phases. */
    {K_QUERY, JOB_ST_PLAN, JOB_FROM_WORKER, JOB_FRAME_PLAN, JOB_ST_VERDICT},
    {K_QUERY, JOB_ST_PLAN, JOB_FROM_WORKER, JOB_FRAME_ERROR, JOB_ST_DONE},
    {K_QUERY, JOB_ST_VERDICT, JOB_FROM_BROKER, JOB_FRAME_GO, JOB_ST_RUN},
    {K_QUERY, JOB_ST_VERDICT, JOB_FROM_BROKER, JOB_FRAME_ABORT, JOB_ST_ABORTED},
    {K_QUERY, JOB_ST_ABORTED, JOB_FROM_WORKER, JOB_FRAME_ERROR, JOB_ST_DONE},
    /* The work. */
    {K_ANY, JOB_ST_RUN, JOB_FROM_WORKER, JOB_FRAME_PROGRESS, JOB_ST_RUN},
    {K_ANY, JOB_ST_RUN, JOB_FROM_WORKER, JOB_FRAME_RESULT, JOB_ST_DONE},
    {K_ANY, JOB_ST_RUN, JOB_FROM_WORKER, JOB_FRAME_ERROR, JOB_ST_DONE},
};

int
job_permit(uint32_t kind, enum job_state st, enum job_side side, uint32_t type)
{
	unsigned bit = kind == JOB_KIND_INGEST || kind == JOB_KIND_QUERY || kind == JOB_KIND_REKEY
	                   ? 1u << kind
	                   : K_TEST;
	size_t i;

	for (i = 0; i < sizeof permits / sizeof permits[0]; i++)
		if ((permits[i].kinds & bit) && permits[i].from == st && permits[i].side == side &&
		    permits[i].type == type)
			return (int)permits[i].to;
	return -1;
}

/* ---- frames -------------------------------------------------------------- */

int
job_frame_write(int fd, uint32_t type, const void *payload, size_t len)
{
	uint8_t head[JOB_FRAME_HEAD];
	int r;

	if (len > JOB_FRAME_MAX)
		return SL_ERR_LIMIT;
	job_frame_head_put(head, type, (uint32_t)len);
	if ((r = io_all(fd, head, sizeof(head), 1)) != 0)
		return r;
	return len > 0 ? io_all(fd, (void *)payload, len, 1) : 0;
}

int
job_frame_read(int fd, uint32_t *type, uint8_t **payload, size_t *len, size_t max)
{
	uint8_t head[JOB_FRAME_HEAD], *p;
	uint32_t t, n;
	int r;

	if ((r = io_all(fd, head, sizeof(head), 0)) != 0 ||
	    (r = job_frame_head_get(head, &t, &n)) != 0)
		return r;
	if (n > max)
		return sl_errf(SL_ERR_PARSE, "job frame: %u bytes, more than %zu allowed", n, max);
	if ((p = malloc((size_t)n + 1)) == NULL)
		return SL_ERR_NOMEM;
	if ((r = io_all(fd, p, n, 0)) != 0) {
		free(p);
		return r;
	}
	p[n] = '\0';
	*type = t;
	*payload = p;
	*len = n;
	return 0;
}

int
job_frame_write_json(int fd, uint32_t type, json_t *doc)
{
	char *text;
	size_t len;
	int r;

	if (doc == NULL)
		return SL_ERR_NOMEM;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL)
		return SL_ERR_NOMEM;
	len = strlen(text);
	if (len > JOB_FRAME_MAX)
		r = sl_errf(SL_ERR_LIMIT, "job: a %s of %zu bytes, more than a frame holds",
		    job_frame_name(type), len);
	else
		r = job_frame_write(fd, type, text, len);
	free(text);
	return r;
}

void
job_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

/* ---- a bounds-checked cursor --------------------------------------------- */

struct wr {
	uint8_t *p;
	size_t len, cap;
	int err;
	int fixed; /* p is the caller's buffer of cap bytes: never grown */
};

static void
wr_bytes(struct wr *w, const void *d, size_t n)
{
	uint8_t *np;

	if (w->err)
		return;
	if (w->len + n > w->cap && w->fixed) {
		w->err = SL_ERR_LIMIT;
		return;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;

		while (cap < w->len + n)
			cap *= 2;
		if ((np = malloc(cap)) == NULL) {
			w->err = SL_ERR_NOMEM;
			return;
		}
		/* Copy-and-wipe rather than realloc: the buffer may hold the key. */
		if (w->p != NULL) {
			memcpy(np, w->p, w->len);
			job_wipe_free(w->p, w->cap);
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void
wr_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	wr_bytes(w, b, 4);
}

static void
wr_u64(struct wr *w, uint64_t v)
{
	wr_u32(w, (uint32_t)(v >> 32));
	wr_u32(w, (uint32_t)v);
}

static void
wr_str(struct wr *w, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n > JOB_STRING_MAX) {
		w->err = SL_ERR_LIMIT;
		return;
	}
	wr_u32(w, (uint32_t)n);
	wr_bytes(w, s, n);
}

struct rd {
	const uint8_t *p;
	size_t len, off;
	int err;
};

static const uint8_t *
rd_take(struct rd *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->len - r->off) {
		r->err = SL_ERR_PARSE;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint32_t
rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);

	return p != NULL ? be32_get(p) : 0;
}

static uint64_t
rd_u64(struct rd *r)
{
	uint64_t hi = rd_u32(r);

	return hi << 32 | rd_u32(r);
}

/* A string field: no embedded NUL, at most JOB_STRING_MAX bytes. */
static char *
rd_str(struct rd *r)
{
	uint32_t n = rd_u32(r);
	const uint8_t *p;
	char *s;

	if (n > JOB_STRING_MAX || (p = rd_take(r, n)) == NULL || memchr(p, 0, n) != NULL) {
		r->err = SL_ERR_PARSE;
		return NULL;
	}
	if ((s = malloc((size_t)n + 1)) == NULL) {
		r->err = SL_ERR_NOMEM;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* ---- HEADER -------------------------------------------------------------- */

int
job_header_encode(const struct job_header *h, uint8_t **out, size_t *len)
{
	struct wr w = {0};

	wr_u32(&w, h->version);
	wr_u32(&w, h->kind);
	wr_u32(&w, h->suite);
	wr_u32(&w, h->cpu_seconds);
	wr_u64(&w, h->memory_bytes);
	wr_u64(&w, h->map_bytes);
	wr_u32(&w, h->data_version);
	wr_u32(&w, h->key_version);
	wr_bytes(&w, h->key, JOB_KEY_BYTES);
	wr_bytes(&w, h->new_key, JOB_KEY_BYTES);
	wr_str(&w, h->store);
	wr_str(&w, h->product);
	wr_str(&w, h->schema);
	wr_str(&w, h->params);
	wr_u32(&w, h->uid);
	wr_u32(&w, h->gid);
	wr_u32(&w, h->bound_rows);
	wr_bytes(&w, h->bound_key, JOB_KEY_BYTES);
	wr_u32(&w, h->threads);
	if (w.err) {
		job_wipe_free(w.p, w.cap);
		return w.err;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

int
job_header_decode(const uint8_t *p, size_t len, struct job_header *h)
{
	struct rd r = {p, len, 0, 0};
	const uint8_t *key;

	memset(h, 0, sizeof(*h));
	h->version = rd_u32(&r);
	if (!r.err && h->version != JOB_PROTOCOL_VERSION)
		return sl_errf(SL_ERR_VERSION, "job header: protocol version %u, expected %u",
		    h->version, JOB_PROTOCOL_VERSION);
	h->kind = rd_u32(&r);
	h->suite = rd_u32(&r);
	h->cpu_seconds = rd_u32(&r);
	h->memory_bytes = rd_u64(&r);
	h->map_bytes = rd_u64(&r);
	h->data_version = rd_u32(&r);
	h->key_version = rd_u32(&r);
	if ((key = rd_take(&r, JOB_KEY_BYTES)) != NULL)
		memcpy(h->key, key, JOB_KEY_BYTES);
	if ((key = rd_take(&r, JOB_KEY_BYTES)) != NULL)
		memcpy(h->new_key, key, JOB_KEY_BYTES);
	h->store = rd_str(&r);
	h->product = rd_str(&r);
	h->schema = rd_str(&r);
	h->params = rd_str(&r);
	h->uid = rd_u32(&r);
	h->gid = rd_u32(&r);
	h->bound_rows = rd_u32(&r);
	if ((key = rd_take(&r, JOB_KEY_BYTES)) != NULL)
		memcpy(h->bound_key, key, JOB_KEY_BYTES);
	h->threads = rd_u32(&r);
	if (!r.err && (h->threads < 1 || h->threads > JOB_THREADS_MAX))
		r.err = SL_ERR_PARSE;
	if (!r.err && r.off != r.len)
		r.err = SL_ERR_PARSE; /* trailing bytes */
	if (r.err) {
		job_header_clear(h);
		return r.err == SL_ERR_PARSE ? sl_errf(r.err, "job header: malformed") : r.err;
	}
	return 0;
}

void
job_header_clear(struct job_header *h)
{
	free(h->store);
	free(h->product);
	free(h->schema);
	free(h->params);
	explicit_bzero(h, sizeof(*h));
}

/* ---- PROGRESS ------------------------------------------------------------ */

int
job_progress_encode(uint64_t rows, uint64_t bytes, uint8_t out[16])
{
	be32_put(out, (uint32_t)(rows >> 32));
	be32_put(out + 4, (uint32_t)rows);
	be32_put(out + 8, (uint32_t)(bytes >> 32));
	be32_put(out + 12, (uint32_t)bytes);
	return 0;
}

int
job_progress_decode(const uint8_t *p, size_t len, uint64_t *rows, uint64_t *bytes)
{
	struct rd r = {p, len, 0, 0};

	*rows = rd_u64(&r);
	*bytes = rd_u64(&r);
	if (r.err || r.off != r.len)
		return sl_errf(SL_ERR_PARSE, "job frame PROGRESS: malformed");
	return 0;
}

uint32_t
job_header_kind(const uint8_t *p, size_t len)
{
	return len >= 8 ? be32_get(p + 4) : 0; /* after the protocol version */
}

/* ---- GO ------------------------------------------------------------------ */

size_t
job_go_encode(uint32_t units_cap, uint8_t out[4])
{
	if (units_cap == 0)
		return 0;
	be32_put(out, units_cap);
	return 4;
}

int
job_go_decode(const uint8_t *p, size_t len, uint32_t *units_cap)
{
	if (len != 0 && len != 4)
		return sl_errf(SL_ERR_PARSE, "job frame GO: %zu bytes, not 0 or 4", len);
	*units_cap = len == 4 ? be32_get(p) : 0;
	return 0;
}

/* ---- ERROR --------------------------------------------------------------- */

static const char *const error_texts[] = {
    [JOB_ERR_INTERNAL] = "the worker hit an internal error",
    [JOB_ERR_NOMEM] = "the worker ran out of memory",
    [JOB_ERR_IO] = "the store could not be read or written",
    [JOB_ERR_INTEGRITY] = "the store failed its integrity check",
    [JOB_ERR_HEADER] = "the job header was refused",
    [JOB_ERR_PROTOCOL] = "the broker's frames were refused",
    [JOB_ERR_LIMIT] = "a resource limit was reached",
    [JOB_ERR_UNSUPPORTED] = "job kind not implemented",
    [JOB_ERR_QUERY] = "the query breaks a rule",
    [JOB_ERR_INPUT] = "the input breaks the schema",
    [JOB_ERR_ABORTED] = "the broker refused the plan",
    [JOB_ERR_FULL] = "the new version outgrew its map (MDB_MAP_FULL: the product's --max-bytes)",
    [JOB_ERR_DISK_FULL] = "the disk is full (No space left on device); free some space and try again",
};

static const char *const rule_texts[] = {
    [JOB_RULE_NONE] = "",
    [JOB_RULE_EXPECTED] = "expected %P, found %T",
    [JOB_RULE_BAD_TOKEN] = "%P %T",
    [JOB_RULE_NUL] = "NUL byte in query",
    [JOB_RULE_UTF8] = "invalid UTF-8",
    [JOB_RULE_UNTERMINATED] = "unterminated %P",
    [JOB_RULE_EMPTY_QUOTED] = "empty quoted identifier",
    [JOB_RULE_CONTROL_QUOTED] = "control character in quoted identifier",
    [JOB_RULE_OUT_OF_RANGE] = "%P out of range",
    [JOB_RULE_NOT_A_DATE] = "not a calendar date 'YYYY-MM-DD'",
    [JOB_RULE_BUCKET_WIDTH] = "BUCKET width must be a number above 0",
    [JOB_RULE_NESTING] = "nesting deeper than %N",
    [JOB_RULE_LIKE_PREFIX] = "LIKE supports only 'prefix%'",
    [JOB_RULE_TOO_LONG] = "query text is more than %N bytes",
    [JOB_RULE_NO_COLUMN] = "product %R has no column \"%W\"",
    [JOB_RULE_LITERAL_TYPE] = "column %C is %H; this literal is not of that type",
    [JOB_RULE_LITERAL_NUMBER] = "column %C is REAL; this literal is not a number",
    [JOB_RULE_LITERAL_TEXT] = "column %C is TEXT; compare it with a 'string'",
    [JOB_RULE_NEEDS_TEXT] = "%P needs a TEXT column; %C is not one",
    [JOB_RULE_NEEDS_DATE] = "%P needs a DATE column; %C is not one",
    [JOB_RULE_NEEDS_NUMERIC] = "%P needs a numeric column; %C is %K",
    [JOB_RULE_BUCKET_MULTIPLE] =
        "BUCKET width must be a positive multiple of the unit of column %C",
    [JOB_RULE_ORDER_NAME] = "ORDER BY %W: no output column of that name",
    [JOB_RULE_ORDER_AMBIGUOUS] = "ORDER BY %W: two output columns have that name",
    [JOB_RULE_GROUP_MISSING] = "%W is neither an aggregate nor in GROUP BY",
    [JOB_RULE_OTHER_PRODUCT] = "the contract is for product %R, not \"%W\"",
    [JOB_RULE_TOO_MANY] = "more than %N %P",
    [JOB_RULE_SUM_OVERFLOW] = "%P(%C): the sum overflows 64 bits",
    [JOB_RULE_SQUARES_OVERFLOW] = "%P(%C): the sum of squares overflows 128 bits",
    [JOB_RULE_REAL_OVERFLOW] = "%P(%C) overflows the range of a double",
    [JOB_RULE_GROUPS] = "more than %N groups; group by fewer or coarser keys",
    [JOB_RULE_BUCKET_RANGE] = "BUCKET(%C, ...): a bucket lies outside the column's number range",
    [JOB_RULE_INGEST_UTF8] = "invalid UTF-8 sequence at byte %X",
    [JOB_RULE_INGEST_QUOTE] = "quote in unquoted field",
    [JOB_RULE_INGEST_AFTER_QUOTE] = "character after closing quote",
    [JOB_RULE_INGEST_CR] = "CR not followed by LF",
    [JOB_RULE_INGEST_UNTERMINATED] = "unterminated quoted field",
    [JOB_RULE_INGEST_FIELD_LONG] = "field longer than %N bytes",
    [JOB_RULE_INGEST_FIELDS] = "more than %N fields",
    [JOB_RULE_INGEST_LINE_LONG] = "line longer than %N bytes",
    [JOB_RULE_INGEST_RECORD_LONG] = "record longer than %N bytes",
    [JOB_RULE_INGEST_BLANK] = "blank line",
    [JOB_RULE_INGEST_JSON] = "not valid JSON",
    [JOB_RULE_INGEST_NOT_OBJECT] = "not a JSON object",
    [JOB_RULE_INGEST_HEADER_UNKNOWN] = "header: unknown column %Q",
    [JOB_RULE_INGEST_HEADER_TWICE] = "header: column \"%C\" appears twice",
    [JOB_RULE_INGEST_HEADER_MISSING] = "header: column \"%C\" is missing",
    [JOB_RULE_INGEST_FIELD_COUNT] = "%N fields, but the header has %F",
    [JOB_RULE_INGEST_NOT_NULLABLE] = "column %C: empty, but the column is not nullable",
    [JOB_RULE_INGEST_INT_RANGE] = "column %C: %Q is out of the 64-bit range",
    [JOB_RULE_INGEST_NOT_INT] = "column %C: %Q is not an integer",
    [JOB_RULE_INGEST_NOT_DECIMAL] = "column %C: %Q is not a %K",
    [JOB_RULE_INGEST_NOT_NUMBER] = "column %C: %Q is not a number",
    [JOB_RULE_INGEST_NOT_FINITE] = "column %C: %Q is not a finite number",
    [JOB_RULE_INGEST_NOT_DATE] = "column %C: %Q is not a date YYYY-MM-DD",
    [JOB_RULE_INGEST_NOT_BOOL] = "column %C: %Q is not true, false, 1 or 0",
    [JOB_RULE_INGEST_NOT_IN_DOMAIN] = "column %C: %Q is not in the column's domain",
    [JOB_RULE_INGEST_OUT_OF_BOUNDS] = "column %C: %Q is outside the bounds %B",
    [JOB_RULE_INGEST_JSON_STRING] = "column %C: wrong JSON type for a string column",
    [JOB_RULE_INGEST_JSON_BOOL] = "column %C: wrong JSON type for a boolean column",
    [JOB_RULE_INGEST_JSON_NUMBER] = "column %C: wrong JSON type for a number column",
    [JOB_RULE_INGEST_UNKNOWN_KEY] = "unknown column: a key of this object is not in the schema",
    [JOB_RULE_INGEST_EMPTY_FILE] = "empty file: no header row",
    [JOB_RULE_INGEST_NO_ROWS] = "no rows to load",
};

static const char *const phrase_texts[] = {
    [JOB_PHRASE_NONE] = "",
    [JOB_PHRASE_COLUMN] = "a column",
    [JOB_PHRASE_NAME] = "a name",
    [JOB_PHRASE_PRODUCT] = "a product name",
    [JOB_PHRASE_LITERAL] = "a literal",
    [JOB_PHRASE_DATE] = "a date 'YYYY-MM-DD'",
    [JOB_PHRASE_ROW_COUNT] = "a row count",
    [JOB_PHRASE_PATTERN] = "a 'prefix%' pattern",
    [JOB_PHRASE_PREDICATE] = "a comparison, BETWEEN, IN, IS or LIKE",
    [JOB_PHRASE_BETWEEN_IN] = "BETWEEN or IN",
    [JOB_PHRASE_STAR] = "'*' or DISTINCT",
    [JOB_PHRASE_ITEM] = "a column or an aggregate",
    [JOB_PHRASE_END] = "end of query",
    [JOB_PHRASE_LPAREN] = "'('",
    [JOB_PHRASE_RPAREN] = "')'",
    [JOB_PHRASE_COMMA] = "','",
    [JOB_PHRASE_COMMA_PAREN] = "',' or ')'",
    [JOB_PHRASE_SELECT] = "SELECT",
    [JOB_PHRASE_FROM] = "FROM",
    [JOB_PHRASE_BY] = "BY",
    [JOB_PHRASE_AND] = "AND",
    [JOB_PHRASE_NULL] = "NULL",
    [JOB_PHRASE_NUMBER] = "invalid number",
    [JOB_PHRASE_STRING] = "string",
    [JOB_PHRASE_QUOTED_NAME] = "quoted name",
    [JOB_PHRASE_FUNCTION] = "unknown function",
    [JOB_PHRASE_DECIMAL] = "decimal",
    [JOB_PHRASE_INTEGER] = "integer",
    [JOB_PHRASE_LIKE] = "LIKE",
    [JOB_PHRASE_YEAR] = "YEAR",
    [JOB_PHRASE_MONTH] = "MONTH",
    [JOB_PHRASE_BUCKET] = "BUCKET",
    [JOB_PHRASE_AGGREGATE] = "an aggregate",
    [JOB_PHRASE_GROUP_KEYS] = "GROUP BY keys",
    [JOB_PHRASE_IN_VALUES] = "values in IN",
    [JOB_PHRASE_ITEMS] = "items in SELECT",
    [JOB_PHRASE_LIMIT] = "LIMIT",
    [JOB_PHRASE_COUNT] = "COUNT",
    [JOB_PHRASE_SUM] = "SUM",
    [JOB_PHRASE_AVG] = "AVG",
    [JOB_PHRASE_STDDEV] = "STDDEV",
    [JOB_PHRASE_VARIANCE] = "VARIANCE",
    [JOB_PHRASE_MIN] = "MIN",
    [JOB_PHRASE_MAX] = "MAX",
};

#define TABLE_GET(t, i) ((i) < sizeof(t) / sizeof((t)[0]) ? (t)[i] : NULL)

const char *
job_error_text(uint32_t code)
{
	return TABLE_GET(error_texts, code);
}

const char *
job_rule_text(uint32_t rule)
{
	return TABLE_GET(rule_texts, rule);
}

int
job_rule_is_ingest(uint32_t rule)
{
	return rule >= JOB_RULE_INGEST_FIRST_ && rule <= JOB_RULE_INGEST_LAST_;
}

const char *
job_phrase_text(uint32_t phrase)
{
	return TABLE_GET(phrase_texts, phrase);
}

uint32_t
job_phrase_find(const char *words)
{
	uint32_t i;

	for (i = 1; i < sizeof phrase_texts / sizeof phrase_texts[0]; i++)
		if (phrase_texts[i] != NULL && strcmp(phrase_texts[i], words) == 0)
			return i;
	return JOB_PHRASE_NONE;
}

int
job_error_encode(const struct job_error_frame *e, uint8_t out[JOB_ERROR_MAX], size_t *len)
{
	struct wr w = {out, 0, JOB_ERROR_MAX, 0, 1};
	size_t i;

	if (e->nplaces > JOB_PLACES_MAX || e->total < e->nplaces)
		return SL_ERR_INVAL;
	wr_u32(&w, e->code);
	wr_u64(&w, e->total);
	wr_u32(&w, (uint32_t)e->nplaces);
	for (i = 0; i < e->nplaces; i++) {
		const struct job_place *pl = &e->places[i];

		wr_u32(&w, pl->line);
		wr_u32(&w, pl->column);
		wr_u32(&w, pl->length);
		wr_u32(&w, pl->rule);
		wr_u32(&w, pl->phrase);
		wr_u32(&w, pl->field);
		wr_u64(&w, pl->number);
	}
	if (w.err)
		return w.err;
	*len = w.len;
	return 0;
}

int
job_error_decode(const uint8_t *p, size_t len, struct job_error_frame *e)
{
	struct rd r = {p, len, 0, 0};
	uint32_t n;
	size_t i;

	memset(e, 0, sizeof *e);
	e->code = rd_u32(&r);
	e->total = rd_u64(&r);
	n = rd_u32(&r);
	if (!r.err && (n > JOB_PLACES_MAX || e->total < n))
		return sl_errf(SL_ERR_PARSE, "job frame ERROR: %u places of %llu", n,
		    (unsigned long long)e->total);
	for (i = 0; !r.err && i < n; i++) {
		struct job_place *pl = &e->places[i];

		pl->line = rd_u32(&r);
		pl->column = rd_u32(&r);
		pl->length = rd_u32(&r);
		pl->rule = rd_u32(&r);
		pl->phrase = rd_u32(&r);
		pl->field = rd_u32(&r);
		pl->number = rd_u64(&r);
		if (!r.err &&
		    (job_rule_text(pl->rule) == NULL || job_phrase_text(pl->phrase) == NULL))
			return sl_errf(SL_ERR_PARSE,
			    "job frame ERROR: place %zu: rule %u, phrase %u", i + 1, pl->rule,
			    pl->phrase);
	}
	if (r.err || r.off != r.len)
		return sl_errf(SL_ERR_PARSE, "job frame ERROR: malformed");
	if (job_error_text(e->code) == NULL)
		return sl_errf(SL_ERR_PARSE, "job frame ERROR: unknown code %u", e->code);
	e->nplaces = n;
	return 0;
}

/* ---- PLAN ---------------------------------------------------------------- */

static void
wr_span(struct wr *w, const struct job_span *s)
{
	wr_u32(w, s->line);
	wr_u32(w, s->column);
	wr_u32(w, s->length);
}

int
job_plan_encode(const struct job_plan *p, uint8_t **out, size_t *len)
{
	struct wr w = {0};
	size_t i;

	wr_u32(&w, (uint32_t)p->nreads);
	for (i = 0; i < p->nreads; i++)
		wr_u32(&w, p->reads[i]);
	wr_u32(&w, (uint32_t)p->nfilters);
	for (i = 0; i < p->nfilters; i++)
		wr_u32(&w, p->filters[i]);
	wr_u32(&w, (uint32_t)p->nkeys);
	for (i = 0; i < p->nkeys; i++) {
		wr_u32(&w, p->keys[i].fn);
		wr_u32(&w, p->keys[i].col);
		wr_span(&w, &p->keys[i].width);
	}
	wr_u32(&w, (uint32_t)p->naggs);
	for (i = 0; i < p->naggs; i++) {
		wr_u32(&w, p->aggs[i].fn);
		wr_u32(&w, p->aggs[i].col);
		wr_u32(&w, p->aggs[i].clamp);
	}
	wr_u32(&w, (uint32_t)p->noutputs);
	for (i = 0; i < p->noutputs; i++) {
		wr_u32(&w, p->outputs[i].is_agg);
		wr_u32(&w, p->outputs[i].index);
		wr_span(&w, &p->outputs[i].alias);
	}
	wr_u32(&w, (uint32_t)p->norder);
	for (i = 0; i < p->norder; i++) {
		wr_u32(&w, p->order[i].output);
		wr_u32(&w, p->order[i].desc);
	}
	wr_u32(&w, p->has_limit);
	wr_u64(&w, p->limit);
	if (w.err) {
		free(w.p);
		return w.err;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

static void
rd_span(struct rd *r, struct job_span *s)
{
	s->line = rd_u32(r);
	s->column = rd_u32(r);
	s->length = rd_u32(r);
}

/*
 * A list's count, and room for it: at most JOB_PLAN_LIST_MAX entries, each of
 * at least size bytes still in the payload, so a lie cannot make us allocate.
 */
static void *
rd_list(struct rd *r, size_t size, size_t *n)
{
	uint32_t c = rd_u32(r);
	void *a;

	*n = 0;
	if (r->err)
		return NULL;
	if (c > JOB_PLAN_LIST_MAX || (size_t)c * size > r->len - r->off) {
		r->err = SL_ERR_PARSE;
		return NULL;
	}
	if ((a = calloc((size_t)c + 1, size)) == NULL) {
		r->err = SL_ERR_NOMEM;
		return NULL;
	}
	*n = c;
	return a;
}

/* A flag: 0 or 1, nothing else. */
static uint32_t
rd_flag(struct rd *r)
{
	uint32_t v = rd_u32(r);

	if (v > 1)
		r->err = SL_ERR_PARSE;
	return v;
}

static void
rd_plan_lists(struct rd *r, struct job_plan *p)
{
	size_t i;

	if ((p->reads = rd_list(r, 4, &p->nreads)) != NULL)
		for (i = 0; i < p->nreads; i++)
			p->reads[i] = rd_u32(r);
	if ((p->filters = rd_list(r, 4, &p->nfilters)) != NULL)
		for (i = 0; i < p->nfilters; i++)
			p->filters[i] = rd_u32(r);
	if ((p->keys = rd_list(r, 20, &p->nkeys)) != NULL)
		for (i = 0; i < p->nkeys; i++) {
			struct job_plan_key *k = &p->keys[i];

			k->fn = rd_u32(r);
			k->col = rd_u32(r);
			rd_span(r, &k->width);
			if (k->fn >= FN_KEY_N_ || (k->fn == FN_KEY_BUCKET) != (k->width.length > 0))
				r->err = r->err ? r->err : SL_ERR_PARSE;
		}
	if ((p->aggs = rd_list(r, 12, &p->naggs)) != NULL)
		for (i = 0; i < p->naggs; i++) {
			struct job_plan_agg *a = &p->aggs[i];

			a->fn = rd_u32(r);
			a->col = rd_u32(r);
			a->clamp = rd_flag(r);
			if (a->fn >= FN_AGG_N_ ||
			    (a->col == JOB_NO_COLUMN) == fn_aggs[a->fn].column)
				r->err = r->err ? r->err : SL_ERR_PARSE;
		}
}

int
job_plan_decode(const uint8_t *buf, size_t len, struct job_plan *p)
{
	struct rd r = {buf, len, 0, 0};
	size_t i;

	memset(p, 0, sizeof(*p));
	rd_plan_lists(&r, p);
	if ((p->outputs = rd_list(&r, 20, &p->noutputs)) != NULL)
		for (i = 0; i < p->noutputs; i++) {
			struct job_plan_output *o = &p->outputs[i];

			o->is_agg = rd_flag(&r);
			o->index = rd_u32(&r);
			rd_span(&r, &o->alias);
			if (o->index >= (o->is_agg ? p->naggs : p->nkeys))
				r.err = r.err ? r.err : SL_ERR_PARSE;
		}
	if ((p->order = rd_list(&r, 8, &p->norder)) != NULL)
		for (i = 0; i < p->norder; i++) {
			p->order[i].output = rd_u32(&r);
			p->order[i].desc = rd_flag(&r);
			if (p->order[i].output >= p->noutputs)
				r.err = r.err ? r.err : SL_ERR_PARSE;
		}
	p->has_limit = rd_flag(&r);
	p->limit = rd_u64(&r);
	if (!r.err && (r.off != r.len || p->noutputs == 0))
		r.err = SL_ERR_PARSE;
	if (r.err) {
		job_plan_clear(p);
		return r.err == SL_ERR_PARSE ? sl_errf(r.err, "the worker's plan is malformed")
		                             : r.err;
	}
	return 0;
}

void
job_plan_clear(struct job_plan *p)
{
	free(p->reads);
	free(p->filters);
	free(p->keys);
	free(p->aggs);
	free(p->outputs);
	free(p->order);
	memset(p, 0, sizeof(*p));
}

/* ---- RESULT -------------------------------------------------------------- */

static void
wr_f64(struct wr *w, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof v);
	wr_u64(w, v);
}

static double
rd_f64(struct rd *r)
{
	uint64_t v = rd_u64(r);
	double d;

	memcpy(&d, &v, sizeof d);
	return d;
}

static void
wr_value(struct wr *w, const struct job_value *v)
{
	wr_u32(w, v->type);
	if (v->type == JOB_VALUE_INT)
		wr_u64(w, (uint64_t)v->i);
	else if (v->type == JOB_VALUE_REAL)
		wr_f64(w, v->r);
	else if (v->type == JOB_VALUE_TEXT) {
		wr_u32(w, v->len);
		wr_bytes(w, v->s, v->len);
	}
}

static void
rd_value(struct rd *r, struct job_value *v)
{
	v->type = rd_u32(r);
	if (v->type == JOB_VALUE_INT)
		v->i = (int64_t)rd_u64(r);
	else if (v->type == JOB_VALUE_REAL)
		v->r = rd_f64(r);
	else if (v->type == JOB_VALUE_TEXT) {
		v->len = rd_u32(r);
		if (v->len > JOB_STRING_MAX || (v->s = rd_take(r, v->len)) == NULL)
			r->err = r->err ? r->err : SL_ERR_PARSE;
	} else if (v->type != JOB_VALUE_NULL)
		r->err = r->err ? r->err : SL_ERR_PARSE;
}

/* Whether fn's state carries a value: the extreme or the sum. */
static int
has_value(uint32_t fn)
{
	return fn != FN_COUNT && fn != FN_COUNT_DISTINCT;
}

static void
wr_state(struct wr *w, uint32_t fn, const struct job_agg_state *a)
{
	wr_u64(w, a->n);
	if (!has_value(fn))
		return;
	wr_value(w, &a->value);
	if (!fn_aggs[fn].sumsq)
		return;
	if (a->value.type == JOB_VALUE_REAL) {
		wr_f64(w, a->m2);
	} else {
		wr_u64(w, (uint64_t)((unsigned __int128)a->sumsq >> 64));
		wr_u64(w, (uint64_t)a->sumsq);
	}
}

static void
rd_state(struct rd *r, uint32_t fn, struct job_agg_state *a)
{
	uint64_t hi;

	a->n = rd_u64(r);
	if (!has_value(fn))
		return;
	rd_value(r, &a->value);
	if (!fn_aggs[fn].sumsq)
		return;
	if (a->value.type == JOB_VALUE_REAL) {
		a->m2 = rd_f64(r);
	} else if (a->value.type == JOB_VALUE_INT) {
		hi = rd_u64(r);
		a->sumsq = (__int128)((unsigned __int128)hi << 64 | rd_u64(r));
	} else {
		r->err = r->err ? r->err : SL_ERR_PARSE;
	}
}

int
job_result_encode(const struct job_result *res, const uint32_t *agg_fns, uint8_t **out, size_t *len)
{
	struct wr w = {0};
	size_t g, i;

	wr_u64(&w, res->rows_scanned);
	wr_u32(&w, (uint32_t)res->nkeys);
	wr_u32(&w, (uint32_t)res->naggs);
	wr_u32(&w, (uint32_t)res->ngroups);
	for (g = 0; g < res->ngroups && !w.err; g++) {
		const struct job_group *gr = &res->groups[g];

		for (i = 0; i < res->nkeys; i++)
			wr_value(&w, &gr->keys[i]);
		wr_u64(&w, gr->rows);
		wr_u64(&w, gr->units);
		for (i = 0; i < res->naggs; i++)
			wr_state(&w, agg_fns[i], &gr->aggs[i]);
	}
	if (!w.err && w.len > JOB_FRAME_MAX)
		w.err = sl_errf(
		    SL_ERR_LIMIT, "job: a RESULT of %zu bytes, more than a frame holds", w.len);
	if (w.err) {
		free(w.p);
		return w.err;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

int
job_result_decode(
    const uint8_t *buf, size_t len, const struct job_plan *plan, struct job_result *out)
{
	struct rd r = {buf, len, 0, 0};
	size_t g, i, n, least;
	uint32_t nkeys, naggs;

	memset(out, 0, sizeof(*out));
	out->rows_scanned = rd_u64(&r);
	nkeys = rd_u32(&r);
	naggs = rd_u32(&r);
	n = rd_u32(&r);
	/* A group's least bytes: a tag a key, two counts, a count an aggregate. */
	least = 4 * (size_t)plan->nkeys + 16 + 8 * (size_t)plan->naggs;
	if (!r.err && (nkeys != plan->nkeys || naggs != plan->naggs || n > (r.len - r.off) / least))
		r.err = SL_ERR_PARSE;
	if (!r.err && ((out->groups = calloc(n + 1, sizeof *out->groups)) == NULL ||
	                  (out->key_pool = calloc(n * nkeys + 1, sizeof *out->key_pool)) == NULL ||
	                  (out->agg_pool = calloc(n * naggs + 1, sizeof *out->agg_pool)) == NULL))
		r.err = SL_ERR_NOMEM;
	if (!r.err) {
		out->nkeys = nkeys;
		out->naggs = naggs;
		out->ngroups = n;
	}
	for (g = 0; g < out->ngroups && !r.err; g++) {
		struct job_group *gr = &out->groups[g];

		gr->keys = out->key_pool + g * nkeys;
		gr->aggs = out->agg_pool + g * naggs;
		for (i = 0; i < nkeys; i++)
			rd_value(&r, &gr->keys[i]);
		gr->rows = rd_u64(&r);
		gr->units = rd_u64(&r);
		for (i = 0; i < naggs; i++)
			rd_state(&r, plan->aggs[i].fn, &gr->aggs[i]);
	}
	if (!r.err && r.off != r.len)
		r.err = SL_ERR_PARSE;
	if (r.err) {
		job_result_clear(out);
		return r.err == SL_ERR_PARSE ? sl_errf(r.err, "the worker's answer is malformed")
		                             : r.err;
	}
	return 0;
}

void
job_result_clear(struct job_result *r)
{
	free(r->groups);
	free(r->key_pool);
	free(r->agg_pool);
	free(r->text_pool);
	memset(r, 0, sizeof(*r));
}

/* ---- RESULT of a job that wrote a version ---------------------------------- */

void
job_written_encode(const struct job_written *w, uint8_t out[JOB_WRITTEN_BYTES])
{
	struct wr b = {out, 0, JOB_WRITTEN_BYTES, 0, 1};

	wr_u64(&b, w->rows);
	wr_u64(&b, w->chunks);
	wr_u64(&b, w->bytes);
	wr_bytes(&b, w->manifest, JOB_DIGEST_BYTES);
}

int
job_written_decode(const uint8_t *p, size_t len, struct job_written *w)
{
	struct rd r = {p, len, 0, 0};
	const uint8_t *m;

	w->rows = rd_u64(&r);
	w->chunks = rd_u64(&r);
	w->bytes = rd_u64(&r);
	if ((m = rd_take(&r, JOB_DIGEST_BYTES)) != NULL)
		memcpy(w->manifest, m, JOB_DIGEST_BYTES);
	if (r.err || r.off != r.len)
		return sl_errf(SL_ERR_PARSE, "the worker's RESULT is not %u bytes", JOB_WRITTEN_BYTES);
	return 0;
}
