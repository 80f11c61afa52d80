/*
 * broker/fault.c -- a worker's ERROR frame in words (broker/fault.h).
 *
 * Trusts: the tables in sandbox/job.c and the input the broker holds (the
 * query text, or the uploaded file).  Untrusted: every number in the frame;
 * a place is used only after it is found inside the input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/fault.h"
#include "common/err.h"
#include "common/schema.h"

/* Characters of a quoted token before "...". */
#define TOKEN_CHARS 48

struct out {
	char *p;
	size_t len, cap;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->cap == 0)
		return;
	while (n-- > 0 && o->len + 1 < o->cap)
		o->p[o->len++] = *s++;
	o->p[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

long
fault_offset(const char *text, size_t len, uint32_t line, uint32_t column)
{
	uint32_t l = 1, c = 1;
	size_t i = 0;

	while (i <= len) {
		if (l == line && c == column)
			return (long)i;
		if (i == len || l > line)
			break;
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			c++;
		}
		i++;
		/* A continuation byte does not start a character. */
		while (i < len && ((unsigned char)text[i] & 0xc0) == 0x80)
			i++;
	}
	return -1;
}

static int
word_byte(unsigned char b)
{
	return b == '_' || (b >= '0' && b <= '9') || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z') ||
	       b >= 0x80;
}

/* The length of the word (or quoted name) at text[off]. */
static size_t
word_len(const char *text, size_t len, size_t off)
{
	size_t i = off;

	if (text[off] == '"') {
		/* "" inside a quoted name is a quote of the name, not its end. */
		for (i = off + 1; i < len; i++) {
			if (text[i] != '"')
				continue;
			if (i + 1 < len && text[i + 1] == '"') {
				i++;
				continue;
			}
			break;
		}
		return i < len ? i + 1 - off : len - off;
	}
	while (i < len && word_byte((unsigned char)text[i]))
		i++;
	return i > off ? i - off : 1;
}

/* n bytes of s, those outside printable ASCII (and quote, a quote mark) as \xNN. */
static void
put_escaped(struct out *o, const char *s, size_t n, char quote)
{
	char hex[8];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b < 0x20 || b >= 0x7f ||
		    (quote != '\0' && (b == (unsigned char)quote || b == '\\'))) {
			snprintf(hex, sizeof hex, "\\x%02x", b);
			puts_(o, hex);
		} else {
			put(o, (const char *)&s[i], 1);
		}
	}
}

/* The token, quoted unless bare, with bytes outside printable ASCII escaped. */
static void
put_token(struct out *o, const char *s, size_t n, int bare)
{
	size_t i, shown;

	if (bare && n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		/* A quoted name: its text, each "" a quote. */
		for (i = 1, shown = 0; i + 1 < n && shown < TOKEN_CHARS; i++, shown++) {
			put_escaped(o, s + i, 1, '\0');
			if (s[i] == '"')
				i++;
		}
		if (i + 1 < n)
			puts_(o, "...");
		return;
	}
	if (!bare && s[0] != '\'')
		put(o, "'", 1);
	put_escaped(o, s, n < TOKEN_CHARS ? n : TOKEN_CHARS, '\0');
	if (n > TOKEN_CHARS)
		puts_(o, "...");
	if (!bare && s[0] != '\'')
		put(o, "'", 1);
}

/*
 * %Q: the file's bytes at a place in double quotes; a quoted CSV field (a
 * '"' first: an unquoted one holds none) unquoted, its "" undoubled.  The
 * place's length says whether more follows what was read.
 */
static void
put_quote(struct out *o, const struct fault_span *sp, uint32_t length)
{
	char v[FAULT_QUOTE_BYTES];
	size_t i = 0, n = 0, end = sp->n;

	if (length == 0) {
		puts_(o, "the value");
		return;
	}
	if (sp->n > 0 && sp->b[0] == '"') {
		i = 1;
		if (sp->n == length && end > 1)
			end--; /* the closing quote */
	}
	for (; i < end; i++) {
		v[n++] = (char)sp->b[i];
		if (sp->b[i] == '"' && i + 1 < end && sp->b[i + 1] == '"')
			i++;
	}
	put(o, "\"", 1);
	put_escaped(o, v, n < TOKEN_CHARS ? n : TOKEN_CHARS, '"');
	if (n > TOKEN_CHARS || sp->n < length)
		puts_(o, "...");
	put(o, "\"", 1);
}

static const char *
type_words(const struct schema_column *c, int hint, char *buf, size_t len)
{
	if (hint && c->type == SCHEMA_DATE)
		return "DATE (write DATE 'YYYY-MM-DD')";
	if (hint && c->type == SCHEMA_BOOL)
		return "BOOL (write TRUE or FALSE)";
	if (hint && (c->type == SCHEMA_INT || c->type == SCHEMA_DECIMAL))
		return "numeric";
	schema_type_name(c, buf, len);
	return buf;
}

/* %B: the bounds a value of the column must lie in, as the schema has them. */
static void
put_bounds(struct out *o, const struct schema_column *c)
{
	char b[96];

	if (c->type == SCHEMA_REAL)
		snprintf(b, sizeof b, "[%g, %g]", c->rlo, c->rhi);
	else
		snprintf(b, sizeof b, "[%lld, %lld]%s", (long long)c->lo, (long long)c->hi,
		    c->type == SCHEMA_DECIMAL ? " (scaled)" : "");
	puts_(o, b);
}

static int
lie(const char *what, size_t i)
{
	return sl_errf(SL_ERR_PARSE, "the worker's ERROR place %zu %s", i + 1, what);
}

/* Whether template t uses directive d. */
static int
uses(const char *t, char d)
{
	for (; *t != '\0'; t++)
		if (t[0] == '%' && t[1] != '\0' && *++t == d)
			return 1;
	return 0;
}

/*
 * Check place i of e against the file: the line is there, the column and
 * the place's bytes within it, and the rule needs what the place gives.
 */
static int
file_check(const struct job_error_frame *e, size_t i, const struct fault_input *in,
    const struct schema_column *col)
{
	const struct job_place *pl = &e->places[i];
	const struct fault_span *sp;
	const char *t = job_rule_text(pl->rule);

	if (!job_rule_is_ingest(pl->rule))
		return lie("has a rule of a query's, not of an upload's", i);
	if (i >= in->file->nplaces || !(sp = &in->file->spans[i])->found || pl->column == 0 ||
	    pl->column - 1 > sp->line_len || pl->length > sp->line_len - (pl->column - 1))
		return lie("is outside the file", i);
	if (col == NULL && (uses(t, 'C') || uses(t, 'K') || uses(t, 'B')))
		return lie("names no column, but its rule needs one", i);
	if (uses(t, 'B') && !col->has_bounds)
		return lie("names bounds of a column without bounds", i);
	if (uses(t, 'X') && pl->length == 0)
		return lie("names no byte, but its rule needs one", i);
	if (uses(t, 'F') && in->schema == NULL)
		return lie("needs the schema", i);
	return 0;
}

int
fault_place_words(const struct job_error_frame *e, size_t i, const struct fault_input *in,
    char *buf, size_t buflen)
{
	const struct job_place *pl = &e->places[i];
	const struct schema_column *col = NULL;
	const struct fault_span *sp = NULL;
	struct out o = {buf, 0, buflen};
	char num[24], type[48];
	const char *t;
	long off = -1;
	size_t tlen = 0;
	int r;

	if (buflen > 0)
		buf[0] = '\0';
	if (i >= e->nplaces)
		return sl_errf(SL_ERR_INVAL, "fault: no place %zu", i + 1);
	if (pl->field != 0) {
		if (in->schema == NULL || pl->field > in->schema->ncols)
			return sl_errf(SL_ERR_PARSE,
			    "the worker's ERROR names column %u, which the "
			    "schema lacks",
			    pl->field);
		col = &in->schema->cols[pl->field - 1];
	}
	if (in->file != NULL) {
		if ((r = file_check(e, i, in, col)) != 0)
			return r;
		sp = &in->file->spans[i];
	} else if (job_rule_is_ingest(pl->rule)) {
		return lie("has a rule of an upload's, not of a query's", i);
	} else if (pl->line != 0) {
		if (in->text == NULL ||
		    (off = fault_offset(in->text, in->len, pl->line, pl->column)) < 0 ||
		    pl->length > in->len - (size_t)off)
			return sl_errf(
			    SL_ERR_PARSE, "the worker's ERROR names a place outside the input");
		tlen = pl->length != 0 || (size_t)off == in->len
		           ? pl->length
		           : word_len(in->text, in->len, (size_t)off);
	}
	for (t = job_rule_text(pl->rule); *t != '\0'; t++) {
		if (t[0] != '%' || t[1] == '\0') {
			put(&o, t, 1);
			continue;
		}
		switch (*++t) {
		case 'T':
		case 'W':
			if (off < 0 || (size_t)off == in->len || tlen == 0)
				puts_(&o, "end of query");
			else
				put_token(&o, in->text + off, tlen, *t == 'W');
			break;
		case 'Q':
			put_quote(&o, sp, pl->length);
			break;
		case 'X':
			snprintf(num, sizeof num, "0x%02x", sp->n > 0 ? sp->b[0] : 0);
			puts_(&o, num);
			break;
		case 'P':
			puts_(&o, job_phrase_text(pl->phrase));
			break;
		case 'C':
			puts_(&o, col != NULL ? col->name : "?");
			break;
		case 'K':
		case 'H':
			puts_(
			    &o, col != NULL ? type_words(col, *t == 'H', type, sizeof type) : "?");
			break;
		case 'B':
			put_bounds(&o, col);
			break;
		case 'F':
			snprintf(num, sizeof num, "%zu", in->schema->ncols);
			puts_(&o, num);
			break;
		case 'R':
			puts_(&o, in->product != NULL ? in->product : "?");
			break;
		case 'N':
			snprintf(num, sizeof num, "%llu", (unsigned long long)pl->number);
			puts_(&o, num);
			break;
		default:
			put(&o, t - 1, 2);
		}
	}
	return 0;
}

int
fault_words(const struct job_error_frame *e, const struct fault_input *in, char *buf, size_t buflen)
{
	const struct job_place *pl = e->nplaces > 0 ? &e->places[0] : NULL;
	size_t n;
	int r;

	if (buflen > 0)
		buf[0] = '\0';
	if (pl == NULL) {
		snprintf(buf, buflen, "%s", job_error_text(e->code));
		return 0;
	}
	n = pl->line != 0 ? (size_t)snprintf(buf, buflen, "%u:%u: ", pl->line, pl->column) : 0;
	if (n >= buflen)
		n = buflen > 0 ? buflen - 1 : 0;
	if ((r = fault_place_words(e, 0, in, buf + n, buflen - n)) != 0 && buflen > 0)
		buf[0] = '\0';
	return r;
}

/* Places by line, for one pass over the file. */
static int
by_line(const void *a, const void *b, void *arg)
{
	const struct job_place *p = arg;
	uint32_t x = p[*(const size_t *)a].line, y = p[*(const size_t *)b].line;

	return x < y ? -1 : x > y;
}

long
fault_pread_fd(void *ctx, uint8_t *buf, size_t n, uint64_t off)
{
	int fd = *(const int *)ctx;
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1)
			return -1;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (long)got;
}

#define FILE_PIECE (64u << 10)

int
fault_file_read(fault_pread_fn rd, void *ctx, const struct job_error_frame *e,
    struct fault_file *out)
{
	static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};
	size_t order[JOB_PLACES_MAX], n = e->nplaces, next = 0, k;
	uint64_t off = 0, start = 0, line = 1;
	uint8_t *piece;
	long got;
	int r = 0;

	memset(out, 0, sizeof *out);
	out->nplaces = n;
	for (k = 0; k < n; k++)
		order[k] = k;
	qsort_r(order, n, sizeof order[0], by_line, (void *)e->places);
	while (next < n && e->places[order[next]].line == 0)
		next++; /* no line: never inside */
	if ((piece = malloc(FILE_PIECE)) == NULL)
		return SL_ERR_NOMEM;
	while (next < n) {
		const uint8_t *p, *nl;

		if ((got = rd(ctx, piece, FILE_PIECE, off)) < 0) {
			r = sl_errf(SL_ERR_IO, "reading the upload again: %s", strerror(errno));
			break;
		}
		if (off == 0 && got >= 3 && memcmp(piece, bom, 3) == 0)
			start = 3;
		p = piece + (start > off ? start - off : 0);
		for (;;) {
			nl = memchr(p, '\n', (size_t)(piece + got - p));
			if (nl == NULL && got == FILE_PIECE)
				break; /* the line goes on in the next piece */
			/* A line ends: at its LF, or at the end of the file. */
			for (; next < n && e->places[order[next]].line == line; next++) {
				struct fault_span *sp = &out->spans[order[next]];

				sp->found = 1;
				sp->start = start;
				sp->line_len = (nl != NULL ? off + (uint64_t)(nl - piece)
				                           : off + (uint64_t)got) -
				               start;
			}
			if (nl == NULL || next == n) {
				next = n; /* the file ends, or no place lies further on */
				break;
			}
			line++;
			start = off + (uint64_t)(nl - piece) + 1;
			p = nl + 1;
		}
		off += (uint64_t)got;
	}
	free(piece);
	for (k = 0; r == 0 && k < n; k++) {
		struct fault_span *sp = &out->spans[k];
		const struct job_place *pl = &e->places[k];
		uint64_t want = pl->length < FAULT_QUOTE_BYTES ? pl->length : FAULT_QUOTE_BYTES;

		/* Only a place inside its line is read: fault_place_words() refuses the rest. */
		if (!sp->found || pl->column == 0 || pl->column - 1 > sp->line_len)
			continue;
		if (want > sp->line_len - (pl->column - 1))
			want = sp->line_len - (pl->column - 1);
		if ((got = rd(ctx, sp->b, (size_t)want, sp->start + pl->column - 1)) < 0)
			r = sl_errf(SL_ERR_IO, "reading the upload again: %s", strerror(errno));
		else
			sp->n = (size_t)got;
	}
	return r;
}

int
fault_is_input(uint32_t code)
{
	return code == JOB_ERR_QUERY || code == JOB_ERR_INPUT || code == JOB_ERR_LIMIT;
}
