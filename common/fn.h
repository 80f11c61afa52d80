/*
 * common/fn.h -- the functions a query may call: grouping keys and aggregates.
 *
 * One table each, read by the worker's parser and planner (sandbox/sql.c,
 * sandbox/plan.c), the job protocol (PLAN names them by these numbers), the
 * contract's terms (which aggregates a contract allows) and the broker's
 * plan check and release step.  A new aggregate is one row here.
 */
#ifndef SL_COMMON_FN_H
#define SL_COMMON_FN_H

#include <stddef.h>
#include <stdint.h>

enum fn_key {
	FN_KEY_COLUMN, /* column */
	FN_KEY_BUCKET, /* BUCKET(column, width): floor(v / width) * width; width > 0 */
	FN_KEY_YEAR,   /* YEAR(column) */
	FN_KEY_MONTH,  /* MONTH(column): 1..12 */
};
#define FN_KEY_N_ (FN_KEY_MONTH + 1)

enum fn_agg {
	FN_COUNT,          /* COUNT(*) */
	FN_COUNT_DISTINCT, /* COUNT(DISTINCT column) */
	FN_SUM,
	FN_AVG,
	FN_STDDEV,   /* sample standard deviation, as VARIANCE */
	FN_VARIANCE, /* sample variance (n - 1) */
	FN_MIN,
	FN_MAX,
};
#define FN_AGG_N_ (FN_MAX + 1)

struct fn_agg_info {
	const char *name; /* in contract terms and the audited plan: "COUNT_DISTINCT" */
	const char *call; /* the SQL function that writes it: "COUNT" */
	int column;       /* takes a column (all but COUNT(*)) */
	int numeric;      /* the column must be numeric */
	/*
	 * Adds up a measure's values: the contract must not open a measure
	 * without bounds to it (contracts/contract.c).
	 */
	int sums;
	int sumsq; /* its state carries the sum of squares (or, for REAL, m2) */
	/*
	 * Released in dp mode: derived from noisy counts and sums.  MIN and MAX
	 * are one row's value, which no noise scale bounds.
	 */
	int dp;
};

struct fn_key_info {
	const char *name; /* in the audited plan: "bucket" */
	const char *call; /* "BUCKET"; NULL for a plain column */
};

extern const struct fn_agg_info fn_aggs[FN_AGG_N_];
extern const struct fn_key_info fn_keys[FN_KEY_N_];

/* The contract's bit for an aggregate (struct contract_terms.aggregates). */
#define FN_AGG_BIT(fn) (1u << (fn))

/* The aggregate named name (fn_aggs[].name), or -1. */
int fn_agg_find(const char *name);

/*
 * An item's output name when it has no alias: "COUNT(*)", "SUM(claim_fen)",
 * "COUNT(DISTINCT region)", "BUCKET(age, 10)", "YEAR(visit_date)".  width is
 * BUCKET's literal, as written: width_digits / 10^width_scale.  *out is
 * a new string (free()); SL_ERR_NOMEM.
 */
int fn_agg_label(enum fn_agg fn, const char *column, char **out)
    __attribute__((warn_unused_result));
int fn_key_label(enum fn_key fn, const char *column, int64_t width_digits, uint32_t width_scale,
    char **out) __attribute__((warn_unused_result));

/* A number as a query writes it: [-]digits[.digits]. */
struct fn_decimal {
	int neg, point, overflow; /* a '-', a '.', a magnitude above 2^63 */
	uint32_t scale;           /* digits after the point */
	uint64_t mag;             /* all digits, the point ignored; 2^63 at most */
};

/* Read s[0 .. n-1] into v; -1 if it has another form. */
int fn_decimal_scan(const char *s, size_t n, struct fn_decimal *v);

/* 10^n for n <= 18 (a DECIMAL scale or a literal's): exact in int64. */
int64_t fn_pow10(uint32_t n);

/* The canonical text of digits / 10^scale (scale <= 18): "10", "0.50", "-3.25". */
void fn_decimal_format(int64_t digits, uint32_t scale, char *buf, size_t size);

#endif
