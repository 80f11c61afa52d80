/*
 * broker/budget.h -- a dp contract's privacy budget in the catalog
 * (docs/privacy.md).
 *
 * Each released dp query spends the contract's per-query epsilon (Laplace:
 * pure epsilon-DP composes by sum) or rho (Gaussian: rho-zCDP composes by
 * sum too).  The spend is the exact sum of the dp_charges rows: rationals,
 * never floating point.  A charge is checked and written inside the
 * release's write transaction (BEGIN IMMEDIATE), so two processes cannot
 * both take the last of a budget, and a refused or failed query is never
 * charged.
 */
#ifndef SLUICE_BROKER_BUDGET_H
#define SLUICE_BROKER_BUDGET_H

#include <jansson.h>
#include <stdint.h>

#include "common/rational.h"

struct contract_terms;
struct db;
struct exchange;
struct keys_pubkey;

struct budget {
	struct rational total, per_query, spent, remaining;
	int64_t queries; /* charged so far */
};

/* contract's budget under its terms t (dp mode) as the catalog has it now. */
int budget_get(struct db *db, const char *contract, const struct contract_terms *t,
    struct budget *out) __attribute__((warn_unused_result));

/* SL_ERR_POLICY ("needs epsilon = 1; 0.4 of 10 left") unless one more query fits b. */
int budget_check(const struct budget *b, const struct contract_terms *t)
    __attribute__((warn_unused_result));

/*
 * Charge query (its id; the queries row may come later in the same
 * transaction) the contract's per-query cost at time.  Must run inside the
 * caller's write transaction.  SL_ERR_POLICY with its cost and what is left
 * ("needs epsilon = 1; 0.4 of 10 left") when it does not fit: nothing is
 * written.  *after (may be NULL) is the budget with this charge.
 */
int budget_charge(struct db *db, const char *contract, const struct contract_terms *t,
    const char *query, const char *time, struct budget *after) __attribute__((warn_unused_result));

/* {"mechanism", "unit": "epsilon"|"rho", "total", "per_query", "spent", "remaining", "queries"} */
json_t *budget_json(const struct budget *b, const struct contract_terms *t);

/*
 * The action behind `sluice budget`: contract id's budget_json() with
 * "contract" and "history", its charges [{"query", "time", "cost"}], for
 * caller (NULL: the platform).  A party of the contract, the platform and
 * an auditor may see it; anyone else is SL_ERR_POLICY with *field =
 * ACTOR_FIELD.  A threshold contract is SL_ERR_INVAL.
 */
int budget_act_show(struct exchange *ex, const struct keys_pubkey *caller, const char *id,
    json_t **doc, const char **field) __attribute__((warn_unused_result));

#endif
