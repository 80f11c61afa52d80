/*
 * broker/plan_check.h -- a worker's PLAN checked against the schema and the
 * contract, and named from the buyer's own text (docs/architecture.md).
 *
 * The worker parsed the buyer's SQL; the broker does not.  The PLAN names
 * columns by schema index, functions by common/fn.h's numbers, and an
 * alias or a BUCKET width by its place in the query text.  plan_check()
 * decides from those alone whether the contract allows the query, and
 * writes every output name from the text the broker holds, so nothing the
 * buyer reads is worded by the worker.  The release step (broker/release.h)
 * reads the checked plan.
 */
#ifndef SLUICE_BROKER_PLAN_CHECK_H
#define SLUICE_BROKER_PLAN_CHECK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/job.h"

struct schema;
struct contract_terms;

/* A key as the broker understands it. */
struct checked_key {
	const struct schema_column *c;
	int64_t width;  /* BUCKET: in the column's storage unit, read from the text */
	double rwidth;  /* BUCKET over REAL */
	int64_t digits; /* BUCKET: the width as the text writes it, digits / 10^scale */
	uint32_t scale;
};

struct checked_plan {
	struct job_plan p;
	struct checked_key *keys;              /* p.nkeys */
	const struct schema_column **agg_cols; /* p.naggs; NULL for COUNT(*) */
	json_t *names;                         /* the output names, in order */
};

/*
 * Decode the PLAN payload and check it for the query text (textlen bytes)
 * under schema s and terms t.  0; SL_ERR_POLICY naming the rule broken
 * ("column member_id is the privacy unit: it is never grouped or output");
 * SL_ERR_PARSE for a plan that is malformed or points outside the text.
 * Free with checked_plan_clear() (also after a failure).
 */
int plan_check(const uint8_t *payload, size_t len, const char *text, size_t textlen,
    const struct schema *s, const struct contract_terms *t, struct checked_plan *out)
    __attribute__((warn_unused_result));

/* The plan as the audit log records it (query.planned), in the schema's names. */
json_t *plan_check_json(const struct checked_plan *cp, const struct schema *s);

void checked_plan_clear(struct checked_plan *cp);

#endif
