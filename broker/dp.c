/*
 * broker/dp.c -- the dp release mode's noise (broker/dp.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "broker/dp.h"
#include "broker/plan_check.h"
#include "common/err.h"
#include "common/fn.h"
#include "common/schema.h"
#include "contracts/contract.h"
#include "sandbox/job.h"

static void
add(struct dp_query *dq, enum dp_kind kind, size_t agg, const char *column, int64_t sensitivity,
    int64_t mid, int64_t half)
{
	dq->q[dq->nq++] =
	    (struct dp_quantity){kind, agg, column, sensitivity, mid, half, {0, 1}, {0, 0}};
}

/* The radix of public key column c: its domain, and NULL when it is nullable. */
static size_t
radix(const struct schema_column *c)
{
	return c->ndomain + (c->nullable != 0);
}

size_t
dp_public_groups(const struct checked_plan *cp)
{
	size_t n = 1, i;

	for (i = 0; i < cp->p.nkeys; i++) {
		const struct schema_column *c = cp->keys[i].c;

		if (cp->p.keys[i].fn != FN_KEY_COLUMN || c->ndomain == 0 ||
		    radix(c) > DP_PUBLIC_GROUPS_MAX / n)
			return 0;
		n *= radix(c);
	}
	return n;
}

size_t
dp_public_index(const struct checked_plan *cp, const struct job_group *g)
{
	size_t k = 0, i;
	long d;

	for (i = 0; i < cp->p.nkeys; i++) {
		const struct schema_column *c = cp->keys[i].c;
		const struct job_value *v = &g->keys[i];

		if (v->type == JOB_VALUE_NULL)
			d = c->nullable ? (long)c->ndomain : -1;
		else if (v->type == JOB_VALUE_TEXT && c->domain_text != NULL)
			d = schema_domain_find(c, (const char *)v->s, v->len, 0);
		else if (v->type == JOB_VALUE_INT && c->domain_int != NULL)
			d = schema_domain_find(c, NULL, 0, v->i);
		else
			d = -1;
		if (d < 0)
			return SIZE_MAX;
		k = k * radix(c) + (size_t)d;
	}
	return k;
}

void
dp_public_keys(const struct checked_plan *cp, size_t k, struct job_value *keys)
{
	size_t i = cp->p.nkeys, d;

	while (i-- > 0) {
		const struct schema_column *c = cp->keys[i].c;

		d = k % radix(c);
		k /= radix(c);
		if (d == c->ndomain)
			keys[i] = (struct job_value){.type = JOB_VALUE_NULL};
		else if (c->domain_text != NULL)
			keys[i] = (struct job_value){.type = JOB_VALUE_TEXT,
			    .s = (const uint8_t *)c->domain_text[d],
			    .len = (uint32_t)c->domain_len[d]};
		else
			keys[i] = (struct job_value){.type = JOB_VALUE_INT, .i = c->domain_int[d]};
	}
}

size_t
dp_groups(const struct dp_query *dq, size_t observed)
{
	return dq->public_groups > 0 ? dq->public_groups : observed;
}

/* Why dp mode does not release aggregate a of cp, or NULL when it does. */
static const char *
unreleased(const struct checked_plan *cp, size_t a)
{
	const struct schema_column *c = cp->agg_cols[a];
	uint32_t fn = cp->p.aggs[a].fn;

	if (!fn_aggs[fn].dp)
		return "is not released in dp mode";
	if (fn_aggs[fn].sums &&
	    (c == NULL || c->type == SCHEMA_REAL || !c->has_bounds || c->type == SCHEMA_DATE))
		return "needs an INT or DECIMAL measure with bounds in dp mode";
	return NULL;
}

/* Scale and spread of quantity q at share (epsilon or rho). */
static int
calibrate(struct dp_quantity *q, int gaussian, struct rational share)
{
	struct rational s;
	int r;

	if (!gaussian) {
		/* t = sensitivity / epsilon */
		if ((r = rational_make(q->sensitivity, 1, &s)) != 0 ||
		    (r = rational_div(s, share, &q->scale)) != 0)
			return r;
		return noise_laplace_spread(q->scale, &q->spread);
	}
	/* sigma^2 = sensitivity^2 / (2 rho) */
	if (q->sensitivity > INT32_MAX)
		return sl_errf(SL_ERR_LIMIT, "a sensitivity of %lld is too large for the Gaussian",
		    (long long)q->sensitivity);
	if ((r = rational_make(q->sensitivity * q->sensitivity, 2, &s)) != 0 ||
	    (r = rational_div(s, share, &q->scale)) != 0)
		return r;
	return noise_gaussian_spread(q->scale, &q->spread);
}

/* tau for the units quantity u: a group is released when its noisy unit count reaches it. */
static int
threshold(const struct dp_query *dq, const struct dp_quantity *u, int64_t m,
    const struct contract_terms *t, int64_t *tau)
{
	long double sigma, x;

	if (!dq->gaussian)
		return noise_laplace_threshold(m, dq->share, t->delta, tau);
	/* P(Z >= x) <= exp(-x^2 / (2 sigma^2)) for the discrete Gaussian (CKS 2020). */
	sigma = sqrtl(rational_to_ld(u->scale));
	x = sigma * sqrtl(2 * logl((long double)m / rational_to_ld(t->delta)));
	if (!(x < 0x1p53L))
		return SL_ERR_LIMIT;
	*tau = 1 + (int64_t)ceill(x);
	return 0;
}

/* The sum quantity of aggregate a (and, for VARIANCE and STDDEV, its squares). */
static int
add_sums(struct dp_query *dq, const struct checked_plan *cp, size_t a, int64_t m)
{
	const struct schema_column *c = cp->agg_cols[a];
	uint32_t fn = cp->p.aggs[a].fn;
	int64_t half, sens, sq;

	/* ceil((hi - lo) / 2), and the midpoint rounded down: |x - mid| <= half */
	half = (int64_t)(((__int128)c->hi - c->lo + 1) / 2);
	if (half == 0)
		half = 1;
	if (__builtin_mul_overflow(half, m, &sens) ||
	    (fn_aggs[fn].sumsq &&
	        (__builtin_mul_overflow(half, half, &sq) || __builtin_mul_overflow(sq, m, &sq))))
		return sl_errf(SL_ERR_POLICY, "%s(%s): its bounds are too wide for dp mode",
		    fn_aggs[fn].name, c->name);
	add(dq, DP_SUM, a, c->name, sens, (int64_t)(((__int128)c->lo + c->hi) >> 1), half);
	if (fn_aggs[fn].sumsq)
		add(dq, DP_SUMSQ, a, c->name, sq, dq->q[dq->nq - 1].mid, half);
	return 0;
}

int
dp_prepare(const struct checked_plan *cp, const struct contract_terms *t, struct dp_query *out)
{
	int64_t m = t->max_rows_per_unit;
	const char *why;
	size_t a, i;
	int r;

	memset(out, 0, sizeof(*out));
	if (t->mode != CONTRACT_DP)
		return sl_errf(SL_ERR_INTERNAL, "dp_prepare: not a dp contract");
	out->gaussian = t->mechanism == CONTRACT_GAUSSIAN;
	out->public_groups = dp_public_groups(cp);
	if ((out->q = calloc(2 * cp->p.naggs + 2, sizeof *out->q)) == NULL)
		return SL_ERR_NOMEM;
	/* Public groups are all released: no unit count decides which. */
	if (out->public_groups == 0)
		add(out, DP_UNITS, 0, NULL, m, 0, 0);
	add(out, DP_ROWS, 0, NULL, m, 0, 0);
	for (a = 0; a < cp->p.naggs; a++) {
		const struct schema_column *c = cp->agg_cols[a];
		uint32_t fn = cp->p.aggs[a].fn;

		if ((why = unreleased(cp, a)) != NULL) {
			r = sl_errf(SL_ERR_POLICY, "%s%s%s%s %s", fn_aggs[fn].name, c ? "(" : "",
			    c ? c->name : "", c ? ")" : "", why);
			dp_query_clear(out);
			return r;
		}
		if (fn == FN_COUNT_DISTINCT)
			add(out, DP_DISTINCT, a, c->name, m, 0, 0);
		else if (fn_aggs[fn].sums && (r = add_sums(out, cp, a, m)) != 0) {
			dp_query_clear(out);
			return r;
		}
	}
	if ((r = rational_div_int(t->budget_per_query, (int64_t)out->nq, &out->share)) != 0) {
		dp_query_clear(out);
		return sl_errf(r, "the dp noise for this query cannot be calibrated");
	}
	for (i = 0; i < out->nq; i++)
		if ((r = calibrate(&out->q[i], out->gaussian, out->share)) != 0) {
			const struct dp_quantity *q = &out->q[i];

			/* a scale past the samplers' reach: the terms cannot release it */
			r = r == SL_ERR_NOMEM ? r
			    : q->column != NULL
			        ? sl_errf(SL_ERR_POLICY,
			              "%s(%s): its bounds are too wide for dp mode's noise",
			              fn_aggs[cp->p.aggs[q->agg].fn].name, q->column)
			        : sl_errf(r, "the dp noise for this query cannot be calibrated");
			dp_query_clear(out);
			return r;
		}
	if (out->public_groups == 0 && (r = threshold(out, &out->q[0], m, t, &out->tau)) != 0) {
		dp_query_clear(out);
		return r != SL_ERR_NOMEM
		           ? sl_errf(r, "the dp threshold for this query cannot be set")
		           : r;
	}
	return 0;
}

void
dp_query_clear(struct dp_query *dq)
{
	free(dq->q);
	memset(dq, 0, sizeof(*dq));
}

int
dp_draw(struct noise_rng *rng, const struct dp_query *dq, size_t ngroups, int64_t *noise)
{
	size_t g, i;
	int r;

	for (g = 0; g < ngroups; g++)
		for (i = 0; i < dq->nq; i++) {
			int64_t *x = &noise[g * dq->nq + i];

			r = dq->gaussian ? noise_gaussian(rng, dq->q[i].scale, x)
			                 : noise_laplace(rng, dq->q[i].scale, x);
			if (r != 0)
				return r;
		}
	return 0;
}

/* The noise of quantity i of group g. */
static int64_t
noise_of(const struct dp_noise *dn, size_t g, size_t i)
{
	return dn->noise[g * dn->dq->nq + i];
}

/* The quantity of kind for aggregate agg. */
static size_t
quantity(const struct dp_query *dq, enum dp_kind kind, size_t agg)
{
	size_t i;

	for (i = 0; i < dq->nq; i++)
		if (dq->q[i].kind == kind &&
		    (kind == DP_ROWS || kind == DP_UNITS || dq->q[i].agg == agg))
			return i;
	return 0;
}

int
dp_admit(const struct dp_noise *dn, size_t g, const struct job_group *grp)
{
	if (g >= dn->ngroups)
		return 0;
	if (dn->dq->public_groups > 0)
		return 1;
	return (__int128)grp->units + noise_of(dn, g, quantity(dn->dq, DP_UNITS, 0)) >= dn->dq->tau;
}

/*
 * The sample variance from the noisy count n, shifted sum s1 and shifted
 * sum of squares s2, in storage units squared: (s2 - s1^2 / n) / (n - 1),
 * within [0, half^2 n / (n - 1)], the most values within half of the
 * midpoint can spread.
 */
static double
noisy_variance(__int128 n, __int128 s1, __int128 s2, int64_t half)
{
	double dn = (double)n, d1 = (double)s1, v = ((double)s2 - d1 * d1 / dn) / (dn - 1),
	       top = (double)half * (double)half * dn / (dn - 1);

	return v < 0 ? 0 : v > top ? top : v;
}

json_t *
dp_value(const struct dp_noise *dn, size_t g, const struct job_group *grp, uint32_t fn, size_t agg,
    const struct schema_column *c)
{
	const struct dp_query *dq = dn->dq;
	const struct job_agg_state *st = &grp->aggs[agg];
	__int128 rows = (__int128)grp->rows + noise_of(dn, g, quantity(dq, DP_ROWS, 0)), s1, s2, sq;
	const struct dp_quantity *q;
	double scale, avg, var;
	size_t i;

	if (fn == FN_COUNT)
		return json_integer(rows > 0 ? (json_int_t)rows : 0);
	if (fn == FN_COUNT_DISTINCT) {
		__int128 d = (__int128)st->n + noise_of(dn, g, quantity(dq, DP_DISTINCT, agg));

		return json_integer(d > 0 ? (json_int_t)d : 0);
	}
	i = quantity(dq, DP_SUM, agg);
	q = &dq->q[i];
	scale = c->type == SCHEMA_DECIMAL ? (double)fn_pow10((uint32_t)c->scale) : 1;
	/* sum(x - mid) + noise: the worker's sums are plausible (release.c), so this fits */
	s1 = (__int128)st->value.i - (__int128)q->mid * (__int128)st->n + noise_of(dn, g, i);
	if (fn == FN_SUM) {
		/* post-processing of the two noisy values: s1 + mid * noisy rows */
		__int128 sum = s1 + (__int128)q->mid * rows;

		if (c->type == SCHEMA_INT && sum >= INT64_MIN && sum <= INT64_MAX)
			return json_integer((json_int_t)sum);
		return json_real((double)sum / scale);
	}
	if (fn == FN_AVG) {
		if (rows <= 0)
			return json_null();
		/* mid + s1 / n, kept within the bounds as every true mean is */
		avg = (double)s1 / (double)rows;
		avg = avg < -(double)q->half  ? -(double)q->half
		      : avg > (double)q->half ? (double)q->half
		                              : avg;
		return json_real(((double)q->mid + avg) / scale);
	}
	/* VARIANCE, STDDEV: sum((x - mid)^2) = sumsq - 2 mid sum + n mid^2, exactly */
	if (rows < 2)
		return json_null();
	i = quantity(dq, DP_SUMSQ, agg);
	if (__builtin_mul_overflow((__int128)q->mid, (__int128)st->value.i, &s2) ||
	    __builtin_mul_overflow(s2, 2, &s2) || __builtin_sub_overflow(st->sumsq, s2, &s2) ||
	    __builtin_mul_overflow((__int128)q->mid * q->mid, (__int128)st->n, &sq) ||
	    __builtin_add_overflow(s2, sq, &s2) ||
	    __builtin_add_overflow(s2, noise_of(dn, g, i), &s2))
		return json_null(); /* only bounds near 2^63 come this far */
	var = noisy_variance(rows, s1, s2, q->half) / (scale * scale);
	return json_real(fn == FN_STDDEV ? sqrt(var) : var);
}

static const char *const kind_names[] = {"units", "rows", "sum", "sumsq", "distinct"};

json_t *
dp_describe(const struct dp_query *dq, const struct contract_terms *t)
{
	char share[RATIONAL_TEXT_BYTES], scale[RATIONAL_TEXT_BYTES], spent[RATIONAL_TEXT_BYTES];
	json_t *qs = json_array();
	size_t i;

	if (qs == NULL || rational_format(dq->share, share) < 0 ||
	    rational_format(t->budget_per_query, spent) < 0) {
		json_decref(qs);
		return NULL;
	}
	for (i = 0; i < dq->nq; i++) {
		if (rational_format(dq->q[i].scale, scale) < 0)
			break;
		json_array_append_new(
		    qs, json_pack("{s:s, s:s?, s:I, s:s, s:I}", "quantity",
		            kind_names[dq->q[i].kind], "column", dq->q[i].column, "sensitivity",
		            (json_int_t)dq->q[i].sensitivity, dq->gaussian ? "sigma2" : "scale",
		            scale, "ci95", (json_int_t)dq->q[i].spread.ci_halfwidth));
	}
	/* public: every group of the domains' product is released; else those reaching tau */
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:o}", "mode", "dp", "mechanism",
	    dq->gaussian ? "gaussian" : "laplace", dq->gaussian ? "rho" : "epsilon", spent, "share",
	    share, "max_rows_per_unit", (json_int_t)t->max_rows_per_unit, "groups",
	    dq->public_groups > 0 ? "public" : "selected",
	    dq->public_groups > 0 ? "public_groups" : "tau",
	    dq->public_groups > 0 ? (json_int_t)dq->public_groups : (json_int_t)dq->tau, "noise",
	    qs);
}
