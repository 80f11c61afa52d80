/*
 * tests/unit/sandbox/value_test.c -- parsing ingested values: each type's
 * accepted forms and exact results, and each rule's refusal and message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/schema.h"
#include "sandbox/job.h"
#include "sandbox/value.h"

static const char schema_json[] =
    "{\"name\":\"t\",\"columns\":["
    "{\"name\":\"id\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"age\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[0,120]},"
    "{\"name\":\"amt\",\"type\":\"DECIMAL(8,2)\",\"class\":\"measure\",\"bounds\":[0,100]},"
    "{\"name\":\"x\",\"type\":\"REAL\",\"class\":\"dimension\",\"bounds\":[-1,1],\"nullable\":true}"
    ","
    "{\"name\":\"sex\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"F\",\"M\"]},"
    "{\"name\":\"d\",\"type\":\"DATE\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"b\",\"type\":\"BOOL\",\"class\":\"dimension\"},"
    "{\"name\":\"y\",\"type\":\"INT\",\"class\":\"dimension\",\"domain\":[2024,2025]},"
    "{\"name\":\"e\",\"type\":\"DECIMAL(4,4)\",\"class\":\"measure\",\"bounds\":[0,1]}]}";

struct ok_case {
	int col;
	const char *in;
	int64_t i;
	double r;
};

struct bad_case {
	int col;
	const char *in;
	int null;
	uint32_t rule;
};

static void
test_values(void **state)
{
	static const struct ok_case ok[] = {
	    {0, "0", 0, 0},
	    {0, "-9223372036854775808", INT64_MIN, 0},
	    {0, "9223372036854775807", INT64_MAX, 0},
	    /* 18 digits take the loop without overflow tests; 19 the one with them. */
	    {0, "999999999999999999", 999999999999999999LL, 0},
	    {0, "-999999999999999999", -999999999999999999LL, 0},
	    {0, "1000000000000000000", 1000000000000000000LL, 0},
	    {0, "000000000000000000000000042", 42, 0},
	    {1, "120", 120, 0},
	    {2, "99.5", 9950, 0},
	    {2, "100", 10000, 0},
	    {2, "250", 0, 0}, /* measures clamp, so out-of-bounds is kept: checked below */
	    {3, "-0.5", 0, -0.5},
	    {3, "1e-3", 0, 0.001},
	    {3, "5e-324", 0, 5e-324}, /* subnormal: strtod says ERANGE, the value is exact */
	    {3, "1e-400", 0, 0},      /* underflows to 0, as SQLite and DuckDB read it */
	    {5, "1970-01-01", 0, 0},
	    {5, "1969-12-31", -1, 0},
	    {5, "2000-02-29", 11016, 0},
	    {5, "1900-03-01", -25508, 0},
	    {5, "2026-11-28", 20785, 0},
	    {6, "true", 1, 0},
	    {6, "0", 0, 0},
	    {7, "2025", 2025, 0},
	    /* Leading zeros are no digits before the point (found by ingest_fuzz). */
	    {8, "0.5", 5000, 0},
	    {8, ".5", 5000, 0},
	    {8, "0", 0, 0},
	    {8, "00.0001", 1, 0},
	    {2, "000099.5", 9950, 0},
	};
	static const struct bad_case no[] = {
	    {0, "", 1, JOB_RULE_INGEST_NOT_NULLABLE},
	    {0, "12a", 0, JOB_RULE_INGEST_NOT_INT},
	    {0, "+1", 0, JOB_RULE_INGEST_NOT_INT},
	    {0, " 1", 0, JOB_RULE_INGEST_NOT_INT},
	    {0, "9223372036854775808", 0, JOB_RULE_INGEST_INT_RANGE},
	    {0, "-9223372036854775809", 0, JOB_RULE_INGEST_INT_RANGE},
	    {0, "-", 0, JOB_RULE_INGEST_NOT_INT},
	    {0, "99999999999999999x", 0, JOB_RULE_INGEST_NOT_INT},
	    {0, "99999999999999999999", 0, JOB_RULE_INGEST_INT_RANGE},
	    {1, "121", 0, JOB_RULE_INGEST_OUT_OF_BOUNDS},
	    {1, "-1", 0, JOB_RULE_INGEST_OUT_OF_BOUNDS},
	    {2, "1.234", 0, JOB_RULE_INGEST_NOT_DECIMAL},
	    {2, "1234567.1", 0, JOB_RULE_INGEST_NOT_DECIMAL},
	    {2, "1.", 0, JOB_RULE_INGEST_NOT_DECIMAL},
	    {2, ".", 0, JOB_RULE_INGEST_NOT_DECIMAL},
	    {3, "1.5", 0, JOB_RULE_INGEST_OUT_OF_BOUNDS},
	    {3, "nan", 0, JOB_RULE_INGEST_NOT_FINITE},
	    {3, "inf", 0, JOB_RULE_INGEST_NOT_FINITE},
	    {3, "0x1p3", 0, JOB_RULE_INGEST_OUT_OF_BOUNDS},
	    {3, "1e999", 0, JOB_RULE_INGEST_NOT_FINITE},
	    {3, "", 0, JOB_RULE_INGEST_NOT_NUMBER},
	    {4, "X", 0, JOB_RULE_INGEST_NOT_IN_DOMAIN},
	    {4, "f", 0, JOB_RULE_INGEST_NOT_IN_DOMAIN},
	    {5, "2023-02-29", 0, JOB_RULE_INGEST_NOT_DATE},
	    {5, "2023-13-01", 0, JOB_RULE_INGEST_NOT_DATE},
	    {5, "2023-1-01", 0, JOB_RULE_INGEST_NOT_DATE},
	    {5, "20230101", 0, JOB_RULE_INGEST_NOT_DATE},
	    {6, "yes", 0, JOB_RULE_INGEST_NOT_BOOL},
	    {6, "TRUE", 0, JOB_RULE_INGEST_NOT_BOOL},
	    {7, "2023", 0, JOB_RULE_INGEST_NOT_IN_DOMAIN},
	    {8, "1.5", 0, JOB_RULE_INGEST_NOT_DECIMAL},
	    {8, "0.12345", 0, JOB_RULE_INGEST_NOT_DECIMAL},
	    /* No white space around a number, REAL's included (strtod would skip it). */
	    {3, "\t0.5", 0, JOB_RULE_INGEST_NOT_FINITE},
	    {3, "\n0.5", 0, JOB_RULE_INGEST_NOT_FINITE},
	    {3, " 0.5", 0, JOB_RULE_INGEST_NOT_FINITE},
	    {3, "0.5 ", 0, JOB_RULE_INGEST_NOT_FINITE},
	};
	struct schema *s = NULL;
	struct value v;
	uint32_t rule;
	size_t i;

	assert_int_equal(schema_parse(schema_json, strlen(schema_json), &s), 0);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (value_parse(&s->cols[ok[i].col], ok[i].in, strlen(ok[i].in), 0, &v, &rule) != 0)
			fail_msg("\"%s\" refused: rule %u", ok[i].in, rule);
		if (s->cols[ok[i].col].type == SCHEMA_REAL)
			assert_true(v.r == ok[i].r);
		else if (ok[i].col != 2 || ok[i].i != 0)
			assert_int_equal(v.i, ok[i].i);
	}
	assert_int_equal(value_parse(&s->cols[2], "250", 3, 0, &v, &rule), 0);
	assert_int_equal(v.i, 25000); /* kept; clamped only when aggregated */
	assert_int_equal(value_parse(&s->cols[4], "M", 1, 0, &v, &rule), 0);
	assert_int_equal(v.len, 1);
	assert_int_equal(value_parse(&s->cols[5], "", 0, 1, &v, &rule), 0);
	assert_true(v.null);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (value_parse(&s->cols[no[i].col], no[i].in, strlen(no[i].in), no[i].null, &v,
		        &rule) != SL_ERR_INVAL)
			fail_msg("\"%s\" accepted for column %d", no[i].in, no[i].col);
		if (rule != no[i].rule)
			fail_msg("\"%s\": rule %u, want %u", no[i].in, rule, no[i].rule);
	}
	schema_free(s);
}

/* Days against a slow count from 1970, across leap rules, both directions. */
static void
test_days(void **state)
{
	int64_t days = 0, want = 0, y;
	int m, d;
	static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	for (y = 1970; y < 2401; y++)
		for (m = 1; m <= 12; m++)
			for (d = 1; d <= md[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) ||
			                                            y % 400 == 0));
			     d++) {
				assert_int_equal(value_days(y, m, d, &days), 0);
				assert_int_equal(days, want++);
			}
	want = -1;
	for (y = 1969; y > 1599; y--)
		for (m = 12; m >= 1; m--)
			for (d = md[m - 1] +
			         (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
			     d >= 1; d--) {
				assert_int_equal(value_days(y, m, d, &days), 0);
				assert_int_equal(days, want--);
			}
	assert_int_equal(value_days(1900, 2, 29, &days), -1);
	assert_int_equal(value_days(2000, 2, 30, &days), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
