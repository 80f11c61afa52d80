/*
 * sandbox/csv.c -- push parsers for uploaded CSV and JSON Lines (csv.h).
 *
 * Runs in the confined ingest worker on bytes from the socket, none of them
 * trusted.  A reader holds only the state of the record in progress: its
 * fields, and a copy buffer that is used only for a record split across
 * feeds or a field with doubled quotes, and never grows past line_max.
 *
 * The CSV reader works on each fed piece in two passes.  The first checks
 * UTF-8 (a streaming validator that carries a split sequence over to the
 * next piece) and finds the first invalid byte; the second parses up to that
 * byte, so every error is found in stream order whatever the split.  The
 * parser is a state machine whose states survive between feeds; a record
 * that lies whole in one piece and holds no quote or CR takes a fast path
 * that finds the line and its commas (with AVX-512 where the CPU has it, 64
 * bytes at a time; else with memchr()) and hands out pointers into the
 * caller's bytes without copying.  Anything
 * unusual (quotes, limits, a line cut by the end of a piece) leaves the fast
 * path before it changes any state, and the general machine, which is the
 * only place errors are raised, does the line instead.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sandbox/csv.h"
#include "sandbox/reader.h"
#include "sandbox/simd.h"

#define CSV_FIELDS_START 64
#define CSV_NOT_COPIED SIZE_MAX

/* ---- UTF-8 ---------------------------------------------------------------- */

/*
 * A streaming UTF-8 validator (Unicode table 3-7).  need continuation bytes
 * are still due, the next in [lo, hi]; lead is the sequence's first byte, at
 * stream offset lead_off.
 */
struct utf8 {
	unsigned need;
	uint8_t lo, hi, lead;
	uint64_t lead_off;
};

#define ASCII_MASK 0x8080808080808080ULL

/*
 * Check p[0 .. n-1], which starts at stream offset off.  Returns the index of
 * the first byte at which the stream stops being valid UTF-8, or n when there
 * is none; then *bad_off is the offset of the first byte of the bad sequence
 * (which may lie in an earlier piece) and *bad_byte its value.  A sequence
 * cut by the end of p is left in u.
 */
static size_t
utf8_check(
    struct utf8 *u, const uint8_t *p, size_t n, uint64_t off, uint64_t *bad_off, uint8_t *bad_byte)
{
	size_t i = 0;
	uint64_t w[4];
	uint8_t c;

	while (i < n) {
		if (u->need > 0) {
			c = p[i];
			if (c < u->lo || c > u->hi)
				goto bad;
			u->lo = 0x80;
			u->hi = 0xbf;
			u->need--;
			i++;
			continue;
		}
		/* Skip ASCII, 32 and then 8 bytes at a time. */
		while (n - i >= sizeof(w)) {
			memcpy(w, p + i, sizeof(w));
			if (((w[0] | w[1] | w[2] | w[3]) & ASCII_MASK) != 0)
				break;
			i += sizeof(w);
		}
		while (n - i >= sizeof(w[0])) {
			memcpy(w, p + i, sizeof(w[0]));
			if ((w[0] & ASCII_MASK) != 0)
				break;
			i += sizeof(w[0]);
		}
		while (i < n && p[i] < 0x80)
			i++;
		if (i == n)
			break;
		c = p[i];
		u->lead = c;
		u->lead_off = off + i;
		u->lo = 0x80;
		u->hi = 0xbf;
		if (c < 0xc2) {
			goto bad; /* a continuation byte, or an overlong 2-byte lead */
		} else if (c < 0xe0) {
			u->need = 1;
		} else if (c < 0xf0) {
			u->need = 2;
			if (c == 0xe0)
				u->lo = 0xa0; /* overlong */
			else if (c == 0xed)
				u->hi = 0x9f; /* surrogates */
		} else if (c < 0xf5) {
			u->need = 3;
			if (c == 0xf0)
				u->lo = 0x90; /* overlong */
			else if (c == 0xf4)
				u->hi = 0x8f; /* above U+10FFFF */
		} else {
			goto bad;
		}
		i++;
	}
	return n;
bad:
	*bad_off = u->need > 0 ? u->lead_off : off + i;
	*bad_byte = u->need > 0 ? u->lead : p[i];
	return i;
}

/* ---- CSV ------------------------------------------------------------------ */

enum csv_state {
	CSV_BOM,    /* at the very start: the first bytes may be a byte order mark */
	CSV_FIELD,  /* at the start of field nf (of the record, if nf is 0) */
	CSV_PLAIN,  /* inside unquoted field nf */
	CSV_QUOTED, /* inside quoted field nf */
	CSV_QUOTE,  /* inside quoted field nf, after a '"': its end or half of a "" */
	CSV_CR,     /* after a CR outside quotes, which only LF may follow */
	CSV_DONE,   /* finished or failed; err says which */
};

struct csv_reader {
	struct csv_limits lim;
	enum csv_state st;
	int err; /* what every call returns once st is CSV_DONE */

	/* Where we are: the piece being parsed starts at stream offset off. */
	const uint8_t *base;
	uint64_t off;
	size_t line;       /* the line of the next byte */
	uint64_t line_off; /* stream offset of that line's first byte */

	/* The record in progress. */
	size_t rec_line;
	uint64_t rec_end; /* stream offset of the first byte past line_max */
	size_t nf;        /* completed fields; f[nf] is the current one */
	size_t fcap;
	struct csv_field *f;
	/*
	 * Where in buf a copied field is, or CSV_NOT_COPIED for a field whose p
	 * points into the piece being parsed (or at "" when empty).  Fields are
	 * copied in order, so once the current field is copied it is last in
	 * buf, where it can grow.
	 */
	size_t *foff;
	size_t ncopied;
	size_t nsettled; /* fields [0, nsettled) are complete and copied (or empty) */
	uint8_t *buf;
	size_t len, cap;
	size_t cr_line, cr_col; /* where the CR of CSV_CR is */

	struct utf8 u;
	uint8_t bom[READER_BOM_BYTES];
	size_t nbom;
	uint64_t bytes, records;
	size_t held_max;
	struct reader_fault fault; /* why parsing stopped, after SL_ERR_PARSE */
};

/* Bytes that end a run of unquoted field data. */
static const uint8_t plain_stop[256] = {
    ['\n'] = 1,
    ['\r'] = 1,
    ['"'] = 1,
    [','] = 1,
};

/* The stream offset of pointer q into the piece being parsed. */
static inline uint64_t
csv_at(const struct csv_reader *r, const uint8_t *q)
{
	return r->off + (uint64_t)(q - r->base);
}

/* The column of stream offset at, which is on the current line. */
static inline size_t
csv_col(const struct csv_reader *r, uint64_t at)
{
	return (size_t)(at - r->line_off) + 1;
}

static int
csv_fail_at(struct csv_reader *r, uint64_t at, enum reader_error code, const char *what)
{
	return reader_fail(&r->fault, code, r->line, csv_col(r, at), 0, "%s", what);
}

static int
csv_fail_line(struct csv_reader *r, uint64_t at)
{
	int line = r->line == r->rec_line;

	return reader_fail(&r->fault, line ? READER_ERR_LINE_LONG : READER_ERR_RECORD_LONG, r->line,
	    csv_col(r, at), r->lim.line_max, "%s longer than %zu bytes", line ? "line" : "record",
	    r->lim.line_max);
}

static int
csv_fail_field(struct csv_reader *r, uint64_t at)
{
	return reader_fail(&r->fault, READER_ERR_FIELD_LONG, r->line, csv_col(r, at),
	    r->lim.field_max, "field longer than %zu bytes", r->lim.field_max);
}

/* Start field nf at stream offset at; nf < fields_max. */
static int
csv_field_begin(struct csv_reader *r, uint64_t at)
{
	struct csv_field *f;
	size_t *foff, cap;

	if (r->nf == r->fcap) {
		cap = r->fcap * 2 < r->lim.fields_max ? r->fcap * 2 : r->lim.fields_max;
		if ((f = reallocarray(r->f, cap, sizeof(*f))) == NULL)
			return sl_errf(SL_ERR_NOMEM, "out of memory for %zu fields", cap);
		r->f = f;
		if ((foff = reallocarray(r->foff, cap, sizeof(*foff))) == NULL)
			return sl_errf(SL_ERR_NOMEM, "out of memory for %zu fields", cap);
		r->foff = foff;
		r->fcap = cap;
	}
	f = &r->f[r->nf];
	f->p = "";
	f->len = 0;
	f->line = r->line;
	f->col = csv_col(r, at);
	f->quoted = 0;
	r->foff[r->nf] = CSV_NOT_COPIED;
	return 0;
}

/* Start a record at stream offset at, the first byte of the current line. */
static int
csv_record_begin(struct csv_reader *r, uint64_t at)
{
	r->rec_line = r->line;
	if (__builtin_add_overflow(at, (uint64_t)r->lim.line_max, &r->rec_end))
		r->rec_end = UINT64_MAX;
	r->nf = 0;
	r->ncopied = 0;
	r->nsettled = 0;
	r->len = 0;
	r->st = CSV_FIELD;
	return csv_field_begin(r, at);
}

/* Append n bytes to buf, which stays within line_max (the caller's limits ensure it). */
static int
csv_buf_put(struct csv_reader *r, const void *p, size_t n)
{
	size_t need, cap;
	uint8_t *b;

	if (n == 0)
		return 0;
	if (__builtin_add_overflow(r->len, n, &need))
		return sl_errf(SL_ERR_INTERNAL, "csv: copy buffer size overflow");
	if (need > r->cap) {
		cap = r->cap < READER_BUF_START ? READER_BUF_START : r->cap;
		while (cap < need && cap <= SIZE_MAX / 2)
			cap *= 2;
		/* Never more than the limit, so a long record costs line_max at most. */
		if (cap > r->lim.line_max)
			cap = r->lim.line_max > need ? r->lim.line_max : need;
		if ((b = realloc(r->buf, cap)) == NULL)
			return sl_errf(SL_ERR_NOMEM, "out of memory for a %zu-byte record", need);
		r->buf = b;
		r->cap = cap;
		if (cap > r->held_max)
			r->held_max = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len = need;
	return 0;
}

/* Copy field i, which points into the piece, to buf. */
static int
csv_field_copy(struct csv_reader *r, size_t i)
{
	size_t at = r->len;
	int rc;

	if (r->foff[i] != CSV_NOT_COPIED || r->f[i].len == 0)
		return 0;
	if ((rc = csv_buf_put(r, r->f[i].p, r->f[i].len)) != 0)
		return rc;
	r->foff[i] = at;
	r->ncopied++;
	return 0;
}

/*
 * Add the n bytes at a to the value of the current field.  A field's first
 * bytes in a piece are only pointed at.  Anything more can only be the value
 * of a "" or what follows it, which is not contiguous with them: that moves
 * the record so far to buf, the current field last, so that it can grow
 * there.  The caller has checked the limits.
 */
static inline int
csv_field_add(struct csv_reader *r, const uint8_t *a, size_t n)
{
	struct csv_field *f = &r->f[r->nf];
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	if (r->foff[r->nf] == CSV_NOT_COPIED) {
		if (f->len == 0) {
			f->p = (const char *)a;
			f->len = n;
			return 0;
		}
		for (i = r->nsettled; i <= r->nf; i++)
			if ((rc = csv_field_copy(r, i)) != 0)
				return rc;
		r->nsettled = r->nf;
	}
	if ((rc = csv_buf_put(r, a, n)) != 0)
		return rc;
	f->len += n;
	return 0;
}

/*
 * Before the piece goes away, copy what the record in progress points into.
 * Fields settled by an earlier call are skipped, so feeding a record of many
 * fields in tiny pieces costs no more than feeding it whole.
 */
static int
csv_spill(struct csv_reader *r)
{
	size_t i, n = r->nf;
	int rc;

	if (r->st == CSV_FIELD || r->st == CSV_PLAIN || r->st == CSV_QUOTED || r->st == CSV_QUOTE)
		n++;
	for (i = r->nsettled; i < n; i++)
		if ((rc = csv_field_copy(r, i)) != 0)
			return rc;
	r->nsettled = r->nf;
	return 0;
}

/* Hand the record, whose nf fields are complete, to fn and start the next at at. */
static int
csv_emit(struct csv_reader *r, uint64_t at, csv_record_fn fn, void *arg)
{
	size_t i;
	int rc;

	if (r->ncopied > 0)
		for (i = 0; i < r->nf; i++)
			if (r->foff[i] != CSV_NOT_COPIED)
				r->f[i].p = (const char *)r->buf + r->foff[i];
	r->records++;
	if ((rc = fn(arg, r->rec_line, r->nf, r->f)) != 0)
		return rc;
	r->line++;
	r->line_off = at;
	return csv_record_begin(r, at);
}

/* End the current field at the ',' at q. */
static int
csv_comma(struct csv_reader *r, const uint8_t *q)
{
	uint64_t at = csv_at(r, q);

	if (at >= r->rec_end)
		return csv_fail_line(r, at);
	if (++r->nf == r->lim.fields_max)
		return reader_fail(&r->fault, READER_ERR_FIELDS, r->line, csv_col(r, at),
		    r->lim.fields_max, "more than %zu fields", r->lim.fields_max);
	r->st = CSV_FIELD;
	return csv_field_begin(r, at + 1);
}

/* End the current field at the CR at q. */
static void
csv_cr(struct csv_reader *r, const uint8_t *q)
{
	r->nf++;
	r->cr_line = r->line;
	r->cr_col = csv_col(r, csv_at(r, q));
	r->st = CSV_CR;
}

#define CSV_FAST_COMMAS 256 /* a line with more takes the scalar scan */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/*
 * The scan of csv_fast() with AVX-512, 64 bytes per step: the first LF in
 * [p, p + win) into *nl and the offsets of the commas before it.  1 when
 * found; -1 when the line holds a quote, or a CR other than one just before
 * the LF (the general machine's lines); 0 when this cannot tell (no LF in
 * the window, or more than CSV_FAST_COMMAS commas).
 */
__attribute__((target("avx512f,avx512bw"))) static int
csv_scan_avx512(const uint8_t *p, size_t win, uint32_t *commas, size_t *ncommas,
    const uint8_t **nl)
{
	const __m512i lf = _mm512_set1_epi8('\n'), quote = _mm512_set1_epi8('"'),
		      cr = _mm512_set1_epi8('\r'), comma = _mm512_set1_epi8(',');
	size_t off, n = 0, ncr = 0, at;

	for (off = 0; off < win; off += 64) {
		size_t k = win - off < 64 ? win - off : 64;
		__mmask64 live = k == 64 ? ~(__mmask64)0 : ((__mmask64)1 << k) - 1;
		__m512i v = _mm512_maskz_loadu_epi8(live, p + off);
		__mmask64 lfs = _mm512_cmpeq_epi8_mask(v, lf) & live;
		__mmask64 before = lfs != 0 ? (lfs & (0 - lfs)) - 1 : live;
		__mmask64 cms = _mm512_cmpeq_epi8_mask(v, comma) & before;

		if ((_mm512_cmpeq_epi8_mask(v, quote) & before) != 0)
			return -1;
		ncr += (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(v, cr) & before);
		for (; cms != 0; cms &= cms - 1) {
			if (n == CSV_FAST_COMMAS)
				return 0;
			commas[n++] = (uint32_t)(off + (size_t)__builtin_ctzll(cms));
		}
		if (lfs != 0) {
			at = off + (size_t)__builtin_ctzll(lfs);
			if (ncr > (at > 0 && p[at - 1] == '\r'))
				return -1;
			*nl = p + at;
			*ncommas = n;
			return 1;
		}
	}
	return 0;
}
#endif

/*
 * The fast path: if a whole line lies in [p, end) with no quote and no CR but
 * a final one, within every limit, hand it out as a record straight from the
 * piece and return the pointer past its LF.  Otherwise return p, having
 * changed nothing the general machine looks at.  Called at a record's start.
 */
static const uint8_t *
csv_fast(struct csv_reader *r, const uint8_t *p, const uint8_t *end, csv_record_fn fn, void *arg,
    int *rcp)
{
	const uint8_t *nl = NULL, *e, *q, *c;
	size_t win = (size_t)(end - p), nf = 0, ncommas = 0, k = 0;
	uint32_t commas[CSV_FAST_COMMAS];
	struct csv_field *f;
	int scanned = 0;

	/* The LF may come at most line_max bytes plus a CR after p. */
	if (win > 2 && win - 2 > r->lim.line_max)
		win = r->lim.line_max + 2;
#if defined(__x86_64__) && defined(__GNUC__)
	if (simd_avx512(-1) && (scanned = csv_scan_avx512(p, win, commas, &ncommas, &nl)) < 0)
		return p;
#endif
	if (!scanned && (nl = memchr(p, '\n', win)) == NULL)
		return p;
	e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
	if ((size_t)(e - p) > r->lim.line_max ||
	    (!scanned && (memchr(p, '"', (size_t)(e - p)) != NULL ||
	                     memchr(p, '\r', (size_t)(e - p)) != NULL)))
		return p;
	for (q = p;; q = c + 1) {
		if (scanned)
			c = k < ncommas ? p + commas[k++] : e;
		else if ((c = memchr(q, ',', (size_t)(e - q))) == NULL)
			c = e;
		if ((size_t)(c - q) > r->lim.field_max || nf == r->fcap)
			goto bail; /* over a limit, or let csv_field_begin() grow f */
		f = &r->f[nf++];
		f->p = (const char *)q;
		f->len = (size_t)(c - q);
		f->line = r->line;
		f->col = (size_t)(q - p) + 1;
		f->quoted = 0;
		if (c == e)
			break;
		if (nf == r->lim.fields_max)
			goto bail;
	}
	r->nf = nf;
	*rcp = csv_emit(r, csv_at(r, nl) + 1, fn, arg);
	return nl + 1;
bail:
	/* Put back f[0] as csv_record_begin() left it. */
	f = &r->f[0];
	f->p = "";
	f->len = 0;
	f->col = 1;
	return p;
}

/*
 * The first of the limits to stop a run of field data that starts at p:
 * the line limit, the field limit or the end of the piece.
 */
static inline const uint8_t *
csv_stop(const struct csv_reader *r, const uint8_t *p, const uint8_t *end)
{
	uint64_t at = csv_at(r, p);
	size_t room = (size_t)(end - p);

	if (r->rec_end <= at)
		return p;
	if (r->rec_end - at < room)
		room = (size_t)(r->rec_end - at);
	if (r->lim.field_max - r->f[r->nf].len < room)
		room = r->lim.field_max - r->f[r->nf].len;
	return p + room;
}

/* The run of field data at p was stopped by a limit: say which. */
static int
csv_fail_limit(struct csv_reader *r, const uint8_t *p)
{
	uint64_t at = csv_at(r, p);

	return at >= r->rec_end ? csv_fail_line(r, at) : csv_fail_field(r, at);
}

/* Count the LFs of data in [p, q) (inside quotes) into the line number. */
static void
csv_newlines(struct csv_reader *r, const uint8_t *p, const uint8_t *q)
{
	while ((p = memchr(p, '\n', (size_t)(q - p))) != NULL) {
		r->line++;
		r->line_off = csv_at(r, p) + 1;
		p++;
	}
}

/* Parse [p, end), part of the piece at r->base, from state r->st. */
static int
csv_parse(struct csv_reader *r, const uint8_t *p, const uint8_t *end, csv_record_fn fn, void *arg)
{
	const uint8_t *q, *stop;
	uint64_t at;
	int rc = 0;

	while (p < end) {
		switch (r->st) {
		case CSV_FIELD:
			if (r->nf == 0) {
				q = csv_fast(r, p, end, fn, arg, &rc);
				if (rc != 0)
					return rc;
				if (q != p) {
					p = q;
					continue;
				}
			}
			switch (*p) {
			case '"':
				if ((at = csv_at(r, p)) >= r->rec_end)
					return csv_fail_line(r, at);
				r->f[r->nf].quoted = 1;
				r->st = CSV_QUOTED;
				p++;
				break;
			case ',':
				if ((rc = csv_comma(r, p)) != 0)
					return rc;
				p++;
				break;
			case '\n':
				r->nf++;
				if ((rc = csv_emit(r, csv_at(r, p) + 1, fn, arg)) != 0)
					return rc;
				p++;
				break;
			case '\r':
				csv_cr(r, p);
				p++;
				break;
			default:
				r->st = CSV_PLAIN;
				break;
			}
			break;
		case CSV_PLAIN:
			stop = csv_stop(r, p, end);
			for (q = p; q < stop && !plain_stop[*q]; q++)
				;
			if ((rc = csv_field_add(r, p, (size_t)(q - p))) != 0)
				return rc;
			if ((p = q) == end)
				break;
			switch (*p) {
			case ',':
				if ((rc = csv_comma(r, p)) != 0)
					return rc;
				break;
			case '\n':
				r->nf++;
				if ((rc = csv_emit(r, csv_at(r, p) + 1, fn, arg)) != 0)
					return rc;
				break;
			case '\r':
				csv_cr(r, p);
				break;
			case '"':
				if ((at = csv_at(r, p)) >= r->rec_end)
					return csv_fail_line(r, at);
				return csv_fail_at(
				    r, at, READER_ERR_QUOTE, "quote in unquoted field");
			default:
				return csv_fail_limit(r, p);
			}
			p++;
			break;
		case CSV_QUOTED:
			stop = csv_stop(r, p, end);
			if ((q = memchr(p, '"', (size_t)(stop - p))) == NULL)
				q = stop;
			if ((rc = csv_field_add(r, p, (size_t)(q - p))) != 0)
				return rc;
			csv_newlines(r, p, q);
			if ((p = q) == end)
				break;
			if (*p != '"')
				return csv_fail_limit(r, p);
			if ((at = csv_at(r, p)) >= r->rec_end)
				return csv_fail_line(r, at);
			r->st = CSV_QUOTE;
			p++;
			break;
		case CSV_QUOTE:
			switch (*p) {
			case '"':
				/* A "": its second half is the value's next byte. */
				if ((at = csv_at(r, p)) >= r->rec_end)
					return csv_fail_line(r, at);
				if (r->f[r->nf].len == r->lim.field_max)
					return csv_fail_field(r, at);
				if ((rc = csv_field_add(r, p, 1)) != 0)
					return rc;
				r->st = CSV_QUOTED;
				break;
			case ',':
				if ((rc = csv_comma(r, p)) != 0)
					return rc;
				break;
			case '\n':
				r->nf++;
				if ((rc = csv_emit(r, csv_at(r, p) + 1, fn, arg)) != 0)
					return rc;
				break;
			case '\r':
				csv_cr(r, p);
				break;
			default:
				if ((at = csv_at(r, p)) >= r->rec_end)
					return csv_fail_line(r, at);
				return csv_fail_at(
				    r, at, READER_ERR_AFTER_QUOTE, "character after closing quote");
			}
			p++;
			break;
		case CSV_CR:
			if (*p != '\n')
				return reader_fail(&r->fault, READER_ERR_CR, r->cr_line, r->cr_col,
				    0, "CR not followed by LF");
			if ((rc = csv_emit(r, csv_at(r, p) + 1, fn, arg)) != 0)
				return rc;
			p++;
			break;
		case CSV_BOM:
		case CSV_DONE:
			return sl_errf(SL_ERR_INTERNAL, "csv: parse in state %d", (int)r->st);
		}
	}
	return 0;
}

/* Check and parse one piece of n bytes at p, which starts at stream offset r->off. */
static int
csv_piece(struct csv_reader *r, const uint8_t *p, size_t n, csv_record_fn fn, void *arg)
{
	uint64_t bad_off = 0;
	uint8_t bad_byte = 0;
	size_t good;
	int rc;

	good = utf8_check(&r->u, p, n, r->off, &bad_off, &bad_byte);
	r->base = p;
	if ((rc = csv_parse(r, p, p + good, fn, arg)) != 0)
		return rc;
	if (good < n)
		return reader_fail(&r->fault, READER_ERR_UTF8, r->line, csv_col(r, bad_off), 0,
		    "invalid UTF-8 sequence at byte 0x%02x", bad_byte);
	if ((rc = csv_spill(r)) != 0)
		return rc;
	r->base = NULL;
	r->off += n;
	return 0;
}

/* What a call on a spent reader returns: the failure again, or misuse after the end. */
static int
csv_again(const struct csv_reader *r)
{
	if (r->err == SL_ERR_INVAL)
		return sl_errf(SL_ERR_INVAL, "csv: reader used after csv_finish()");
	return r->err;
}

struct csv_reader *
csv_new(const struct csv_limits *lim)
{
	struct csv_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if (lim != NULL)
		r->lim = *lim;
	if (r->lim.field_max == 0)
		r->lim.field_max = CSV_FIELD_MAX_DEFAULT;
	if (r->lim.fields_max == 0)
		r->lim.fields_max = CSV_FIELDS_MAX_DEFAULT;
	if (r->lim.line_max == 0)
		r->lim.line_max = CSV_LINE_MAX_DEFAULT;
	/* Larger limits mean "none"; capping them keeps the arithmetic simple. */
	if (r->lim.line_max > READER_LIMIT_CAP)
		r->lim.line_max = READER_LIMIT_CAP;
	if (r->lim.field_max > READER_LIMIT_CAP)
		r->lim.field_max = READER_LIMIT_CAP;
	if (r->lim.fields_max > READER_LIMIT_CAP / sizeof(struct csv_field))
		r->lim.fields_max = READER_LIMIT_CAP / sizeof(struct csv_field);
	r->fcap = r->lim.fields_max < CSV_FIELDS_START ? r->lim.fields_max : CSV_FIELDS_START;
	r->f = calloc(r->fcap, sizeof(*r->f));
	r->foff = calloc(r->fcap, sizeof(*r->foff));
	if (r->f == NULL || r->foff == NULL) {
		csv_free(r);
		return NULL;
	}
	r->line = 1;
	r->st = CSV_BOM;
	return r;
}

/* Leave CSV_BOM: the input starts at stream offset at (3 after a BOM). */
static int
csv_start(struct csv_reader *r, uint64_t at)
{
	r->off = at;
	r->line_off = at;
	return csv_record_begin(r, at);
}

int
csv_mid_file(struct csv_reader *r)
{
	if (r->st != CSV_BOM || r->bytes != 0)
		return sl_errf(SL_ERR_INVAL, "csv: csv_mid_file() after a feed");
	return csv_start(r, 0);
}

int
csv_feed(struct csv_reader *r, const uint8_t *p, size_t n, csv_record_fn fn, void *arg)
{
	size_t took, replay;
	int done, rc;

	if (r->st == CSV_DONE)
		return csv_again(r);
	if (n == 0)
		return 0; /* p may be NULL */
	r->bytes += n;
	if (r->st == CSV_BOM) {
		took = reader_bom_take(r->bom, &r->nbom, p, n, &replay, &done);
		p += took;
		n -= took;
		if (done) {
			if ((rc = csv_start(r, replay > 0 ? 0 : READER_BOM_BYTES)) != 0)
				goto out;
			if (replay == took) {
				/* All still in p: parse them from there, uncopied. */
				p -= took;
				n += took;
			} else if (replay > 0 &&
			           (rc = csv_piece(r, r->bom, replay, fn, arg)) != 0) {
				goto out;
			}
		}
	}
	if (n > 0)
		rc = csv_piece(r, p, n, fn, arg);
	else
		rc = 0;
out:
	if (rc != 0) {
		r->st = CSV_DONE;
		r->err = rc;
	}
	return rc;
}

int
csv_finish(struct csv_reader *r, csv_record_fn fn, void *arg)
{
	int rc = 0;

	if (r->st == CSV_DONE)
		return csv_again(r);
	if (r->st == CSV_BOM) {
		/* Fewer than 3 bytes, all a prefix of the BOM: they are data. */
		if ((rc = csv_start(r, 0)) != 0 ||
		    (rc = csv_piece(r, r->bom, r->nbom, fn, arg)) != 0)
			goto out;
	}
	if (r->u.need > 0) {
		rc = reader_fail(&r->fault, READER_ERR_UTF8, r->line, csv_col(r, r->u.lead_off), 0,
		    "invalid UTF-8 sequence at byte 0x%02x", r->u.lead);
		goto out;
	}
	switch (r->st) {
	case CSV_FIELD:
		if (r->nf == 0)
			break; /* an empty final line: no record */
		               /* FALLTHROUGH */
	case CSV_PLAIN:
	case CSV_QUOTE:
		r->nf++;
		rc = csv_emit(r, r->off, fn, arg);
		break;
	case CSV_QUOTED:
		rc = reader_fail(&r->fault, READER_ERR_UNTERMINATED, r->f[r->nf].line,
		    r->f[r->nf].col, 0, "unterminated quoted field");
		break;
	case CSV_CR:
		rc = reader_fail(
		    &r->fault, READER_ERR_CR, r->cr_line, r->cr_col, 0, "CR not followed by LF");
		break;
	case CSV_BOM:
	case CSV_DONE:
		rc = sl_errf(SL_ERR_INTERNAL, "csv: finish in state %d", (int)r->st);
		break;
	}
out:
	r->st = CSV_DONE;
	r->err = rc != 0 ? rc : SL_ERR_INVAL;
	return rc;
}

void
csv_stats(const struct csv_reader *r, struct csv_stats *out)
{
	out->bytes = r->bytes;
	out->records = r->records;
	out->held_max = r->held_max;
}

const struct reader_fault *
csv_fault(const struct csv_reader *r)
{
	return r->fault.code != READER_OK ? &r->fault : NULL;
}

void
csv_free(struct csv_reader *r)
{
	if (r == NULL)
		return;
	free(r->f);
	free(r->foff);
	free(r->buf);
	free(r);
}
