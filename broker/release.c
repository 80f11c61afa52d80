/*
 * broker/release.c -- checking a worker's raw aggregates and releasing what the rules allow.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/release.h"
#include "common/err.h"
#include "common/schema.h"
#include "contracts/contract.h"

/* What release needs of one plan aggregate or key. */
struct out_col {
	int is_agg;
	const char *fn; /* aggregate: COUNT, COUNT_DISTINCT, SUM, ...; key: column, bucket, ... */
	const struct schema_column *c;
	size_t index;
};

static int
bad(const char *what, size_t g)
{
	return sl_errf(SL_ERR_PARSE, "implausible answer from the worker: group %zu: %s", g, what);
}

static double
pow10d(int n)
{
	double p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

/* A stored value of column c as the buyer sees it. */
static json_t *
typed(const struct schema_column *c, const json_t *raw)
{
	char date[16];
	int64_t days;
	time_t t;
	struct tm tm;

	if (json_is_null(raw))
		return json_null();
	switch (c->type) {
	case SCHEMA_DECIMAL:
		return json_is_integer(raw)
		           ? json_real((double)json_integer_value(raw) / pow10d(c->scale))
		           : NULL;
	case SCHEMA_DATE:
		if (!json_is_integer(raw))
			return NULL;
		days = json_integer_value(raw);
		if (days < -719162 || days > 2932896) /* years 1..9999 */
			return NULL;
		t = (time_t)days * 86400;
		gmtime_r(&t, &tm);
		strftime(date, sizeof date, "%Y-%m-%d", &tm);
		return json_string(date);
	case SCHEMA_BOOL:
		return json_is_integer(raw) ? json_boolean(json_integer_value(raw) != 0) : NULL;
	case SCHEMA_TEXT:
		return json_is_string(raw) ? json_deep_copy(raw) : NULL;
	case SCHEMA_REAL:
		return json_is_number(raw) ? json_real(json_number_value(raw)) : NULL;
	default:
		return json_is_integer(raw) ? json_deep_copy(raw) : NULL;
	}
}

static int
parse_i128(const char *s, __int128 *out)
{
	__int128 v = 0;
	int neg = *s == '-';

	s += neg;
	if (*s == '\0' || strlen(s) > 38)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

/* Plausibility of one integer sum: within n x [lo, hi] of its clamping bounds. */
static int
sum_plausible(const struct schema_column *c, int64_t n, const json_t *sum)
{
	__int128 lo, hi, v;

	if (c->type == SCHEMA_REAL) {
		double d = json_number_value(sum);

		if (!json_is_number(sum) || !isfinite(d))
			return 0;
		return !c->has_bounds ||
		       (d >= (double)n * c->rlo - 1e-6 * fabs((double)n * c->rlo) - 1e-6 &&
		           d <= (double)n * c->rhi + 1e-6 * fabs((double)n * c->rhi) + 1e-6);
	}
	if (!json_is_integer(sum))
		return 0;
	if (!c->has_bounds)
		return 1;
	v = json_integer_value(sum);
	lo = (__int128)n * c->lo;
	hi = (__int128)n * c->hi;
	return v >= lo && v <= hi;
}

/*
 * n * sumsq - sum^2 for integer values, exactly: n < 2^63 and sumsq < 2^127
 * make the product up to 190 bits, so it is held as two 128-bit halves.
 * Then m2 = that / n.  -1 if sumsq is malformed or the result negative.
 */
static int
int_m2(int64_t n, int64_t sum, const json_t *sq, double *m2)
{
	typedef unsigned __int128 u128;
	__int128 q;
	u128 ql, qh, lo, hi, mid, ss;

	if (!json_is_string(sq) || parse_i128(json_string_value(sq), &q) != 0 || q < 0 || n < 1)
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

/* The output value of aggregate a of a group of rows rows, or NULL if implausible. */
static json_t *
derive(const struct out_col *o, const json_t *a, int64_t rows)
{
	const struct schema_column *c = o->c;
	json_int_t n = json_integer_value(json_object_get(a, "n"));
	const json_t *sum = json_object_get(a, "sum");
	double scale = c != NULL && c->type == SCHEMA_DECIMAL ? pow10d(c->scale) : 1;

	if (strcmp(o->fn, "COUNT") == 0)
		return n == rows ? json_integer(n) : NULL;
	if (strcmp(o->fn, "COUNT_DISTINCT") == 0) {
		json_int_t d = json_integer_value(json_object_get(a, "distinct"));

		return json_is_integer(json_object_get(a, "distinct")) && d >= 0 && d <= rows
		           ? json_integer(d)
		           : NULL;
	}
	if (!json_is_integer(json_object_get(a, "n")) || n < 0 || n > rows)
		return NULL;
	if (strcmp(o->fn, "MIN") == 0 || strcmp(o->fn, "MAX") == 0) {
		const json_t *v = json_object_get(a, "value");

		if (n == 0)
			return json_null();
		if (json_is_null(v) ||
		    (c->type == SCHEMA_REAL
		            ? !json_is_number(v) ||
		                  (bounded(c) && (json_number_value(v) < c->rlo ||
		                                     json_number_value(v) > c->rhi))
		            : c->type != SCHEMA_TEXT &&
		                  (!json_is_integer(v) || !int_fits(c, json_integer_value(v)))))
			return NULL;
		return typed(c, v);
	}
	if (!sum_plausible(c, n, sum))
		return NULL;
	if (strcmp(o->fn, "SUM") == 0) {
		if (n == 0)
			return json_null();
		if (c->type == SCHEMA_INT)
			return json_integer(json_integer_value(sum));
		return json_real(json_number_value(sum) / scale);
	}
	if (strcmp(o->fn, "AVG") == 0)
		return n == 0 ? json_null() : json_real(json_number_value(sum) / scale / (double)n);
	/* VARIANCE, STDDEV: the sample variance, m2 / (n - 1). */
	if (n < 2)
		return json_null();
	{
		double m2, var;

		if (c->type == SCHEMA_REAL) {
			m2 = json_number_value(json_object_get(a, "m2"));
			if (!json_is_real(json_object_get(a, "m2")) || !m2_plausible(c, n, m2))
				return NULL;
		} else if (int_m2(n, json_integer_value(sum), json_object_get(a, "sumsq"), &m2) !=
		           0) {
			return NULL;
		}
		var = m2 / (double)(n - 1) / (scale * scale);
		return json_real(strcmp(o->fn, "STDDEV") == 0 ? sqrt(var) : var);
	}
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
row_cmp(const void *pa, const void *pb, void *order)
{
	const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb, *o;
	size_t i;

	json_array_foreach((json_t *)order, i, o)
	{
		size_t col = (size_t)json_integer_value(json_object_get(o, "output"));
		int c = value_cmp(json_array_get(a, col), json_array_get(b, col));

		if (c != 0)
			return json_is_true(json_object_get(o, "desc")) ? -c : c;
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
sort_and_limit(const json_t *plan, json_t *rows)
{
	const json_t *order = json_object_get(plan, "order"),
	             *limit = json_object_get(plan, "limit");
	size_t n = json_array_size(rows), i;
	json_t **v;

	if (json_array_size(order) > 0 && n > 1) {
		if ((v = malloc(n * sizeof *v)) == NULL)
			return SL_ERR_NOMEM;
		for (i = 0; i < n; i++)
			v[i] = json_incref(json_array_get(rows, i));
		qsort_r(v, n, sizeof *v, row_cmp, (void *)order);
		json_array_clear(rows);
		for (i = 0; i < n; i++)
			json_array_append_new(rows, v[i]);
		free(v);
	}
	if (json_is_integer(limit))
		while (json_array_size(rows) > (size_t)json_integer_value(limit))
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
 * Could group key k (the plan's key object) of column c take the value raw?
 * The type, the declared domain and bounds, a BUCKET's width and a YEAR's or
 * MONTH's range: a compromised worker must not smuggle anything else out as
 * a group key (a data key in hex, a value of another column).
 */
static int
key_fits(const json_t *k, const struct schema_column *c, const json_t *raw)
{
	const char *fn = json_string_value(json_object_get(k, "fn"));
	size_t i;

	if (json_is_null(raw))
		return c->nullable;
	if (strcmp(fn, "year") == 0 || strcmp(fn, "month") == 0) {
		json_int_t v = json_integer_value(raw);

		return c->type == SCHEMA_DATE && json_is_integer(raw) && v >= 1 &&
		       v <= (strcmp(fn, "year") == 0 ? 9999 : 12);
	}
	if (strcmp(fn, "bucket") == 0) {
		const json_t *w = json_object_get(k, "width");

		if (c->type == SCHEMA_REAL) {
			double x = json_number_value(raw), wd = json_number_value(w);

			/* floor(v / w) * w in floating point: a multiple of w, to rounding. */
			double q = wd > 0 ? x / wd : NAN,
			       slack = 1e-9 * (fabs(q) > 1 ? fabs(q) : 1);

			return json_is_number(raw) && isfinite(q) &&
			       fabs(q - nearbyint(q)) <= slack &&
			       (!bounded(c) ||
			           (x <= c->rhi + slack * wd && x + wd > c->rlo - slack * wd));
		}
		{
			json_int_t x = json_integer_value(raw), wi = json_integer_value(w);

			return json_is_integer(raw) && wi > 0 && x % wi == 0 &&
			       (!bounded(c) || (x <= c->hi && x > c->lo - wi));
		}
	}
	switch (c->type) {
	case SCHEMA_TEXT:
		if (!json_is_string(raw))
			return 0;
		for (i = 0; i < c->ndomain; i++)
			if (c->domain_len[i] == json_string_length(raw) &&
			    memcmp(c->domain_text[i], json_string_value(raw), c->domain_len[i]) ==
			        0)
				return 1;
		return c->ndomain == 0;
	case SCHEMA_REAL:
		return json_is_number(raw) && isfinite(json_number_value(raw)) &&
		       (!bounded(c) ||
		           (json_number_value(raw) >= c->rlo && json_number_value(raw) <= c->rhi));
	default:
		return json_is_integer(raw) && int_fits(c, json_integer_value(raw));
	}
}

static int
text_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every group of the RESULT before any is released: keys that fit their
 * columns, no key twice, and no more rows in all than the version holds.
 */
static int
groups_plausible(
    const json_t *plan, const json_t *groups, const struct schema *s, int64_t version_rows)
{
	const json_t *keys = json_object_get(plan, "keys"), *g, *k;
	size_t n = json_array_size(groups), i, j;
	char **texts = calloc(n + 1, sizeof *texts);
	int64_t total = 0;
	int r = 0;

	if (texts == NULL)
		return SL_ERR_NOMEM;
	json_array_foreach(groups, i, g)
	{
		const json_t *key = json_object_get(g, "key");
		json_int_t rows = json_integer_value(json_object_get(g, "rows"));

		if (!json_is_array(key) || json_array_size(key) != json_array_size(keys)) {
			r = bad("wrong number of keys", i);
			goto out;
		}
		json_array_foreach(keys, j, k)
		{
			const struct schema_column *c =
			    schema_column(s, json_string_value(json_object_get(k, "column")));

			if (c == NULL || !key_fits(k, c, json_array_get(key, j))) {
				r = bad("a group key is not a value its column can hold", i);
				goto out;
			}
		}
		if (!json_is_integer(json_object_get(g, "rows")) || rows < 0 ||
		    __builtin_add_overflow(total, rows, &total) || total > version_rows) {
			r = bad("the groups hold more rows than the version", i);
			goto out;
		}
		if ((texts[i] = json_dumps(key, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
			r = SL_ERR_NOMEM;
			goto out;
		}
	}
	qsort(texts, n, sizeof *texts, text_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(texts[i - 1], texts[i]) == 0) {
			r = sl_errf(SL_ERR_PARSE,
			    "implausible answer from the worker: a group key appears twice");
			goto out;
		}
out:
	for (i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	return r;
}

/* ---- the whole step ------------------------------------------------------ */

static int
outputs(const json_t *plan, const struct schema *s, struct out_col **out, size_t *n)
{
	const json_t *outs = json_object_get(plan, "outputs"),
	             *keys = json_object_get(plan, "keys"),
	             *aggs = json_object_get(plan, "aggregates"), *o;
	struct out_col *cols = calloc(json_array_size(outs) + 1, sizeof *cols);
	size_t i;

	if (cols == NULL)
		return SL_ERR_NOMEM;
	json_array_foreach(outs, i, o)
	{
		const json_t *src;

		cols[i].is_agg =
		    strcmp(json_string_value(json_object_get(o, "kind")), "aggregate") == 0;
		cols[i].index = (size_t)json_integer_value(json_object_get(o, "index"));
		src = json_array_get(cols[i].is_agg ? aggs : keys, cols[i].index);
		cols[i].fn = json_string_value(json_object_get(src, "fn"));
		if (json_object_get(src, "column") != NULL)
			cols[i].c =
			    schema_column(s, json_string_value(json_object_get(src, "column")));
	}
	*out = cols;
	*n = json_array_size(outs);
	return 0;
}

static int
group_row(const struct out_col *cols, size_t ncols, const json_t *g, size_t gi, int64_t rows,
    json_t **row)
{
	const json_t *key = json_object_get(g, "key"), *aggs = json_object_get(g, "aggs");
	json_t *r = json_array(), *v;
	size_t i;

	for (i = 0; i < ncols; i++) {
		const struct out_col *o = &cols[i];

		if (o->is_agg)
			v = derive(o, json_array_get(aggs, o->index), rows);
		else if (strcmp(o->fn, "year") == 0 || strcmp(o->fn, "month") == 0)
			v = json_is_integer(json_array_get(key, o->index)) ||
			            json_is_null(json_array_get(key, o->index))
			        ? json_deep_copy(json_array_get(key, o->index))
			        : NULL;
		else
			v = typed(o->c, json_array_get(key, o->index));
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

static int
apply(const json_t *plan, const json_t *result, const struct schema *s,
    const struct contract_terms *t, int64_t version_rows, const struct out_col *cols, size_t ncols,
    struct release_answer *out)
{
	const json_t *groups = json_object_get(result, "groups"), *g;
	size_t nkeys = json_array_size(json_object_get(plan, "keys"));
	size_t naggs = json_array_size(json_object_get(plan, "aggregates")), i;
	json_t *row = NULL;
	int r;

	if (!json_is_array(groups))
		return bad("no groups array", 0);
	if ((r = groups_plausible(plan, groups, s, version_rows)) != 0)
		return r;
	json_array_foreach(groups, i, g)
	{
		json_int_t rows = json_integer_value(json_object_get(g, "rows"));
		json_int_t units = json_integer_value(json_object_get(g, "units"));

		if (!json_is_array(json_object_get(g, "key")) ||
		    json_array_size(json_object_get(g, "key")) != nkeys ||
		    !json_is_array(json_object_get(g, "aggs")) ||
		    json_array_size(json_object_get(g, "aggs")) != naggs)
			return bad("wrong number of keys or aggregates", i);
		if (!json_is_integer(json_object_get(g, "rows")) ||
		    !json_is_integer(json_object_get(g, "units")) || rows < 0 ||
		    rows > version_rows || units < 0 || units > rows)
			return bad("a row or unit count is out of range", i);
		if (!release_admit(t, units)) {
			out->suppressed++;
			continue;
		}
		if ((r = group_row(cols, ncols, g, i, rows, &row)) != 0)
			return r;
		json_array_append_new(out->rows, row);
	}
	return sort_and_limit(plan, out->rows);
}

int
release_apply(const json_t *plan, const json_t *result, const struct schema *s,
    const struct contract_terms *t, int64_t version_rows, struct release_answer *out)
{
	struct out_col *cols = NULL;
	size_t ncols = 0, i;
	const json_t *o;
	int r;

	memset(out, 0, sizeof *out);
	if (t->mode != CONTRACT_THRESHOLD)
		return sl_errf(SL_ERR_POLICY, "release mode dp is not available yet");
	out->columns = json_array();
	out->rows = json_array();
	out->release =
	    json_pack("{s:s, s:I}", "mode", "threshold", "min_group", (json_int_t)t->min_group);
	if (out->columns == NULL || out->rows == NULL || out->release == NULL) {
		release_answer_clear(out);
		return SL_ERR_NOMEM;
	}
	json_array_foreach(json_object_get(plan, "outputs"), i, o)
	    json_array_append_new(out->columns, json_deep_copy(json_object_get(o, "name")));
	if ((r = outputs(plan, s, &cols, &ncols)) == 0)
		r = apply(plan, result, s, t, version_rows, cols, ncols, out);
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
