/*
 * sandbox/ingest.c -- validating an upload and writing it as a new version.
 *
 * Trusts: the job header.  Untrusted: every DATA byte.  Holds: plaintext
 * rows, one chunk at a time (sandbox/store_write.c), and the product's data key.
 */
#include <jansson.h>
#include <math.h>
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
add_error(struct ingest *in, size_t line, size_t col, size_t length, uint32_t rule, size_t field,
    uint64_t number)
{
	struct job_place *pl;

	if (in->errors.total++ >= INGEST_ERRORS_MAX)
		return;
	pl = &in->errors.places[in->errors.nplaces++];
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

/* Store one validated value. */
static int
put_value(struct ingest *in, size_t col, const struct value *v)
{
	const struct schema_column *c = &in->schema->cols[col];

	if (v->null)
		return store_put_null(in->w, col);
	switch (c->type) {
	case SCHEMA_REAL:
		return store_put_real(in->w, col, v->r);
	case SCHEMA_TEXT:
		if (v->domain >= 0)
			return store_put_domain(in->w, col, (uint32_t)v->domain);
		return store_put_text(in->w, col, v->s, v->len);
	default:
		return store_put_int(in->w, col, v->i);
	}
}

static int
row_done(struct ingest *in)
{
	uint8_t prog[16];
	int r;

	in->rows++;
	if (in->errors.total == 0 && (r = store_row_end(in->w)) != 0)
		return r;
	if (in->rows >= in->next_progress) {
		in->next_progress = in->rows + INGEST_PROGRESS_ROWS;
		job_progress_encode(in->rows, in->bytes_in, prog);
		if (job_frame_write(in->fd, JOB_FRAME_PROGRESS, prog, sizeof(prog)) != 0)
			return SL_ERR_IO;
	}
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
			add_error(in, f[i].line, f[i].col, field_bytes(&f[i]),
			    JOB_RULE_INGEST_HEADER_UNKNOWN, 0, 0);
		else if (seen[j]++)
			add_error(
			    in, f[i].line, f[i].col, 0, JOB_RULE_INGEST_HEADER_TWICE, j + 1, 0);
		in->field_col[i] = j;
	}
	for (j = 0; j < in->schema->ncols; j++)
		if (!seen[j])
			add_error(in, f[0].line, 1, 0, JOB_RULE_INGEST_HEADER_MISSING, j + 1, 0);
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
	struct ingest *in = arg;
	struct value v;
	uint32_t rule;
	size_t i;
	int r;

	if (!in->have_header)
		return csv_header(in, nfields, f);
	if (in->header_bad)
		return 0;
	if (nfields != in->nfields) {
		add_error(in, line, 1, 0, JOB_RULE_INGEST_FIELD_COUNT, 0, nfields);
		in->rows++;
		return 0;
	}
	for (i = 0; i < nfields; i++) {
		size_t col = in->field_col[i];

		if (value_parse(&in->schema->cols[col], f[i].p, f[i].len,
		        !f[i].quoted && f[i].len == 0, &v, &rule) != 0) {
			add_error(in, f[i].line, f[i].col, field_bytes(&f[i]), rule, col + 1, 0);
			continue;
		}
		if (in->errors.total == 0 && (r = put_value(in, col, &v)) != 0)
			return r;
	}
	return row_done(in);
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
	struct ingest *in = arg;
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
			add_error(in, line, 1, 0, JOB_RULE_INGEST_UNKNOWN_KEY, 0, 0);
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
			add_error(in, line, 1, 0, rule, i + 1, 0);
			continue;
		}
		if (value_parse(c, s, len, is_null, &v, &rule) != 0) {
			add_error(in, line, 1, 0, rule, i + 1, 0);
			continue;
		}
		if (in->errors.total == 0 && (r = put_value(in, i, &v)) != 0)
			return r;
	}
	return row_done(in);
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
 * The reader's SL_ERR_PARSE as a place: its rule and position, never its
 * message.  Nor does the log get that: jansson's words may quote the
 * upload, and the log is outside the worker.
 */
static int
add_reader_error(struct ingest *in)
{
	const struct reader_fault *f =
	    in->format == FORMAT_CSV ? csv_fault(in->csv) : jsonl_fault(in->jsonl);

	if (f == NULL || (size_t)f->code >= sizeof reader_rules / sizeof reader_rules[0] ||
	    reader_rules[f->code] == JOB_RULE_NONE)
		return sl_errf(SL_ERR_INTERNAL, "ingest: a parse error without its rule");
	sl_warnx("upload refused at %zu:%zu: reader error %d", f->line, f->column, (int)f->code);
	/* The bad byte of invalid UTF-8 is the place's one byte: the broker names it. */
	add_error(
	    in, f->line, f->column, f->code == READER_ERR_UTF8, reader_rules[f->code], 0, f->limit);
	return 0;
}

static int
feed(struct ingest *in, const uint8_t *p, size_t n)
{
	in->bytes_in += n;
	if (in->format == FORMAT_CSV)
		return csv_feed(in->csv, p, n, csv_record, in);
	return jsonl_feed(in->jsonl, p, n, jsonl_record, in);
}

static int
finish(struct ingest *in)
{
	int r;

	r = in->format == FORMAT_CSV ? csv_finish(in->csv, csv_record, in)
	                             : jsonl_finish(in->jsonl, jsonl_record, in);
	if (r == 0 && in->format == FORMAT_CSV && !in->have_header)
		add_error(in, 1, 1, 0, JOB_RULE_INGEST_EMPTY_FILE, 0, 0);
	if (r == 0 && in->errors.total == 0 && in->rows == 0)
		add_error(in, 1, 1, 0, JOB_RULE_INGEST_NO_ROWS, 0, 0);
	return r;
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

int
ingest_run(struct ingest *in, int fd)
{
	struct store_stats stats;
	uint8_t res[JOB_WRITTEN_BYTES];
	uint8_t *payload = NULL;
	uint32_t type;
	size_t len;
	int r;

	in->fd = fd;
	in->next_progress = INGEST_PROGRESS_ROWS;
	for (;;) {
		if ((r = job_frame_read(fd, &type, &payload, &len, JOB_FRAME_MAX)) != 0)
			return r;
		if (type == JOB_FRAME_END) {
			free(payload);
			break;
		}
		if (type != JOB_FRAME_DATA) {
			free(payload);
			return sl_errf(SL_ERR_PARSE, "ingest: unexpected frame %u", type);
		}
		r = feed(in, payload, len);
		free(payload);
		if (r != 0 && r != SL_ERR_PARSE)
			return r;
		if (r == SL_ERR_PARSE) {
			/* Malformed input: report where; the rest of the upload is not read. */
			if ((r = add_reader_error(in)) != 0)
				return r;
			return send_errors(in);
		}
	}
	if ((r = finish(in)) == SL_ERR_PARSE)
		r = add_reader_error(in);
	if (r != 0)
		return r;
	if (in->errors.total > 0)
		return send_errors(in);
	r = store_writer_commit(in->w, &stats);
	in->w = NULL;
	if (r != 0)
		return r; /* the worker's ERROR frame carries the code (sandbox/fault.h) */
	store_stats_result(&stats, res);
	return job_frame_write(fd, JOB_FRAME_RESULT, res, sizeof(res));
}
