/*
 * tests/unit/sandbox/exec_test.c -- the planner and the executor together
 * (sandbox/plan.h, sandbox/exec.h), over a real encrypted store.
 *
 * A product with a column of every kind (the unit; a TEXT dimension with a
 * domain and a nullable one; INT, nullable DATE, BOOL, nullable REAL and
 * many-valued INT dimensions; DECIMAL, REAL and INT measures with bounds,
 * some values outside them) is generated deterministically, written with the
 * store writer and kept in plain C arrays.  Every answer is checked against
 * one computed here by plain loops over those arrays (never by the engine):
 * each group's key, rows, units and every field of every aggregate.
 *
 * Covered: COUNT(*) without GROUP BY (one group, even over no rows and over
 * an empty version); GROUP BY one TEXT column (the dictionary-code path),
 * several keys and non-TEXT keys (the hash path), BUCKET over INT, DECIMAL
 * and REAL, YEAR and MONTH (dates before 1970 too), NULL keys; every filter
 * form (=, <>, !=, <, <=, >, >=, BETWEEN, IN, their NOTs, LIKE 'prefix%',
 * IS [NOT] NULL) on every type, decimal literals against INT and DECIMAL
 * columns, and AND/OR/NOT in three-valued logic, each filter also run
 * negated; SUM, AVG, VARIANCE, STDDEV, MIN and MAX clamped to the bounds;
 * COUNT(DISTINCT); the units cap (0: exact; 1..EXEC_UNITS_CAP_MAX:
 * min(exact, cap); above: exact), with everything else identical to the
 * uncapped run; 140,000 rows over three chunks, where a capped run skips
 * the unit column once every group of a chunk has its units;
 * EXEC_MAX_GROUPS; ORDER BY and LIMIT left to the broker; the PLAN document;
 * and plan_build's refusals, each naming the column, including plan.h's
 * rule on repeated output names.
 */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker/plan_check.h"
#include "common/err.h"
#include "common/fn.h"
#include "common/file.h"
#include "common/schema.h"
#include "contracts/contract.h"
#include "keys/keys.h"
#include "sandbox/exec.h"
#include "sandbox/job.h"
#include "sandbox/plan.h"
#include "sandbox/sql.h"
#include "sandbox/simd.h"
#include "sandbox/store.h"
#include "tests/unit/vectors.h"

#define SMALL_ROWS 500
#define LARGE_ROWS 140000 /* three chunks, the last partial */
#define KEY_MAX 512       /* a group key written out (canon_add()) */
#define SQL_MAX 4096

/* ---- the product ---------------------------------------------------------- */

enum col {
	C_UID,
	C_REGION,
	C_CHANNEL,
	C_AGE,
	C_DAY,
	C_MEMBER,
	C_PRICE,
	C_SCORE,
	C_QTY,
	C_SEQ,
	C_TEMP,
	NCOLS
};

static const char *const colname[NCOLS] = {
    "uid", "region", "channel", "age", "day", "member", "price", "score", "qty", "seq", "temp"};

static const char schema_json[] =
    "{\"name\":\"shop\",\"columns\":["
    "{\"name\":\"uid\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"region\",\"type\":\"TEXT\",\"class\":\"dimension\","
    "\"domain\":[\"north\",\"south\",\"east\",\"west\",\"central\"]},"
    "{\"name\":\"channel\",\"type\":\"TEXT\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"age\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[0,120]},"
    "{\"name\":\"day\",\"type\":\"DATE\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"member\",\"type\":\"BOOL\",\"class\":\"dimension\"},"
    "{\"name\":\"price\",\"type\":\"DECIMAL(10,2)\",\"class\":\"measure\",\"bounds\":[0,500]},"
    "{\"name\":\"score\",\"type\":\"REAL\",\"class\":\"measure\",\"bounds\":[-10,10],"
    "\"nullable\":true},"
    "{\"name\":\"qty\",\"type\":\"INT\",\"class\":\"measure\",\"bounds\":[0,100],"
    "\"nullable\":true},"
    "{\"name\":\"seq\",\"type\":\"INT\",\"class\":\"dimension\"},"
    "{\"name\":\"temp\",\"type\":\"REAL\",\"class\":\"dimension\",\"nullable\":true}]}";

static const char *const regions[] = {"north", "south", "east", "west", "central"};
#define CENTRAL 4 /* a region of many rows and only two units */
#define CENTRAL_UID 900000
/* "" and a Chinese word too: byte order puts it after every ASCII string. */
static const char *const channels[] = {
    "web", "app", "store", "b_2b", "", "\xe7\xbd\x91\xe5\xba\x97", "bazaar"};
#define NCHANNELS 7

struct row {
	int64_t uid;
	int region;
	int channel; /* -1: NULL */
	int64_t age;
	int day_null;
	int64_t day; /* days since 1970-01-01 */
	int64_t member;
	int64_t price; /* fen: DECIMAL(10,2) scaled */
	int score_null;
	double score;
	int qty_null;
	int64_t qty;
	int64_t seq;
	int temp_null;
	double temp;
};

static uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Row i of a product of n rows. */
static void
gen_row(uint64_t i, uint64_t n, struct row *r)
{
	uint64_t h = splitmix(i), h2 = splitmix(i + 0x51ce);
	int rg = (int)((h >> 8 & 0xffff) % 9);

	memset(r, 0, sizeof(*r));
	r->region = rg == 8 ? CENTRAL : rg / 2;
	r->uid = r->region == CENTRAL ? CENTRAL_UID + (int64_t)(h2 & 1)
	                              : 1 + (int64_t)(h2 % (n / 4 + 7));
	r->channel = (int)((h >> 16 & 0xff) % (NCHANNELS + 2));
	if (r->channel >= NCHANNELS)
		r->channel = -1; /* two in nine */
	r->age = (int64_t)((h >> 24 & 0xffff) % 100);
	if (i >= 2 * STORE_CHUNK_ROWS && i % 50 == 0)
		r->age = 110; /* a group only the last chunk has */
	r->day_null = (h >> 32 & 0xff) % 10 == 0;
	r->day = r->day_null ? 0 : -800 + (int64_t)((h2 >> 24 & 0xffff) % 3000);
	r->member = (int64_t)(h >> 63);
	if (i % 37 == 5)
		r->price = -1234; /* below the bounds: clamped to 0 */
	else if (i % 41 == 7)
		r->price = 123456; /* above: clamped to 500.00 */
	else
		r->price = (int64_t)((h2 >> 20) % 50001);
	r->score_null = i % 9 == 4;
	if (r->score_null)
		r->score = 0;
	else if (i % 23 == 3)
		r->score = 25.5;
	else if (i % 29 == 11)
		r->score = -13.25;
	else if (i % 31 == 0)
		r->score = -0.0;
	else
		r->score = (double)((int64_t)((h2 >> 40) % 2001) - 1000) / 100.0;
	r->qty_null = i % 11 == 6;
	if (r->qty_null)
		r->qty = 0;
	else if (i % 43 == 8)
		r->qty = 250;
	else if (i % 47 == 9)
		r->qty = -3;
	else
		r->qty = (int64_t)((h2 >> 8 & 0xffff) % 101);
	r->seq = (int64_t)i;
	r->temp_null = i % 13 == 12;
	if (r->temp_null)
		r->temp = 0;
	else if (i % 17 == 0)
		r->temp = -0.0;
	else if (i % 19 == 0)
		r->temp = 0.0;
	else
		r->temp = (double)((h >> 44) % 4001) / 100.0 - 10.0;
}

struct fx {
	char *tmp, *dir;
	char *alt; /* the bound's tests: the same rows shuffled, a store of its own */
	struct schema *s;
	uint8_t key[STORE_KEY_BYTES];
	struct row *rows;
	size_t nrows;
	uint32_t version; /* the version queries read */
};

static void
write_version(struct fx *fx, uint32_t version, const struct row *rows, size_t n)
{
	struct store *st = NULL;
	struct store_writer *w = NULL;
	struct store_ident id = {"shop", version, KEYS_SUITE_INTL, fx->key};
	struct store_stats stats;
	size_t i;

	assert_int_equal(store_open(fx->dir, 1, 128 << 20, &st), 0);
	assert_int_equal(store_writer_begin(st, &id, fx->s, &w), 0);
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		const char *rg = regions[r->region];
		int e = 0;

		e |= store_put_int(w, C_UID, r->uid);
		e |= store_put_text(w, C_REGION, rg, strlen(rg));
		if (r->channel < 0)
			e |= store_put_null(w, C_CHANNEL);
		else
			e |= store_put_text(
			    w, C_CHANNEL, channels[r->channel], strlen(channels[r->channel]));
		e |= store_put_int(w, C_AGE, r->age);
		e |= r->day_null ? store_put_null(w, C_DAY) : store_put_int(w, C_DAY, r->day);
		e |= store_put_int(w, C_MEMBER, r->member);
		e |= store_put_int(w, C_PRICE, r->price);
		e |= r->score_null ? store_put_null(w, C_SCORE)
		                   : store_put_real(w, C_SCORE, r->score);
		e |= r->qty_null ? store_put_null(w, C_QTY) : store_put_int(w, C_QTY, r->qty);
		e |= store_put_int(w, C_SEQ, r->seq);
		e |= r->temp_null ? store_put_null(w, C_TEMP) : store_put_real(w, C_TEMP, r->temp);
		assert_int_equal(e, 0);
		assert_int_equal(store_row_end(w), 0);
	}
	assert_int_equal(store_writer_commit(w, &stats), 0);
	assert_int_equal(stats.rows, n);
	store_close(st);
}

static int
setup(void **state, size_t n)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	size_t i;

	fx->tmp = vec_tmpdir();
	fx->dir = sl_path_join(fx->tmp, "store");
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	assert_int_equal(schema_parse(schema_json, strlen(schema_json), &fx->s), 0);
	assert_int_equal(fx->s->ncols, NCOLS);
	for (i = 0; i < NCOLS; i++)
		assert_string_equal(fx->s->cols[i].name, colname[i]);
	keys_random(fx->key, sizeof(fx->key));
	fx->nrows = n;
	fx->rows = calloc(n, sizeof(*fx->rows));
	for (i = 0; i < n; i++)
		gen_row(i, n, &fx->rows[i]);
	fx->version = 1;
	write_version(fx, 1, fx->rows, n);
	*state = fx;
	return 0;
}

static int
setup_small(void **state)
{
	return setup(state, SMALL_ROWS);
}

static int
setup_large(void **state)
{
	return setup(state, LARGE_ROWS);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	schema_free(fx->s);
	free(fx->rows);
	free(fx->dir);
	free(fx->alt);
	vec_rmtree(fx->tmp);
	free(fx);
	return 0;
}

/* ---- the RESULT and PLAN as documents, for comparing ---------------------- */

static json_t *
value_json(const struct job_value *v)
{
	switch (v->type) {
	case JOB_VALUE_INT:
		return json_integer(v->i);
	case JOB_VALUE_REAL:
		return json_real(v->r);
	case JOB_VALUE_TEXT:
		return json_stringn((const char *)v->s, v->len);
	default:
		return json_null();
	}
}

static json_t *
i128_json(__int128 v)
{
	char buf[48], *q = buf + sizeof buf - 1;
	unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;

	*q = '\0';
	do {
		*--q = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--q = '-';
	return json_string(q);
}

/* One aggregate's state as the fields its function carries. */
static json_t *
state_json(uint32_t fn, const struct job_agg_state *a)
{
	if (fn == FN_COUNT)
		return json_pack("{s:I}", "n", (json_int_t)a->n);
	if (fn == FN_COUNT_DISTINCT)
		return json_pack("{s:I}", "distinct", (json_int_t)a->n);
	if (fn == FN_MIN || fn == FN_MAX)
		return json_pack(
		    "{s:I, s:o}", "n", (json_int_t)a->n, "value", value_json(&a->value));
	if (!fn_aggs[fn].sumsq)
		return json_pack("{s:I, s:o}", "n", (json_int_t)a->n, "sum", value_json(&a->value));
	if (a->value.type == JOB_VALUE_REAL)
		return json_pack(
		    "{s:I, s:f, s:f}", "n", (json_int_t)a->n, "sum", a->value.r, "m2", a->m2);
	return json_pack("{s:I, s:I, s:o}", "n", (json_int_t)a->n, "sum", (json_int_t)a->value.i,
	    "sumsq", i128_json(a->sumsq));
}

/*
 * The RESULT through its codec (encoded, decoded for the plan the worker
 * sends) as a document: {"rows_scanned": N, "groups": [{"key": [...],
 * "rows": n, "units": u, "aggs": [{...}]}]}.
 */
static json_t *
result_json(const struct plan *p, const struct job_result *res)
{
	uint32_t fns[64];
	uint8_t *pb = NULL, *rb = NULL;
	size_t plen = 0, rlen = 0, g, i;
	struct job_plan jp;
	struct job_result back;
	json_t *groups = json_array(), *doc;

	assert_true(p->naggs <= 64);
	for (i = 0; i < p->naggs; i++)
		fns[i] = p->aggs[i].fn;
	assert_int_equal(plan_encode(p, &pb, &plen), 0);
	assert_int_equal(job_plan_decode(pb, plen, &jp), 0);
	assert_int_equal(job_result_encode(res, fns, &rb, &rlen), 0);
	assert_int_equal(job_result_decode(rb, rlen, &jp, &back), 0);
	for (g = 0; g < back.ngroups; g++) {
		json_t *key = json_array(), *aggs = json_array();

		for (i = 0; i < back.nkeys; i++)
			json_array_append_new(key, value_json(&back.groups[g].keys[i]));
		for (i = 0; i < back.naggs; i++)
			json_array_append_new(
			    aggs, state_json(jp.aggs[i].fn, &back.groups[g].aggs[i]));
		json_array_append_new(groups, json_pack("{s:o, s:I, s:I, s:o}", "key", key, "rows",
		                                  (json_int_t)back.groups[g].rows, "units",
		                                  (json_int_t)back.groups[g].units, "aggs", aggs));
	}
	doc = json_pack(
	    "{s:I, s:o}", "rows_scanned", (json_int_t)back.rows_scanned, "groups", groups);
	job_result_clear(&back);
	job_plan_clear(&jp);
	free(pb);
	free(rb);
	return doc;
}

/*
 * The plan as the broker checks, names and audits it (broker/plan_check.h),
 * under terms that open every column the schema lets a contract open.
 */
static json_t *
plan_doc(const struct plan *p, const char *sql)
{
	const struct schema *s = p->s;
	struct contract_terms t;
	struct checked_plan cp;
	char *cols[64];
	uint8_t *pb = NULL;
	size_t plen = 0, i;
	json_t *doc;
	int r;

	memset(&t, 0, sizeof t);
	assert_true(s->ncols <= 64);
	for (i = 0; i < s->ncols; i++)
		if (s->cols[i].cls != SCHEMA_UNIT && s->cols[i].cls != SCHEMA_HIDDEN)
			cols[t.ncolumns++] = s->cols[i].name;
	t.columns = cols;
	t.aggregates = ~0u;
	assert_int_equal(plan_encode(p, &pb, &plen), 0);
	if ((r = plan_check(pb, plen, sql, strlen(sql), s, &t, &cp)) != 0)
		fail_msg("%s: the broker refuses the plan: %s", sql, sl_err_msg(r));
	doc = plan_check_json(&cp, s);
	checked_plan_clear(&cp);
	free(pb);
	return doc;
}

/* The threads every scan of a test runs on (exec_run()'s nthreads). */
static unsigned test_threads = 1;

/* Parse, plan and run sql over fx's version under bound (NULL: none): exec_run()'s status and *result. */
static int
run_bound(
    struct fx *fx, const char *sql, uint32_t cap, const struct exec_bound *bound, json_t **result)
{
	struct sql_query *q = NULL;
	struct plan *p = NULL;
	struct store *st = NULL;
	struct store_reader *rd[8] = {NULL};
	struct store_ident id = {"shop", fx->version, KEYS_SUITE_INTL, fx->key};
	unsigned t;
	int r;

	*result = NULL;
	if ((r = sql_parse(sql, strlen(sql), &q)) != 0)
		fail_msg("%s: does not parse: %s", sql, sl_err_msg(r));
	if ((r = plan_build(q, fx->s, &p)) != 0)
		fail_msg("%s: no plan: %s", sql, sl_err_msg(r));
	assert_int_equal(store_open(fx->dir, 0, 0, &st), 0);
	assert_true(test_threads >= 1 && test_threads <= 8);
	for (t = 0; t < test_threads; t++)
		assert_int_equal(store_reader_open(st, &id, fx->s, &rd[t]), 0);
	{
		struct job_result res;

		if ((r = exec_run(p, rd, test_threads, cap, bound, &res)) == 0)
			*result = result_json(p, &res);
		job_result_clear(&res);
	}
	for (t = 0; t < test_threads; t++)
		store_reader_close(rd[t]);
	store_close(st);
	plan_free(p);
	sql_free(q);
	return r;
}

static int
run(struct fx *fx, const char *sql, uint32_t cap, json_t **result)
{
	return run_bound(fx, sql, cap, NULL, result);
}

/* As run(), when the query must succeed. */
static json_t *
run_ok(struct fx *fx, const char *sql, uint32_t cap)
{
	json_t *doc;
	int r = run(fx, sql, cap, &doc);

	if (r != 0)
		fail_msg("%s (units cap %u): %s", sql, cap, sl_err_msg(r));
	assert_non_null(doc);
	return doc;
}

/* ---- the expected answer, by plain loops ---------------------------------- */

/* Kleene's truth values: a row is selected only when its filter is T. */
enum { F, U, T };

static int
tv(int b)
{
	return b ? T : F;
}

static int
not3(int a)
{
	return a == U ? U : a == T ? F : T;
}

static int
and3(int a, int b)
{
	if (a == F || b == F)
		return F;
	return a == U || b == U ? U : T;
}

static int
or3(int a, int b)
{
	if (a == T || b == T)
		return T;
	return a == U || b == U ? U : F;
}

static int
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
mdays(int64_t y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return d[m - 1] + (m == 2 && leap(y));
}

/* Year and month of day number d, walking the calendar from 1970-01-01. */
static void
civil(int64_t d, int64_t *y, int *m)
{
	*y = 1970;
	while (d < 0) {
		(*y)--;
		d += 365 + leap(*y);
	}
	while (d >= 365 + leap(*y)) {
		d -= 365 + leap(*y);
		(*y)++;
	}
	for (*m = 1; d >= mdays(*y, *m); (*m)++)
		d -= mdays(*y, *m);
}

/* Day number of y-m-d, walking the calendar. */
static int64_t
days_of(int64_t y, int m, int d)
{
	int64_t n = d - 1, k;
	int i;

	for (k = 1970; k < y; k++)
		n += 365 + leap(k);
	for (k = y; k < 1970; k++)
		n -= 365 + leap(k);
	for (i = 1; i < m; i++)
		n += mdays(y, i);
	return n;
}

/* A value of a row, or a group key component: kind 'i' (int64), 'r' (REAL), 's' (TEXT). */
struct cell {
	int null;
	char kind;
	int64_t i;
	double r;
	const char *s;
};

static struct cell
cell_of(const struct row *r, enum col c)
{
	struct cell v = {0, 'i', 0, 0, NULL};

	switch (c) {
	case C_UID:
		v.i = r->uid;
		break;
	case C_REGION:
		v.kind = 's';
		v.s = regions[r->region];
		break;
	case C_CHANNEL:
		v.kind = 's';
		v.null = r->channel < 0;
		v.s = v.null ? NULL : channels[r->channel];
		break;
	case C_AGE:
		v.i = r->age;
		break;
	case C_DAY:
		v.null = r->day_null;
		v.i = r->day;
		break;
	case C_MEMBER:
		v.i = r->member;
		break;
	case C_PRICE:
		v.i = r->price;
		break;
	case C_SCORE:
		v.kind = 'r';
		v.null = r->score_null;
		v.r = r->score;
		break;
	case C_QTY:
		v.null = r->qty_null;
		v.i = r->qty;
		break;
	case C_SEQ:
		v.i = r->seq;
		break;
	case C_TEMP:
		v.kind = 'r';
		v.null = r->temp_null;
		v.r = r->temp;
		break;
	default:
		fail_msg("no column %d", (int)c);
	}
	return v;
}

/* The schema's bounds, in storage units, for the bounded numeric columns. */
static struct cell
clamped(enum col c, struct cell v)
{
	int64_t lo, hi;
	double rlo = -10, rhi = 10; /* score */

	switch (c) {
	case C_AGE:
		lo = 0, hi = 120;
		break;
	case C_PRICE:
		lo = 0, hi = 50000;
		break;
	case C_QTY:
		lo = 0, hi = 100;
		break;
	case C_SCORE:
		v.r = v.r < rlo ? rlo : v.r > rhi ? rhi : v.r;
		return v;
	default:
		return v;
	}
	v.i = v.i < lo ? lo : v.i > hi ? hi : v.i;
	return v;
}

struct kspec {
	enum fn_key fn;
	enum col col;
	const char *wtext; /* BUCKET: the width as the query writes it */
	int64_t width;     /* BUCKET over INT or DECIMAL: in storage units */
	double rwidth;     /* BUCKET over REAL */
};

struct aspec {
	enum fn_agg fn;
	enum col col; /* not for COUNT(*) */
};

/* clang-format off */
#define KC(c) {FN_KEY_COLUMN, c, NULL, 0, 0}
#define KB(c, text, w, rw) {FN_KEY_BUCKET, c, text, w, rw}
#define KY(c) {FN_KEY_YEAR, c, NULL, 0, 0}
#define KM(c) {FN_KEY_MONTH, c, NULL, 0, 0}
#define A(fn, c) {FN_##fn, c}
/* clang-format on */
#define KEYS(...)                                                                                  \
	.keys = {__VA_ARGS__}, .nkeys = sizeof((struct kspec[]){__VA_ARGS__}) / sizeof(struct kspec)
#define AGGS(...)                                                                                  \
	.aggs = {__VA_ARGS__}, .naggs = sizeof((struct aspec[]){__VA_ARGS__}) / sizeof(struct aspec)

/* A query, said twice: as SQL (sql_text()) and as the loops that answer it. */
struct query {
	const char *where;               /* NULL: none */
	int (*pred)(const struct row *); /* the same filter, T, F or U; NULL: T */
	int negate;                      /* WHERE NOT (where) */
	struct kspec keys[4];
	size_t nkeys;
	struct aspec aggs[24];
	size_t naggs;
};

static void
append(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	assert_true(n + strlen(s) < len);
	memcpy(buf + n, s, strlen(s) + 1);
}

static void
key_text(const struct kspec *k, char *out, size_t len)
{
	switch (k->fn) {
	case FN_KEY_COLUMN:
		snprintf(out, len, "%s", colname[k->col]);
		break;
	case FN_KEY_BUCKET:
		snprintf(out, len, "BUCKET(%s, %s)", colname[k->col], k->wtext);
		break;
	case FN_KEY_YEAR:
		snprintf(out, len, "YEAR(%s)", colname[k->col]);
		break;
	case FN_KEY_MONTH:
		snprintf(out, len, "MONTH(%s)", colname[k->col]);
		break;
	}
}

static void
sql_text(const struct query *q, char *out, size_t len)
{
	static const char *const fns[] = {
	    "COUNT", "COUNT", "SUM", "AVG", "STDDEV", "VARIANCE", "MIN", "MAX"};
	char item[128];
	size_t i;

	out[0] = '\0';
	append(out, len, "SELECT ");
	for (i = 0; i < q->nkeys; i++) {
		key_text(&q->keys[i], item, sizeof(item));
		append(out, len, item);
		append(out, len, ", ");
	}
	for (i = 0; i < q->naggs; i++) {
		const struct aspec *a = &q->aggs[i];

		if (a->fn == FN_COUNT)
			snprintf(item, sizeof(item), "COUNT(*)");
		else if (a->fn == FN_COUNT_DISTINCT)
			snprintf(item, sizeof(item), "COUNT(DISTINCT %s)", colname[a->col]);
		else
			snprintf(item, sizeof(item), "%s(%s)", fns[a->fn], colname[a->col]);
		append(out, len, item);
		append(out, len, i + 1 < q->naggs ? ", " : "");
	}
	append(out, len, " FROM shop");
	if (q->where != NULL) {
		append(out, len, q->negate ? " WHERE NOT (" : " WHERE ");
		append(out, len, q->where);
		append(out, len, q->negate ? ")" : "");
	}
	for (i = 0; i < q->nkeys; i++) {
		key_text(&q->keys[i], item, sizeof(item));
		append(out, len, i == 0 ? " GROUP BY " : ", ");
		append(out, len, item);
	}
}

static struct cell
key_of(const struct kspec *k, const struct row *r)
{
	struct cell v = cell_of(r, k->col);
	int64_t y, q;
	int m;

	if (v.null)
		return v;
	switch (k->fn) {
	case FN_KEY_COLUMN:
		break;
	case FN_KEY_BUCKET:
		if (v.kind == 'r') {
			v.r = floor(v.r / k->rwidth) * k->rwidth;
			break;
		}
		q = v.i / k->width;
		if (v.i % k->width != 0 && v.i < 0)
			q--;
		v.i = q * k->width;
		break;
	case FN_KEY_YEAR:
	case FN_KEY_MONTH:
		civil(v.i, &y, &m);
		v.i = k->fn == FN_KEY_YEAR ? y : m;
		break;
	}
	if (v.kind == 'r' && v.r == 0)
		v.r = 0; /* -0 and 0 are one key */
	return v;
}

/* One key component written out unambiguously, appended to buf. */
static void
canon_add(char *buf, size_t len, const struct cell *v)
{
	size_t n = strlen(buf);

	if (v->null)
		snprintf(buf + n, len - n, "N|");
	else if (v->kind == 'i')
		snprintf(buf + n, len - n, "I%" PRId64 "|", v->i);
	else if (v->kind == 'r')
		snprintf(buf + n, len - n, "R%a|", v->r);
	else if (v->kind == 's')
		snprintf(buf + n, len - n, "S%zu:%s|", strlen(v->s), v->s);
	else
		snprintf(buf + n, len - n, "?|");
	assert_true(strlen(buf) + 1 < len);
}

/* A RESULT group's key array, written as canon_add() writes expected keys. */
static void
canon_json(json_t *key, char *buf, size_t len)
{
	json_t *x;
	size_t i;

	buf[0] = '\0';
	if (!json_is_array(key)) {
		snprintf(buf, len, "(not an array)");
		return;
	}
	json_array_foreach(key, i, x) {
		struct cell v = {0, '?', 0, 0, NULL};

		if (json_is_null(x))
			v.null = 1;
		else if (json_is_integer(x))
			v.kind = 'i', v.i = json_integer_value(x);
		else if (json_is_real(x))
			v.kind = 'r', v.r = json_real_value(x);
		else if (json_is_string(x))
			v.kind = 's', v.s = json_string_value(x);
		canon_add(buf, len, &v);
	}
}

static json_t *
cell_json(const struct cell *v)
{
	if (v->null)
		return json_null();
	if (v->kind == 's')
		return json_string(v->s);
	if (v->kind == 'r')
		return json_real(v->r);
	return json_integer(v->i);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* How many distinct values among v[0..n) (all of one kind; -0 equals 0). */
static int64_t
distinct(const struct cell *v, size_t n)
{
	int64_t *iv = calloc(n + 1, sizeof(*iv)), d = 0;
	double *rv = calloc(n + 1, sizeof(*rv));
	const char **sv = calloc(n + 1, sizeof(*sv));
	size_t j;

	for (j = 0; j < n; j++)
		iv[j] = v[j].i, rv[j] = v[j].r, sv[j] = v[j].s;
	if (n > 0 && v[0].kind == 'i') {
		qsort(iv, n, sizeof(*iv), cmp_i64);
		for (j = 0; j < n; j++)
			d += j == 0 || iv[j] != iv[j - 1];
	} else if (n > 0 && v[0].kind == 'r') {
		qsort(rv, n, sizeof(*rv), cmp_dbl);
		for (j = 0; j < n; j++)
			d += j == 0 || rv[j] != rv[j - 1];
	} else if (n > 0) {
		qsort(sv, n, sizeof(*sv), cmp_str);
		for (j = 0; j < n; j++)
			d += j == 0 || strcmp(sv[j], sv[j - 1]) != 0;
	}
	free(iv);
	free(rv);
	free(sv);
	return d;
}

/* Aggregate a over rows idx[0..n) of one group, as RESULT carries it. */
static json_t *
agg_expect(const struct fx *fx, const struct aspec *a, const uint32_t *idx, size_t n)
{
	struct cell *v = calloc(n + 1, sizeof(*v)), best;
	size_t j, cnt = 0;
	int64_t isum = 0;
	__int128 isq = 0;
	double rsum = 0, mean, m2 = 0;
	char sq[48];
	json_t *out;

	if (a->fn == FN_COUNT) {
		free(v);
		return json_pack("{s:I}", "n", (json_int_t)n);
	}
	for (j = 0; j < n; j++) {
		struct cell c = cell_of(&fx->rows[idx[j]], a->col);

		if (!c.null) /* the distinct count is of the values as stored */
			v[cnt++] = a->fn == FN_COUNT_DISTINCT ? c : clamped(a->col, c);
	}
	switch (a->fn) {
	case FN_COUNT_DISTINCT:
		out = json_pack("{s:I}", "distinct", (json_int_t)distinct(v, cnt));
		break;
	case FN_MIN:
	case FN_MAX:
		best = v[0];
		for (j = 1; j < cnt; j++) {
			int less = v[j].kind == 'i'   ? v[j].i < best.i
			           : v[j].kind == 'r' ? v[j].r < best.r
			                              : strcmp(v[j].s, best.s) < 0;
			int more = v[j].kind == 'i'   ? v[j].i > best.i
			           : v[j].kind == 'r' ? v[j].r > best.r
			                              : strcmp(v[j].s, best.s) > 0;

			if (a->fn == FN_MIN ? less : more)
				best = v[j];
		}
		out = json_pack("{s:I, s:o}", "n", (json_int_t)cnt, "value",
		    cnt == 0 ? json_null() : cell_json(&best));
		break;
	default:
		for (j = 0; j < cnt; j++) {
			isum += v[j].i;
			isq += (__int128)v[j].i * v[j].i;
			rsum += v[j].r;
		}
		if (a->col == C_SCORE || a->col == C_TEMP) {
			if (a->fn == FN_SUM || a->fn == FN_AVG) {
				out = json_pack("{s:I, s:f}", "n", (json_int_t)cnt, "sum", rsum);
				break;
			}
			mean = cnt > 0 ? rsum / (double)cnt : 0;
			for (j = 0; j < cnt; j++)
				m2 += (v[j].r - mean) * (v[j].r - mean);
			out = json_pack(
			    "{s:I, s:f, s:f}", "n", (json_int_t)cnt, "sum", rsum, "m2", m2);
			break;
		}
		if (a->fn == FN_SUM || a->fn == FN_AVG) {
			out =
			    json_pack("{s:I, s:I}", "n", (json_int_t)cnt, "sum", (json_int_t)isum);
			break;
		}
		assert_true(isq >= 0 && isq <= (__int128)INT64_MAX);
		snprintf(sq, sizeof(sq), "%" PRId64, (int64_t)isq);
		out = json_pack(
		    "{s:I, s:I, s:s}", "n", (json_int_t)cnt, "sum", (json_int_t)isum, "sumsq", sq);
	}
	free(v);
	assert_non_null(out);
	return out;
}

/* One expected group: rows idx[0..n), all with the same key. */
static json_t *
group_expect(
    const struct fx *fx, const struct query *q, const uint32_t *idx, size_t n, int64_t *units)
{
	json_t *key = json_array(), *aggs = json_array();
	struct cell *u = calloc(n + 1, sizeof(*u));
	size_t j;

	for (j = 0; n > 0 && j < q->nkeys; j++) {
		struct cell k = key_of(&q->keys[j], &fx->rows[idx[0]]);

		json_array_append_new(key, cell_json(&k));
	}
	for (j = 0; j < n; j++)
		u[j] = cell_of(&fx->rows[idx[j]], C_UID);
	*units = distinct(u, n);
	free(u);
	for (j = 0; j < q->naggs; j++)
		json_array_append_new(aggs, agg_expect(fx, &q->aggs[j], idx, n));
	return json_pack("{s:o, s:I, s:I, s:o}", "key", key, "rows", (json_int_t)n, "units",
	    (json_int_t)*units, "aggs", aggs);
}

struct egroup {
	char *key;     /* canon_add() of its components: groups are matched by it */
	json_t *doc;   /* the group as RESULT should carry it */
	int64_t units; /* exact */
};

struct expect {
	struct egroup *g; /* sorted by key */
	size_t n;
	size_t nsel; /* rows the filter selects */
};

struct krow {
	char *key;
	uint32_t row;
};

static int
krow_cmp(const void *a, const void *b)
{
	const struct krow *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : (x->row > y->row) - (x->row < y->row);
}

static int
selected(const struct query *q, const struct row *r)
{
	int t = q->pred != NULL ? q->pred(r) : T;

	return (q->negate ? not3(t) : t) == T;
}

static void
expect_build(const struct fx *fx, const struct query *q, struct expect *e)
{
	struct krow *kr = calloc(fx->nrows + 1, sizeof(*kr));
	uint32_t *idx = calloc(fx->nrows + 1, sizeof(*idx));
	char buf[KEY_MAX];
	size_t n = 0, i, j, k;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < fx->nrows; i++) {
		if (!selected(q, &fx->rows[i]))
			continue;
		buf[0] = '\0';
		for (k = 0; k < q->nkeys; k++) {
			struct cell v = key_of(&q->keys[k], &fx->rows[i]);

			canon_add(buf, sizeof(buf), &v);
		}
		kr[n].key = strdup(buf);
		kr[n++].row = (uint32_t)i;
	}
	e->nsel = n;
	qsort(kr, n, sizeof(*kr), krow_cmp);
	e->g = calloc(n + 1, sizeof(*e->g));
	/* Without GROUP BY there is one group, even of no rows. */
	for (i = 0; i < n || (i == 0 && q->nkeys == 0); i = j) {
		for (j = i; j < n && strcmp(kr[j].key, kr[i].key) == 0; j++)
			idx[j - i] = kr[j].row;
		e->g[e->n].key = strdup(n > 0 ? kr[i].key : "");
		e->g[e->n].doc = group_expect(fx, q, idx, j - i, &e->g[e->n].units);
		e->n++;
		if (n == 0)
			break;
	}
	for (i = 0; i < n; i++)
		free(kr[i].key);
	free(kr);
	free(idx);
}

static void
expect_free(struct expect *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->g[i].key);
		json_decref(e->g[i].doc);
	}
	free(e->g);
}

/* ---- comparing answers ---------------------------------------------------- */

/* Equal JSON, REAL numbers within rounding (summation order may differ). */
static int
json_near(json_t *a, json_t *b)
{
	const char *k;
	json_t *x;
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	if (json_is_real(a) && json_is_real(b)) {
		double p = json_real_value(a), q = json_real_value(b);

		return fabs(p - q) <= 1e-9 * fmax(1, fmax(fabs(p), fabs(q)));
	}
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach(a, k, x) {
			if (!json_near(x, json_object_get(b, k)))
				return 0;
		}
		return 1;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		json_array_foreach(a, i, x) {
			if (!json_near(x, json_array_get(b, i)))
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

static int64_t
capped(int64_t exact, uint32_t cap)
{
	return cap >= 1 && cap <= EXEC_UNITS_CAP_MAX && exact > (int64_t)cap ? (int64_t)cap : exact;
}

struct ggroup {
	char key[KEY_MAX];
	json_t *g;
};

static int
ggroup_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ggroup *)a)->key, ((const struct ggroup *)b)->key);
}

/* doc must be e's answer, with units counted up to cap. */
static void
compare(struct fx *fx, struct expect *e, json_t *doc, uint32_t cap, const char *sql)
{
	json_t *groups = json_object_get(doc, "groups"), *g;
	struct ggroup *got;
	size_t i;

	if (json_integer_value(json_object_get(doc, "rows_scanned")) != (json_int_t)fx->nrows)
		fail_msg("%s: rows_scanned is not %zu", sql, fx->nrows);
	if (!json_is_array(groups) || json_array_size(groups) != e->n)
		fail_msg("%s (units cap %u): %zu groups, expected %zu", sql, cap,
		    json_array_size(groups), e->n);
	got = calloc(e->n + 1, sizeof(*got));
	json_array_foreach(groups, i, g) {
		canon_json(json_object_get(g, "key"), got[i].key, sizeof(got[i].key));
		got[i].g = g;
	}
	qsort(got, e->n, sizeof(*got), ggroup_cmp);
	for (i = 0; i < e->n; i++) {
		if (i > 0 && strcmp(got[i].key, got[i - 1].key) == 0)
			fail_msg("%s (units cap %u): two groups with key %s", sql, cap, got[i].key);
		if (strcmp(got[i].key, e->g[i].key) != 0)
			fail_msg("%s (units cap %u): expected a group with key %s, found %s", sql,
			    cap, e->g[i].key, got[i].key);
		json_object_set_new(
		    e->g[i].doc, "units", json_integer((json_int_t)capped(e->g[i].units, cap)));
		if (!json_near(e->g[i].doc, got[i].g)) {
			char *x = json_dumps(e->g[i].doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
			char *y = json_dumps(got[i].g, JSON_COMPACT | JSON_REAL_PRECISION(17));

			fail_msg(
			    "%s (units cap %u):\n  expected %s\n  got      %s", sql, cap, x, y);
		}
	}
	free(got);
}

/* doc's groups by key, without their units, and rows_scanned. */
static json_t *
without_units(json_t *doc)
{
	json_t *m = json_object(), *g, *c;
	char key[KEY_MAX];
	size_t i;

	json_array_foreach(json_object_get(doc, "groups"), i, g) {
		canon_json(json_object_get(g, "key"), key, sizeof(key));
		c = json_deep_copy(g);
		json_object_del(c, "units");
		json_object_set_new(m, key, c);
	}
	json_object_set(m, "rows_scanned", json_object_get(doc, "rows_scanned"));
	return m;
}

/* Capped and exact answers differ in units only, to the bit. */
static void
same_but_units(json_t *exact, json_t *doc, uint32_t cap, const char *sql)
{
	json_t *a = without_units(exact), *b = without_units(doc);

	if (!json_equal(a, b)) {
		char *x = json_dumps(a, JSON_COMPACT), *y = json_dumps(b, JSON_COMPACT);

		fail_msg("%s: units cap %u changes more than units:\n  exact  %s\n  capped %s", sql,
		    cap, x, y);
	}
	json_decref(a);
	json_decref(b);
}

static const uint32_t caps_default[] = {0, 3, EXEC_UNITS_CAP_MAX + 1};

/* Run q with each cap and compare with the loops' answer; the rows selected. */
static size_t
check_caps(struct fx *fx, const struct query *q, const uint32_t *caps, size_t ncaps)
{
	char sql[SQL_MAX];
	struct expect e;
	json_t *first = NULL, *doc;
	size_t c, nsel;

	sql_text(q, sql, sizeof(sql));
	expect_build(fx, q, &e);
	for (c = 0; c < ncaps; c++) {
		doc = run_ok(fx, sql, caps[c]);
		compare(fx, &e, doc, caps[c], sql);
		if (first == NULL) {
			first = doc;
			continue;
		}
		same_but_units(first, doc, caps[c], sql);
		json_decref(doc);
	}
	json_decref(first);
	nsel = e.nsel;
	expect_free(&e);
	return nsel;
}

static size_t
check(struct fx *fx, const struct query *q)
{
	return check_caps(fx, q, caps_default, sizeof(caps_default) / sizeof(caps_default[0]));
}

/* The group of doc whose key is the JSON array key (e.g. "[\"central\"]"), or fail. */
static json_t *
group_with_key(json_t *doc, const char *key)
{
	json_t *want = json_loads(key, JSON_DECODE_ANY, NULL), *g;
	size_t i;

	assert_non_null(want);
	json_array_foreach(json_object_get(doc, "groups"), i, g) {
		if (json_equal(json_object_get(g, "key"), want)) {
			json_decref(want);
			return g;
		}
	}
	fail_msg("no group with key %s", key);
	return NULL;
}

/* An integer member of a group ("rows", "units"). */
static json_int_t
field(json_t *g, const char *name)
{
	json_t *x = json_object_get(g, name);

	assert_true(json_is_integer(x));
	return json_integer_value(x);
}

/* The aggregates of the only group of doc. */
static json_t *
only_aggs(json_t *doc)
{
	json_t *groups = json_object_get(doc, "groups");

	assert_int_equal(json_array_size(groups), 1);
	return json_object_get(json_array_get(groups, 0), "aggs");
}

/* doc must equal the JSON text want exactly (types too: 0 is not 0.0). */
static void
equal_doc(json_t *doc, const char *want, const char *sql)
{
	json_error_t err;
	json_t *w = json_loads(want, 0, &err);

	if (w == NULL)
		fail_msg("bad JSON in the test: %s: %s", want, err.text);
	if (!json_equal(doc, w)) {
		char *x = json_dumps(doc, JSON_COMPACT);

		fail_msg("%s:\n  expected %s\n  got      %s", sql, want, x);
	}
	json_decref(w);
}

/* ---- COUNT(*) and empty answers ------------------------------------------- */

static int
f_false(const struct row *r)
{
	(void)r;
	return F;
}

static int
f_true(const struct row *r)
{
	(void)r;
	return T;
}

static void
test_count_star(void **state)
{
	struct fx *fx = *state;
	struct query all = {AGGS(A(COUNT, 0), A(SUM, C_QTY), A(COUNT_DISTINCT, C_CHANNEL))};
	struct query none = {.where = "age > 1000",
	    .pred = f_false,
	    AGGS(A(COUNT, 0), A(SUM, C_QTY), A(MIN, C_PRICE), A(VARIANCE, C_SCORE),
	        A(VARIANCE, C_QTY), A(COUNT_DISTINCT, C_CHANNEL), A(AVG, C_PRICE))};
	struct query none_grouped = {
	    .where = "age > 1000", .pred = f_false, KEYS(KC(C_REGION)), AGGS(A(COUNT, 0))};
	json_t *doc;

	assert_int_equal(check(fx, &all), SMALL_ROWS);
	assert_int_equal(check(fx, &none), 0);
	/* The same, literally: one group of nothing, units 0 whatever the cap. */
	doc = run_ok(fx,
	    "SELECT COUNT(*), SUM(qty), MIN(price), VARIANCE(score), VARIANCE(qty), "
	    "COUNT(DISTINCT channel) FROM shop WHERE age > 1000",
	    3);
	equal_doc(doc,
	    "{\"rows_scanned\": 500, \"groups\": [{\"key\": [], \"rows\": 0, \"units\": 0, "
	    "\"aggs\": [{\"n\": 0}, {\"n\": 0, \"sum\": 0}, {\"n\": 0, \"value\": null}, "
	    "{\"n\": 0, \"sum\": 0.0, \"m2\": 0.0}, {\"n\": 0, \"sum\": 0, \"sumsq\": \"0\"}, "
	    "{\"distinct\": 0}]}]}",
	    "no rows");
	json_decref(doc);
	/* With GROUP BY, no rows make no groups. */
	assert_int_equal(check(fx, &none_grouped), 0);
	doc = run_ok(fx, "SELECT region, COUNT(*) FROM shop WHERE age > 1000 GROUP BY region", 0);
	equal_doc(doc, "{\"rows_scanned\": 500, \"groups\": []}", "no rows, grouped");
	json_decref(doc);

	/* An empty version: no chunks at all. */
	write_version(fx, 2, NULL, 0);
	fx->version = 2;
	doc = run_ok(fx, "SELECT COUNT(*), SUM(price) FROM shop", 0);
	equal_doc(doc,
	    "{\"rows_scanned\": 0, \"groups\": [{\"key\": [], \"rows\": 0, \"units\": 0, "
	    "\"aggs\": [{\"n\": 0}, {\"n\": 0, \"sum\": 0}]}]}",
	    "empty version");
	json_decref(doc);
	doc = run_ok(
	    fx, "SELECT channel, COUNT(*) FROM shop WHERE channel LIKE 'w%' GROUP BY channel", 3);
	equal_doc(doc, "{\"rows_scanned\": 0, \"groups\": []}", "empty version, grouped");
	json_decref(doc);
	fx->version = 1;
}

/* ---- GROUP BY -------------------------------------------------------------- */

static void
test_group_by_text(void **state)
{
	struct fx *fx = *state;
	struct query q[] = {
	    {KEYS(KC(C_REGION)), AGGS(A(COUNT, 0), A(SUM, C_PRICE), A(AVG, C_QTY), A(MIN, C_PRICE),
	                             A(MAX, C_PRICE), A(COUNT_DISTINCT, C_CHANNEL))},
	    {KEYS(KC(C_CHANNEL)), AGGS(A(COUNT, 0), A(SUM, C_QTY), A(VARIANCE, C_SCORE),
	                              A(MIN, C_AGE), A(MAX, C_DAY), A(STDDEV, C_PRICE))},
	};
	json_t *doc;
	size_t i, nnull = 0, nempty = 0;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		check(fx, &q[i]);
	/* The NULL channel and the empty string are two groups. */
	doc = run_ok(fx, "SELECT channel, COUNT(*) FROM shop GROUP BY channel", 0);
	for (i = 0; i < fx->nrows; i++) {
		nnull += fx->rows[i].channel < 0;
		nempty += fx->rows[i].channel == 4;
	}
	assert_true(nnull > 0 && nempty > 0);
	assert_int_equal(field(group_with_key(doc, "[null]"), "rows"), nnull);
	assert_int_equal(field(group_with_key(doc, "[\"\"]"), "rows"), nempty);
	json_decref(doc);
}

static int
f_not_north(const struct row *r)
{
	return tv(r->region != 0);
}

static void
test_group_by_text_filtered(void **state)
{
	struct fx *fx = *state;
	struct query q1 = {.where = "region <> 'north'",
	    .pred = f_not_north,
	    KEYS(KC(C_CHANNEL)),
	    AGGS(A(COUNT, 0), A(SUM, C_PRICE))};
	struct query q2 = {.where = "region <> 'north'",
	    .pred = f_not_north,
	    KEYS(KC(C_REGION)),
	    AGGS(A(COUNT, 0), A(MIN, C_CHANNEL), A(MAX, C_CHANNEL))};

	check(fx, &q1);
	check(fx, &q2);
}

static void
test_group_by_keys(void **state)
{
	struct fx *fx = *state;
	struct query q[] = {
	    {KEYS(KC(C_REGION), KC(C_MEMBER)),
	        AGGS(A(COUNT, 0), A(SUM, C_PRICE), A(VARIANCE, C_QTY), A(MAX, C_TEMP))},
	    {KEYS(KC(C_CHANNEL), KC(C_DAY)), AGGS(A(COUNT, 0), A(SUM, C_QTY))},
	    {KEYS(KC(C_MEMBER), KC(C_CHANNEL), KC(C_AGE)), AGGS(A(COUNT, 0), A(AVG, C_SCORE))},
	    {KEYS(KC(C_AGE)), AGGS(A(COUNT, 0), A(COUNT_DISTINCT, C_REGION))},
	    {KEYS(KC(C_TEMP)), AGGS(A(COUNT, 0), A(SUM, C_QTY))}, /* -0 and 0 are one key */
	    {KEYS(KC(C_MEMBER)), AGGS(A(COUNT, 0), A(SUM, C_SCORE), A(STDDEV, C_SCORE))},
	    {KEYS(KC(C_DAY)), AGGS(A(COUNT, 0))},
	    {KEYS(KC(C_DAY), KC(C_REGION)), AGGS(A(MIN, C_QTY), A(MAX, C_QTY))},
	};
	json_t *doc;
	size_t i;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		check(fx, &q[i]);
	/* NULL key components stand for themselves in a tuple. */
	doc = run_ok(fx, "SELECT channel, day, COUNT(*) FROM shop GROUP BY channel, day", 0);
	{
		json_t *g;
		size_t k, nnull = 0;

		json_array_foreach(json_object_get(doc, "groups"), k, g) {
			json_t *key = json_object_get(g, "key");

			nnull += json_is_null(json_array_get(key, 0)) ||
			         json_is_null(json_array_get(key, 1));
		}
		assert_true(nnull > 0);
	}
	json_decref(doc);
}

static void
test_group_functions(void **state)
{
	struct fx *fx = *state;
	struct query q[] = {
	    {KEYS(KB(C_AGE, "10", 10, 0)), AGGS(A(COUNT, 0), A(SUM, C_QTY))},
	    {KEYS(KB(C_AGE, "25", 25, 0), KC(C_CHANNEL)), AGGS(A(COUNT, 0))},
	    {KEYS(KB(C_PRICE, "12.5", 1250, 0)), AGGS(A(COUNT, 0), A(SUM, C_PRICE))},
	    {KEYS(KB(C_PRICE, "100", 10000, 0)), AGGS(A(COUNT, 0), A(MAX, C_PRICE))},
	    {KEYS(KB(C_TEMP, "2.5", 0, 2.5)), AGGS(A(COUNT, 0), A(MIN, C_TEMP), A(MAX, C_TEMP))},
	    {KEYS(KB(C_TEMP, "1", 0, 1.0)), AGGS(A(COUNT, 0))},
	    {KEYS(KB(C_SEQ, "100", 100, 0)), AGGS(A(COUNT, 0), A(MIN, C_SEQ), A(MAX, C_SEQ))},
	    {KEYS(KY(C_DAY)), AGGS(A(COUNT, 0), A(MIN, C_DAY), A(MAX, C_DAY))},
	    {KEYS(KM(C_DAY)), AGGS(A(COUNT, 0), A(SUM, C_QTY))},
	    {KEYS(KY(C_DAY), KM(C_DAY)), AGGS(A(COUNT, 0))},
	    {KEYS(KY(C_DAY), KC(C_REGION)), AGGS(A(COUNT, 0))},
	};
	json_t *doc;
	size_t i;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		check(fx, &q[i]);
	/* Literally: -12.34 falls in [-12.50, 0), 1967 is before the epoch, NULL dates have none. */
	doc = run_ok(
	    fx, "SELECT BUCKET(price, 12.5), COUNT(*) FROM shop GROUP BY BUCKET(price, 12.5)", 0);
	assert_true(field(group_with_key(doc, "[-1250]"), "rows") > 0);
	json_decref(doc);
	doc = run_ok(fx,
	    "SELECT YEAR(day), MONTH(day), COUNT(*) FROM shop "
	    "GROUP BY YEAR(day), MONTH(day)",
	    0);
	assert_true(field(group_with_key(doc, "[1967, 12]"), "rows") > 0);
	assert_true(field(group_with_key(doc, "[1969, 12]"), "rows") > 0);
	assert_true(field(group_with_key(doc, "[null, null]"), "rows") > 0);
	json_decref(doc);
	doc = run_ok(
	    fx, "SELECT BUCKET(temp, 2.5), COUNT(*) FROM shop GROUP BY BUCKET(temp, 2.5)", 0);
	assert_true(field(group_with_key(doc, "[-10.0]"), "rows") > 0);
	assert_true(field(group_with_key(doc, "[0.0]"), "rows") > 0);
	json_decref(doc);
	/* The date walk of this file agrees with known dates. */
	assert_int_equal(days_of(1970, 1, 1), 0);
	assert_int_equal(days_of(1972, 2, 29), 789);
	assert_int_equal(days_of(1969, 12, 31), -1);
	assert_int_equal(days_of(1968, 2, 29), -672);
}

/* ---- filters --------------------------------------------------------------- */

#define PRED(name, expr)                                                                           \
	static int name(const struct row *r)                                                       \
	{                                                                                          \
		return (expr);                                                                     \
	}
#define CHS (channels[r->channel])
#define CH(e) (r->channel < 0 ? U : tv(e))
#define DAY(e) (r->day_null ? U : tv(e))
#define TEMP(e) (r->temp_null ? U : tv(e))

/* clang-format off */
PRED(f_age_eq_42, tv(r->age == 42))
PRED(f_age_ne_42, tv(r->age != 42))
PRED(f_age_lt_30, tv(r->age < 30))
PRED(f_age_le_30, tv(r->age <= 30))
PRED(f_age_gt_70, tv(r->age > 70))
PRED(f_age_ge_70, tv(r->age >= 70))
PRED(f_age_20_40, tv(r->age >= 20 && r->age <= 40))
PRED(f_age_not_20_40, tv(r->age < 20 || r->age > 40))
PRED(f_age_in, tv(r->age == 1 || r->age == 5 || r->age == 99))
PRED(f_age_not_in, tv(!(r->age == 1 || r->age == 5 || r->age == 99)))
PRED(f_age_eq_30, tv(r->age == 30))
PRED(f_age_ge_30, tv(r->age >= 30))
PRED(f_price_ge_250, tv(r->price >= 25000))
PRED(f_price_lt_0, tv(r->price < 0))
PRED(f_price_ge_0, tv(r->price >= 0))
PRED(f_price_eq_big, tv(r->price == 123456))
PRED(f_price_100_200, tv(r->price >= 10000 && r->price <= 20050))
PRED(f_price_gt_100005, tv(r->price >= 10001))
PRED(f_price_in, tv(r->price == 0 || r->price == 123456 || r->price == -1234))
PRED(f_day_epoch, DAY(r->day == 0))
PRED(f_day_lt_1969_06, DAY(r->day < days_of(1969, 6, 1)))
PRED(f_day_between, DAY(r->day >= days_of(1968, 2, 29) && r->day <= days_of(1970, 12, 31)))
PRED(f_day_ge_1972_02_29, DAY(r->day >= days_of(1972, 2, 29)))
PRED(f_day_not_in, DAY(r->day != 0 && r->day != days_of(1971, 1, 1)))
PRED(f_day_null, tv(r->day_null))
PRED(f_day_not_null, tv(!r->day_null))
PRED(f_ch_null, tv(r->channel < 0))
PRED(f_ch_not_null, tv(r->channel >= 0))
PRED(f_member, tv(r->member == 1))
PRED(f_nonmember_young, and3(tv(r->member == 0), tv(r->age < 50)))
PRED(f_temp_gt_0, TEMP(r->temp > 0))
PRED(f_temp_le_m25, TEMP(r->temp <= -2.5))
PRED(f_temp_m1_1, TEMP(r->temp >= -1 && r->temp <= 1))
PRED(f_temp_in, TEMP(r->temp == 0 || r->temp == 1.5 || r->temp == -2.5))
PRED(f_temp_not_in, TEMP(!(r->temp == 0 || r->temp == 1.5)))
PRED(f_temp_eq_0, TEMP(r->temp == 0))
PRED(f_temp_ge_0, TEMP(r->temp >= 0))
PRED(f_temp_lt_725, TEMP(r->temp < 7.25))
PRED(f_temp_out_5, TEMP(r->temp < -5 || r->temp > 5))
PRED(f_ch_web, CH(strcmp(CHS, "web") == 0))
PRED(f_ch_not_web, CH(strcmp(CHS, "web") != 0))
PRED(f_ch_lt_store, CH(strcmp(CHS, "store") < 0))
PRED(f_ch_ge_b, CH(strcmp(CHS, "b") >= 0))
PRED(f_ch_a_c, CH(strcmp(CHS, "a") >= 0 && strcmp(CHS, "c") <= 0))
PRED(f_ch_not_a_c, CH(!(strcmp(CHS, "a") >= 0 && strcmp(CHS, "c") <= 0)))
PRED(f_ch_in, CH(strcmp(CHS, "web") == 0 || strcmp(CHS, "app") == 0 || CHS[0] == '\0'))
PRED(f_ch_not_in, CH(strcmp(CHS, "web") != 0 && strcmp(CHS, "zzz") != 0))
PRED(f_ch_like_b, CH(CHS[0] == 'b'))
PRED(f_ch_like_ba, CH(strncmp(CHS, "ba", 2) == 0))
PRED(f_ch_like_sto, CH(strncmp(CHS, "sto", 3) == 0))
PRED(f_ch_like_any, CH(1))
PRED(f_ch_empty, CH(CHS[0] == '\0'))
PRED(f_ch_gt_wang, CH(strcmp(CHS, "\xe7\xbd\x91") > 0))
PRED(f_ch_like_wang, CH(strncmp(CHS, "\xe7\xbd\x91", 3) == 0))
PRED(f_region_north, tv(r->region == 0))
PRED(f_region_central, tv(r->region == CENTRAL))
PRED(f_web_or_no_day, or3(f_ch_web(r), f_day_null(r)))
PRED(f_web_or_not_web, or3(f_ch_web(r), not3(f_ch_web(r))))
PRED(f_web_and_not_web, and3(f_ch_web(r), not3(f_ch_web(r))))
PRED(f_not_web_or_young, not3(or3(f_ch_web(r), tv(r->age < 50))))
PRED(f_mix1, or3(and3(f_ch_web(r), DAY(r->day < 0)), not3(TEMP(r->temp > 5))))
PRED(f_not_not_ne_app, not3(not3(CH(strcmp(CHS, "app") != 0))))
PRED(f_mix2, and3(not3(f_ch_null(r)), not3(DAY(r->day > days_of(1971, 1, 1)))))
PRED(f_prec1, or3(or3(tv(r->age < 10), tv(r->age > 90)),
                  and3(CH(strcmp(CHS, "app") == 0), tv(r->member == 1))))
PRED(f_prec2, and3(or3(or3(tv(r->age < 10), tv(r->age > 90)), CH(strcmp(CHS, "app") == 0)),
                  tv(r->member == 1)))
PRED(f_mix3, or3(not3(and3(TEMP(r->temp > 0), tv(!r->day_null))), CH(strcmp(CHS, "store") == 0)))
PRED(f_mix4, and3(and3(CH(strcmp(CHS, "web") != 0), DAY(r->day != 0)), TEMP(r->temp != 0)))
PRED(f_not_like_w, not3(CH(strncmp(CHS, "w", 1) == 0)))
PRED(f_seq_100_200, tv(r->seq >= 100 && r->seq < 200))
PRED(f_mix5, and3(tv(r->region != CENTRAL), or3(f_ch_null(r), tv(r->temp_null))))
PRED(f_mix6, or3(and3(f_ch_web(r), f_day_null(r)), and3(not3(f_ch_web(r)), TEMP(r->temp < 0))))
/* ORs of equalities, which the planner makes one set. */
PRED(f_day_in2, DAY(r->day == 0 || r->day == days_of(1971, 1, 1)))
PRED(f_temp_in2, TEMP(r->temp == 0 || r->temp == 1.5))
PRED(f_ch_web_app_or_no_day, or3(CH(strcmp(CHS, "web") == 0 || strcmp(CHS, "app") == 0),
                                 f_day_null(r)))
PRED(f_age_42_30_or_web, or3(tv(r->age == 42 || r->age == 30), f_ch_web(r)))
PRED(f_age_42_or_not_30, tv(r->age == 42 || r->age != 30))
PRED(f_age_in_and_temp_in, and3(tv(r->age == 1 || r->age == 5), f_temp_in2(r)))
PRED(f_age_in_or_day_in, or3(f_age_in(r), f_day_in2(r)))
/* clang-format on */

static const struct fcase {
	const char *where;
	int (*pred)(const struct row *);
} fcases[] = {
    {"age = 42", f_age_eq_42},
    {"age <> 42", f_age_ne_42},
    {"age != 42", f_age_ne_42},
    {"age < 30", f_age_lt_30},
    {"age <= 30", f_age_le_30},
    {"age > 70", f_age_gt_70},
    {"age >= 70", f_age_ge_70},
    {"age BETWEEN 20 AND 40", f_age_20_40},
    {"age NOT BETWEEN 20 AND 40", f_age_not_20_40},
    {"age BETWEEN 40 AND 20", f_false},
    {"age IN (1, 5, 99, 5, 1000)", f_age_in},
    {"age NOT IN (1, 5, 99, 5, 1000)", f_age_not_in},
    {"age < 30.5", f_age_le_30},
    {"age = 30.0", f_age_eq_30},
    {"age = 30.5", f_false},
    {"age <> 30.5", f_true},
    {"age >= 29.99", f_age_ge_30},
    {"age > -0.5", f_true},
    {"age BETWEEN 19.5 AND 40.5", f_age_20_40},
    {"age IN (30.0, 30.5)", f_age_eq_30},
    {"price >= 250.00", f_price_ge_250},
    {"price >= 250", f_price_ge_250},
    {"price < 0", f_price_lt_0},
    {"price > -0.005", f_price_ge_0},
    {"price >= -0.005", f_price_ge_0},
    {"price <= -0.005", f_price_lt_0},
    {"price < -0.005", f_price_lt_0},
    {"price = 1234.56", f_price_eq_big},
    {"price BETWEEN 100 AND 200.5", f_price_100_200},
    {"price > 100.005", f_price_gt_100005},
    {"price IN (0, 1234.56, -12.34, 1.001)", f_price_in},
    {"price < 92233720368547758", f_true},
    {"price > 92233720368547758", f_false},
    {"price > -92233720368547758", f_true},
    {"day = DATE '1970-01-01'", f_day_epoch},
    {"day < DATE '1969-06-01'", f_day_lt_1969_06},
    {"day BETWEEN DATE '1968-02-29' AND DATE '1970-12-31'", f_day_between},
    {"day >= '1972-02-29'", f_day_ge_1972_02_29},
    {"day NOT IN (DATE '1970-01-01', DATE '1971-01-01')", f_day_not_in},
    {"day IS NULL", f_day_null},
    {"day IS NOT NULL", f_day_not_null},
    {"channel IS NULL", f_ch_null},
    {"channel IS NOT NULL", f_ch_not_null},
    {"member = TRUE", f_member},
    {"member <> FALSE", f_member},
    {"member = FALSE AND age < 50", f_nonmember_young},
    {"temp > 0", f_temp_gt_0},
    {"temp <= -2.5", f_temp_le_m25},
    {"temp BETWEEN -1 AND 1", f_temp_m1_1},
    {"temp IN (0, 1.5, -2.5)", f_temp_in},
    {"temp NOT IN (0, 1.5)", f_temp_not_in},
    {"temp = 0", f_temp_eq_0},
    {"temp = -0.0", f_temp_eq_0},
    {"temp >= 0", f_temp_ge_0},
    {"temp < 7.25", f_temp_lt_725},
    {"temp NOT BETWEEN -5 AND 5", f_temp_out_5},
    {"channel = 'web'", f_ch_web},
    {"channel <> 'web'", f_ch_not_web},
    {"channel < 'store'", f_ch_lt_store},
    {"channel >= 'b'", f_ch_ge_b},
    {"channel BETWEEN 'a' AND 'c'", f_ch_a_c},
    {"channel NOT BETWEEN 'a' AND 'c'", f_ch_not_a_c},
    {"channel IN ('web', 'app', '')", f_ch_in},
    {"channel NOT IN ('web', 'zzz')", f_ch_not_in},
    {"channel LIKE 'b%'", f_ch_like_b},
    {"channel LIKE 'ba%'", f_ch_like_ba},
    {"channel LIKE 'sto%'", f_ch_like_sto},
    {"channel LIKE '%'", f_ch_like_any},
    {"channel = ''", f_ch_empty},
    {"channel > '\xe7\xbd\x91'", f_ch_gt_wang},
    {"channel LIKE '\xe7\xbd\x91%'", f_ch_like_wang},
    {"region = 'north'", f_region_north},
    {"region LIKE 'no%'", f_region_north},
    {"region IN ('central', 'nowhere')", f_region_central},
    {"channel = 'web' OR day IS NULL", f_web_or_no_day},
    {"channel = 'web' OR NOT channel = 'web'", f_web_or_not_web},
    {"channel = 'web' AND NOT channel = 'web'", f_web_and_not_web},
    {"NOT (channel = 'web' OR age < 50)", f_not_web_or_young},
    {"(channel = 'web' AND day < DATE '1970-01-01') OR NOT temp > 5", f_mix1},
    {"NOT (NOT (channel <> 'app'))", f_not_not_ne_app},
    {"NOT channel IS NULL AND NOT day > DATE '1971-01-01'", f_mix2},
    {"age < 10 OR age > 90 OR channel = 'app' AND member = TRUE", f_prec1},
    {"(age < 10 OR age > 90 OR channel = 'app') AND member = TRUE", f_prec2},
    {"NOT (temp > 0 AND day IS NOT NULL) OR channel IN ('store')", f_mix3},
    {"channel <> 'web' AND day <> DATE '1970-01-01' AND temp <> 0", f_mix4},
    {"NOT channel LIKE 'w%'", f_not_like_w},
    {"seq >= 100 AND seq < 200", f_seq_100_200},
    {"region <> 'central' AND (channel IS NULL OR temp IS NULL)", f_mix5},
    {"channel = 'web' AND day IS NULL OR NOT channel = 'web' AND temp < 0", f_mix6},
    /* ORs of equalities and INs on one column: one set, the same answers and NULLs. */
    {"age = 1 OR age = 5 OR age = 99 OR age = 5 OR age = 1000", f_age_in},
    {"age = 1 OR age IN (5, 99) OR age = 1000", f_age_in},
    {"age IN (1) OR age IN (5, 99, 5)", f_age_in},
    {"age = 30.5 OR age = 30", f_age_eq_30},
    {"age = 30.5 OR age = 31.5", f_false},
    {"age = 42 OR channel = 'web' OR age = 30", f_age_42_30_or_web},
    {"age = 42 OR age <> 30", f_age_42_or_not_30},
    {"age NOT IN (1, 5, 99) OR age = 1 OR age = 5 OR age IN (99)", f_true},
    {"(age = 1 OR age = 5) AND (temp = 0 OR temp = 1.5)", f_age_in_and_temp_in},
    {"age = 1 OR day = DATE '1970-01-01' OR age IN (5, 99) OR day = '1971-01-01'",
        f_age_in_or_day_in},
    {"day = DATE '1970-01-01' OR day = DATE '1971-01-01'", f_day_in2},
    {"NOT (day = DATE '1970-01-01' OR day = DATE '1971-01-01')", f_day_not_in},
    {"temp = 0 OR temp = 1.5 OR temp = -2.5", f_temp_in},
    {"temp = -0.0 OR temp IN (1.5, 0)", f_temp_in2},
    {"member = TRUE OR member = FALSE", f_true},
    {"price = 1234.56 OR price = -12.34 OR price IN (0, 1.001)", f_price_in},
    {"channel = 'web' OR channel = 'app' OR channel = ''", f_ch_in},
    {"channel IN ('web') OR day IS NULL OR channel = 'app'", f_ch_web_app_or_no_day},
};

/* Every filter, and its negation: NOT of UNKNOWN stays UNKNOWN, so neither selects those rows. */
static void
test_filters(void **state)
{
	static const uint32_t caps[] = {0, 3};
	struct fx *fx = *state;
	size_t i, pos, neg;

	for (i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		struct query q = {.where = fcases[i].where,
		    .pred = fcases[i].pred,
		    KEYS(KC(C_REGION)),
		    AGGS(A(COUNT, 0), A(SUM, C_QTY), A(COUNT_DISTINCT, C_CHANNEL), A(MIN, C_DAY),
		        A(MAX, C_TEMP))};

		pos = check_caps(fx, &q, caps, 2);
		q.negate = 1;
		neg = check_caps(fx, &q, caps, 2);
		assert_true(pos + neg <= fx->nrows);
	}
	/* Without GROUP BY too (one group, COUNT(*) of the selection). */
	for (i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		struct query q = {
		    .where = fcases[i].where, .pred = fcases[i].pred, AGGS(A(COUNT, 0))};

		check_caps(fx, &q, caps, 1);
	}
}

/* Unknown truth really is excluded: IS NULL rows are neither in W nor in NOT W. */
static void
test_three_valued(void **state)
{
	struct fx *fx = *state;
	json_t *a, *b, *c;
	json_int_t na, nb, nc;

	a = run_ok(fx, "SELECT COUNT(*) FROM shop WHERE channel = 'web' OR NOT channel = 'web'", 0);
	b = run_ok(
	    fx, "SELECT COUNT(*) FROM shop WHERE NOT (channel = 'web' OR NOT channel = 'web')", 0);
	c = run_ok(fx, "SELECT COUNT(*) FROM shop WHERE channel IS NULL", 0);
	na = field(json_array_get(json_object_get(a, "groups"), 0), "rows");
	nb = field(json_array_get(json_object_get(b, "groups"), 0), "rows");
	nc = field(json_array_get(json_object_get(c, "groups"), 0), "rows");
	assert_int_equal(nb, 0);
	assert_true(nc > 0);
	assert_int_equal(na + nc, SMALL_ROWS);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

/* ---- aggregates ------------------------------------------------------------ */

static void
test_clamped_aggregates(void **state)
{
	struct fx *fx = *state;
	struct query q = {KEYS(KC(C_REGION)),
	    AGGS(A(SUM, C_PRICE), A(AVG, C_PRICE), A(VARIANCE, C_PRICE), A(STDDEV, C_PRICE),
	        A(MIN, C_PRICE), A(MAX, C_PRICE), A(SUM, C_SCORE), A(AVG, C_SCORE),
	        A(VARIANCE, C_SCORE), A(STDDEV, C_SCORE), A(MIN, C_SCORE), A(MAX, C_SCORE),
	        A(SUM, C_QTY), A(AVG, C_QTY), A(VARIANCE, C_QTY), A(STDDEV, C_QTY), A(MIN, C_QTY),
	        A(MAX, C_QTY), A(SUM, C_TEMP), A(VARIANCE, C_TEMP), A(SUM, C_AGE),
	        A(VARIANCE, C_AGE))};
	struct query total = q;
	char want[1024];
	size_t i, lo = 0, hi = 0, qlo = 0, qhi = 0, shi = 0, slo = 0;
	json_t *doc;

	total.nkeys = 0;
	check(fx, &q);
	check(fx, &total);
	/* Each out-of-bounds value counts as its bound, literally. */
	for (i = 0; i < fx->nrows; i++) {
		const struct row *r = &fx->rows[i];

		lo += r->price < 0;
		hi += r->price > 50000;
		qlo += !r->qty_null && r->qty < 0;
		qhi += !r->qty_null && r->qty > 100;
		slo += !r->score_null && r->score < -10;
		shi += !r->score_null && r->score > 10;
	}
	assert_true(lo > 0 && hi > 0 && qlo > 0 && qhi > 0 && slo > 0 && shi > 0);
	doc = run_ok(fx,
	    "SELECT SUM(price), MIN(price), MAX(price), VARIANCE(price) FROM shop WHERE price < 0",
	    0);
	snprintf(want, sizeof(want),
	    "[{\"n\": %zu, \"sum\": 0}, {\"n\": %zu, \"value\": 0}, {\"n\": %zu, \"value\": 0}, "
	    "{\"n\": %zu, \"sum\": 0, \"sumsq\": \"0\"}]",
	    lo, lo, lo, lo);
	equal_doc(only_aggs(doc), want, "price < 0");
	json_decref(doc);
	doc = run_ok(fx,
	    "SELECT SUM(price), MIN(price), MAX(price), VARIANCE(price) FROM shop "
	    "WHERE price > 500",
	    0);
	snprintf(want, sizeof(want),
	    "[{\"n\": %zu, \"sum\": %zu}, {\"n\": %zu, \"value\": 50000}, "
	    "{\"n\": %zu, \"value\": 50000}, {\"n\": %zu, \"sum\": %zu, \"sumsq\": \"%zu\"}]",
	    hi, hi * 50000, hi, hi, hi, hi * 50000, hi * 2500000000u);
	equal_doc(only_aggs(doc), want, "price > 500");
	json_decref(doc);
	doc = run_ok(fx,
	    "SELECT SUM(qty), VARIANCE(qty), MIN(qty), MAX(qty) FROM shop "
	    "WHERE qty > 100 OR qty < 0",
	    0);
	snprintf(want, sizeof(want),
	    "[{\"n\": %zu, \"sum\": %zu}, {\"n\": %zu, \"sum\": %zu, \"sumsq\": \"%zu\"}, "
	    "{\"n\": %zu, \"value\": 0}, {\"n\": %zu, \"value\": 100}]",
	    qlo + qhi, 100 * qhi, qlo + qhi, 100 * qhi, 10000 * qhi, qlo + qhi, qlo + qhi);
	equal_doc(only_aggs(doc), want, "qty out of bounds");
	json_decref(doc);
	doc = run_ok(fx,
	    "SELECT SUM(score), VARIANCE(score), MIN(score), MAX(score) FROM shop WHERE score > 10",
	    0);
	snprintf(want, sizeof(want),
	    "[{\"n\": %zu, \"sum\": %.1f}, {\"n\": %zu, \"sum\": %.1f, \"m2\": 0.0}, "
	    "{\"n\": %zu, \"value\": 10.0}, {\"n\": %zu, \"value\": 10.0}]",
	    shi, 10.0 * (double)shi, shi, 10.0 * (double)shi, shi, shi);
	equal_doc(only_aggs(doc), want, "score > 10");
	json_decref(doc);
}

static void
test_min_max_distinct(void **state)
{
	struct fx *fx = *state;
	struct query q = {KEYS(KC(C_MEMBER)),
	    AGGS(A(MIN, C_CHANNEL), A(MAX, C_CHANNEL), A(MIN, C_DAY), A(MAX, C_DAY), A(MIN, C_AGE),
	        A(MAX, C_AGE), A(MIN, C_MEMBER), A(MAX, C_MEMBER), A(MIN, C_TEMP), A(MAX, C_TEMP),
	        A(MIN, C_REGION), A(MAX, C_REGION), A(COUNT_DISTINCT, C_CHANNEL),
	        A(COUNT_DISTINCT, C_DAY), A(COUNT_DISTINCT, C_AGE), A(COUNT_DISTINCT, C_MEMBER),
	        A(COUNT_DISTINCT, C_TEMP), A(COUNT_DISTINCT, C_SCORE), A(COUNT_DISTINCT, C_REGION),
	        A(COUNT_DISTINCT, C_SEQ), A(COUNT_DISTINCT, C_PRICE), A(COUNT_DISTINCT, C_QTY))};
	struct query total = q;
	struct query by_region = {
	    KEYS(KC(C_REGION)), AGGS(A(MIN, C_CHANNEL), A(MAX, C_CHANNEL),
	                            A(COUNT_DISTINCT, C_CHANNEL), A(COUNT_DISTINCT, C_DAY))};
	json_t *doc;
	size_t i, neg = 0, pos = 0;

	total.nkeys = 0;
	check(fx, &q);
	check(fx, &total);
	check(fx, &by_region);
	/* -0 and 0 are one value; the greatest channel in byte order is the Chinese one. */
	for (i = 0; i < fx->nrows; i++) {
		if (!fx->rows[i].temp_null && fx->rows[i].temp == 0) {
			neg += signbit(fx->rows[i].temp) != 0;
			pos += signbit(fx->rows[i].temp) == 0;
		}
	}
	assert_true(neg > 0 && pos > 0);
	doc = run_ok(fx,
	    "SELECT COUNT(DISTINCT temp), MAX(channel), MIN(channel) FROM shop "
	    "WHERE temp = 0",
	    0);
	equal_doc(json_array_get(only_aggs(doc), 0), "{\"distinct\": 1}",
	    "COUNT(DISTINCT temp) over -0 and 0");
	json_decref(doc);
	doc = run_ok(fx, "SELECT MAX(channel), MIN(channel) FROM shop", 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(only_aggs(doc), 0), "value")),
	    channels[5]);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(only_aggs(doc), 1), "value")), "");
	json_decref(doc);
}

/* ---- the units cap --------------------------------------------------------- */

static void
test_units_cap(void **state)
{
	static const uint32_t caps[] = {
	    0, 1, 2, 3, 7, 1000, EXEC_UNITS_CAP_MAX, EXEC_UNITS_CAP_MAX + 1, 100000, UINT32_MAX};
	struct fx *fx = *state;
	struct query q[] = {
	    {KEYS(KC(C_REGION)), AGGS(A(COUNT, 0), A(SUM, C_PRICE), A(COUNT_DISTINCT, C_CHANNEL))},
	    {AGGS(A(COUNT, 0), A(VARIANCE, C_QTY))},
	    {KEYS(KC(C_REGION), KC(C_MEMBER)), AGGS(A(COUNT, 0), A(SUM, C_SCORE))},
	    {.where = "channel = 'web'",
	        .pred = f_ch_web,
	        KEYS(KC(C_CHANNEL), KC(C_REGION)),
	        AGGS(A(COUNT, 0), A(AVG, C_QTY))},
	};
	json_t *doc, *g;
	size_t i;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		check_caps(fx, &q[i], caps, sizeof(caps) / sizeof(caps[0]));
	/* Central: many rows, two units; north: many units. */
	doc = run_ok(fx, "SELECT region, COUNT(*) FROM shop GROUP BY region", 0);
	g = group_with_key(doc, "[\"central\"]");
	assert_true(field(g, "rows") >= 20);
	assert_int_equal(field(g, "units"), 2);
	assert_true(field(group_with_key(doc, "[\"north\"]"), "units") > 20);
	json_decref(doc);
	doc = run_ok(fx, "SELECT region, COUNT(*) FROM shop GROUP BY region", 3);
	assert_int_equal(field(group_with_key(doc, "[\"central\"]"), "units"), 2);
	assert_int_equal(field(group_with_key(doc, "[\"north\"]"), "units"), 3);
	json_decref(doc);
	doc = run_ok(fx, "SELECT region, COUNT(*) FROM shop GROUP BY region", 1);
	assert_int_equal(field(group_with_key(doc, "[\"central\"]"), "units"), 1);
	json_decref(doc);
}

/* ---- what the broker does: ORDER BY, LIMIT; the PLAN document --------------- */

static void
test_order_limit_plan(void **state)
{
	struct fx *fx = *state;
	static const char sql[] =
	    "SELECT region, SUM(price) AS s, AVG(score) FROM shop "
	    "WHERE age > 3 AND channel LIKE 'w%' GROUP BY region ORDER BY s DESC LIMIT 2";
	struct sql_query *q = NULL;
	struct plan *p = NULL;
	json_t *doc;
	int seen[5] = {0};
	size_t i, n = 0;

	assert_int_equal(sql_parse(sql, strlen(sql), &q), 0);
	assert_int_equal(plan_build(q, fx->s, &p), 0);
	doc = plan_doc(p, sql);
	equal_doc(doc,
	    "{\"product\": \"shop\", \"reads\": [\"uid\", \"region\", \"channel\", \"age\", "
	    "\"price\", \"score\"], \"filter_columns\": [\"age\", \"channel\"], "
	    "\"keys\": [{\"fn\": \"column\", \"column\": \"region\"}], "
	    "\"aggregates\": [{\"fn\": \"SUM\", \"column\": \"price\", \"bounds\": [0, 50000]}, "
	    "{\"fn\": \"AVG\", \"column\": \"score\", \"bounds\": [-10.0, 10.0]}], "
	    "\"outputs\": [{\"name\": \"region\", \"kind\": \"key\", \"index\": 0}, "
	    "{\"name\": \"s\", \"kind\": \"aggregate\", \"index\": 0}, "
	    "{\"name\": \"AVG(score)\", \"kind\": \"aggregate\", \"index\": 1}], "
	    "\"order\": [{\"output\": 1, \"desc\": true}], \"limit\": 2}",
	    sql);
	json_decref(doc);
	plan_free(p);
	sql_free(q);
	/* The worker answers every group: ORDER BY and LIMIT apply after suppression. */
	for (i = 0; i < fx->nrows; i++) {
		const struct row *r = &fx->rows[i];

		seen[r->region] |= r->age > 3 && r->channel == 0;
	}
	for (i = 0; i < 5; i++)
		n += seen[i];
	assert_true(n > 2);
	doc = run_ok(fx, sql, 0);
	assert_int_equal(json_array_size(json_object_get(doc, "groups")), n);
	json_decref(doc);
	doc = run_ok(fx,
	    "SELECT region AS r, COUNT(*) AS n FROM shop GROUP BY region "
	    "ORDER BY n DESC LIMIT 1",
	    0);
	assert_int_equal(json_array_size(json_object_get(doc, "groups")), 5);
	json_decref(doc);
}

/* ---- an OR of equalities as one set ---------------------------------------- */

/* Leaves and inner nodes of a filter. */
static size_t
filter_nodes(const struct plan_cond *pc)
{
	size_t i, n = 1;

	for (i = 0; i < pc->nkids; i++)
		n += filter_nodes(pc->kids[i]);
	return n;
}

/* Plan sql and hand back the plan and its query; the caller frees both. */
static struct plan *
plan_of(struct fx *fx, const char *sql, size_t len, struct sql_query **q)
{
	struct plan *p = NULL;
	int r;

	if ((r = sql_parse(sql, len, q)) != 0)
		fail_msg("does not parse: %s", sl_err_msg(r));
	if ((r = plan_build(*q, fx->s, &p)) != 0)
		fail_msg("no plan: %s", sl_err_msg(r));
	return p;
}

/*
 * A 1 MiB chain `age = 0 OR age = 1 OR ...` plans as one set leaf (one
 * filter node, not one per literal), and answers as the IN of the same
 * values; equalities and INs on one column inside a larger OR become one
 * set among its other kids; NOT IN and <> stay as they are.  That the
 * answers keep SQL's NULLs is test_filters()' cases.
 */
static void
test_or_chain_set(void **state)
{
	struct fx *fx = *state;
	static const char head[] = "SELECT COUNT(*) FROM shop WHERE ";
	char *sql = malloc(SQL_MAX_TEXT);
	struct sql_query *q = NULL;
	struct plan *p;
	json_t *doc;
	size_t len, n = 0, i, want = 0;

	assert_non_null(sql);
	len = (size_t)snprintf(sql, SQL_MAX_TEXT, "%s", head);
	/* Values 0..2n-1 with each even one twice: duplicates, and most miss every row. */
	while (len + 40 < SQL_MAX_TEXT) {
		len += (size_t)snprintf(sql + len, SQL_MAX_TEXT - len, "%sage = %zu",
		    n ? " OR " : "", n % 3 == 0 ? n / 3 * 2 : n);
		n++;
	}
	assert_true(len > SQL_MAX_TEXT - 64 && n > 50000);
	p = plan_of(fx, sql, len, &q);
	assert_non_null(p->where);
	assert_int_equal(p->where->kind, PLAN_SET);
	assert_int_equal(p->where->negated, 0);
	assert_int_equal(p->where->nkids, 0);
	assert_int_equal(filter_nodes(p->where), 1);
	assert_int_equal(p->where->col, C_AGE);
	for (i = 1; i < p->where->n; i++)
		assert_true(p->where->ints[i - 1] < p->where->ints[i]);
	assert_true(p->where->n < n);
	doc = plan_doc(p, sql);
	equal_doc(
	    json_object_get(doc, "filter_columns"), "[\"age\"]", "the chain's filter_columns");
	json_decref(doc);
	plan_free(p);
	sql_free(q);

	/* The same answer as plain loops: the chain holds every age not a multiple of 3, and the even ones. */
	for (i = 0; i < fx->nrows; i++) {
		int64_t a = fx->rows[i].age;

		want += a % 3 != 0 || a % 2 == 0;
	}
	assert_true(want > 0 && want < fx->nrows);
	doc = run_ok(fx, sql, 0);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(doc, "groups"), 0), "rows")),
	    want);
	json_decref(doc);

	/* Mixed: one set per column among the OR's other kids, in the place of the first. */
	len = (size_t)snprintf(sql, SQL_MAX_TEXT,
	    "%sage = 1 OR age IN (2, 3) OR channel = 'web' OR temp > 1 OR age = 4 OR "
	    "channel IN ('app', 'web') OR day <> DATE '1970-01-01' OR day NOT IN (DATE "
	    "'1971-01-01')",
	    head);
	p = plan_of(fx, sql, len, &q);
	assert_int_equal(p->where->kind, PLAN_OR);
	assert_int_equal(p->where->nkids, 5);
	assert_int_equal(filter_nodes(p->where), 6);
	assert_int_equal(p->where->kids[0]->kind, PLAN_SET);
	assert_int_equal(p->where->kids[0]->col, C_AGE);
	assert_int_equal(p->where->kids[0]->n, 4);
	assert_int_equal(p->where->kids[1]->kind, PLAN_TEXT);
	assert_int_equal(p->where->kids[1]->col, C_CHANNEL);
	assert_non_null(p->where->kids[1]->own_text);
	assert_int_equal(p->where->kids[1]->text->nlits, 3);
	assert_int_equal(p->where->kids[2]->kind, PLAN_RRANGE);
	assert_int_equal(p->where->kids[3]->kind, PLAN_RANGE); /* <>: not an equality */
	assert_int_equal(p->where->kids[3]->negated, 1);
	assert_int_equal(p->where->kids[4]->kind, PLAN_SET); /* NOT IN: not an equality */
	assert_int_equal(p->where->kids[4]->negated, 1);
	plan_free(p);
	sql_free(q);

	/* One equality per column: nothing to merge. */
	len = (size_t)snprintf(sql, SQL_MAX_TEXT, "%sage = 1 OR temp = 0 OR channel = 'web'", head);
	p = plan_of(fx, sql, len, &q);
	assert_int_equal(p->where->kind, PLAN_OR);
	assert_int_equal(filter_nodes(p->where), 4);
	assert_int_equal(p->where->kids[0]->kind, PLAN_RANGE);
	plan_free(p);
	sql_free(q);

	/* REAL sets are sorted and unique too (-0.0 and 0 are one). */
	len = (size_t)snprintf(
	    sql, SQL_MAX_TEXT, "%stemp = 1.5 OR temp IN (0, -2.5) OR temp = -0.0", head);
	p = plan_of(fx, sql, len, &q);
	assert_int_equal(p->where->kind, PLAN_RSET);
	assert_int_equal(p->where->n, 3);
	assert_true(
	    p->where->reals[0] == -2.5 && p->where->reals[1] == 0 && p->where->reals[2] == 1.5);
	plan_free(p);
	sql_free(q);
	free(sql);
}

/* A wrong literal in a merged equality is still refused, naming its place. */
static void
test_or_chain_refusals(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[][2] = {
	    {"SELECT COUNT(*) FROM shop WHERE age = 1 OR age = 'x'",
	        "1:50: column age is numeric; this literal is not of that type"},
	    {"SELECT COUNT(*) FROM shop WHERE channel = 'web' OR channel = 3",
	        "1:62: column channel is TEXT; compare it with a 'string'"},
	    {"SELECT COUNT(*) FROM shop WHERE age = 1 OR nosuch = 2 OR nosuch = 3",
	        "1:44: product shop has no column \"nosuch\""},
	};
	struct sql_query *q = NULL;
	struct plan *p = NULL;
	size_t i;
	int r;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(sql_parse(bad[i][0], strlen(bad[i][0]), &q), 0);
		sl_err_clear();
		r = plan_build(q, fx->s, &p);
		assert_int_equal(r, SL_ERR_PARSE);
		assert_null(p);
		if (strstr(sl_err_msg(r), bad[i][1]) == NULL)
			fail_msg("%s: %s lacks %s", bad[i][0], sl_err_msg(r), bad[i][1]);
		sql_free(q);
		q = NULL;
	}
}

/* ---- refusals -------------------------------------------------------------- */

/* sql parses but plan_build refuses it with code and a "line:col: " message containing want. */
static void
refused(const struct schema *s, const char *sql, int code, const char *want)
{
	struct sql_query *q = NULL;
	struct plan *p = NULL;
	unsigned line, col;
	char msg[512];
	int r;

	if ((r = sql_parse(sql, strlen(sql), &q)) != 0)
		fail_msg("%s: does not parse: %s", sql, sl_err_msg(r));
	r = plan_build(q, s, &p);
	snprintf(msg, sizeof(msg), "%s", r != 0 ? sl_err_msg(r) : "(planned)");
	plan_free(p);
	sql_free(q);
	if (r != code || strstr(msg, want) == NULL || sscanf(msg, "%u:%u: ", &line, &col) != 2)
		fail_msg("%s: got %d \"%s\", expected %d with \"%s\"", sql, r, msg, code, want);
}

/* sql does not parse: SL_ERR_PARSE with want in the message. */
static void
unparsable(const char *sql, const char *want)
{
	struct sql_query *q = NULL;
	int r = sql_parse(sql, strlen(sql), &q);

	if (r != SL_ERR_PARSE || strstr(sl_err_msg(r), want) == NULL)
		fail_msg("%s: got %d \"%s\", expected a parse error with \"%s\"", sql, r,
		    r != 0 ? sl_err_msg(r) : "(parsed)", want);
	sql_free(q);
}

static void
test_plan_refusals(void **state)
{
	struct fx *fx = *state;
	const struct schema *s = fx->s;

	/* Unknown columns, wherever they are named, and where. */
	refused(s, "SELECT COUNT(*) FROM shop WHERE nosuch = 1", SL_ERR_PARSE,
	    "1:33: product shop has no column \"nosuch\"");
	refused(s, "SELECT nosuch, COUNT(*) FROM shop GROUP BY nosuch", SL_ERR_PARSE,
	    "no column \"nosuch\"");
	refused(s, "SELECT SUM(nosuch) FROM shop", SL_ERR_PARSE, "no column \"nosuch\"");
	refused(s, "SELECT COUNT(DISTINCT Region) FROM shop", SL_ERR_PARSE, "no column \"Region\"");
	refused(s, "SELECT COUNT(*) FROM shop WHERE age = 1 OR\n  nosuch IS NULL", SL_ERR_PARSE,
	    "2:3: product shop has no column \"nosuch\"");
	/* Sums of what is not a number. */
	refused(s, "SELECT SUM(channel) FROM shop", SL_ERR_PARSE,
	    "SUM needs a numeric column; channel is TEXT");
	refused(s, "SELECT AVG(day) FROM shop", SL_ERR_PARSE,
	    "AVG needs a numeric column; day is DATE");
	refused(s, "SELECT VARIANCE(member) FROM shop", SL_ERR_PARSE,
	    "VARIANCE needs a numeric column; member is BOOL");
	refused(s, "SELECT STDDEV(region) FROM shop", SL_ERR_PARSE,
	    "STDDEV needs a numeric column; region is TEXT");
	/* Literals of the wrong type. */
	refused(s, "SELECT COUNT(*) FROM shop WHERE age = 'x'", SL_ERR_PARSE,
	    "1:39: column age is numeric");
	refused(s, "SELECT COUNT(*) FROM shop WHERE day = 5", SL_ERR_PARSE, "column day is DATE");
	refused(s, "SELECT COUNT(*) FROM shop WHERE day = '2020-13-01'", SL_ERR_PARSE,
	    "column day is DATE");
	refused(
	    s, "SELECT COUNT(*) FROM shop WHERE member = 1", SL_ERR_PARSE, "column member is BOOL");
	refused(s, "SELECT COUNT(*) FROM shop WHERE channel = 5", SL_ERR_PARSE,
	    "column channel is TEXT");
	refused(
	    s, "SELECT COUNT(*) FROM shop WHERE temp = 'a'", SL_ERR_PARSE, "column temp is REAL");
	refused(s, "SELECT COUNT(*) FROM shop WHERE price IN (1, 'a')", SL_ERR_PARSE,
	    "column price is numeric");
	refused(s, "SELECT COUNT(*) FROM shop WHERE age BETWEEN 1 AND DATE '2020-01-01'",
	    SL_ERR_PARSE, "column age is numeric");
	refused(s, "SELECT COUNT(*) FROM shop WHERE age LIKE 'a%'", SL_ERR_PARSE,
	    "LIKE needs a TEXT column; age is not one");
	/* Keys. */
	refused(s, "SELECT YEAR(age), COUNT(*) FROM shop GROUP BY YEAR(age)", SL_ERR_PARSE,
	    "YEAR needs a DATE column; age is not one");
	refused(s, "SELECT MONTH(temp), COUNT(*) FROM shop GROUP BY MONTH(temp)", SL_ERR_PARSE,
	    "MONTH needs a DATE column; temp is not one");
	refused(s, "SELECT BUCKET(channel, 5), COUNT(*) FROM shop GROUP BY BUCKET(channel, 5)",
	    SL_ERR_PARSE, "BUCKET needs a numeric column; channel is not one");
	refused(s, "SELECT BUCKET(age, 2.5), COUNT(*) FROM shop GROUP BY BUCKET(age, 2.5)",
	    SL_ERR_PARSE, "of the unit of column age");
	refused(s, "SELECT BUCKET(price, 0.001), COUNT(*) FROM shop GROUP BY BUCKET(price, 0.001)",
	    SL_ERR_PARSE, "of the unit of column price");
	refused(s, "SELECT region, COUNT(*) FROM shop", SL_ERR_PARSE,
	    "region is neither an aggregate nor in GROUP BY");
	refused(s, "SELECT BUCKET(age, 10), COUNT(*) FROM shop GROUP BY BUCKET(age, 20)",
	    SL_ERR_PARSE, "BUCKET(age, 10) is neither an aggregate nor in GROUP BY");
	refused(s, "SELECT COUNT(*) FROM other", SL_ERR_PARSE, "the contract is for product shop");
	refused(s, "SELECT COUNT(*) AS n FROM shop ORDER BY m", SL_ERR_PARSE,
	    "ORDER BY m: no output column");
	/* LIKE is 'prefix%' only: '_' and inner '%' are refused before planning. */
	unparsable("SELECT COUNT(*) FROM shop WHERE channel LIKE 'b_%'", "LIKE supports only");
	unparsable("SELECT COUNT(*) FROM shop WHERE channel LIKE 'web'", "LIKE supports only");
	unparsable("SELECT COUNT(*) FROM shop WHERE channel LIKE '%eb%'", "LIKE supports only");
}

/*
 * plan.h: output names may repeat, as in SQL; an ORDER BY naming two of them
 * is refused as ambiguous.
 */
static void
test_duplicate_output_name(void **state)
{
	struct fx *fx = *state;
	json_t *doc;

	doc = run_ok(fx, "SELECT COUNT(*) AS n, SUM(qty) AS n FROM shop", 0);
	json_decref(doc);
	doc = run_ok(fx, "SELECT region, region, COUNT(*) FROM shop GROUP BY region", 0);
	json_decref(doc);
	refused(fx->s, "SELECT COUNT(*) AS n, SUM(qty) AS n FROM shop ORDER BY n", SL_ERR_PARSE,
	    "1:56: ORDER BY n: two output columns have that name");
	refused(fx->s, "SELECT region, region, COUNT(*) FROM shop GROUP BY region ORDER BY region",
	    SL_ERR_PARSE, "ORDER BY region: two output columns have that name");
}

/* ---- many rows: three chunks ----------------------------------------------- */

static int
f_seq_boundary(const struct row *r)
{
	return tv(r->seq >= 65530 && r->seq <= 65545);
}

static int
f_seq_edges(const struct row *r)
{
	int64_t s = r->seq;

	return tv(s == 0 || s == 65535 || s == 65536 || s == 131071 || s == 131072 || s == 139999);
}

static int
f_last_chunk(const struct row *r)
{
	return tv(r->seq >= 131072);
}

static int
f_not_central(const struct row *r)
{
	return tv(r->region != CENTRAL);
}

static int
f_uid_nonneg(const struct row *r)
{
	return tv(r->uid >= 0);
}

static int
f_age_110(const struct row *r)
{
	return tv(r->age == 110);
}

static void
test_large(void **state)
{
	static const uint32_t caps[] = {0, 3, EXEC_UNITS_CAP_MAX, EXEC_UNITS_CAP_MAX + 1};
	struct fx *fx = *state;
	struct store *st = NULL;
	struct store_reader *rd = NULL;
	struct store_ident id = {"shop", 1, KEYS_SUITE_INTL, fx->key};
	struct query q[] = {
	    {AGGS(A(COUNT, 0), A(SUM, C_PRICE), A(VARIANCE, C_QTY), A(SUM, C_SCORE),
	        A(VARIANCE, C_TEMP), A(COUNT_DISTINCT, C_SEQ), A(COUNT_DISTINCT, C_CHANNEL),
	        A(MIN, C_DAY), A(MAX, C_DAY), A(MAX, C_SEQ))},
	    {KEYS(KC(C_REGION)),
	        AGGS(A(COUNT, 0), A(SUM, C_PRICE), A(STDDEV, C_SCORE), A(MIN, C_CHANNEL),
	            A(MAX, C_CHANNEL), A(COUNT_DISTINCT, C_DAY))},
	    {KEYS(KC(C_AGE)), AGGS(A(COUNT, 0), A(SUM, C_QTY))}, /* age 110: the last chunk only */
	    {KEYS(KC(C_CHANNEL), KC(C_MEMBER)), AGGS(A(COUNT, 0), A(AVG, C_PRICE))},
	    {KEYS(KY(C_DAY)), AGGS(A(COUNT, 0), A(VARIANCE, C_PRICE))},
	    {.where = "seq BETWEEN 65530 AND 65545",
	        .pred = f_seq_boundary,
	        KEYS(KC(C_REGION)),
	        AGGS(A(COUNT, 0), A(SUM, C_SEQ))},
	    {.where = "seq IN (0, 65535, 65536, 131071, 131072, 139999)",
	        .pred = f_seq_edges,
	        KEYS(KC(C_SEQ)),
	        AGGS(A(COUNT, 0), A(MIN, C_PRICE))},
	    {.where = "seq >= 131072",
	        .pred = f_last_chunk,
	        KEYS(KC(C_REGION)),
	        AGGS(A(COUNT, 0), A(SUM, C_QTY))},
	    {.where = "channel = 'web' OR day IS NULL",
	        .pred = f_web_or_no_day,
	        KEYS(KC(C_MEMBER)),
	        AGGS(A(COUNT, 0), A(SUM, C_PRICE))},
	};
	size_t i;

	assert_int_equal(store_open(fx->dir, 0, 0, &st), 0);
	assert_int_equal(store_reader_open(st, &id, fx->s, &rd), 0);
	assert_int_equal(store_reader_chunks(rd), 3);
	store_reader_close(rd);
	store_close(st);
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		check_caps(fx, &q[i], caps, sizeof(caps) / sizeof(caps[0]));
}

/*
 * The same scans on 2, 3 and 4 threads (three chunks: a thread of its own for
 * each, and one asked for more than there are): every answer is still the
 * oracle's, and a failure is still the one a single thread meets.
 */
static void test_large_units_cap(void **state);
static void test_max_groups(void **state);

static void
test_large_threads(void **state)
{
	static const unsigned counts[] = {2, 3, 4};
	size_t i;

	/* Every count on the plain scan; the caps and the group limit on an uneven split. */
	for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		print_message("threads %u\n", counts[i]);
		test_threads = counts[i];
		test_large(state);
		if (counts[i] != 3)
			continue;
		test_large_units_cap(state);
		test_max_groups(state);
	}
	test_threads = 1;
}

/*
 * With a cap, once every group of a chunk has cap units the worker does not
 * read the unit column for it: rows and sums must not notice.
 */
static void
test_large_units_cap(void **state)
{
	static const uint32_t caps[] = {0, 1, 3, 100, EXEC_UNITS_CAP_MAX, EXEC_UNITS_CAP_MAX + 1};
	struct fx *fx = *state;
	struct query q[] = {
	    /* Every group saturates in chunk 0: chunks 1 and 2 skip the unit column. */
	    {.where = "region <> 'central'",
	        .pred = f_not_central,
	        KEYS(KC(C_MEMBER)),
	        AGGS(A(COUNT, 0), A(SUM, C_PRICE), A(VARIANCE, C_SCORE), A(COUNT_DISTINCT, C_SEQ))},
	    {AGGS(A(COUNT, 0), A(SUM, C_QTY))},
	    /* Central never reaches 3 units, so every chunk is read for it. */
	    {KEYS(KC(C_REGION)), AGGS(A(COUNT, 0), A(SUM, C_PRICE), A(MAX, C_QTY))},
	    /* A group first seen in the last chunk, after others saturated. */
	    {KEYS(KC(C_AGE), KC(C_MEMBER)), AGGS(A(COUNT, 0))},
	    {.where = "age = 110", .pred = f_age_110, KEYS(KC(C_REGION)), AGGS(A(COUNT, 0))},
	    /* Plans naming the unit column (the broker refuses them; the scan
	     * must still be exact): the unit column cannot be read lazily. */
	    {.where = "uid >= 0", .pred = f_uid_nonneg, KEYS(KC(C_REGION)), AGGS(A(COUNT, 0))},
	    {KEYS(KC(C_REGION)), AGGS(A(COUNT_DISTINCT, C_UID), A(SUM, C_UID))},
	};
	json_t *doc, *g;
	size_t i, late = 0;

	for (i = 0; i < fx->nrows; i++) {
		assert_true(fx->rows[i].age != 110 || fx->rows[i].seq >= 2 * STORE_CHUNK_ROWS);
		late += fx->rows[i].age == 110;
	}
	assert_true(late > 0);
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		check_caps(fx, &q[i], caps, sizeof(caps) / sizeof(caps[0]));
	/* Literally: 4096 is honoured, 4097 is not; the late group has its own units. */
	doc = run_ok(fx, "SELECT age, COUNT(*) FROM shop GROUP BY age", 3);
	g = group_with_key(doc, "[110]");
	assert_int_equal(field(g, "rows"), late);
	assert_int_equal(field(g, "units"), 3);
	json_decref(doc);
	doc = run_ok(fx, "SELECT member, COUNT(*) FROM shop GROUP BY member", EXEC_UNITS_CAP_MAX);
	assert_int_equal(field(group_with_key(doc, "[0]"), "units"), EXEC_UNITS_CAP_MAX);
	json_decref(doc);
	doc =
	    run_ok(fx, "SELECT member, COUNT(*) FROM shop GROUP BY member", EXEC_UNITS_CAP_MAX + 1);
	g = group_with_key(doc, "[0]");
	assert_true(field(g, "units") > EXEC_UNITS_CAP_MAX + 1);
	json_decref(doc);
	doc = run_ok(fx, "SELECT region, COUNT(*) FROM shop GROUP BY region", 3);
	g = group_with_key(doc, "[\"central\"]");
	assert_int_equal(field(g, "units"), 2);
	assert_true(field(g, "rows") > 10000);
	json_decref(doc);
}

static int
f_seq_lt_20000(const struct row *r)
{
	return tv(r->seq < 20000);
}

static int
f_seq_across(const struct row *r)
{
	return tv(r->seq >= 55536 && r->seq <= 75535);
}

static void
test_max_groups(void **state)
{
	static const uint32_t caps[] = {0, 3};
	struct fx *fx = *state;
	struct query ok[] = {
	    {.where = "seq < 20000",
	        .pred = f_seq_lt_20000,
	        KEYS(KC(C_SEQ)),
	        AGGS(A(COUNT, 0), A(SUM, C_PRICE))},
	    /* 20,000 groups across the first chunk boundary. */
	    {.where = "seq BETWEEN 55536 AND 75535",
	        .pred = f_seq_across,
	        KEYS(KC(C_SEQ)),
	        AGGS(A(COUNT, 0))},
	};
	static const char *const over[] = {
	    "SELECT seq, COUNT(*) FROM shop GROUP BY seq",
	    "SELECT seq, COUNT(*) FROM shop WHERE seq < 20001 GROUP BY seq",
	    "SELECT seq, COUNT(*) FROM shop WHERE seq >= 119999 GROUP BY seq",
	    "SELECT seq, member, COUNT(*) FROM shop WHERE seq < 20001 GROUP BY seq, member",
	    "SELECT BUCKET(seq, 2), COUNT(*) FROM shop WHERE seq < 40002 GROUP BY BUCKET(seq, 2)",
	};
	json_t *doc;
	size_t i, c;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(check_caps(fx, &ok[i], caps, 2), 20000);
	for (i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		for (c = 0; c < 2; c++) {
			int r = run(fx, over[i], caps[c], &doc);

			if (r != SL_ERR_LIMIT || strstr(sl_err_msg(r), "20000 groups") == NULL)
				fail_msg("%s (units cap %u): got %d \"%s\", expected SL_ERR_LIMIT",
				    over[i], caps[c], r, r != 0 ? sl_err_msg(r) : "(answered)");
			assert_null(doc);
		}
	}
}

/* ---- the contribution bound (exec.h struct exec_bound) ---------------------- */

#define HEAVY_UID 7
#define HEAVY_ROWS 1000
#define BOUND_SMALL_ROWS 3000
#define BOUND_LARGE_ROWS 140000 /* three chunks */
#define BOUND_LARGE_UNITS 3000

/*
 * Small: unit HEAVY_UID has rows 0..999 (seq 0..999); every other unit
 * three rows, the last two.  Large: units of about 47 rows each, spread over
 * every chunk; fx->alt holds the same rows shuffled, so each row lies in
 * another place and mostly another chunk.
 */
static void
swap_stores(struct fx *fx)
{
	char *t = fx->dir;

	fx->dir = fx->alt;
	fx->alt = t;
}

static int
setup_bound(void **state, size_t n)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct row *shuffled;
	size_t i;

	fx->tmp = vec_tmpdir();
	fx->dir = sl_path_join(fx->tmp, "store");
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	assert_int_equal(schema_parse(schema_json, strlen(schema_json), &fx->s), 0);
	keys_random(fx->key, sizeof(fx->key));
	fx->nrows = n;
	fx->rows = calloc(n, sizeof(*fx->rows));
	shuffled = calloc(n, sizeof(*shuffled));
	for (i = 0; i < n; i++) {
		struct row *r = &fx->rows[i];

		gen_row(i, n, r);
		if (n == BOUND_SMALL_ROWS)
			r->uid = i < HEAVY_ROWS ? HEAVY_UID : 100 + (int64_t)(i - HEAVY_ROWS) / 3;
		else
			r->uid = 1 + (int64_t)(splitmix(i * 7 + 3) % BOUND_LARGE_UNITS);
	}
	memcpy(shuffled, fx->rows, n * sizeof(*shuffled));
	for (i = n - 1; i > 0; i--) {
		size_t j = (size_t)(splitmix(i ^ 0xb0b) % (i + 1));
		struct row t = shuffled[i];

		shuffled[i] = shuffled[j];
		shuffled[j] = t;
	}
	fx->version = 1;
	write_version(fx, 1, fx->rows, n);
	/* A store holds one version: the shuffled one goes to a store of its own. */
	fx->alt = fx->dir;
	fx->dir = sl_path_join(fx->tmp, "shuffled");
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	write_version(fx, 1, shuffled, n);
	swap_stores(fx);
	free(shuffled);
	*state = fx;
	return 0;
}

static int
setup_bound_small(void **state)
{
	return setup_bound(state, BOUND_SMALL_ROWS);
}

static int
setup_bound_large(void **state)
{
	return setup_bound(state, BOUND_LARGE_ROWS);
}

static json_t *
run_bound_ok(struct fx *fx, const char *sql, uint32_t cap, const struct exec_bound *b)
{
	json_t *doc;
	int r = run_bound(fx, sql, cap, b, &doc);

	if (r != 0)
		fail_msg("%s (bound %u): %s", sql, b != NULL ? b->rows : 0, sl_err_msg(r));
	return doc;
}

static int
group_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A document's groups as one string, in the order of their text: the
 * order groups are found in depends on the rows' order, their contents
 * must not.
 */
static char *
groups_canon(const json_t *doc)
{
	const json_t *groups = json_object_get(doc, "groups");
	size_t n = json_array_size(groups), i, len = 1;
	char **g = calloc(n + 1, sizeof(*g)), *out;

	for (i = 0; i < n; i++) {
		g[i] =
		    json_dumps(json_array_get(groups, i), JSON_COMPACT | JSON_REAL_PRECISION(17));
		len += strlen(g[i]) + 1;
	}
	qsort(g, n, sizeof(*g), group_cmp);
	out = calloc(len, 1);
	for (i = 0, len = 0; i < n; i++) {
		size_t l = strlen(g[i]);

		memcpy(out + len, g[i], l);
		out[len + l] = '\n';
		len += l + 1;
		free(g[i]);
	}
	free(g);
	return out;
}

static int64_t
count_star(json_t *doc)
{
	json_t *g = json_array_get(json_object_get(doc, "groups"), 0);

	return json_integer_value(json_object_get(g, "rows"));
}

/* Rows of unit uid in fx. */
static int64_t
unit_rows(const struct fx *fx, int64_t uid)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < fx->nrows; i++)
		n += fx->rows[i].uid == uid;
	return n;
}

/*
 * Per unit, GROUP BY uid: each unit has min(k, its rows) rows and COUNT(*);
 * a unit within the bound has the very group it has without one.
 * Returns the kept rows in all.
 */
static int64_t
check_per_unit(struct fx *fx, const struct exec_bound *b)
{
	static const char sql[] =
	    "SELECT uid, COUNT(*), SUM(qty), MIN(channel) FROM shop GROUP BY uid";
	json_t *bounded = run_bound_ok(fx, sql, 0, b), *free_doc = run_ok(fx, sql, 0);
	json_t *groups = json_object_get(bounded, "groups");
	int64_t kept = 0;
	size_t i, j;

	assert_int_equal(
	    json_array_size(groups), json_array_size(json_object_get(free_doc, "groups")));
	for (i = 0; i < json_array_size(groups); i++) {
		json_t *g = json_array_get(groups, i), *key = json_object_get(g, "key"), *f = NULL;
		int64_t uid = json_integer_value(json_array_get(key, 0));
		int64_t all = unit_rows(fx, uid), want = all < b->rows ? all : b->rows;
		int64_t rows = json_integer_value(json_object_get(g, "rows"));

		if (rows != want)
			fail_msg("unit %" PRId64 " of %" PRId64 " rows, bound %u: %" PRId64
			         " rows kept, expected %" PRId64,
			    uid, all, b->rows, rows, want);
		assert_int_equal(json_integer_value(json_object_get(g, "units")), 1);
		kept += rows;
		if (all > b->rows)
			continue;
		for (j = 0; j < json_array_size(json_object_get(free_doc, "groups")); j++) {
			f = json_array_get(json_object_get(free_doc, "groups"), j);
			if (json_equal(json_object_get(f, "key"), key))
				break;
		}
		assert_true(json_equal(f, g));
	}
	assert_int_equal(
	    json_integer_value(json_object_get(bounded, "rows_scanned")), (json_int_t)fx->nrows);
	json_decref(bounded);
	json_decref(free_doc);
	return kept;
}

static void
bound_key(struct exec_bound *b, uint32_t rows, uint8_t fill)
{
	b->rows = rows;
	memset(b->key, fill, sizeof(b->key));
	b->key[0] = 0x5a;
}

/* A unit of 1,000 rows moves COUNT(*) by at most k; the others keep theirs. */
static void
test_bound_counts(void **state)
{
	static const uint32_t ks[] = {1, 5};
	struct fx *fx = *state;
	struct exec_bound b;
	size_t i;

	assert_int_equal(unit_rows(fx, HEAVY_UID), HEAVY_ROWS);
	for (i = 0; i < 2; i++) {
		json_t *all, *rest;
		int64_t kept;

		bound_key(&b, ks[i], 1);
		kept = check_per_unit(fx, &b);
		all = run_bound_ok(fx, "SELECT COUNT(*) FROM shop", 0, &b);
		rest = run_bound_ok(fx, "SELECT COUNT(*) FROM shop WHERE uid <> 7", 0, &b);
		assert_int_equal(count_star(all), kept);
		assert_int_equal(count_star(all) - count_star(rest), ks[i]);
		/* Units of three rows: unchanged under 5, one row each under 1. */
		assert_int_equal(count_star(rest), ks[i] == 5
		                                       ? BOUND_SMALL_ROWS - HEAVY_ROWS
		                                       : (BOUND_SMALL_ROWS - HEAVY_ROWS + 2) / 3);
		json_decref(all);
		json_decref(rest);
	}
}

/* The filter comes first: a unit's rows outside the WHERE use none of its quota. */
static void
test_bound_filter_first(void **state)
{
	struct fx *fx = *state;
	struct exec_bound b;
	json_t *doc;

	bound_key(&b, 5, 2);
	/* Only the heavy unit has seq < 10: ten rows, five kept. */
	doc = run_bound_ok(fx, "SELECT COUNT(*) FROM shop WHERE seq < 10", 0, &b);
	assert_int_equal(count_star(doc), 5);
	json_decref(doc);
	doc = run_bound_ok(
	    fx, "SELECT COUNT(*), SUM(qty) FROM shop WHERE uid = 7 AND seq >= 997", 0, &b);
	assert_int_equal(count_star(doc), 3);
	json_decref(doc);
	bound_key(&b, 20, 2);
	doc = run_bound_ok(fx, "SELECT COUNT(*) FROM shop WHERE seq < 10", 0, &b);
	assert_int_equal(count_star(doc), 10);
	json_decref(doc);
}

/* The key chooses the rows; the same key the same rows; rows 0 is no bound. */
static void
test_bound_key(void **state)
{
	static const char *const sqls[] = {
	    "SELECT region, COUNT(*), AVG(price), SUM(qty) FROM shop WHERE age BETWEEN 40 AND 65 "
	    "GROUP BY region",
	    "SELECT channel, COUNT(*), VARIANCE(score), MAX(temp) FROM shop GROUP BY channel",
	    "SELECT COUNT(*) FROM shop WHERE uid = 7",
	};
	static const char heavy[] = "SELECT seq, COUNT(*) FROM shop WHERE uid = 7 GROUP BY seq";
	struct fx *fx = *state;
	struct exec_bound a, a2, b, zero;
	json_t *da, *da2, *db;
	size_t i, c;

	bound_key(&a, 5, 3);
	bound_key(&a2, 5, 3);
	bound_key(&b, 5, 4);
	da = run_bound_ok(fx, heavy, 0, &a);
	da2 = run_bound_ok(fx, heavy, 0, &a2);
	db = run_bound_ok(fx, heavy, 0, &b);
	assert_int_equal(json_array_size(json_object_get(da, "groups")), 5);
	assert_int_equal(json_array_size(json_object_get(db, "groups")), 5);
	assert_true(json_equal(da, da2));
	assert_false(json_equal(da, db));
	json_decref(da);
	json_decref(da2);
	json_decref(db);
	bound_key(&zero, 0, 3);
	for (i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		for (c = 0; c < 2; c++) {
			json_t *x = run_ok(fx, sqls[i], c ? 3 : 0),
			       *y = run_bound_ok(fx, sqls[i], c ? 3 : 0, &zero);

			assert_true(json_equal(x, y));
			json_decref(x);
			json_decref(y);
		}
	}
}

/*
 * Same rows in another order, so in other chunks: the same rows are kept,
 * and the same again when the first pass prunes its pairs.
 */
static void
test_bound_order(void **state)
{
	static const char *const sqls[] = {
	    /* The set of rows kept: seq is each row's own (at most 9,000 groups). */
	    "SELECT seq, COUNT(*), SUM(score), MIN(channel), MAX(temp), MAX(day) FROM shop "
	    "GROUP BY seq",
	    "SELECT region, COUNT(*), AVG(price), SUM(qty), VARIANCE(qty) FROM shop "
	    "WHERE age BETWEEN 40 AND 65 GROUP BY region",
	    "SELECT channel, member, COUNT(*), COUNT(DISTINCT age) FROM shop GROUP BY channel, "
	    "member",
	};
	static const uint32_t ks[] = {1, 3};
	struct fx *fx = *state;
	struct exec_bound b;
	size_t i, k, c;

	for (k = 0; k < 2; k++) {
		int64_t kept;

		bound_key(&b, ks[k], 5);
		kept = check_per_unit(fx, &b);
		assert_true(kept < (int64_t)fx->nrows / 10);
		for (i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
			for (c = 0; c < 2; c++) {
				json_t *d1, *d2, *unbounded;
				char *x, *y, *z;

				d1 = run_bound_ok(fx, sqls[i], c ? 2 : 0, &b);
				/* Unbounded, the first query has a group a row: too many. */
				unbounded = i > 0 ? run_ok(fx, sqls[i], c ? 2 : 0) : json_object();
				swap_stores(fx);
				/* Pruned at every fill of the first pass's buffer (131,072 pairs). */
				exec_bound_prune_pairs = c ? 1 : EXEC_BOUND_PRUNE_PAIRS;
				d2 = run_bound_ok(fx, sqls[i], c ? 2 : 0, &b);
				exec_bound_prune_pairs = EXEC_BOUND_PRUNE_PAIRS;
				swap_stores(fx);
				x = groups_canon(d1);
				y = groups_canon(d2);
				z = groups_canon(unbounded);
				if (i == 0)
					assert_int_equal(
					    json_array_size(json_object_get(d1, "groups")), kept);
				if (strcmp(x, y) != 0)
					fail_msg("%s, bound %u: the kept rows depend on row order",
					    sqls[i], b.rows);
				assert_string_not_equal(x, z);
				free(x);
				free(y);
				free(z);
				json_decref(d1);
				json_decref(d2);
				json_decref(unbounded);
			}
		}
	}
}

/*
 * The bound on 2, 3 and 4 threads (three chunks): the very answer of one
 * thread, in both row orders and when every run prunes at each fill.
 */
static void
test_bound_threads(void **state)
{
	static const char *const sqls[] = {
	    "SELECT seq, COUNT(*), SUM(qty), MIN(channel), MAX(day) FROM shop GROUP BY seq",
	    "SELECT region, COUNT(*), SUM(qty), COUNT(DISTINCT age) FROM shop "
	    "WHERE age BETWEEN 40 AND 65 GROUP BY region",
	    "SELECT uid, COUNT(*), SUM(qty) FROM shop GROUP BY uid",
	};
	static const unsigned counts[] = {2, 3, 4};
	struct fx *fx = *state;
	struct exec_bound b;
	size_t i, k, o, c;

	for (k = 1; k <= 3; k += 2) {
		bound_key(&b, (uint32_t)k, 6);
		for (o = 0; o < 2; o++, swap_stores(fx)) {
			for (i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
				json_t *one = run_bound_ok(fx, sqls[i], 0, &b);

				for (c = 0; c < sizeof counts / sizeof counts[0]; c++) {
					json_t *many;

					test_threads = counts[c];
					exec_bound_prune_pairs =
					    c == 2 ? 1 : EXEC_BOUND_PRUNE_PAIRS;
					many = run_bound_ok(fx, sqls[i], 0, &b);
					exec_bound_prune_pairs = EXEC_BOUND_PRUNE_PAIRS;
					test_threads = 1;
					if (!json_equal(one, many))
						fail_msg("%s, bound %zu, %u threads: not the "
						         "answer of one",
						    sqls[i], k, counts[c]);
					json_decref(many);
				}
				json_decref(one);
			}
		}
	}
}

/* The scalar paths of the decoder and the filter, on a CPU that has AVX-512. */
static void
test_filters_scalar(void **state)
{
	(void)simd_avx512(0);
	test_filters(state);
	(void)simd_avx512(1);
}

static void
test_large_scalar(void **state)
{
	(void)simd_avx512(0);
	test_large(state);
	(void)simd_avx512(1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_count_star, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_group_by_text, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_group_by_text_filtered, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_group_by_keys, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_group_functions, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_filters, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_filters_scalar, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_three_valued, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_clamped_aggregates, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_min_max_distinct, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_units_cap, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_order_limit_plan, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_or_chain_set, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_or_chain_refusals, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_plan_refusals, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_output_name, setup_small, teardown),
	    cmocka_unit_test_setup_teardown(test_large, setup_large, teardown),
	    cmocka_unit_test_setup_teardown(test_large_scalar, setup_large, teardown),
	    cmocka_unit_test_setup_teardown(test_large_units_cap, setup_large, teardown),
	    cmocka_unit_test_setup_teardown(test_max_groups, setup_large, teardown),
	    cmocka_unit_test_setup_teardown(test_large_threads, setup_large, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_counts, setup_bound_small, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_filter_first, setup_bound_small, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_key, setup_bound_small, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_order, setup_bound_large, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_threads, setup_bound_large, teardown),
	};

	if (keys_init(0) != 0)
		return 1;
	/* make check-tsan runs the threaded tests only (Makefile.am TSAN_TESTS). */
	if (getenv("SL_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("SL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
