/*
 * common/jcs.c -- RFC 8785 JSON Canonicalization Scheme.
 *
 * Numbers are IEEE-754 doubles printed as ECMAScript's Number.prototype.toString
 * does (RFC 8785 section 3.2.2.3): the shortest digits that read back as the
 * same double, in fixed notation for 1e-7 <= |x| < 1e21 and exponent notation
 * otherwise.  An integer beyond 2^53 is first rounded to a double, as JCS
 * requires.  Object members are sorted by the UTF-16 code units of their names
 * (section 3.2.3).  Strings are escaped minimally (section 3.2.2.2).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jcs.h"

struct sb {
	char *p;
	size_t len, cap;
	int err;
};

static void
sb_put(struct sb *b, const char *s, size_t n)
{
	char *np;

	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->err = SL_ERR_NOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Decode one UTF-8 code point at s[*i]; -1 if invalid (RFC 3629). */
static int32_t
utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	int32_t cp;
	size_t len, k;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return -1;
	if (n - *i < len)
		return -1;
	for (k = 1; k < len; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[*i + k] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return -1;
	*i += len;
	return cp;
}

static void
sb_str(struct sb *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, j;

	for (j = 0; j < n;) {
		if (utf8_next((const unsigned char *)s, n, &j) < 0) {
			b->err = sl_errf(SL_ERR_INVAL, "canonical JSON: invalid UTF-8 in a string");
			return;
		}
	}

	sb_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			sb_put(b, esc, 2);
		} else if (c < 0x20) {
			const char *e = c == '\b'   ? "\\b"
			                : c == '\t' ? "\\t"
			                : c == '\n' ? "\\n"
			                : c == '\f' ? "\\f"
			                : c == '\r' ? "\\r"
			                            : NULL;
			if (e != NULL) {
				sb_put(b, e, 2);
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				sb_put(b, esc, 6);
			}
		} else {
			sb_put(b, (const char *)&s[i], 1);
		}
	}
	sb_put(b, "\"", 1);
}

/* The next UTF-16 code unit of a valid UTF-8 string; *pending holds a low surrogate. */
static int32_t
utf16_next(const unsigned char *s, size_t n, size_t *i, int32_t *pending)
{
	int32_t cp;

	if (*pending >= 0) {
		cp = *pending;
		*pending = -1;
		return cp;
	}
	if (*i >= n)
		return -1;
	if ((cp = utf8_next(s, n, i)) < 0x10000)
		return cp < 0 ? 0xffff : cp; /* invalid input sorts last; refused when printed */
	cp -= 0x10000;
	*pending = 0xdc00 + (cp & 0x3ff);
	return 0xd800 + (cp >> 10);
}

/* Order member names by their UTF-16 code units (RFC 8785 section 3.2.3). */
static int
key_cmp(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a,
	                    *y = *(const unsigned char *const *)b;
	size_t xn = strlen((const char *)x), yn = strlen((const char *)y), i = 0, j = 0;
	int32_t px = -1, py = -1, ux, uy;

	for (;;) {
		ux = utf16_next(x, xn, &i, &px);
		uy = utf16_next(y, yn, &j, &py);
		if (ux != uy || ux < 0)
			return ux < uy ? -1 : ux > uy;
	}
}

/*
 * A finite double as ECMAScript's Number.prototype.toString: the shortest
 * digits that round-trip (the closest such, as %.*e rounds to nearest), laid
 * out per ECMA-262 Number::toString.  out holds at least 32 bytes.
 */
static int
number_text(double x, char *out, size_t outlen)
{
	char buf[40], digits[24], *e;
	int p, k, n, i, neg = 0;
	size_t o = 0;

	if (!isfinite(x))
		return sl_errf(SL_ERR_INVAL, "canonical JSON: NaN and Infinity have no JSON form");
	if (x == 0) {
		snprintf(out, outlen, "0"); /* also -0 */
		return 0;
	}
	if (x < 0) {
		neg = 1;
		x = -x;
	}
	for (p = 0; p < 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	/* buf is "d[.ddd]e[+-]XX": collect the digits and the exponent. */
	k = 0;
	for (i = 0; buf[i] != 'e'; i++)
		if (buf[i] != '.')
			digits[k++] = buf[i];
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	n = (int)strtol(buf + i + 1, &e, 10) + 1;
	if (neg)
		out[o++] = '-';
	if (k <= n && n <= 21) {
		memcpy(out + o, digits, (size_t)k);
		o += (size_t)k;
		for (i = 0; i < n - k; i++)
			out[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(out + o, digits, (size_t)n);
		o += (size_t)n;
		out[o++] = '.';
		memcpy(out + o, digits + n, (size_t)(k - n));
		o += (size_t)(k - n);
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = 0; i < -n; i++)
			out[o++] = '0';
		memcpy(out + o, digits, (size_t)k);
		o += (size_t)k;
	} else {
		out[o++] = digits[0];
		if (k > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, (size_t)(k - 1));
			o += (size_t)(k - 1);
		}
		o += (size_t)snprintf(
		    out + o, outlen - o, "e%c%d", n - 1 < 0 ? '-' : '+', n - 1 < 0 ? 1 - n : n - 1);
	}
	out[o] = '\0';
	return 0;
}

static void
emit(struct sb *b, const json_t *v, int depth)
{
	char num[40];

	if (depth > 64) {
		b->err = sl_errf(SL_ERR_LIMIT, "canonical JSON: nested deeper than 64 levels");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n + 1, sizeof(*keys));
		const char *k;
		json_t *x;

		if (keys == NULL) {
			b->err = SL_ERR_NOMEM;
			return;
		}
		json_object_foreach((json_t *)v, k, x) keys[i++] = k;
		qsort(keys, n, sizeof(*keys), key_cmp);
		sb_put(b, "{", 1);
		for (i = 0; i < n; i++) {
			if (i > 0)
				sb_put(b, ",", 1);
			sb_str(b, keys[i], strlen(keys[i]));
			sb_put(b, ":", 1);
			emit(b, json_object_get(v, keys[i]), depth + 1);
		}
		sb_put(b, "}", 1);
		free(keys);
		break;
	}
	case JSON_ARRAY: {
		size_t i;

		sb_put(b, "[", 1);
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				sb_put(b, ",", 1);
			emit(b, json_array_get(v, i), depth + 1);
		}
		sb_put(b, "]", 1);
		break;
	}
	case JSON_STRING:
		sb_str(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);

		/* Exact up to 2^53; beyond, JCS sees the double nearest to it. */
		if (i >= -(1LL << 53) && i <= (1LL << 53))
			snprintf(num, sizeof(num), "%lld", (long long)i);
		else if ((b->err = number_text((double)i, num, sizeof(num))) != 0)
			return;
		sb_put(b, num, strlen(num));
		break;
	}
	case JSON_REAL:
		if ((b->err = number_text(json_real_value(v), num, sizeof(num))) != 0)
			return;
		sb_put(b, num, strlen(num));
		break;
	case JSON_TRUE:
		sb_put(b, "true", 4);
		break;
	case JSON_FALSE:
		sb_put(b, "false", 5);
		break;
	case JSON_NULL:
		sb_put(b, "null", 4);
		break;
	}
}

int
jcs_serialize(const json_t *v, char **out, size_t *len)
{
	struct sb b = {0};

	emit(&b, v, 0);
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
