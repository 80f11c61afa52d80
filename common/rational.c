/*
 * common/rational.c -- exact rationals: reduction, checked arithmetic in 128
 * bits, and the decimal text of rational.h.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/jcs.h"
#include "common/rational.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

static u128
gcd128(u128 a, u128 b)
{
	while (b != 0) {
		u128 t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int
rational_valid(struct rational r)
{
	u128 n = r.num < 0 ? (u128)(-(i128)r.num) : (u128)r.num;

	return r.den >= 1 && r.num != INT64_MIN && gcd128(n, (u128)r.den) == 1;
}

/*
 * num/den reduced into *out, with den != 0 of either sign.  SL_ERR_LIMIT when
 * the reduced value does not fit a struct rational.
 */
static int
reduce128(i128 num, i128 den, struct rational *out)
{
	u128 n, d, g;
	int neg;

	if (den == 0)
		return sl_errf(SL_ERR_INVAL, "rational: division by zero");
	neg = (num < 0) != (den < 0) && num != 0;
	n = num < 0 ? -(u128)num : (u128)num;
	d = den < 0 ? -(u128)den : (u128)den;
	g = gcd128(n, d);
	n /= g;
	d /= g;
	if (n > INT64_MAX || d > INT64_MAX)
		return sl_errf(SL_ERR_LIMIT, "rational: the result does not fit in 64 bits");
	out->num = neg ? -(int64_t)n : (int64_t)n;
	out->den = (int64_t)d;
	return 0;
}

int
rational_make(int64_t num, int64_t den, struct rational *out)
{
	if (den == 0 || num == INT64_MIN || den == INT64_MIN)
		return sl_errf(SL_ERR_INVAL, "rational: %lld/%lld is not a valid rational",
		    (long long)num, (long long)den);
	return reduce128(num, den, out);
}

/* ---- arithmetic ------------------------------------------------------- */

/* Both products of |num| < 2^63 by den < 2^63 are below 2^126, their sum below 2^127. */

int
rational_cmp(struct rational a, struct rational b)
{
	i128 x = (i128)a.num * b.den, y = (i128)b.num * a.den;

	return x < y ? -1 : x > y;
}

int
rational_add(struct rational a, struct rational b, struct rational *out)
{
	if (!rational_valid(a) || !rational_valid(b))
		return sl_errf(SL_ERR_INVAL, "rational: invalid operand");
	return reduce128((i128)a.num * b.den + (i128)b.num * a.den, (i128)a.den * b.den, out);
}

int
rational_sub(struct rational a, struct rational b, struct rational *out)
{
	if (!rational_valid(a) || !rational_valid(b))
		return sl_errf(SL_ERR_INVAL, "rational: invalid operand");
	return reduce128((i128)a.num * b.den - (i128)b.num * a.den, (i128)a.den * b.den, out);
}

int
rational_mul(struct rational a, struct rational b, struct rational *out)
{
	if (!rational_valid(a) || !rational_valid(b))
		return sl_errf(SL_ERR_INVAL, "rational: invalid operand");
	return reduce128((i128)a.num * b.num, (i128)a.den * b.den, out);
}

int
rational_div(struct rational a, struct rational b, struct rational *out)
{
	if (!rational_valid(a) || !rational_valid(b))
		return sl_errf(SL_ERR_INVAL, "rational: invalid operand");
	return reduce128((i128)a.num * b.den, (i128)a.den * b.num, out);
}

int
rational_mul_int(struct rational a, int64_t k, struct rational *out)
{
	struct rational b;
	int r;

	if ((r = rational_make(k, 1, &b)) != 0)
		return r;
	return rational_mul(a, b, out);
}

int
rational_div_int(struct rational a, int64_t k, struct rational *out)
{
	struct rational b;
	int r;

	if ((r = rational_make(k, 1, &b)) != 0)
		return r;
	return rational_div(a, b, out);
}

long double
rational_to_ld(struct rational r)
{
	return (long double)r.num / (long double)r.den;
}

/* ---- text ------------------------------------------------------------- */

int
rational_format(struct rational r, char out[RATIONAL_TEXT_BYTES])
{
	u128 n, rem, sig;
	int64_t d;
	int twos = 0, fives = 0, places, k, w;
	size_t len;

	out[0] = '\0';
	if (!rational_valid(r))
		return SL_ERR_INVAL;
	for (d = r.den; d % 2 == 0; d /= 2)
		twos++;
	for (; d % 5 == 0; d /= 5)
		fives++;
	/*
	 * The decimal has max(twos, fives) places, and its significant digits
	 * are |num| * 10^places / den; past 63 bits the parser would refuse it.
	 */
	n = r.num < 0 ? (u128)(-(i128)r.num) : (u128)r.num;
	places = twos > fives ? twos : fives;
	sig = n;
	for (k = 0; k < places - twos; k++)
		sig *= 2;
	for (k = 0; k < places - fives && sig <= INT64_MAX; k++)
		sig *= 5;
	if (d != 1 || sig > INT64_MAX)
		return snprintf(
		    out, RATIONAL_TEXT_BYTES, "%lld/%lld", (long long)r.num, (long long)r.den);
	w = snprintf(out, RATIONAL_TEXT_BYTES, "%s%llu", r.num < 0 ? "-" : "",
	    (unsigned long long)(n / (u128)r.den));
	len = (size_t)w;
	rem = n % (u128)r.den;
	if (rem != 0)
		out[len++] = '.';
	/* Long division ends after the `places` digits, which fit by the size's comment. */
	while (rem != 0 && len + 1 < RATIONAL_TEXT_BYTES) {
		rem *= 10;
		out[len++] = (char)('0' + (int)(rem / (u128)r.den));
		rem %= (u128)r.den;
	}
	out[len] = '\0';
	return (int)len;
}

/* A parse error at 0-based offset i of s[0..len). */
static int
parse_err(const char *s, size_t len, size_t i, const char *expected)
{
	if (i >= len)
		return sl_errf(
		    SL_ERR_PARSE, "character %zu: expected %s, found the end", i + 1, expected);
	if (s[i] >= 0x21 && s[i] <= 0x7e)
		return sl_errf(
		    SL_ERR_PARSE, "character %zu: expected %s, found '%c'", i + 1, expected, s[i]);
	return sl_errf(SL_ERR_PARSE, "character %zu: expected %s, found byte 0x%02x", i + 1,
	    expected, (unsigned)(unsigned char)s[i]);
}

static int
is_digit(const char *s, size_t len, size_t i)
{
	return i < len && s[i] >= '0' && s[i] <= '9';
}

/*
 * The JSON int at s[*i..] ("0" or no leading zero) into *v, which must stay
 * at most INT64_MAX; *i moves past it.
 */
static int
parse_int(const char *s, size_t len, size_t *i, const char *what, uint64_t *v)
{
	size_t start = *i;

	if (!is_digit(s, len, *i))
		return parse_err(s, len, *i, what);
	*v = 0;
	for (; is_digit(s, len, *i); (*i)++) {
		if (*i > start && s[start] == '0')
			return sl_errf(
			    SL_ERR_PARSE, "character %zu: a digit after a leading 0", *i + 1);
		if (__builtin_mul_overflow(*v, 10, v) ||
		    __builtin_add_overflow(*v, (uint64_t)(s[*i] - '0'), v) || *v > INT64_MAX)
			return sl_errf(SL_ERR_LIMIT,
			    "character %zu: the number does not fit in 63 bits", *i + 1);
	}
	return 0;
}

/* The fraction form "N/D" from s[i..], sign already read. */
static int
parse_fraction(const char *s, size_t len, size_t i, int neg, struct rational *out)
{
	uint64_t n, d;
	size_t dpos;
	int r;

	if ((r = parse_int(s, len, &i, "a digit", &n)) != 0)
		return r;
	i++; /* the '/' the caller saw */
	dpos = i;
	if ((r = parse_int(s, len, &i, "a digit after '/'", &d)) != 0)
		return r;
	if (i < len)
		return parse_err(s, len, i, "the end after the denominator");
	if (d == 0)
		return sl_errf(SL_ERR_PARSE, "character %zu: the denominator is 0", dpos + 1);
	return reduce128(neg ? -(i128)n : (i128)n, (i128)d, out);
}

/*
 * The decimal form from s[i..], sign already read.  The significant digits
 * (leading zeros dropped, trailing zeros moved into the exponent) make an
 * integer m, and the value is m * 10^e.
 */
static int
parse_decimal(const char *s, size_t len, size_t i, int neg, struct rational *out)
{
	uint64_t m = 0, zeros = 0, ev = 0;
	int64_t e = 0, k;
	u128 num, den;
	int eneg = 0, seen = 0, frac = 0, big = 0, ev_seen = 0;

	if (!is_digit(s, len, i))
		return parse_err(s, len, i, "a digit");
	if (s[i] == '0' && is_digit(s, len, i + 1))
		return sl_errf(SL_ERR_PARSE, "character %zu: a digit after a leading 0", i + 2);
	for (;;) {
		if (i < len && s[i] == '.' && !frac) {
			frac = 1;
			if (!is_digit(s, len, ++i))
				return parse_err(s, len, i, "a digit after '.'");
			continue;
		}
		if (!is_digit(s, len, i))
			break;
		if (frac)
			e--;
		if (s[i] == '0') {
			if (seen)
				zeros++;
		} else {
			/* m * 10^(zeros + 1) + digit, the zeros held back now known inner. */
			for (; zeros > 0; zeros--) {
				if (__builtin_mul_overflow(m, 10, &m))
					big = 1;
			}
			if (__builtin_mul_overflow(m, 10, &m) ||
			    __builtin_add_overflow(m, (uint64_t)(s[i] - '0'), &m) || m > INT64_MAX)
				big = 1;
			seen = 1;
		}
		i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		if (!is_digit(s, len, i))
			return parse_err(s, len, i, "a digit in the exponent");
		ev_seen = 1;
		/* Text is at most RATIONAL_TEXT_MAX long, so clamping keeps the arithmetic small. */
		for (; is_digit(s, len, i); i++) {
			ev = ev * 10 + (uint64_t)(s[i] - '0');
			if (ev > 100000)
				ev = 100000;
		}
	}
	if (i < len)
		return parse_err(s, len, i,
		    ev_seen ? "a digit or the end"
		    : frac  ? "a digit, 'e' or the end"
		            : "a digit, '.', 'e', '/' or the end");
	/* Well-formed from here on, so the text is safe to quote. */
	if (big)
		goto toobig;
	if (m == 0) {
		out->num = 0;
		out->den = 1;
		return 0;
	}
	e += (int64_t)zeros + (eneg ? -(int64_t)ev : (int64_t)ev);
	num = m;
	den = 1;
	for (k = 0; k < e; k++) {
		num *= 10;
		if (num > INT64_MAX)
			goto toobig;
	}
	/* 10^-e, each factor 2 or 5 cancelled against m while it has one. */
	for (k = 0; k > e; k--) {
		if (num % 2 == 0)
			num /= 2;
		else
			den *= 2;
		if (num % 5 == 0)
			num /= 5;
		else
			den *= 5;
		if (den > INT64_MAX)
			goto toobig;
	}
	return reduce128(neg ? -(i128)num : (i128)num, (i128)den, out);
toobig:
	return sl_errf(SL_ERR_LIMIT,
	    "%.*s: not exactly representable with 63-bit numerator and "
	    "denominator",
	    (int)len, s);
}

int
rational_parse(const char *s, size_t len, unsigned flags, struct rational *out)
{
	struct rational v;
	size_t i = 0, j;
	int neg = 0, r;

	if (len > RATIONAL_TEXT_MAX)
		return sl_errf(
		    SL_ERR_LIMIT, "a number of more than %d characters", RATIONAL_TEXT_MAX);
	if (len > 0 && s[0] == '-') {
		if (!(flags & RATIONAL_SIGNED))
			return sl_errf(
			    SL_ERR_PARSE, "character 1: a negative value is not allowed");
		neg = 1;
		i++;
	}
	for (j = i; is_digit(s, len, j); j++)
		;
	if (j > i && j < len && s[j] == '/')
		r = parse_fraction(s, len, i, neg, &v);
	else
		r = parse_decimal(s, len, i, neg, &v);
	if (r != 0)
		return r;
	*out = v;
	return 0;
}

int
rational_from_json(const json_t *v, unsigned flags, struct rational *out)
{
	char text[JCS_NUMBER_BYTES];
	json_int_t n;
	int r;

	if (json_is_string(v))
		return rational_parse(json_string_value(v), json_string_length(v), flags, out);
	if (json_is_integer(v)) {
		n = json_integer_value(v);
		if (n < 0 && !(flags & RATIONAL_SIGNED))
			return sl_errf(SL_ERR_PARSE, "a negative value is not allowed");
		if (n == INT64_MIN)
			return sl_errf(SL_ERR_LIMIT, "%lld does not fit in 63 bits", (long long)n);
		out->num = n;
		out->den = 1;
		return 0;
	}
	if (json_is_real(v)) {
		if ((r = jcs_number_format(json_real_value(v), text, NULL)) != 0)
			return sl_errf(SL_ERR_PARSE, "not a finite number");
		return rational_parse(text, strlen(text), flags, out);
	}
	return sl_errf(SL_ERR_PARSE, "expected a number or a decimal string");
}
