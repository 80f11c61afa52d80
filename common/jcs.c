/*
 * common/jcs.c -- RFC 8785 JSON Canonicalization Scheme (see common/jcs.h).
 *
 * It trusts jansson's structure (types, sizes, no duplicate member names) but
 * not the bytes of strings and member names, which json_stringn_nocheck() and
 * json_object_set_nocheck() let through unchecked, so UTF-8 is checked here.
 * Numbers get their digits from the C library (snprintf "%.*e", which glibc
 * rounds exactly, and strtod, which reads exactly) rather than from a
 * hand-written shortest-digits algorithm: slower, but correct by construction.
 * A jcs_buf holds the output and a scratch stack of object members reused by
 * every object written, so steady-state writing does not allocate.  Nothing
 * global; recursion is bounded by JCS_DEPTH_MAX.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jcs.h"

/* Most significant digits a double ever needs to read back exactly. */
#define JCS_DIGITS_MAX 17

/* Longest member name quoted in full in an error message. */
#define JCS_MSG_KEY_MAX 64

/* How jcs_canonicalize_text() reads: numbers as doubles, as JSON.parse does. */
#define JCS_LOAD_FLAGS                                                                             \
	(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL)

struct jcs_member {
	const char *key;
	size_t keylen;
	json_t *value;
};

struct jcs_buf {
	char *data; /* NULL until the first byte; then NUL-terminated after each append */
	size_t len; /* bytes in data, without the NUL */
	size_t cap; /* bytes allocated at data; > len once allocated */
	struct jcs_member *members; /* a stack: the members of each object being written */
	size_t members_cap;
};

/* Where a value sits inside its parent: a member name, or an array index. */
struct jcs_step {
	const char *key; /* NULL for an array element */
	size_t keylen;
	size_t index;
};

struct jcs_writer {
	struct jcs_buf *b;
	size_t top; /* members of b->members in use */
	struct jcs_step path[JCS_DEPTH_MAX];
};

/* ---- the buffer ---------------------------------------------------------- */

/* Make room for n more bytes and a NUL. */
static int
buf_reserve(struct jcs_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (__builtin_add_overflow(b->len, n, &need) || __builtin_add_overflow(need, 1, &need))
		return sl_errf(SL_ERR_NOMEM, "jcs: output larger than memory");
	if (need <= b->cap)
		return 0;
	cap = b->cap != 0 ? b->cap : 256;
	while (cap < need)
		cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
	if ((p = realloc(b->data, cap)) == NULL)
		return SL_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int
buf_put(struct jcs_buf *b, const void *s, size_t n)
{
	int r;

	if (b->cap - b->len <= n && (r = buf_reserve(b, n)) != 0)
		return r;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

static int
buf_putc(struct jcs_buf *b, char c)
{
	int r;

	if (b->cap - b->len <= 1 && (r = buf_reserve(b, 1)) != 0)
		return r;
	b->data[b->len++] = c;
	return 0;
}

int
jcs_buf_new(struct jcs_buf **out)
{
	struct jcs_buf *b;

	if (out == NULL)
		return SL_ERR_INVAL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return SL_ERR_NOMEM;
	*out = b;
	return 0;
}

void
jcs_buf_free(struct jcs_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	free(b->members);
	free(b);
}

void
jcs_buf_reset(struct jcs_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

const char *
jcs_buf_data(const struct jcs_buf *b)
{
	return b->data != NULL ? b->data : "";
}

size_t
jcs_buf_len(const struct jcs_buf *b)
{
	return b->len;
}

/* ---- numbers (RFC 8785 section 3.2.2.3, ECMA-262 Number::toString) -------- */

/*
 * x > 0 rounded to p significant digits, as "%.*e" gives them: the p-digit
 * decimal nearest to x, ties to even.  dig gets the p digits (the first not
 * 0) and a NUL, *exp10 the decimal exponent of the first digit.  The
 * locale's decimal point, whatever it is, is skipped.  -1 if the text is not
 * as expected (cannot happen with a C library worth the name).
 */
static int
digits_round(double x, int p, char dig[JCS_DIGITS_MAX + 1], int *exp10)
{
	char text[64];
	int i, k = 0, e = 0, neg = 0, n;

	n = snprintf(text, sizeof(text), "%.*e", p - 1, x);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	for (i = 0; text[i] != '\0' && text[i] != 'e'; i++) {
		if (text[i] >= '0' && text[i] <= '9') {
			if (k == p)
				return -1;
			dig[k++] = text[i];
		}
	}
	if (text[i] != 'e' || k != p || dig[0] == '0')
		return -1;
	i++;
	if (text[i] == '-' || text[i] == '+')
		neg = text[i++] == '-';
	for (n = 0; text[i] >= '0' && text[i] <= '9' && n < 4; i++, n++)
		e = e * 10 + (text[i] - '0');
	if (n == 0 || text[i] != '\0')
		return -1;
	dig[k] = '\0';
	*exp10 = neg ? -e : e;
	return 0;
}

/*
 * Whether the p digits dig with exponent exp10 read back as x.  The text
 * given to strtod() is an integer and an exponent, with no decimal point for
 * the locale to disagree about.
 */
static int
digits_read_back(const char *dig, int p, int exp10, double x)
{
	char text[48];

	snprintf(text, sizeof(text), "%.*se%d", p, dig, exp10 - (p - 1));
	return strtod(text, NULL) == x;
}

/*
 * Move the p digits dig (exponent *exp10) one unit in the last place up
 * (up != 0) or down, to the next p-digit decimal: 999 -> 1000 becomes "100"
 * one exponent up, 100 -> 99.9 becomes "999" one exponent down.
 */
static void
digits_step(char *dig, int p, int *exp10, int up)
{
	int i;

	if (up) {
		for (i = p - 1; i >= 0 && dig[i] == '9'; i--)
			dig[i] = '0';
		if (i >= 0) {
			dig[i]++;
		} else {
			dig[0] = '1';
			(*exp10)++;
		}
		return;
	}
	for (i = p - 1; dig[i] == '0'; i--) /* stops: dig[0] is not 0 */
		dig[i] = '9';
	dig[i]--;
	if (dig[0] == '0') {
		memmove(dig, dig + 1, (size_t)(p - 1));
		dig[p - 1] = '9';
		(*exp10)--;
	}
}

/*
 * Whether some p-digit decimal reads back as x; if so, the one nearest to x
 * goes to dig and *exp10.  The nearest p-digit decimal is what "%.*e" gives.
 * When it does not read back but another p-digit decimal does, that one lies
 * on the other side of x (the set of decimals reading back as x is an
 * interval around x) and is the nearest's neighbour there: this happens when
 * x is a power of two, whose interval is narrower below than above.
 * Returns 1, 0, or -1 on a C library surprise.
 */
static int
digits_fit(double x, int p, char dig[JCS_DIGITS_MAX + 1], int *exp10)
{
	char alt[JCS_DIGITS_MAX + 1];
	int e, up;

	if (digits_round(x, p, dig, exp10) != 0)
		return -1;
	if (digits_read_back(dig, p, *exp10, x))
		return 1;
	for (up = 0; up <= 1; up++) {
		memcpy(alt, dig, (size_t)p + 1);
		e = *exp10;
		digits_step(alt, p, &e, up);
		if (digits_read_back(alt, p, e, x)) {
			memcpy(dig, alt, (size_t)p + 1);
			*exp10 = e;
			return 1;
		}
	}
	return 0;
}

/*
 * The shortest digits reading back as x > 0, the nearest to x among those
 * (ECMA-262 Number::toString step 5 with its note 2, as V8 does): *k digits
 * without trailing zeros in dig, *exp10 the exponent of the first.  If p
 * digits fit then p + 1 do (append a 0), so the smallest fitting p is found
 * by bisection; 17 always fit.
 */
static int
digits_shortest(double x, char dig[JCS_DIGITS_MAX + 1], int *k, int *exp10)
{
	char cand[JCS_DIGITS_MAX + 1];
	int lo = 1, hi = JCS_DIGITS_MAX, mid, e, r, found = 0;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((r = digits_fit(x, mid, cand, &e)) < 0)
			return sl_errf(SL_ERR_INTERNAL, "jcs: C library number conversion failed");
		if (r) {
			memcpy(dig, cand, (size_t)mid + 1);
			*exp10 = e;
			hi = mid;
			found = 1;
		} else {
			lo = mid + 1;
		}
	}
	/* Only 17 digits were never tried, and they always fit. */
	if (!found && digits_fit(x, hi, dig, exp10) != 1)
		return sl_errf(SL_ERR_INTERNAL, "jcs: %.17g does not read back", x);
	for (*k = hi; *k > 1 && dig[*k - 1] == '0'; (*k)--)
		;
	return 0;
}

/* The decimal digits of v at out; returns their count. */
static size_t
u64_text(uint64_t v, char *out)
{
	char rev[20];
	size_t n = 0, i;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	return n;
}

/*
 * Finite x as ECMA-262 Number::toString writes it, with a NUL, at out (at
 * least JCS_NUMBER_BYTES); *len gets the length.  With the digits d1..dk and
 * n such that x = 0.d1..dk * 10^n:
 *   k <= n <= 21     d1..dk, n - k zeros             (1e20 -> 100000000000000000000)
 *   0 < n <= 21      d1..dn "." dn+1..dk             (1.5)
 *   -6 < n <= 0      "0." -n zeros, d1..dk           (0.000001)
 *   otherwise        d1 ["." d2..dk] "e" sign (n-1)  (1e+21, 1.5e-7)
 */
static int
number_text(double x, char *out, size_t *len)
{
	char dig[JCS_DIGITS_MAX + 1];
	size_t o = 0;
	int k = 0, n, e = 0, r;

	if (x == 0) { /* and -0 */
		out[o++] = '0';
		goto done;
	}
	if (x < 0) {
		out[o++] = '-';
		x = -x;
	}
	if (x <= 0x1p53 && x == floor(x)) { /* exact integers: their digits */
		o += u64_text((uint64_t)x, out + o);
		goto done;
	}
	if ((r = digits_shortest(x, dig, &k, &e)) != 0)
		return r;
	n = e + 1;
	if (k <= n && n <= 21) {
		memcpy(out + o, dig, (size_t)k);
		o += (size_t)k;
		memset(out + o, '0', (size_t)(n - k));
		o += (size_t)(n - k);
	} else if (0 < n && n <= 21) {
		memcpy(out + o, dig, (size_t)n);
		o += (size_t)n;
		out[o++] = '.';
		memcpy(out + o, dig + n, (size_t)(k - n));
		o += (size_t)(k - n);
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		memset(out + o, '0', (size_t)-n);
		o += (size_t)-n;
		memcpy(out + o, dig, (size_t)k);
		o += (size_t)k;
	} else {
		out[o++] = dig[0];
		if (k > 1) {
			out[o++] = '.';
			memcpy(out + o, dig + 1, (size_t)(k - 1));
			o += (size_t)(k - 1);
		}
		out[o++] = 'e';
		out[o++] = n - 1 < 0 ? '-' : '+';
		o += u64_text((uint64_t)(n - 1 < 0 ? 1 - n : n - 1), out + o);
	}
done:
	out[o] = '\0';
	*len = o;
	return 0;
}

int
jcs_number_format(double x, char out[JCS_NUMBER_BYTES], size_t *len)
{
	size_t n;
	int r;

	out[0] = '\0';
	if (!isfinite(x))
		return sl_errf(SL_ERR_INVAL, "jcs: NaN and Infinity have no JSON form");
	if ((r = number_text(x, out, &n)) != 0) {
		out[0] = '\0';
		return r;
	}
	if (len != NULL)
		*len = n;
	return 0;
}

/* ---- strings (RFC 8785 section 3.2.2.2) ----------------------------------- */

/*
 * Length of the UTF-8 sequence at s (n > 0 bytes left), or 0 if it is not
 * one (RFC 3629: overlong forms, surrogates, past U+10FFFF, cut short).
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 || (c == 0xf0 && s[1] < 0x90) ||
		    (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Append n bytes at s as a JSON string: raw UTF-8 but for '"', '\\' and
 * the controls.  SL_ERR_INVAL with *bad = the offset of the first byte that
 * is not UTF-8 (no message recorded: the caller knows where the string is).
 */
static int
put_string(struct jcs_buf *b, const char *s, size_t n, size_t *bad)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, len;
	char esc[6];
	int r;

	if ((r = buf_putc(b, '"')) != 0)
		return r;
	while (i < n) {
		unsigned char c = u[i];

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			if ((len = utf8_seq_len(u + i, n - i)) == 0) {
				*bad = i;
				return SL_ERR_INVAL;
			}
			i += len;
			continue;
		}
		/* c needs an escape: first copy the plain run before it. */
		if ((r = buf_put(b, s + run, i - run)) != 0)
			return r;
		esc[0] = '\\';
		len = 2;
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			len = 6;
			break;
		}
		if ((r = buf_put(b, esc, len)) != 0)
			return r;
		run = ++i;
	}
	if ((r = buf_put(b, s + run, n - run)) != 0)
		return r;
	return buf_putc(b, '"');
}

/* ---- member order (RFC 8785 section 3.2.3) -------------------------------- */

/*
 * The weight of a byte for ordering UTF-8 strings as their UTF-16 code units.
 * Valid UTF-8 compares byte by byte in code point order, and that is UTF-16
 * order except that U+10000.. (lead bytes 0xf0..0xf4) are surrogate pairs
 * 0xd800.. in UTF-16, below U+E000..U+FFFF (lead bytes 0xee, 0xef).  Two
 * strings equal up to some byte are at the same place in a code point there,
 * so only lead bytes need moving: 0xf0..0xf4 down to 0xee..0xf2, 0xee and
 * 0xef up to 0xf3 and 0xf4.  The map is one-to-one, so the order stays total
 * even for bytes that are not UTF-8 (those are refused when written anyway).
 */
static unsigned
utf16_weight(unsigned char c)
{
	if (c >= 0xf0 && c <= 0xf4)
		return c - 2u;
	if (c == 0xee || c == 0xef)
		return c + 5u;
	return c;
}

static int
member_cmp(const void *pa, const void *pb)
{
	const struct jcs_member *a = pa, *b = pb;
	const unsigned char *x = (const unsigned char *)a->key, *y = (const unsigned char *)b->key;
	size_t n = a->keylen < b->keylen ? a->keylen : b->keylen, i;

	for (i = 0; i < n; i++) {
		if (x[i] != y[i])
			return utf16_weight(x[i]) < utf16_weight(y[i]) ? -1 : 1;
	}
	return (a->keylen > b->keylen) - (a->keylen < b->keylen);
}

/* ---- error messages ------------------------------------------------------- */

static int
key_is_name(const char *key, size_t len)
{
	size_t i;

	if (len == 0 || len > JCS_MSG_KEY_MAX || (key[0] >= '0' && key[0] <= '9'))
		return 0;
	for (i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		        c == '_'))
			return 0;
	}
	return 1;
}

/* "$.a[3]["x y"]" for the first depth steps of w->path; ASCII only, names cut at 64 bytes. */
static int
path_text(const struct jcs_writer *w, int depth, struct jcs_buf *t)
{
	char num[32];
	size_t i, n;
	int d, r;

	if ((r = buf_putc(t, '$')) != 0)
		return r;
	for (d = 0; d < depth; d++) {
		const struct jcs_step *s = &w->path[d];

		if (s->key == NULL) {
			n = (size_t)snprintf(num, sizeof(num), "[%zu]", s->index);
			r = buf_put(t, num, n);
		} else if (key_is_name(s->key, s->keylen)) {
			if ((r = buf_putc(t, '.')) == 0)
				r = buf_put(t, s->key, s->keylen);
		} else {
			r = buf_put(t, "[\"", 2);
			for (i = 0; r == 0 && i < s->keylen && i < JCS_MSG_KEY_MAX; i++) {
				unsigned char c = (unsigned char)s->key[i];

				if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
					r = buf_putc(t, (char)c);
				} else {
					n = (size_t)snprintf(num, sizeof(num), "\\x%02x", c);
					r = buf_put(t, num, n);
				}
			}
			if (r == 0 && s->keylen > JCS_MSG_KEY_MAX)
				r = buf_put(t, "...", 3);
			if (r == 0)
				r = buf_put(t, "\"]", 2);
		}
		if (r != 0)
			return r;
	}
	return buf_putc(t, '\0');
}

/* Record "jcs: <path of the value at depth>: <what>" and return code. */
static int __attribute__((format(printf, 4, 5)))
fail(const struct jcs_writer *w, int depth, int code, const char *fmt, ...)
{
	struct jcs_buf path = {0};
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (path_text(w, depth, &path) == 0)
		sl_errf(code, "jcs: %s: %s", path.data, what);
	else
		sl_errf(code, "jcs: %s", what);
	free(path.data);
	return code;
}

/* ---- values --------------------------------------------------------------- */

static int write_value(struct jcs_writer *w, const json_t *v, int depth);

static int
write_number(struct jcs_writer *w, double x, int depth)
{
	char text[JCS_NUMBER_BYTES];
	size_t n;
	int r;

	if (!isfinite(x))
		return fail(w, depth, SL_ERR_INVAL, "NaN and Infinity have no JSON form");
	if ((r = number_text(x, text, &n)) != 0)
		return r;
	return buf_put(w->b, text, n);
}

static int
write_integer(struct jcs_writer *w, json_int_t i, int depth)
{
	char text[JCS_NUMBER_BYTES];
	size_t n = 0;

	/* Exact up to 2^53; beyond, the nearest double, as a JCS peer reads it. */
	if (i < -(json_int_t)(1LL << 53) || i > (json_int_t)(1LL << 53))
		return write_number(w, (double)i, depth);
	if (i < 0)
		text[n++] = '-';
	n += u64_text(i < 0 ? (uint64_t)-i : (uint64_t)i, text + n);
	return buf_put(w->b, text, n);
}

static int
write_array(struct jcs_writer *w, const json_t *v, int depth)
{
	size_t i, n = json_array_size(v);
	int r;

	if ((r = buf_putc(w->b, '[')) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if (i > 0 && (r = buf_putc(w->b, ',')) != 0)
			return r;
		w->path[depth] = (struct jcs_step){.key = NULL, .index = i};
		if ((r = write_value(w, json_array_get(v, i), depth + 1)) != 0)
			return r;
	}
	return buf_putc(w->b, ']');
}

/* Gather the members of v on top of the member stack; the caller pops them. */
static int
push_members(struct jcs_writer *w, const json_t *v, int depth, size_t n)
{
	struct jcs_buf *b = w->b;
	struct jcs_member *m;
	size_t need, cap, i = 0;
	void *it;

	if (__builtin_add_overflow(w->top, n, &need))
		return SL_ERR_NOMEM;
	if (need > b->members_cap) {
		cap = b->members_cap != 0 ? b->members_cap : 64;
		while (cap < need)
			cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
		if (cap > SIZE_MAX / sizeof(*m) ||
		    (m = realloc(b->members, cap * sizeof(*m))) == NULL)
			return SL_ERR_NOMEM;
		b->members = m;
		b->members_cap = cap;
	}
	/* jansson's iterators take a non-const object but do not change it. */
	for (it = json_object_iter((json_t *)v); it != NULL && i < n;
	     it = json_object_iter_next((json_t *)v, it), i++) {
		m = &b->members[w->top + i];
		m->key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
		m->keylen = json_object_iter_key_len(it);
#else
		m->keylen = strlen(m->key);
#endif
		m->value = json_object_iter_value(it);
	}
	if (i != n || it != NULL)
		return fail(w, depth, SL_ERR_INTERNAL, "object size and members disagree");
	w->top = need;
	return 0;
}

static int
write_object(struct jcs_writer *w, const json_t *v, int depth)
{
	struct jcs_buf *b = w->b;
	const struct jcs_member *m;
	size_t base = w->top, n = json_object_size(v), i, bad;
	int r;

	if ((r = push_members(w, v, depth, n)) != 0)
		return r;
	if (n > 1)
		qsort(b->members + base, n, sizeof(*b->members), member_cmp);
	if ((r = buf_putc(b, '{')) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		/* Read through b->members each time: writing a child may move it. */
		m = &b->members[base + i];
		w->path[depth] = (struct jcs_step){.key = m->key, .keylen = m->keylen};
		if (i > 0 && (r = buf_putc(b, ',')) != 0)
			goto out;
		if ((r = put_string(b, m->key, m->keylen, &bad)) != 0) {
			if (r == SL_ERR_INVAL)
				r = fail(w, depth + 1, r,
				    "member name is not valid UTF-8 (byte 0x%02x at offset %zu)",
				    (unsigned char)m->key[bad], bad);
			goto out;
		}
		if ((r = buf_putc(b, ':')) != 0 ||
		    (r = write_value(w, b->members[base + i].value, depth + 1)) != 0)
			goto out;
	}
	r = buf_putc(b, '}');
out:
	w->top = base;
	return r;
}

/* Write v, found inside depth arrays and objects (w->path[0 .. depth-1]). */
static int
write_value(struct jcs_writer *w, const json_t *v, int depth)
{
	const char *s;
	size_t bad;
	int r;

	if (v == NULL)
		return fail(w, depth, SL_ERR_INVAL, "no value");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (depth >= JCS_DEPTH_MAX)
			return fail(w, depth, SL_ERR_LIMIT,
			    "nested deeper than %d arrays and objects", JCS_DEPTH_MAX);
		return json_is_object(v) ? write_object(w, v, depth) : write_array(w, v, depth);
	case JSON_STRING:
		s = json_string_value(v);
		if ((r = put_string(w->b, s, json_string_length(v), &bad)) == SL_ERR_INVAL)
			r = fail(w, depth, r,
			    "string is not valid UTF-8 (byte 0x%02x at offset %zu)",
			    (unsigned char)s[bad], bad);
		return r;
	case JSON_INTEGER:
		return write_integer(w, json_integer_value(v), depth);
	case JSON_REAL:
		return write_number(w, json_real_value(v), depth);
	case JSON_TRUE:
		return buf_put(w->b, "true", 4);
	case JSON_FALSE:
		return buf_put(w->b, "false", 5);
	case JSON_NULL:
		return buf_put(w->b, "null", 4);
	}
	return fail(w, depth, SL_ERR_INVAL, "value of unknown type %d", (int)json_typeof(v));
}

/* ---- entry points --------------------------------------------------------- */

int
jcs_buf_append(struct jcs_buf *b, const json_t *v)
{
	struct jcs_writer w;
	size_t start;
	int r;

	if (b == NULL)
		return SL_ERR_INVAL;
	start = b->len;
	w.b = b;
	w.top = 0;
	if ((r = write_value(&w, v, 0)) != 0 || (r = buf_reserve(b, 0)) != 0) {
		b->len = start;
		if (b->data != NULL)
			b->data[start] = '\0';
		return r;
	}
	b->data[b->len] = '\0';
	return 0;
}

int
jcs_serialize(const json_t *v, char **out, size_t *len)
{
	struct jcs_buf b = {0};
	int r;

	if (out == NULL || len == NULL)
		return SL_ERR_INVAL;
	if ((r = jcs_buf_append(&b, v)) != 0)
		goto out;
	*out = b.data;
	*len = b.len;
	b.data = NULL;
out:
	free(b.data);
	free(b.members);
	return r;
}

int
jcs_canonicalize_text(const char *text, size_t len, char **out, size_t *outlen)
{
	json_error_t e;
	json_t *v;
	int r;

	if (text == NULL || out == NULL || outlen == NULL)
		return SL_ERR_INVAL;
	if ((v = json_loadb(text, len, JCS_LOAD_FLAGS, &e)) == NULL) {
		switch (json_error_code(&e)) {
		case json_error_out_of_memory:
			r = SL_ERR_NOMEM;
			break;
		case json_error_stack_overflow: /* deeper than jansson's own limit */
			r = SL_ERR_LIMIT;
			break;
		default:
			r = SL_ERR_PARSE;
			break;
		}
		return sl_errf(r, "%d:%d: %s", e.line, e.column, e.text);
	}
	r = jcs_serialize(v, out, outlen);
	json_decref(v);
	return r;
}

/* ---- checking text that claims to be canonical ------------------------------ */

/*
 * The string whose opening quote is at s[*i], if it is written as
 * put_string() writes it: raw UTF-8 but for the escapes \" \\ \b \t \n \f
 * \r and \u00xx (lowercase, the other controls).  A member name (key) may
 * not hold "\u0000", which jansson refuses.  *i moves past the closing quote.
 */
static int
canonical_string(const unsigned char *s, size_t n, size_t *i, int key)
{
	static const char hex[] = "0123456789abcdef";
	size_t j = *i + 1, k;
	unsigned c;

	while (j < n) {
		c = s[j];
		if (c == '"') {
			*i = j + 1;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (j + 1 >= n)
				return 0;
			switch (s[j + 1]) {
			case '"':
			case '\\':
			case 'b':
			case 't':
			case 'n':
			case 'f':
			case 'r':
				j += 2;
				continue;
			case 'u':
				if (n - j < 6 || s[j + 2] != '0' || s[j + 3] != '0' ||
				    s[j + 4] > '1' || s[j + 4] < '0' ||
				    memchr(hex, s[j + 5], 16) == NULL)
					return 0;
				c = (unsigned)(s[j + 4] - '0') << 4 |
				    (unsigned)((const char *)memchr(hex, s[j + 5], 16) - hex);
				if (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r' ||
				    (key && c == 0))
					return 0;
				j += 6;
				continue;
			default:
				return 0;
			}
		}
		if ((k = utf8_seq_len(s + j, n - j)) == 0)
			return 0;
		j += k;
	}
	return 0;
}

/* The byte of a canonical string's body at s[*i], escapes decoded; *i moves past it. */
static unsigned
string_byte(const unsigned char *s, size_t *i)
{
	unsigned c = s[*i];

	if (c != '\\') {
		(*i)++;
		return c;
	}
	c = s[*i + 1];
	*i += 2;
	switch (c) {
	case 'b':
		return '\b';
	case 't':
		return '\t';
	case 'n':
		return '\n';
	case 'f':
		return '\f';
	case 'r':
		return '\r';
	case 'u':
		c = (unsigned)(s[*i + 2] - '0') << 4;
		c |= s[*i + 3] <= '9' ? (unsigned)(s[*i + 3] - '0')
		                      : (unsigned)(s[*i + 3] - 'a' + 10);
		*i += 4;
		return c;
	default:
		return c; /* '"' or '\\' */
	}
}

/*
 * Order of two canonical member names, bodies a[0..an) and b[0..bn) (no
 * quotes), as member_cmp() orders what they decode to.
 */
static int
key_order(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
	size_t i = 0, j = 0;
	unsigned x, y;

	while (i < an && j < bn) {
		x = string_byte(a, &i);
		y = string_byte(b, &j);
		if (x != y)
			return utf16_weight((unsigned char)x) < utf16_weight((unsigned char)y) ? -1
			                                                                       : 1;
	}
	return (i < an) - (j < bn);
}

/* The number at s[*i], if it is written as jcs_number_format() writes what it reads as. */
static int
canonical_number(const unsigned char *s, size_t n, size_t *i)
{
	char text[2 * JCS_NUMBER_BYTES], again[JCS_NUMBER_BYTES];
	size_t b = *i, j = b, len, alen, tlen;
	long exp10 = 0, frac = 0, sign = 1;
	int integral = 1, point = 0;
	char *end;
	double x;

	if (j < n && s[j] == '-')
		j++;
	if (j >= n || s[j] < '0' || s[j] > '9')
		return 0;
	if (s[j] == '0')
		j++;
	else
		while (j < n && s[j] >= '0' && s[j] <= '9')
			j++;
	if (j < n && s[j] == '.') {
		integral = 0;
		if (++j >= n || s[j] < '0' || s[j] > '9')
			return 0;
		while (j < n && s[j] >= '0' && s[j] <= '9')
			j++;
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		integral = 0;
		if (++j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j >= n || s[j] < '0' || s[j] > '9')
			return 0;
		while (j < n && s[j] >= '0' && s[j] <= '9')
			j++;
	}
	*i = j;
	len = j - b;
	/* Up to 15 digits an integer is an exact double, written as its digits; but -0 is "0". */
	if (integral && len - (s[b] == '-') <= 15)
		return !(len == 2 && s[b] == '-' && s[b + 1] == '0');
	if (len >= JCS_NUMBER_BYTES)
		return 0; /* longer than any number JCS writes */
	/* strtod() reads digits and an exponent, without the locale's decimal point (as above). */
	tlen = 0;
	for (j = b; j < b + len && s[j] != 'e' && s[j] != 'E'; j++) {
		if (s[j] == '.')
			point = 1;
		else
			text[tlen++] = (char)s[j];
		frac += point && s[j] != '.';
	}
	for (j += j < b + len; j < b + len; j++) {
		if (s[j] == '-')
			sign = -1;
		else if (s[j] != '+' && exp10 < 100000)
			exp10 = exp10 * 10 + (s[j] - '0');
	}
	snprintf(text + tlen, sizeof(text) - tlen, "e%ld", sign * exp10 - frac);
	x = strtod(text, &end);
	return *end == '\0' && isfinite(x) && jcs_number_format(x, again, &alen) == 0 &&
	       alen == len && memcmp(again, s + b, len) == 0;
}

/* The literal true, false or null at s[*i] (its first byte tells which); *i moves past it. */
static int
canonical_literal(const unsigned char *s, size_t n, size_t *i)
{
	const char *lit = s[*i] == 't' ? "true" : s[*i] == 'f' ? "false" : "null";
	size_t len = strlen(lit);

	if (n - *i < len || memcmp(s + *i, lit, len) != 0)
		return 0;
	*i += len;
	return 1;
}

/* Whether the value starting with byte c is of type t (struct jcs_member_type). */
static int
type_is(unsigned char c, char t)
{
	switch (t) {
	case 's':
		return c == '"';
	case 'o':
		return c == '{';
	case 'a':
		return c == '[';
	case 'n':
		return c == '-' || (c >= '0' && c <= '9');
	case 'b':
		return c == 't' || c == 'f';
	case 'z':
		return c == 'n';
	default:
		return 0;
	}
}

int
jcs_is_canonical(const char *text, size_t len, const struct jcs_member_type *shape, size_t nshape)
{
	struct {
		unsigned char close;
		const unsigned char *key; /* the last member name's body, NULL before the first */
		size_t keylen;
	} open[JCS_DEPTH_MAX];
	const unsigned char *s = (const unsigned char *)text;
	size_t depth = 0, i = 0, k, top = 0;

	if (text == NULL || (shape != NULL && (len == 0 || s[0] != '{')))
		return 0;
	/* A value starts at s[i]. */
value:
	if (i >= len)
		return 0;
	if (shape != NULL && depth == 1 && !type_is(s[i], shape[top - 1].type))
		return 0;
	switch (s[i]) {
	case '{':
	case '[':
		if (depth == JCS_DEPTH_MAX)
			return 0;
		open[depth].close = s[i] == '{' ? '}' : ']';
		open[depth].key = NULL;
		open[depth].keylen = 0;
		depth++;
		if (++i < len && s[i] == open[depth - 1].close) {
			i++;
			depth--;
			goto after;
		}
		if (s[i - 1] == '[')
			goto value;
		goto member;
	case '"':
		if (!canonical_string(s, len, &i, 0))
			return 0;
		goto after;
	case 't':
	case 'f':
	case 'n':
		if (!canonical_literal(s, len, &i))
			return 0;
		goto after;
	default:
		if (!canonical_number(s, len, &i))
			return 0;
		goto after;
	}
	/* A member name starts at s[i], in the object open[depth - 1]. */
member:
	k = i;
	if (i >= len || s[i] != '"' || !canonical_string(s, len, &k, 1))
		return 0;
	if (open[depth - 1].key != NULL &&
	    key_order(open[depth - 1].key, open[depth - 1].keylen, s + i + 1, k - i - 2) >= 0)
		return 0; /* out of order, or a duplicate */
	open[depth - 1].key = s + i + 1;
	open[depth - 1].keylen = k - i - 2;
	if (shape != NULL && depth == 1 &&
	    (top >= nshape || strlen(shape[top].name) != k - i - 2 ||
	        memcmp(shape[top].name, s + i + 1, k - i - 2) != 0))
		return 0;
	if (depth == 1)
		top++;
	i = k;
	if (i >= len || s[i] != ':')
		return 0;
	i++;
	goto value;
	/* A value ended before s[i]. */
after:
	if (depth == 0)
		return i == len && (shape == NULL || top == nshape);
	if (i >= len)
		return 0;
	if (s[i] == ',') {
		i++;
		if (open[depth - 1].close == ']')
			goto value;
		goto member;
	}
	if (s[i] != open[depth - 1].close)
		return 0;
	i++;
	depth--;
	goto after;
}
