/*
 * sandbox/value.c -- parsing and checking ingested values.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/schema.h"
#include "sandbox/job.h"
#include "sandbox/value.h"

static int
bad(uint32_t *rule, uint32_t why)
{
	*rule = why;
	return SL_ERR_INVAL;
}

/* [-]digits with no sign of '+', no spaces; overflow refused. */
static int
parse_int(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0, limit;
	size_t i = 0;
	int neg = 0;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len)
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	/* Up to 18 digits cannot pass 2^63 - 1: no overflow test per digit. */
	if (len - i <= 18) {
		for (; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			v = v * 10 + (uint64_t)(s[i] - '0');
		}
	}
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (limit - (uint64_t)(s[i] - '0')) / 10)
			return -2;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/*
 * [-]digits[.digits]: at most precision - scale integer digits and scale
 * fraction digits, as SQL's DECIMAL(p,s).
 */
static int
parse_decimal(const char *s, size_t len, int precision, int scale, int64_t *out)
{
	int64_t v = 0;
	size_t i = 0;
	int neg = 0, digits = 0, lead = 0, frac = -1;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	for (; i < len; i++) {
		if (s[i] == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (frac >= 0 && ++frac > scale)
			return -2;
		/*
		 * As in SQL: at most precision - scale digits before the point,
		 * leading zeros not counted ("0.5" fits DECIMAL(4,4)).
		 */
		if (frac < 0 && digits == 0 && s[i] == '0')
			lead++;
		else if (frac < 0 && ++digits > precision - scale)
			return -2;
		v = v * 10 + (s[i] - '0');
	}
	if ((digits + lead == 0 && frac <= 0) || frac == 0)
		return -1;
	for (frac = frac < 0 ? 0 : frac; frac < scale; frac++)
		v *= 10;
	*out = neg ? -v : v;
	return 0;
}

int
value_days(int64_t y, int m, int d, int64_t *days)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	int64_t era, yoe, doy, doe;

	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	/* Howard Hinnant's days_from_civil. */
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*days = era * 146097 + doe - 719468;
	return 0;
}

void
value_civil(int64_t days, int64_t *y, int *m, int *d)
{
	/* Howard Hinnant's civil_from_days. */
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* YYYY-MM-DD exactly. */
static int
parse_date(const char *s, size_t len, int64_t *out)
{
	int64_t y = 0;
	int m, d, i;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	for (i = 0; i < 4; i++)
		y = y * 10 + (s[i] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	return value_days(y, m, d, out);
}

int
value_parse(const struct schema_column *c, const char *s, size_t len, int is_null,
    struct value *out, uint32_t *rule)
{
	int e;

	memset(out, 0, sizeof(*out));
	out->domain = -1;
	*rule = JOB_RULE_NONE;
	if (is_null) {
		if (!c->nullable)
			return bad(rule, JOB_RULE_INGEST_NOT_NULLABLE);
		out->null = 1;
		return 0;
	}
	switch (c->type) {
	case SCHEMA_INT:
		if ((e = parse_int(s, len, &out->i)) != 0)
			return bad(
			    rule, e == -2 ? JOB_RULE_INGEST_INT_RANGE : JOB_RULE_INGEST_NOT_INT);
		break;
	case SCHEMA_DECIMAL:
		if (parse_decimal(s, len, c->precision, c->scale, &out->i) != 0)
			return bad(rule, JOB_RULE_INGEST_NOT_DECIMAL);
		break;
	case SCHEMA_REAL: {
		char tmp[64], *end;

		if (len == 0 || len >= sizeof(tmp))
			return bad(rule, JOB_RULE_INGEST_NOT_NUMBER);
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		errno = 0;
		out->r = strtod(tmp, &end);
		/* ERANGE on underflow still gives the nearest value (a subnormal or 0): keep it. */
		if (end != tmp + len || isspace((unsigned char)tmp[0]) || !isfinite(out->r) ||
		    (errno == ERANGE && fabs(out->r) >= DBL_MIN))
			return bad(rule, JOB_RULE_INGEST_NOT_FINITE);
		break;
	}
	case SCHEMA_TEXT:
		out->s = s;
		out->len = len;
		break;
	case SCHEMA_DATE:
		if (parse_date(s, len, &out->i) != 0)
			return bad(rule, JOB_RULE_INGEST_NOT_DATE);
		break;
	case SCHEMA_BOOL:
		if ((len == 4 && memcmp(s, "true", 4) == 0) || (len == 1 && s[0] == '1'))
			out->i = 1;
		else if ((len == 5 && memcmp(s, "false", 5) == 0) || (len == 1 && s[0] == '0'))
			out->i = 0;
		else
			return bad(rule, JOB_RULE_INGEST_NOT_BOOL);
		break;
	}
	if (c->ndomain > 0 && (out->domain = schema_domain_find(c, out->s, out->len, out->i)) < 0)
		return bad(rule, JOB_RULE_INGEST_NOT_IN_DOMAIN);
	if (c->has_bounds && c->bounds_mode == SCHEMA_BOUNDS_REJECT &&
	    (c->type == SCHEMA_REAL ? out->r < c->rlo || out->r > c->rhi
	                            : out->i < c->lo || out->i > c->hi))
		return bad(rule, JOB_RULE_INGEST_OUT_OF_BOUNDS);
	return 0;
}
