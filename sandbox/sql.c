/*
 * sandbox/sql.c -- the query language of README.md, "The query language" (sql.h).
 *
 * Runs in the confined worker on the buyer's text, none of which is trusted.
 * The text is checked whole before anything else looks at it: its size, then
 * UTF-8 and NUL bytes, so the lexer may take valid UTF-8 without NULs for
 * granted.  The lexer hands out one token at a time with its raw bytes and
 * its line:column; the parser is recursive descent with one token of
 * lookahead, plus a peek for the '(' that makes a word a function call.
 *
 * The parser recurses only for '(' and NOT in a condition, and each costs one
 * level of SQL_MAX_DEPTH.  AND and OR chains are built in loops as n-ary
 * nodes and every list is a grown array, so no input makes the stack deeper
 * than a few frames per level, nor the tree deeper than that.
 *
 * Ownership: every item, key and order slot is zeroed and counted in the
 * query before it is parsed into, so sql_free() of a half-built query frees
 * what was built; a condition node is owned by the function building it
 * until it is handed to its parent, which frees it on failure.
 *
 * Words: reserved keywords (SELECT, FROM, AND, NULL, ...) are never names
 * unless quoted.  The function names (BUCKET, YEAR, MONTH, COUNT, SUM, AVG,
 * STDDEV, VARIANCE, MIN, MAX) are functions only when a '(' follows, and DATE
 * is a keyword only where a literal is expected; elsewhere they are names,
 * because "year", "month" and "date" are ordinary column names.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sandbox/fault.h"
#include "sandbox/sql.h"
#include "sandbox/value.h"

#define SQL_SCALE_MAX 18                       /* digits after a decimal point */
#define SQL_DESC_CHARS 20                      /* characters of a token quoted in a message */
#define SQL_DESC_MAX (SQL_DESC_CHARS * 16 + 8) /* each may become 4 bytes of \xNN */

#define POS_FMT "%" PRIu32 ":%" PRIu32 ": "
#define POS_ARGS(pos) (pos).line, (pos).col

/* Note the rule broken at pos (len bytes of token) for the ERROR frame; returns r. */
static int
sql_fault(int r, struct sql_pos pos, size_t len, uint32_t rule, uint32_t phrase, uint64_t number)
{
	struct job_place at = {pos.line, pos.col, (uint32_t)len, rule, phrase, 0, number};

	return fault_note(r, &at);
}

/* ---- tokens --------------------------------------------------------------- */

enum sql_tok_type {
	TOK_END,
	TOK_WORD,   /* a bare word: a keyword or a name */
	TOK_QUOTED, /* "a quoted identifier" */
	TOK_NUMBER, /* [-]digits[.digits], checked by the parser */
	TOK_STRING, /* 'a string' */
	TOK_COMMA,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_STAR,
	TOK_SEMI,
	TOK_OP,    /* a comparison operator; cmp says which */
	TOK_OTHER, /* any other character, to be named in an error */
};

enum sql_kw {
	KW_NONE,
	/* Reserved: never a bare name. */
	KW_SELECT,
	KW_FROM,
	KW_WHERE,
	KW_GROUP,
	KW_BY,
	KW_ORDER,
	KW_ASC,
	KW_DESC,
	KW_LIMIT,
	KW_AS,
	KW_AND,
	KW_OR,
	KW_NOT,
	KW_BETWEEN,
	KW_IN,
	KW_IS,
	KW_NULL,
	KW_LIKE,
	KW_DISTINCT,
	KW_TRUE,
	KW_FALSE,
	/* Soft: names, except before '(' (functions) or where a literal is due (DATE). */
	KW_SOFT, /* also stands for "a call of no known function" */
	KW_BUCKET,
	KW_YEAR,
	KW_MONTH,
	KW_COUNT,
	KW_SUM,
	KW_AVG,
	KW_STDDEV,
	KW_VARIANCE,
	KW_MIN,
	KW_MAX,
	KW_DATE,
};

static const struct {
	const char *word;
	enum sql_kw kw;
} sql_keywords[] = {
    {"SELECT", KW_SELECT},
    {"FROM", KW_FROM},
    {"WHERE", KW_WHERE},
    {"GROUP", KW_GROUP},
    {"BY", KW_BY},
    {"ORDER", KW_ORDER},
    {"ASC", KW_ASC},
    {"DESC", KW_DESC},
    {"LIMIT", KW_LIMIT},
    {"AS", KW_AS},
    {"AND", KW_AND},
    {"OR", KW_OR},
    {"NOT", KW_NOT},
    {"BETWEEN", KW_BETWEEN},
    {"IN", KW_IN},
    {"IS", KW_IS},
    {"NULL", KW_NULL},
    {"LIKE", KW_LIKE},
    {"DISTINCT", KW_DISTINCT},
    {"TRUE", KW_TRUE},
    {"FALSE", KW_FALSE},
    {"BUCKET", KW_BUCKET},
    {"YEAR", KW_YEAR},
    {"MONTH", KW_MONTH},
    {"COUNT", KW_COUNT},
    {"SUM", KW_SUM},
    {"AVG", KW_AVG},
    {"STDDEV", KW_STDDEV},
    {"VARIANCE", KW_VARIANCE},
    {"MIN", KW_MIN},
    {"MAX", KW_MAX},
    {"DATE", KW_DATE},
};

/* The aggregate each function keyword names (COUNT becomes COUNT_DISTINCT with DISTINCT). */
static const struct {
	enum sql_kw kw;
	enum fn_agg agg;
} sql_aggs[] = {
    {KW_COUNT, FN_COUNT},
    {KW_SUM, FN_SUM},
    {KW_AVG, FN_AVG},
    {KW_STDDEV, FN_STDDEV},
    {KW_VARIANCE, FN_VARIANCE},
    {KW_MIN, FN_MIN},
    {KW_MAX, FN_MAX},
};

struct sql_tok {
	enum sql_tok_type type;
	enum sql_kw kw;   /* TOK_WORD: the keyword it spells, or KW_NONE */
	enum sql_cmp cmp; /* TOK_OP */
	size_t off, len;  /* its raw bytes in the text */
	struct sql_pos pos;
};

struct sql_parser {
	const char *s; /* the text: valid UTF-8, no NUL */
	size_t len;
	size_t off;         /* where the next token's lexing starts */
	struct sql_pos at;  /* the position of s[off] */
	struct sql_tok tok; /* the current token */
	unsigned depth;     /* '(' and NOT open in the condition being parsed */
};

/* A message of at most SQL_DESC_CHARS characters of a token, escaped. */
struct sql_desc {
	char s[SQL_DESC_MAX];
	size_t len;
};

/* ---- helpers -------------------------------------------------------------- */

static int
sql_nomem(void)
{
	return sl_errf(SL_ERR_NOMEM, "out of memory parsing a query");
}

static int
sql_memdup(const char *s, size_t n, char **out)
{
	char *b;

	if ((b = malloc(n + 1)) == NULL)
		return sql_nomem();
	memcpy(b, s, n);
	b[n] = '\0';
	*out = b;
	return 0;
}

/* A new string printed from fmt into *out. */
static int __attribute__((format(printf, 2, 3))) sql_strf(char **out, const char *fmt, ...)
{
	va_list ap;
	char *b;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return sl_errf(SL_ERR_INTERNAL, "sql: cannot format a name");
	if ((b = malloc((size_t)n + 1)) == NULL)
		return sql_nomem();
	va_start(ap, fmt);
	vsnprintf(b, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*out = b;
	return 0;
}

/*
 * Append a zeroed element of size bytes to the array arr of *n elements with
 * room for *cap, growing it by doubling.  Returns the array, which may have
 * moved, with *n counting the new element; or NULL, with arr untouched.
 */
static void *
sql_push(void *arr, size_t *n, size_t *cap, size_t size)
{
	size_t ncap = *cap, bytes;
	char *a = arr;

	if (*n == *cap) {
		ncap = *cap == 0 ? 1 : *cap * 2;
		if (ncap < *cap || __builtin_mul_overflow(ncap, size, &bytes))
			return NULL;
		if ((a = realloc(arr, bytes)) == NULL)
			return NULL;
		*cap = ncap;
	}
	memset(a + *n * size, 0, size);
	(*n)++;
	return a;
}

/* ---- the text ------------------------------------------------------------- */

/*
 * The length of the valid UTF-8 sequence at p (n bytes there), or 0 when
 * none starts there: Unicode table 3-7, so no overlongs, no surrogates and
 * nothing above U+10FFFF.
 */
static size_t
sql_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	if (p[0] < 0xe0) {
		len = 2;
	} else if (p[0] < 0xf0) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0; /* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

/* The code point of the valid sequence of n bytes at p. */
static uint32_t
sql_utf8_cp(const unsigned char *p, size_t n)
{
	static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = p[0] & lead_mask[n];
	size_t i;

	for (i = 1; i < n; i++)
		cp = cp << 6 | (p[i] & 0x3fu);
	return cp;
}

/* Move pos past byte c: a column per character, so continuation bytes count nothing. */
static void
sql_pos_step(struct sql_pos *pos, unsigned char c)
{
	if (c == '\n') {
		pos->line++;
		pos->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		pos->col++;
	}
}

/* Refuse a NUL byte or invalid UTF-8 anywhere, naming the first one's place. */
static int
sql_text_check(const unsigned char *s, size_t len)
{
	struct sql_pos at = {1, 1};
	size_t i = 0, n;

	while (i < len) {
		if (s[i] == '\0')
			return sql_fault(
			    sl_errf(SL_ERR_PARSE, POS_FMT "NUL byte in query", POS_ARGS(at)), at, 1,
			    JOB_RULE_NUL, 0, 0);
		if ((n = sql_utf8_len(s + i, len - i)) == 0)
			return sql_fault(
			    sl_errf(SL_ERR_PARSE, POS_FMT "invalid UTF-8", POS_ARGS(at)), at, 1,
			    JOB_RULE_UTF8, 0, 0);
		sql_pos_step(&at, s[i]);
		i += n;
	}
	return 0;
}

/* ---- lexer ---------------------------------------------------------------- */

static int
sql_is_alpha(unsigned char c)
{
	return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
}

static int
sql_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static enum sql_kw
sql_keyword(const char *s, size_t n)
{
	size_t i, k;

	for (i = 0; i < sizeof(sql_keywords) / sizeof(sql_keywords[0]); i++) {
		if (strlen(sql_keywords[i].word) != n)
			continue;
		for (k = 0; k < n && (s[k] & ~0x20) == sql_keywords[i].word[k]; k++)
			;
		if (k == n)
			return sql_keywords[i].kw;
	}
	return KW_NONE;
}

/* The offset of the first byte at or after i that is not blank or in a -- comment. */
static size_t
sql_space_end(const struct sql_parser *p, size_t i)
{
	const char *nl;

	for (;;) {
		while (i < p->len &&
		       (p->s[i] == ' ' || p->s[i] == '\t' || p->s[i] == '\n' || p->s[i] == '\r'))
			i++;
		if (p->len - i < 2 || p->s[i] != '-' || p->s[i + 1] != '-')
			return i;
		nl = memchr(p->s + i, '\n', p->len - i);
		i = nl != NULL ? (size_t)(nl - p->s) : p->len;
	}
}

static void
sql_advance(struct sql_parser *p, size_t to)
{
	for (; p->off < to; p->off++)
		sql_pos_step(&p->at, (unsigned char)p->s[p->off]);
}

/* Whether a '(' comes next after the current token, so that a word calls a function. */
static int
sql_peek_lparen(const struct sql_parser *p)
{
	size_t i = sql_space_end(p, p->off);

	return i < p->len && p->s[i] == '(';
}

/*
 * The offset past the closing quote of the token quoted with q that starts
 * at i, where a doubled quote stands for one; 0 if it is never closed.
 */
static size_t
sql_quoted_end(const struct sql_parser *p, size_t i, char q)
{
	const char *e;
	size_t at;

	for (i++; i < p->len; i = at + 2) {
		if ((e = memchr(p->s + i, q, p->len - i)) == NULL)
			return 0;
		at = (size_t)(e - p->s);
		if (at + 1 == p->len || p->s[at + 1] != q)
			return at + 1;
	}
	return 0;
}

/* The punctuation or operator at i: sets t's type (and cmp) and returns its length. */
static size_t
sql_punct(const struct sql_parser *p, size_t i, struct sql_tok *t)
{
	char c = p->s[i], d = i + 1 < p->len ? p->s[i + 1] : '\0';

	t->type = TOK_OP;
	switch (c) {
	case ',':
		t->type = TOK_COMMA;
		return 1;
	case '(':
		t->type = TOK_LPAREN;
		return 1;
	case ')':
		t->type = TOK_RPAREN;
		return 1;
	case '*':
		t->type = TOK_STAR;
		return 1;
	case ';':
		t->type = TOK_SEMI;
		return 1;
	case '=':
		t->cmp = SQL_EQ;
		return 1;
	case '<':
		t->cmp = d == '=' ? SQL_LE : d == '>' ? SQL_NE : SQL_LT;
		return d == '=' || d == '>' ? 2 : 1;
	case '>':
		t->cmp = d == '=' ? SQL_GE : SQL_GT;
		return d == '=' ? 2 : 1;
	case '!':
		if (d == '=') {
			t->cmp = SQL_NE;
			return 2;
		}
		break;
	}
	/* Anything else is one whole character, named by the parser's error. */
	t->type = TOK_OTHER;
	return sql_utf8_len((const unsigned char *)p->s + i, p->len - i);
}

/*
 * Make the next token current.  Fails only for a string or quoted identifier
 * that is never closed; every other oddity becomes a token for the parser to
 * name ("invalid number '1e5'", "found '@'").
 */
static int
sql_next(struct sql_parser *p)
{
	const unsigned char *s = (const unsigned char *)p->s;
	struct sql_tok *t = &p->tok;
	size_t i, end;

	sql_advance(p, sql_space_end(p, p->off));
	memset(t, 0, sizeof(*t));
	t->off = i = p->off;
	t->pos = p->at;
	if (i == p->len) {
		t->type = TOK_END;
		return 0;
	}
	end = i + 1;
	if (sql_is_alpha(s[i])) {
		while (end < p->len && (sql_is_alpha(s[end]) || sql_is_digit(s[end])))
			end++;
		t->type = TOK_WORD;
		t->kw = sql_keyword(p->s + i, end - i);
	} else if (sql_is_digit(s[i]) || (s[i] == '-' && end < p->len && sql_is_digit(s[end]))) {
		/* Take what looks like part of it too, so "1e5" and "2.5.1" are one bad number. */
		while (
		    end < p->len && (sql_is_alpha(s[end]) || sql_is_digit(s[end]) || s[end] == '.'))
			end++;
		t->type = TOK_NUMBER;
	} else if (s[i] == '\'' || s[i] == '"') {
		if ((end = sql_quoted_end(p, i, (char)s[i])) == 0)
			return sql_fault(
			    sl_errf(SL_ERR_PARSE, POS_FMT "unterminated %s", POS_ARGS(t->pos),
			        s[i] == '\'' ? "string" : "quoted name"),
			    t->pos, 1, JOB_RULE_UNTERMINATED,
			    s[i] == '\'' ? JOB_PHRASE_STRING : JOB_PHRASE_QUOTED_NAME, 0);
		t->type = s[i] == '\'' ? TOK_STRING : TOK_QUOTED;
	} else {
		end = i + sql_punct(p, i, t);
	}
	t->len = end - i;
	sql_advance(p, end);
	return 0;
}

/* ---- errors --------------------------------------------------------------- */

/* Characters that could steer a terminal or hide in a message: C1 controls, odd spaces, bidi. */
static int
sql_cp_unsafe(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0xa0) || cp == 0xad || (cp >= 0x2000 && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 ||
	       cp == 0xfeff;
}

static void
sql_desc_put(struct sql_desc *d, const char *s, size_t n)
{
	if (n < sizeof(d->s) - d->len) { /* always: SQL_DESC_MAX covers the worst case */
		memcpy(d->s + d->len, s, n);
		d->len += n;
	}
	d->s[d->len] = '\0';
}

/*
 * Name token t for a message: "end of query", or its text in single quotes
 * (a string shows its own), cut after SQL_DESC_CHARS characters with "...",
 * with control and invisible characters written as \xNN.
 */
static void
sql_describe(const struct sql_parser *p, const struct sql_tok *t, struct sql_desc *d)
{
	const unsigned char *s = (const unsigned char *)p->s + t->off;
	size_t i = 0, k, n, chars;
	char hex[8];

	d->len = 0;
	if (t->type == TOK_END) {
		sql_desc_put(d, "end of query", 12);
		return;
	}
	if (t->type != TOK_STRING)
		sql_desc_put(d, "'", 1);
	for (chars = 0; i < t->len && chars < SQL_DESC_CHARS; chars++, i += n) {
		if ((n = sql_utf8_len(s + i, t->len - i)) == 0)
			n = 1; /* cannot happen: the text was checked */
		if (s[i] < 0x20 || s[i] == 0x7f ||
		    (n > 1 && sql_cp_unsafe(sql_utf8_cp(s + i, n)))) {
			for (k = 0; k < n; k++) {
				snprintf(hex, sizeof(hex), "\\x%02x", s[i + k]);
				sql_desc_put(d, hex, 4);
			}
		} else {
			sql_desc_put(d, (const char *)s + i, n);
		}
	}
	if (i < t->len)
		sql_desc_put(d, "...", 3);
	if (t->type != TOK_STRING)
		sql_desc_put(d, "'", 1);
}

/* "line:col: expected what, found <the current token>" */
static int
sql_expected(const struct sql_parser *p, const char *what)
{
	struct sql_desc d;

	sql_describe(p, &p->tok, &d);
	return sql_fault(
	    sl_errf(SL_ERR_PARSE, POS_FMT "expected %s, found %s", POS_ARGS(p->tok.pos), what, d.s),
	    p->tok.pos, p->tok.type == TOK_END ? 0 : p->tok.len, JOB_RULE_EXPECTED,
	    job_phrase_find(what), 0);
}

/* "line:col: what <the current token>", e.g. "invalid number '1e5'" */
static int
sql_bad_tok(const struct sql_parser *p, const char *what)
{
	struct sql_desc d;

	sql_describe(p, &p->tok, &d);
	return sql_fault(sl_errf(SL_ERR_PARSE, POS_FMT "%s %s", POS_ARGS(p->tok.pos), what, d.s),
	    p->tok.pos, p->tok.type == TOK_END ? 0 : p->tok.len, JOB_RULE_BAD_TOKEN,
	    job_phrase_find(what), 0);
}

/* ---- tokens the parser takes ---------------------------------------------- */

static int
sql_is_kw(const struct sql_parser *p, enum sql_kw kw)
{
	return p->tok.type == TOK_WORD && p->tok.kw == kw;
}

/* Whether the current token may be a name: quoted, or a word that is not reserved. */
static int
sql_is_name(const struct sql_parser *p)
{
	return p->tok.type == TOK_QUOTED ||
	       (p->tok.type == TOK_WORD && (p->tok.kw == KW_NONE || p->tok.kw > KW_SOFT));
}

/*
 * What the current token calls: KW_NONE unless it is a name followed by
 * '('; then the function's keyword, or KW_SOFT for an unknown function.
 */
static enum sql_kw
sql_call(const struct sql_parser *p)
{
	if (p->tok.type != TOK_WORD || !sql_is_name(p) || !sql_peek_lparen(p))
		return KW_NONE;
	return p->tok.kw == KW_NONE || p->tok.kw == KW_DATE ? KW_SOFT : p->tok.kw;
}

static int
sql_expect(struct sql_parser *p, enum sql_tok_type type, const char *what)
{
	if (p->tok.type != type)
		return sql_expected(p, what);
	return sql_next(p);
}

static int
sql_expect_kw(struct sql_parser *p, enum sql_kw kw, const char *what)
{
	if (!sql_is_kw(p, kw))
		return sql_expected(p, what);
	return sql_next(p);
}

/*
 * Copy the text between the quotes of token t, each doubled quote made one,
 * into a new string.  A quoted identifier may be neither empty nor hold a
 * control character: it will name a column in output and logs.
 */
static int
sql_unquote(const struct sql_parser *p, const struct sql_tok *t, char **out, size_t *lenp)
{
	const char *s = p->s + t->off + 1;
	size_t n = t->len - 2, i, w = 0;
	char *b;

	if (t->type == TOK_QUOTED) {
		if (n == 0)
			return sql_fault(sl_errf(SL_ERR_PARSE, POS_FMT "empty quoted identifier",
			                     POS_ARGS(t->pos)),
			    t->pos, t->len, JOB_RULE_EMPTY_QUOTED, 0, 0);
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return sql_fault(
				    sl_errf(SL_ERR_PARSE,
				        POS_FMT "control character in quoted identifier",
				        POS_ARGS(t->pos)),
				    t->pos, 1, JOB_RULE_CONTROL_QUOTED, 0, 0);
	}
	if ((b = malloc(n + 1)) == NULL)
		return sql_nomem();
	for (i = 0; i < n; i++) {
		b[w++] = s[i];
		if (s[i] == s[-1])
			i++; /* the second of a doubled quote: the lexer saw to it */
	}
	b[w] = '\0';
	*out = b;
	if (lenp != NULL)
		*lenp = w;
	return 0;
}

/*
 * Take a name (see sql_is_name) into *out, what naming it for the error.
 * *out belongs to the caller even when this fails after setting it.
 */
static int
sql_take_name(struct sql_parser *p, const char *what, char **out)
{
	int r;

	if (!sql_is_name(p))
		return sql_expected(p, what);
	if (p->tok.type == TOK_QUOTED)
		r = sql_unquote(p, &p->tok, out, NULL);
	else
		r = sql_memdup(p->s + p->tok.off, p->tok.len, out);
	return r != 0 ? r : sql_next(p);
}

/* ---- literals ------------------------------------------------------------- */

/* The current token, a TOK_NUMBER, as an INT or DECIMAL literal; does not advance. */
static int
sql_num_literal(const struct sql_parser *p, struct sql_literal *lit)
{
	struct fn_decimal v;
	uint64_t lim;

	if (fn_decimal_scan(p->s + p->tok.off, p->tok.len, &v) != 0)
		return sql_bad_tok(p, "invalid number");
	lim = v.neg ? UINT64_C(1) << 63 : (uint64_t)INT64_MAX;
	if (v.overflow || v.mag > lim || v.scale > SQL_SCALE_MAX)
		return sql_fault(sl_errf(SL_ERR_PARSE, POS_FMT "%s out of range",
		                     POS_ARGS(p->tok.pos), v.point ? "decimal" : "integer"),
		    p->tok.pos, p->tok.len, JOB_RULE_OUT_OF_RANGE,
		    v.point ? JOB_PHRASE_DECIMAL : JOB_PHRASE_INTEGER, 0);
	lit->type = v.point ? SQL_LIT_DECIMAL : SQL_LIT_INT;
	lit->scale = v.scale;
	if (!v.neg)
		lit->i = (int64_t)v.mag;
	else
		lit->i = v.mag == UINT64_C(1) << 63 ? INT64_MIN : -(int64_t)v.mag;
	return 0;
}

static int
sql_bad_date(const struct sql_parser *p)
{
	return sql_fault(
	    sl_errf(SL_ERR_PARSE, POS_FMT "not a calendar date 'YYYY-MM-DD'", POS_ARGS(p->tok.pos)),
	    p->tok.pos, p->tok.len, JOB_RULE_NOT_A_DATE, 0, 0);
}

/* The current token as DATE 'YYYY-MM-DD' (DATE taken): a real proleptic Gregorian date. */
static int
sql_date_literal(struct sql_parser *p, struct sql_literal *lit)
{
	const char *s = p->s + p->tok.off + 1; /* inside the quotes */
	int64_t y, days;
	int i, m, d;

	if (p->tok.type != TOK_STRING)
		return sql_expected(p, "a date 'YYYY-MM-DD'");
	if (p->tok.len != 12 || s[4] != '-' || s[7] != '-')
		return sql_bad_date(p);
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !sql_is_digit((unsigned char)s[i]))
			return sql_bad_date(p);
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (value_days(y, m, d, &days) != 0)
		return sql_bad_date(p);
	lit->type = SQL_LIT_DATE;
	lit->i = days;
	return sql_next(p);
}

/* literal := integer | decimal | 'string' | DATE 'YYYY-MM-DD' | TRUE | FALSE */
static int
sql_parse_literal(struct sql_parser *p, struct sql_literal *lit)
{
	int r;

	lit->pos = p->tok.pos;
	switch (p->tok.type) {
	case TOK_NUMBER:
		if ((r = sql_num_literal(p, lit)) != 0)
			return r;
		return sql_next(p);
	case TOK_STRING:
		lit->type = SQL_LIT_STRING;
		if ((r = sql_unquote(p, &p->tok, &lit->s, &lit->len)) != 0)
			return r;
		return sql_next(p);
	case TOK_WORD:
		if (p->tok.kw == KW_TRUE || p->tok.kw == KW_FALSE) {
			lit->type = SQL_LIT_BOOL;
			lit->i = p->tok.kw == KW_TRUE;
			return sql_next(p);
		}
		if (p->tok.kw == KW_DATE) {
			if ((r = sql_next(p)) != 0)
				return r;
			return sql_date_literal(p, lit);
		}
		break;
	default:
		break;
	}
	return sql_expected(p, "a literal");
}

/* ---- items, keys, ORDER BY, LIMIT ---------------------------------------- */

/* BUCKET's width: an INT or DECIMAL literal greater than 0. */
static int
sql_parse_width(struct sql_parser *p, struct sql_literal *w)
{
	int r;

	w->pos = p->tok.pos;
	w->toklen = (uint32_t)p->tok.len;
	if (p->tok.type == TOK_NUMBER && (r = sql_num_literal(p, w)) != 0)
		return r;
	if (p->tok.type != TOK_NUMBER || w->i <= 0)
		return sql_fault(
		    sl_errf(SL_ERR_PARSE, POS_FMT "BUCKET width must be a number above 0",
		        POS_ARGS(w->pos)),
		    w->pos, 0, JOB_RULE_BUCKET_WIDTH, 0, 0);
	return sql_next(p);
}

/* key := column | BUCKET(column, width) | YEAR(column) | MONTH(column) */
static int
sql_parse_key(struct sql_parser *p, struct sql_key *k, const char *what)
{
	enum sql_kw fn = sql_call(p);
	int r;

	k->pos = p->tok.pos;
	if (fn == KW_NONE) {
		k->fn = FN_KEY_COLUMN;
		return sql_take_name(p, what, &k->column);
	}
	if (fn == KW_SOFT)
		return sql_bad_tok(p, "unknown function");
	if (fn != KW_BUCKET && fn != KW_YEAR && fn != KW_MONTH)
		return sql_expected(p, what);
	k->fn = fn == KW_BUCKET ? FN_KEY_BUCKET : fn == KW_YEAR ? FN_KEY_YEAR : FN_KEY_MONTH;
	if ((r = sql_next(p)) != 0 || (r = sql_expect(p, TOK_LPAREN, "'('")) != 0 ||
	    (r = sql_take_name(p, "a column", &k->column)) != 0)
		return r;
	if (k->fn == FN_KEY_BUCKET && ((r = sql_expect(p, TOK_COMMA, "','")) != 0 ||
	                                  (r = sql_parse_width(p, &k->width)) != 0))
		return r;
	return sql_expect(p, TOK_RPAREN, "')'");
}

/* agg (the current token calls fn, an aggregate); see sql_aggs. */
static int
sql_parse_agg(struct sql_parser *p, struct sql_item *it, enum fn_agg agg)
{
	int r;

	it->is_agg = 1;
	it->agg = agg;
	if ((r = sql_next(p)) != 0 || (r = sql_expect(p, TOK_LPAREN, "'('")) != 0)
		return r;
	if (agg != FN_COUNT)
		r = sql_take_name(p, "a column", &it->agg_column);
	else if (p->tok.type == TOK_STAR)
		r = sql_next(p);
	else if (!sql_is_kw(p, KW_DISTINCT))
		return sql_expected(p, "'*' or DISTINCT");
	else if ((r = sql_next(p)) == 0) {
		it->agg = FN_COUNT_DISTINCT;
		r = sql_take_name(p, "a column", &it->agg_column);
	}
	return r != 0 ? r : sql_expect(p, TOK_RPAREN, "')'");
}

/* A key or an aggregate, without its alias; what names it for the error. */
static int
sql_parse_expr(struct sql_parser *p, struct sql_item *it, const char *what)
{
	enum sql_kw fn = sql_call(p);
	size_t i;

	it->pos = p->tok.pos;
	for (i = 0; i < sizeof(sql_aggs) / sizeof(sql_aggs[0]); i++)
		if (fn == sql_aggs[i].kw)
			return sql_parse_agg(p, it, sql_aggs[i].agg);
	return sql_parse_key(p, &it->key, what);
}

/* The normalised text of a parsed key or aggregate: "BUCKET(age, 10)", "COUNT(*)". */
static int
sql_expr_text(const struct sql_item *it, char **out)
{
	const struct sql_key *k = &it->key;

	if (it->is_agg)
		return fn_agg_label(it->agg, it->agg_column, out);
	return fn_key_label(k->fn, k->column, k->width.i,
	    k->width.type == SQL_LIT_DECIMAL ? k->width.scale : 0, out);
}

/* item := key [AS name] | agg [AS name] */
static int
sql_parse_item(struct sql_parser *p, struct sql_item *it)
{
	int r;

	if ((r = sql_parse_expr(p, it, "a column or an aggregate")) != 0)
		return r;
	if (!sql_is_kw(p, KW_AS))
		return sql_expr_text(it, &it->name);
	if ((r = sql_next(p)) != 0)
		return r;
	it->alias_pos = p->tok.pos;
	it->alias_len = (uint32_t)p->tok.len;
	if ((r = sql_take_name(p, "a name", &it->alias)) != 0)
		return r;
	return sql_strf(&it->name, "%s", it->alias);
}

static void
sql_item_clear(struct sql_item *it)
{
	free(it->key.column);
	free(it->key.width.s);
	free(it->agg_column);
	free(it->alias);
	free(it->name);
}

/*
 * name [ASC|DESC].  The name may also be written as the item itself, e.g.
 * ORDER BY COUNT(*): that gives the item's normalised name.
 */
static int
sql_parse_order(struct sql_parser *p, struct sql_order *o)
{
	struct sql_item it;
	int r;

	o->pos = p->tok.pos;
	if (sql_call(p) != KW_NONE) {
		memset(&it, 0, sizeof(it));
		if ((r = sql_parse_expr(p, &it, "a column")) == 0)
			r = sql_expr_text(&it, &o->name);
		sql_item_clear(&it);
	} else {
		r = sql_take_name(p, "a column", &o->name);
	}
	if (r != 0)
		return r;
	if (sql_is_kw(p, KW_ASC) || sql_is_kw(p, KW_DESC)) {
		o->desc = sql_is_kw(p, KW_DESC);
		return sql_next(p);
	}
	return 0;
}

/* LIMIT's n: a whole number in [0, INT64_MAX]. */
static int
sql_parse_limit(struct sql_parser *p, struct sql_query *q)
{
	struct fn_decimal v;

	if (p->tok.type != TOK_NUMBER)
		return sql_expected(p, "a row count");
	if (fn_decimal_scan(p->s + p->tok.off, p->tok.len, &v) != 0)
		return sql_bad_tok(p, "invalid number");
	if (v.point || v.neg)
		return sql_expected(p, "a row count");
	if (v.overflow || v.mag > (uint64_t)INT64_MAX)
		return sql_fault(
		    sl_errf(SL_ERR_PARSE, POS_FMT "LIMIT out of range", POS_ARGS(p->tok.pos)),
		    p->tok.pos, p->tok.len, JOB_RULE_OUT_OF_RANGE, JOB_PHRASE_LIMIT, 0);
	q->has_limit = 1;
	q->limit = v.mag;
	return sql_next(p);
}

/* ---- conditions ----------------------------------------------------------- */

static int sql_parse_or(struct sql_parser *p, struct sql_cond **out);

/* Free c and its subtree, whose depth is bounded by SQL_MAX_DEPTH (see the top). */
static void
sql_cond_free(struct sql_cond *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkids; i++)
		sql_cond_free(c->kids[i]);
	for (i = 0; i < c->nlits; i++)
		free(c->lits[i].s);
	free(c->kids);
	free(c->lits);
	free(c->column);
	free(c);
}

static int
sql_cond_new(enum sql_cond_kind kind, struct sql_pos pos, struct sql_cond **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return sql_nomem();
	(*out)->kind = kind;
	(*out)->pos = pos;
	return 0;
}

/* Hang kid under c (kids room *cap); on failure kid is freed. */
static int
sql_cond_adopt(struct sql_cond *c, size_t *cap, struct sql_cond *kid)
{
	struct sql_cond **k;

	if ((k = sql_push(c->kids, &c->nkids, cap, sizeof(*k))) == NULL) {
		sql_cond_free(kid);
		return sql_nomem();
	}
	c->kids = k;
	k[c->nkids - 1] = kid;
	return 0;
}

/* Parse one more literal into c's lits (room *cap). */
static int
sql_cond_lit(struct sql_parser *p, struct sql_cond *c, size_t *cap)
{
	struct sql_literal *l;

	if ((l = sql_push(c->lits, &c->nlits, cap, sizeof(*l))) == NULL)
		return sql_nomem();
	c->lits = l;
	return sql_parse_literal(p, &l[c->nlits - 1]);
}

/* Enter one more level of '(' or NOT, or fail at the token that would go too deep. */
static int
sql_deeper(struct sql_parser *p)
{
	if (p->depth >= SQL_MAX_DEPTH)
		return sql_fault(sl_errf(SL_ERR_PARSE, POS_FMT "nesting deeper than %d",
		                     POS_ARGS(p->tok.pos), SQL_MAX_DEPTH),
		    p->tok.pos, p->tok.len, JOB_RULE_NESTING, 0, SQL_MAX_DEPTH);
	p->depth++;
	return 0;
}

/* 'prefix%', with no other '%' or '_'; lits[0] keeps only the prefix. */
static int
sql_parse_like(struct sql_parser *p, struct sql_cond *c, size_t *cap)
{
	struct sql_literal *l;
	int r;

	if (p->tok.type != TOK_STRING)
		return sql_expected(p, "a 'prefix%' pattern");
	if ((r = sql_cond_lit(p, c, cap)) != 0)
		return r;
	l = &c->lits[0];
	if (l->len == 0 || l->s[l->len - 1] != '%' || memchr(l->s, '%', l->len - 1) != NULL ||
	    memchr(l->s, '_', l->len - 1) != NULL)
		return sql_fault(sl_errf(SL_ERR_PARSE, POS_FMT "LIKE supports only 'prefix%%'",
		                     POS_ARGS(l->pos)),
		    l->pos, 0, JOB_RULE_LIKE_PREFIX, 0, 0);
	l->s[--l->len] = '\0';
	return 0;
}

/* What follows "column [NOT]": BETWEEN, IN, IS [NOT] NULL or LIKE, into c. */
static int
sql_parse_pred_tail(struct sql_parser *p, struct sql_cond *c, size_t *cap)
{
	int r;

	switch (p->tok.type == TOK_WORD ? p->tok.kw : KW_NONE) {
	case KW_BETWEEN:
		c->kind = SQL_COND_BETWEEN;
		if ((r = sql_next(p)) != 0 || (r = sql_cond_lit(p, c, cap)) != 0 ||
		    (r = sql_expect_kw(p, KW_AND, "AND")) != 0)
			return r;
		return sql_cond_lit(p, c, cap);
	case KW_IN:
		c->kind = SQL_COND_IN;
		if ((r = sql_next(p)) != 0 || (r = sql_expect(p, TOK_LPAREN, "'('")) != 0)
			return r;
		/* A loop, not recursion: the list may hold half a million literals. */
		do {
			if ((r = sql_cond_lit(p, c, cap)) != 0)
				return r;
		} while (p->tok.type == TOK_COMMA && (r = sql_next(p)) == 0);
		return r != 0 ? r : sql_expect(p, TOK_RPAREN, "',' or ')'");
	case KW_IS:
		c->kind = SQL_COND_NULL;
		if ((r = sql_next(p)) != 0)
			return r;
		if (sql_is_kw(p, KW_NOT)) {
			c->negated = 1;
			if ((r = sql_next(p)) != 0)
				return r;
		}
		return sql_expect_kw(p, KW_NULL, "NULL");
	case KW_LIKE:
		c->kind = SQL_COND_LIKE;
		if ((r = sql_next(p)) != 0)
			return r;
		return sql_parse_like(p, c, cap);
	default:
		return sql_expected(p, "a comparison, BETWEEN, IN, IS or LIKE");
	}
}

/* column op literal, or column followed by one of sql_parse_pred_tail's forms */
static int
sql_parse_pred(struct sql_parser *p, struct sql_cond **out)
{
	struct sql_cond *c = NULL;
	size_t cap = 0;
	int r;

	if (!sql_is_name(p))
		return sql_expected(p, "a column");
	if ((r = sql_cond_new(SQL_COND_CMP, p->tok.pos, &c)) != 0 ||
	    (r = sql_take_name(p, "a column", &c->column)) != 0)
		goto out;
	if (p->tok.type == TOK_OP) {
		c->cmp = p->tok.cmp;
		if ((r = sql_next(p)) == 0)
			r = sql_cond_lit(p, c, &cap);
		goto out;
	}
	if (sql_is_kw(p, KW_NOT)) {
		c->negated = 1;
		if ((r = sql_next(p)) != 0)
			goto out;
		if (!sql_is_kw(p, KW_BETWEEN) && !sql_is_kw(p, KW_IN)) {
			r = sql_expected(p, "BETWEEN or IN");
			goto out;
		}
	}
	r = sql_parse_pred_tail(p, c, &cap);
out:
	if (r != 0)
		sql_cond_free(c);
	else
		*out = c;
	return r;
}

/* ( cond ) | predicate */
static int
sql_parse_primary(struct sql_parser *p, struct sql_cond **out)
{
	struct sql_cond *c;
	int r;

	if (p->tok.type != TOK_LPAREN)
		return sql_parse_pred(p, out);
	if ((r = sql_deeper(p)) != 0 || (r = sql_next(p)) != 0 || (r = sql_parse_or(p, &c)) != 0)
		return r;
	p->depth--;
	if ((r = sql_expect(p, TOK_RPAREN, "')'")) != 0) {
		sql_cond_free(c);
		return r;
	}
	*out = c;
	return 0;
}

/* NOT cond | primary */
static int
sql_parse_not(struct sql_parser *p, struct sql_cond **out)
{
	struct sql_cond *c = NULL, *kid;
	size_t cap = 0;
	int r;

	if (!sql_is_kw(p, KW_NOT))
		return sql_parse_primary(p, out);
	if ((r = sql_deeper(p)) != 0 || (r = sql_cond_new(SQL_COND_NOT, p->tok.pos, &c)) != 0)
		return r;
	if ((r = sql_next(p)) != 0 || (r = sql_parse_not(p, &kid)) != 0 ||
	    (r = sql_cond_adopt(c, &cap, kid)) != 0) {
		sql_cond_free(c);
		return r;
	}
	p->depth--;
	*out = c;
	return 0;
}

/*
 * term {kw term}: a chain joined by AND or OR, built in a loop as one n-ary
 * node of kind, so that its length costs no stack.  A lone term is itself;
 * a parenthesised chain inside stays a kid of its own.
 */
static int
sql_parse_chain(struct sql_parser *p, enum sql_kw kw, enum sql_cond_kind kind,
    int (*term)(struct sql_parser *, struct sql_cond **), struct sql_cond **out)
{
	struct sql_pos pos = p->tok.pos;
	struct sql_cond *node = NULL, *kid;
	size_t cap = 0;
	int r;

	if ((r = term(p, &kid)) != 0)
		return r;
	if (!sql_is_kw(p, kw)) {
		*out = kid;
		return 0;
	}
	if ((r = sql_cond_new(kind, pos, &node)) != 0) {
		sql_cond_free(kid);
		return r;
	}
	for (;;) {
		if ((r = sql_cond_adopt(node, &cap, kid)) != 0)
			goto fail;
		if (!sql_is_kw(p, kw))
			break;
		if ((r = sql_next(p)) != 0 || (r = term(p, &kid)) != 0)
			goto fail;
	}
	*out = node;
	return 0;
fail:
	sql_cond_free(node);
	return r;
}

static int
sql_parse_and(struct sql_parser *p, struct sql_cond **out)
{
	return sql_parse_chain(p, KW_AND, SQL_COND_AND, sql_parse_not, out);
}

/* cond, loosest first: OR, then AND, then NOT */
static int
sql_parse_or(struct sql_parser *p, struct sql_cond **out)
{
	return sql_parse_chain(p, KW_OR, SQL_COND_OR, sql_parse_and, out);
}

/* ---- the query ------------------------------------------------------------ */

static int
sql_parse_group(struct sql_parser *p, struct sql_query *q)
{
	struct sql_key *g;
	size_t cap = 0;
	int r;

	for (;;) {
		if ((g = sql_push(q->group, &q->ngroup, &cap, sizeof(*g))) == NULL)
			return sql_nomem();
		q->group = g;
		if ((r = sql_parse_key(p, &g[q->ngroup - 1], "a column")) != 0)
			return r;
		if (p->tok.type != TOK_COMMA)
			return 0;
		if ((r = sql_next(p)) != 0)
			return r;
	}
}

static int
sql_parse_orders(struct sql_parser *p, struct sql_query *q)
{
	struct sql_order *o;
	size_t cap = 0;
	int r;

	for (;;) {
		if ((o = sql_push(q->order, &q->norder, &cap, sizeof(*o))) == NULL)
			return sql_nomem();
		q->order = o;
		if ((r = sql_parse_order(p, &o[q->norder - 1])) != 0)
			return r;
		if (p->tok.type != TOK_COMMA)
			return 0;
		if ((r = sql_next(p)) != 0)
			return r;
	}
}

static int
sql_parse_items(struct sql_parser *p, struct sql_query *q)
{
	struct sql_item *it;
	size_t cap = 0;
	int r;

	for (;;) {
		if ((it = sql_push(q->items, &q->nitems, &cap, sizeof(*it))) == NULL)
			return sql_nomem();
		q->items = it;
		if ((r = sql_parse_item(p, &it[q->nitems - 1])) != 0)
			return r;
		if (p->tok.type != TOK_COMMA)
			return 0;
		if ((r = sql_next(p)) != 0)
			return r;
	}
}

/* query, then an optional ';', then nothing. */
static int
sql_parse_query(struct sql_parser *p, struct sql_query *q)
{
	int r;

	if ((r = sql_expect_kw(p, KW_SELECT, "SELECT")) != 0 || (r = sql_parse_items(p, q)) != 0 ||
	    (r = sql_expect_kw(p, KW_FROM, "FROM")) != 0)
		return r;
	q->product_pos = p->tok.pos;
	if ((r = sql_take_name(p, "a product name", &q->product)) != 0)
		return r;
	if (sql_is_kw(p, KW_WHERE) &&
	    ((r = sql_next(p)) != 0 || (r = sql_parse_or(p, &q->where)) != 0))
		return r;
	if (sql_is_kw(p, KW_GROUP) &&
	    ((r = sql_next(p)) != 0 || (r = sql_expect_kw(p, KW_BY, "BY")) != 0 ||
	        (r = sql_parse_group(p, q)) != 0))
		return r;
	if (sql_is_kw(p, KW_ORDER) &&
	    ((r = sql_next(p)) != 0 || (r = sql_expect_kw(p, KW_BY, "BY")) != 0 ||
	        (r = sql_parse_orders(p, q)) != 0))
		return r;
	if (sql_is_kw(p, KW_LIMIT) && ((r = sql_next(p)) != 0 || (r = sql_parse_limit(p, q)) != 0))
		return r;
	if (p->tok.type == TOK_SEMI && (r = sql_next(p)) != 0)
		return r;
	if (p->tok.type != TOK_END)
		return sql_expected(p, "end of query");
	return 0;
}

int
sql_parse(const char *text, size_t len, struct sql_query **out)
{
	struct sql_parser p;
	struct sql_query *q = NULL;
	int r;

	if (len > SQL_MAX_TEXT)
		return sql_fault(sl_errf(SL_ERR_LIMIT, "query text is %zu bytes; the limit is %u",
		                     len, SQL_MAX_TEXT),
		    (struct sql_pos){0, 0}, 0, JOB_RULE_TOO_LONG, 0, SQL_MAX_TEXT);
	if (text == NULL && len > 0)
		return sl_errf(SL_ERR_INVAL, "sql_parse: no text");
	if (text == NULL)
		text = "";
	if ((r = sql_text_check((const unsigned char *)text, len)) != 0)
		return r;
	memset(&p, 0, sizeof(p));
	p.s = text;
	p.len = len;
	p.at.line = p.at.col = 1;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return sql_nomem();
	if ((r = sql_next(&p)) != 0 || (r = sql_parse_query(&p, q)) != 0)
		goto out;
	*out = q;
	q = NULL;
out:
	sql_free(q);
	return r;
}

void
sql_free(struct sql_query *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->nitems; i++)
		sql_item_clear(&q->items[i]);
	for (i = 0; i < q->ngroup; i++) {
		free(q->group[i].column);
		free(q->group[i].width.s);
	}
	for (i = 0; i < q->norder; i++)
		free(q->order[i].name);
	free(q->items);
	free(q->product);
	sql_cond_free(q->where);
	free(q->group);
	free(q->order);
	free(q);
}
