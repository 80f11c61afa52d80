/*
 * sandbox/ingest.c -- validating an upload and writing it as a new version.
 *
 * Trusts: the job header.  Untrusted: every DATA byte.  Holds: plaintext
 * rows, one chunk at a time (sandbox/store_write.c), and the product's data key;
 * on threads, also the blocks of the upload being parsed.
 *
 * On one thread the upload is fed to one reader as it comes.  On more
 * ("blocks" below), the job's thread cuts the upload into blocks of whole
 * records, parses the first record itself (the CSV header, and any byte
 * order mark), and hands the rest to parser threads; it puts each parsed
 * block's values into the store and merges its errors in input order.  So
 * the store's bytes (but for the nonces) and the errors reported are those
 * of one thread.
 */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/schema.h"
#include "sandbox/csv.h"
#include "sandbox/jsonl.h"
#include "sandbox/ingest.h"
#include "sandbox/store.h"
#include "sandbox/value.h"

_Static_assert(INGEST_ERRORS_MAX <= JOB_PLACES_MAX, "an ERROR frame holds the listed errors");

enum ingest_format { FORMAT_CSV, FORMAT_JSONL };

struct block;
struct ingest;

/* Where the records a reader hands out go. */
struct sink {
	struct ingest *in;
	struct job_error_frame *errors; /* in->errors, or the block's */
	uint64_t *rows;
	struct block *b; /* NULL: straight into the store; else the block's values */
};

struct ingest {
	struct job_header h;
	struct schema *schema;
	struct store *store;
	struct store_writer *w;
	enum ingest_format format;
	struct csv_reader *csv;
	struct jsonl_reader *jsonl;
	/* CSV: map from field position to schema column, set by the header row. */
	size_t *field_col;
	size_t nfields;
	int have_header;
	uint64_t rows;
	uint64_t bytes_in;
	uint64_t next_progress;
	int header_bad; /* the header broke a rule: records are not checked against it */
	/* The ERROR frame: code JOB_ERR_INPUT, the first places, the count of all. */
	struct job_error_frame errors;
	int fd;
	unsigned threads;   /* parser threads: the header's, 1 for none */
	struct sink direct; /* records of the job's own reader go straight to the store */
};

/* A position from a reader, in a place's 32 bits; a larger one is not known (0). */
static uint32_t
pos32(uint64_t v)
{
	return v <= UINT32_MAX ? (uint32_t)v : 0;
}

/*
 * Count a fault at line:col (length bytes of the file there, or 0) of rule,
 * and list it among the first INGEST_ERRORS_MAX.  field: the schema column
 * index + 1, or 0.
 */
static void
add_error(struct job_error_frame *e, size_t line, size_t col, size_t length, uint32_t rule,
    size_t field, uint64_t number)
{
	struct job_place *pl;

	if (e->total++ >= INGEST_ERRORS_MAX)
		return;
	pl = &e->places[e->nplaces++];
	pl->line = pos32(line);
	pl->column = pos32(col);
	pl->length = pos32(length);
	pl->rule = rule;
	pl->field = (uint32_t)field;
	pl->number = number;
}

/*
 * The bytes field f takes in the file: a quoted one with its quotes and
 * each "" doubled; 0 when it spans lines (a place lies within one line).
 */
static size_t
field_bytes(const struct csv_field *f)
{
	size_t i, n;

	if (!f->quoted)
		return f->len;
	for (i = 0, n = f->len + 2; i < f->len; i++) {
		if (f->p[i] == '\n')
			return 0;
		n += f->p[i] == '"';
	}
	return n;
}

int
ingest_prepare(const struct job_header *h, struct ingest **out)
{
	struct ingest *in;
	struct store_ident id;
	json_t *params = NULL;
	const char *fmt;
	int r;

	if ((in = calloc(1, sizeof(*in))) == NULL)
		return SL_ERR_NOMEM;
	in->h = *h; /* borrowed strings: h outlives the job */
	in->errors.code = JOB_ERR_INPUT;
	in->direct = (struct sink){in, &in->errors, &in->rows, NULL};
	in->threads = h->threads >= 1 && h->threads <= JOB_THREADS_MAX ? h->threads : 1;
	if ((r = schema_parse(h->schema, strlen(h->schema), &in->schema)) != 0)
		goto fail;
	if ((params = json_loads(h->params, 0, NULL)) == NULL ||
	    (fmt = json_string_value(json_object_get(params, "format"))) == NULL) {
		r = sl_errf(SL_ERR_PARSE, "ingest: job parameters lack a format");
		goto fail;
	}
	if (strcmp(fmt, "csv") == 0) {
		in->format = FORMAT_CSV;
		in->csv = csv_new(NULL);
	} else if (strcmp(fmt, "jsonl") == 0) {
		in->format = FORMAT_JSONL;
		in->jsonl = jsonl_new(JSONL_LINE_MAX_DEFAULT);
	} else {
		r = sl_errf(SL_ERR_INVAL, "ingest: unknown format %s", fmt);
		goto fail;
	}
	if (in->csv == NULL && in->jsonl == NULL) {
		r = SL_ERR_NOMEM;
		goto fail;
	}
	id.product = h->product;
	id.version = h->data_version;
	id.suite = (enum keys_suite)h->suite;
	id.key = in->h.key;
	if ((r = store_open(h->store, 1, h->map_bytes, &in->store)) != 0 ||
	    (r = store_writer_begin(in->store, &id, in->schema, &in->w)) != 0)
		goto fail;
	json_decref(params);
	*out = in;
	return 0;
fail:
	json_decref(params);
	ingest_free(in);
	return r;
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	store_writer_abort(in->w);
	store_close(in->store);
	schema_free(in->schema);
	csv_free(in->csv);
	jsonl_free(in->jsonl);
	free(in->field_col);
	explicit_bzero(in, sizeof(*in)); /* in->h holds a copy of the data key */
	free(in);
}

/* ---- blocks (one thread: none) ------------------------------------------------ */

/*
 * A parser thread's values are the store's cells (store_put_rows()): 8 bytes
 * and a kind each, as the column's type says; a text is in the block's data
 * (STORE_CELL_TEXT0) or, undoubled from quotes, in its text (TEXT1).  Every
 * value of the upload passes through one, so small.
 */
enum block_state { BLOCK_FREE, BLOCK_READY, BLOCK_BUSY, BLOCK_DONE };

/* Whole records of the upload, parsed by a thread; its lines count from 1. */
struct block {
	enum block_state state;
	uint8_t *data;
	size_t len, dcap;
	int final; /* the upload's last bytes: its reader is finished */
	/* What parsing found */
	int rc;                    /* 0, SL_ERR_PARSE (fault says where) or a failure */
	struct reader_fault fault; /* after SL_ERR_PARSE */
	struct job_error_frame errors;
	uint64_t rows;
	size_t lines;     /* the LFs in data */
	/*
	 * Column k's values of rows [0, nrows) at vals[k * rcap], their kinds
	 * (enum store_cell_kind) likewise in kinds: kept only while errors.total
	 * is 0.  Column by column, so that the store takes each as a run.
	 */
	union store_cell *vals;
	uint8_t *kinds;
	size_t nrows, rcap;
	char *text;
	size_t tlen, tcap;
};

static int
block_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 1024;
	void *q;

	while (n < need)
		if (__builtin_mul_overflow(n, 2, &n))
			return SL_ERR_NOMEM;
	if (n == *cap)
		return 0;
	if ((q = reallocarray(*p, n, size)) == NULL)
		return SL_ERR_NOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Room for twice the rows: each column's run moves to its place in the larger arrays. */
static int
block_rows_grow(struct block *b, size_t ncols)
{
	size_t rcap = b->rcap ? b->rcap : 512, n, k;
	union store_cell *v;
	uint8_t *kd;

	if (__builtin_mul_overflow(rcap, 2, &rcap) || __builtin_mul_overflow(rcap, ncols, &n))
		return SL_ERR_NOMEM;
	v = reallocarray(NULL, n, sizeof *v);
	kd = malloc(n);
	if (v == NULL || kd == NULL) {
		free(v);
		free(kd);
		return SL_ERR_NOMEM;
	}
	for (k = 0; k < ncols && b->nrows > 0; k++) {
		memcpy(v + k * rcap, b->vals + k * b->rcap, b->nrows * sizeof *v);
		memcpy(kd + k * rcap, b->kinds + k * b->rcap, b->nrows);
	}
	free(b->vals);
	free(b->kinds);
	b->vals = v;
	b->kinds = kd;
	b->rcap = rcap;
	return 0;
}

/*
 * Keep one validated value at its column's place in the block's next row
 * (block_rows_grow()).  A TEXT one in the block's own bytes (unquoted, or
 * quoted without "") is kept as where it is; another's bytes are copied, as
 * the reader's go with the record.
 */
static int
block_put(
    struct block *b, size_t ncols, size_t col, const struct schema_column *c, const struct value *v)
{
	union store_cell *x;
	uint8_t *kind;
	int r;

	if (b->nrows == b->rcap && (r = block_rows_grow(b, ncols)) != 0)
		return r;
	x = &b->vals[col * b->rcap + b->nrows];
	kind = &b->kinds[col * b->rcap + b->nrows];
	*kind = STORE_CELL_VALUE;
	if (v->null) {
		*kind = STORE_CELL_NULL;
	} else if (c->type == SCHEMA_REAL) {
		x->r = v->r;
	} else if (c->type == SCHEMA_TEXT && v->domain >= 0) {
		*kind = STORE_CELL_DOMAIN;
		x->domain = (uint32_t)v->domain;
	} else if (c->type == SCHEMA_TEXT && (const uint8_t *)v->s >= b->data &&
	           (const uint8_t *)v->s + v->len <= b->data + b->len) {
		*kind = STORE_CELL_TEXT0;
		x->t.off = (uint32_t)((const uint8_t *)v->s - b->data);
		x->t.len = (uint32_t)v->len;
	} else if (c->type == SCHEMA_TEXT) {
		*kind = STORE_CELL_TEXT1;
		/* Allocated on first use even for 0 bytes, so that text + off is always defined. */
		if ((b->text == NULL || b->tcap - b->tlen < v->len) &&
		    (r = block_grow((void **)&b->text, &b->tcap, b->tlen + v->len, 1)) != 0)
			return r;
		memcpy(b->text + b->tlen, v->s, v->len);
		x->t.off = (uint32_t)b->tlen;
		x->t.len = (uint32_t)v->len;
		b->tlen += v->len;
	} else {
		x->i = v->i;
	}
	return 0;
}

/* ---- records --------------------------------------------------------------- */

/* Store one validated value, or keep it in the sink's block. */
static int
put_value(struct sink *o, size_t col, const struct value *v)
{
	const struct schema_column *c = &o->in->schema->cols[col];
	struct store_writer *w = o->in->w;

	if (o->b != NULL)
		return block_put(o->b, o->in->schema->ncols, col, c, v);
	if (v->null)
		return store_put_null(w, col);
	switch (c->type) {
	case SCHEMA_REAL:
		return store_put_real(w, col, v->r);
	case SCHEMA_TEXT:
		if (v->domain >= 0)
			return store_put_domain(w, col, (uint32_t)v->domain);
		return store_put_text(w, col, v->s, v->len);
	default:
		return store_put_int(w, col, v->i);
	}
}

/* n more rows: counted, and PROGRESS now and then. */
static int
rows_counted(struct ingest *in, uint64_t n)
{
	uint8_t prog[16];

	in->rows += n;
	if (in->rows >= in->next_progress) {
		in->next_progress = in->rows + INGEST_PROGRESS_ROWS;
		job_progress_encode(in->rows, in->bytes_in, prog);
		if (job_frame_write(in->fd, JOB_FRAME_PROGRESS, prog, sizeof(prog)) != 0)
			return SL_ERR_IO;
	}
	return 0;
}

/* A row's end in the store, and counted. */
static int
store_row(struct ingest *in)
{
	int r;

	if (in->errors.total == 0 && (r = store_row_end(in->w)) != 0)
		return r;
	return rows_counted(in, 1);
}

static int
row_done(struct sink *o)
{
	if (o->b == NULL)
		return store_row(o->in);
	o->b->rows++;
	/* Every column was put (a good header names each once): the next row's slots follow. */
	if (o->errors->total == 0)
		o->b->nrows++;
	return 0;
}

/* The CSV header: every schema column exactly once, nothing else. */
static int
csv_header(struct ingest *in, size_t nfields, const struct csv_field *f)
{
	uint64_t before = in->errors.total;
	size_t i, j, *seen;

	in->have_header = 1;
	in->nfields = nfields;
	if ((in->field_col = calloc(nfields, sizeof(size_t))) == NULL ||
	    (seen = calloc(in->schema->ncols, sizeof(size_t))) == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < nfields; i++) {
		for (j = 0; j < in->schema->ncols; j++)
			if (strlen(in->schema->cols[j].name) == f[i].len &&
			    memcmp(in->schema->cols[j].name, f[i].p, f[i].len) == 0)
				break;
		if (j == in->schema->ncols)
			add_error(&in->errors, f[i].line, f[i].col, field_bytes(&f[i]),
			    JOB_RULE_INGEST_HEADER_UNKNOWN, 0, 0);
		else if (seen[j]++)
			add_error(&in->errors, f[i].line, f[i].col, 0, JOB_RULE_INGEST_HEADER_TWICE,
			    j + 1, 0);
		in->field_col[i] = j;
	}
	for (j = 0; j < in->schema->ncols; j++)
		if (!seen[j])
			add_error(
			    &in->errors, f[0].line, 1, 0, JOB_RULE_INGEST_HEADER_MISSING, j + 1, 0);
	free(seen);
	/*
	 * A good header has exactly the schema's columns, which is what the
	 * broker says a record's field count is measured against.
	 */
	in->header_bad = in->errors.total > before;
	return 0;
}

static int
csv_record(void *arg, size_t line, size_t nfields, const struct csv_field *f)
{
	struct sink *o = arg;
	struct ingest *in = o->in;
	struct value v;
	uint32_t rule;
	size_t i;
	int r;

	if (!in->have_header)
		return csv_header(in, nfields, f);
	if (in->header_bad)
		return 0;
	if (nfields != in->nfields) {
		add_error(o->errors, line, 1, 0, JOB_RULE_INGEST_FIELD_COUNT, 0, nfields);
		(*o->rows)++;
		return 0;
	}
	for (i = 0; i < nfields; i++) {
		size_t col = in->field_col[i];

		if (value_parse(&in->schema->cols[col], f[i].p, f[i].len,
		        !f[i].quoted && f[i].len == 0, &v, &rule) != 0) {
			add_error(
			    o->errors, f[i].line, f[i].col, field_bytes(&f[i]), rule, col + 1, 0);
			continue;
		}
		if (o->errors->total == 0 && (r = put_value(o, col, &v)) != 0)
			return r;
	}
	return row_done(o);
}

/* The text of a JSON value as value_parse() reads it; 0 or -1 (wrong JSON type). */
static int
json_text(const struct schema_column *c, json_t *j, char *buf, size_t buflen, const char **s,
    size_t *len, int *is_null)
{
	char *e;
	int prec;

	*is_null = json_is_null(j);
	*s = "";
	*len = 0;
	if (*is_null)
		return 0;
	switch (c->type) {
	case SCHEMA_TEXT:
	case SCHEMA_DATE:
		if (!json_is_string(j))
			return -1;
		*s = json_string_value(j);
		*len = json_string_length(j);
		return 0;
	case SCHEMA_BOOL:
		if (!json_is_boolean(j))
			return -1;
		*s = json_is_true(j) ? "true" : "false";
		*len = strlen(*s);
		return 0;
	default:
		break;
	}
	if (json_is_integer(j)) {
		snprintf(buf, buflen, "%lld", (long long)json_integer_value(j));
	} else if (json_is_real(j) && c->type == SCHEMA_INT &&
	           nearbyint(json_real_value(j)) == json_real_value(j) &&
	           fabs(json_real_value(j)) < 9007199254740992.0) {
		/* An integral JSON number written as a real (1.0, 1e5) is that integer, as JSON says. */
		snprintf(buf, buflen, "%.0f", json_real_value(j));
	} else if (json_is_real(j)) {
		/* The shortest text that reads back as the same double. */
		for (prec = 1; prec <= 17; prec++) {
			snprintf(buf, buflen, "%.*g", prec, json_real_value(j));
			if (strtod(buf, NULL) == json_real_value(j))
				break;
		}
		/*
		 * DECIMAL text must not use an exponent: the same digits written
		 * out, every one of them, so that a digit past the scale is refused
		 * rather than rounded away (5e-05 is 0.00005, not 0.00).
		 */
		if (c->type == SCHEMA_DECIMAL && (e = strchr(buf, 'e')) != NULL) {
			const char *dot = strchr(buf, '.');
			int mant = dot != NULL && dot < e ? (int)(e - dot - 1) : 0;
			int places = mant - atoi(e + 1);

			snprintf(buf, buflen, "%.*f", places > 0 ? places : 0, json_real_value(j));
		}
	} else if (c->type == SCHEMA_DECIMAL && json_is_string(j)) {
		*s = json_string_value(j);
		*len = json_string_length(j);
		return 0;
	} else {
		return -1;
	}
	*s = buf;
	*len = strlen(buf);
	return 0;
}

static int
jsonl_record(void *arg, size_t line, json_t *obj)
{
	struct sink *o = arg;
	struct ingest *in = o->in;
	char buf[64];
	const char *key, *s;
	struct value v;
	uint32_t rule;
	json_t *j;
	size_t i, len;
	int r, is_null;

	/* JSON Lines values have no positions: each place is the line's start. */
	json_object_foreach(obj, key, j)
	{
		if (schema_column(in->schema, key) == NULL)
			add_error(o->errors, line, 1, 0, JOB_RULE_INGEST_UNKNOWN_KEY, 0, 0);
	}
	for (i = 0; i < in->schema->ncols; i++) {
		const struct schema_column *c = &in->schema->cols[i];

		j = json_object_get(obj, c->name);
		if (j == NULL)
			j = json_null(); /* absent means null; the column decides if that is allowed */
		if (json_text(c, j, buf, sizeof(buf), &s, &len, &is_null) != 0) {
			rule = c->type == SCHEMA_TEXT || c->type == SCHEMA_DATE
			           ? JOB_RULE_INGEST_JSON_STRING
			       : c->type == SCHEMA_BOOL ? JOB_RULE_INGEST_JSON_BOOL
			                                : JOB_RULE_INGEST_JSON_NUMBER;
			add_error(o->errors, line, 1, 0, rule, i + 1, 0);
			continue;
		}
		if (value_parse(c, s, len, is_null, &v, &rule) != 0) {
			add_error(o->errors, line, 1, 0, rule, i + 1, 0);
			continue;
		}
		if (o->errors->total == 0 && (r = put_value(o, i, &v)) != 0)
			return r;
	}
	return row_done(o);
}

/* The rule of each reader_error (sandbox/reader.h). */
static const uint32_t reader_rules[] = {
    [READER_ERR_UTF8] = JOB_RULE_INGEST_UTF8,
    [READER_ERR_QUOTE] = JOB_RULE_INGEST_QUOTE,
    [READER_ERR_AFTER_QUOTE] = JOB_RULE_INGEST_AFTER_QUOTE,
    [READER_ERR_CR] = JOB_RULE_INGEST_CR,
    [READER_ERR_UNTERMINATED] = JOB_RULE_INGEST_UNTERMINATED,
    [READER_ERR_FIELD_LONG] = JOB_RULE_INGEST_FIELD_LONG,
    [READER_ERR_FIELDS] = JOB_RULE_INGEST_FIELDS,
    [READER_ERR_LINE_LONG] = JOB_RULE_INGEST_LINE_LONG,
    [READER_ERR_BLANK] = JOB_RULE_INGEST_BLANK,
    [READER_ERR_JSON] = JOB_RULE_INGEST_JSON,
    [READER_ERR_NOT_OBJECT] = JOB_RULE_INGEST_NOT_OBJECT,
    [READER_ERR_RECORD_LONG] = JOB_RULE_INGEST_RECORD_LONG,
};

/*
 * The reader's SL_ERR_PARSE as a place: its rule and position (its line
 * moved down by line_base - 1 for a block's), never its message.  Nor does
 * the log get that: jansson's words may quote the upload, and the log is
 * outside the worker.
 */
static int
add_reader_error(struct ingest *in, const struct reader_fault *f, size_t line_base)
{
	size_t line;

	if (f == NULL || (size_t)f->code >= sizeof reader_rules / sizeof reader_rules[0] ||
	    reader_rules[f->code] == JOB_RULE_NONE)
		return sl_errf(SL_ERR_INTERNAL, "ingest: a parse error without its rule");
	line = f->line + line_base - 1;
	sl_warnx("upload refused at %zu:%zu: reader error %d", line, f->column, (int)f->code);
	/* The bad byte of invalid UTF-8 is the place's one byte: the broker names it. */
	add_error(&in->errors, line, f->column, f->code == READER_ERR_UTF8, reader_rules[f->code],
	    0, f->limit);
	return 0;
}

static const struct reader_fault *
own_fault(const struct ingest *in)
{
	return in->format == FORMAT_CSV ? csv_fault(in->csv) : jsonl_fault(in->jsonl);
}

/* Bytes for the job's own reader, whose records go straight into the store. */
static int
feed(struct ingest *in, const uint8_t *p, size_t n)
{
	if (in->format == FORMAT_CSV)
		return csv_feed(in->csv, p, n, csv_record, &in->direct);
	return jsonl_feed(in->jsonl, p, n, jsonl_record, &in->direct);
}

static int
finish_reader(struct ingest *in)
{
	return in->format == FORMAT_CSV ? csv_finish(in->csv, csv_record, &in->direct)
	                                : jsonl_finish(in->jsonl, jsonl_record, &in->direct);
}

/* The rules about the upload as a whole, once every record is in. */
static void
upload_rules(struct ingest *in)
{
	if (in->format == FORMAT_CSV && !in->have_header)
		add_error(&in->errors, 1, 1, 0, JOB_RULE_INGEST_EMPTY_FILE, 0, 0);
	if (in->errors.total == 0 && in->rows == 0)
		add_error(&in->errors, 1, 1, 0, JOB_RULE_INGEST_NO_ROWS, 0, 0);
}

/* Send the ERROR frame of the upload's places. */
static int
send_errors(struct ingest *in)
{
	uint8_t buf[JOB_ERROR_MAX];
	size_t len;
	int r;

	if ((r = job_error_encode(&in->errors, buf, &len)) != 0)
		return r;
	return job_frame_write(in->fd, JOB_FRAME_ERROR, buf, len);
}

/* The new version committed and its RESULT sent, or the upload's ERROR frame. */
static int
conclude(struct ingest *in)
{
	struct store_stats stats;
	uint8_t res[JOB_WRITTEN_BYTES];
	int r;

	if (in->errors.total > 0)
		return send_errors(in);
	r = store_writer_commit(in->w, &stats);
	in->w = NULL;
	if (r != 0)
		return r; /* the worker's ERROR frame carries the code (sandbox/fault.h) */
	store_stats_result(&stats, res);
	return job_frame_write(in->fd, JOB_FRAME_RESULT, res, sizeof(res));
}

/*
 * The upload's next DATA frame, counted in bytes_in: 0 with *payload (the
 * caller frees it), 1 at END, or the error of a frame that is neither.
 */
static int
next_piece(struct ingest *in, uint8_t **payload, size_t *len)
{
	uint32_t type;
	int r;

	if ((r = job_frame_read(in->fd, &type, payload, len, JOB_FRAME_MAX)) != 0)
		return r;
	if (type == JOB_FRAME_DATA) {
		in->bytes_in += *len;
		return 0;
	}
	free(*payload);
	if (type == JOB_FRAME_END)
		return 1;
	return sl_errf(SL_ERR_PARSE, "ingest: unexpected frame %u", type);
}

/* The job's reader refused the upload: the ERROR frame, with its place last. */
static int
refuse_malformed(struct ingest *in)
{
	int r = add_reader_error(in, own_fault(in), 1);

	return r != 0 ? r : send_errors(in);
}

/* One thread: the upload fed to the job's reader as it comes. */
static int
run_one(struct ingest *in)
{
	uint8_t *payload;
	size_t len;
	int r;

	while ((r = next_piece(in, &payload, &len)) == 0) {
		r = feed(in, payload, len);
		free(payload);
		/* Malformed input: report where; the rest of the upload is not read. */
		if (r == SL_ERR_PARSE)
			return refuse_malformed(in);
		if (r != 0)
			return r;
	}
	if (r != 1)
		return r;
	if ((r = finish_reader(in)) == SL_ERR_PARSE)
		return refuse_malformed(in);
	if (r != 0)
		return r;
	upload_rules(in);
	return conclude(in);
}

/* ---- blocks on threads ------------------------------------------------------- */

/* A block's bytes: cut at the first record end past this many (a variable for the tests). */
size_t ingest_block_bytes = INGEST_BLOCK_BYTES;

/* Blocks in flight: each parser thread's, one more each ready, and the one being put. */
#define RING_PER_THREAD 2

struct blocks {
	struct ingest *in;
	struct block *ring;
	size_t nring;
	uint64_t head, tail; /* blocks [head, tail) are in the ring, ring[seq % nring] */
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	int closing;
	pthread_t *th;
	unsigned nth;
	/* The cut: pending[0 .. len) is the upload past the last block, scanned to scan. */
	uint8_t *pending;
	size_t len, cap, scan;
	int odd;          /* a CSV quote is open at scan */
	size_t line_base; /* the line of the next block to put */
	int first;        /* the first record (header, BOM) not yet read by the job's reader */
};

/* The record limit of the upload's reader: a cut past it falls inside a record the reader refuses. */
static size_t
record_max(const struct ingest *in)
{
	return in->format == FORMAT_CSV ? CSV_LINE_MAX_DEFAULT : JSONL_LINE_MAX_DEFAULT;
}

/*
 * The end of a record that ends at or past want in pending (the last one
 * where no quote follows, else the first), or 0 when there is none yet.  A
 * CSV record ends at an LF outside quotes, which the parity of the quotes
 * before it tells for well-formed input; where the input is malformed, the
 * reader of the block refuses it there, before any later cut matters.  JSON
 * Lines ends records at every LF.
 */
static size_t
cut_point(struct blocks *bs, size_t want)
{
	const uint8_t *p = bs->pending, *q, *nl;
	int csv = bs->in->format == FORMAT_CSV;

	/* Quotes before want only change the parity. */
	while (csv && bs->scan < want && bs->scan < bs->len) {
		q = memchr(p + bs->scan, '"', (want < bs->len ? want : bs->len) - bs->scan);
		if (q == NULL) {
			bs->scan = want < bs->len ? want : bs->len;
			break;
		}
		bs->odd ^= 1;
		bs->scan = (size_t)(q - p) + 1;
	}
	if (bs->scan < want)
		bs->scan = want < bs->len ? want : bs->len;
	/*
	 * Where no quote follows, every LF is a record's end: the cut is at the
	 * last, so that what stays pending is less than a record (a block is then
	 * about a piece of the upload, and the next cut copies almost nothing).
	 */
	if (!bs->first && !bs->odd && bs->scan < bs->len &&
	    (!csv || memchr(p + bs->scan, '"', bs->len - bs->scan) == NULL)) {
		nl = memrchr(p + bs->scan, '\n', bs->len - bs->scan);
		bs->scan = bs->len;
		return nl != NULL ? (size_t)(nl - p) + 1 : 0;
	}
	while (bs->scan < bs->len) {
		if (bs->odd) {
			if ((q = memchr(p + bs->scan, '"', bs->len - bs->scan)) == NULL) {
				bs->scan = bs->len;
				return 0;
			}
			bs->odd = 0;
			bs->scan = (size_t)(q - p) + 1;
			continue;
		}
		nl = memchr(p + bs->scan, '\n', bs->len - bs->scan);
		q = csv ? memchr(p + bs->scan, '"',
		              (nl != NULL ? (size_t)(nl - p) : bs->len) - bs->scan)
		        : NULL;
		if (q != NULL) {
			bs->odd = 1;
			bs->scan = (size_t)(q - p) + 1;
			continue;
		}
		if (nl == NULL) {
			bs->scan = bs->len;
			return 0;
		}
		return (size_t)(nl - p) + 1;
	}
	return 0;
}

/* Ready for the next block: the buffers stay, so that no block pays for their pages again. */
static void
block_clear(struct block *b)
{
	struct block keep = {.data = b->data,
	    .dcap = b->dcap,
	    .vals = b->vals,
	    .kinds = b->kinds,
	    .rcap = b->rcap,
	    .text = b->text,
	    .tcap = b->tcap};

	*b = keep;
}

static void
block_free(struct block *b)
{
	free(b->data);
	free(b->vals);
	free(b->kinds);
	free(b->text);
	memset(b, 0, sizeof *b);
}

/* The LFs in p[0 .. n): a block's lines, less one. */
static size_t
lf_count(const uint8_t *p, size_t n)
{
	const uint8_t *q;
	size_t k = 0;

	while (n > 0 && (q = memchr(p, '\n', n)) != NULL) {
		k++;
		n -= (size_t)(q - p) + 1;
		p = q + 1;
	}
	return k;
}

/* Parse a block on a reader of its own, into its values and errors. */
static void
block_parse(struct ingest *in, struct block *b)
{
	struct sink o = {in, &b->errors, &b->rows, b};
	int rc;

	b->errors.code = JOB_ERR_INPUT;
	b->lines = lf_count(b->data, b->len);
	if (in->format == FORMAT_CSV) {
		struct csv_reader *r = csv_new(NULL);

		if (r == NULL || (rc = csv_mid_file(r)) != 0)
			rc = SL_ERR_NOMEM;
		else if ((rc = csv_feed(r, b->data, b->len, csv_record, &o)) == 0 && b->final)
			rc = csv_finish(r, csv_record, &o);
		if (rc == SL_ERR_PARSE)
			b->fault = *csv_fault(r);
		csv_free(r);
	} else {
		struct jsonl_reader *r = jsonl_new(JSONL_LINE_MAX_DEFAULT);

		if (r == NULL) {
			rc = SL_ERR_NOMEM;
		} else {
			jsonl_mid_file(r);
			if ((rc = jsonl_feed(r, b->data, b->len, jsonl_record, &o)) == 0 &&
			    b->final)
				rc = jsonl_finish(r, jsonl_record, &o);
			if (rc == SL_ERR_PARSE)
				b->fault = *jsonl_fault(r);
		}
		jsonl_free(r);
	}
	b->rc = rc;
}

/* The earliest block ready for a parser, or NULL; under bs->mu. */
static struct block *
block_ready(struct blocks *bs)
{
	uint64_t seq;

	for (seq = bs->head; seq < bs->tail; seq++)
		if (bs->ring[seq % bs->nring].state == BLOCK_READY)
			return &bs->ring[seq % bs->nring];
	return NULL;
}

static void *
parser_run(void *arg)
{
	struct blocks *bs = arg;
	struct block *b;

	pthread_mutex_lock(&bs->mu);
	for (;;) {
		if ((b = block_ready(bs)) == NULL) {
			if (bs->closing)
				break;
			pthread_cond_wait(&bs->work, &bs->mu);
			continue;
		}
		b->state = BLOCK_BUSY;
		pthread_mutex_unlock(&bs->mu);
		block_parse(bs->in, b);
		pthread_mutex_lock(&bs->mu);
		b->state = BLOCK_DONE;
		pthread_cond_broadcast(&bs->done);
	}
	pthread_mutex_unlock(&bs->mu);
	return NULL;
}

/* Merge a parsed block into the job: its errors (lines moved), rows, and values into the store. */
static int
block_put_all(struct blocks *bs, struct block *b, int *stop)
{
	struct ingest *in = bs->in;
	const char *const text[2] = {(const char *)b->data, b->text};
	size_t k, base = bs->line_base - 1, done, n;
	int r;

	for (k = 0; k < b->errors.nplaces; k++) {
		const struct job_place *pl = &b->errors.places[k];

		add_error(&in->errors, pl->line + base, pl->column, pl->length, pl->rule, pl->field,
		    pl->number);
	}
	in->errors.total += b->errors.total - b->errors.nplaces;
	if (b->rc == SL_ERR_PARSE) {
		in->rows += b->rows;
		*stop = 1;
		return add_reader_error(in, &b->fault, bs->line_base);
	}
	if (b->rc != 0)
		return b->rc;
	bs->line_base += b->lines;
	if (in->errors.total > 0) {
		in->rows += b->rows;
		return 0;
	}
	/* In runs that end where PROGRESS is due, so that it counts as on one thread. */
	for (done = 0; done < b->nrows; done += n) {
		n = b->nrows - done;
		if (in->next_progress > in->rows && n > in->next_progress - in->rows)
			n = in->next_progress - in->rows;
		if ((r = store_put_rows(
		         in->w, b->vals + done, b->kinds + done, b->rcap, n, text)) != 0 ||
		    (r = rows_counted(in, n)) != 0)
			return r;
	}
	/* The header's rows without values: a bad header leaves records uncounted but parsed. */
	in->rows += b->rows - b->nrows;
	return 0;
}

/*
 * Put the blocks parsed at the head, in order, waiting for the head until at
 * most keep blocks are in flight (SIZE_MAX: no waiting, 0: all of them).
 */
static int
blocks_drain(struct blocks *bs, size_t keep, int *stop)
{
	struct block *b;
	int r = 0;

	pthread_mutex_lock(&bs->mu);
	while (r == 0 && !*stop && bs->head < bs->tail) {
		b = &bs->ring[bs->head % bs->nring];
		if (b->state != BLOCK_DONE) {
			if (bs->tail - bs->head <= keep)
				break;
			/* Rather than wait for a parser, parse the earliest block none has taken. */
			if ((b = block_ready(bs)) != NULL) {
				b->state = BLOCK_BUSY;
				pthread_mutex_unlock(&bs->mu);
				block_parse(bs->in, b);
				pthread_mutex_lock(&bs->mu);
				b->state = BLOCK_DONE;
				continue;
			}
			pthread_cond_wait(&bs->done, &bs->mu);
			continue;
		}
		pthread_mutex_unlock(&bs->mu);
		r = block_put_all(bs, b, stop);
		pthread_mutex_lock(&bs->mu);
		block_clear(b); /* its state too, which the parsers read under mu */
		bs->head++;
	}
	pthread_mutex_unlock(&bs->mu);
	return r;
}

/*
 * The block takes pending's buffer, whose first n bytes it is to parse, and
 * what follows them moves to the block's old buffer, pending from now on:
 * the upload's bytes are not copied again on the job's thread.
 */
static int
block_take(struct blocks *bs, struct block *b, size_t n)
{
	size_t rest = bs->len - n, cap;
	uint8_t *p;
	int r;

	if ((r = block_grow((void **)&b->data, &b->dcap, rest > 0 ? rest : 1, 1)) != 0)
		return r;
	p = b->data;
	cap = b->dcap;
	memcpy(p, bs->pending + n, rest);
	b->data = bs->pending;
	b->dcap = bs->cap;
	bs->pending = p;
	bs->cap = cap;
	bs->len = rest;
	return 0;
}

/*
 * Hand pending[0 .. n) to the parsers as a block (or, for the first, read it
 * here); it leaves pending.
 */
static int
block_add(struct blocks *bs, size_t n, int final, int *stop)
{
	struct block *b;
	int r;

	if (bs->first) {
		/* The first record, header and BOM: the job's reader, as on one thread. */
		bs->first = 0;
		r = feed(bs->in, bs->pending, n);
		if (r == 0 && final)
			r = finish_reader(bs->in);
		if (r == SL_ERR_PARSE) {
			*stop = 1;
			return add_reader_error(bs->in, own_fault(bs->in), 1);
		}
		bs->line_base += lf_count(bs->pending, n);
		if (n > 0) /* an empty upload has no pending buffer */
			memmove(bs->pending, bs->pending + n, bs->len - n);
		bs->len -= n;
		return r;
	}
	/* Room in the ring: the blocks at its head put first. */
	if (bs->tail - bs->head == bs->nring && (r = blocks_drain(bs, bs->nring - 1, stop)) != 0)
		return r;
	if (*stop)
		return 0;
	/* The tail slot is free (no thread touches it) until it is marked ready. */
	b = &bs->ring[bs->tail % bs->nring];
	if ((r = block_take(bs, b, n)) != 0)
		return r;
	pthread_mutex_lock(&bs->mu);
	b->len = n;
	b->final = final;
	b->state = BLOCK_READY;
	bs->tail++;
	pthread_cond_signal(&bs->work);
	pthread_mutex_unlock(&bs->mu);
	return 0;
}

/* Cut every whole block pending holds; at the end, the rest too. */
static int
blocks_cut(struct blocks *bs, int at_end, int *stop)
{
	size_t want, n, hard, limit = record_max(bs->in);
	int r;

	while (!*stop && bs->len > 0) {
		want = bs->first ? 0 : ingest_block_bytes;
		hard = want + limit + 2;
		n = cut_point(bs, want);
		if (n == 0 && bs->len >= hard)
			n = hard; /* no record end: the reader refuses the record this cuts */
		if (n == 0 && !at_end)
			return 0;
		if (n == 0)
			n = bs->len;
		if ((r = block_add(bs, n, at_end && n == bs->len, stop)) != 0)
			return r;
		bs->scan = 0;
		bs->odd = 0;
	}
	if (at_end && !*stop && bs->first)
		return block_add(bs, 0, 1, stop); /* an empty upload */
	return 0;
}

static int
pending_add(struct blocks *bs, const uint8_t *p, size_t n)
{
	int r;

	if (bs->cap - bs->len < n &&
	    (r = block_grow((void **)&bs->pending, &bs->cap, bs->len + n, 1)) != 0)
		return r;
	memcpy(bs->pending + bs->len, p, n);
	bs->len += n;
	return 0;
}

/* The upload read from the broker and cut; stop: a parse error ended it. */
static int
blocks_read(struct blocks *bs, int *stop)
{
	uint8_t *payload;
	size_t len;
	int r;

	for (;;) {
		if ((r = next_piece(bs->in, &payload, &len)) == 1)
			return blocks_cut(bs, 1, stop);
		if (r != 0)
			return r;
		r = pending_add(bs, payload, len);
		free(payload);
		if (r == 0)
			r = blocks_cut(bs, 0, stop);
		if (r == 0)
			r = blocks_drain(bs, SIZE_MAX, stop);
		if (r != 0 || *stop)
			return r;
	}
}

static void
blocks_stop(struct blocks *bs)
{
	unsigned t;
	size_t i;

	pthread_mutex_lock(&bs->mu);
	bs->closing = 1;
	pthread_cond_broadcast(&bs->work);
	pthread_mutex_unlock(&bs->mu);
	for (t = 0; t < bs->nth; t++)
		pthread_join(bs->th[t], NULL);
	for (i = 0; bs->ring != NULL && i < bs->nring; i++)
		block_free(&bs->ring[i]);
	free(bs->ring);
	free(bs->th);
	free(bs->pending);
	pthread_cond_destroy(&bs->work);
	pthread_cond_destroy(&bs->done);
	pthread_mutex_destroy(&bs->mu);
}

/* More than one thread: parser threads, made here, after confinement. */
static int
run_blocks(struct ingest *in)
{
	struct blocks bs = {.in = in, .line_base = 1, .first = 1};
	int r, stop = 0;
	unsigned t;

	bs.nring = (size_t)in->threads * RING_PER_THREAD;
	pthread_mutex_init(&bs.mu, NULL);
	pthread_cond_init(&bs.work, NULL);
	pthread_cond_init(&bs.done, NULL);
	if ((bs.ring = calloc(bs.nring, sizeof *bs.ring)) == NULL ||
	    (bs.th = calloc(in->threads, sizeof *bs.th)) == NULL) {
		blocks_stop(&bs);
		return SL_ERR_NOMEM;
	}
	/*
	 * threads - 1 parsers: the job's thread is the other, putting blocks and
	 * parsing one itself whenever the next to put is not parsed yet.  A
	 * thread the system will not make (the worker user's task limit): fewer.
	 * The store's writer seals each full chunk on a thread of its own
	 * (store_writer_pipeline()): the job's thread, which puts every value,
	 * is the one that limits a parallel load.
	 */
	if ((r = store_writer_pipeline(in->w, in->schema)) != 0) {
		blocks_stop(&bs);
		return r;
	}
	for (t = 0; t + 1 < in->threads; t++, bs.nth++)
		if (pthread_create(&bs.th[t], NULL, parser_run, &bs) != 0)
			break;
	r = blocks_read(&bs, &stop);
	if (r == 0 && !stop)
		r = blocks_drain(&bs, 0, &stop);
	blocks_stop(&bs);
	if (r != 0)
		return r;
	if (!stop)
		upload_rules(in);
	return conclude(in);
}

int
ingest_run(struct ingest *in, int fd)
{
	in->fd = fd;
	in->next_progress = INGEST_PROGRESS_ROWS;
	return in->threads > 1 ? run_blocks(in) : run_one(in);
}
