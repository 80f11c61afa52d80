/*
 * sandbox/plan.h -- a parsed query resolved against the product schema.
 *
 * The worker turns the SQL tree (sandbox/sql.h) into a plan: every column
 * named becomes a schema index, every literal is converted to the column's
 * storage unit, every filter leaf becomes a range, a set, a NULL test or a
 * text predicate.  An OR's equalities and INs on one column become one
 * set (plan_build()).  The plan's description (plan_encode()) is what the worker
 * sends in its PLAN frame; the broker checks it against the schema and the
 * contract before the worker reads a single row (docs/query-protocol.md).
 */
#ifndef SLUICE_SANDBOX_PLAN_H
#define SLUICE_SANDBOX_PLAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/sql.h"

struct schema;

enum plan_leaf {
	PLAN_AND,
	PLAN_OR,
	PLAN_NOT,
	PLAN_RANGE,  /* INT, DECIMAL, DATE, BOOL: lo <= v <= hi (empty when lo > hi) */
	PLAN_SET,    /* INT, DECIMAL, DATE, BOOL: v in ints[0..n) (sorted, unique) */
	PLAN_RRANGE, /* REAL: lo <(=) v <(=) hi */
	PLAN_RSET,   /* REAL: v in reals[0..n) (sorted, unique) */
	PLAN_TEXT,   /* TEXT: the original sql_cond, evaluated per dictionary entry */
	PLAN_ISNULL,
};

struct plan_cond {
	enum plan_leaf kind;
	int negated; /* the leaf's own NOT (x NOT BETWEEN, x <> 1, IS NOT NULL) */
	size_t col;
	int64_t lo, hi;
	double rlo, rhi;
	int lo_open, hi_open;
	int64_t *ints;
	double *reals;
	size_t n;
	const struct sql_cond *text; /* PLAN_TEXT: borrowed from the query, or own_text */
	struct sql_cond *own_text;   /* an IN the planner made of an OR (plan_build()); owned */
	struct plan_cond **kids;
	size_t nkids;
};

struct plan_key {
	enum fn_key fn;
	size_t col;
	int64_t width; /* BUCKET: in the column's storage unit (scaled for DECIMAL) */
	double rwidth; /* BUCKET over REAL */
	/* BUCKET: the width's token in the text (the first SELECT item's, else GROUP BY's) */
	struct sql_pos width_pos;
	uint32_t width_len;
	int named; /* a SELECT item gave width_pos */
};

struct plan_agg {
	enum fn_agg fn;
	size_t col; /* unused for COUNT(*) */
	int clamp;  /* clamp values to the column's bounds (a bounded numeric column) */
};

struct plan_output {
	int is_agg;
	size_t index; /* into keys or aggs */
	const char *name;
	const struct sql_item *item; /* its SELECT item: the alias's place */
};

struct plan_order {
	size_t output;
	int desc;
};

struct plan {
	const struct sql_query *q; /* borrowed */
	const struct schema *s;    /* borrowed */
	struct plan_cond *where;   /* NULL: every row */
	struct plan_key *keys;
	size_t nkeys;
	struct plan_agg *aggs;
	size_t naggs;
	struct plan_output *outputs;
	size_t noutputs;
	struct plan_order *order;
	size_t norder;
	int has_limit;
	uint64_t limit;
	uint8_t *reads; /* reads[col]: the scan needs this column (the unit always) */
	/* The query itself names the unit column (the broker refuses that, but
	 * the scan must stay exact for whatever plan it is given). */
	int unit_named;
};

/*
 * Resolve q against s.  SL_ERR_PARSE with "line:col: ..." for a column that
 * does not exist, a literal of the wrong type for its column, an output item
 * that is a plain column not in GROUP BY, an ORDER BY name that is no output
 * column or names two of them (output names may repeat, as in SQL).  Class rules (unit, hidden, measure)
 * are left to the broker's check of the plan, which knows the contract too,
 * so a refusal is decided and audited in one place.
 *
 * Within an OR, the kids that are `x = literal` or `x IN (...)` (not NOT IN)
 * on one column x, two or more of them, become one set leaf in the place of
 * the first, so that `x = 1 OR x = 2 OR ...` tests one sorted set per row
 * rather than one leaf per literal; an OR left with one kid is that kid.
 * This is exact in Kleene's logic: for a NULL x each of those kids and the
 * set are UNKNOWN, for any other x their OR is membership of the union, and
 * OR is associative and commutative.
 */
int plan_build(const struct sql_query *q, const struct schema *s, struct plan **out)
    __attribute__((warn_unused_result));
void plan_free(struct plan *p);

/* The PLAN frame (sandbox/job.h): *out is a new buffer (free()) of *len bytes. */
int plan_encode(const struct plan *p, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));

#endif
