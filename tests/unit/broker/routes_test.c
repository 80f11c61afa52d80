/*
 * tests/unit/broker/routes_test.c -- the HTTPS API's route table: matching
 * a method and path (parameters, refused characters and dot segments, 404
 * against 405), body checks (unknown, missing and mistyped fields), the
 * role bits, the error document, and the table's own consistency.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker/routes.h"

static const struct route *
match(const char *method, const char *path, char *param, int *known)
{
	return route_match(method, path, param, known);
}

static void
test_match(void **state)
{
	char param[ROUTE_PARAM_MAX + 1];
	const struct route *rt;
	int known;

	(void)state;
	rt = match("GET", "/v1/products", param, &known);
	assert_non_null(rt);
	assert_string_equal(rt->path, "/v1/products");
	assert_string_equal(param, "");

	rt = match("GET", "/v1/products/claims", param, &known);
	assert_non_null(rt);
	assert_string_equal(rt->path, "/v1/products/{name}");
	assert_string_equal(param, "claims");

	rt = match("POST", "/v1/contracts/c_12ab/revoke", param, &known);
	assert_non_null(rt);
	assert_string_equal(rt->path, "/v1/contracts/{id}/revoke");
	assert_string_equal(param, "c_12ab");

	/* The path exists, the method does not: 405, not 404. */
	assert_null(match("DELETE", "/v1/products", param, &known));
	assert_int_equal(known, 1);
	assert_null(match("POST", "/v1/queries/q_1", param, &known));
	assert_int_equal(known, 1);
	assert_string_equal(param, "");

	/* The console's files: one segment, never a path into the API or a hidden name. */
	rt = match("GET", "/app.js", param, &known);
	assert_non_null(rt);
	assert_string_equal(rt->path, "/{file}");
	assert_int_equal(rt->roles, ROUTE_PUBLIC);
	assert_string_equal(match("GET", "/v1/session", param, &known)->path, "/v1/session");
	assert_null(match("GET", "/../sluice.db", param, &known));
	assert_null(match("GET", "/web/app.js", param, &known));
	assert_null(match("GET", "/%2e%2e", param, &known));

	assert_null(match("GET", "/v1/nothing", param, &known));
	assert_int_equal(known, 0);
	assert_null(match("GET", "/v1/products/", param, &known));
	assert_null(match("GET", "/v1/products/claims/", param, &known));
	assert_null(match("GET", "/v1/products/claims/x", param, &known));
	assert_null(match("GET", "/v1/Products", param, &known));
	assert_null(match("GET", "v1/products", param, &known));
}

static void
test_params_refused(void **state)
{
	static const char *const bad[] = {"/v1/products/a%2fb", "/v1/products/a b",
	    "/v1/products/..", "/v1/products/.", "/v1/products/a\"b", "/v1/products/a\\b",
	    "/v1/products/\xc3\xa9", "/v1/contracts/../revoke"};
	char param[ROUTE_PARAM_MAX + 1], path[ROUTE_PARAM_MAX + 64];
	int known;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_null(match("GET", bad[i], param, &known));
		assert_null(match("POST", bad[i], param, &known));
		assert_string_equal(param, "");
	}
	/* "..." is a name like any other, and the longest one fits exactly. */
	assert_non_null(match("GET", "/v1/products/...", param, &known));
	strcpy(path, "/v1/products/");
	memset(path + strlen(path), 'a', ROUTE_PARAM_MAX);
	path[strlen("/v1/products/") + ROUTE_PARAM_MAX] = '\0';
	assert_non_null(match("GET", path, param, &known));
	assert_int_equal(strlen(param), ROUTE_PARAM_MAX);
	strcat(path, "a");
	assert_null(match("GET", path, param, &known));
}

static const struct route *
route_named(const char *method, const char *path)
{
	const struct route *rt;

	for (rt = routes; rt->method != NULL; rt++)
		if (strcmp(rt->method, method) == 0 && strcmp(rt->path, path) == 0)
			return rt;
	fail_msg("no route %s %s", method, path);
	return NULL;
}

static int
body_check(const char *json, struct route_call *c)
{
	const struct route *rt = route_named("POST", "/v1/queries");
	json_t *b = json_loads(json, JSON_DECODE_ANY, NULL);
	int r;

	assert_non_null(b);
	memset(c, 0, sizeof *c);
	r = route_body_check(rt, c, b);
	json_decref(b);
	return r;
}

static const char *
error_member(const struct route_call *c, const char *key)
{
	return json_string_value(json_object_get(json_object_get(c->doc, "error"), key));
}

static void
test_body(void **state)
{
	struct route_call c;

	(void)state;
	assert_int_equal(body_check("{\"contract\": \"c_1\", \"sql\": \"SELECT 1\"}", &c), 0);
	assert_null(c.doc);

	assert_int_not_equal(body_check("{\"contract\": \"c_1\"}", &c), 0);
	assert_int_equal(c.status, 400);
	assert_string_equal(error_member(&c, "field"), "sql");
	json_decref(c.doc);

	assert_int_not_equal(
	    body_check("{\"contract\": \"c_1\", \"sql\": \"x\", \"as\": \"b\"}", &c), 0);
	assert_string_equal(error_member(&c, "field"), "as");
	assert_string_equal(error_member(&c, "code"), "inval");
	json_decref(c.doc);

	assert_int_not_equal(body_check("{\"contract\": 7, \"sql\": \"x\"}", &c), 0);
	assert_string_equal(error_member(&c, "field"), "contract");
	json_decref(c.doc);

	assert_int_not_equal(body_check("{\"contract\": null, \"sql\": \"x\"}", &c), 0);
	json_decref(c.doc);
	assert_int_not_equal(body_check("[\"contract\"]", &c), 0);
	assert_string_equal(error_member(&c, "code"), "parse");
	json_decref(c.doc);
	assert_int_not_equal(body_check("\"x\"", &c), 0);
	json_decref(c.doc);
}

static void
test_error_document(void **state)
{
	struct route_call c;

	(void)state;
	memset(&c, 0, sizeof c);
	route_error(&c, 404, "notfound", NULL, json_pack("{s:s}", "query_id", "q_1"), "no %s", "x");
	assert_int_equal(c.status, 404);
	assert_string_equal(c.refusal, "notfound");
	assert_string_equal(error_member(&c, "message"), "no x");
	assert_string_equal(error_member(&c, "query_id"), "q_1");
	assert_null(json_object_get(json_object_get(c.doc, "error"), "field"));
	/* A second error replaces the first. */
	route_error(&c, 400, "inval", "sql", NULL, "bad");
	assert_int_equal(c.status, 400);
	assert_string_equal(error_member(&c, "field"), "sql");
	json_decref(c.doc);
}

static void
test_roles(void **state)
{
	(void)state;
	assert_int_equal(route_role_bit("platform"), ROLE_PLATFORM);
	assert_int_equal(route_role_bit("buyer"), ROLE_BUYER);
	assert_int_equal(route_role_bit("auditor"), ROLE_AUDITOR);
	assert_int_equal(route_role_bit("Buyer"), 0);
	assert_int_equal(route_role_bit(""), 0);
	assert_int_equal(route_role_bit("root"), 0);
	/* The rules that are the point of the table. */
	assert_int_equal(route_named("POST", "/v1/queries")->roles, ROLE_BUYER);
	assert_int_equal(route_named("POST", "/v1/contracts/{id}/revoke")->roles & ROLE_AUDITOR, 0);
	assert_int_equal(
	    route_named("GET", "/v1/audit/export")->roles, ROLE_PLATFORM | ROLE_AUDITOR);
	assert_int_equal(route_named("GET", "/metrics")->roles, ROLE_PLATFORM | ROLE_AUDITOR);
}

/* Every route: a method, a path with at most one parameter, roles, a handler; a body route names its fields. */
static void
test_table(void **state)
{
	const struct route *rt, *o;

	(void)state;
	for (rt = routes; rt->method != NULL; rt++) {
		const char *open = strchr(rt->path, '{');

		assert_true(strcmp(rt->method, "GET") == 0 || strcmp(rt->method, "POST") == 0);
		assert_true(rt->path[0] == '/');
		assert_true(open == NULL || strchr(open + 1, '{') == NULL);
		assert_int_not_equal(rt->roles, 0);
		if (rt->roles & ROUTE_PUBLIC) {
			/* Public: GET only, no body, and nothing of the API's. */
			assert_int_equal(rt->roles, ROUTE_PUBLIC);
			assert_string_equal(rt->method, "GET");
			assert_int_equal(rt->max_body, 0);
			assert_int_not_equal(strncmp(rt->path, "/v1/", 4), 0);
			assert_int_not_equal(strcmp(rt->path, "/metrics"), 0);
		} else {
			assert_int_equal(rt->roles & ~(unsigned)ROLE_ANY, 0);
		}
		assert_non_null(rt->fn);
		assert_true(rt->fields == NULL || rt->max_body > 0);
		assert_true(strcmp(rt->method, "GET") != 0 || rt->max_body == 0);
		for (o = rt + 1; o->method != NULL; o++)
			assert_false(
			    strcmp(o->method, rt->method) == 0 && strcmp(o->path, rt->path) == 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_params_refused),
	    cmocka_unit_test(test_body),
	    cmocka_unit_test(test_error_document),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
