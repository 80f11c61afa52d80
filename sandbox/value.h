/*
 * sandbox/value.h -- one ingested value: parse text into the column's type and
 * check it against the schema (type, nullability, domain, bounds).
 *
 * Runs in the worker on untrusted bytes.  A value that breaks a rule is
 * reported as the rule (enum job_rule), never as text: the broker writes the
 * words from its own copy of the upload (sandbox/job.h).
 */
#ifndef SLUICE_SANDBOX_VALUE_H
#define SLUICE_SANDBOX_VALUE_H

#include <stddef.h>
#include <stdint.h>

struct schema_column;

struct value {
	int null;
	int64_t i;     /* INT, DECIMAL (scaled), DATE (days since 1970-01-01), BOOL */
	double r;      /* REAL */
	const char *s; /* TEXT, borrowed from the input */
	size_t len;
	long domain; /* its index in the column's domain; -1 without a domain */
};

/*
 * Parse len bytes at s (is_null: the input said NULL, e.g. an unquoted empty
 * CSV field or JSON null) for column c.  Returns 0, or SL_ERR_INVAL with the
 * rule broken (a JOB_RULE_INGEST_* value rule) in *rule.
 */
int value_parse(const struct schema_column *c, const char *s, size_t len, int is_null,
    struct value *out, uint32_t *rule) __attribute__((warn_unused_result));

/* Days since 1970-01-01 of a valid proleptic Gregorian date; -1 status if invalid. */
int value_days(int64_t y, int m, int d, int64_t *days);

/* The proleptic Gregorian date of a day number (the inverse of value_days()). */
void value_civil(int64_t days, int64_t *y, int *m, int *d);

#endif
