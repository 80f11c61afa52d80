/*
 * common/fn.c -- the tables of query functions (common/fn.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/fn.h"

const struct fn_agg_info fn_aggs[FN_AGG_N_] = {
    /* name, call, column, numeric, sums, sumsq, dp */
    [FN_COUNT] = {"COUNT", "COUNT", 0, 0, 0, 0, 1},
    [FN_COUNT_DISTINCT] = {"COUNT_DISTINCT", "COUNT", 1, 0, 0, 0, 1},
    [FN_SUM] = {"SUM", "SUM", 1, 1, 1, 0, 1},
    [FN_AVG] = {"AVG", "AVG", 1, 1, 1, 0, 1},
    [FN_STDDEV] = {"STDDEV", "STDDEV", 1, 1, 1, 1, 1},
    [FN_VARIANCE] = {"VARIANCE", "VARIANCE", 1, 1, 1, 1, 1},
    [FN_MIN] = {"MIN", "MIN", 1, 0, 0, 0, 0},
    [FN_MAX] = {"MAX", "MAX", 1, 0, 0, 0, 0},
};

const struct fn_key_info fn_keys[FN_KEY_N_] = {
    [FN_KEY_COLUMN] = {"column", NULL},
    [FN_KEY_BUCKET] = {"bucket", "BUCKET"},
    [FN_KEY_YEAR] = {"year", "YEAR"},
    [FN_KEY_MONTH] = {"month", "MONTH"},
};

int
fn_agg_find(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < FN_AGG_N_; i++)
		if (strcmp(name, fn_aggs[i].name) == 0)
			return i;
	return -1;
}

/* "prefix(DISTINCT column, width)": the parts that are not NULL. */
static int
label(const char *call, const char *distinct, const char *column, const char *width, char **out)
{
	size_t n = strlen(call) + strlen(column) + 16 + (width != NULL ? strlen(width) : 0);
	char *s = malloc(n);

	if (s == NULL)
		return SL_ERR_NOMEM;
	snprintf(s, n, "%s(%s%s%s%s)", call, distinct, column, width != NULL ? ", " : "",
	    width != NULL ? width : "");
	*out = s;
	return 0;
}

int
fn_agg_label(enum fn_agg fn, const char *column, char **out)
{
	if (fn == FN_COUNT)
		return (*out = strdup("COUNT(*)")) != NULL ? 0 : SL_ERR_NOMEM;
	return label(
	    fn_aggs[fn].call, fn == FN_COUNT_DISTINCT ? "DISTINCT " : "", column, NULL, out);
}

int
fn_key_label(
    enum fn_key fn, const char *column, int64_t width_digits, uint32_t width_scale, char **out)
{
	char w[32];

	if (fn == FN_KEY_COLUMN)
		return (*out = strdup(column)) != NULL ? 0 : SL_ERR_NOMEM;
	if (fn != FN_KEY_BUCKET)
		return label(fn_keys[fn].call, "", column, NULL, out);
	fn_decimal_format(width_digits, width_scale, w, sizeof w);
	return label("BUCKET", "", column, w, out);
}

int64_t
fn_pow10(uint32_t n)
{
	int64_t p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

void
fn_decimal_format(int64_t digits, uint32_t scale, char *buf, size_t size)
{
	uint64_t mag = digits < 0 ? 0 - (uint64_t)digits : (uint64_t)digits, p10;

	if (scale == 0 || scale > 18) {
		snprintf(buf, size, "%" PRId64, digits);
		return;
	}
	p10 = (uint64_t)fn_pow10(scale);
	snprintf(buf, size, "%s%" PRIu64 ".%0*" PRIu64, digits < 0 ? "-" : "", mag / p10,
	    (int)scale, mag % p10);
}

int
fn_decimal_scan(const char *s, size_t n, struct fn_decimal *v)
{
	const uint64_t lim = UINT64_C(1) << 63;
	size_t i = 0, digits = 0;
	unsigned d;

	memset(v, 0, sizeof(*v));
	if (n > 0 && s[0] == '-') {
		v->neg = 1;
		i++;
	}
	for (; i < n; i++) {
		if (s[i] == '.' && !v->point && digits > 0) {
			v->point = 1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		digits++;
		if (v->point && v->scale < UINT32_MAX)
			v->scale++;
		if (v->mag > (lim - d) / 10)
			v->overflow = 1;
		else
			v->mag = v->mag * 10 + d;
	}
	return digits == 0 || (v->point && v->scale == 0) ? -1 : 0;
}
