/*
 * broker/release.h -- disclosure control: what of a worker's answer leaves
 * (docs/privacy.md).
 *
 * The worker's RESULT is raw: per group its key, row count, distinct-unit
 * count and clamped sums.  release_apply() checks its shape and plausibility
 * against the plan and the product (each clamped sum within count x bounds,
 * no count above the version's rows), then lets the contract's release mode
 * decide group by group in one place, release_admit(), derives the output
 * values (AVG, VARIANCE, STDDEV from sums) and applies ORDER BY and LIMIT
 * after suppression.  A differential-privacy mode adds its noise beside the
 * threshold rule in release_admit()/release_derive(), touching neither the
 * scan nor the transaction.
 */
#ifndef SLUICE_BROKER_RELEASE_H
#define SLUICE_BROKER_RELEASE_H

#include <jansson.h>
#include <stdint.h>

struct checked_plan;
struct dp_noise;
struct contract_terms;
struct job_result;

struct release_answer {
	json_t *columns; /* output names, in order */
	json_t *rows;    /* arrays of values, in column order */
	int64_t suppressed;
	json_t *release; /* {"mode": "threshold", "min_group": N} */
};

/*
 * cp is the worker's plan as the broker checked it (broker/plan_check.h),
 * res its RESULT decoded for that plan, version_rows the rows of the
 * version it read; dn the noise of a dp contract (broker/dp.h), NULL for
 * threshold mode.  SL_ERR_PARSE names what in res is implausible.  Free
 * with release_answer_clear().
 */
int release_apply(const struct checked_plan *cp, const struct job_result *res,
    const struct contract_terms *t, int64_t version_rows, const struct dp_noise *dn,
    struct release_answer *out)
    __attribute__((warn_unused_result));

void release_answer_clear(struct release_answer *a);

#endif
