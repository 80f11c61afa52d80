/*
 * tests/unit/common/schema_test.c -- schema validation: every rule has a
 * failing case whose message names the field path (cases in
 * tests/unit/common/schema/cases.json), and the shipped examples parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/err.h"
#include "common/file.h"
#include "common/schema.h"

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

static void
test_cases(void **state)
{
	char *path = data_path("tests/unit/common/schema/cases.json");
	json_error_t e;
	json_t *cases = json_load_file(path, 0, &e), *c;
	size_t i, bad = 0;

	if (cases == NULL)
		fail_msg("%s:%d: %s", path, e.line, e.text);
	json_array_foreach(cases, i, c)
	{
		const char *why = json_string_value(json_object_get(c, "why"));
		const json_t *want = json_object_get(c, "error");
		char *text = json_dumps(json_object_get(c, "schema"), 0);
		struct schema *s = NULL;
		int r;

		sl_err_clear();
		r = schema_parse(text, strlen(text), &s);
		if (json_is_null(want)) {
			if (r != 0)
				fail_msg("case %zu (%s): refused: %s", i, why, sl_err_msg(r));
			assert_non_null(s);
			schema_free(s);
		} else {
			if (r == 0)
				fail_msg("case %zu (%s): accepted", i, why);
			if (strstr(sl_err_msg(r), json_string_value(want)) == NULL)
				fail_msg("case %zu (%s): message \"%s\" lacks \"%s\"", i, why,
				    sl_err_msg(r), json_string_value(want));
			assert_null(s);
			bad++;
		}
		free(text);
	}
	assert_true(bad >= 30);
	json_decref(cases);
	free(path);
}

static void
test_full_model(void **state)
{
	const char *text =
	    "{\"name\":\"p\",\"columns\":[{\"name\":\"id\",\"type\":\"TEXT\",\"class\":\"unit\"},"
	    "{\"name\":\"amount\",\"type\":\"DECIMAL(12,2)\",\"class\":\"measure\","
	    "\"bounds\":[-5.5,99999.99]},"
	    "{\"name\":\"sex\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"F\",\"M\"],"
	    "\"nullable\":true}]}";
	struct schema *s = NULL;
	const struct schema_column *c;
	char t[32];

	assert_int_equal(schema_parse(text, strlen(text), &s), 0);
	assert_int_equal(s->ncols, 3);
	assert_int_equal(s->unit, 0);
	c = schema_column(s, "amount");
	assert_non_null(c);
	assert_int_equal(c->type, SCHEMA_DECIMAL);
	assert_int_equal(c->lo, -550);
	assert_int_equal(c->hi, 9999999);
	assert_int_equal(c->bounds_mode, SCHEMA_BOUNDS_CLAMP);
	schema_type_name(c, t, sizeof(t));
	assert_string_equal(t, "DECIMAL(12,2)");
	c = schema_column(s, "sex");
	assert_int_equal(c->ndomain, 2);
	assert_string_equal(c->domain_text[1], "M");
	assert_true(c->nullable);
	assert_int_equal(c->bounds_mode, SCHEMA_BOUNDS_REJECT);
	assert_null(schema_column(s, "nope"));
	schema_free(s);
}

static void
test_not_json(void **state)
{
	struct schema *s = NULL;

	sl_err_clear();
	assert_int_equal(schema_parse("{\"name\": \n  oops}", 17, &s), SL_ERR_PARSE);
	assert_non_null(strstr(sl_err_msg(SL_ERR_PARSE), "2:"));
	assert_int_equal(schema_parse("{\"name\":\"a\",\"name\":\"b\"}", 23, &s), SL_ERR_PARSE);
	assert_null(s);
}

static void
test_examples(void **state)
{
	static const char *const files[] = {
	    "examples/claims.schema.json", "examples/imaging.schema.json"};
	size_t i, len;

	for (i = 0; i < 2; i++) {
		char *path = data_path(files[i]);
		uint8_t *data = NULL;
		struct schema *s = NULL;

		assert_int_equal(sl_file_read(path, 1 << 20, &data, &len), 0);
		if (schema_parse((const char *)data, len, &s) != 0)
			fail_msg("%s: %s", path, sl_err_msg(SL_ERR_INVAL));
		assert_true(s->ncols >= 9);
		schema_free(s);
		free(data);
		free(path);
	}
}

/*
 * schema_in_domain(): every member found, every near miss not, with values
 * that share length, first and last byte (one hash slot, a long probe), the
 * empty string, and integers; a domain of 5000 to fill a larger table.
 */
static void
test_in_domain(void **state)
{
	json_t *doc = json_pack("{s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:[s, s, s, s, s, s]},"
	                        " {s:s, s:s, s:s, s:[I, I, I]}, {s:s, s:s, s:s, s:o}]}",
	    "name", "p", "columns", "name", "id", "type", "INT", "class", "unit", "name", "t", "type",
	    "TEXT", "class", "dimension", "domain", "a1b", "a2b", "a3b", "a4b", "", "\xe5\xae\x81",
	    "name", "y", "type", "INT", "class", "dimension", "domain", (json_int_t)2024,
	    (json_int_t)-1, (json_int_t)INT64_MIN, "name", "big", "type", "INT", "class", "dimension",
	    "domain", json_array());
	static const char *const no[] = {"a5b", "a1", "1b", "A1B", "a1b ", "\xe5\xae"};
	struct schema *sc = NULL;
	const struct schema_column *t, *y, *big;
	char *text;
	size_t i;

	(void)state;
	for (i = 0; i < 5000; i++)
		json_array_append_new(
		    json_object_get(json_array_get(json_object_get(doc, "columns"), 3), "domain"),
		    json_integer((json_int_t)(i * 7919)));
	text = json_dumps(doc, 0);
	assert_int_equal(schema_parse(text, strlen(text), &sc), 0);
	t = &sc->cols[1];
	y = &sc->cols[2];
	big = &sc->cols[3];
	for (i = 0; i < t->ndomain; i++)
		assert_true(schema_in_domain(t, t->domain_text[i], t->domain_len[i], 0));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(schema_in_domain(t, no[i], strlen(no[i]), 0));
	assert_true(schema_in_domain(y, NULL, 0, 2024));
	assert_true(schema_in_domain(y, NULL, 0, INT64_MIN));
	assert_false(schema_in_domain(y, NULL, 0, 2025));
	assert_false(schema_in_domain(y, NULL, 0, 0));
	for (i = 0; i < 5000; i++) {
		assert_true(schema_in_domain(big, NULL, 0, (int64_t)(i * 7919)));
		assert_false(schema_in_domain(big, NULL, 0, (int64_t)(i * 7919 + 1)));
	}
	schema_free(sc);
	free(text);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_full_model),
	    cmocka_unit_test(test_not_json),
	    cmocka_unit_test(test_examples),
	    cmocka_unit_test(test_in_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
