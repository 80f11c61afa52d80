/*
 * tests/unit/contracts/contract_test.c -- contract documents: the terms
 * rules (tests/unit/contracts/terms_cases.json: one failing case per rule,
 * each message naming the field), the document rules (document_cases.json),
 * the canonical form against documents made outside Sluice
 * (canonical/gen.sh: Python's JCS, openssl's Ed25519 and SM2 signatures),
 * and signing and verifying in both suites: every signed byte matters,
 * member order does not, array order does, and a signature by the wrong key,
 * copied from another contract, or by the platform before the others is
 * refused.
 *
 * Needs no database: links libsl_contracts.a, libsl_keys.a and libsl_common.a.
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
#include "common/jcs.h"
#include "common/schema.h"
#include "common/text.h"
#include "common/fn.h"
#include "contracts/contract.h"
#include "keys/keys.h"
#include "keys/sign.h"

#define NSUITES 2
#define FILE_MAX (1u << 20)

static const char *const party_names[CONTRACT_ROLES] = {
    "city-health-bureau", "ningbo-data-ops", "acme-merchant", "acme-buyer", "platform"};

/* Every role but the platform: what "complete" means. */
#define ALL_BUT_PLATFORM                                                                           \
	((1u << CONTRACT_HOLDER) | (1u << CONTRACT_OPERATOR) | (1u << CONTRACT_MERCHANT) |         \
	    (1u << CONTRACT_BUYER))
#define ALL_ROLES (ALL_BUT_PLATFORM | (1u << CONTRACT_PLATFORM))

/* One suite's parties, and a key that is none of them. */
struct suite_keys {
	enum keys_suite suite;
	struct keys_identity *id[CONTRACT_ROLES];
	struct keys_pubkey *pk[CONTRACT_ROLES];
	struct keys_identity *outsider;
};

static struct {
	json_t *terms_cases;
	json_t *document_cases;
	struct schema *claims;
	time_t now; /* terms_cases.json's "now": inside the base terms' validity */
	struct suite_keys keys[NSUITES];
} fx;

static enum keys_suite suite_intl = KEYS_SUITE_INTL, suite_gm = KEYS_SUITE_GM;

/* ---- helpers ------------------------------------------------------------ */

static char *
data_path(const char *rel)
{
	const char *root = getenv("top_srcdir");
	size_t len = 512;
	char *p = malloc(len);

	assert_non_null(p);
	if (root != NULL)
		snprintf(p, len, "%s/%s", root, rel);
	else
		snprintf(p, len, "%s/../%s", SL_TEST_DATADIR, rel);
	return p;
}

/* A source file's bytes, NUL-terminated; free with free(). */
static char *
read_data(const char *rel, size_t *len)
{
	char *path = data_path(rel), *text;
	uint8_t *buf = NULL;
	size_t n;
	int r;

	if ((r = sl_file_read(path, FILE_MAX, &buf, &n)) != 0)
		fail_msg("%s: %s", path, sl_err_msg(r));
	free(path);
	text = malloc(n + 1);
	assert_non_null(text);
	memcpy(text, buf, n);
	text[n] = '\0';
	free(buf);
	if (len != NULL)
		*len = n;
	return text;
}

static json_t *
load_json(const char *rel)
{
	char *text = read_data(rel, NULL);
	json_error_t e;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (v == NULL)
		fail_msg("%s:%d:%d: %s", rel, e.line, e.column, e.text);
	free(text);
	return v;
}

static time_t
when(const char *s)
{
	time_t t;

	if (sl_time_parse(s, &t) != 0)
		fail_msg("bad time in the test: %s", s);
	return t;
}

static struct suite_keys *
keys_for(enum keys_suite suite)
{
	return &fx.keys[suite == KEYS_SUITE_INTL ? 0 : 1];
}

static const char *
suite_of(void **state)
{
	return keys_suite_name(*(enum keys_suite *)*state);
}

/* The message of r, which must be there: a refusal says why. */
static const char *
msg(int r)
{
	const char *m = sl_err_msg(r);

	assert_non_null(m);
	assert_true(*m != '\0');
	return m;
}

static void
assert_msg_has(int r, const char *want, const char *ctx)
{
	if (strstr(msg(r), want) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", ctx, msg(r), want);
}

/*
 * The value at path in root ("a.b[2].c") and, for editing, its parent and
 * its last step (*key for an object member, *index for an array element).
 * NULL when a step is missing.
 */
static json_t *
json_path(json_t *root, const char *path, json_t **parent, char *key, size_t keylen, long *index)
{
	json_t *cur = root, *up = NULL;
	const char *p = path;
	char name[128];
	long i = -1;

	while (*p != '\0' && cur != NULL) {
		up = cur;
		if (*p == '[') {
			char *end;

			i = strtol(p + 1, &end, 10);
			assert_true(*end == ']');
			p = end + 1;
			name[0] = '\0';
			cur = json_array_get(cur, (size_t)i);
		} else {
			size_t n = strcspn(p, ".[");

			assert_true(n < sizeof name);
			memcpy(name, p, n);
			name[n] = '\0';
			p += n;
			i = -1;
			cur = json_object_get(cur, name);
		}
		if (*p == '.')
			p++;
	}
	if (*p != '\0')
		up = NULL; /* a step before the last is missing */
	if (parent != NULL)
		*parent = up;
	if (key != NULL)
		snprintf(key, keylen, "%s", name);
	if (index != NULL)
		*index = i;
	return cur;
}

/* Set path in root to v (stolen), creating the last member of an object. */
static void
json_path_set(json_t *root, const char *path, json_t *v)
{
	json_t *parent;
	char key[128];
	long i;

	(void)json_path(root, path, &parent, key, sizeof key, &i);
	if (parent == NULL)
		fail_msg("no parent for %s", path);
	if (i >= 0)
		assert_int_equal(json_array_set_new(parent, (size_t)i, v), 0);
	else
		assert_int_equal(json_object_set_new(parent, key, v), 0);
}

static void
json_path_delete(json_t *root, const char *path)
{
	json_t *parent;
	char key[128];
	long i;

	if (json_path(root, path, &parent, key, sizeof key, &i) == NULL)
		fail_msg("nothing at %s", path);
	if (i >= 0)
		assert_int_equal(json_array_remove(parent, (size_t)i), 0);
	else
		assert_int_equal(json_object_del(parent, key), 0);
}

/* base edited by a case's "set" and "delete" (top-level members or paths); new reference. */
static json_t *
edited(const json_t *base, const json_t *cs)
{
	json_t *v = json_object_get(cs, "terms"), *out, *x;
	const char *k;
	size_t i;

	if (v != NULL)
		return json_deep_copy(v);
	out = json_deep_copy(base);
	json_object_foreach(json_object_get(cs, "set"), k, x)
		json_path_set(out, k, json_deep_copy(x));
	json_array_foreach(json_object_get(cs, "delete"), i, x)
		json_path_delete(out, json_string_value(x));
	return out;
}

/* The document of c as a file holds it, parsed again: what another process would see. */
static struct contract *
reparse(const struct contract *c)
{
	struct contract *d = NULL;
	char *text = NULL;
	size_t len;
	int r;

	assert_int_equal(contract_to_text(c, &text, &len), 0);
	if ((r = contract_parse(text, len, &d)) != 0)
		fail_msg("the document of %s does not parse again: %s", c->id, msg(r));
	free(text);
	return d;
}

static struct contract *
parse_json(const json_t *doc, int *rp)
{
	struct contract *c = NULL;
	char *text = json_dumps(doc, 0);

	assert_non_null(text);
	sl_err_clear();
	*rp = contract_parse(text, strlen(text), &c);
	free(text);
	if (*rp != 0)
		assert_null(c);
	return c;
}

/* An offer of terms (NULL: the base terms) between the suite's parties, given out of order. */
static int
offer(enum keys_suite suite, const json_t *terms, time_t now, struct contract **out)
{
	static const enum contract_role order[] = {CONTRACT_PLATFORM, CONTRACT_BUYER,
	    CONTRACT_HOLDER, CONTRACT_MERCHANT, CONTRACT_OPERATOR};
	struct suite_keys *k = keys_for(suite);
	struct contract_offer_party ps[CONTRACT_ROLES];
	size_t i;

	for (i = 0; i < CONTRACT_ROLES; i++) {
		ps[i].role = order[i];
		ps[i].name = party_names[order[i]];
		ps[i].pk = k->pk[order[i]];
	}
	if (terms == NULL)
		terms = json_object_get(fx.terms_cases, "base");
	sl_err_clear();
	return contract_offer(terms, fx.claims, "claims", ps, CONTRACT_ROLES, suite, now, out);
}

static struct contract *
offer_ok(enum keys_suite suite)
{
	struct contract *c = NULL;
	int r;

	if ((r = offer(suite, NULL, fx.now, &c)) != 0)
		fail_msg("offer: %s", msg(r));
	return c;
}

/* Sign c by every role in roles, in role order. */
static void
sign_roles(struct contract *c, enum keys_suite suite, unsigned roles)
{
	enum contract_role got;
	int role, r;

	for (role = 0; role < CONTRACT_ROLES; role++) {
		if (!(roles & (1u << role)))
			continue;
		if ((r = contract_sign(c, keys_for(suite)->id[role], &got)) != 0)
			fail_msg("sign as %s: %s", contract_role_name(role), msg(r));
		assert_int_equal(got, role);
	}
}

static struct contract *
fully_signed(enum keys_suite suite)
{
	struct contract *c = offer_ok(suite);

	sign_roles(c, suite, ALL_ROLES);
	return c;
}

/* contract_verify() must refuse c with SL_ERR_AUTH, naming who. */
static void
assert_auth_refused(const struct contract *c, const char *who, const char *ctx)
{
	struct contract_status st;
	char want[160];
	int r;

	sl_err_clear();
	r = contract_verify(c, fx.now, &st);
	if (r != SL_ERR_AUTH)
		fail_msg("%s: contract_verify gave %d, not SL_ERR_AUTH", ctx, r);
	snprintf(want, sizeof want, "the signature of %s does not verify over this document", who);
	assert_msg_has(r, want, ctx);
	assert_msg_has(r, c->id, ctx);
}

static void
assert_verifies(const struct contract *c, unsigned signed_roles, const char *ctx)
{
	struct contract_status st;
	int r;

	sl_err_clear();
	if ((r = contract_verify(c, fx.now, &st)) != 0)
		fail_msg("%s: refused: %s", ctx, msg(r));
	assert_int_equal(st.signed_roles, signed_roles);
	assert_int_equal(st.missing_roles, ALL_ROLES & ~signed_roles);
}

/* ---- fixture -------------------------------------------------------------- */

static int
group_setup(void **state)
{
	static const enum keys_suite suites[NSUITES] = {KEYS_SUITE_INTL, KEYS_SUITE_GM};
	char *text;
	size_t len, s, i;

	(void)state;
	if (keys_init(0) != 0)
		return -1;
	fx.terms_cases = load_json("tests/unit/contracts/terms_cases.json");
	fx.document_cases = load_json("tests/unit/contracts/document_cases.json");
	fx.now = when(json_string_value(json_object_get(fx.terms_cases, "now")));
	text = read_data("examples/claims.schema.json", &len);
	if (schema_parse(text, len, &fx.claims) != 0)
		return -1;
	free(text);
	for (s = 0; s < NSUITES; s++) {
		struct suite_keys *k = &fx.keys[s];

		k->suite = suites[s];
		for (i = 0; i < CONTRACT_ROLES; i++)
			if (keys_identity_generate(k->suite, &k->id[i]) != 0 ||
			    keys_identity_pubkey(k->id[i], &k->pk[i]) != 0)
				return -1;
		if (keys_identity_generate(k->suite, &k->outsider) != 0)
			return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	size_t s, i;

	(void)state;
	for (s = 0; s < NSUITES; s++) {
		for (i = 0; i < CONTRACT_ROLES; i++) {
			keys_identity_free(fx.keys[s].id[i]);
			keys_pubkey_free(fx.keys[s].pk[i]);
		}
		keys_identity_free(fx.keys[s].outsider);
	}
	schema_free(fx.claims);
	json_decref(fx.terms_cases);
	json_decref(fx.document_cases);
	return 0;
}

/* ---- terms ------------------------------------------------------------------ */

/*
 * Every parse case: refused with its message (naming the field) or accepted;
 * and contract_offer() gives the same answer, so the offer path applies every
 * rule.
 */
static void
test_terms_parse_cases(void **state)
{
	const json_t *base = json_object_get(fx.terms_cases, "base"), *cs;
	size_t i, refused = 0;

	json_array_foreach(json_object_get(fx.terms_cases, "parse"), i, cs) {
		const char *why = json_string_value(json_object_get(cs, "why"));
		const json_t *want = json_object_get(cs, "error");
		json_t *terms = edited(base, cs);
		struct contract_terms t;
		struct contract *c = NULL;
		char ctx[160];
		int r;

		snprintf(ctx, sizeof ctx, "parse case %zu (%s)", i, why);
		sl_err_clear();
		r = contract_terms_parse(terms, &t);
		if (json_is_null(want)) {
			if (r != 0)
				fail_msg("%s: refused: %s", ctx, msg(r));
			contract_terms_clear(&t);
			if ((r = offer(KEYS_SUITE_INTL, terms, fx.now, &c)) != 0)
				fail_msg("%s: offer refused: %s", ctx, msg(r));
			contract_free(c);
		} else {
			if (r == 0)
				fail_msg("%s: accepted", ctx);
			assert_int_equal(r, SL_ERR_INVAL);
			assert_msg_has(r, json_string_value(want), ctx);
			/* Refused terms leave nothing behind to free. */
			assert_null(t.purpose);
			assert_null(t.columns);
			assert_null(t.shares);
			r = offer(KEYS_SUITE_INTL, terms, fx.now, &c);
			assert_int_equal(r, SL_ERR_INVAL);
			assert_null(c);
			assert_msg_has(r, json_string_value(want), ctx);
			refused++;
		}
		json_decref(terms);
	}
	assert_true(refused >= 60);
}

/* The parsed values of good terms, and the defaults. */
static void
test_terms_values(void **state)
{
	const json_t *base = json_object_get(fx.terms_cases, "base");
	struct contract_terms t;
	json_t *terms;
	int64_t sum = 0;
	size_t i;

	assert_int_equal(contract_terms_parse(base, &t), 0);
	assert_string_equal(t.purpose, "insurance_product_research");
	assert_true(t.valid_from == when("2026-01-01T00:00:00Z"));
	assert_true(t.valid_until == when("2027-01-01T00:00:00Z"));
	assert_int_equal(t.ncolumns, 6);
	assert_string_equal(t.columns[0], "age");
	assert_string_equal(t.columns[5], "paid_fen");
	assert_int_equal(
	    t.aggregates, FN_AGG_BIT(FN_COUNT) | FN_AGG_BIT(FN_SUM) | FN_AGG_BIT(FN_AVG));
	assert_int_equal(t.mode, CONTRACT_THRESHOLD);
	assert_int_equal(t.min_group, 10);
	assert_int_equal(t.query_quota, 1000);
	assert_int_equal(t.max_query_seconds, CONTRACT_QUERY_SECONDS_DEFAULT);
	assert_int_equal(t.max_query_seconds, 30);
	assert_int_equal(t.price_fen, 5000);
	assert_int_equal(t.nshares, 4);
	for (i = 0; i < t.nshares; i++)
		sum += t.shares[i].bp;
	assert_int_equal(sum, CONTRACT_SHARES_TOTAL);
	assert_int_equal(t.version_from, 1);
	assert_int_equal(t.version_until, 0);
	contract_terms_clear(&t);
	assert_null(t.purpose);
	contract_terms_clear(&t); /* twice is harmless */

	/* Defaults: no quota is no cap; threshold without min_group is 10. */
	terms = json_deep_copy(base);
	json_object_del(terms, "query_quota");
	json_object_set_new(terms, "release", json_pack("{s:s}", "mode", "threshold"));
	json_object_set_new(terms, "versions", json_pack("{s:i, s:i}", "from", 2, "until", 5));
	json_object_set_new(terms, "max_query_seconds", json_integer(600));
	assert_int_equal(contract_terms_parse(terms, &t), 0);
	assert_int_equal(t.max_query_seconds, 600);
	assert_int_equal(t.query_quota, -1);
	assert_int_equal(t.min_group, CONTRACT_MIN_GROUP_DEFAULT);
	assert_int_equal(t.version_from, 2);
	assert_int_equal(t.version_until, 5);
	contract_terms_clear(&t);

	json_object_set_new(terms, "release",
	    json_pack("{s:s, s:s, s:f, s:f, s:i}", "mode", "dp", "mechanism", "gaussian",
	        "rho_total", 0.5, "rho_per_query", 0.125, "max_rows_per_unit", 3));
	assert_int_equal(contract_terms_parse(terms, &t), 0);
	assert_int_equal(t.mode, CONTRACT_DP);
	assert_int_equal(t.mechanism, CONTRACT_GAUSSIAN);
	/* Exact: 0.5 is 1/2 and 0.125 is 1/8, and delta takes its default 1e-6. */
	assert_int_equal(t.budget_total.num, 1);
	assert_int_equal(t.budget_total.den, 2);
	assert_int_equal(t.budget_per_query.num, 1);
	assert_int_equal(t.budget_per_query.den, 8);
	assert_int_equal(t.delta.num, 1);
	assert_int_equal(t.delta.den, 1000000);
	assert_int_equal(t.max_rows_per_unit, 3);
	contract_terms_clear(&t);

	/* A decimal string is exact too, and 0.1 as a JSON real means 1/10. */
	json_object_set_new(terms, "release",
	    json_pack("{s:s, s:s, s:s, s:f, s:s}", "mode", "dp", "mechanism", "laplace",
	        "epsilon_total", "3", "epsilon_per_query", 0.1, "delta", "1e-9"));
	assert_int_equal(contract_terms_parse(terms, &t), 0);
	assert_int_equal(t.budget_per_query.num, 1);
	assert_int_equal(t.budget_per_query.den, 10);
	assert_int_equal(t.delta.den, 1000000000);
	assert_int_equal(t.max_rows_per_unit, 1); /* the default */
	contract_terms_clear(&t);

	/* COUNT_DISTINCT is its own bit: COUNT alone does not allow it, nor it COUNT. */
	json_object_set_new(terms, "aggregates", json_pack("[s]", "COUNT_DISTINCT"));
	assert_int_equal(contract_terms_parse(terms, &t), 0);
	assert_int_equal(t.aggregates, FN_AGG_BIT(FN_COUNT_DISTINCT));
	contract_terms_clear(&t);
	json_decref(terms);
}

/* Every check case against examples/claims.schema.json (or the case's schema) at "now". */
static void
test_terms_check_cases(void **state)
{
	const json_t *base = json_object_get(fx.terms_cases, "base"), *cs, *v;
	const char *shares[CONTRACT_ROLES];
	size_t i, len, nshares = 0, refused = 0;

	json_array_foreach(json_object_get(fx.terms_cases, "share_parties"), i, v) {
		assert_true(nshares < CONTRACT_ROLES);
		shares[nshares++] = json_string_value(v);
	}
	json_array_foreach(json_object_get(fx.terms_cases, "check"), i, cs) {
		const char *why = json_string_value(json_object_get(cs, "why"));
		const json_t *want = json_object_get(cs, "error");
		const char *unbounded = json_string_value(json_object_get(cs, "unbounded"));
		json_t *terms = edited(base, cs);
		struct schema *own = NULL;
		struct contract_terms t;
		char ctx[160];
		int r;

		snprintf(ctx, sizeof ctx, "check case %zu (%s)", i, why);
		if (unbounded != NULL) {
			char *text = read_data("examples/claims.schema.json", &len);
			struct schema_column *col;

			assert_int_equal(schema_parse(text, len, &own), 0);
			free(text);
			col = (struct schema_column *)schema_column(own, unbounded);
			assert_non_null(col);
			assert_true(col->has_bounds);
			col->has_bounds = 0;
		}
		if ((r = contract_terms_parse(terms, &t)) != 0)
			fail_msg("%s: the terms do not parse: %s", ctx, msg(r));
		sl_err_clear();
		r = contract_terms_check(&t, own ? own : fx.claims, shares, nshares, fx.now);
		if (json_is_null(want)) {
			if (r != 0)
				fail_msg("%s: refused: %s", ctx, msg(r));
		} else {
			if (r == 0)
				fail_msg("%s: accepted", ctx);
			assert_int_equal(r, SL_ERR_INVAL);
			assert_msg_has(r, json_string_value(want), ctx);
			refused++;
		}
		contract_terms_clear(&t);
		schema_free(own);
		json_decref(terms);
	}
	assert_true(refused >= 9);
}

/* The checks run in contract_offer(), with the clock it is given and the offer's own parties. */
static void
test_offer_checks(void **state)
{
	json_t *terms = json_deep_copy(json_object_get(fx.terms_cases, "base"));
	struct contract *c = NULL;
	int r;

	/* Valid until 2027: an offer at 2027-01-01 is too late, a second before is not. */
	r = offer(KEYS_SUITE_INTL, terms, when("2027-01-01T00:00:00Z"), &c);
	assert_int_equal(r, SL_ERR_INVAL);
	assert_msg_has(r, "valid_until: 2027-01-01T00:00:00Z is not in the future", "late offer");
	assert_null(c);
	assert_int_equal(offer(KEYS_SUITE_INTL, terms, when("2026-12-31T23:59:59Z"), &c), 0);
	contract_free(c);
	c = NULL;
	/* The buyer is a party of the contract but takes no share. */
	json_object_set_new(terms, "revenue_shares",
	    json_pack("{s:i, s:i}", "acme-merchant", 9000, "acme-buyer", 1000));
	r = offer(KEYS_SUITE_INTL, terms, fx.now, &c);
	assert_int_equal(r, SL_ERR_INVAL);
	assert_msg_has(
	    r, "revenue_shares.acme-buyer: not a party of product claims", "buyer share");
	json_object_set_new(terms, "columns", json_pack("[s, s]", "age", "member_id"));
	r = offer(KEYS_SUITE_INTL, terms, fx.now, &c);
	assert_msg_has(r, "columns[1]: member_id is a unit column", "unit column");
	assert_null(c);
	json_decref(terms);
}

/* ---- the offered document ----------------------------------------------------- */

static void
test_offer_document(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct suite_keys *k = keys_for(suite);
	const json_t *base = json_object_get(fx.terms_cases, "base"), *parties, *p, *v;
	struct contract *c = offer_ok(suite), *c2 = offer_ok(suite);
	char when_s[SL_TIME_RFC3339_LEN], fp[KEYS_FINGERPRINT_MAX], *pem = NULL;
	const char *key;
	size_t i, len;

	assert_string_equal(json_string_value(json_object_get(c->doc, "suite")), suite_of(state));
	assert_int_equal(c->suite, suite);
	assert_int_equal(json_integer_value(json_object_get(c->doc, "sluice_contract")), 1);
	assert_int_equal(strlen(c->id), CONTRACT_ID_LEN);
	assert_true(strncmp(c->id, "c_", 2) == 0);
	assert_string_equal(json_string_value(json_object_get(c->doc, "id")), c->id);
	assert_string_not_equal(c->id, c2->id); /* fresh ids */
	sl_time_format(fx.now, when_s);
	assert_string_equal(json_string_value(json_object_get(c->doc, "offered_at")), when_s);
	assert_string_equal(c->product, "claims");
	assert_string_equal(
	    json_string_value(json_path(c->doc, "product.name", NULL, NULL, 0, NULL)), "claims");
	/* Parties in role order, with their keys, whatever order they were given in. */
	parties = json_object_get(c->doc, "parties");
	assert_int_equal(json_array_size(parties), CONTRACT_ROLES);
	assert_int_equal(c->nparties, CONTRACT_ROLES);
	json_array_foreach(parties, i, p) {
		assert_string_equal(
		    json_string_value(json_object_get(p, "role")), contract_role_name(i));
		assert_string_equal(json_string_value(json_object_get(p, "name")), party_names[i]);
		assert_int_equal(keys_pubkey_fingerprint(k->pk[i], fp), 0);
		assert_string_equal(json_string_value(json_object_get(p, "fingerprint")), fp);
		assert_int_equal(keys_pubkey_to_pem(k->pk[i], &pem, &len), 0);
		assert_string_equal(json_string_value(json_object_get(p, "public_key")), pem);
		free(pem);
		assert_true(keys_pubkey_equal(c->parties[i].pk, k->pk[i]));
		assert_int_equal(c->parties[i].role, i);
		assert_false(c->parties[i].has_sig);
	}
	/* The terms exactly as given, and nothing signed yet. */
	json_object_foreach((json_t *)base, key, v) {
		if (!json_equal(json_object_get(c->doc, key), (json_t *)v))
			fail_msg("term %s differs in the document", key);
	}
	assert_int_equal(json_array_size(json_object_get(c->doc, "signatures")), 0);
	assert_int_equal(json_object_size(c->doc), json_object_size(base) + 7);
	/* Shares in party order: the ledger's tie order. */
	assert_string_equal(c->terms.shares[0].party, "city-health-bureau");
	assert_string_equal(c->terms.shares[3].party, "platform");
	contract_free(c);
	contract_free(c2);
}

/* An offer whose parties hold keys of the other suite is refused, naming the field. */
static void
test_offer_wrong_suite_key(void **state)
{
	struct suite_keys *k = keys_for(KEYS_SUITE_INTL), *g = keys_for(KEYS_SUITE_GM);
	struct contract_offer_party ps[CONTRACT_ROLES];
	struct contract *c = NULL;
	size_t i;
	int r;

	for (i = 0; i < CONTRACT_ROLES; i++) {
		ps[i].role = (enum contract_role)i;
		ps[i].name = party_names[i];
		ps[i].pk = i == CONTRACT_BUYER ? g->pk[i] : k->pk[i];
	}
	sl_err_clear();
	r = contract_offer(json_object_get(fx.terms_cases, "base"), fx.claims, "claims", ps,
	    CONTRACT_ROLES, KEYS_SUITE_INTL, fx.now, &c);
	assert_int_equal(r, SL_ERR_INVAL);
	assert_msg_has(r, "parties[3].public_key: not a key of suite intl", "gm buyer");
	assert_null(c);
}

/* ---- signing and verifying -------------------------------------------------------- */

/* Sign party by party, each time through the file form, as the CLI does; then countersign. */
static void
test_round_trip(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct suite_keys *k = keys_for(suite);
	struct contract *c = offer_ok(suite), *d;
	struct contract_status st;
	enum contract_role got;
	unsigned done = 0;
	char *bytes = NULL;
	size_t i, len;
	int role;

	assert_int_equal(contract_verify(c, fx.now, &st), 0);
	assert_int_equal(st.signed_roles, 0);
	assert_int_equal(st.missing_roles, ALL_ROLES);
	assert_false(st.complete);
	assert_false(st.countersigned);
	for (role = 0; role < CONTRACT_ROLES; role++) {
		assert_int_equal(contract_sign(c, k->id[role], &got), 0);
		assert_int_equal(got, role);
		done |= 1u << role;
		d = reparse(c);
		contract_free(c);
		c = d;
		assert_int_equal(contract_verify(c, fx.now, &st), 0);
		assert_int_equal(st.signed_roles, done);
		assert_int_equal(st.missing_roles, ALL_ROLES & ~done);
		assert_int_equal(st.complete, (done & ALL_BUT_PLATFORM) == ALL_BUT_PLATFORM);
		assert_int_equal(st.countersigned, done == ALL_ROLES);
		assert_false(st.expired);
		assert_false(st.not_yet_valid);
	}
	assert_int_equal(json_array_size(json_object_get(c->doc, "signatures")), CONTRACT_ROLES);
	/* Each signature is the party's, over the signed bytes, in the suite's scheme. */
	assert_int_equal(contract_signed_bytes(c, &bytes, &len), 0);
	for (i = 0; i < c->nparties; i++) {
		const struct contract_party *p = &c->parties[i];

		assert_true(p->has_sig);
		if (suite == KEYS_SUITE_INTL)
			assert_int_equal(p->siglen, KEYS_ED25519_SIG_BYTES);
		else
			assert_in_range(p->siglen, 8, KEYS_SIG_MAX);
		assert_int_equal(keys_pubkey_verify(k->pk[i], bytes, len, p->sig, p->siglen), 0);
		if (i > 0)
			assert_int_equal(
			    keys_pubkey_verify(k->pk[i - 1], bytes, len, p->sig, p->siglen),
			    SL_ERR_AUTH);
	}
	free(bytes);
	contract_free(c);
}

/* The signed bytes are the canonical form of the document without "signatures". */
static void
test_signed_bytes_are_jcs(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct contract *c = offer_ok(suite);
	static const char prefix[] = "{\"aggregates\":[\"COUNT\",\"SUM\",\"AVG\"],\"columns\":[";
	char *before = NULL, *after = NULL, *text, *jcs = NULL;
	size_t blen, alen, tlen, jlen;
	json_t *body;

	assert_int_equal(contract_signed_bytes(c, &before, &blen), 0);
	assert_int_equal(strlen(before), blen);
	assert_null(strstr(before, "\"signatures\""));
	sign_roles(c, suite, ALL_ROLES);
	/* Signing adds signatures, and changes no signed byte. */
	assert_int_equal(contract_signed_bytes(c, &after, &alen), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	/* An independent path: the document's text, signatures removed, canonicalized. */
	body = json_deep_copy(c->doc);
	assert_int_equal(json_object_del(body, "signatures"), 0);
	text = json_dumps(body, JSON_INDENT(3) | JSON_ENSURE_ASCII);
	tlen = strlen(text);
	assert_int_equal(jcs_canonicalize_text(text, tlen, &jcs, &jlen), 0);
	assert_int_equal(jlen, blen);
	assert_memory_equal(jcs, before, blen);
	/* Starts with the first member in code-unit order, no whitespace. */
	assert_true(strncmp(before, prefix, strlen(prefix)) == 0);
	free(text);
	free(jcs);
	json_decref(body);
	free(before);
	free(after);
	contract_free(c);
}

/*
 * Documents made outside Sluice (canonical/gen.sh): the signed bytes are
 * exactly the bytes Python's JCS gave, and the signatures openssl made over
 * them verify (Ed25519; SM2 with the ID 1234567812345678).  Members out of
 * order, 15.0 written as a float, raw UTF-8 in a string, signatures out of
 * role order: none of it matters to the canonical form.
 */
static void
test_fixture_from_openssl(void **state)
{
	char rel[128], *text, *want, *got = NULL;
	size_t tlen, wlen, glen;
	struct contract *c = NULL;
	struct contract_status st;
	int r;

	snprintf(rel, sizeof rel, "tests/unit/contracts/canonical/%s.json", suite_of(state));
	text = read_data(rel, &tlen);
	snprintf(rel, sizeof rel, "tests/unit/contracts/canonical/%s.jcs", suite_of(state));
	want = read_data(rel, &wlen);
	if ((r = contract_parse(text, tlen, &c)) != 0)
		fail_msg("%s: %s", rel, msg(r));
	assert_int_equal(c->nparties, 3);
	assert_null(contract_party(c, CONTRACT_HOLDER));
	assert_int_equal(c->terms.budget_total.num, 15);
	assert_int_equal(c->terms.budget_total.den, 1);
	assert_int_equal(contract_signed_bytes(c, &got, &glen), 0);
	if (glen != wlen || memcmp(got, want, wlen) != 0)
		fail_msg("signed bytes differ from %s:\n got: %s\nwant: %s", rel, got, want);
	assert_non_null(strstr(got, "\"epsilon_total\":15,"));
	assert_non_null(strstr(got, "\"purpose\":\"\xe5\x85\xac\xe7\x9b\x8a"));
	if ((r = contract_verify(c, when("2026-06-01T00:00:00Z"), &st)) != 0)
		fail_msg("%s: %s", rel, msg(r));
	assert_true(st.countersigned);
	assert_int_equal(st.missing_roles, 0);
	/* One byte more in the signed text and openssl's signatures no longer hold. */
	json_object_set_new(c->doc, "price_fen", json_integer(5001));
	sl_err_clear();
	assert_int_equal(contract_verify(c, when("2026-06-01T00:00:00Z"), &st), SL_ERR_AUTH);
	assert_msg_has(SL_ERR_AUTH, "acme-merchant (merchant) does not verify", rel);
	contract_free(c);
	free(text);
	free(want);
	free(got);
}

/* Collect the path of every scalar in v ("a.b[2].c"). */
static void
leaf_paths(const json_t *v, const char *path, char ***out, size_t *n)
{
	char sub[256];
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, x) {
			snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);
			leaf_paths(x, sub, out, n);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			leaf_paths(x, sub, out, n);
		}
	} else {
		*out = realloc(*out, (*n + 1) * sizeof **out);
		assert_non_null(*out);
		(*out)[(*n)++] = strdup(path);
	}
}

/*
 * Change v by one byte or one unit, keeping its type and, where it can,
 * its form: the last digit of a string (times, ids) goes up by one, else
 * its last letter; integers and reals go up by one; booleans flip.
 */
static void
nudge(json_t *v)
{
	if (json_is_string(v)) {
		char *s = strdup(json_string_value(v));
		size_t i, at = strlen(s);

		for (i = strlen(s); i-- > 0;)
			if (s[i] >= '0' && s[i] <= '9') {
				at = i;
				break;
			}
		if (at == strlen(s))
			for (i = strlen(s); i-- > 0;)
				if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) {
					at = i;
					break;
				}
		if (at == strlen(s))
			at = strlen(s) - 1; /* no strings are empty here */
		if (s[at] == '9')
			s[at] = '8';
		else if (s[at] == 'z' || s[at] == 'Z' || s[at] == 'f')
			s[at]--;
		else if ((s[at] >= '0' && s[at] <= '9') || (s[at] >= 'a' && s[at] <= 'z') ||
		         (s[at] >= 'A' && s[at] <= 'Z'))
			s[at]++;
		else
			s[at] = 'x';
		assert_int_equal(json_string_set(v, s), 0);
		free(s);
	} else if (json_is_integer(v)) {
		json_integer_set(v, json_integer_value(v) + 1);
	} else if (json_is_real(v)) {
		json_real_set(v, json_real_value(v) + 1);
	} else {
		fail_msg("no scalar of that kind in a contract");
	}
}

/*
 * A changed value anywhere in the signed part -- every member, nested ones
 * included -- breaks every signature: contract_verify() refuses, naming the
 * first signer (the holder).  Read back from a file, the change is refused
 * either by the document rules (a fingerprint that no longer matches its key,
 * shares that no longer sum to 10000, ...) or by the signatures; most values
 * (below: must_reach) pass the document rules, so only the signatures stop them.
 */
static void
test_tamper_every_field(void **state)
{
	static const char *const must_reach[] = {"id", "offered_at", "product.name", "purpose",
	    "valid_from", "valid_until", "columns[0]", "columns[5]", "release.min_group",
	    "query_quota", "price_fen", NULL};
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct contract *c = fully_signed(suite), *d;
	char **paths = NULL, ctx[300];
	json_t *body, *good = c->doc;
	size_t i, k, n = 0, reached = 0, by_rules = 0;
	int r;

	body = json_deep_copy(good);
	json_object_del(body, "signatures");
	leaf_paths(body, "", &paths, &n);
	json_decref(body);
	assert_true(n >= 40);
	for (i = 0; i < n; i++) {
		json_t *bad = json_deep_copy(good);

		nudge(json_path(bad, paths[i], NULL, NULL, 0, NULL));
		snprintf(ctx, sizeof ctx, "%s: %s changed", suite_of(state), paths[i]);
		/* The signed bytes themselves. */
		c->doc = bad;
		assert_auth_refused(c, "city-health-bureau (holder)", ctx);
		c->doc = good;
		/* The file, read again. */
		if ((d = parse_json(bad, &r)) != NULL) {
			assert_auth_refused(d, "city-health-bureau (holder)", ctx);
			contract_free(d);
			reached++;
		} else {
			for (k = 0; must_reach[k] != NULL; k++)
				if (strcmp(paths[i], must_reach[k]) == 0)
					fail_msg("%s: refused by the document rules (%s), not by "
					         "the signatures",
					    ctx, msg(r));
			(void)msg(r);
			by_rules++;
		}
		json_decref(bad);
		free(paths[i]);
	}
	free(paths);
	assert_int_equal(reached + by_rules, n);
	assert_true(reached >= 12);
	/*
	 * A party renamed everywhere the name appears (its entry, its signature,
	 * its share) passes the document rules; the signatures still stop it.
	 */
	for (i = 0; i < 2; i++) {
		json_t *bad = json_deep_copy(good), *shares;
		size_t at = i == 0 ? CONTRACT_BUYER : CONTRACT_HOLDER;
		const char *to = i == 0 ? "acme-buyes" : "city-health-bureav";

		json_path_set(bad, at == CONTRACT_BUYER ? "parties[3].name" : "parties[0].name",
		    json_string(to));
		json_path_set(bad,
		    at == CONTRACT_BUYER ? "signatures[3].party" : "signatures[0].party",
		    json_string(to));
		shares = json_object_get(bad, "revenue_shares");
		if (at == CONTRACT_HOLDER) {
			json_object_set(shares, to, json_object_get(shares, party_names[at]));
			json_object_del(shares, party_names[at]);
		}
		snprintf(ctx, sizeof ctx, "%s: %s renamed", suite_of(state), party_names[at]);
		d = parse_json(bad, &r);
		if (d == NULL)
			fail_msg("%s: %s", ctx, msg(r));
		assert_auth_refused(d,
		    at == CONTRACT_BUYER ? "city-health-bureau (holder)"
		                         : "city-health-bureav (holder)",
		    ctx);
		contract_free(d);
		json_decref(bad);
	}
	/* And the untouched document still verifies: the loop restored it each time. */
	assert_verifies(c, ALL_ROLES, "untouched");
	contract_free(c);
}

/* A changed byte in one signature: that signer is named, the others are not blamed. */
static void
test_tamper_signature_bytes(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct contract *c = fully_signed(suite), *d;
	char ctx[120], want[120];
	size_t i;
	int r;

	for (i = 0; i < CONTRACT_ROLES; i++) {
		json_t *bad = json_deep_copy(c->doc);
		json_t *sig = json_path(bad, "signatures", NULL, NULL, 0, NULL);
		json_t *hex = json_object_get(json_array_get(sig, i), "signature");
		char *s = strdup(json_string_value(hex));
		size_t mid = strlen(s) / 2;

		s[mid] = s[mid] == '0' ? '1' : '0';
		json_string_set(hex, s);
		free(s);
		snprintf(ctx, sizeof ctx, "%s: signature %zu changed", suite_of(state), i);
		d = parse_json(bad, &r);
		assert_non_null(d);
		snprintf(want, sizeof want, "%s (%s)", party_names[i], contract_role_name(i));
		assert_auth_refused(d, want, ctx);
		contract_free(d);
		json_decref(bad);
	}
	contract_free(c);
}

/* Reverse the members of every object in v, recursively (arrays keep their order). */
static json_t *
reversed_members(const json_t *v)
{
	const char *keys[64];
	const char *key;
	json_t *out, *x;
	size_t n = 0, i;

	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, x)
			json_array_append_new(out, reversed_members(x));
		return out;
	}
	if (!json_is_object(v))
		return json_deep_copy(v);
	json_object_foreach((json_t *)v, key, x) {
		assert_true(n < 64);
		keys[n++] = key;
	}
	out = json_object();
	while (n-- > 0)
		json_object_set_new(out, keys[n], reversed_members(json_object_get(v, keys[n])));
	return out;
}

/*
 * JCS makes member order irrelevant: every object's members reversed, the
 * document still verifies (that is the point of the canonical form).  Array
 * order is content: reversed columns or aggregates do not verify, parties out
 * of role order do not parse, while the order of the signatures, which are
 * not signed, does not matter.
 */
static void
test_reorder(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct contract *c = fully_signed(suite), *d;
	json_t *re = reversed_members(c->doc), *bad;
	char *t1 = json_dumps(c->doc, 0), *t2 = json_dumps(re, 0), *b1 = NULL, *b2 = NULL;
	size_t l1, l2;
	int r;

	assert_string_not_equal(t1, t2); /* the reordering did something */
	assert_true(strncmp(t2, "{\"signatures\":", 14) == 0);
	d = parse_json(re, &r);
	if (d == NULL)
		fail_msg("reordered members: %s", msg(r));
	assert_verifies(d, ALL_ROLES, "reordered members");
	assert_int_equal(contract_signed_bytes(c, &b1, &l1), 0);
	assert_int_equal(contract_signed_bytes(d, &b2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	contract_free(d);

	bad = json_deep_copy(c->doc);
	assert_int_equal(
	    json_array_insert_new(json_object_get(bad, "columns"), 0, json_string("paid_fen")), 0);
	assert_int_equal(json_array_remove(json_object_get(bad, "columns"), 6), 0);
	d = parse_json(bad, &r); /* paid_fen moved to the front: same set, other order */
	assert_non_null(d);
	assert_auth_refused(d, "city-health-bureau (holder)", "columns reordered");
	contract_free(d);
	json_decref(bad);

	bad = json_deep_copy(c->doc);
	json_object_set_new(bad, "aggregates", json_pack("[s, s, s]", "AVG", "SUM", "COUNT"));
	d = parse_json(bad, &r);
	assert_non_null(d);
	assert_auth_refused(d, "city-health-bureau (holder)", "aggregates reordered");
	contract_free(d);
	json_decref(bad);

	bad = json_deep_copy(c->doc);
	{
		json_t *ps = json_object_get(bad, "parties");
		json_t *first = json_incref(json_array_get(ps, 0));

		assert_int_equal(json_array_remove(ps, 0), 0);
		assert_int_equal(json_array_insert_new(ps, 1, first), 0);
	}
	d = parse_json(bad, &r);
	assert_null(d);
	assert_int_equal(r, SL_ERR_INVAL);
	assert_msg_has(r, "parties[1]: roles must appear once each", "parties reordered");
	json_decref(bad);

	bad = json_deep_copy(c->doc);
	{
		json_t *sigs = json_object_get(bad, "signatures"), *rev = json_array(), *x;
		size_t i = json_array_size(sigs);

		while (i-- > 0) {
			x = json_array_get(sigs, i);
			json_array_append(rev, x);
		}
		json_object_set_new(bad, "signatures", rev);
	}
	d = parse_json(bad, &r);
	assert_non_null(d);
	assert_verifies(d, ALL_ROLES, "signatures reordered");
	contract_free(d);
	json_decref(bad);

	json_decref(re);
	free(t1);
	free(t2);
	free(b1);
	free(b2);
	contract_free(c);
}

/*
 * A key that is none of the parties' may not sign (nor one of the other
 * suite); a party may not sign twice; a good signature filed under another
 * party's name does not verify.
 */
static void
test_wrong_signer(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	enum keys_suite other = suite == KEYS_SUITE_INTL ? KEYS_SUITE_GM : KEYS_SUITE_INTL;
	struct suite_keys *k = keys_for(suite);
	struct contract *c = offer_ok(suite), *d;
	enum contract_role got = CONTRACT_ROLES;
	char want[160], *before = json_dumps(c->doc, 0), *after;
	json_t *bad;
	int r;

	sl_err_clear();
	r = contract_sign(c, k->outsider, &got);
	assert_int_equal(r, SL_ERR_POLICY);
	snprintf(want, sizeof want, "is not the key of any party of contract %s", c->id);
	assert_msg_has(r, want, "outsider");
	assert_msg_has(r, suite == KEYS_SUITE_INTL ? "key SHA256:" : "key SM3:", "outsider");
	assert_int_equal(got, CONTRACT_ROLES);
	r = contract_sign(c, keys_for(other)->id[CONTRACT_HOLDER], &got);
	assert_int_equal(r, SL_ERR_POLICY);
	assert_msg_has(r, want, "other suite");
	after = json_dumps(c->doc, 0);
	assert_string_equal(before, after); /* refusals change nothing */
	free(after);

	sign_roles(c, suite, 1u << CONTRACT_MERCHANT);
	sl_err_clear();
	r = contract_sign(c, k->id[CONTRACT_MERCHANT], &got);
	assert_int_equal(r, SL_ERR_POLICY);
	snprintf(
	    want, sizeof want, "acme-merchant (merchant) has already signed contract %s", c->id);
	assert_msg_has(r, want, "twice");
	assert_verifies(c, 1u << CONTRACT_MERCHANT, "after the refused second signature");

	/* The merchant's good signature, filed as the holder's. */
	bad = json_deep_copy(c->doc);
	json_object_set_new(json_array_get(json_object_get(bad, "signatures"), 0), "party",
	    json_string("city-health-bureau"));
	json_object_set_new(
	    json_array_get(json_object_get(bad, "signatures"), 0), "role", json_string("holder"));
	d = parse_json(bad, &r);
	assert_non_null(d);
	assert_auth_refused(d, "city-health-bureau (holder)", "merchant's signature as holder's");
	contract_free(d);
	json_decref(bad);
	free(before);
	contract_free(c);
}

/*
 * Two offers with identical terms, parties and time differ only in their
 * ids; a signature copied from one to the other does not verify.
 */
static void
test_copied_signature(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct contract *a = offer_ok(suite), *b = offer_ok(suite), *d;
	char *ba = NULL, *bb = NULL, *at;
	size_t la, lb;
	json_t *doc;
	int r;

	assert_int_equal(contract_signed_bytes(a, &ba, &la), 0);
	assert_int_equal(contract_signed_bytes(b, &bb, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_not_equal(ba, bb, la);
	at = strstr(bb, b->id); /* with a's id, b's bytes are a's */
	assert_non_null(at);
	memcpy(at, a->id, CONTRACT_ID_LEN);
	assert_memory_equal(ba, bb, la);

	sign_roles(a, suite, (1u << CONTRACT_HOLDER) | (1u << CONTRACT_BUYER));
	doc = json_deep_copy(b->doc);
	json_object_set_new(
	    doc, "signatures", json_deep_copy(json_object_get(a->doc, "signatures")));
	d = parse_json(doc, &r);
	assert_non_null(d);
	assert_auth_refused(d, "city-health-bureau (holder)", "copied signatures");
	contract_free(d);
	/* The buyer's alone, too. */
	json_array_remove(json_object_get(doc, "signatures"), 0);
	d = parse_json(doc, &r);
	assert_non_null(d);
	assert_auth_refused(d, "acme-buyer (buyer)", "copied buyer signature");
	contract_free(d);
	json_decref(doc);
	free(ba);
	free(bb);
	contract_free(a);
	contract_free(b);
}

/* The platform countersigns last: its signature with another party's missing is refused. */
static void
test_platform_before_others(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct contract *c = offer_ok(suite), *d;
	struct contract_status st;
	char want[160];
	int role, r;

	for (role = 0; role < CONTRACT_PLATFORM; role++) {
		struct contract *e = offer_ok(suite);

		/* Everyone but role, and the platform. */
		sign_roles(e, suite, ALL_ROLES & ~(1u << role));
		d = reparse(e);
		sl_err_clear();
		r = contract_verify(d, fx.now, &st);
		assert_int_equal(r, SL_ERR_AUTH);
		snprintf(want, sizeof want,
		    "contract %s: the platform countersigned before every other party signed",
		    e->id);
		assert_msg_has(r, want, contract_role_name(role));
		contract_free(d);
		contract_free(e);
	}
	sign_roles(c, suite, 1u << CONTRACT_PLATFORM);
	r = contract_verify(c, fx.now, &st);
	assert_int_equal(r, SL_ERR_AUTH);
	contract_free(c);
}

/* A missing signature is no error, but the status says who is missing; only all five count. */
static void
test_missing_signatures(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct contract *c = offer_ok(suite);
	struct contract_status st;
	char text[512], tiny[12];

	sign_roles(c, suite, (1u << CONTRACT_HOLDER) | (1u << CONTRACT_MERCHANT));
	assert_int_equal(contract_verify(c, fx.now, &st), 0);
	assert_int_equal(st.signed_roles, (1u << CONTRACT_HOLDER) | (1u << CONTRACT_MERCHANT));
	assert_int_equal(st.missing_roles,
	    (1u << CONTRACT_OPERATOR) | (1u << CONTRACT_BUYER) | (1u << CONTRACT_PLATFORM));
	assert_false(st.complete);
	assert_false(st.countersigned);
	contract_roles_text(c, st.missing_roles, text, sizeof text);
	assert_string_equal(
	    text, "ningbo-data-ops (operator), acme-buyer (buyer), platform (platform)");
	contract_roles_text(c, 0, text, sizeof text);
	assert_string_equal(text, "");
	/* A short buffer is cut, never overrun. */
	memset(tiny, 'x', sizeof tiny);
	contract_roles_text(c, ALL_ROLES, tiny, 8);
	assert_int_equal(strlen(tiny), 7);
	assert_int_equal(tiny[8], 'x');

	sign_roles(c, suite, (1u << CONTRACT_OPERATOR) | (1u << CONTRACT_BUYER));
	assert_int_equal(contract_verify(c, fx.now, &st), 0);
	assert_true(st.complete);
	assert_false(st.countersigned);
	assert_int_equal(st.missing_roles, 1u << CONTRACT_PLATFORM);
	contract_free(c);
}

/* Validity follows the clock: not yet valid before valid_from, expired from valid_until on. */
static void
test_validity_dates(void **state)
{
	static const struct {
		const char *now;
		int not_yet, expired;
	} cases[] = {
	    {"2025-12-31T23:59:59Z", 1, 0},
	    {"2026-01-01T00:00:00Z", 0, 0},
	    {"2026-12-31T23:59:59Z", 0, 0},
	    {"2027-01-01T00:00:00Z", 0, 1},
	    {"2031-01-01T00:00:00Z", 0, 1},
	};
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct contract *c = fully_signed(suite);
	struct contract_status st;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(contract_verify(c, when(cases[i].now), &st), 0);
		if (st.not_yet_valid != cases[i].not_yet || st.expired != cases[i].expired)
			fail_msg("at %s: not_yet_valid %d expired %d", cases[i].now,
			    st.not_yet_valid, st.expired);
		assert_true(st.countersigned); /* signatures hold whatever the date */
	}
	contract_free(c);
}

/* Merging copies only the signatures c lacks. */
static void
test_merge_signatures(void **state)
{
	enum keys_suite suite = *(enum keys_suite *)*state;
	struct contract *a = offer_ok(suite), *b = reparse(a);
	char *t1, *t2;

	sign_roles(a, suite, 1u << CONTRACT_HOLDER);
	sign_roles(b, suite, (1u << CONTRACT_HOLDER) | (1u << CONTRACT_BUYER));
	t1 = json_dumps(json_object_get(a->doc, "signatures"), 0);
	assert_int_equal(contract_merge_signatures(a, b), 0);
	assert_verifies(a, (1u << CONTRACT_HOLDER) | (1u << CONTRACT_BUYER), "merged");
	assert_int_equal(json_array_size(json_object_get(a->doc, "signatures")), 2);
	/* The holder's own signature was kept (SM2 signatures differ each time). */
	t2 = json_dumps(json_array_get(json_object_get(a->doc, "signatures"), 0), 0);
	assert_non_null(strstr(t1, t2));
	free(t1);
	free(t2);
	assert_int_equal(contract_merge_signatures(a, b), 0); /* nothing new */
	assert_verifies(a, (1u << CONTRACT_HOLDER) | (1u << CONTRACT_BUYER), "merged again");
	contract_free(a);
	contract_free(b);
}

/* ---- document rules ------------------------------------------------------------- */

static int
code_of(const json_t *cs)
{
	const char *c = json_string_value(json_object_get(cs, "code"));

	if (c == NULL || strcmp(c, "INVAL") == 0)
		return SL_ERR_INVAL;
	if (strcmp(c, "VERSION") == 0)
		return SL_ERR_VERSION;
	fail_msg("unknown code %s", c);
	return 0;
}

static void
test_document_cases(void **state)
{
	struct contract *c = fully_signed(KEYS_SUITE_INTL), *d;
	const json_t *cs;
	size_t i, refused = 0;
	int r;

	json_array_foreach(json_object_get(fx.document_cases, "cases"), i, cs) {
		const char *why = json_string_value(json_object_get(cs, "why"));
		const json_t *want = json_object_get(cs, "error");
		json_t *doc = edited(c->doc, cs);
		char ctx[160];

		snprintf(ctx, sizeof ctx, "document case %zu (%s)", i, why);
		d = parse_json(doc, &r);
		if (json_is_null(want)) {
			if (d == NULL)
				fail_msg("%s: refused: %s", ctx, msg(r));
			contract_free(d);
		} else {
			if (d != NULL)
				fail_msg("%s: accepted", ctx);
			assert_int_equal(r, code_of(cs));
			assert_msg_has(r, json_string_value(want), ctx);
			refused++;
		}
		json_decref(doc);
	}
	assert_true(refused >= 30);
	contract_free(c);
}

/* Text that is no contract: not JSON, a member twice, too big. */
static void
test_document_text(void **state)
{
	struct contract *c = fully_signed(KEYS_SUITE_INTL), *d = NULL;
	char *text = NULL, *big, *dup;
	size_t len, n;
	int r;

	sl_err_clear();
	r = contract_parse("{\"id\": \n  oops}", 15, &d);
	assert_int_equal(r, SL_ERR_PARSE);
	assert_msg_has(r, "2:", "not JSON");
	assert_null(d);

	/* The same member twice: which one would a signer have seen? */
	assert_int_equal(contract_to_text(c, &text, &len), 0);
	assert_int_equal(text[len - 1], '\n');
	n = strlen("{\"price_fen\": 1, ");
	dup = malloc(len + n);
	assert_non_null(dup);
	memcpy(dup, "{\"price_fen\": 1, ", n);
	memcpy(dup + n, text + 1, len - 1);
	r = contract_parse(dup, len - 1 + n, &d);
	assert_int_equal(r, SL_ERR_PARSE);
	assert_msg_has(r, "price_fen", "duplicate member");
	assert_null(d);
	free(dup);

	big = malloc(CONTRACT_TEXT_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', CONTRACT_TEXT_MAX + 1);
	memcpy(big, text, len);
	r = contract_parse(big, CONTRACT_TEXT_MAX + 1, &d);
	assert_int_equal(r, SL_ERR_LIMIT);
	assert_null(d);
	/* At the limit exactly, trailing whitespace and all, it parses. */
	assert_int_equal(contract_parse(big, CONTRACT_TEXT_MAX, &d), 0);
	contract_free(d);
	free(big);
	free(text);
	contract_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_terms_parse_cases),
	    cmocka_unit_test(test_terms_values),
	    cmocka_unit_test(test_terms_check_cases),
	    cmocka_unit_test(test_offer_checks),
	    cmocka_unit_test(test_offer_wrong_suite_key),
	    cmocka_unit_test(test_document_cases),
	    cmocka_unit_test(test_document_text),
#define BOTH(t) cmocka_unit_test_prestate(t, &suite_intl), cmocka_unit_test_prestate(t, &suite_gm)
	    BOTH(test_offer_document),
	    BOTH(test_round_trip),
	    BOTH(test_signed_bytes_are_jcs),
	    BOTH(test_fixture_from_openssl),
	    BOTH(test_tamper_every_field),
	    BOTH(test_tamper_signature_bytes),
	    BOTH(test_reorder),
	    BOTH(test_wrong_signer),
	    BOTH(test_copied_signature),
	    BOTH(test_platform_before_others),
	    BOTH(test_missing_signatures),
	    BOTH(test_validity_dates),
	    BOTH(test_merge_signatures),
#undef BOTH
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
