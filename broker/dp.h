/*
 * broker/dp.h -- the dp release mode's noise (docs/privacy.md).
 *
 * The worker bounds each unit to m = max_rows_per_unit rows and clamps
 * measures (sandbox/exec.h); the broker adds the noise.  Per group a dp query
 * has these noisy quantities, each with its own share of the query's
 * epsilon (Laplace) or rho (Gaussian), split evenly (sequential
 * composition):
 *
 *   units   the distinct-unit count, for partition selection (sensitivity m:
 *           a unit's m rows reach at most m groups); not when the groups are
 *           public (every key has a declared domain), as all are released
 *   rows    the row count: COUNT(*), and the denominator of AVG (m)
 *   per SUM, AVG, VARIANCE or STDDEV of an INT or DECIMAL measure with bounds
 *           [lo, hi]: its sum shifted to the midpoint mid, sum(x - mid)
 *           (m * half, half = ceil((hi - lo) / 2))
 *   per VARIANCE or STDDEV, also: sum((x - mid)^2) (m * half^2)
 *   per COUNT(DISTINCT column): the distinct count (m)
 *
 * Laplace has scale t = sensitivity / share; the Gaussian sigma^2 =
 * sensitivity^2 / (2 share), a conservative bound for the L2 sensitivity.
 * Released, with n the noisy row count, s1 and s2 the noisy shifted sums:
 * COUNT = max(0, n); SUM = s1 + mid * n, in the column's unit; AVG = mid +
 * s1 / n, within [mid - half, mid + half], when n > 0, else null; VARIANCE =
 * (s2 - s1^2 / n) / (n - 1), within [0, half^2 n / (n - 1)], and STDDEV its
 * root, when n >= 2, else null; COUNT(DISTINCT) = max(0, distinct + noise).
 * A group outside a public domain is released only if its noisy unit count
 * is >= tau (noise_laplace_threshold() for Laplace; for the Gaussian the
 * sub-Gaussian tail, tau = 1 + ceil(sigma * sqrt(2 ln(m / delta)))).
 *
 * The noise is drawn before the answer is known (dp_draw(), while the
 * worker scans), so its running time cannot depend on the answer.
 */
#ifndef SLUICE_BROKER_DP_H
#define SLUICE_BROKER_DP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/noise.h"
#include "common/rational.h"

struct checked_plan;
struct contract_terms;
struct job_group;
struct job_value;
struct schema_column;

enum dp_kind { DP_UNITS, DP_ROWS, DP_SUM, DP_SUMSQ, DP_DISTINCT };

struct dp_quantity {
	enum dp_kind kind;
	size_t agg;            /* DP_SUM, DP_DISTINCT: the plan's aggregate */
	const char *column;    /* DP_SUM, DP_DISTINCT: its column's name (the schema's) */
	int64_t sensitivity;   /* in the column's storage unit */
	int64_t mid;           /* DP_SUM, DP_SUMSQ: the bounds' midpoint, in storage units */
	int64_t half;          /* DP_SUM, DP_SUMSQ: ceil((hi - lo) / 2), so |x - mid| <= half */
	struct rational scale; /* Laplace t, or Gaussian sigma^2 */
	struct noise_spread spread;
};

/* Past this many public groups, a query's groups go through partition selection. */
#define DP_PUBLIC_GROUPS_MAX 10000

struct dp_query {
	int gaussian;
	/*
	 * > 0 when every key is a column with a declared domain: the groups of
	 * their product (NULL counted for a nullable column), all released,
	 * empty ones too, with no unit count and no tau.  0: partition selection.
	 */
	size_t public_groups;
	struct rational share; /* of each quantity */
	struct dp_quantity *q;
	size_t nq;
	int64_t tau; /* partition selection only */
};

/*
 * The quantities of plan cp under dp terms t.  SL_ERR_POLICY for what dp
 * mode does not release (MIN, MAX, VARIANCE, STDDEV, a REAL or unbounded
 * measure), with the aggregate named.  Free with dp_query_clear().
 */
int dp_prepare(const struct checked_plan *cp, const struct contract_terms *t, struct dp_query *out)
    __attribute__((warn_unused_result));
void dp_query_clear(struct dp_query *dq);

/*
 * Public groups (dp_query.public_groups): their number for plan cp, 0 when
 * a key has no declared domain or the product passes DP_PUBLIC_GROUPS_MAX.
 * A group's place in the product (keys in the plan's order, each in its
 * domain's order, NULL last), or SIZE_MAX for a key outside its domain;
 * and the keys of place k, pointing into the schema.
 */
size_t dp_public_groups(const struct checked_plan *cp);
size_t dp_public_index(const struct checked_plan *cp, const struct job_group *g);
void dp_public_keys(const struct checked_plan *cp, size_t k, struct job_value *keys);

/* The groups to draw noise for: every public group, else the observed ones. */
size_t dp_groups(const struct dp_query *dq, size_t observed);

/* Noise for ngroups groups: noise[g * nq + i] for quantity i of group g. */
int dp_draw(struct noise_rng *rng, const struct dp_query *dq, size_t ngroups, int64_t *noise)
    __attribute__((warn_unused_result));

/* A dp query's noise as drawn for the groups it may release. */
struct dp_noise {
	const struct dp_query *dq;
	const int64_t *noise; /* noise[g * nq + i] */
	size_t ngroups;       /* groups it has noise for */
};

/* Whether group g (of res) is released: its noisy unit count reaches tau. */
int dp_admit(const struct dp_noise *dn, size_t g, const struct job_group *grp);

/*
 * The released value of aggregate agg (function fn, column c; NULL for
 * COUNT(*)) of group g: a new JSON value, or NULL without memory.
 */
json_t *dp_value(const struct dp_noise *dn, size_t g, const struct job_group *grp, uint32_t fn,
    size_t agg, const struct schema_column *c);

/* The release's description: mechanism, share, tau and each quantity's scale and half-width. */
json_t *dp_describe(const struct dp_query *dq, const struct contract_terms *t);

#endif
