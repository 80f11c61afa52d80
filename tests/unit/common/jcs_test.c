/*
 * tests/unit/common/jcs_test.c -- common/jcs.h against RFC 8785 and ECMAScript.
 *
 * The vectors live in tests/unit/common/jcs/ (README.md there says where each
 * comes from): the RFC's own examples (sections 3.2.2-3.2.4, the sorting
 * example of 3.2.3, the Appendix B number table), the test data of
 * cyberphone/json-canonicalization (the RFC author's reference suite), and
 * vectors made by node, the reference for ECMAScript behaviour (gen.js): 20,060
 * doubles, 1,521 integers and 400 objects.  The rest checks the edges the
 * vectors cannot reach: invalid UTF-8, nesting limits, parse errors and their
 * positions, and the reusable buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/err.h"
#include "common/jcs.h"

/* Mismatches printed in full before a data-driven test gives up on printing. */
#define SHOW_MAX 10

/* ---- data files ----------------------------------------------------------- */

/* A new string formatted as printf() does; the test fails if it cannot be made. */
static char *__attribute__((format(printf, 1, 2))) xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/*
 * tests/unit/common/jcs/<name> in the source tree: under $top_srcdir when the
 * test harness sets it, else under SL_TEST_DATADIR (the tree's tests/).
 * Caller frees.
 */
static char *
data_path(const char *name)
{
	const char *root = getenv("top_srcdir");

	if (root != NULL)
		return xprintf("%s/tests/unit/common/jcs/%s", root, name);
	return xprintf("%s/unit/common/jcs/%s", SL_TEST_DATADIR, name);
}

static FILE *
data_open(const char *name)
{
	char *path = data_path(name);
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	free(path);
	return f;
}

/* The whole of a data file, NUL-terminated, in a new buffer; *len without the NUL. */
static char *
data_read(const char *name, size_t *len)
{
	FILE *f = data_open(name);
	char *p = NULL;
	size_t cap = 0, n = 0, got;

	do {
		if (cap - n < 4096) {
			cap = cap * 2 + 4096;
			p = realloc(p, cap);
			assert_non_null(p);
		}
		got = fread(p + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	assert_int_equal(ferror(f), 0);
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

/*
 * Split a line of a vector file into at most max fields separated by blanks,
 * in place; a field starting with '#' ends the line.  Returns the count.
 */
static int
split_fields(char *line, char **field, int max)
{
	int n = 0;

	for (;;) {
		while (*line == ' ' || *line == '\t' || *line == '\n' || *line == '\r')
			*line++ = '\0';
		if (*line == '\0' || *line == '#' || n == max)
			return n;
		field[n++] = line;
		while (*line != '\0' && *line != ' ' && *line != '\t' && *line != '\n' &&
		       *line != '\r')
			line++;
	}
}

static double
bits_double(const char *hex)
{
	unsigned long long bits;
	char *end;
	double x;

	errno = 0;
	bits = strtoull(hex, &end, 16);
	if (errno != 0 || *end != '\0' || end - hex != 16)
		fail_msg("bad IEEE-754 hex %s", hex);
	memcpy(&x, &bits, sizeof(x));
	return x;
}

/* Canonicalize JSON text, failing the test on any error. */
static char *
canon_text(const char *text, size_t len, size_t *outlen)
{
	char *out = NULL;
	int r;

	if ((r = jcs_canonicalize_text(text, len, &out, outlen)) != 0)
		fail_msg("%s: %s", sl_strerror(r), sl_err_msg(r));
	assert_int_equal(strlen(out), *outlen);
	return out;
}

/* ---- RFC 8785's own examples --------------------------------------------- */

/* Appendix B: bits -> number text, and "error" rows (NaN, Infinity) refused. */
static void
test_rfc_appendix_b(void **state)
{
	FILE *f = data_open("appendix-b.txt");
	char *line = NULL, *fld[2], out[JCS_NUMBER_BYTES], *text;
	size_t cap = 0, len, rows = 0;
	json_t *v;

	(void)state;

	while (getline(&line, &cap, f) != -1) {
		double x;

		if (split_fields(line, fld, 2) == 0)
			continue;
		x = bits_double(fld[0]);
		rows++;
		sl_err_clear();
		if (strcmp(fld[1], "error") == 0) {
			assert_false(isfinite(x));
			assert_int_equal(jcs_number_format(x, out, &len), SL_ERR_INVAL);
			assert_string_equal(out, "");
			assert_non_null(strstr(sl_err_msg(SL_ERR_INVAL), "NaN and Infinity"));
			continue;
		}
		assert_int_equal(jcs_number_format(x, out, &len), 0);
		if (strcmp(out, fld[1]) != 0)
			fail_msg("%s: got %s, RFC 8785 says %s", fld[0], out, fld[1]);
		assert_int_equal(len, strlen(fld[1]));
		/* The same through a jansson value. */
		assert_non_null(v = json_real(x));
		assert_int_equal(jcs_serialize(v, &text, &len), 0);
		assert_string_equal(text, fld[1]);
		free(text);
		json_decref(v);
	}
	free(line);
	fclose(f);
	assert_int_equal(rows, 26);
}

/* Sections 3.2.2 to 3.2.4: the example's canonical text and its UTF-8 bytes. */
static void
test_rfc_example(void **state)
{
	char *in, *want, *hex, *out;
	size_t inlen, wantlen, hexlen, outlen, i, n = 0;
	unsigned byte;
	int used;

	(void)state;

	in = data_read("rfc8785-3.2.2-input.json", &inlen);
	want = data_read("rfc8785-3.2.2-output.json", &wantlen);
	hex = data_read("rfc8785-3.2.4-output.hex", &hexlen);
	out = canon_text(in, inlen, &outlen);
	assert_int_equal(outlen, wantlen);
	assert_memory_equal(out, want, wantlen);
	/* Byte by byte against section 3.2.4's hex. */
	for (i = 0; i < hexlen;) {
		if (sscanf(hex + i, " %2x%n", &byte, &used) != 1)
			break;
		assert_true(n < outlen);
		if ((unsigned char)out[n] != byte)
			fail_msg("byte %zu: got %02x, RFC 8785 section 3.2.4 says %02x", n,
			    (unsigned char)out[n], byte);
		n++;
		i += (size_t)used;
	}
	assert_int_equal(n, outlen);
	free(in);
	free(want);
	free(hex);
	free(out);
}

/* Section 3.2.3: the members come out in the order the RFC lists their values. */
static void
test_rfc_sort_order(void **state)
{
	FILE *f = data_open("rfc8785-3.2.3-sort-order.txt");
	char *in, *out, *line = NULL, *at, *quoted;
	size_t inlen, outlen, cap = 0, n = 0;
	ssize_t got;

	(void)state;

	in = data_read("rfc8785-3.2.3-sort-input.json", &inlen);
	out = canon_text(in, inlen, &outlen);
	at = out;
	while ((got = getline(&line, &cap, f)) != -1) {
		if (line[0] == '#' || got <= 1)
			continue;
		line[got - 1] = '\0';
		quoted = xprintf(":\"%s\"", line);
		if ((at = strstr(at, quoted)) == NULL)
			fail_msg(
			    "\"%s\" is not where RFC 8785 section 3.2.3 puts it in %s", line, out);
		free(quoted);
		n++;
	}
	assert_int_equal(n, 7);
	free(line);
	fclose(f);
	free(in);
	free(out);
}

/* cases.txt: JSON text files and their canonical forms (RFC and cyberphone). */
static void
test_cases(void **state)
{
	FILE *f = data_open("cases.txt");
	char *line = NULL, *fld[2], *in, *want, *out, *again;
	size_t cap = 0, inlen, wantlen, outlen, againlen, n = 0;

	(void)state;

	while (getline(&line, &cap, f) != -1) {
		if (split_fields(line, fld, 2) == 0)
			continue;
		assert_non_null(fld[1]);
		in = data_read(fld[0], &inlen);
		want = data_read(fld[1], &wantlen);
		out = canon_text(in, inlen, &outlen);
		if (outlen != wantlen || memcmp(out, want, wantlen) != 0)
			fail_msg("%s:\n got  %s\n want %s (%s)", fld[0], out, want, fld[1]);
		/* The canonical form is a fixed point. */
		again = canon_text(out, outlen, &againlen);
		assert_int_equal(againlen, outlen);
		assert_memory_equal(again, out, outlen);
		free(in);
		free(want);
		free(out);
		free(again);
		n++;
	}
	free(line);
	fclose(f);
	assert_int_equal(n, 8);
}

/* ---- vectors made by node ------------------------------------------------- */

/* numbers.txt: 20,000 doubles and String(x); also read back from that text. */
static void
test_node_numbers(void **state)
{
	FILE *f = data_open("numbers.txt");
	char *line = NULL, *fld[2], out[JCS_NUMBER_BYTES], *text;
	size_t cap = 0, len, n = 0, bad = 0;

	(void)state;

	while (getline(&line, &cap, f) != -1) {
		if (split_fields(line, fld, 2) == 0)
			continue;
		assert_int_equal(jcs_number_format(bits_double(fld[0]), out, &len), 0);
		if (strcmp(out, fld[1]) != 0 && bad++ < SHOW_MAX)
			print_error("%s: got %s, node says %s\n", fld[0], out, fld[1]);
		/* ECMAScript's text of x parses back to x and prints the same. */
		text = canon_text(fld[1], strlen(fld[1]), &len);
		if (strcmp(text, fld[1]) != 0 && bad++ < SHOW_MAX)
			print_error("%s: %s reads back as %s\n", fld[0], fld[1], text);
		free(text);
		n++;
	}
	free(line);
	fclose(f);
	assert_int_equal(bad, 0);
	assert_true(n >= 20000);
}

/* integers.txt: json_int_t values, exact up to 2^53 and rounded beyond. */
static void
test_node_integers(void **state)
{
	FILE *f = data_open("integers.txt");
	char *line = NULL, *fld[2], *out, *end;
	size_t cap = 0, len, n = 0, bad = 0;
	long long i;
	json_t *v;

	(void)state;

	while (getline(&line, &cap, f) != -1) {
		if (split_fields(line, fld, 2) == 0)
			continue;
		errno = 0;
		i = strtoll(fld[0], &end, 10);
		assert_true(errno == 0 && *end == '\0');
		assert_non_null(v = json_integer((json_int_t)i));
		assert_int_equal(jcs_serialize(v, &out, &len), 0);
		if (strcmp(out, fld[1]) != 0 && bad++ < SHOW_MAX)
			print_error("%s: got %s, node says %s\n", fld[0], out, fld[1]);
		free(out);
		json_decref(v);
		/* The same integer as JSON text is read as the nearest double. */
		out = canon_text(fld[0], strlen(fld[0]), &len);
		if (strcmp(out, fld[1]) != 0 && bad++ < SHOW_MAX)
			print_error("text %s: got %s, node says %s\n", fld[0], out, fld[1]);
		free(out);
		n++;
	}
	free(line);
	fclose(f);
	assert_int_equal(bad, 0);
	assert_int_equal(n, 1521);
}

/* objects.txt: messy JSON text and node's canonical form, line by line. */
static void
test_node_objects(void **state)
{
	FILE *f = data_open("objects.txt");
	char *in = NULL, *want = NULL, *out;
	size_t incap = 0, wantcap = 0, outlen, n = 0, bad = 0;
	ssize_t a, b;

	(void)state;

	while ((a = getline(&in, &incap, f)) > 0 && (b = getline(&want, &wantcap, f)) > 0) {
		assert_true(in[a - 1] == '\n' && want[b - 1] == '\n');
		in[--a] = '\0';
		want[--b] = '\0';
		out = canon_text(in, (size_t)a, &outlen);
		if ((outlen != (size_t)b || memcmp(out, want, outlen) != 0) && bad++ < SHOW_MAX)
			print_error("object %zu:\n got  %s\n want %s\n", n, out, want);
		free(out);
		n++;
	}
	free(in);
	free(want);
	fclose(f);
	assert_int_equal(bad, 0);
	assert_int_equal(n, 400);
}

/* ---- jcs_is_canonical() against jcs_canonicalize_text() --------------------- */

/* What jcs_is_canonical() must say: the text comes back from canonicalisation unchanged. */
static int
comes_back(const char *text, size_t len)
{
	char *out = NULL;
	size_t outlen = 0;
	int same;

	if (jcs_canonicalize_text(text, len, &out, &outlen) != 0)
		return 0;
	same = outlen == len && memcmp(out, text, len) == 0;
	free(out);
	return same;
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * in with one byte replaced, inserted or deleted, into out (room for len + 1
 * bytes), the byte drawn from those the grammar and the escapes turn on.
 */
static size_t
mutate(const char *in, size_t len, char *out, uint64_t *rng)
{
	static const char bytes[] =
	    "\"\\{}[],:0123456789-+.eEtrufalsnbu0 \x01\x1f\x7f\xc3\xa9\xf0\x9f\xed\xef";
	uint64_t r = rng_next(rng);
	size_t at = len > 0 ? (size_t)(r % len) : 0, n = len;
	char c = bytes[(r >> 32) % (sizeof(bytes) - 1)];

	memcpy(out, in, len);
	switch ((r >> 48) % 3) {
	case 0:
		if (len > 0)
			out[at] = c;
		break;
	case 1:
		memmove(out + at + 1, out + at, len - at);
		out[at] = c;
		n++;
		break;
	default:
		if (len > 0) {
			memmove(out + at, out + at + 1, len - at - 1);
			n--;
		}
		break;
	}
	return n;
}

/* Both say the same of text, and of 100 mutants of it; counts what they said. */
static void
agree_with_mutants(const char *text, size_t len, uint64_t *rng, size_t yes_no[2])
{
	char *m = malloc(len + 2);
	size_t i, n;
	int want;

	assert_non_null(m);
	for (i = 0; i <= 100; i++) {
		n = i == 0 ? len : mutate(text, len, m, rng);
		if (i == 0)
			memcpy(m, text, len);
		want = comes_back(m, n);
		if (jcs_is_canonical(m, n, NULL, 0) != want)
			fail_msg("jcs_is_canonical says %d, canonicalisation %d, of: %.*s", !want,
			    want, (int)n, m);
		yes_no[!want]++;
	}
	free(m);
}

/*
 * The fast check agrees with parsing and writing again: on objects.txt's
 * messy inputs and their canonical forms, the RFC's examples, and mutants
 * of each (a byte replaced, inserted or deleted).
 */
static void
test_is_canonical(void **state)
{
	static const char *const pairs[] = {"rfc8785-3.2.2-input.json", "rfc8785-3.2.2-output.json",
	    "cyberphone/input/arrays.json", "cyberphone/output/arrays.json",
	    "cyberphone/output/french.json", "cyberphone/output/structures.json",
	    "cyberphone/output/unicode.json", "cyberphone/output/values.json",
	    "cyberphone/output/weird.json"};
	FILE *f = data_open("objects.txt");
	char *line = NULL, *text;
	size_t cap = 0, yes_no[2] = {0, 0}, i, len;
	uint64_t rng = 42;
	ssize_t n;

	(void)state;
	while ((n = getline(&line, &cap, f)) > 0) {
		assert_true(line[n - 1] == '\n');
		agree_with_mutants(line, (size_t)n - 1, &rng, yes_no);
	}
	free(line);
	fclose(f);
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		text = data_read(pairs[i], &len);
		while (len > 0 && text[len - 1] == '\n')
			len--;
		agree_with_mutants(text, len, &rng, yes_no);
		free(text);
	}
	/* Both answers came up often: the mutants test the check, not only the parser. */
	assert_true(yes_no[0] > 5000);
	assert_true(yes_no[1] > 50000);
}

/* Numbers: every text of numbers.txt is canonical, and common other spellings are not. */
static void
test_is_canonical_numbers(void **state)
{
	static const char *const no[] = {"-0", "1.0", "1e5", "1E+21", "01", "1.", ".5", "+1",
	    "0.10", "1e400", "9007199254740993", "1e-7", "100000000000000000000000", "-"};
	static const char *const yes[] = {"0", "-1", "1e+21", "1e-7", "123456789012345",
	    "9007199254740992", "5e-324", "0.1", "-1.5"};
	FILE *f = data_open("numbers.txt");
	char *line = NULL, *field[3];
	size_t cap = 0, count = 0, i;

	(void)state;
	while (getline(&line, &cap, f) > 0) {
		if (split_fields(line, field, 3) < 2)
			continue;
		if (!jcs_is_canonical(field[1], strlen(field[1]), NULL, 0))
			fail_msg("numbers.txt: %s is canonical", field[1]);
		count++;
	}
	free(line);
	fclose(f);
	assert_true(count > 20000);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_int_equal(jcs_is_canonical(no[i], strlen(no[i]), NULL, 0),
		    comes_back(no[i], strlen(no[i])));
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_int_equal(jcs_is_canonical(yes[i], strlen(yes[i]), NULL, 0), 1);
		assert_int_equal(comes_back(yes[i], strlen(yes[i])), 1);
	}
	assert_int_equal(jcs_is_canonical("1.0", 3, NULL, 0), 0);
	assert_int_equal(jcs_is_canonical("-0", 2, NULL, 0), 0);
}

/* Strings: each escape JCS writes, and the spellings it does not. */
static void
test_is_canonical_strings(void **state)
{
	static const char *const texts[] = {"\"\\u000d\"", "\"\\u000a\"", "\"\\u0008\"",
	    "\"\\u0009\"", "\"\\u000c\"", "\"\\u001F\"", "\"\\u001f\"", "\"\\u0000\"",
	    "\"\\u0020\"", "\"\\u0022\"", "\"\\u005c\"", "\"\\/\"", "\"/\"", "\"\\u00e9\"",
	    "\"\xc3\xa9\"", "\"\\r\"", "\"\\b\\t\\n\\f\\r\\\"\\\\\"", "\"\x7f\"", "\"\x01\"",
	    "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"", "\"\xed\xa0\x80\"", "\"\xc0\xaf\"",
	    "\"\\u01\"", "\"\\\"", "{\"b\":1,\"a\":2}", "{\"a\":1,\"b\":2}", "{\"a\":1,\"a\":2}",
	    "{\"\\n\":1,\"\\r\":2}", "{\"\xef\xbc\xa1\":1,\"\xf0\x9f\x98\x80\":2}",
	    "{\"\xf0\x9f\x98\x80\":1,\"\xef\xbc\xa1\":2}"};
	size_t i, yes = 0;
	int want;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		want = comes_back(texts[i], strlen(texts[i]));
		if (jcs_is_canonical(texts[i], strlen(texts[i]), NULL, 0) != want)
			fail_msg("%s: jcs_is_canonical says %d, canonicalisation %d", texts[i],
			    !want, want);
		yes += (size_t)want;
	}
	assert_int_equal(yes, 11);
}

/* A shape: exactly its members, in order, of their types; and the depth limit. */
static void
test_is_canonical_shape(void **state)
{
	static const struct jcs_member_type ev[] = {{"action", 's'}, {"actor", 's'},
	    {"details", 'o'}, {"seq", 'n'}, {"subject", 's'}, {"time", 's'}};
	static const char *const no[] = {
	    "{\"action\":\"a\",\"actor\":\"b\",\"details\":{},\"seq\":1,\"subject\":\"c\"}",
	    "{\"action\":\"a\",\"actor\":\"b\",\"details\":{},\"seq\":1,\"subject\":\"c\","
	    "\"time\":\"t\",\"zz\":1}",
	    "{\"action\":\"a\",\"actor\":\"b\",\"details\":\"d\",\"seq\":1,\"subject\":\"c\","
	    "\"time\":\"t\"}",
	    "{\"action\":\"a\",\"actor\":\"b\",\"details\":{},\"seq\":\"1\",\"subject\":\"c\","
	    "\"time\":\"t\"}",
	    "{\"action\":\"a\",\"actor\":\"b\",\"detail\":{},\"seq\":1,\"subject\":\"c\","
	    "\"time\":\"t\"}",
	    "[\"action\"]", "{}"};
	const char *good = "{\"action\":\"a\",\"actor\":\"b\",\"details\":{\"x\":[1,{}]},\"seq\":1,"
	                   "\"subject\":\"c\",\"time\":\"t\"}";
	char deep[2 * (JCS_DEPTH_MAX + 1) + 1];
	size_t i;

	(void)state;
	assert_int_equal(jcs_is_canonical(good, strlen(good), ev, 6), 1);
	assert_int_equal(jcs_is_canonical(good, strlen(good), ev, 5), 0);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_int_equal(jcs_is_canonical(no[i], strlen(no[i]), ev, 6), 0);
		assert_int_equal(jcs_is_canonical(no[i], strlen(no[i]), NULL, 0),
		    comes_back(no[i], strlen(no[i])));
	}
	for (i = 0; i < JCS_DEPTH_MAX + 1; i++) {
		deep[i] = '[';
		deep[2 * (JCS_DEPTH_MAX + 1) - 1 - i] = ']';
	}
	deep[2 * (JCS_DEPTH_MAX + 1)] = '\0';
	assert_int_equal(jcs_is_canonical(deep, strlen(deep), NULL, 0), 0);
	assert_int_equal(comes_back(deep, strlen(deep)), 0);
	assert_int_equal(jcs_is_canonical(deep + 1, strlen(deep) - 2, NULL, 0), 1);
	assert_int_equal(comes_back(deep + 1, strlen(deep) - 2), 1);
	/* A member name holding U+0000, which jansson refuses, is not canonical either. */
	assert_int_equal(jcs_is_canonical("{\"\\u0000\":1}", 12, NULL, 0), 0);
	assert_int_equal(jcs_is_canonical("[\"\\u0000\"]", 10, NULL, 0), 1);
}

/* ---- edges ---------------------------------------------------------------- */

/* Serialize v (consumed), expecting success and exactly want. */
static void
expect_canon(json_t *v, const char *want, size_t wantlen)
{
	char *out = NULL;
	size_t len;
	int r;

	assert_non_null(v);
	if ((r = jcs_serialize(v, &out, &len)) != 0)
		fail_msg("%s", sl_err_msg(r));
	assert_int_equal(len, wantlen);
	assert_memory_equal(out, want, wantlen);
	assert_int_equal(out[len], '\0');
	free(out);
	json_decref(v);
}

/* Serialize v (consumed), expecting code and a message containing msg. */
static void
expect_fail(json_t *v, int code, const char *msg)
{
	char *out = (char *)"untouched";
	size_t len = 12345;

	assert_non_null(v);
	sl_err_clear();
	assert_int_equal(jcs_serialize(v, &out, &len), code);
	assert_string_equal(out, "untouched");
	assert_int_equal(len, 12345);
	if (strstr(sl_err_msg(code), msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", sl_err_msg(code), msg);
	json_decref(v);
}

/* Only '"', '\\' and U+0000..U+001F are escaped; \b \t \n \f \r by name. */
static void
test_string_escapes(void **state)
{
	static const char want[] =
	    "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
	    "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
	    "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
	    "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
	    " !\\\"#\\\\/\x7f\xc2\x80\xe2\x80\xa8\xef\xbf\xbf\xf4\x8f\xbf\xbf\"";
	char s[64];
	size_t n = 0;
	int c;

	(void)state;

	for (c = 0; c < 0x20; c++)
		s[n++] = (char)c;
	memcpy(s + n, " !\"#\\/\x7f\xc2\x80\xe2\x80\xa8\xef\xbf\xbf\xf4\x8f\xbf\xbf", 19);
	n += 19;
	expect_canon(json_stringn(s, n), want, sizeof(want) - 1);
	expect_canon(json_string(""), "\"\"", 2);
}

/* Members sorted by UTF-16 code units, not bytes or code points. */
static void
test_member_order(void **state)
{
	/* U+D7FF < U+10000 (d800 dc00) < U+E000 < U+FFFF in UTF-16. */
	static const char want[] =
	    "{\"\":0,\"\xed\x9f\xbf\":1,\"\xf0\x90\x80\x80\":2,"
	    "\"\xee\x80\x80\":3,\"\xef\xbf\xbf\":4,\"\xef\xbf\xbf\xf0\x90\x80\x80\":5}";
	json_t *o = json_object();

	(void)state;

	assert_non_null(o);
	assert_int_equal(
	    json_object_set_new(o, "\xef\xbf\xbf\xf0\x90\x80\x80", json_integer(5)), 0);
	assert_int_equal(json_object_set_new(o, "\xef\xbf\xbf", json_integer(4)), 0);
	assert_int_equal(json_object_set_new(o, "\xee\x80\x80", json_integer(3)), 0);
	assert_int_equal(json_object_set_new(o, "\xf0\x90\x80\x80", json_integer(2)), 0);
	assert_int_equal(json_object_set_new(o, "\xed\x9f\xbf", json_integer(1)), 0);
	assert_int_equal(json_object_set_new(o, "", json_integer(0)), 0);
	expect_canon(o, want, sizeof(want) - 1);
#if JANSSON_VERSION_HEX >= 0x020e00
	/* A name holding U+0000 (settable since jansson 2.14) sorts and escapes like any other. */
	o = json_object();
	assert_non_null(o);
	assert_int_equal(json_object_setn_new(o, "a\0b", 3, json_integer(2)), 0);
	assert_int_equal(json_object_setn_new(o, "a", 1, json_integer(1)), 0);
	assert_int_equal(json_object_setn_new(o, "\0", 1, json_integer(0)), 0);
	expect_canon(o, "{\"\\u0000\":0,\"a\":1,\"a\\u0000b\":2}",
	    strlen("{\"\\u0000\":0,\"a\":1,\"a\\u0000b\":2}"));
#endif
}

/* Integers: exact to 2^53, then the nearest double; reals that are integers lose ".0". */
static void
test_numbers_misc(void **state)
{
	char out[JCS_NUMBER_BYTES];
	size_t len;

	(void)state;

	expect_canon(
	    json_pack("[I,I,I,I,f,f,f,f]", (json_int_t)9007199254740993LL, (json_int_t)INT64_MIN,
	        (json_int_t)-9007199254740992LL, (json_int_t)0, 56.0, -0.0, 1e21, 1e-7),
	    "[9007199254740992,-9223372036854776000,-9007199254740992,0,56,0,1e+21,1e-7]",
	    strlen("[9007199254740992,-9223372036854776000,-9007199254740992,0,56,0,1e+21,1e-7]"));
	assert_int_equal(jcs_number_format(-0.0000012345678901234567, out, &len), 0);
	assert_string_equal(out, "-0.0000012345678901234567");
	assert_int_equal(len, 25);
	assert_int_equal(jcs_number_format(NAN, out, NULL), SL_ERR_INVAL);
	assert_string_equal(out, "");
	assert_int_equal(jcs_number_format(INFINITY, out, NULL), SL_ERR_INVAL);
	assert_int_equal(jcs_number_format(-INFINITY, out, NULL), SL_ERR_INVAL);
	/* jansson itself refuses to hold them, so a json_t never carries one. */
	assert_null(json_real(NAN));
	assert_null(json_real(INFINITY));
}

struct utf8_case {
	const char *bytes;
	size_t len;
	int valid;
};

/* RFC 3629 strictly, in strings and in member names, with the path in the message. */
static void
test_utf8(void **state)
{
	static const struct utf8_case cases[] = {
	    {"\xc2\x80", 2, 1},                 /* U+0080 */
	    {"\xdf\xbf", 2, 1},                 /* U+07FF */
	    {"\xe0\xa0\x80", 3, 1},             /* U+0800 */
	    {"\xed\x9f\xbf", 3, 1},             /* U+D7FF */
	    {"\xee\x80\x80", 3, 1},             /* U+E000 */
	    {"\xef\xbf\xbf", 3, 1},             /* U+FFFF */
	    {"\xf0\x90\x80\x80", 4, 1},         /* U+10000 */
	    {"\xf4\x8f\xbf\xbf", 4, 1},         /* U+10FFFF */
	    {"\x80", 1, 0},                     /* lone continuation */
	    {"\xbf", 1, 0},                     /* lone continuation */
	    {"\xc0\x80", 2, 0},                 /* overlong U+0000 */
	    {"\xc1\xbf", 2, 0},                 /* overlong U+007F */
	    {"\xe0\x9f\xbf", 3, 0},             /* overlong U+07FF */
	    {"\xf0\x8f\xbf\xbf", 4, 0},         /* overlong U+FFFF */
	    {"\xed\xa0\x80", 3, 0},             /* surrogate U+D800 */
	    {"\xed\xbf\xbf", 3, 0},             /* surrogate U+DFFF */
	    {"\xed\xa0\xbd\xed\xb8\x80", 6, 0}, /* CESU-8 pair */
	    {"\xf4\x90\x80\x80", 4, 0},         /* U+110000 */
	    {"\xf5\x80\x80\x80", 4, 0},         /* lead byte past F4 */
	    {"\xff", 1, 0},                     /* never in UTF-8 */
	    {"\xe2\x82", 2, 0},                 /* cut short */
	    {"\xf0\x9f\x98", 3, 0},             /* cut short */
	    {"\xc3\x28", 2, 0},                 /* bad continuation */
	};
	size_t i;

	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct utf8_case *c = &cases[i];
		char *s, *want;
		json_t *v, *o;

		/* The bytes inside a string value, two levels down. */
		s = xprintf("x%.*s", (int)c->len, c->bytes);
		v = json_stringn_nocheck(s, c->len + 1);
		assert_non_null(o = json_pack("{s:[i,o]}", "details", 1, v));
		if (c->valid) {
			want = xprintf("{\"details\":[1,\"%s\"]}", s);
			expect_canon(o, want, strlen(want));
			free(want);
		} else {
			expect_fail(o, SL_ERR_INVAL,
			    "jcs: $.details[1]: string is not valid UTF-8 (byte 0x");
		}
		/* The bytes inside a member name. */
		assert_non_null(o = json_object());
		assert_int_equal(json_object_set_new_nocheck(o, "a", json_true()), 0);
		assert_int_equal(json_object_set_new_nocheck(o, s, json_null()), 0);
		assert_non_null(o = json_pack("{s:o}", "k", o));
		if (c->valid) {
			want = xprintf("{\"k\":{\"a\":true,\"%s\":null}}", s);
			expect_canon(o, want, strlen(want));
			free(want);
		} else {
			expect_fail(o, SL_ERR_INVAL, "jcs: $.k[\"x\\x");
			assert_non_null(
			    strstr(sl_err_msg(SL_ERR_INVAL), "member name is not valid UTF-8"));
		}
		free(s);
	}
}

/* Nesting: JCS_DEPTH_MAX levels pass, one more is SL_ERR_LIMIT, from values and from text. */
static void
test_depth(void **state)
{
	char *text, *out;
	size_t i, len, deep = 3000;
	json_t *v;
	int d;

	(void)state;

	for (d = JCS_DEPTH_MAX; d <= JCS_DEPTH_MAX + 1; d++) {
		v = json_array();
		for (i = 1; i < (size_t)d; i++)
			v = (i % 2) ? json_pack("{s:o}", "a", v) : json_pack("[o]", v);
		assert_non_null(v);
		if (d == JCS_DEPTH_MAX) {
			assert_int_equal(jcs_serialize(v, &out, &len), 0);
			assert_int_equal(
			    len, 2 + 6 * (JCS_DEPTH_MAX / 2) + 2 * (JCS_DEPTH_MAX / 2 - 1));
			free(out);
			json_decref(v);
		} else {
			expect_fail(v, SL_ERR_LIMIT, "jcs: $[0].a[0].a[0]");
			assert_non_null(strstr(sl_err_msg(SL_ERR_LIMIT), "nested deeper than 64"));
		}
	}
	/* Text: 65 levels reach the serializer's limit, 3000 jansson's own. */
	text = malloc(2 * deep);
	assert_non_null(text);
	for (d = JCS_DEPTH_MAX; d <= JCS_DEPTH_MAX + 1; d++) {
		memset(text, '[', (size_t)d);
		memset(text + d, ']', (size_t)d);
		sl_err_clear();
		assert_int_equal(jcs_canonicalize_text(text, 2 * (size_t)d, &out, &len),
		    d == JCS_DEPTH_MAX ? 0 : SL_ERR_LIMIT);
		if (d == JCS_DEPTH_MAX)
			free(out);
		else
			assert_non_null(strstr(sl_err_msg(SL_ERR_LIMIT), "nested deeper than 64"));
	}
	memset(text, '[', deep);
	memset(text + deep, ']', deep);
	assert_int_equal(jcs_canonicalize_text(text, 2 * deep, &out, &len), SL_ERR_LIMIT);
	free(text);
}

struct bad_text {
	const char *text;
	int code;
	const char *msg; /* part of the message: the position, then jansson's words */
};

/* Malformed text is SL_ERR_PARSE with line:column; out stays untouched. */
static void
test_parse_errors(void **state)
{
	static const struct bad_text cases[] = {
	    {"{\"a\":1,\n \"b\":}", SL_ERR_PARSE, "2:6: unexpected token"},
	    {"{\"a\":1,\"a\":2}", SL_ERR_PARSE, "1:10: duplicate object key"},
	    {"{\"x\":{\"k\":1,\n\n  \"k\":[]}}", SL_ERR_PARSE, "3:5: duplicate object key"},
	    {"[1,2", SL_ERR_PARSE, "1:4: ']' expected"},
	    {"", SL_ERR_PARSE, "1:0: unexpected token"},
	    {"[1] x", SL_ERR_PARSE, "1:5: end of file expected"},
	    {"[NaN]", SL_ERR_PARSE, "1:4: invalid token near 'NaN'"},
	    {"[1e400]", SL_ERR_PARSE, "1:6: real number overflow"},
	    {"\"\xc0\x80\"", SL_ERR_PARSE, "1:1: unable to decode byte 0xc0"},
	    {"\"\\ud800\"", SL_ERR_PARSE, "1:8: invalid Unicode '\\uD800'"},
	    {"{\"a\\u0000b\":1}", SL_ERR_PARSE, "1:11: NUL byte in object key"},
	    {"[01]", SL_ERR_PARSE, "1:2: invalid token"},
	    {"{'a':1}", SL_ERR_PARSE, "1:2: string or '}' expected"},
	};
	size_t i, len = 7;
	char *out;

	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = (char *)"untouched";
		sl_err_clear();
		assert_int_equal(
		    jcs_canonicalize_text(cases[i].text, strlen(cases[i].text), &out, &len),
		    cases[i].code);
		assert_string_equal(out, "untouched");
		assert_int_equal(len, 7);
		if (strstr(sl_err_msg(cases[i].code), cases[i].msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].text,
			    sl_err_msg(cases[i].code), cases[i].msg);
	}
	/* Not text at all. */
	assert_int_equal(jcs_canonicalize_text(NULL, 0, &out, &len), SL_ERR_INVAL);
	/* The length bounds the text: no NUL needed, none read past. */
	out = canon_text("[1,2]]]]", 5, &len);
	assert_string_equal(out, "[1,2]");
	free(out);
	/* Any value may be at the top; "\u0000" in a string is kept. */
	out = canon_text(" \"a\\u0000\" ", 11, &len);
	assert_string_equal(out, "\"a\\u0000\"");
	free(out);
}

/* The reusable buffer: appends concatenate, failures leave it as it was. */
static void
test_buf(void **state)
{
	struct jcs_buf *b = NULL;
	json_t *good, *bad;
	size_t i;

	(void)state;

	assert_int_equal(jcs_buf_new(&b), 0);
	assert_string_equal(jcs_buf_data(b), "");
	assert_int_equal(jcs_buf_len(b), 0);
	assert_non_null(good = json_pack("{s:i,s:[b,n]}", "z", 1, "a", 1));
	assert_non_null(bad = json_pack("[s,o]", "ok", json_stringn_nocheck("\xff", 1)));
	assert_int_equal(jcs_buf_append(b, good), 0);
	assert_int_equal(jcs_buf_append(b, good), 0);
	assert_string_equal(
	    jcs_buf_data(b), "{\"a\":[true,null],\"z\":1}{\"a\":[true,null],\"z\":1}");
	assert_int_equal(jcs_buf_append(b, bad), SL_ERR_INVAL);
	assert_int_equal(jcs_buf_append(b, NULL), SL_ERR_INVAL);
	assert_string_equal(
	    jcs_buf_data(b), "{\"a\":[true,null],\"z\":1}{\"a\":[true,null],\"z\":1}");
	assert_int_equal(jcs_buf_len(b), 46);
	jcs_buf_reset(b);
	assert_string_equal(jcs_buf_data(b), "");
	assert_int_equal(jcs_buf_len(b), 0);
	/* Many values: the buffer grows, the contents stay whole. */
	for (i = 0; i < 1000; i++)
		assert_int_equal(jcs_buf_append(b, good), 0);
	assert_int_equal(jcs_buf_len(b), 23000);
	for (i = 0; i < 1000; i++)
		assert_memory_equal(jcs_buf_data(b) + 23 * i, "{\"a\":[true,null],\"z\":1}", 23);
	json_decref(good);
	json_decref(bad);
	jcs_buf_free(b);
	jcs_buf_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc_appendix_b),
	    cmocka_unit_test(test_rfc_example),
	    cmocka_unit_test(test_rfc_sort_order),
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_node_numbers),
	    cmocka_unit_test(test_node_integers),
	    cmocka_unit_test(test_node_objects),
	    cmocka_unit_test(test_string_escapes),
	    cmocka_unit_test(test_member_order),
	    cmocka_unit_test(test_numbers_misc),
	    cmocka_unit_test(test_is_canonical),
	    cmocka_unit_test(test_is_canonical_numbers),
	    cmocka_unit_test(test_is_canonical_strings),
	    cmocka_unit_test(test_is_canonical_shape),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_buf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
