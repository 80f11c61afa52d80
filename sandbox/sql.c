/*
 * sandbox/sql.c -- the query language's tokenizer and recursive-descent parser.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sandbox/sql.h"
#include "sandbox/value.h"

enum tok {
	T_END,
	T_IDENT, /* bare or "quoted" */
	T_INT,
	T_DEC,
	T_STR,
	T_COMMA,
	T_LP,
	T_RP,
	T_STAR,
	T_SEMI,
	T_OP, /* = <> != < <= > >= */
};

struct tok_s {
	enum tok t;
	const char *p; /* start in the text */
	size_t len;
	struct sql_pos pos;
	int quoted;
};

struct parser {
	const char *s, *end, *at;
	struct sql_pos pos; /* of at */
	struct tok_s tok;
	int depth;
};

static int
utf8_check(const char *s, size_t len, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i], n, cp, k;

		if (c == 0) {
			*bad = i;
			return 2;
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			goto fail;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				goto fail;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			goto fail;
		i += n + 1;
	}
	return 0;
fail:
	*bad = i;
	return 1;
}

/* Line and column of byte offset off. */
static struct sql_pos
pos_of(const char *s, size_t off)
{
	struct sql_pos pos = {1, 1};
	size_t i;

	for (i = 0; i < off; i++) {
		if (s[i] == '\n')
			pos.line++, pos.col = 1;
		else if (((unsigned char)s[i] & 0xc0) != 0x80)
			pos.col++;
	}
	return pos;
}

static void
advance(struct parser *ps, size_t n)
{
	while (n-- > 0) {
		if (*ps->at == '\n')
			ps->pos.line++, ps->pos.col = 1;
		else if (((unsigned char)*ps->at & 0xc0) != 0x80)
			ps->pos.col++;
		ps->at++;
	}
}

static int
is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* What the current token is, for "found X". */
static void
describe(const struct tok_s *t, char *out, size_t outlen)
{
	size_t i, o = 0, n = t->len > 20 ? 20 : t->len;

	if (t->t == T_END) {
		snprintf(out, outlen, "end of query");
		return;
	}
	out[o++] = '\'';
	for (i = 0; i < n && o + 6 < outlen; i++) {
		unsigned char c = (unsigned char)t->p[i];

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (t->len > 20 && o + 4 < outlen)
		memcpy(out + o, "...", 3), o += 3;
	out[o++] = '\'';
	out[o] = '\0';
}

static int
expected(struct parser *ps, const char *what)
{
	char found[128];

	describe(&ps->tok, found, sizeof found);
	return sl_errf(SL_ERR_PARSE, "%u:%u: expected %s, found %s", ps->tok.pos.line,
	    ps->tok.pos.col, what, found);
}

static int
fail_at(struct sql_pos pos, const char *msg)
{
	return sl_errf(SL_ERR_PARSE, "%u:%u: %s", pos.line, pos.col, msg);
}

static void
skip_space(struct parser *ps)
{
	for (;;) {
		while (ps->at < ps->end &&
		       (*ps->at == ' ' || *ps->at == '\t' || *ps->at == '\n' || *ps->at == '\r'))
			advance(ps, 1);
		if (ps->end - ps->at >= 2 && ps->at[0] == '-' && ps->at[1] == '-') {
			while (ps->at < ps->end && *ps->at != '\n')
				advance(ps, 1);
			continue;
		}
		return;
	}
}

static int
next(struct parser *ps)
{
	struct tok_s *t = &ps->tok;
	const char *q;

	skip_space(ps);
	t->p = ps->at;
	t->pos = ps->pos;
	t->quoted = 0;
	if (ps->at >= ps->end) {
		t->t = T_END, t->len = 0;
		return 0;
	}
	q = ps->at;
	if (is_ident_start(*q)) {
		while (q < ps->end && (is_ident_start(*q) || is_digit(*q)))
			q++;
		t->t = T_IDENT;
	} else if (is_digit(*q) || (*q == '-' && q + 1 < ps->end && is_digit(q[1])) ||
	           (*q == '.' && q + 1 < ps->end && is_digit(q[1]))) {
		t->t = T_INT;
		q += *q == '-';
		while (q < ps->end && is_digit(*q))
			q++;
		if (q < ps->end && *q == '.') {
			t->t = T_DEC;
			q++;
			while (q < ps->end && is_digit(*q))
				q++;
		}
	} else if (*q == '\'' || *q == '"') {
		char quote = *q++;

		for (;;) {
			if (q >= ps->end) {
				t->len = 1;
				t->t = T_STR;
				return fail_at(t->pos, quote == '\'' ? "unterminated string"
				                                     : "unterminated quoted name");
			}
			if (*q == quote) {
				if (q + 1 < ps->end && q[1] == quote) {
					q += 2;
					continue;
				}
				q++;
				break;
			}
			q++;
		}
		t->t = quote == '\'' ? T_STR : T_IDENT;
		t->quoted = quote == '"';
	} else {
		switch (*q) {
		case ',':
			t->t = T_COMMA, q++;
			break;
		case '(':
			t->t = T_LP, q++;
			break;
		case ')':
			t->t = T_RP, q++;
			break;
		case '*':
			t->t = T_STAR, q++;
			break;
		case ';':
			t->t = T_SEMI, q++;
			break;
		case '=':
			t->t = T_OP, q++;
			break;
		case '<':
			t->t = T_OP, q++;
			if (q < ps->end && (*q == '=' || *q == '>'))
				q++;
			break;
		case '>':
			t->t = T_OP, q++;
			if (q < ps->end && *q == '=')
				q++;
			break;
		case '!':
			if (q + 1 < ps->end && q[1] == '=') {
				t->t = T_OP, q += 2;
				break;
			}
			/* fall through */
		default:
			t->len = 1;
			return sl_errf(SL_ERR_PARSE, "%u:%u: unexpected character '%c'",
			    t->pos.line, t->pos.col, *q > 0x20 && *q < 0x7f ? *q : '?');
		}
	}
	t->len = (size_t)(q - ps->at);
	advance(ps, t->len);
	return 0;
}

/* Whether the current token is keyword kw (case-insensitive, not quoted). */
static int
is_kw(const struct parser *ps, const char *kw)
{
	return ps->tok.t == T_IDENT && !ps->tok.quoted && strlen(kw) == ps->tok.len &&
	       strncasecmp(ps->tok.p, kw, ps->tok.len) == 0;
}

static int
accept_kw(struct parser *ps, const char *kw, int *yes)
{
	*yes = is_kw(ps, kw);
	return *yes ? next(ps) : 0;
}

static int
expect_kw(struct parser *ps, const char *kw)
{
	return is_kw(ps, kw) ? next(ps) : expected(ps, kw);
}

static int
expect_tok(struct parser *ps, enum tok t, const char *what)
{
	return ps->tok.t == t ? next(ps) : expected(ps, what);
}

static const char *const reserved[] = {"SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "LIMIT",
    "AS", "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "NULL", "LIKE", "ASC", "DESC", "DATE", "TRUE",
    "FALSE", "DISTINCT", NULL};

/* The text of a quoted token without its quotes, doubled quotes made single. */
static char *
unquote(const struct tok_s *t, size_t *len)
{
	char *s = malloc(t->len), q = t->p[0];
	size_t i, o = 0;

	if (s == NULL)
		return NULL;
	for (i = 1; i + 1 < t->len; i++) {
		s[o++] = t->p[i];
		if (t->p[i] == q)
			i++;
	}
	s[o] = '\0';
	*len = o;
	return s;
}

static int
name(struct parser *ps, char **out, const char *what)
{
	size_t len, k;

	if (ps->tok.t != T_IDENT)
		return expected(ps, what);
	if (!ps->tok.quoted)
		for (k = 0; reserved[k] != NULL; k++)
			if (is_kw(ps, reserved[k]))
				return expected(ps, what);
	if (ps->tok.quoted)
		*out = unquote(&ps->tok, &len);
	else
		*out = strndup(ps->tok.p, ps->tok.len);
	if (*out == NULL)
		return SL_ERR_NOMEM;
	return next(ps);
}

static int
parse_int(struct parser *ps, const struct tok_s *t, int64_t *out)
{
	size_t i = t->p[0] == '-';
	int64_t v = 0;
	int neg = i;

	for (; i < t->len; i++) {
		int d = t->p[i] - '0';

		if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, d, &v))
			return fail_at(t->pos, "integer out of range");
	}
	if (!neg && v == INT64_MIN)
		return fail_at(t->pos, "integer out of range");
	*out = neg ? v : -v;
	(void)ps;
	return 0;
}

static int
parse_dec(const struct tok_s *t, int64_t *out, uint32_t *scale)
{
	size_t i = t->p[0] == '-';
	int64_t v = 0;
	int neg = i, frac = 0;
	uint32_t sc = 0;

	for (; i < t->len; i++) {
		if (t->p[i] == '.') {
			frac = 1;
			continue;
		}
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_sub_overflow(v, t->p[i] - '0', &v))
			return fail_at(t->pos, "decimal out of range");
		sc += frac;
	}
	if (sc > 18 || (!neg && v == INT64_MIN))
		return fail_at(t->pos, "decimal out of range");
	*out = neg ? v : -v;
	*scale = sc;
	return 0;
}

static int
literal(struct parser *ps, struct sql_literal *l)
{
	struct tok_s t = ps->tok;
	int r, y, m, d;
	char tail;

	memset(l, 0, sizeof *l);
	l->pos = t.pos;
	switch (t.t) {
	case T_INT:
		l->type = SQL_LIT_INT;
		if ((r = parse_int(ps, &t, &l->i)) != 0)
			return r;
		return next(ps);
	case T_DEC:
		l->type = SQL_LIT_DECIMAL;
		if ((r = parse_dec(&t, &l->i, &l->scale)) != 0)
			return r;
		return next(ps);
	case T_STR:
		l->type = SQL_LIT_STRING;
		if ((l->s = unquote(&t, &l->len)) == NULL)
			return SL_ERR_NOMEM;
		return next(ps);
	default:
		break;
	}
	if (is_kw(ps, "TRUE") || is_kw(ps, "FALSE")) {
		l->type = SQL_LIT_BOOL;
		l->i = is_kw(ps, "TRUE");
		return next(ps);
	}
	if (!is_kw(ps, "DATE"))
		return expected(ps, "a literal");
	if ((r = next(ps)) != 0)
		return r;
	if (ps->tok.t != T_STR)
		return expected(ps, "a date 'YYYY-MM-DD'");
	l->type = SQL_LIT_DATE;
	if (ps->tok.len != 12 || sscanf(ps->tok.p + 1, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 4 ||
	    tail != '\'' || !is_digit(ps->tok.p[1]) || value_days(y, m, d, &l->i) != 0)
		return fail_at(ps->tok.pos, "not a calendar date 'YYYY-MM-DD'");
	return next(ps);
}

static void
lits_free(struct sql_literal *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i].s);
	free(l);
}

static void
cond_free(struct sql_cond *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nkids; i++)
		cond_free(c->kids[i]);
	free(c->kids);
	lits_free(c->lits, c->nlits);
	free(c->column);
	free(c);
}

static int
push_lit(struct sql_cond *c, struct parser *ps, size_t *cap)
{
	struct sql_literal *g;
	int r;

	if (c->nlits == *cap) {
		*cap = *cap ? *cap * 2 : 2;
		if ((g = realloc(c->lits, *cap * sizeof *g)) == NULL)
			return SL_ERR_NOMEM;
		c->lits = g;
	}
	r = literal(ps, &c->lits[c->nlits]);
	c->nlits++;
	return r;
}

static int predicate(struct parser *ps, struct sql_cond *c);

static int
comparison(struct parser *ps, struct sql_cond *c)
{
	static const struct {
		const char *op;
		enum sql_cmp cmp;
	} ops[] = {{"=", SQL_EQ}, {"<>", SQL_NE}, {"!=", SQL_NE}, {"<", SQL_LT}, {"<=", SQL_LE},
	    {">", SQL_GT}, {">=", SQL_GE}};
	size_t k, cap = 0;
	int r;

	for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
		if (ps->tok.len == strlen(ops[k].op) &&
		    memcmp(ps->tok.p, ops[k].op, ps->tok.len) == 0)
			break;
	c->kind = SQL_COND_CMP;
	c->cmp = ops[k].cmp;
	if ((r = next(ps)) != 0)
		return r;
	return push_lit(c, ps, &cap);
}

/* column op literal | [NOT] BETWEEN | [NOT] IN | IS [NOT] NULL | LIKE */
static int
predicate(struct parser *ps, struct sql_cond *c)
{
	size_t cap = 0;
	int r, yes;

	if ((r = name(ps, &c->column, "a column")) != 0)
		return r;
	if (ps->tok.t == T_OP)
		return comparison(ps, c);
	if (is_kw(ps, "IS")) {
		c->kind = SQL_COND_NULL;
		if ((r = next(ps)) != 0 || (r = accept_kw(ps, "NOT", &c->negated)) != 0)
			return r;
		return expect_kw(ps, "NULL");
	}
	if (is_kw(ps, "LIKE")) {
		struct sql_pos at;
		size_t i;

		c->kind = SQL_COND_LIKE;
		if ((r = next(ps)) != 0)
			return r;
		if (ps->tok.t != T_STR)
			return expected(ps, "a 'prefix%' pattern");
		at = ps->tok.pos;
		if ((r = push_lit(c, ps, &cap)) != 0)
			return r;
		for (i = 0; i < c->lits[0].len; i++)
			if (c->lits[0].s[i] == '_' ||
			    (c->lits[0].s[i] == '%' && i + 1 != c->lits[0].len))
				break;
		if (c->lits[0].len == 0 || i != c->lits[0].len || c->lits[0].s[i - 1] != '%')
			return fail_at(at, "LIKE supports only 'prefix%'");
		c->lits[0].s[--c->lits[0].len] = '\0';
		return 0;
	}
	if ((r = accept_kw(ps, "NOT", &c->negated)) != 0)
		return r;
	if ((r = accept_kw(ps, "BETWEEN", &yes)) != 0)
		return r;
	if (yes) {
		c->kind = SQL_COND_BETWEEN;
		if ((r = push_lit(c, ps, &cap)) != 0 || (r = expect_kw(ps, "AND")) != 0)
			return r;
		return push_lit(c, ps, &cap);
	}
	if ((r = accept_kw(ps, "IN", &yes)) != 0)
		return r;
	if (!yes)
		return expected(
		    ps, c->negated ? "BETWEEN or IN" : "a comparison, BETWEEN, IN, IS or LIKE");
	c->kind = SQL_COND_IN;
	if ((r = expect_tok(ps, T_LP, "'('")) != 0)
		return r;
	do {
		if (c->nlits > 0 && (r = next(ps)) != 0)
			return r;
		if ((r = push_lit(c, ps, &cap)) != 0)
			return r;
	} while (ps->tok.t == T_COMMA);
	return expect_tok(ps, T_RP, "',' or ')'");
}

static int disjunction(struct parser *ps, struct sql_cond **out);

static int
unary(struct parser *ps, struct sql_cond **out)
{
	struct sql_cond *c = calloc(1, sizeof *c);
	struct sql_pos pos = ps->tok.pos;
	int r;

	if (c == NULL)
		return SL_ERR_NOMEM;
	*out = c;
	c->pos = pos;
	if (is_kw(ps, "NOT") || ps->tok.t == T_LP) {
		int paren = ps->tok.t == T_LP;

		if (++ps->depth > SQL_MAX_DEPTH)
			return fail_at(pos, "nesting deeper than 64");
		if ((r = next(ps)) != 0)
			return r;
		if (paren) {
			free(c);
			*out = NULL;
			if ((r = disjunction(ps, out)) != 0)
				return r;
			ps->depth--;
			return expect_tok(ps, T_RP, "')'");
		}
		c->kind = SQL_COND_NOT;
		if ((c->kids = calloc(1, sizeof *c->kids)) == NULL)
			return SL_ERR_NOMEM;
		c->nkids = 1;
		r = unary(ps, &c->kids[0]);
		ps->depth--;
		return r;
	}
	return predicate(ps, c);
}

/* A chain of kids joined by kw, flattened into one n-ary node. */
static int
chain(struct parser *ps, const char *kw, enum sql_cond_kind kind,
    int (*sub)(struct parser *, struct sql_cond **), struct sql_cond **out)
{
	struct sql_cond *first = NULL, *c, **g;
	size_t cap = 0;
	int r;

	if ((r = sub(ps, &first)) != 0 || !is_kw(ps, kw)) {
		*out = first;
		return r;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		*out = first;
		return SL_ERR_NOMEM;
	}
	*out = c;
	c->kind = kind;
	c->pos = first->pos;
	cap = 4;
	if ((c->kids = calloc(cap, sizeof *c->kids)) == NULL) {
		cond_free(first);
		return SL_ERR_NOMEM;
	}
	c->kids[c->nkids++] = first;
	while (is_kw(ps, kw)) {
		if ((r = next(ps)) != 0)
			return r;
		if (c->nkids == cap) {
			cap *= 2;
			if ((g = realloc(c->kids, cap * sizeof *g)) == NULL)
				return SL_ERR_NOMEM;
			c->kids = g;
		}
		c->kids[c->nkids] = NULL;
		r = sub(ps, &c->kids[c->nkids]);
		c->nkids++;
		if (r != 0)
			return r;
	}
	return 0;
}

static int
conjunction(struct parser *ps, struct sql_cond **out)
{
	return chain(ps, "AND", SQL_COND_AND, unary, out);
}

static int
disjunction(struct parser *ps, struct sql_cond **out)
{
	return chain(ps, "OR", SQL_COND_OR, conjunction, out);
}

/* ---- SELECT ... ---------------------------------------------------------- */

static const char *const agg_names[] = {
    "COUNT", "COUNT", "SUM", "AVG", "STDDEV", "VARIANCE", "MIN", "MAX"};

const char *
sql_agg_name(enum sql_agg a)
{
	return (unsigned)a < sizeof agg_names / sizeof agg_names[0] ? agg_names[a] : "?";
}

static char *
format(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static char *
width_text(const struct sql_literal *w)
{
	int64_t p = 1;
	uint32_t i;
	uint64_t a = w->i < 0 ? -(uint64_t)w->i : (uint64_t)w->i;

	if (w->type == SQL_LIT_INT)
		return format("%lld", (long long)w->i);
	for (i = 0; i < w->scale; i++)
		p *= 10;
	return format("%s%llu.%0*llu", w->i < 0 ? "-" : "", (unsigned long long)(a / (uint64_t)p),
	    (int)w->scale, (unsigned long long)(a % (uint64_t)p));
}

static char *
key_name(const struct sql_key *k)
{
	char *w, *s;

	switch (k->fn) {
	case SQL_KEY_BUCKET:
		if ((w = width_text(&k->width)) == NULL)
			return NULL;
		s = format("BUCKET(%s, %s)", k->column, w);
		free(w);
		return s;
	case SQL_KEY_YEAR:
		return format("YEAR(%s)", k->column);
	case SQL_KEY_MONTH:
		return format("MONTH(%s)", k->column);
	default:
		return strdup(k->column);
	}
}

static int
key(struct parser *ps, struct sql_key *k)
{
	static const struct {
		const char *kw;
		enum sql_key_fn fn;
	} fns[] = {{"BUCKET", SQL_KEY_BUCKET}, {"YEAR", SQL_KEY_YEAR}, {"MONTH", SQL_KEY_MONTH}};
	size_t f;
	int r;

	k->pos = ps->tok.pos;
	for (f = 0; f < 3; f++)
		if (is_kw(ps, fns[f].kw))
			break;
	if (f == 3 || ps->at >= ps->end || (skip_space(ps), *ps->at != '(')) {
		k->fn = SQL_KEY_COLUMN;
		return name(ps, &k->column, "a column");
	}
	k->fn = fns[f].fn;
	if ((r = next(ps)) != 0 || (r = expect_tok(ps, T_LP, "'('")) != 0 ||
	    (r = name(ps, &k->column, "a column")) != 0)
		return r;
	if (k->fn == SQL_KEY_BUCKET) {
		if ((r = expect_tok(ps, T_COMMA, "','")) != 0 || (r = literal(ps, &k->width)) != 0)
			return r;
		if ((k->width.type != SQL_LIT_INT && k->width.type != SQL_LIT_DECIMAL) ||
		    k->width.i <= 0)
			return fail_at(k->width.pos, "BUCKET width must be a number above 0");
	}
	return expect_tok(ps, T_RP, "')'");
}

static int
aggregate(struct parser *ps, struct sql_item *it, int *is_agg)
{
	static const char *const kws[] = {
	    "COUNT", "SUM", "AVG", "STDDEV", "VARIANCE", "MIN", "MAX"};
	static const enum sql_agg fns[] = {SQL_AGG_COUNT, SQL_AGG_SUM, SQL_AGG_AVG, SQL_AGG_STDDEV,
	    SQL_AGG_VARIANCE, SQL_AGG_MIN, SQL_AGG_MAX};
	size_t f;
	int r, distinct;

	*is_agg = 0;
	for (f = 0; f < 7; f++)
		if (is_kw(ps, kws[f]))
			break;
	if (f == 7)
		return 0;
	skip_space(ps);
	if (ps->at >= ps->end || *ps->at != '(')
		return 0;
	*is_agg = 1;
	it->is_agg = 1;
	it->agg = fns[f];
	if ((r = next(ps)) != 0 || (r = expect_tok(ps, T_LP, "'('")) != 0)
		return r;
	if (f == 0) {
		if (ps->tok.t == T_STAR) {
			if ((r = next(ps)) != 0)
				return r;
			if ((it->name = strdup("COUNT(*)")) == NULL)
				return SL_ERR_NOMEM;
			return expect_tok(ps, T_RP, "')'");
		}
		if ((r = accept_kw(ps, "DISTINCT", &distinct)) != 0)
			return r;
		if (!distinct)
			return expected(ps, "'*' or DISTINCT");
		it->agg = SQL_AGG_COUNT_DISTINCT;
	}
	if ((r = name(ps, &it->agg_column, "a column")) != 0)
		return r;
	it->name = it->agg == SQL_AGG_COUNT_DISTINCT ? format("COUNT(DISTINCT %s)", it->agg_column)
	                                             : format("%s(%s)", kws[f], it->agg_column);
	if (it->name == NULL)
		return SL_ERR_NOMEM;
	return expect_tok(ps, T_RP, "')'");
}

static int
item(struct parser *ps, struct sql_item *it)
{
	int r, is_agg, as;

	it->pos = ps->tok.pos;
	if (ps->tok.t != T_IDENT)
		return expected(ps, "a column or an aggregate");
	if (!ps->tok.quoted && (is_kw(ps, "FROM") || is_kw(ps, "SELECT") || is_kw(ps, "WHERE")))
		return expected(ps, "a column or an aggregate");
	if ((r = aggregate(ps, it, &is_agg)) != 0)
		return r;
	if (!is_agg) {
		if ((r = key(ps, &it->key)) != 0)
			return r;
		if ((it->name = key_name(&it->key)) == NULL)
			return SL_ERR_NOMEM;
	}
	if ((r = accept_kw(ps, "AS", &as)) != 0 || !as)
		return r;
	if ((r = name(ps, &it->alias, "a name")) != 0)
		return r;
	free(it->name);
	return (it->name = strdup(it->alias)) != NULL ? 0 : SL_ERR_NOMEM;
}

static int
list_grow(void **arr, size_t n, size_t *cap, size_t size)
{
	void *g;

	if (n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 4;
	if ((g = realloc(*arr, *cap * size)) == NULL)
		return SL_ERR_NOMEM;
	memset((char *)g + n * size, 0, (*cap - n) * size);
	*arr = g;
	return 0;
}

static int
select_list(struct parser *ps, struct sql_query *q)
{
	size_t cap = 0;
	int r;

	do {
		if (q->nitems > 0 && (r = next(ps)) != 0)
			return r;
		if ((r = list_grow((void **)&q->items, q->nitems, &cap, sizeof *q->items)) != 0)
			return r;
		r = item(ps, &q->items[q->nitems]);
		q->nitems++;
		if (r != 0)
			return r;
	} while (ps->tok.t == T_COMMA);
	return 0;
}

static int
group_by(struct parser *ps, struct sql_query *q)
{
	size_t cap = 0;
	int r;

	do {
		if (q->ngroup > 0 && (r = next(ps)) != 0)
			return r;
		if ((r = list_grow((void **)&q->group, q->ngroup, &cap, sizeof *q->group)) != 0)
			return r;
		r = key(ps, &q->group[q->ngroup]);
		q->ngroup++;
		if (r != 0)
			return r;
	} while (ps->tok.t == T_COMMA);
	return 0;
}

static int
order_by(struct parser *ps, struct sql_query *q)
{
	size_t cap = 0;
	int r, yes;

	do {
		struct sql_order *o;

		if (q->norder > 0 && (r = next(ps)) != 0)
			return r;
		if ((r = list_grow((void **)&q->order, q->norder, &cap, sizeof *q->order)) != 0)
			return r;
		o = &q->order[q->norder++];
		o->pos = ps->tok.pos;
		/* An output name: an alias, a column, or an aggregate's text as written. */
		if (ps->tok.t == T_IDENT && !ps->tok.quoted) {
			struct sql_item tmp;
			int is_agg;

			memset(&tmp, 0, sizeof tmp);
			if ((r = aggregate(ps, &tmp, &is_agg)) == 0 && !is_agg &&
			    (r = key(ps, &tmp.key)) == 0)
				tmp.name = key_name(&tmp.key);
			free(tmp.agg_column);
			free(tmp.key.column);
			o->name = tmp.name;
			if (r != 0)
				return r;
			if (o->name == NULL)
				return SL_ERR_NOMEM;
		} else if ((r = name(ps, &o->name, "a column")) != 0) {
			return r;
		}
		if ((r = accept_kw(ps, "DESC", &o->desc)) != 0)
			return r;
		if (!o->desc && (r = accept_kw(ps, "ASC", &yes)) != 0)
			return r;
	} while (ps->tok.t == T_COMMA);
	return 0;
}

static int
query(struct parser *ps, struct sql_query *q)
{
	int r, yes;

	if ((r = next(ps)) != 0 || (r = expect_kw(ps, "SELECT")) != 0 ||
	    (r = select_list(ps, q)) != 0 || (r = expect_kw(ps, "FROM")) != 0)
		return r;
	q->product_pos = ps->tok.pos;
	if ((r = name(ps, &q->product, "a product name")) != 0)
		return r;
	if ((r = accept_kw(ps, "WHERE", &yes)) != 0 ||
	    (yes && (r = disjunction(ps, &q->where)) != 0))
		return r;
	if (is_kw(ps, "GROUP")) {
		if ((r = next(ps)) != 0 || (r = expect_kw(ps, "BY")) != 0 ||
		    (r = group_by(ps, q)) != 0)
			return r;
	}
	if (is_kw(ps, "ORDER")) {
		if ((r = next(ps)) != 0 || (r = expect_kw(ps, "BY")) != 0 ||
		    (r = order_by(ps, q)) != 0)
			return r;
	}
	if (is_kw(ps, "LIMIT")) {
		int64_t v;

		if ((r = next(ps)) != 0)
			return r;
		if (ps->tok.t != T_INT || ps->tok.p[0] == '-')
			return expected(ps, "a row count");
		if (parse_int(ps, &ps->tok, &v) != 0)
			return fail_at(ps->tok.pos, "LIMIT out of range");
		q->has_limit = 1;
		q->limit = (uint64_t)v;
		if ((r = next(ps)) != 0)
			return r;
	}
	if (ps->tok.t == T_SEMI && (r = next(ps)) != 0)
		return r;
	return ps->tok.t == T_END ? 0 : expected(ps, "end of query");
}

int
sql_parse(const char *text, size_t len, struct sql_query **out)
{
	struct parser ps;
	struct sql_query *q;
	size_t bad;
	int r, u;

	if (len > SQL_MAX_TEXT)
		return sl_errf(
		    SL_ERR_LIMIT, "query text is %zu bytes; the limit is %u", len, SQL_MAX_TEXT);
	if ((u = utf8_check(text, len, &bad)) != 0) {
		struct sql_pos p = pos_of(text, bad);

		return sl_errf(SL_ERR_PARSE, "%u:%u: %s", p.line, p.col,
		    u == 2 ? "NUL byte in query" : "invalid UTF-8");
	}
	if ((q = calloc(1, sizeof *q)) == NULL)
		return SL_ERR_NOMEM;
	memset(&ps, 0, sizeof ps);
	ps.s = ps.at = text;
	ps.end = text + len;
	ps.pos = (struct sql_pos){1, 1};
	if ((r = query(&ps, q)) != 0) {
		sql_free(q);
		return r;
	}
	*out = q;
	return 0;
}

void
sql_free(struct sql_query *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->nitems; i++) {
		free(q->items[i].key.column);
		free(q->items[i].key.width.s);
		free(q->items[i].agg_column);
		free(q->items[i].alias);
		free(q->items[i].name);
	}
	free(q->items);
	free(q->product);
	cond_free(q->where);
	for (i = 0; i < q->ngroup; i++) {
		free(q->group[i].column);
		free(q->group[i].width.s);
	}
	free(q->group);
	for (i = 0; i < q->norder; i++)
		free(q->order[i].name);
	free(q->order);
	free(q);
}
