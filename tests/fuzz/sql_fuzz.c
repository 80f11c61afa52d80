/*
 * tests/fuzz/sql_fuzz.c -- libFuzzer harness for the query parser,
 * sandbox/sql.c.
 *
 * The input is the query text, handed over in a heap copy of exactly its
 * length (libFuzzer's own buffer is that already), so ASan catches a read
 * past the end.  A refusal must be SL_ERR_PARSE with a "line:col: " message
 * whose place lies in the text, or SL_ERR_LIMIT for an oversized text, and
 * the message must be valid UTF-8 with no control, C1 or bidi character, so
 * that it is safe to print to a terminal.  A tree must be well formed (kid
 * and literal counts, widths, scales, LIKE prefixes, valid UTF-8 names) and
 * must survive a round trip: it is printed back as canonical text (every
 * name quoted, only the parentheses the tree needs), parsed again and
 * compared, positions aside.
 *
 * Build and run (ASan + UBSan):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *       -include config.h -I. tests/fuzz/sql_fuzz.c sandbox/sql.c sandbox/value.c \
 *       common/err.c -o sql_fuzz
 *   ./sql_fuzz -max_len=4096 -max_total_time=180 CORPUS_DIR tests/fuzz/sql_corpus
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "tests/fuzz/check.h"
#include "sandbox/sql.h"
#include "tests/ref_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* ---- well-formedness ------------------------------------------------------ */

/*
 * Whether s[0 .. n-1] is valid UTF-8, decoded the slow way; with terminal
 * set, also free of C0 controls, DEL, C1 controls and bidi controls.
 */
static int
utf8_ok(const uint8_t *s, size_t n, int terminal)
{
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		if ((len = ref_utf8_next(s, n, i, &cp)) == 0)
			return 0;
		if (terminal &&
		    (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
		        (cp >= 0x2066 && cp <= 0x2069)))
			return 0;
		i += len;
	}
	return 1;
}

static void
check_name(const char *s)
{
	CHECK(s != NULL);
	CHECK(utf8_ok((const uint8_t *)s, strlen(s), 0));
}

static void
check_pos(struct sql_pos pos, uint32_t lines)
{
	CHECK(pos.line >= 1 && pos.line <= lines && pos.col >= 1);
}

static void
check_lit(const struct sql_literal *l, uint32_t lines)
{
	check_pos(l->pos, lines);
	switch (l->type) {
	case SQL_LIT_INT:
	case SQL_LIT_DATE:
		break;
	case SQL_LIT_DECIMAL:
		CHECK(l->scale <= 18);
		break;
	case SQL_LIT_STRING:
		CHECK(l->s != NULL && strlen(l->s) == l->len);
		CHECK(utf8_ok((const uint8_t *)l->s, l->len, 0));
		break;
	case SQL_LIT_BOOL:
		CHECK(l->i == 0 || l->i == 1);
		break;
	default:
		CHECK(!"literal type");
	}
	if (l->type != SQL_LIT_STRING)
		CHECK(l->s == NULL);
}

static void
check_key(const struct sql_key *k, uint32_t lines)
{
	check_pos(k->pos, lines);
	check_name(k->column);
	CHECK(k->fn <= FN_KEY_MONTH);
	if (k->fn == FN_KEY_BUCKET) {
		check_lit(&k->width, lines);
		CHECK(k->width.type == SQL_LIT_INT || k->width.type == SQL_LIT_DECIMAL);
		CHECK(k->width.i > 0);
	}
}

static void
check_cond(const struct sql_cond *c, uint32_t lines)
{
	size_t i;

	CHECK(c != NULL);
	check_pos(c->pos, lines);
	switch (c->kind) {
	case SQL_COND_OR:
	case SQL_COND_AND:
		CHECK(c->nkids >= 2 && c->nlits == 0);
		break;
	case SQL_COND_NOT:
		CHECK(c->nkids == 1 && c->nlits == 0);
		break;
	case SQL_COND_CMP:
		CHECK(c->nlits == 1 && c->cmp <= SQL_GE && !c->negated);
		break;
	case SQL_COND_BETWEEN:
		CHECK(c->nlits == 2);
		break;
	case SQL_COND_IN:
		CHECK(c->nlits >= 1);
		break;
	case SQL_COND_NULL:
		CHECK(c->nlits == 0);
		break;
	case SQL_COND_LIKE:
		CHECK(c->nlits == 1 && c->lits[0].type == SQL_LIT_STRING && !c->negated);
		CHECK(memchr(c->lits[0].s, '%', c->lits[0].len) == NULL);
		CHECK(memchr(c->lits[0].s, '_', c->lits[0].len) == NULL);
		break;
	default:
		CHECK(!"condition kind");
	}
	if (c->kind <= SQL_COND_NOT) {
		CHECK(c->column == NULL);
		for (i = 0; i < c->nkids; i++)
			check_cond(c->kids[i], lines);
	} else {
		CHECK(c->nkids == 0);
		check_name(c->column);
		for (i = 0; i < c->nlits; i++)
			check_lit(&c->lits[i], lines);
	}
}

static void
check_query(const struct sql_query *q, uint32_t lines)
{
	size_t i;

	CHECK(q->nitems >= 1);
	for (i = 0; i < q->nitems; i++) {
		const struct sql_item *it = &q->items[i];

		check_pos(it->pos, lines);
		check_name(it->name);
		if (it->alias != NULL) {
			check_name(it->alias);
			CHECK(strcmp(it->alias, it->name) == 0);
		}
		if (!it->is_agg)
			check_key(&it->key, lines);
		else if (it->agg == FN_COUNT)
			CHECK(it->agg_column == NULL);
		else
			check_name(it->agg_column);
	}
	check_name(q->product);
	check_pos(q->product_pos, lines);
	if (q->where != NULL)
		check_cond(q->where, lines);
	for (i = 0; i < q->ngroup; i++)
		check_key(&q->group[i], lines);
	for (i = 0; i < q->norder; i++) {
		check_name(q->order[i].name);
		check_pos(q->order[i].pos, lines);
	}
	CHECK(!q->has_limit || q->limit <= (uint64_t)INT64_MAX);
}

/* A refusal: its code, and a message safe to print whose place is in the text. */
static void
check_refusal(int r, size_t size, uint32_t lines)
{
	const char *msg = sl_err_msg(r);
	unsigned long line, col;
	char *end;

	CHECK(utf8_ok((const uint8_t *)msg, strlen(msg), 1));
	if (r == SL_ERR_LIMIT) {
		CHECK(size > SQL_MAX_TEXT);
		return;
	}
	CHECK(r == SL_ERR_PARSE || r == SL_ERR_NOMEM);
	if (r != SL_ERR_PARSE)
		return;
	line = strtoul(msg, &end, 10);
	CHECK(end != msg && *end == ':');
	col = strtoul(end + 1, &end, 10);
	CHECK(*end == ':' && end[1] == ' ');
	CHECK(line >= 1 && line <= lines && col >= 1 && col <= size + 1);
}

/* ---- printing back -------------------------------------------------------- */

struct out {
	char *s;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	CHECK(n >= 0);
	while (o->cap - o->len <= (size_t)n) {
		o->cap = o->cap * 2 + 256;
		CHECK((o->s = realloc(o->s, o->cap)) != NULL);
	}
	va_start(ap, fmt);
	vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

/* s[0 .. n-1] with each q doubled, to go between quotes q. */
static void
put_chars(struct out *o, const char *s, size_t n, char q)
{
	size_t i;

	for (i = 0; i < n; i++)
		put(o, s[i] == q ? "%c%c" : "%c", s[i], s[i]);
}

static void
put_quoted(struct out *o, const char *s, size_t n, char q)
{
	put(o, "%c", q);
	put_chars(o, s, n, q);
	put(o, "%c", q);
}

static void
put_name(struct out *o, const char *s)
{
	put_quoted(o, s, strlen(s), '"');
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's civil_from_days). */
static void
put_date(struct out *o, int64_t z)
{
	int64_t era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	CHECK(y >= 0 && y <= 9999);
	put(o, "DATE '%04" PRId64 "-%02" PRId64 "-%02" PRId64 "'", y, m, d);
}

static void
put_lit(struct out *o, const struct sql_literal *l)
{
	uint64_t mag = l->i < 0 ? 0 - (uint64_t)l->i : (uint64_t)l->i, p10 = 1;
	uint32_t k;

	switch (l->type) {
	case SQL_LIT_INT:
		put(o, "%" PRId64, l->i);
		return;
	case SQL_LIT_DECIMAL:
		for (k = 0; k < l->scale; k++)
			p10 *= 10;
		put(o, "%s%" PRIu64 ".", l->i < 0 ? "-" : "", mag / p10);
		if (l->scale > 0)
			put(o, "%0*" PRIu64, (int)l->scale, mag % p10);
		return;
	case SQL_LIT_STRING:
		put_quoted(o, l->s, l->len, '\'');
		return;
	case SQL_LIT_DATE:
		put_date(o, l->i);
		return;
	case SQL_LIT_BOOL:
		put(o, "%s", l->i ? "TRUE" : "FALSE");
		return;
	}
}

static void
put_key(struct out *o, const struct sql_key *k)
{
	static const char *const fn[] = {"", "BUCKET", "YEAR", "MONTH"};

	if (k->fn == FN_KEY_COLUMN) {
		put_name(o, k->column);
		return;
	}
	put(o, "%s(", fn[k->fn]);
	put_name(o, k->column);
	if (k->fn == FN_KEY_BUCKET) {
		put(o, ", ");
		put_lit(o, &k->width);
	}
	put(o, ")");
}

static void
put_item(struct out *o, const struct sql_item *it)
{
	if (!it->is_agg) {
		put_key(o, &it->key);
	} else if (it->agg == FN_COUNT) {
		put(o, "COUNT(*)");
	} else {
		if (it->agg == FN_COUNT_DISTINCT)
			put(o, "COUNT(DISTINCT ");
		else
			put(o, "%s(", fn_aggs[it->agg].call);
		put_name(o, it->agg_column);
		put(o, ")");
	}
	if (it->alias != NULL) {
		put(o, " AS ");
		put_name(o, it->alias);
	}
}

static void put_cond(struct out *o, const struct sql_cond *c);

/* A kid of a node of kind parent, in parentheses only where the tree needs them. */
static void
put_kid(struct out *o, enum sql_cond_kind parent, const struct sql_cond *kid)
{
	int paren =
	    kid->kind == SQL_COND_OR || (kid->kind == SQL_COND_AND && parent != SQL_COND_OR);

	put(o, "%s", paren ? "(" : "");
	put_cond(o, kid);
	put(o, "%s", paren ? ")" : "");
}

static void
put_cond(struct out *o, const struct sql_cond *c)
{
	static const char *const ops[] = {"=", "<>", "<", "<=", ">", ">="};
	size_t i;

	switch (c->kind) {
	case SQL_COND_OR:
	case SQL_COND_AND:
		for (i = 0; i < c->nkids; i++) {
			put(o, "%s", i == 0 ? "" : c->kind == SQL_COND_OR ? " OR " : " AND ");
			put_kid(o, c->kind, c->kids[i]);
		}
		return;
	case SQL_COND_NOT:
		put(o, "NOT ");
		put_kid(o, c->kind, c->kids[0]);
		return;
	default:
		break;
	}
	put_name(o, c->column);
	switch (c->kind) {
	case SQL_COND_CMP:
		put(o, " %s ", ops[c->cmp]);
		put_lit(o, &c->lits[0]);
		break;
	case SQL_COND_BETWEEN:
		put(o, " %sBETWEEN ", c->negated ? "NOT " : "");
		put_lit(o, &c->lits[0]);
		put(o, " AND ");
		put_lit(o, &c->lits[1]);
		break;
	case SQL_COND_IN:
		put(o, " %sIN (", c->negated ? "NOT " : "");
		for (i = 0; i < c->nlits; i++) {
			put(o, "%s", i > 0 ? ", " : "");
			put_lit(o, &c->lits[i]);
		}
		put(o, ")");
		break;
	case SQL_COND_NULL:
		put(o, " IS %sNULL", c->negated ? "NOT " : "");
		break;
	case SQL_COND_LIKE:
		put(o, " LIKE '");
		put_chars(o, c->lits[0].s, c->lits[0].len, '\'');
		put(o, "%%'");
		break;
	default:
		break;
	}
}

static void
put_query(struct out *o, const struct sql_query *q)
{
	size_t i;

	put(o, "SELECT ");
	for (i = 0; i < q->nitems; i++) {
		put(o, "%s", i > 0 ? ", " : "");
		put_item(o, &q->items[i]);
	}
	put(o, " FROM ");
	put_name(o, q->product);
	if (q->where != NULL) {
		put(o, " WHERE ");
		put_cond(o, q->where);
	}
	for (i = 0; i < q->ngroup; i++) {
		put(o, "%s", i == 0 ? " GROUP BY " : ", ");
		put_key(o, &q->group[i]);
	}
	for (i = 0; i < q->norder; i++) {
		put(o, "%s", i == 0 ? " ORDER BY " : ", ");
		put_name(o, q->order[i].name);
		put(o, "%s", q->order[i].desc ? " DESC" : "");
	}
	if (q->has_limit)
		put(o, " LIMIT %" PRIu64, q->limit);
}

/* ---- comparing, positions aside ------------------------------------------- */

static int
str_eq(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int
lit_eq(const struct sql_literal *a, const struct sql_literal *b)
{
	return a->type == b->type && a->i == b->i && a->scale == b->scale && a->len == b->len &&
	       str_eq(a->s, b->s);
}

static int
key_eq(const struct sql_key *a, const struct sql_key *b)
{
	return a->fn == b->fn && str_eq(a->column, b->column) &&
	       (a->fn != FN_KEY_BUCKET || lit_eq(&a->width, &b->width));
}

static int
cond_eq(const struct sql_cond *a, const struct sql_cond *b)
{
	size_t i;

	if (a->kind != b->kind || a->negated != b->negated || a->nlits != b->nlits ||
	    a->nkids != b->nkids || !str_eq(a->column, b->column) ||
	    (a->kind == SQL_COND_CMP && a->cmp != b->cmp))
		return 0;
	for (i = 0; i < a->nlits; i++)
		if (!lit_eq(&a->lits[i], &b->lits[i]))
			return 0;
	for (i = 0; i < a->nkids; i++)
		if (!cond_eq(a->kids[i], b->kids[i]))
			return 0;
	return 1;
}

static int
query_eq(const struct sql_query *a, const struct sql_query *b)
{
	size_t i;

	if (a->nitems != b->nitems || !str_eq(a->product, b->product) || a->ngroup != b->ngroup ||
	    a->norder != b->norder || a->has_limit != b->has_limit || a->limit != b->limit ||
	    (a->where == NULL) != (b->where == NULL) ||
	    (a->where != NULL && !cond_eq(a->where, b->where)))
		return 0;
	for (i = 0; i < a->nitems; i++) {
		const struct sql_item *x = &a->items[i], *y = &b->items[i];

		if (x->is_agg != y->is_agg || !str_eq(x->alias, y->alias) ||
		    !str_eq(x->name, y->name) ||
		    (x->is_agg ? x->agg != y->agg || !str_eq(x->agg_column, y->agg_column)
		               : !key_eq(&x->key, &y->key)))
			return 0;
	}
	for (i = 0; i < a->ngroup; i++)
		if (!key_eq(&a->group[i], &b->group[i]))
			return 0;
	for (i = 0; i < a->norder; i++)
		if (!str_eq(a->order[i].name, b->order[i].name) ||
		    a->order[i].desc != b->order[i].desc)
			return 0;
	return 1;
}

/* ---- the entry point ------------------------------------------------------ */

static void
round_trip(const struct sql_query *q, const uint8_t *data, size_t size)
{
	struct out o = {NULL, 0, 0};
	struct sql_query *again = NULL;
	int r;

	put_query(&o, q);
	if (o.len <= SQL_MAX_TEXT) {
		if ((r = sql_parse(o.s, o.len, &again)) != 0) {
			fprintf(stderr, "input: %.*s\nprinted: %s\nrefused: %s\n", (int)size,
			    (const char *)data, o.s, sl_err_msg(r));
			abort();
		}
		if (!query_eq(q, again)) {
			fprintf(stderr, "input: %.*s\nprinted: %s\ngives another tree\n", (int)size,
			    (const char *)data, o.s);
			abort();
		}
		sql_free(again);
	}
	free(o.s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sql_query *q = NULL;
	uint32_t lines = 1;
	size_t i;
	char *copy;
	int r;

	/* A copy of exactly size bytes (at least one, for malloc's sake). */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	sl_err_clear();
	r = sql_parse(copy, size, &q);
	if (r != 0) {
		CHECK(q == NULL);
		check_refusal(r, size, lines);
	} else {
		CHECK(q != NULL);
		check_query(q, lines);
		round_trip(q, data, size);
		sql_free(q);
	}
	free(copy);
	return 0;
}
