/*
 * tests/unit/sandbox/sql_test.c -- the query language parser (sandbox/sql.h).
 *
 * The whole grammar of README.md, "The query language" with the tree each form gives
 * (conditions are compared as a compact picture of their shape), the exact
 * "line:col: expected X, found Y" of many mistakes, and hostile text: deep
 * nesting, a 100,000-term OR chain, a 1 MB IN list, NUL bytes, bad UTF-8,
 * numbers out of range, and every allocation failing in turn.
 *
 * Every text is handed to the parser in a heap copy of exactly its length,
 * without a terminating NUL, so that ASan catches a read past the end.  The
 * file under test is #included, so that its allocations can be made to fail.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "common/err.h"
#include "sandbox/sql.h"

/* ---- allocation failure --------------------------------------------------- */

static long st_fail_at = -1; /* the allocation that fails, counting from 0; -1: none */
static long st_allocs;

static int
st_alloc_fails(void)
{
	return st_fail_at >= 0 && st_allocs++ == st_fail_at;
}

static void *
st_malloc(size_t n)
{
	return st_alloc_fails() ? NULL : malloc(n);
}

static void *
st_calloc(size_t n, size_t size)
{
	return st_alloc_fails() ? NULL : calloc(n, size);
}

static void *
st_realloc(void *p, size_t n)
{
	return st_alloc_fails() ? NULL : realloc(p, n);
}

static __attribute__((unused)) char *
st_strdup(const char *s)
{
	return st_alloc_fails() ? NULL : strdup(s);
}

static __attribute__((unused)) char *
st_strndup(const char *s, size_t n)
{
	return st_alloc_fails() ? NULL : strndup(s, n);
}

static __attribute__((unused, format(printf, 2, 0))) int
st_vasprintf(char **out, const char *fmt, va_list ap)
{
	return st_alloc_fails() ? -1 : vasprintf(out, fmt, ap);
}

#define malloc st_malloc
#define calloc st_calloc
#define realloc st_realloc
#define strdup st_strdup
#define strndup st_strndup
#define vasprintf st_vasprintf
#include "sandbox/sql.c"
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef strndup
#undef vasprintf

/* ---- helpers -------------------------------------------------------------- */

/* Parse len bytes of text from an exact-size heap copy. */
static int
st_parse_n(const char *text, size_t len, struct sql_query **q)
{
	char *copy = malloc(len > 0 ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, text, len);
	*q = NULL;
	sl_err_clear();
	r = sql_parse(copy, len, q);
	free(copy);
	return r;
}

/* Parse text, which must be valid. */
static struct sql_query *
st_ok(const char *text)
{
	struct sql_query *q;
	int r = st_parse_n(text, strlen(text), &q);

	if (r != 0)
		fail_msg("%s\n  -> %d: %s", text, r, sl_err_msg(r));
	assert_non_null(q);
	return q;
}

/* Parse len bytes of text, which must fail with code and exactly msg. */
static void
st_fail_n(const char *text, size_t len, int code, const char *msg)
{
	struct sql_query *q;
	int r = st_parse_n(text, len, &q);

	if (r == 0) {
		sql_free(q);
		fail_msg("%.200s\n  parsed; expected \"%s\"", text, msg);
	}
	if (r != code || strcmp(sl_err_msg(r), msg) != 0)
		fail_msg("%.200s\n  got      %d \"%s\"\n  expected %d \"%s\"", text, r,
		    sl_err_msg(r), code, msg);
}

static void
st_fail(const char *text, const char *msg)
{
	st_fail_n(text, strlen(text), SL_ERR_PARSE, msg);
}

struct st_buf {
	char *s;
	size_t len, cap;
};

static __attribute__((format(printf, 2, 3))) void
st_put(struct st_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	while (b->cap - b->len <= (size_t)n) {
		b->cap = b->cap * 2 + 64;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A literal: 5, 1250e-2 (DECIMAL), 'text', D-1 (DATE, days), TRUE. */
static void
st_put_lit(struct st_buf *b, const struct sql_literal *l)
{
	switch (l->type) {
	case SQL_LIT_INT:
		st_put(b, "%" PRId64, l->i);
		break;
	case SQL_LIT_DECIMAL:
		st_put(b, "%" PRId64 "e-%" PRIu32, l->i, l->scale);
		break;
	case SQL_LIT_STRING:
		assert_non_null(l->s);
		assert_int_equal(strlen(l->s), l->len);
		st_put(b, "'%s'", l->s);
		break;
	case SQL_LIT_DATE:
		st_put(b, "D%" PRId64, l->i);
		break;
	case SQL_LIT_BOOL:
		st_put(b, "%s", l->i ? "TRUE" : "FALSE");
		break;
	}
}

/* The shape of a condition: OR[a=1; AND[b<>2; NOT[c IS NULL]]]. */
static void
st_put_cond(struct st_buf *b, const struct sql_cond *c)
{
	static const char *const ops[] = {"=", "<>", "<", "<=", ">", ">="};
	size_t i;

	assert_non_null(c);
	switch (c->kind) {
	case SQL_COND_OR:
	case SQL_COND_AND:
	case SQL_COND_NOT:
		assert_true(c->kind == SQL_COND_NOT ? c->nkids == 1 : c->nkids >= 2);
		st_put(b, "%s[",
		    c->kind == SQL_COND_OR    ? "OR"
		    : c->kind == SQL_COND_AND ? "AND"
		                              : "NOT");
		for (i = 0; i < c->nkids; i++) {
			st_put(b, "%s", i > 0 ? "; " : "");
			st_put_cond(b, c->kids[i]);
		}
		st_put(b, "]");
		return;
	case SQL_COND_CMP:
		assert_int_equal(c->nlits, 1);
		st_put(b, "%s%s", c->column, ops[c->cmp]);
		st_put_lit(b, &c->lits[0]);
		return;
	case SQL_COND_BETWEEN:
		assert_int_equal(c->nlits, 2);
		st_put(b, "%s %sBETWEEN ", c->column, c->negated ? "NOT " : "");
		st_put_lit(b, &c->lits[0]);
		st_put(b, " ");
		st_put_lit(b, &c->lits[1]);
		return;
	case SQL_COND_IN:
		assert_true(c->nlits >= 1);
		st_put(b, "%s %sIN(", c->column, c->negated ? "NOT " : "");
		for (i = 0; i < c->nlits; i++) {
			st_put(b, "%s", i > 0 ? "," : "");
			st_put_lit(b, &c->lits[i]);
		}
		st_put(b, ")");
		return;
	case SQL_COND_NULL:
		assert_int_equal(c->nlits, 0);
		st_put(b, "%s IS %sNULL", c->column, c->negated ? "NOT " : "");
		return;
	case SQL_COND_LIKE:
		assert_int_equal(c->nlits, 1);
		assert_int_equal(c->lits[0].type, SQL_LIT_STRING);
		st_put(b, "%s LIKE ", c->column);
		st_put_lit(b, &c->lits[0]);
		return;
	}
	fail_msg("unknown condition kind %d", (int)c->kind);
}

/* "SELECT a FROM t WHERE " + where must parse to a condition of the given shape. */
static void
st_where(const char *where, const char *shape)
{
	struct st_buf text = {0}, got = {0};
	struct sql_query *q;

	st_put(&text, "SELECT a FROM t WHERE %s", where);
	q = st_ok(text.s);
	st_put_cond(&got, q->where);
	if (strcmp(got.s, shape) != 0)
		fail_msg("WHERE %s\n  got      %s\n  expected %s", where, got.s, shape);
	sql_free(q);
	free(text.s);
	free(got.s);
}

static void
st_pos(struct sql_pos pos, uint32_t line, uint32_t col)
{
	if (pos.line != line || pos.col != col)
		fail_msg("position %" PRIu32 ":%" PRIu32 ", expected %" PRIu32 ":%" PRIu32,
		    pos.line, pos.col, line, col);
}

/* A NUL-terminated copy of prefix, then mid repeated n times, then suffix. */
static char *
st_repeat(const char *prefix, const char *mid, size_t n, const char *suffix, size_t *lenp)
{
	size_t a = strlen(prefix), m = strlen(mid), z = strlen(suffix), i;
	size_t len = a + m * n + z;
	char *s = malloc(len + 1), *w;

	assert_non_null(s);
	memcpy(s, prefix, a);
	for (w = s + a, i = 0; i < n; i++, w += m)
		memcpy(w, mid, m);
	memcpy(w, suffix, z + 1);
	if (lenp != NULL)
		*lenp = len;
	return s;
}

/* ---- the grammar ---------------------------------------------------------- */

static void
test_minimal(void **state)
{
	struct sql_query *q = st_ok("SELECT region FROM claims");

	assert_int_equal(q->nitems, 1);
	assert_false(q->items[0].is_agg);
	assert_int_equal(q->items[0].key.fn, FN_KEY_COLUMN);
	assert_string_equal(q->items[0].key.column, "region");
	assert_string_equal(q->items[0].name, "region");
	assert_null(q->items[0].alias);
	assert_string_equal(q->product, "claims");
	st_pos(q->product_pos, 1, 20);
	assert_null(q->where);
	assert_int_equal(q->ngroup, 0);
	assert_int_equal(q->norder, 0);
	assert_false(q->has_limit);
	sql_free(q);
}

static void
test_every_aggregate(void **state)
{
	static const struct {
		enum fn_agg agg;
		const char *column, *name;
	} want[] = {
	    {FN_COUNT, NULL, "COUNT(*)"},
	    {FN_COUNT_DISTINCT, "member_id", "COUNT(DISTINCT member_id)"},
	    {FN_SUM, "claim_fen", "SUM(claim_fen)"},
	    {FN_AVG, "claim_fen", "AVG(claim_fen)"},
	    {FN_STDDEV, "days", "STDDEV(days)"},
	    {FN_VARIANCE, "days", "VARIANCE(days)"},
	    {FN_MIN, "age", "MIN(age)"},
	    {FN_MAX, "age", "MAX(age)"},
	    {FN_COUNT, NULL, "COUNT(*)"},
	    {FN_AVG, "Claim Fen", "AVG(Claim Fen)"},
	};
	struct sql_query *q = st_ok(
	    "SELECT COUNT(*), COUNT(DISTINCT member_id), SUM(claim_fen), AVG(claim_fen), "
	    "STDDEV(days), VARIANCE(days), MIN(age), MAX(age), count ( * ), avg(\"Claim Fen\") "
	    "FROM claims");
	size_t i;

	assert_int_equal(q->nitems, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < q->nitems; i++) {
		assert_true(q->items[i].is_agg);
		assert_int_equal(q->items[i].agg, want[i].agg);
		if (want[i].column == NULL)
			assert_null(q->items[i].agg_column);
		else
			assert_string_equal(q->items[i].agg_column, want[i].column);
		assert_string_equal(q->items[i].name, want[i].name);
		assert_null(q->items[i].alias);
	}
	st_pos(q->items[1].pos, 1, 18);
	sql_free(q);
}

static void
test_every_key(void **state)
{
	struct sql_query *q = st_ok("SELECT region, BUCKET(age, 10), bucket(claim_fen,0.50), "
	                            "BUCKET(x, 010), YEAR(admitted), Month ( admitted ), "
	                            "BUCKET(\"Age\", 2.5) FROM claims");
	const struct sql_item *it = q->items;

	assert_int_equal(q->nitems, 7);
	assert_int_equal(it[0].key.fn, FN_KEY_COLUMN);
	assert_int_equal(it[1].key.fn, FN_KEY_BUCKET);
	assert_string_equal(it[1].key.column, "age");
	assert_int_equal(it[1].key.width.type, SQL_LIT_INT);
	assert_int_equal(it[1].key.width.i, 10);
	st_pos(it[1].key.width.pos, 1, 28);
	assert_string_equal(it[1].name, "BUCKET(age, 10)");
	assert_int_equal(it[2].key.width.type, SQL_LIT_DECIMAL);
	assert_int_equal(it[2].key.width.i, 50);
	assert_int_equal(it[2].key.width.scale, 2);
	assert_string_equal(it[2].name, "BUCKET(claim_fen, 0.50)");
	assert_string_equal(it[3].name, "BUCKET(x, 10)");
	assert_int_equal(it[4].key.fn, FN_KEY_YEAR);
	assert_string_equal(it[4].key.column, "admitted");
	assert_string_equal(it[4].name, "YEAR(admitted)");
	assert_int_equal(it[5].key.fn, FN_KEY_MONTH);
	assert_string_equal(it[5].name, "MONTH(admitted)");
	assert_string_equal(it[6].key.column, "Age");
	assert_string_equal(it[6].name, "BUCKET(Age, 2.5)");
	for (size_t i = 0; i < q->nitems; i++)
		assert_false(it[i].is_agg);
	sql_free(q);
}

static void
test_function_names_are_columns_without_paren(void **state)
{
	struct sql_query *q =
	    st_ok("SELECT year, month, count, bucket, sum FROM t WHERE year = 2024 GROUP BY year, "
	          "month ORDER BY count");

	assert_int_equal(q->nitems, 5);
	assert_int_equal(q->items[0].key.fn, FN_KEY_COLUMN);
	assert_string_equal(q->items[0].key.column, "year");
	assert_false(q->items[2].is_agg);
	assert_string_equal(q->items[2].name, "count");
	assert_string_equal(q->where->column, "year");
	assert_int_equal(q->group[1].fn, FN_KEY_COLUMN);
	assert_string_equal(q->group[1].column, "month");
	assert_string_equal(q->order[0].name, "count");
	sql_free(q);
}

static void
test_aliases(void **state)
{
	struct sql_query *q = st_ok("SELECT region AS r, COUNT(*) AS \"number of claims\", "
	                            "BUCKET(age, 5) as age_band FROM claims");

	assert_string_equal(q->items[0].alias, "r");
	assert_string_equal(q->items[0].name, "r");
	assert_string_equal(q->items[0].key.column, "region");
	assert_string_equal(q->items[1].alias, "number of claims");
	assert_string_equal(q->items[1].name, "number of claims");
	assert_true(q->items[1].is_agg);
	assert_string_equal(q->items[2].name, "age_band");
	sql_free(q);
}

static void
test_quoted_identifiers(void **state)
{
	struct sql_query *q = st_ok("SELECT \"Region \"\"X\"\"\", \"select\", Region, \"地区\" "
	                            "FROM \"my-product\" WHERE \"from\" = 1");

	assert_string_equal(q->items[0].key.column, "Region \"X\"");
	assert_string_equal(q->items[0].name, "Region \"X\"");
	assert_string_equal(q->items[1].key.column, "select");
	assert_string_equal(q->items[2].key.column, "Region"); /* case kept */
	assert_string_equal(q->items[3].key.column, "地区");
	assert_string_equal(q->product, "my-product");
	assert_string_equal(q->where->column, "from");
	sql_free(q);
}

static void
test_keywords_any_case(void **state)
{
	struct sql_query *q = st_ok("sElEcT Region, count(*) As N fRoM Claims wHeRe AGE bEtWeEn 1 "
	                            "AnD 2 Or age iS nOt NuLl GrOuP bY Region OrDeR bY N dEsC "
	                            "LiMiT 5");

	assert_string_equal(q->items[0].key.column, "Region");
	assert_string_equal(q->items[1].alias, "N");
	assert_string_equal(q->product, "Claims");
	assert_int_equal(q->where->kind, SQL_COND_OR);
	assert_string_equal(q->where->kids[0]->column, "AGE");
	assert_int_equal(q->ngroup, 1);
	assert_int_equal(q->norder, 1);
	assert_true(q->order[0].desc);
	assert_true(q->has_limit);
	assert_int_equal(q->limit, 5);
	sql_free(q);
}

static void
test_comments_and_semicolon(void **state)
{
	struct sql_query *q = st_ok("-- the claims by region\n"
	                            "SELECT region, -- the key\n"
	                            "       COUNT(*)--no space needed\n"
	                            "FROM claims ;  -- done\n"
	                            "\t\r\n");

	assert_int_equal(q->nitems, 2);
	st_pos(q->items[1].pos, 3, 8);
	st_pos(q->product_pos, 4, 6);
	sql_free(q);
	sql_free(st_ok("SELECT a FROM t;"));
	sql_free(st_ok("SELECT a FROM t LIMIT 3 ; "));
	sql_free(st_ok("SELECT a FROM t --"));
}

static void
test_every_operator(void **state)
{
	st_where("a = 1", "a=1");
	st_where("a <> 1", "a<>1");
	st_where("a != 1", "a<>1");
	st_where("a < 1", "a<1");
	st_where("a <= 1", "a<=1");
	st_where("a > 1", "a>1");
	st_where("a >= 1", "a>=1");
	st_where("a<=1 AND b>=-2 AND c<>3 AND d!=4 AND e<5 AND f>6 AND g=7",
	    "AND[a<=1; b>=-2; c<>3; d<>4; e<5; f>6; g=7]");
}

static void
test_every_literal(void **state)
{
	st_where("a = 5", "a=5");
	st_where("a > -5", "a>-5");
	st_where("a = 0", "a=0");
	st_where("a = 9223372036854775807", "a=9223372036854775807");
	st_where("a = -9223372036854775808", "a=-9223372036854775808");
	st_where("a = 12.50", "a=1250e-2");
	st_where("a = -0.5", "a=-5e-1");
	st_where("a = 0.000000000000000001", "a=1e-18");
	st_where("a = 9.223372036854775807", "a=9223372036854775807e-18");
	st_where("a = -92233720368547758.08", "a=-9223372036854775808e-2");
	st_where("a = 'it''s'", "a='it's'");
	st_where("a = ''", "a=''");
	st_where("a = '北京 😀'", "a='北京 😀'");
	st_where("a = 'two\nlines'", "a='two\nlines'");
	st_where("a = DATE '1970-01-01'", "a=D0");
	st_where("a = DATE '1969-12-31'", "a=D-1");
	st_where("a = date '2000-01-01'", "a=D10957");
	st_where("a = DATE '2024-02-29'", "a=D19782");
	st_where("a = TRUE OR a = false", "OR[a=TRUE; a=FALSE]");
}

static void
test_literal_types(void **state)
{
	struct sql_query *q =
	    st_ok("SELECT a FROM t WHERE a IN (1, 2.5, 'x', DATE '2023-03-01', TRUE)");
	const struct sql_literal *l = q->where->lits;

	assert_int_equal(q->where->nlits, 5);
	assert_int_equal(l[0].type, SQL_LIT_INT);
	assert_int_equal(l[1].type, SQL_LIT_DECIMAL);
	assert_int_equal(l[1].scale, 1);
	assert_int_equal(l[2].type, SQL_LIT_STRING);
	assert_int_equal(l[2].len, 1);
	assert_int_equal(l[3].type, SQL_LIT_DATE);
	assert_int_equal(l[3].i, 19417);
	assert_int_equal(l[4].type, SQL_LIT_BOOL);
	assert_int_equal(l[4].i, 1);
	assert_null(l[0].s);
	st_pos(l[0].pos, 1, 29);
	st_pos(l[3].pos, 1, 42); /* a DATE literal starts at DATE */
	sql_free(q);
}

static void
test_predicates(void **state)
{
	st_where("age BETWEEN 18 AND 65", "age BETWEEN 18 65");
	st_where("age NOT BETWEEN 18 AND 65", "age NOT BETWEEN 18 65");
	st_where("d BETWEEN DATE '2023-01-01' AND DATE '2023-12-31'", "d BETWEEN D19358 D19722");
	st_where("region IN ('north')", "region IN('north')");
	st_where("region IN ('north', 'south', 'it''s')", "region IN('north','south','it's')");
	st_where("region NOT IN (1,2)", "region NOT IN(1,2)");
	st_where("x IS NULL", "x IS NULL");
	st_where("x IS NOT NULL", "x IS NOT NULL");
	st_where("name LIKE 'Zh%'", "name LIKE 'Zh'");
	st_where("name LIKE '%'", "name LIKE ''");
	st_where("name LIKE '北京%'", "name LIKE '北京'");
	st_where("name LIKE 'O''Brien%'", "name LIKE 'O'Brien'");
}

static void
test_group_order_limit(void **state)
{
	struct sql_query *q = st_ok("SELECT region, BUCKET(age, 10), COUNT(*) AS n FROM claims "
	                            "GROUP BY region, BUCKET(age, 10), YEAR(d), MONTH(d) "
	                            "ORDER BY n DESC, region ASC, \"BUCKET(age, 10)\", COUNT(*) "
	                            "desc, bucket(age,10) LIMIT 0");

	assert_int_equal(q->ngroup, 4);
	assert_int_equal(q->group[0].fn, FN_KEY_COLUMN);
	assert_string_equal(q->group[0].column, "region");
	assert_int_equal(q->group[1].fn, FN_KEY_BUCKET);
	assert_int_equal(q->group[1].width.i, 10);
	assert_int_equal(q->group[2].fn, FN_KEY_YEAR);
	assert_int_equal(q->group[3].fn, FN_KEY_MONTH);
	assert_string_equal(q->group[3].column, "d");
	assert_int_equal(q->norder, 5);
	assert_string_equal(q->order[0].name, "n");
	assert_true(q->order[0].desc);
	assert_string_equal(q->order[1].name, "region");
	assert_false(q->order[1].desc);
	assert_string_equal(q->order[2].name, "BUCKET(age, 10)");
	assert_false(q->order[2].desc);
	assert_string_equal(
	    q->order[3].name, "COUNT(*)"); /* the item's name, written as the item */
	assert_true(q->order[3].desc);
	assert_string_equal(q->order[4].name, "BUCKET(age, 10)");
	assert_true(q->has_limit);
	assert_int_equal(q->limit, 0);
	sql_free(q);

	q = st_ok("SELECT a FROM t LIMIT 9223372036854775807");
	assert_true(q->limit == (uint64_t)INT64_MAX);
	sql_free(q);
}

static void
test_whole_query_positions(void **state)
{
	struct sql_query *q = st_ok("SELECT region AS r,\n"
	                            "  BUCKET(age, 10)\n"
	                            "FROM claims\n"
	                            "WHERE NOT (a = 1 OR b IN (1, 'é', 3)) AND c IS NULL\n"
	                            "  AND (d = 2 OR e = 3)\n"
	                            "GROUP BY region, YEAR(x) ORDER BY r DESC, \"é\" LIMIT 7");
	const struct sql_cond *w = q->where, *not, * or ;

	st_pos(q->items[0].pos, 1, 8);
	st_pos(q->items[0].key.pos, 1, 8);
	st_pos(q->items[1].pos, 2, 3);
	st_pos(q->items[1].key.width.pos, 2, 15);
	st_pos(q->product_pos, 3, 6);
	assert_int_equal(w->kind, SQL_COND_AND);
	assert_int_equal(w->nkids, 3);
	st_pos(w->pos, 4, 7);
	not = w->kids[0];
	st_pos(not ->pos, 4, 7);
	or = not ->kids[0];
	assert_int_equal(or->kind, SQL_COND_OR);
	st_pos(or->pos, 4, 12);
	st_pos(or->kids[0]->pos, 4, 12);
	st_pos(or->kids[0]->lits[0].pos, 4, 16);
	st_pos(or->kids[1]->pos, 4, 21);
	st_pos(or->kids[1]->lits[1].pos, 4, 30);
	st_pos(or->kids[1]->lits[2].pos, 4, 35); /* 'é' is three characters */
	st_pos(w->kids[1]->pos, 4, 43);
	/* Parentheses make no node: the OR inside them starts at its first term. */
	st_pos(w->kids[2]->pos, 5, 8);
	st_pos(w->kids[2]->kids[0]->pos, 5, 8);
	st_pos(q->group[0].pos, 6, 10);
	st_pos(q->group[1].pos, 6, 18);
	st_pos(q->order[0].pos, 6, 35);
	st_pos(q->order[1].pos, 6, 43);
	sql_free(q);

	/* A chain whose first term is in parentheses starts at the '('. */
	q = st_ok("SELECT a FROM t WHERE (a = 1 OR b = 2) AND c = 3 OR (((d = 4)))");
	st_pos(q->where->pos, 1, 23);
	st_pos(q->where->kids[0]->pos, 1, 23);
	st_pos(q->where->kids[0]->kids[0]->pos, 1, 24);
	st_pos(q->where->kids[1]->pos, 1, 56);
	sql_free(q);
}

/* ---- precedence and shape ------------------------------------------------- */

static void
test_precedence(void **state)
{
	st_where("a = 1 OR b = 2 AND c = 3", "OR[a=1; AND[b=2; c=3]]");
	st_where("a = 1 AND b = 2 OR c = 3", "OR[AND[a=1; b=2]; c=3]");
	st_where("NOT a = 1 AND b = 2", "AND[NOT[a=1]; b=2]");
	st_where("NOT (a = 1 AND b = 2)", "NOT[AND[a=1; b=2]]");
	st_where("a = 1 OR NOT b = 2 AND c = 3", "OR[a=1; AND[NOT[b=2]; c=3]]");
	st_where("NOT NOT a = 1", "NOT[NOT[a=1]]");
	st_where("((a = 1))", "a=1");
	st_where("(a = 1 OR b = 2) AND c = 3", "AND[OR[a=1; b=2]; c=3]");
	st_where("a BETWEEN 1 AND 2 AND b = 3", "AND[a BETWEEN 1 2; b=3]");
	st_where("a NOT BETWEEN 1 AND 2 OR a NOT IN (3) AND b IS NOT NULL",
	    "OR[a NOT BETWEEN 1 2; AND[a NOT IN(3); b IS NOT NULL]]");
}

static void
test_flattening(void **state)
{
	st_where("a = 1 OR b = 2 OR c = 3", "OR[a=1; b=2; c=3]");
	st_where("a = 1 AND b = 2 AND c = 3 AND d = 4", "AND[a=1; b=2; c=3; d=4]");
	st_where(
	    "a = 1 AND b = 2 OR c = 3 AND d = 4 OR e = 5", "OR[AND[a=1; b=2]; AND[c=3; d=4]; e=5]");
	/* Parentheses nest: the tree says what the text says. */
	st_where("(a = 1 OR b = 2) OR c = 3", "OR[OR[a=1; b=2]; c=3]");
	st_where("a = 1 AND (b = 2 AND c = 3)", "AND[a=1; AND[b=2; c=3]]");
	st_where("(a = 1 OR b = 2) AND (c = 3 OR d = 4)", "AND[OR[a=1; b=2]; OR[c=3; d=4]]");
}

/* ---- mistakes ------------------------------------------------------------- */

static void
test_error_messages(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"SELECT region, COUNT(*) claims", "1:25: expected FROM, found 'claims'"},
	    {"SELECT FROM x", "1:8: expected a column or an aggregate, found 'FROM'"},
	    {"SELECT a, FROM t", "1:11: expected a column or an aggregate, found 'FROM'"},
	    {"SELECT 5 FROM t", "1:8: expected a column or an aggregate, found '5'"},
	    {"", "1:1: expected SELECT, found end of query"},
	    {"   \n\t  ", "2:4: expected SELECT, found end of query"},
	    {"-- nothing", "1:11: expected SELECT, found end of query"},
	    {"DELETE FROM t", "1:1: expected SELECT, found 'DELETE'"},
	    {"SELECT a FROM", "1:14: expected a product name, found end of query"},
	    {"SELECT a FROM WHERE", "1:15: expected a product name, found 'WHERE'"},
	    {"SELECT a FROM t WHERE", "1:22: expected a column, found end of query"},
	    {"SELECT a FROM t WHERE a = 1 AND", "1:32: expected a column, found end of query"},
	    {"SELECT a FROM t WHERE OR a = 1", "1:23: expected a column, found 'OR'"},
	    {"SELECT a FROM t LIMIT 5 WHERE a = 1", "1:25: expected end of query, found 'WHERE'"},
	    {"SELECT a FROM t;;", "1:17: expected end of query, found ';'"},
	    {"SELECT a FROM t u", "1:17: expected end of query, found 'u'"},
	    {"SELECT a FROM t GROUP a", "1:23: expected BY, found 'a'"},
	    {"SELECT a FROM t ORDER region", "1:23: expected BY, found 'region'"},
	    {"SELECT a FROM t GROUP BY", "1:25: expected a column, found end of query"},
	    {"SELECT a FROM t ORDER BY a DESC,", "1:33: expected a column, found end of query"},
	    {"SELECT COUNT(x) FROM t", "1:14: expected '*' or DISTINCT, found 'x'"},
	    {"SELECT COUNT(*, FROM t", "1:15: expected ')', found ','"},
	    {"SELECT SUM(*) FROM t", "1:12: expected a column, found '*'"},
	    {"SELECT SUM(DISTINCT x) FROM t", "1:12: expected a column, found 'DISTINCT'"},
	    {"SELECT BUCKET(age 10) FROM t", "1:19: expected ',', found '10'"},
	    {"SELECT YEAR(d FROM t", "1:15: expected ')', found 'FROM'"},
	    {"SELECT a AS FROM t", "1:13: expected a name, found 'FROM'"},
	    {"SELECT a FROM t WHERE a = NULL", "1:27: expected a literal, found 'NULL'"},
	    {"SELECT a FROM t WHERE a = b", "1:27: expected a literal, found 'b'"},
	    {"SELECT a FROM t WHERE a 5",
	        "1:25: expected a comparison, BETWEEN, IN, IS or LIKE, found '5'"},
	    {"SELECT a FROM t WHERE a BETWEEN 1 OR 2", "1:35: expected AND, found 'OR'"},
	    {"SELECT a FROM t WHERE a IN 1", "1:28: expected '(', found '1'"},
	    {"SELECT a FROM t WHERE a IN (1, 2", "1:33: expected ',' or ')', found end of query"},
	    {"SELECT a FROM t WHERE a IN (1 2)", "1:31: expected ',' or ')', found '2'"},
	    {"SELECT a FROM t WHERE a IN ()", "1:29: expected a literal, found ')'"},
	    {"SELECT a FROM t WHERE a IS 5", "1:28: expected NULL, found '5'"},
	    {"SELECT a FROM t WHERE a IS NOT TRUE", "1:32: expected NULL, found 'TRUE'"},
	    {"SELECT a FROM t WHERE a NOT LIKE 'x%'", "1:29: expected BETWEEN or IN, found 'LIKE'"},
	    {"SELECT a FROM t WHERE a LIKE 5", "1:30: expected a 'prefix%' pattern, found '5'"},
	    {"SELECT a FROM t WHERE (a = 1", "1:29: expected ')', found end of query"},
	    {"SELECT a FROM t WHERE (a = 1 b = 2)", "1:30: expected ')', found 'b'"},
	    {"SELECT a FROM t WHERE d = DATE 5", "1:32: expected a date 'YYYY-MM-DD', found '5'"},
	    {"SELECT a FROM t LIMIT x", "1:23: expected a row count, found 'x'"},
	    {"SELECT a FROM t LIMIT", "1:22: expected a row count, found end of query"},
	    {"SELECT a FROM t LIMIT -1", "1:23: expected a row count, found '-1'"},
	    {"SELECT a FROM t WHERE a = 'abc", "1:27: unterminated string"},
	    {"SELECT a FROM t WHERE a = 'it''s", "1:27: unterminated string"},
	    /* Columns count characters, not bytes; lines count LFs. */
	    {"SELECT a FROM t WHERE a = 'ééé' b", "1:33: expected end of query, found 'b'"},
	    {"SELECT region,\n       COUNT(*)\nFROM claims\nWHERE age >\nGROUP BY region",
	        "5:1: expected a literal, found 'GROUP'"},
	    {"SELECT a -- the key\n  FROM -- the product next\n  ;",
	        "3:3: expected a product name, found ';'"},
	    {"SELECT a\r\nFROM t\r\nWHERE a = 'x\ny' AND",
	        "4:7: expected a column, found end of query"},
	    /* A long token is cut at 20 characters. */
	    {"SELECT a FROM t abcdefghijklmnopqrstuvwxyz",
	        "1:17: expected end of query, found 'abcdefghijklmnopqrst...'"},
	    {"SELECT a FROM t abcdefghijklmnopqrst",
	        "1:17: expected end of query, found 'abcdefghijklmnopqrst'"},
	    {"SELECT a FROM t WHERE a = 1 \"a very long quoted name indeed\"",
	        "1:29: expected end of query, found '\"a very long quoted ...'"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		st_fail(cases[i].text, cases[i].msg);
}

/* What a message says of a strange token: every character shown, none able to steer a terminal. */
static void
test_error_token_descriptions(void **state)
{
	st_fail("SELECT \x01 FROM t", "1:8: expected a column or an aggregate, found '\\x01'");
	st_fail("SELECT a FROM t\x1b[2J", "1:16: expected end of query, found '\\x1b'");
	st_fail("SELECT a FROM t WHERE a ~ 1",
	    "1:25: expected a comparison, BETWEEN, IN, IS or LIKE, found '~'");
	st_fail("SELECT a FROM t WHERE a ＝ 1",
	    "1:25: expected a comparison, BETWEEN, IN, IS or LIKE, found '＝'");
	/* Cut by characters, never inside one. */
	st_fail("SELECT a FROM t \"éééééééééééééééééééééééé\"",
	    "1:17: expected end of query, found '\"ééééééééééééééééééé...'");
	/* C1 controls and bidi overrides are escaped byte by byte. */
	st_fail("SELECT a FROM t \"a\xc2\x9b"
	        "31mb\"",
	    "1:17: expected end of query, found '\"a\\xc2\\x9b31mb\"'");
	st_fail("SELECT a FROM t \"x\xe2\x80\xaey\"",
	    "1:17: expected end of query, found '\"x\\xe2\\x80\\xaey\"'");
}

static void
test_integer_range(void **state)
{
	st_fail("SELECT a FROM t WHERE a = 9223372036854775808", "1:27: integer out of range");
	st_fail("SELECT a FROM t WHERE a = -9223372036854775809", "1:27: integer out of range");
	st_fail("SELECT a FROM t WHERE a IN (1, 99999999999999999999999)",
	    "1:32: integer out of range");
	st_fail("SELECT a FROM t WHERE a = 922337203685477580.8", "1:27: decimal out of range");
	st_fail("SELECT a FROM t WHERE a = 92233720368547758.08", "1:27: decimal out of range");
	st_fail("SELECT a FROM t WHERE a = 0.1234567890123456789", "1:27: decimal out of range");
	st_fail("SELECT BUCKET(a, 99999999999999999999) FROM t", "1:18: integer out of range");
}

static void
test_limit_range(void **state)
{
	st_fail("SELECT a FROM t LIMIT 9223372036854775808", "1:23: LIMIT out of range");
	st_fail("SELECT a FROM t LIMIT 99999999999999999999", "1:23: LIMIT out of range");
	st_fail("SELECT a FROM t LIMIT 18446744073709551616", "1:23: LIMIT out of range");
	st_fail("SELECT a FROM t LIMIT 1.5", "1:23: expected a row count, found '1.5'");
}

static void
test_dates(void **state)
{
	st_fail("SELECT a FROM t WHERE d = DATE '2023-02-29'",
	    "1:32: not a calendar date 'YYYY-MM-DD'");
	st_fail("SELECT a FROM t WHERE d = DATE '2023-13-01'",
	    "1:32: not a calendar date 'YYYY-MM-DD'");
	st_fail("SELECT a FROM t WHERE d = DATE '2023-04-31'",
	    "1:32: not a calendar date 'YYYY-MM-DD'");
	st_fail("SELECT a FROM t WHERE d = DATE '2023-00-10'",
	    "1:32: not a calendar date 'YYYY-MM-DD'");
	st_fail("SELECT a FROM t WHERE d = DATE '1900-02-29'",
	    "1:32: not a calendar date 'YYYY-MM-DD'");
	st_fail(
	    "SELECT a FROM t WHERE d = DATE '2023-2-1'", "1:32: not a calendar date 'YYYY-MM-DD'");
	st_fail(
	    "SELECT a FROM t WHERE d = DATE '20230201'", "1:32: not a calendar date 'YYYY-MM-DD'");
	st_fail("SELECT a FROM t WHERE d BETWEEN DATE '2023-01-01' AND DATE ''",
	    "1:60: not a calendar date 'YYYY-MM-DD'");
	/* Exactly YYYY-MM-DD: no signs or blanks that a scanf would let through. */
	st_fail("SELECT a FROM t WHERE d = DATE '2023-+1-01'",
	    "1:32: not a calendar date 'YYYY-MM-DD'");
	st_fail("SELECT a FROM t WHERE d = DATE '2023- 1-01'",
	    "1:32: not a calendar date 'YYYY-MM-DD'");
	st_fail("SELECT a FROM t WHERE d = DATE '2023-01- 1'",
	    "1:32: not a calendar date 'YYYY-MM-DD'");
	st_where("d = DATE '2000-02-29'", "d=D11016");
	st_where("d = DATE '0000-01-01'", "d=D-719528");
	st_where("d = DATE '9999-12-31'", "d=D2932896");
}

static void
test_like_patterns(void **state)
{
	static const char *const bad[] = {
	    "'a_%'", "'ab'", "'a%b%'", "'%ab'", "'a%%'", "''", "'_%'", "'a%_'"};
	struct st_buf b = {0};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b.len = 0;
		st_put(&b, "SELECT a FROM t WHERE a LIKE %s", bad[i]);
		st_fail(b.s, "1:30: LIKE supports only 'prefix%'");
	}
	free(b.s);
}

static void
test_bucket_width(void **state)
{
	st_fail("SELECT BUCKET(age, 0) FROM t", "1:20: BUCKET width must be a number above 0");
	st_fail("SELECT BUCKET(age, -5) FROM t", "1:20: BUCKET width must be a number above 0");
	st_fail("SELECT BUCKET(age, -0.5) FROM t", "1:20: BUCKET width must be a number above 0");
	st_fail("SELECT BUCKET(age, 0.00) FROM t", "1:20: BUCKET width must be a number above 0");
	st_fail("SELECT a FROM t GROUP BY BUCKET(age,\n 'x')",
	    "2:2: BUCKET width must be a number above 0");
	sql_free(st_ok("SELECT BUCKET(age, 0.01) FROM t"));
}

/* ---- hostile text --------------------------------------------------------- */

static void
test_nesting_limit(void **state)
{
	char *s;

	/* 64 levels are fine; the 65th '(' or NOT is refused where it stands. */
	s = st_repeat("SELECT a FROM t WHERE ", "(", 64, "a = 1", NULL);
	s = realloc(s, strlen(s) + 65);
	assert_non_null(s);
	memset(s + strlen(s), ')', 64);
	s[22 + 64 + 5 + 64] = '\0';
	sql_free(st_ok(s));
	free(s);
	s = st_repeat("SELECT a FROM t WHERE ", "(", 65, "a = 1", NULL);
	st_fail(s, "1:87: nesting deeper than 64");
	free(s);
	s = st_repeat("SELECT a FROM t WHERE ", "NOT ", 64, "a = 1", NULL);
	sql_free(st_ok(s));
	free(s);
	s = st_repeat("SELECT a FROM t WHERE ", "NOT ", 65, "a = 1", NULL);
	st_fail(s, "1:279: nesting deeper than 64");
	free(s);
	/* Both kinds count together. */
	s = st_repeat("SELECT a FROM t WHERE ", "NOT (", 33, "a = 1", NULL);
	st_fail(s, "1:183: nesting deeper than 64"); /* the 33rd NOT */
	free(s);
	/* Depth is what is open, not what was seen: siblings do not add up. */
	s = st_repeat("SELECT a FROM t WHERE (a = 1)", " OR (NOT a = 1)", 200, "", NULL);
	sql_free(st_ok(s));
	free(s);
}

static void
test_ten_thousand_parens(void **state)
{
	char *s = st_repeat("SELECT a FROM t WHERE ", "(", 10000, "", NULL);

	st_fail(s, "1:87: nesting deeper than 64");
	free(s);
	s = st_repeat("SELECT a FROM t WHERE ", "(", 10000, "a = 1", NULL);
	st_fail(s, "1:87: nesting deeper than 64");
	free(s);
	s = st_repeat("SELECT a FROM t WHERE ", "NOT ", 10000, "a = 1", NULL);
	st_fail(s, "1:279: nesting deeper than 64");
	free(s);
	/* Parentheses outside a condition are no nesting at all. */
	s = st_repeat("SELECT ", "(", 10000, "", NULL);
	st_fail(s, "1:8: expected a column or an aggregate, found '('");
	free(s);
}

static void
test_long_or_chain(void **state)
{
	size_t len;
	char *s = st_repeat("SELECT a FROM t WHERE a = 1", " OR b<>'x'", 99999, "", &len);
	struct sql_query *q;

	assert_true(len < SQL_MAX_TEXT);
	q = st_ok(s);
	assert_int_equal(q->where->kind, SQL_COND_OR);
	assert_int_equal(q->where->nkids, 100000);
	assert_int_equal(q->where->kids[99999]->kind, SQL_COND_CMP);
	assert_string_equal(q->where->kids[99999]->lits[0].s, "x");
	sql_free(q);
	free(s);
	s = st_repeat("SELECT a FROM t WHERE a = 1", " AND a = 1", 99999, "", NULL);
	q = st_ok(s);
	assert_int_equal(q->where->kind, SQL_COND_AND);
	assert_int_equal(q->where->nkids, 100000);
	sql_free(q);
	free(s);
}

static void
test_big_in_list(void **state)
{
	static const char head[] = "SELECT a FROM t WHERE a IN (0";
	size_t n = (SQL_MAX_TEXT - sizeof(head)) / 2, len;
	char *s = st_repeat(head, ",7", n, ")", &len);
	struct sql_query *q;

	assert_true(len <= SQL_MAX_TEXT);
	q = st_ok(s);
	assert_int_equal(q->where->kind, SQL_COND_IN);
	assert_int_equal(q->where->nlits, n + 1);
	assert_int_equal(q->where->lits[n].i, 7);
	sql_free(q);
	free(s);
	/* A little more is over the limit on the text. */
	s = st_repeat(head, ",7", n + 8, ")", &len);
	assert_true(len > SQL_MAX_TEXT);
	{
		char msg[128];

		snprintf(msg, sizeof(msg), "query text is %zu bytes; the limit is 1048576", len);
		st_fail_n(s, len, SL_ERR_LIMIT, msg);
	}
	free(s);
}

static void
test_text_limit(void **state)
{
	size_t len;
	char *s = st_repeat("SELECT a FROM t", " ", SQL_MAX_TEXT - 15, "", &len);

	assert_int_equal(len, SQL_MAX_TEXT);
	sql_free(st_ok(s));
	free(s);
	s = st_repeat("SELECT a FROM t", " ", SQL_MAX_TEXT - 14, "", &len);
	st_fail_n(s, len, SL_ERR_LIMIT, "query text is 1048577 bytes; the limit is 1048576");
	free(s);
	/* A megabyte of comment is whitespace. */
	s = st_repeat("SELECT a -- ", "x", SQL_MAX_TEXT - 30, "\nFROM t", NULL);
	sql_free(st_ok(s));
	free(s);
}

static void
test_nul_bytes(void **state)
{
	static const char in_string[] = "SELECT a FROM t WHERE a = 'x\0y'";
	static const char at_start[] = "\0SELECT a FROM t";
	static const char in_comment[] = "SELECT a -- \0\nFROM t";
	static const char in_name[] = "SELECT \"a\0\" FROM t";

	st_fail_n(in_string, sizeof(in_string) - 1, SL_ERR_PARSE, "1:29: NUL byte in query");
	st_fail_n(at_start, sizeof(at_start) - 1, SL_ERR_PARSE, "1:1: NUL byte in query");
	st_fail_n(in_comment, sizeof(in_comment) - 1, SL_ERR_PARSE, "1:13: NUL byte in query");
	st_fail_n(in_name, sizeof(in_name) - 1, SL_ERR_PARSE, "1:10: NUL byte in query");
}

static void
test_invalid_utf8(void **state)
{
	static const char *const bad[] = {
	    "\xc0\x80",         /* overlong NUL */
	    "\xc1\xbf",         /* overlong */
	    "\xe0\x80\xaf",     /* overlong '/' */
	    "\xe0\x9f\xbf",     /* overlong */
	    "\xed\xa0\x80",     /* surrogate */
	    "\xed\xbf\xbf",     /* surrogate */
	    "\xf0\x8f\xbf\xbf", /* overlong */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xf5\x80\x80\x80",
	    "\xff",
	    "\xfe",
	    "\x80",
	    "\xbf",
	    "\xe2\x82",
	    "\xe2\x82x",
	    "\xf0\x9f\x98",
	    "\xc3",
	};
	struct st_buf b = {0};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b.len = 0;
		st_put(&b, "SELECT a FROM t WHERE a = '%s'", bad[i]);
		st_fail(b.s, "1:28: invalid UTF-8");
		/* At the very end too, with no closing quote to lean on. */
		b.len = 0;
		st_put(&b, "SELECT a FROM t WHERE a = 'x%s", bad[i]);
		st_fail(b.s, "1:29: invalid UTF-8");
	}
	free(b.s);
	st_fail("SELECT a\nFROM \"é\"\xff", "2:9: invalid UTF-8");
	/* The first mistake is the one named, NUL or UTF-8. */
	st_fail_n("SELECT \xff\0", 9, SL_ERR_PARSE, "1:8: invalid UTF-8");
	st_fail_n("SELECT \0\xff", 9, SL_ERR_PARSE, "1:8: NUL byte in query");
	/* The edges of what is valid. */
	st_where("a = '\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
	         "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf'",
	    "a='\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf'");
}

static void
test_empty_and_blank(void **state)
{
	st_fail_n("", 0, SL_ERR_PARSE, "1:1: expected SELECT, found end of query");
	st_fail(" ", "1:2: expected SELECT, found end of query");
	st_fail("\n\n\n", "4:1: expected SELECT, found end of query");
	st_fail("\t\r\n  \r\n -- only a comment\n", "4:1: expected SELECT, found end of query");
	st_fail(";", "1:1: expected SELECT, found ';'");
}

/* ---- memory --------------------------------------------------------------- */

static const char *const st_oom_queries[] = {
    "SELECT region AS r, \"Age Band\", BUCKET(age, 10), BUCKET(fen, 0.50) AS b, YEAR(d), "
    "MONTH(d), COUNT(*), COUNT(DISTINCT member_id) AS m, SUM(fen), AVG(fen), STDDEV(fen), "
    "VARIANCE(fen), MIN(fen), MAX(fen) FROM claims "
    "WHERE NOT (a = 1 OR b IN (1, 2.5, 'x', DATE '2023-01-01', TRUE, 6, 7, 8, 9)) AND "
    "c IS NOT NULL AND d BETWEEN 'a' AND 'b' AND e LIKE 'pre%' OR f <> -3 OR (g = 1 AND h = 2) "
    "GROUP BY region, BUCKET(age, 10), YEAR(d) ORDER BY r DESC, COUNT(*), \"Age Band\" "
    "LIMIT 10;",
    /* Mistakes late in the text, so that the error paths free a full tree. */
    ("SELECT a, b, COUNT(*) FROM t WHERE a IN (1, 2, 3) AND (b = 1 OR c = 2) GROUP BY a "
     "ORDER BY b LIMIT x"),
    "SELECT a, b FROM t WHERE a IN (1, 2, 3) AND (b = 1 OR c = 2 OR d LIKE 'x')",
    "SELECT a, b FROM t WHERE a IN (1, 2, 3) AND (b = 1 OR NOT (c = 2 AND d = "
    "99999999999999999999))",
    "SELECT a AS x, SUM(b) FROM t GROUP BY a, BUCKET(b, 0)",
};

/* Fail every allocation in turn: SL_ERR_NOMEM with a message of its own, and no leak (ASan). */
static void
test_out_of_memory(void **state)
{
	struct sql_query *q;
	size_t i;
	long k;
	int r, want;

	for (i = 0; i < sizeof(st_oom_queries) / sizeof(st_oom_queries[0]); i++) {
		const char *text = st_oom_queries[i];

		st_fail_at = -1;
		want = st_parse_n(text, strlen(text), &q);
		sql_free(q);
		for (k = 0;; k++) {
			char *copy = malloc(strlen(text));

			assert_non_null(copy);
			memcpy(copy, text, strlen(text));
			q = NULL;
			sl_errf(SL_ERR_IO, "an older failure");
			st_allocs = 0;
			st_fail_at = k;
			r = sql_parse(copy, strlen(text), &q);
			st_fail_at = -1;
			free(copy);
			if (st_allocs <= k) { /* nothing failed: the whole parse fit */
				assert_int_equal(r, want);
				sql_free(q);
				break;
			}
			if (r != SL_ERR_NOMEM)
				fail_msg("query %zu, allocation %ld failing: %d %s", i, k, r,
				    sl_err_msg(r));
			assert_null(q);
			if (strcmp(sl_err_msg(r), "an older failure") == 0)
				fail_msg(
				    "query %zu, allocation %ld failing: SL_ERR_NOMEM with a stale "
				    "message",
				    i, k);
		}
		assert_true(k > 3);
	}
}

static void
test_free_and_names(void **state)
{
	sql_free(NULL);
	assert_string_equal(fn_aggs[FN_COUNT].call, "COUNT");
	assert_string_equal(fn_aggs[FN_SUM].call, "SUM");
	assert_string_equal(fn_aggs[FN_AVG].call, "AVG");
	assert_string_equal(fn_aggs[FN_STDDEV].call, "STDDEV");
	assert_string_equal(fn_aggs[FN_VARIANCE].call, "VARIANCE");
	assert_string_equal(fn_aggs[FN_MIN].call, "MIN");
	assert_string_equal(fn_aggs[FN_MAX].call, "MAX");
	assert_true(strncmp(fn_aggs[FN_COUNT_DISTINCT].call, "COUNT", 5) == 0);
}

/* A word that could be a function, last in the text: nothing past the end is read. */
static void
test_function_word_at_end(void **state)
{
	static const char *const texts[] = {
	    "SELECT a FROM t GROUP BY year ",
	    "SELECT a FROM t GROUP BY bucket\n",
	    "SELECT a FROM t ORDER BY month\t",
	    "SELECT a FROM t ORDER BY count ",
	    "SELECT year ",
	    "SELECT sum -- c",
	};
	struct sql_query *q;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (st_parse_n(texts[i], strlen(texts[i]), &q) == 0)
			sql_free(q);
	}
	sql_free(st_ok("SELECT a FROM t GROUP BY year "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal),
	    cmocka_unit_test(test_every_aggregate),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_function_names_are_columns_without_paren),
	    cmocka_unit_test(test_aliases),
	    cmocka_unit_test(test_quoted_identifiers),
	    cmocka_unit_test(test_keywords_any_case),
	    cmocka_unit_test(test_comments_and_semicolon),
	    cmocka_unit_test(test_every_operator),
	    cmocka_unit_test(test_every_literal),
	    cmocka_unit_test(test_literal_types),
	    cmocka_unit_test(test_predicates),
	    cmocka_unit_test(test_group_order_limit),
	    cmocka_unit_test(test_whole_query_positions),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_flattening),
	    cmocka_unit_test(test_error_messages),
	    cmocka_unit_test(test_error_token_descriptions),
	    cmocka_unit_test(test_integer_range),
	    cmocka_unit_test(test_limit_range),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_like_patterns),
	    cmocka_unit_test(test_bucket_width),
	    cmocka_unit_test(test_nesting_limit),
	    cmocka_unit_test(test_ten_thousand_parens),
	    cmocka_unit_test(test_long_or_chain),
	    cmocka_unit_test(test_big_in_list),
	    cmocka_unit_test(test_text_limit),
	    cmocka_unit_test(test_nul_bytes),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_empty_and_blank),
	    cmocka_unit_test(test_out_of_memory),
	    cmocka_unit_test(test_free_and_names),
	    cmocka_unit_test(test_function_word_at_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
