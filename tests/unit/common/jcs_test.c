/*
 * tests/unit/common/jcs_test.c -- RFC 8785 canonical JSON.
 *
 * The vectors in tests/unit/common/jcs/ come from ECMAScript itself
 * (gen.js, run with node): RFC 8785 defines number text as
 * Number.prototype.toString and member order as UTF-16 code-unit order.
 * objects.txt starts with the RFC's own sorting example (section 3.2.3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "common/err.h"
#include "common/jcs.h"

static FILE *
open_data(const char *name)
{
	const char *root = getenv("top_srcdir");
	char path[512];
	FILE *f;

	if (root != NULL)
		snprintf(path, sizeof(path), "%s/tests/unit/common/jcs/%s", root, name);
	else
		snprintf(path, sizeof(path), "%s/unit/common/jcs/%s", SL_TEST_DATADIR, name);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: cannot open", path);
	return f;
}

static void
test_numbers(void **state)
{
	FILE *f = open_data("numbers.txt");
	char line[128], *out = NULL;
	size_t n = 0, len;

	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long bits;
		char want[64];
		double x;
		json_t *v;

		if (line[0] == '#')
			continue;
		if (sscanf(line, "%llx %63s", &bits, want) != 2)
			fail_msg("bad line: %s", line);
		memcpy(&x, &bits, sizeof(x));
		v = json_real(x);
		assert_int_equal(jcs_serialize(v, &out, &len), 0);
		if (strcmp(out, want) != 0)
			fail_msg("%016llx: got %s, want %s", bits, out, want);
		free(out);
		json_decref(v);
		n++;
	}
	fclose(f);
	assert_true(n > 10000);
}

static void
test_objects(void **state)
{
	FILE *f = open_data("objects.txt");
	char *in = NULL, *want = NULL, *out = NULL;
	size_t incap = 0, wantcap = 0, n = 0, len;
	ssize_t a, b;
	json_error_t e;

	while ((a = getline(&in, &incap, f)) > 0 && (b = getline(&want, &wantcap, f)) > 0) {
		json_t *v;

		in[a - 1] = '\0';
		want[b - 1] = '\0';
		/* JCS numbers are doubles: read every number as one. */
		if ((v = json_loads(in,
		         JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e)) ==
		    NULL)
			fail_msg("object %zu: %s", n, e.text);
		assert_int_equal(jcs_serialize(v, &out, &len), 0);
		if (strcmp(out, want) != 0)
			fail_msg("object %zu:\n got  %s\n want %s", n, out, want);
		assert_int_equal(len, strlen(want));
		free(out);
		json_decref(v);
		n++;
	}
	free(in);
	free(want);
	fclose(f);
	assert_int_equal(n, 501);
}

static void
test_integers_and_errors(void **state)
{
	json_t *v, *deep;
	char *out = NULL, bad[] = {'a', (char)0xc0, (char)0x80, 0};
	size_t len;
	int i;

	/* Integers are exact up to 2^53 and rounded to a double beyond. */
	v = json_pack("[I, I, I, I]", (json_int_t)9007199254740992LL,
	    (json_int_t)9007199254740993LL, (json_int_t)-9007199254740993LL, (json_int_t)INT64_MAX);
	assert_int_equal(jcs_serialize(v, &out, &len), 0);
	assert_string_equal(
	    out, "[9007199254740992,9007199254740992,-9007199254740992,9223372036854776000]");
	free(out);
	json_decref(v);
	/* Escapes: only '"', '\\' and controls, lowercase hex. */
	v = json_string("\"\\\b\f\n\r\t\x01\x1f/\x7f\xc3\xa9");
	assert_int_equal(jcs_serialize(v, &out, &len), 0);
	assert_string_equal(out, "\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f/\x7f\xc3\xa9\"");
	free(out);
	json_decref(v);
	/* NaN and Infinity have no form; invalid UTF-8 is refused. */
	v = json_real(NAN);
	if (v != NULL) { /* jansson refuses NaN itself */
		assert_int_equal(jcs_serialize(v, &out, &len), SL_ERR_INVAL);
		json_decref(v);
	}
	v = json_stringn_nocheck(bad, 3);
	assert_int_equal(jcs_serialize(v, &out, &len), SL_ERR_INVAL);
	json_decref(v);
	/* Nesting is bounded. */
	deep = json_array();
	for (i = 0; i < 100; i++)
		deep = json_pack("[o]", deep);
	assert_int_equal(jcs_serialize(deep, &out, &len), SL_ERR_LIMIT);
	json_decref(deep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_objects),
	    cmocka_unit_test(test_integers_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
