/*
 * tests/unit/common/rational_test.c -- common/rational.h: the text grammar
 * and its errors (tests/unit/common/rational/cases.json), JSON numbers,
 * reduction, checked arithmetic at the edges of 64 bits, comparison, and
 * formatting that reads back to the same value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/rational.h"

static char *
data_path(const char *rel)
{
	const char *root = getenv("top_srcdir");
	size_t len = 512;
	char *p = malloc(len);

	if (root != NULL)
		snprintf(p, len, "%s/%s", root, rel);
	else
		snprintf(p, len, "%s/../%s", SL_TEST_DATADIR, rel);
	return p;
}

static struct rational
R(int64_t num, int64_t den) {
	struct rational r;

	assert_int_equal(rational_make(num, den, &r), 0);
	return r;
}

static void
assert_rational(struct rational got, int64_t num, int64_t den)
{
	if (got.num != num || got.den != den)
		fail_msg("got %lld/%lld, want %lld/%lld", (long long)got.num, (long long)got.den,
		    (long long)num, (long long)den);
}

/* One case of cases.json: 0 if it holds, else 1 after printing why not. */
static int
run_case(size_t i, const json_t *c)
{
	const json_t *in = json_object_get(c, "in"), *want = json_object_get(c, "want");
	const char *why = json_string_value(json_object_get(c, "why"));
	const char *flags = json_string_value(json_object_get(c, "flags"));
	const char *error = json_string_value(json_object_get(c, "error"));
	const char *message = json_string_value(json_object_get(c, "message"));
	struct rational got = {-5, 7};
	unsigned fl = flags != NULL && strcmp(flags, "signed") == 0 ? RATIONAL_SIGNED : 0;
	int r, code;

	sl_err_clear();
	if (json_is_string(in))
		r = rational_parse(json_string_value(in), json_string_length(in), fl, &got);
	else
		r = rational_from_json(in, fl, &got);
	if (error == NULL) {
		int64_t num = json_integer_value(json_array_get(want, 0));
		int64_t den = json_integer_value(json_array_get(want, 1));

		if (r != 0 || got.num != num || got.den != den) {
			printf("case %zu (%s): got %d %lld/%lld (%s), want %lld/%lld\n", i, why, r,
			    (long long)got.num, (long long)got.den, sl_err_msg(r), (long long)num,
			    (long long)den);
			return 1;
		}
		return 0;
	}
	code = strcmp(error, "limit") == 0 ? SL_ERR_LIMIT : SL_ERR_PARSE;
	if (r != code || strstr(sl_err_msg(r), message) == NULL || got.num != -5 || got.den != 7) {
		printf("case %zu (%s): got %d \"%s\" %lld/%lld, want %d \"%s\" and no value\n", i,
		    why, r, sl_err_msg(r), (long long)got.num, (long long)got.den, code, message);
		return 1;
	}
	return 0;
}

static void
test_cases(void **state)
{
	char *path = data_path("tests/unit/common/rational/cases.json");
	json_error_t e;
	json_t *cases = json_load_file(path, JSON_DECODE_ANY, &e), *c;
	size_t i, bad = 0;

	(void)state;
	if (cases == NULL)
		fail_msg("%s:%d: %s", path, e.line, e.text);
	assert_true(json_array_size(cases) > 50);
	json_array_foreach(cases, i, c) {
		bad += (size_t)run_case(i, c);
	}
	json_decref(cases);
	free(path);
	assert_int_equal(bad, 0);
}

/* A NUL inside the given length is a character like any other: refused. */
static void
test_parse_nul(void **state)
{
	struct rational r;

	(void)state;
	assert_int_equal(rational_parse("1\0", 2, 0, &r), SL_ERR_PARSE);
	assert_non_null(strstr(sl_err_msg(SL_ERR_PARSE), "character 2"));
	assert_int_equal(rational_parse("12", 1, 0, &r), 0);
	assert_rational(r, 1, 1);
}

static void
test_parse_length_limit(void **state)
{
	char buf[RATIONAL_TEXT_MAX + 2];
	struct rational r;

	(void)state;
	memset(buf, '0', sizeof(buf));
	buf[1] = '.';
	buf[RATIONAL_TEXT_MAX - 1] = '1';
	assert_int_equal(rational_parse(buf, RATIONAL_TEXT_MAX, 0, &r), SL_ERR_LIMIT);
	buf[RATIONAL_TEXT_MAX - 1] = '0';
	assert_int_equal(rational_parse(buf, RATIONAL_TEXT_MAX, 0, &r), 0);
	assert_rational(r, 0, 1);
	assert_int_equal(rational_parse(buf, RATIONAL_TEXT_MAX + 1, 0, &r), SL_ERR_LIMIT);
}

static void
test_make(void **state)
{
	struct rational r = {1, 1};

	(void)state;
	assert_rational(R(6, 4), 3, 2);
	assert_rational(R(-6, 4), -3, 2);
	assert_rational(R(6, -4), -3, 2);
	assert_rational(R(-6, -4), 3, 2);
	assert_rational(R(0, -5), 0, 1);
	assert_rational(R(INT64_MAX, INT64_MAX), 1, 1);
	assert_rational(R(-INT64_MAX, 1), -INT64_MAX, 1);
	assert_int_equal(rational_make(1, 0, &r), SL_ERR_INVAL);
	assert_int_equal(rational_make(INT64_MIN, 1, &r), SL_ERR_INVAL);
	assert_int_equal(rational_make(1, INT64_MIN, &r), SL_ERR_INVAL);
	assert_rational(r, 1, 1);
	assert_true(rational_valid(R(3, 10)));
	assert_false(rational_valid((struct rational){6, 20}));
	assert_false(rational_valid((struct rational){1, 0}));
	assert_false(rational_valid((struct rational){1, -2}));
	assert_false(rational_valid((struct rational){INT64_MIN, 1}));
}

static void
test_arithmetic(void **state)
{
	struct rational r = {0, 1}, big = R(INT64_MAX, 1), tiny = R(1, INT64_MAX);

	(void)state;
	assert_int_equal(rational_add(R(1, 6), R(1, 3), &r), 0);
	assert_rational(r, 1, 2);
	assert_int_equal(rational_sub(R(3, 10), R(1, 10), &r), 0);
	assert_rational(r, 1, 5);
	assert_int_equal(rational_sub(R(1, 10), R(3, 10), &r), 0);
	assert_rational(r, -1, 5);
	assert_int_equal(rational_sub(R(3, 10), R(3, 10), &r), 0);
	assert_rational(r, 0, 1);
	assert_int_equal(rational_mul(R(2, 3), R(9, 4), &r), 0);
	assert_rational(r, 3, 2);
	assert_int_equal(rational_div(R(2, 3), R(-4, 9), &r), 0);
	assert_rational(r, -3, 2);
	assert_int_equal(rational_mul_int(R(3, 10), 5, &r), 0);
	assert_rational(r, 3, 2);
	assert_int_equal(rational_div_int(R(3, 10), 2, &r), 0);
	assert_rational(r, 3, 20);
	/* epsilon 0.3 and sensitivity 1: the Laplace scale 10/3. */
	assert_int_equal(rational_div(R(1, 1), R(3, 10), &r), 0);
	assert_rational(r, 10, 3);

	/* Results that reduce back into range are fine, whatever the intermediates. */
	assert_int_equal(rational_mul(big, tiny, &r), 0);
	assert_rational(r, 1, 1);
	assert_int_equal(rational_add(R(INT64_MAX, 2), R(-1, 2), &r), 0);
	assert_rational(r, INT64_MAX / 2, 1);
	assert_int_equal(rational_sub(R(-INT64_MAX, 1), R(-INT64_MAX, 1), &r), 0);
	assert_rational(r, 0, 1);

	/* Overflow is an error, and the output is untouched. */
	r = R(42, 1);
	assert_int_equal(rational_add(big, R(1, 1), &r), SL_ERR_LIMIT);
	assert_int_equal(rational_sub(R(-INT64_MAX, 1), R(1, 1), &r), SL_ERR_LIMIT);
	assert_int_equal(rational_mul_int(big, 2, &r), SL_ERR_LIMIT);
	assert_int_equal(rational_mul_int(big, -1, &r), 0);
	assert_rational(r, -INT64_MAX, 1);
	r = R(42, 1);
	assert_int_equal(rational_div_int(tiny, 2, &r), SL_ERR_LIMIT);
	assert_int_equal(rational_add(tiny, R(1, INT64_MAX - 1), &r), SL_ERR_LIMIT);
	assert_int_equal(rational_mul(R(1, 3037000499), R(1, 3037000507), &r), SL_ERR_LIMIT);
	assert_rational(r, 42, 1);
	assert_int_equal(rational_div_int(R(1, 2), 0, &r), SL_ERR_INVAL);
	assert_int_equal(rational_div(R(1, 2), R(0, 1), &r), SL_ERR_INVAL);
	assert_int_equal(rational_mul_int(R(1, 2), INT64_MIN, &r), SL_ERR_INVAL);
	assert_int_equal(rational_add((struct rational){2, 4}, R(1, 2), &r), SL_ERR_INVAL);
	assert_rational(r, 42, 1);

	/* out may alias an operand. */
	r = R(1, 3);
	assert_int_equal(rational_add(r, r, &r), 0);
	assert_rational(r, 2, 3);
}

static void
test_cmp(void **state)
{
	(void)state;
	assert_int_equal(rational_cmp(R(1, 3), R(1, 3)), 0);
	assert_int_equal(rational_cmp(R(1, 3), R(1, 2)), -1);
	assert_int_equal(rational_cmp(R(1, 2), R(1, 3)), 1);
	assert_int_equal(rational_cmp(R(-1, 2), R(1, 3)), -1);
	/* Neighbours that differ by 1/(n(n-1)) with n near 2^63. */
	assert_int_equal(
	    rational_cmp(R(INT64_MAX - 1, INT64_MAX), R(INT64_MAX - 2, INT64_MAX - 1)), 1);
	assert_int_equal(rational_cmp(R(-INT64_MAX, 1), R(INT64_MAX, 1)), -1);
}

/* r formats as want, and want parses back to r. */
static void
assert_format(struct rational r, const char *want)
{
	char text[RATIONAL_TEXT_BYTES];
	struct rational back;
	int n = rational_format(r, text);

	assert_string_equal(text, want);
	assert_int_equal(n, (int)strlen(want));
	assert_int_equal(rational_parse(text, strlen(text), RATIONAL_SIGNED, &back), 0);
	assert_rational(back, r.num, r.den);
}

static void
test_format(void **state)
{
	char text[RATIONAL_TEXT_BYTES];

	(void)state;
	assert_format(R(10, 1), "10");
	assert_format(R(0, 1), "0");
	assert_format(R(3, 10), "0.3");
	assert_format(R(-1, 1000000), "-0.000001");
	assert_format(R(1, 8), "0.125");
	assert_format(R(201, 20), "10.05");
	assert_format(R(10, 3), "10/3");
	assert_format(R(-1, 3), "-1/3");
	assert_format(R(1, 6), "1/6");
	assert_format(R(-INT64_MAX, 1), "-9223372036854775807");
	/* Decimal only while the significant digits fit in 63 bits, as the parser needs. */
	assert_format(R(1, 134217728), "0.000000007450580596923828125");
	assert_format(R(1, 1000000000000000000), "0.000000000000000001");
	assert_format(R(-INT64_MAX, 1000000000000000000), "-9.223372036854775807");
	assert_format(R(1, INT64_C(1) << 28), "1/268435456");
	assert_format(R(INT64_MAX, INT64_C(1) << 62), "9223372036854775807/4611686018427387904");
	assert_format(R(-INT64_MAX, INT64_MAX - 1), "-9223372036854775807/9223372036854775806");
	assert_int_equal(rational_format((struct rational){2, 4}, text), SL_ERR_INVAL);
	assert_string_equal(text, "");
}

static void
test_to_ld(void **state)
{
	(void)state;
	assert_true(rational_to_ld(R(1, 4)) == 0.25L);
	assert_true(rational_to_ld(R(-10, 4)) == -2.5L);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_parse_nul),
	    cmocka_unit_test(test_parse_length_limit),
	    cmocka_unit_test(test_make),
	    cmocka_unit_test(test_arithmetic),
	    cmocka_unit_test(test_cmp),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_to_ld),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
