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
    int64_t mid)
{
	dq->q[dq->nq++] = (struct dp_quantity){kind, agg, column, sensitivity, mid, {0, 1}, {0, 0}};
}

/* Why dp mode does not release aggregate a of cp, or NULL when it does. */
static const char *
unreleased(const struct checked_plan *cp, size_t a)
{
	const struct schema_column *c = cp->agg_cols[a];
	uint32_t fn = cp->p.aggs[a].fn;

	if (!fn_aggs[fn].dp)
		return "is not released in dp mode";
	if (fn_aggs[fn].sumsq)
		return "is not released in dp mode yet";
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

int
dp_prepare(const struct checked_plan *cp, const struct contract_terms *t, struct dp_query *out)
{
	int64_t m = t->max_rows_per_unit, half;
	const char *why;
	size_t a, i;
	int r;

	memset(out, 0, sizeof(*out));
	if (t->mode != CONTRACT_DP)
		return sl_errf(SL_ERR_INTERNAL, "dp_prepare: not a dp contract");
	out->gaussian = t->mechanism == CONTRACT_GAUSSIAN;
	if ((out->q = calloc(cp->p.naggs + 2, sizeof *out->q)) == NULL)
		return SL_ERR_NOMEM;
	add(out, DP_UNITS, 0, NULL, m, 0);
	add(out, DP_ROWS, 0, NULL, m, 0);
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
			add(out, DP_DISTINCT, a, c->name, m, 0);
		else if (fn_aggs[fn].sums) {
			/* ceil((hi - lo) / 2), and the midpoint rounded down */
			half = (int64_t)(((__int128)c->hi - c->lo + 1) / 2);
			if (half == 0)
				half = 1;
			if (__builtin_mul_overflow(half, m, &half)) {
				dp_query_clear(out);
				return sl_errf(SL_ERR_LIMIT,
				    "%s(%s): its bounds are too wide for dp mode", fn_aggs[fn].name,
				    c->name);
			}
			add(out, DP_SUM, a, c->name, half,
			    (int64_t)(((__int128)c->lo + c->hi) >> 1));
		}
	}
	if ((r = rational_div_int(t->budget_per_query, (int64_t)out->nq, &out->share)) != 0)
		goto fail;
	for (i = 0; i < out->nq; i++)
		if ((r = calibrate(&out->q[i], out->gaussian, out->share)) != 0)
			goto fail;
	if ((r = threshold(out, &out->q[0], m, t, &out->tau)) != 0)
		goto fail;
	return 0;
fail:
	dp_query_clear(out);
	return r != SL_ERR_NOMEM ? sl_errf(r, "the dp noise for this query cannot be calibrated")
	                         : r;
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

int
dp_admit(const struct dp_noise *dn, size_t g, const struct job_group *grp)
{
	__int128 u = (__int128)grp->units + noise_of(dn, g, 0);

	return g < dn->ngroups && u >= dn->dq->tau;
}

/* The quantity of kind for aggregate agg. */
static size_t
quantity(const struct dp_query *dq, enum dp_kind kind, size_t agg)
{
	size_t i;

	for (i = 0; i < dq->nq; i++)
		if (dq->q[i].kind == kind && (kind == DP_ROWS || dq->q[i].agg == agg))
			return i;
	return 0;
}

json_t *
dp_value(const struct dp_noise *dn, size_t g, const struct job_group *grp, uint32_t fn, size_t agg,
    const struct schema_column *c)
{
	const struct dp_query *dq = dn->dq;
	__int128 rows = (__int128)grp->rows + noise_of(dn, g, quantity(dq, DP_ROWS, 0)), sum;
	const struct dp_quantity *q;
	double scale;
	size_t i;

	if (fn == FN_COUNT)
		return json_integer(rows > 0 ? (json_int_t)rows : 0);
	if (fn == FN_COUNT_DISTINCT) {
		__int128 d =
		    (__int128)grp->aggs[agg].n + noise_of(dn, g, quantity(dq, DP_DISTINCT, agg));

		return json_integer(d > 0 ? (json_int_t)d : 0);
	}
	i = quantity(dq, DP_SUM, agg);
	q = &dq->q[i];
	/* sum(x - mid) + noise + mid * noisy rows: post-processing of the two noisy values */
	sum = (__int128)grp->aggs[agg].value.i - (__int128)q->mid * (__int128)grp->aggs[agg].n +
	      noise_of(dn, g, i) + (__int128)q->mid * rows;
	scale = c->type == SCHEMA_DECIMAL ? (double)fn_pow10((uint32_t)c->scale) : 1;
	if (fn == FN_AVG)
		return rows > 0 ? json_real((double)sum / scale / (double)rows) : json_null();
	if (c->type == SCHEMA_INT && sum >= INT64_MIN && sum <= INT64_MAX)
		return json_integer((json_int_t)sum);
	return json_real((double)sum / scale);
}

static const char *const kind_names[] = {"units", "rows", "sum", "distinct"};

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
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "mode", "dp", "mechanism",
	    dq->gaussian ? "gaussian" : "laplace", dq->gaussian ? "rho" : "epsilon", spent, "share",
	    share, "max_rows_per_unit", (json_int_t)t->max_rows_per_unit, "tau",
	    (json_int_t)dq->tau, "noise", qs);
}
