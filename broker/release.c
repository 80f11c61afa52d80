/*
 * broker/release.c -- checking a worker's raw aggregates and releasing what the rules allow.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/dp.h"
#include "broker/plan_check.h"
#include "broker/release.h"
#include "common/err.h"
#include "common/fn.h"
#include "common/schema.h"
#include "contracts/contract.h"

/* What release needs of one output column. */
struct out_col {
	int is_agg;
	uint32_t fn; /* enum fn_agg or enum fn_key */
	const struct schema_column *c;
	size_t index;
};

static int
bad(const char *what, size_t g)
{
	return sl_errf(SL_ERR_PARSE, "implausible answer from the worker: group %zu: %s", g, what);
}

/* A stored value of column c as the buyer sees it; NULL if c cannot hold it. */
static json_t *
typed(const struct schema_column *c, const struct job_value *raw)
{
	char date[16];
	int64_t days;
	time_t t;
	struct tm tm;

	if (raw->type == JOB_VALUE_NULL)
		return json_null();
	if (c->type == SCHEMA_TEXT)
		return raw->type == JOB_VALUE_TEXT ? json_stringn((const char *)raw->s, raw->len)
		                                   : NULL;
	if (c->type == SCHEMA_REAL)
		return raw->type == JOB_VALUE_REAL ? json_real(raw->r) : NULL;
	if (raw->type != JOB_VALUE_INT)
		return NULL;
	switch (c->type) {
	case SCHEMA_DECIMAL:
		return json_real((double)raw->i / (double)fn_pow10((uint32_t)c->scale));
	case SCHEMA_DATE:
		days = raw->i;
		if (days < -719162 || days > 2932896) /* years 1..9999 */
			return NULL;
		t = (time_t)days * 86400;
		gmtime_r(&t, &tm);
		strftime(date, sizeof date, "%Y-%m-%d", &tm);
		return json_string(date);
	case SCHEMA_BOOL:
		return json_boolean(raw->i != 0);
	default:
		return json_integer(raw->i);
	}
}

/* Plausibility of one sum: within n x [lo, hi] of its clamping bounds. */
static int
sum_plausible(const struct schema_column *c, int64_t n, const struct job_value *sum)
{
	__int128 lo, hi, v;

	if (c->type == SCHEMA_REAL) {
		double d = sum->r;

		if (sum->type != JOB_VALUE_REAL || !isfinite(d))
			return 0;
		return !c->has_bounds ||
		       (d >= (double)n * c->rlo - 1e-6 * fabs((double)n * c->rlo) - 1e-6 &&
		           d <= (double)n * c->rhi + 1e-6 * fabs((double)n * c->rhi) + 1e-6);
	}
	if (sum->type != JOB_VALUE_INT)
		return 0;
	if (!c->has_bounds)
		return 1;
	v = sum->i;
	lo = (__int128)n * c->lo;
	hi = (__int128)n * c->hi;
	return v >= lo && v <= hi;
}

/*
 * n * sumsq - sum^2 for integer values, exactly: n < 2^63 and sumsq < 2^127
 * make the product up to 190 bits, so it is held as two 128-bit halves.
 * Then m2 = that / n.  -1 if sumsq is negative or the result is.
 */
static int
int_m2(int64_t n, int64_t sum, __int128 q, double *m2)
{
	typedef unsigned __int128 u128;
	u128 ql, qh, lo, hi, mid, ss;

	if (q < 0 || n < 1)
		return -1;
	ql = (uint64_t)q;
	qh = (u128)q >> 64;
	/* n * q = n*qh * 2^64 + n*ql */
	mid = (u128)n * qh;
	lo = (u128)n * ql;
	hi = mid >> 64;
	mid <<= 64;
	lo += mid;
	hi += lo < mid;
	ss = (u128)((__int128)sum * sum); /* |sum| < 2^63 */
	if (hi == 0 && lo < ss)
		return -1;
	hi -= lo < ss;
	lo -= ss;
	*m2 = ((double)hi * 0x1p128 + (double)lo) / (double)n;
	return 0;
}

/* A REAL group's sum of squared deviations: finite, >= 0, and within what its bounds allow. */
static int
m2_plausible(const struct schema_column *c, int64_t n, double m2)
{
	double span = c->rhi - c->rlo;

	if (!isfinite(m2) || m2 < 0)
		return 0;
	/* Values in [lo, hi] deviate from their mean by at most hi - lo; n/4 (hi-lo)^2 is the max. */
	return !c->has_bounds || m2 <= (double)n * span * span / 4 * (1 + 1e-9) + 1e-9;
}

/*
 * Bounds that no stored value lies outside: ingest refuses such values
 * (measures' clamp bounds keep them, and clamp only what is summed).
 */
static int
bounded(const struct schema_column *c)
{
	return c->has_bounds && c->bounds_mode == SCHEMA_BOUNDS_REJECT;
}

static int int_fits(const struct schema_column *c, int64_t v);

/* Could column c hold the extreme v (MIN, MAX)? */
static int
extreme_fits(const struct schema_column *c, const struct job_value *v)
{
	if (c->type == SCHEMA_REAL)
		return v->type == JOB_VALUE_REAL && isfinite(v->r) &&
		       (!bounded(c) || (v->r >= c->rlo && v->r <= c->rhi));
	if (c->type == SCHEMA_TEXT)
		return v->type == JOB_VALUE_TEXT;
	return v->type == JOB_VALUE_INT && int_fits(c, v->i);
}

/* A sum as a double in the column's storage unit. */
static double
sum_of(const struct schema_column *c, const struct job_value *v)
{
	return c->type == SCHEMA_REAL ? v->r : (double)v->i;
}

/* The output value of aggregate a of a group of rows rows, or NULL if implausible. */
static json_t *
derive(const struct out_col *o, const struct job_agg_state *a, int64_t rows)
{
	const struct schema_column *c = o->c;
	double scale = c != NULL && c->type == SCHEMA_DECIMAL ? (double)fn_pow10((uint32_t)c->scale)
	                                                      : 1,
	       m2, var;
	int64_t n = (int64_t)a->n;

	if (a->n > (uint64_t)rows)
		return NULL;
	switch (o->fn) {
	case FN_COUNT:
		return n == rows ? json_integer(n) : NULL;
	case FN_COUNT_DISTINCT:
		return json_integer(n);
	case FN_MIN:
	case FN_MAX:
		if (n == 0)
			return json_null();
		return extreme_fits(c, &a->value) ? typed(c, &a->value) : NULL;
	}
	if (!sum_plausible(c, n, &a->value))
		return NULL;
	if (o->fn == FN_SUM) {
		if (n == 0)
			return json_null();
		if (c->type == SCHEMA_INT)
			return json_integer(a->value.i);
		return json_real(sum_of(c, &a->value) / scale);
	}
	if (o->fn == FN_AVG)
		return n == 0 ? json_null() : json_real(sum_of(c, &a->value) / scale / (double)n);
	/* VARIANCE, STDDEV: the sample variance, m2 / (n - 1). */
	if (n < 2)
		return json_null();
	if (c->type == SCHEMA_REAL) {
		m2 = a->m2;
		if (!m2_plausible(c, n, m2))
			return NULL;
	} else if (int_m2(n, a->value.i, a->sumsq, &m2) != 0) {
		return NULL;
	}
	var = m2 / (double)(n - 1) / (scale * scale);
	return json_real(o->fn == FN_STDDEV ? sqrt(var) : var);
}

/* The threshold rule, the one place a release mode decides a group. */
static int
release_admit(const struct contract_terms *t, int64_t units)
{
	return units >= t->min_group;
}

/* ---- ORDER BY ------------------------------------------------------------ */

static int
value_cmp(const json_t *a, const json_t *b)
{
	/* NULLs first, as SQLite sorts ascending. */
	if (json_is_null(a) || json_is_null(b))
		return json_is_null(b) - json_is_null(a);
	if (json_is_string(a) && json_is_string(b)) {
		size_t la = json_string_length(a), lb = json_string_length(b);
		int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);

		return c != 0 ? c : (la > lb) - (la < lb);
	}
	if (json_is_boolean(a) && json_is_boolean(b))
		return json_is_true(a) - json_is_true(b);
	if (json_is_integer(a) && json_is_integer(b))
		return (json_integer_value(a) > json_integer_value(b)) -
		       (json_integer_value(a) < json_integer_value(b));
	return (json_number_value(a) > json_number_value(b)) -
	       (json_number_value(a) < json_number_value(b));
}

/* qsort_r's comparison: order is the plan's ORDER BY list. */
static int
row_cmp(const void *pa, const void *pb, void *arg)
{
	const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	const struct job_plan *p = arg;
	size_t i;

	for (i = 0; i < p->norder; i++) {
		int c = value_cmp(
		    json_array_get(a, p->order[i].output), json_array_get(b, p->order[i].output));

		if (c != 0)
			return p->order[i].desc ? -c : c;
	}
	/* A total order, so equal keys come out the same way every time. */
	for (i = 0; i < json_array_size(a); i++) {
		int c = value_cmp(json_array_get(a, i), json_array_get(b, i));

		if (c != 0)
			return c;
	}
	return 0;
}

static int
sort_and_limit(const struct job_plan *p, json_t *rows)
{
	size_t n = json_array_size(rows), i;
	json_t **v;

	if (p->norder > 0 && n > 1) {
		if ((v = malloc(n * sizeof *v)) == NULL)
			return SL_ERR_NOMEM;
		for (i = 0; i < n; i++)
			v[i] = json_incref(json_array_get(rows, i));
		qsort_r(v, n, sizeof *v, row_cmp, (void *)p);
		json_array_clear(rows);
		for (i = 0; i < n; i++)
			json_array_append_new(rows, v[i]);
		free(v);
	}
	if (p->has_limit)
		while (json_array_size(rows) > p->limit)
			json_array_remove(rows, json_array_size(rows) - 1);
	return 0;
}

/* ---- what a worker may claim ---------------------------------------------- */

/* Is v of a stored integer column within its declared bounds (and domain)? */
static int
int_fits(const struct schema_column *c, int64_t v)
{
	size_t i;

	if (c->type == SCHEMA_BOOL && v != 0 && v != 1)
		return 0;
	if (bounded(c) && (v < c->lo || v > c->hi))
		return 0;
	if (c->domain_int != NULL) {
		for (i = 0; i < c->ndomain; i++)
			if (c->domain_int[i] == v)
				return 1;
		return 0;
	}
	return 1;
}

/*
 * Could key k of the plan take the value raw?  The type, the declared
 * domain and bounds, a BUCKET's width (the broker's, read from the text) and
 * a YEAR's or MONTH's range: a compromised worker must not smuggle anything
 * else out as a group key (a data key in hex, a value of another column).
 */
static int
key_fits(uint32_t fn, const struct checked_key *k, const struct job_value *raw)
{
	const struct schema_column *c = k->c;
	size_t i;

	if (raw->type == JOB_VALUE_NULL)
		return c->nullable;
	if (fn == FN_KEY_YEAR || fn == FN_KEY_MONTH)
		return raw->type == JOB_VALUE_INT && raw->i >= 1 &&
		       raw->i <= (fn == FN_KEY_YEAR ? 9999 : 12);
	if (fn == FN_KEY_BUCKET && c->type == SCHEMA_REAL) {
		/* floor(v / w) * w in floating point: a multiple of w, to rounding. */
		double x = raw->r, wd = k->rwidth, q = x / wd,
		       slack = 1e-9 * (fabs(q) > 1 ? fabs(q) : 1);

		return raw->type == JOB_VALUE_REAL && isfinite(q) &&
		       fabs(q - nearbyint(q)) <= slack &&
		       (!bounded(c) || (x <= c->rhi + slack * wd && x + wd > c->rlo - slack * wd));
	}
	if (fn == FN_KEY_BUCKET)
		return raw->type == JOB_VALUE_INT && raw->i % k->width == 0 &&
		       (!bounded(c) || (raw->i <= c->hi && raw->i > c->lo - k->width));
	switch (c->type) {
	case SCHEMA_TEXT:
		if (raw->type != JOB_VALUE_TEXT)
			return 0;
		for (i = 0; i < c->ndomain; i++)
			if (c->domain_len[i] == raw->len &&
			    memcmp(c->domain_text[i], raw->s, raw->len) == 0)
				return 1;
		return c->ndomain == 0;
	case SCHEMA_REAL:
		return raw->type == JOB_VALUE_REAL && isfinite(raw->r) &&
		       (!bounded(c) || (raw->r >= c->rlo && raw->r <= c->rhi));
	default:
		return raw->type == JOB_VALUE_INT && int_fits(c, raw->i);
	}
}

/* A group's key as bytes, so that two groups with one key sort together. */
struct key_bytes {
	uint8_t *b;
	size_t n;
};

static int
key_bytes_of(const struct job_group *g, size_t nkeys, struct key_bytes *out)
{
	size_t i, n = 0;
	uint8_t *q;

	for (i = 0; i < nkeys; i++)
		n += 1 + 8 + 4 + (g->keys[i].type == JOB_VALUE_TEXT ? g->keys[i].len : 0);
	if ((q = out->b = malloc(n + 1)) == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < nkeys; i++) {
		const struct job_value *v = &g->keys[i];

		*q++ = (uint8_t)v->type;
		if (v->type == JOB_VALUE_INT)
			memcpy(q, &v->i, 8);
		else if (v->type == JOB_VALUE_REAL)
			memcpy(q, &v->r, 8);
		else
			memset(q, 0, 8);
		q += 8;
		memcpy(q, &v->len, 4);
		q += 4;
		if (v->type == JOB_VALUE_TEXT) {
			memcpy(q, v->s, v->len);
			q += v->len;
		}
	}
	out->n = (size_t)(q - out->b);
	return 0;
}

static int
key_bytes_cmp(const void *a, const void *b)
{
	const struct key_bytes *x = a, *y = b;
	int c = memcmp(x->b, y->b, x->n < y->n ? x->n : y->n);

	return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

/*
 * Every group of the RESULT before any is released: keys that fit their
 * columns, no key twice, and no more rows in all than the version holds.
 */
static int
groups_plausible(const struct checked_plan *cp, const struct job_result *res, int64_t version_rows)
{
	size_t n = res->ngroups, i, j;
	struct key_bytes *kb = calloc(n + 1, sizeof *kb);
	uint64_t total = 0;
	int r = 0;

	if (kb == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < n && r == 0; i++) {
		const struct job_group *g = &res->groups[i];

		for (j = 0; j < cp->p.nkeys && r == 0; j++)
			if (!key_fits(cp->p.keys[j].fn, &cp->keys[j], &g->keys[j]))
				r = bad("a group key is not a value its column can hold", i);
		if (r == 0 && (g->rows > (uint64_t)version_rows ||
		                  (total += g->rows) > (uint64_t)version_rows))
			r = bad("the groups hold more rows than the version", i);
		if (r == 0)
			r = key_bytes_of(g, cp->p.nkeys, &kb[i]);
	}
	if (r == 0)
		qsort(kb, n, sizeof *kb, key_bytes_cmp);
	for (i = 1; r == 0 && i < n; i++)
		if (key_bytes_cmp(&kb[i - 1], &kb[i]) == 0)
			r = sl_errf(SL_ERR_PARSE,
			    "implausible answer from the worker: a group key appears twice");
	for (i = 0; i < n; i++)
		free(kb[i].b);
	free(kb);
	return r;
}

/* ---- the whole step ------------------------------------------------------ */

static struct out_col *
outputs(const struct checked_plan *cp)
{
	struct out_col *cols = calloc(cp->p.noutputs + 1, sizeof *cols);
	size_t i;

	for (i = 0; cols != NULL && i < cp->p.noutputs; i++) {
		const struct job_plan_output *o = &cp->p.outputs[i];

		cols[i].is_agg = (int)o->is_agg;
		cols[i].index = o->index;
		cols[i].fn = o->is_agg ? cp->p.aggs[o->index].fn : cp->p.keys[o->index].fn;
		cols[i].c = o->is_agg ? cp->agg_cols[o->index] : cp->keys[o->index].c;
	}
	return cols;
}

static int
group_row(const struct out_col *cols, size_t ncols, const struct job_group *g, size_t gi,
    const struct dp_noise *dn, json_t **row)
{
	json_t *r = json_array(), *v;
	size_t i;

	if (r == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < ncols; i++) {
		const struct out_col *o = &cols[i];
		const struct job_value *k = &g->keys[o->index];

		if (o->is_agg)
			v = derive(o, &g->aggs[o->index], (int64_t)g->rows);
		else if (o->fn == FN_KEY_YEAR || o->fn == FN_KEY_MONTH)
			v = k->type == JOB_VALUE_NULL  ? json_null()
			    : k->type == JOB_VALUE_INT ? json_integer(k->i)
			                               : NULL;
		else
			v = typed(o->c, k);
		/* dp: the exact value was only the plausibility check; the noisy one is released */
		if (v != NULL && o->is_agg && dn != NULL) {
			json_decref(v);
			if ((v = dp_value(dn, gi, g, o->fn, o->index, o->c)) == NULL) {
				json_decref(r);
				return SL_ERR_NOMEM;
			}
		}
		if (v == NULL) {
			json_decref(r);
			return bad(o->is_agg ? "an aggregate is malformed or out of bounds"
			                     : "a group key is malformed",
			    gi);
		}
		json_array_append_new(r, v);
	}
	*row = r;
	return 0;
}

/* A group's counts as the contract lets its units have them. */
static int
counts_plausible(
    const struct contract_terms *t, const struct dp_noise *dn, const struct job_group *g, size_t gi)
{
	if (g->units > g->rows)
		return bad("a row or unit count is out of range", gi);
	/* dp: the worker was to keep at most max_rows_per_unit rows of each unit */
	if (dn != NULL && (__int128)g->rows > (__int128)g->units * t->max_rows_per_unit)
		return bad("more rows than the contribution bound lets its units have", gi);
	return 0;
}

/* Observed groups: each released if it passes min_group, or in dp mode tau. */
static int
apply_observed(const struct checked_plan *cp, const struct job_result *res,
    const struct contract_terms *t, const struct out_col *cols, const struct dp_noise *dn,
    struct release_answer *out)
{
	json_t *row = NULL;
	size_t i;
	int r;

	for (i = 0; i < res->ngroups; i++) {
		const struct job_group *g = &res->groups[i];

		if ((r = counts_plausible(t, dn, g, i)) != 0)
			return r;
		if (dn != NULL ? !dp_admit(dn, i, g) : !release_admit(t, (int64_t)g->units)) {
			out->suppressed++;
			continue;
		}
		if ((r = group_row(cols, cp->p.noutputs, g, i, dn, &row)) != 0)
			return r;
		json_array_append_new(out->rows, row);
	}
	return 0;
}

/*
 * dp over public domains: every group of the product, in its order, an
 * observed one where the worker saw rows, else an empty one; the noise of
 * place k is noise k, so what is released does not show which were seen.
 */
static int
apply_public(const struct checked_plan *cp, const struct job_result *res,
    const struct contract_terms *t, const struct out_col *cols, const struct dp_noise *dn,
    struct release_answer *out)
{
	size_t n = dn->dq->public_groups, i, k;
	size_t *seen = malloc(n * sizeof *seen);
	struct job_value *keys = calloc(cp->p.nkeys + 1, sizeof *keys);
	struct job_agg_state *aggs = calloc(cp->p.naggs + 1, sizeof *aggs);
	json_t *row = NULL;
	int r = 0;

	if (seen == NULL || keys == NULL || aggs == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if (dn->ngroups < n) {
		r = sl_errf(
		    SL_ERR_INTERNAL, "release: noise for %zu of %zu public groups", dn->ngroups, n);
		goto out;
	}
	for (k = 0; k < n; k++)
		seen[k] = SIZE_MAX;
	for (i = 0; i < res->ngroups && r == 0; i++) {
		if ((r = counts_plausible(t, dn, &res->groups[i], i)) != 0)
			break;
		if ((k = dp_public_index(cp, &res->groups[i])) >= n)
			r = bad("a group key is outside its column's public domain", i);
		else
			seen[k] = i; /* groups_plausible() refused a key twice */
	}
	for (i = 0; i < cp->p.naggs; i++)
		aggs[i].value.type = JOB_VALUE_INT;
	for (k = 0; k < n && r == 0; k++) {
		struct job_group empty = {keys, 0, 0, aggs};

		if (seen[k] == SIZE_MAX)
			dp_public_keys(cp, k, keys);
		if ((r = group_row(cols, cp->p.noutputs,
		         seen[k] != SIZE_MAX ? &res->groups[seen[k]] : &empty, k, dn, &row)) == 0)
			json_array_append_new(out->rows, row);
	}
out:
	free(seen);
	free(keys);
	free(aggs);
	return r;
}

static int
apply(const struct checked_plan *cp, const struct job_result *res, const struct contract_terms *t,
    int64_t version_rows, const struct out_col *cols, const struct dp_noise *dn,
    struct release_answer *out)
{
	int r;

	if ((r = groups_plausible(cp, res, version_rows)) != 0)
		return r;
	r = dn != NULL && dn->dq->public_groups > 0 ? apply_public(cp, res, t, cols, dn, out)
	                                            : apply_observed(cp, res, t, cols, dn, out);
	return r != 0 ? r : sort_and_limit(&cp->p, out->rows);
}

int
release_apply(const struct checked_plan *cp, const struct job_result *res,
    const struct contract_terms *t, int64_t version_rows, const struct dp_noise *dn,
    struct release_answer *out)
{
	struct out_col *cols;
	int r;

	memset(out, 0, sizeof *out);
	if ((t->mode == CONTRACT_DP) != (dn != NULL))
		return sl_errf(SL_ERR_INTERNAL, "release: a dp contract needs its noise");
	out->columns = json_deep_copy(cp->names);
	out->rows = json_array();
	out->release = dn != NULL ? dp_describe(dn->dq, t)
	                          : json_pack("{s:s, s:I}", "mode", "threshold", "min_group",
	                                (json_int_t)t->min_group);
	cols = outputs(cp);
	if (out->columns == NULL || out->rows == NULL || out->release == NULL || cols == NULL) {
		free(cols);
		release_answer_clear(out);
		return SL_ERR_NOMEM;
	}
	r = apply(cp, res, t, version_rows, cols, dn, out);
	free(cols);
	if (r != 0)
		release_answer_clear(out);
	return r;
}

void
release_answer_clear(struct release_answer *a)
{
	json_decref(a->columns);
	json_decref(a->rows);
	json_decref(a->release);
	memset(a, 0, sizeof *a);
}
