/*
 * broker/fault.c -- a worker's ERROR frame in words (broker/fault.h).
 *
 * Trusts: the tables in sandbox/job.c and the input the broker holds.
 * Untrusted: every number in the frame; a place is used only after it is
 * found inside the input.
 */
#include <stdio.h>
#include <string.h>

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

/* The byte offset of (line, column) in text; column counts UTF-8 characters.  -1: outside. */
static long
offset_of(const char *text, size_t len, uint32_t line, uint32_t column)
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
		for (i = off + 1; i < len && text[i] != '"'; i++)
			;
		return i < len ? i + 1 - off : len - off;
	}
	while (i < len && word_byte((unsigned char)text[i]))
		i++;
	return i > off ? i - off : 1;
}

/* The token, quoted unless bare, with bytes outside printable ASCII escaped. */
static void
put_token(struct out *o, const char *s, size_t n, int bare)
{
	char hex[8];
	size_t i;

	if (bare && n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++; /* a quoted name: its text */
		n -= 2;
	}
	if (!bare && s[0] != '\'')
		put(o, "'", 1);
	for (i = 0; i < n && i < TOKEN_CHARS; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b < 0x20 || b >= 0x7f) {
			snprintf(hex, sizeof hex, "\\x%02x", b);
			puts_(o, hex);
		} else {
			put(o, (const char *)&s[i], 1);
		}
	}
	if (i < n)
		puts_(o, "...");
	if (!bare && s[0] != '\'')
		put(o, "'", 1);
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

int
fault_words(const struct job_error_frame *e, const struct fault_input *in, char *buf,
    size_t buflen)
{
	const struct job_place *pl = e->nplaces > 0 ? &e->places[0] : NULL;
	const struct schema_column *col = NULL;
	struct out o = {buf, 0, buflen};
	char num[24], type[48];
	const char *t;
	long off = -1;
	size_t tlen = 0;

	if (buflen > 0)
		buf[0] = '\0';
	if (pl == NULL) {
		puts_(&o, job_error_text(e->code));
		return 0;
	}
	if (pl->field != 0) {
		if (in->schema == NULL || pl->field > in->schema->ncols)
			return sl_errf(SL_ERR_PARSE, "the worker's ERROR names column %u, which the "
			                             "schema lacks", pl->field);
		col = &in->schema->cols[pl->field - 1];
	}
	if (pl->line != 0) {
		if (in->text == NULL ||
		    (off = offset_of(in->text, in->len, pl->line, pl->column)) < 0 ||
		    pl->length > in->len - (size_t)off)
			return sl_errf(SL_ERR_PARSE, "the worker's ERROR names a place outside the input");
		tlen = pl->length != 0 || (size_t)off == in->len
		           ? pl->length
		           : word_len(in->text, in->len, (size_t)off);
		snprintf(num, sizeof num, "%u:%u: ", pl->line, pl->column);
		puts_(&o, num);
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
		case 'P':
			puts_(&o, job_phrase_text(pl->phrase));
			break;
		case 'C':
			puts_(&o, col != NULL ? col->name : "?");
			break;
		case 'K':
		case 'H':
			puts_(&o, col != NULL ? type_words(col, *t == 'H', type, sizeof type) : "?");
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
fault_is_input(uint32_t code)
{
	return code == JOB_ERR_QUERY || code == JOB_ERR_INPUT || code == JOB_ERR_LIMIT;
}
