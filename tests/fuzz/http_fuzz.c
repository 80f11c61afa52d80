/*
 * tests/fuzz/http_fuzz.c -- libFuzzer harness for the request bodies of the
 * HTTPS API (broker/routes.c; docs/openapi.yaml), from the bytes of a POST
 * to its route's handler.
 *
 * Once per process an exchange is made in a temporary directory with the
 * real init code (exchange_create(), enrol_party(): a merchant, a buyer, a
 * holder and an operator), with a product and a contract offered on it.
 *
 * The first input byte picks one of the routes of the real table that take
 * a body; the rest is the body, in a heap copy of exactly its length (no
 * NUL after it), so ASan catches a read past it.  What broker/serve.c's
 * read_body() does with it is done here (it is static and takes an evhttp
 * request): too long is 413; a route without fields gets the bytes raw;
 * else they are parsed as serve.c parses them and checked by the real
 * route_body_check().  Then the route's handler runs, with the caller a
 * party of the route's role, for the routes that need no worker (products,
 * contract offer, submit and revoke); the others (uploads, queries) are
 * checked up to their handler.
 *
 * Every refusal must be a 4xx status (never 5xx: nothing a body holds is
 * the exchange's failure) with {"error": {"code", "message", "field"?}}: a
 * code and a non-empty message, and a field, when named, that is one of
 * the route's fields (or a member of its object fields: "terms...",
 * "schema...") or the path's id.  A body the check passes has only the
 * route's members, each of its documented type, integers at least 0, and
 * every required one.  An accepted call is 200 or 201 with its document:
 * the product of the name sent, the contract of the product sent, the
 * revocation with the reason sent.
 *
 * Build and run (ASan + UBSan): make fuzz, then
 *   tests/fuzz/http_fuzz -max_len=4096 -dict=tests/fuzz/http.dict CORPUS_DIR \
 *       tests/fuzz/corpus/http
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "broker/contracts.h"
#include "broker/db.h"
#include "broker/enrol.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "broker/product.h"
#include "broker/routes.h"
#include "common/err.h"
#include "common/file.h"
#include "contracts/contract.h"
#include "keys/sign.h"
#include "tests/fuzz/check.h"
#include "tests/fuzz/keys_init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROUTES 16

static const char product_schema[] =
    "{\"name\":\"claims\",\"columns\":["
    "{\"name\":\"member_id\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"region\",\"type\":\"TEXT\",\"class\":\"dimension\"},"
    "{\"name\":\"claim_fen\",\"type\":\"INT\",\"class\":\"measure\",\"bounds\":[0,1000000]}]}";

static const char offer_terms[] =
    "{\"purpose\":\"research\",\"valid_from\":\"2026-01-01T00:00:00Z\","
    "\"valid_until\":\"2036-01-01T00:00:00Z\",\"columns\":[\"region\",\"claim_fen\"],"
    "\"aggregates\":[\"COUNT\",\"SUM\"],\"release\":{\"mode\":\"threshold\",\"min_group\":10},"
    "\"query_quota\":100,\"price_fen\":100,\"revenue_shares\":{\"acme\":9000,\"platform\":1000}}";

static const char *const names[] = {"acme", "bob", "city", "ops"};
static const char *const roles[] = {"merchant", "buyer", "holder", "operator"};

static struct {
	char dir[64];
	struct exchange *ex;
	struct party party[4];
	struct keys_pubkey *key[4];
	const struct route *rt[MAX_ROUTES];
	size_t nrt;
	char contract[ROUTE_PARAM_MAX + 1]; /* a contract offered by acme to bob, not revoked */
} S;

static void
cleanup(void)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		keys_pubkey_free(S.key[i]);
		party_clear(&S.party[i]);
	}
	exchange_close(S.ex);
	(void)sl_rmtree(S.dir);
}

/* Offer a contract on claims to bob, by acme: its id into S.contract. */
static void
offer(void)
{
	json_t *terms = json_loads(offer_terms, 0, NULL);
	struct contracts_offer_request req = {"claims", "bob", terms, NULL, NULL};
	struct contract *ct = NULL;
	const char *field = NULL;
	int r;

	CHECK(terms != NULL);
	r = contracts_act_offer(S.ex, S.key[0], &req, &ct, &field);
	if (r != 0)
		fprintf(stderr, "offer: %s (%s)\n", sl_err_msg(r), field != NULL ? field : "-");
	CHECK(r == 0);
	CHECK(strlen(ct->id) <= ROUTE_PARAM_MAX);
	strcpy(S.contract, ct->id);
	contract_free(ct);
	json_decref(terms);
}

static void
setup(void)
{
	struct exchange_created info;
	char dir[96], key[96];
	size_t i;

	fuzz_keys_init();
	/* tmpfs when there is one: SQLite syncs every commit. */
	snprintf(S.dir, sizeof S.dir, "%s/http_fuzz.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	CHECK(mkdtemp(S.dir) != NULL);
	atexit(cleanup);
	snprintf(dir, sizeof dir, "%s/x", S.dir);
	CHECK(exchange_create(dir, KEYS_SUITE_INTL, NULL, &info) == 0);
	CHECK(exchange_open(dir, NULL, &S.ex) == 0);
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof key, "%s/%s.key", S.dir, names[i]);
		CHECK(enrol_party(S.ex, names[i], roles[i], key, NULL) == 0);
		CHECK(party_find(exchange_db(S.ex), names[i], &S.party[i]) == 0);
		CHECK(keys_pubkey_from_der(
		          S.party[i].public_key, S.party[i].public_key_len, &S.key[i]) == 0);
	}
	/*
	 * No holder or operator, as POST /v1/products allows: the contract then
	 * lacks those roles, and reading it once crashed the server (a NULL
	 * party in contracts_act.c's sees()).
	 */
	CHECK(product_add(S.ex, "claims", product_schema, strlen(product_schema), "acme", NULL,
	          NULL, "acme", 0) == 0);
	offer();
	/* The routes that take a body, from the real table. */
	for (i = 0; routes[i].method != NULL; i++)
		if (routes[i].max_body > 0 && S.nrt < MAX_ROUTES)
			S.rt[S.nrt++] = &routes[i];
	CHECK(S.nrt >= 7);
}

/* ---- checks ------------------------------------------------------------------------ */

static int
listed(const char *const *list, const char *name, size_t len)
{
	for (; list != NULL && *list != NULL; list++)
		if (strlen(*list) == len && strncmp(*list, name, len) == 0)
			return 1;
	return 0;
}

/* Whether a refusal's field names something of the request. */
static int
field_ok(const struct route *rt, const char *field, const json_t *body)
{
	size_t n = strcspn(field, ".[");

	if (listed(rt->fields, field, strlen(field)) || strcmp(field, "id") == 0)
		return 1;
	/* A member inside an object field: "terms.columns[0]", "schema.columns". */
	if (field[n] != '\0' && listed(rt->objects, field, n))
		return 1;
	/* An unknown member is named as it was sent. */
	return body != NULL && json_object_get(body, field) != NULL;
}

static void
check_refusal(const struct route *rt, const struct route_call *c, const json_t *body)
{
	json_t *e = json_object_get(c->doc, "error"), *f;
	const char *msg;

	if (c->status < 400 || c->status > 499)
		fprintf(stderr, "%s %s: status %d: %s\n", rt->method, rt->path, c->status,
		    json_string_value(json_object_get(e, "message")));
	CHECK(c->status >= 400 && c->status <= 499);
	CHECK(json_is_object(c->doc) && json_object_size(c->doc) == 1 && json_is_object(e));
	CHECK(json_is_string(json_object_get(e, "code")) && c->refusal != NULL);
	CHECK(strcmp(json_string_value(json_object_get(e, "code")), c->refusal) == 0);
	CHECK((msg = json_string_value(json_object_get(e, "message"))) != NULL && msg[0] != '\0');
	f = json_object_get(e, "field");
	if (f != NULL) {
		CHECK(json_is_string(f));
		if (!field_ok(rt, json_string_value(f), body))
			fprintf(stderr, "%s %s: field \"%s\": %s\n", rt->method, rt->path,
			    json_string_value(f), msg);
		CHECK(field_ok(rt, json_string_value(f), body));
	}
}

/* A body route_body_check() passed: the route's members, of their types, the required ones. */
static void
check_passed(const struct route *rt, const json_t *body)
{
	const char *const *f;
	const char *key;
	json_t *v;

	CHECK(json_is_object(body));
	json_object_foreach((json_t *)body, key, v) {
		CHECK(listed(rt->fields, key, strlen(key)));
		if (listed(rt->integers, key, strlen(key)))
			CHECK(json_is_integer(v) && json_integer_value(v) >= 0);
		else if (listed(rt->objects, key, strlen(key)))
			CHECK(json_is_object(v));
		else
			CHECK(json_is_string(v));
	}
	for (f = rt->required; f != NULL && *f != NULL; f++)
		CHECK(json_object_get(body, *f) != NULL);
}

static void
check_answer(const struct route *rt, const struct route_call *c, const json_t *body)
{
	const char *want;

	CHECK(c->status == 200 || c->status == 201);
	CHECK(json_is_object(c->doc) && json_object_get(c->doc, "error") == NULL);
	if (strcmp(rt->path, "/v1/products") == 0) {
		want = json_string_value(json_object_get(body, "name"));
		CHECK(c->status == 201);
		CHECK(want != NULL &&
		      strcmp(json_string_value(json_object_get(c->doc, "name")), want) == 0);
	} else if (strcmp(rt->path, "/v1/contracts") == 0) {
		CHECK(c->status == 201 && json_is_string(json_object_get(c->doc, "id")));
	} else if (strcmp(rt->path, "/v1/contracts/{id}/revoke") == 0) {
		want = json_string_value(json_object_get(body, "reason"));
		CHECK(json_is_string(json_object_get(c->doc, "reason")));
		CHECK(strcmp(json_string_value(json_object_get(c->doc, "reason")), want) == 0);
		CHECK(strcmp(json_string_value(json_object_get(c->doc, "state")), "revoked") == 0);
	}
}

/* The routes whose handler runs here, and who calls them. */
static int
caller_of(const struct route *rt)
{
	if (strcmp(rt->path, "/v1/products") == 0 || strcmp(rt->path, "/v1/contracts") == 0 ||
	    strcmp(rt->path, "/v1/contracts/{id}/submit") == 0 ||
	    strcmp(rt->path, "/v1/contracts/{id}/revoke") == 0)
		return 0;
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const struct route *rt;
	struct route_call c;
	json_error_t je;
	json_t *body = NULL;
	char *copy;
	size_t n;
	int who;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1)
		return 0;
	rt = S.rt[data[0] % S.nrt];
	n = size - 1;
	if ((copy = malloc(n > 0 ? n : 1)) == NULL)
		return 0;
	if (n > 0)
		memcpy(copy, data + 1, n);
	memset(&c, 0, sizeof c);
	c.ex = S.ex;
	if (strchr(rt->path, '{') != NULL)
		strcpy(c.param, strstr(rt->path, "/contracts/") != NULL ? S.contract : "claims");
	sl_err_clear();
	/* As serve.c's read_body(). */
	if (n > rt->max_body) {
		route_error(&c, 413, "limit", NULL, NULL, "the body is %zu bytes; at most %zu", n,
		    rt->max_body);
		check_refusal(rt, &c, NULL);
		goto out;
	}
	if (rt->fields == NULL) {
		c.raw = copy;
		c.raw_len = n;
	} else {
		body = json_loadb(copy, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
		if (body == NULL)
			goto out;
		c.body = body;
		if (route_body_check(rt, &c, body) != 0) {
			check_refusal(rt, &c, body);
			goto out;
		}
		CHECK(c.doc == NULL && c.status == 0);
		check_passed(rt, body);
	}
	if ((who = caller_of(rt)) < 0)
		goto out;
	c.caller = S.key[who];
	c.party = &S.party[who];
	rt->fn(&c);
	CHECK(c.status != 0);
	if (c.status >= 400)
		check_refusal(rt, &c, body);
	else
		check_answer(rt, &c, body);
	/* A revocation took the contract: offer another for the next input. */
	if (c.status == 200 && strcmp(rt->path, "/v1/contracts/{id}/revoke") == 0)
		offer();
out:
	json_decref(c.doc);
	free(c.text);
	free(c.set_cookie);
	if (c.file != NULL)
		fclose(c.file);
	json_decref(body);
	free(copy);
	return 0;
}
