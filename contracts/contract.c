/*
 * contracts/contract.c -- contract documents: terms, canonical form, signatures.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/fn.h"
#include "common/jcs.h"
#include "common/rational.h"
#include "common/schema.h"
#include "common/text.h"
#include "contracts/contract.h"
#include "keys/keys.h"

static const char *const role_names[CONTRACT_ROLES] = {
    "holder", "operator", "merchant", "buyer", "platform"};

/* The members of a document that are terms, in the order offer writes them. */
static const char *const term_members[] = {"purpose", "valid_from", "valid_until", "columns",
    "aggregates", "release", "query_quota", "max_query_seconds", "price_fen", "revenue_shares",
    "versions", NULL};

/* Aggregates that sum a measure, so need its bounds. */

#define PURPOSE_MAX 128
#define SIG_HEX_MAX (2 * KEYS_SIG_MAX)

const char *
contract_role_name(enum contract_role r)
{
	return (unsigned)r < CONTRACT_ROLES ? role_names[r] : "?";
}

static int
role_parse(const char *s, enum contract_role *out)
{
	int i;

	for (i = 0; i < CONTRACT_ROLES; i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum contract_role)i;
			return 0;
		}
	}
	return -1;
}

static int
in_list(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

/* Refuse a member of obj that is not in allowed: a typo must not drop a rule. */
static int
check_members(const json_t *obj, const char *const *allowed, const char *path)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		(void)v;
		if (!in_list(allowed, key))
			return sl_errf(
			    SL_ERR_INVAL, "%s%s%s: unknown member", path, *path ? "." : "", key);
	}
	return 0;
}

static int
get_string(const json_t *obj, const char *key, const char *path, const char **out)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return sl_errf(SL_ERR_INVAL, "%s%s%s: missing", path, *path ? "." : "", key);
	if (!json_is_string(v))
		return sl_errf(
		    SL_ERR_INVAL, "%s%s%s: must be a string", path, *path ? "." : "", key);
	*out = json_string_value(v);
	return 0;
}

/* An integer member in [lo, hi]; *out untouched when absent and optional. */
static int
get_int(const json_t *obj, const char *key, const char *path, int required, int64_t lo, int64_t hi,
    int64_t *out)
{
	const json_t *v = json_object_get(obj, key);
	const char *dot = *path ? "." : "";
	json_int_t i;

	if (v == NULL)
		return required ? sl_errf(SL_ERR_INVAL, "%s%s%s: missing", path, dot, key) : 0;
	if (!json_is_integer(v))
		return sl_errf(SL_ERR_INVAL, "%s%s%s: must be an integer", path, dot, key);
	i = json_integer_value(v);
	if (i < lo || i > hi)
		return sl_errf(SL_ERR_INVAL, "%s%s%s: %lld is outside [%lld, %lld]", path, dot, key,
		    (long long)i, (long long)lo, (long long)hi);
	*out = i;
	return 0;
}

static int
get_time(const json_t *obj, const char *key, time_t *out)
{
	const char *s;
	int r;

	if ((r = get_string(obj, key, "", &s)) != 0)
		return r;
	if (sl_time_parse(s, out) != 0)
		return sl_errf(SL_ERR_INVAL,
		    "%s: \"%.40s\" is not a UTC time of the form 2026-01-01T00:00:00Z", key, s);
	return 0;
}

/* A finite number > 0. */
/*
 * release.key as an exact rational in (0, max] (a JSON number, or a string
 * such as "1e-6" or "1/3"); def when absent, unless def is NULL (required).
 */
static int
get_rational(const json_t *obj, const char *key, const struct rational *def, struct rational max,
    struct rational *out)
{
	const json_t *v = json_object_get(obj, key);
	char hi[RATIONAL_TEXT_BYTES];
	struct rational x;
	int r;

	if (v == NULL && def != NULL) {
		*out = *def;
		return 0;
	}
	if (v == NULL)
		return sl_errf(SL_ERR_INVAL, "release.%s: missing", key);
	sl_err_clear();
	if ((r = rational_from_json(v, RATIONAL_SIGNED, &x)) != 0)
		return sl_errf(SL_ERR_INVAL, "release.%s: %s", key, sl_err_msg(r));
	if (x.num <= 0 || rational_cmp(x, max) > 0) {
		if (rational_format(max, hi) < 0)
			return SL_ERR_INTERNAL;
		return sl_errf(
		    SL_ERR_INVAL, "release.%s: must be a number above 0 and at most %s", key, hi);
	}
	*out = x;
	return 0;
}

static int
parse_columns(const json_t *terms, struct contract_terms *t)
{
	const json_t *a = json_object_get(terms, "columns"), *v;
	size_t i, j;

	if (a == NULL)
		return sl_errf(SL_ERR_INVAL, "columns: missing");
	if (!json_is_array(a) || json_array_size(a) == 0)
		return sl_errf(SL_ERR_INVAL, "columns: must be a non-empty array of column names");
	if ((t->columns = calloc(json_array_size(a), sizeof *t->columns)) == NULL)
		return SL_ERR_NOMEM;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return sl_errf(SL_ERR_INVAL, "columns[%zu]: must be a string", i);
		for (j = 0; j < i; j++)
			if (strcmp(t->columns[j], json_string_value(v)) == 0)
				return sl_errf(SL_ERR_INVAL,
				    "columns[%zu]: \"%.64s\" is listed twice", i,
				    json_string_value(v));
		if ((t->columns[i] = strdup(json_string_value(v))) == NULL)
			return SL_ERR_NOMEM;
		t->ncolumns = i + 1;
	}
	return 0;
}

static int
parse_aggregates(const json_t *terms, struct contract_terms *t)
{
	const json_t *a = json_object_get(terms, "aggregates"), *v;
	size_t i;

	if (a == NULL)
		return sl_errf(SL_ERR_INVAL, "aggregates: missing");
	if (!json_is_array(a) || json_array_size(a) == 0)
		return sl_errf(SL_ERR_INVAL, "aggregates: must be a non-empty array");
	json_array_foreach(a, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		int k = fn_agg_find(s);

		if (k < 0)
			return sl_errf(SL_ERR_INVAL,
			    "aggregates[%zu]: expected one of COUNT, COUNT_DISTINCT, SUM, AVG, "
			    "STDDEV, VARIANCE, MIN, MAX",
			    i);
		if (t->aggregates & FN_AGG_BIT(k))
			return sl_errf(SL_ERR_INVAL, "aggregates[%zu]: %s is listed twice", i, s);
		t->aggregates |= FN_AGG_BIT(k);
	}
	return 0;
}

static int
parse_release(const json_t *terms, struct contract_terms *t)
{
	static const char *const threshold_members[] = {"mode", "min_group", NULL};
	static const char *const laplace_members[] = {"mode", "mechanism", "epsilon_total",
	    "epsilon_per_query", "max_rows_per_unit", "delta", NULL};
	static const char *const gaussian_members[] = {
	    "mode", "mechanism", "rho_total", "rho_per_query", "max_rows_per_unit", "delta", NULL};
	const struct rational delta_default = {1, 1000000}, delta_max = {1, 1000},
	                      per_query_max = {CONTRACT_BUDGET_PER_QUERY_MAX, 1},
	                      total_max = {INT32_MAX, 1};
	char a[RATIONAL_TEXT_BYTES], b[RATIONAL_TEXT_BYTES];
	const json_t *rel = json_object_get(terms, "release");
	const char *mode, *mech;
	int gauss, r;

	if (rel == NULL)
		return sl_errf(SL_ERR_INVAL, "release: missing");
	if (!json_is_object(rel))
		return sl_errf(SL_ERR_INVAL, "release: must be an object");
	if ((r = get_string(rel, "mode", "release", &mode)) != 0)
		return r;
	if (strcmp(mode, "threshold") == 0) {
		t->mode = CONTRACT_THRESHOLD;
		t->min_group = CONTRACT_MIN_GROUP_DEFAULT;
		if ((r = check_members(rel, threshold_members, "release")) != 0)
			return r;
		if ((r = get_int(rel, "min_group", "release", 0, INT64_MIN, CONTRACT_INT_MAX,
		         &t->min_group)) != 0)
			return r;
		if (t->min_group < CONTRACT_MIN_GROUP_LEAST)
			return sl_errf(SL_ERR_INVAL, "release.min_group: %lld is below %d",
			    (long long)t->min_group, CONTRACT_MIN_GROUP_LEAST);
		return 0;
	}
	if (strcmp(mode, "dp") != 0)
		return sl_errf(
		    SL_ERR_INVAL, "release.mode: \"%.32s\" is neither threshold nor dp", mode);
	t->mode = CONTRACT_DP;
	if ((r = get_string(rel, "mechanism", "release", &mech)) != 0)
		return r;
	if (strcmp(mech, "laplace") != 0 && strcmp(mech, "gaussian") != 0)
		return sl_errf(SL_ERR_INVAL,
		    "release.mechanism: \"%.32s\" is neither laplace nor gaussian", mech);
	gauss = strcmp(mech, "gaussian") == 0;
	t->mechanism = gauss ? CONTRACT_GAUSSIAN : CONTRACT_LAPLACE;
	t->max_rows_per_unit = 1;
	if ((r = check_members(rel, gauss ? gaussian_members : laplace_members, "release")) != 0 ||
	    (r = get_rational(rel, gauss ? "rho_total" : "epsilon_total", NULL, total_max,
	         &t->budget_total)) != 0 ||
	    (r = get_rational(rel, gauss ? "rho_per_query" : "epsilon_per_query", NULL,
	         per_query_max, &t->budget_per_query)) != 0 ||
	    (r = get_rational(rel, "delta", &delta_default, delta_max, &t->delta)) != 0 ||
	    (r = get_int(
	         rel, "max_rows_per_unit", "release", 0, 1, 1000000, &t->max_rows_per_unit)) != 0)
		return r;
	if (rational_cmp(t->budget_per_query, t->budget_total) > 0) {
		if (rational_format(t->budget_per_query, a) < 0 ||
		    rational_format(t->budget_total, b) < 0)
			return SL_ERR_INTERNAL;
		return sl_errf(SL_ERR_INVAL, "release.%s: %s is more than the whole budget %s",
		    gauss ? "rho_per_query" : "epsilon_per_query", a, b);
	}
	return 0;
}

static int
parse_shares(const json_t *terms, struct contract_terms *t)
{
	const json_t *o = json_object_get(terms, "revenue_shares"), *v;
	const char *name;
	int64_t total = 0;
	size_t i = 0;

	if (o == NULL)
		return sl_errf(SL_ERR_INVAL, "revenue_shares: missing");
	if (!json_is_object(o) || json_object_size(o) == 0)
		return sl_errf(SL_ERR_INVAL,
		    "revenue_shares: must be an object of party names and basis points");
	if ((t->shares = calloc(json_object_size(o), sizeof *t->shares)) == NULL)
		return SL_ERR_NOMEM;
	json_object_foreach((json_t *)o, name, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > CONTRACT_SHARES_TOTAL)
			return sl_errf(SL_ERR_INVAL,
			    "revenue_shares.%.64s: must be an integer number of basis points in "
			    "[0, 10000]",
			    name);
		if ((t->shares[i].party = strdup(name)) == NULL)
			return SL_ERR_NOMEM;
		t->shares[i].bp = json_integer_value(v);
		total += t->shares[i].bp;
		t->nshares = ++i;
	}
	if (total != CONTRACT_SHARES_TOTAL)
		return sl_errf(SL_ERR_INVAL,
		    "revenue_shares: basis points sum to %lld, not exactly 10000",
		    (long long)total);
	return 0;
}

static int
parse_versions(const json_t *terms, struct contract_terms *t)
{
	static const char *const members[] = {"from", "until", NULL};
	const json_t *v = json_object_get(terms, "versions");
	int r;

	t->version_from = 1;
	t->version_until = 0;
	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		return sl_errf(
		    SL_ERR_INVAL, "versions: must be an object {\"from\": N, \"until\": M}");
	if ((r = check_members(v, members, "versions")) != 0 ||
	    (r = get_int(v, "from", "versions", 0, 1, INT32_MAX, &t->version_from)) != 0 ||
	    (r = get_int(v, "until", "versions", 0, 1, INT32_MAX, &t->version_until)) != 0)
		return r;
	if (t->version_until != 0 && t->version_until < t->version_from)
		return sl_errf(SL_ERR_INVAL, "versions.until: %lld is before versions.from %lld",
		    (long long)t->version_until, (long long)t->version_from);
	return 0;
}

/*
 * The optional max_query_seconds: an integer in [1, 3600], 30 when absent.
 * The broker makes it the query worker's CPU limit, so that a buyer's
 * expensive queries cost what the parties agreed to and no more.
 */
static int
parse_max_query_seconds(const json_t *terms, struct contract_terms *t)
{
	int64_t v = CONTRACT_QUERY_SECONDS_DEFAULT;
	int r;

	if ((r = get_int(terms, "max_query_seconds", "", 0, INT64_MIN, INT64_MAX, &v)) != 0)
		return r;
	if (v < CONTRACT_QUERY_SECONDS_MIN)
		return sl_errf(SL_ERR_INVAL, "max_query_seconds: %lld is below %d", (long long)v,
		    CONTRACT_QUERY_SECONDS_MIN);
	if (v > CONTRACT_QUERY_SECONDS_MAX)
		return sl_errf(SL_ERR_INVAL, "max_query_seconds: %lld is above %d", (long long)v,
		    CONTRACT_QUERY_SECONDS_MAX);
	t->max_query_seconds = (uint32_t)v;
	return 0;
}

/* Every aggregate the terms list is one the release mode can release. */
static int
check_mode_aggregates(const json_t *terms, const struct contract_terms *t)
{
	const json_t *v;
	size_t i;

	if (t->mode != CONTRACT_DP)
		return 0;
	json_array_foreach(json_object_get(terms, "aggregates"), i, v) {
		int fn = fn_agg_find(json_string_value(v));

		if (fn >= 0 && !fn_aggs[fn].dp)
			return sl_errf(SL_ERR_INVAL,
			    "aggregates[%zu]: %s is not released in dp mode: it is one row's "
			    "value, "
			    "which no noise bounds",
			    i, fn_aggs[fn].name);
	}
	return 0;
}

static int
parse_terms(const json_t *terms, struct contract_terms *t)
{
	const char *purpose;
	int r;

	if ((r = get_string(terms, "purpose", "", &purpose)) != 0)
		return r;
	if (*purpose == '\0' || strlen(purpose) > PURPOSE_MAX)
		return sl_errf(SL_ERR_INVAL, "purpose: must be 1 to %d bytes", PURPOSE_MAX);
	if ((t->purpose = strdup(purpose)) == NULL)
		return SL_ERR_NOMEM;
	if ((r = get_time(terms, "valid_from", &t->valid_from)) != 0 ||
	    (r = get_time(terms, "valid_until", &t->valid_until)) != 0)
		return r;
	if (t->valid_until <= t->valid_from)
		return sl_errf(SL_ERR_INVAL, "valid_until: must be after valid_from");
	t->query_quota = -1;
	if ((r = parse_columns(terms, t)) != 0 || (r = parse_aggregates(terms, t)) != 0 ||
	    (r = parse_release(terms, t)) != 0 || (r = check_mode_aggregates(terms, t)) != 0 ||
	    (r = get_int(terms, "query_quota", "", 0, 1, CONTRACT_INT_MAX, &t->query_quota)) != 0 ||
	    (r = parse_max_query_seconds(terms, t)) != 0 ||
	    (r = get_int(terms, "price_fen", "", 1, 0, CONTRACT_INT_MAX, &t->price_fen)) != 0 ||
	    (r = parse_shares(terms, t)) != 0 || (r = parse_versions(terms, t)) != 0)
		return r;
	/* Public data for public governance and welfare is free of charge (contracts/contract.h). */
	if (strcmp(t->purpose, "public_welfare") == 0 && t->price_fen != 0)
		return sl_errf(SL_ERR_INVAL,
		    "price_fen: a public_welfare contract is free of charge, not %lld fen",
		    (long long)t->price_fen);
	return 0;
}

int
contract_terms_parse(const json_t *terms, struct contract_terms *out)
{
	int r;

	memset(out, 0, sizeof *out);
	if (!json_is_object(terms))
		return sl_errf(SL_ERR_INVAL, "terms: must be a JSON object");
	if ((r = check_members(terms, term_members, "")) != 0 || (r = parse_terms(terms, out)) != 0)
		contract_terms_clear(out);
	return r;
}

void
contract_terms_clear(struct contract_terms *t)
{
	size_t i;

	free(t->purpose);
	for (i = 0; i < t->ncolumns; i++)
		free(t->columns[i]);
	free(t->columns);
	for (i = 0; i < t->nshares; i++)
		free(t->shares[i].party);
	free(t->shares);
	memset(t, 0, sizeof *t);
}

/* Whether any allowed aggregate adds a measure's values up. */
static int
sums(unsigned aggregates)
{
	int fn;

	for (fn = 0; fn < FN_AGG_N_; fn++)
		if ((aggregates & FN_AGG_BIT(fn)) && fn_aggs[fn].sums)
			return 1;
	return 0;
}

static int
check_column(const struct contract_terms *t, const struct schema *s, size_t i)
{
	const struct schema_column *c = schema_column(s, t->columns[i]);

	if (c == NULL)
		return sl_errf(SL_ERR_INVAL, "columns[%zu]: product %s has no column \"%.64s\"", i,
		    s->name, t->columns[i]);
	if (c->cls == SCHEMA_UNIT || c->cls == SCHEMA_HIDDEN)
		return sl_errf(SL_ERR_INVAL,
		    "columns[%zu]: %s is a %s column, which no contract may open", i, c->name,
		    schema_class_name(c->cls));
	if (c->cls == SCHEMA_MEASURE && sums(t->aggregates) && !c->has_bounds)
		return sl_errf(SL_ERR_INVAL,
		    "columns[%zu]: measure %s has no bounds, which SUM, AVG, STDDEV and VARIANCE "
		    "need",
		    i, c->name);
	return 0;
}

int
contract_terms_check(const struct contract_terms *t, const struct schema *s,
    const char *const *share_parties, size_t nshare_parties, time_t now)
{
	char when[SL_TIME_RFC3339_LEN];
	size_t i, j;
	int r;

	for (i = 0; i < t->ncolumns; i++)
		if ((r = check_column(t, s, i)) != 0)
			return r;
	for (i = 0; i < t->nshares; i++) {
		for (j = 0; j < nshare_parties; j++)
			if (strcmp(t->shares[i].party, share_parties[j]) == 0)
				break;
		if (j == nshare_parties)
			return sl_errf(SL_ERR_INVAL,
			    "revenue_shares.%.64s: not a party of product %s (its holder, "
			    "operator, merchant or the platform)",
			    t->shares[i].party, s->name);
	}
	if (t->valid_until <= now) {
		sl_time_format(t->valid_until, when);
		return sl_errf(SL_ERR_INVAL, "valid_until: %s is not in the future", when);
	}
	return 0;
}

/* ---- building and parsing documents ------------------------------------ */

static json_t *
party_json(const struct contract_offer_party *p)
{
	char fp[KEYS_FINGERPRINT_MAX], *pem = NULL;
	size_t len;
	json_t *o = NULL;

	if (keys_pubkey_fingerprint(p->pk, fp) != 0 || keys_pubkey_to_pem(p->pk, &pem, &len) != 0)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:s}", "role", contract_role_name(p->role), "name", p->name,
	    "fingerprint", fp, "public_key", pem);
	free(pem);
	return o;
}

/* The offer's document: header, parties in role order, then the terms as given. */
static int
offer_document(const json_t *terms, const char *product, const struct contract_offer_party *ps,
    size_t n, enum keys_suite suite, time_t now, json_t **out)
{
	char id[CONTRACT_ID_LEN + 1], when[SL_TIME_RFC3339_LEN];
	uint8_t raw[16];
	json_t *doc, *parties, *p;
	size_t i, k;
	int role, bad = 0;

	keys_random(raw, sizeof raw);
	memcpy(id, "c_", 2);
	sl_hex_encode(raw, sizeof raw, id + 2);
	sl_time_format(now, when);
	doc = json_pack("{s:i, s:s, s:s, s:s, s:{s:s}}", "sluice_contract", CONTRACT_FORMAT, "id",
	    id, "suite", keys_suite_name(suite), "offered_at", when, "product", "name", product);
	parties = json_array();
	if (doc == NULL || parties == NULL || json_object_set_new(doc, "parties", parties) != 0) {
		json_decref(doc);
		return SL_ERR_NOMEM;
	}
	for (role = 0; role < CONTRACT_ROLES; role++)
		for (i = 0; i < n; i++)
			if ((int)ps[i].role == role)
				bad |= (p = party_json(&ps[i])) == NULL ||
				       json_array_append_new(parties, p) != 0;
	for (k = 0; term_members[k] != NULL; k++) {
		json_t *v = json_object_get(terms, term_members[k]);

		if (v != NULL)
			bad |= json_object_set_new(doc, term_members[k], json_deep_copy(v)) != 0;
	}
	bad |= json_object_set_new(doc, "signatures", json_array()) != 0;
	if (bad) {
		json_decref(doc);
		return SL_ERR_NOMEM;
	}
	*out = doc;
	return 0;
}

static void
parties_clear(struct contract *c)
{
	size_t i;

	for (i = 0; i < c->nparties; i++) {
		free(c->parties[i].name);
		keys_pubkey_free(c->parties[i].pk);
	}
	c->nparties = 0;
}

void
contract_free(struct contract *c)
{
	if (c == NULL)
		return;
	parties_clear(c);
	contract_terms_clear(&c->terms);
	free(c->product);
	json_decref(c->doc);
	free(c);
}

static int
parse_party(const json_t *v, size_t i, enum keys_suite suite, struct contract_party *p)
{
	static const char *const members[] = {"role", "name", "fingerprint", "public_key", NULL};
	char path[48], fp[KEYS_FINGERPRINT_MAX];
	const char *role, *name, *pem, *fpr;
	int r;

	snprintf(path, sizeof path, "parties[%zu]", i);
	if (!json_is_object(v))
		return sl_errf(SL_ERR_INVAL, "%s: must be an object", path);
	if ((r = check_members(v, members, path)) != 0 ||
	    (r = get_string(v, "role", path, &role)) != 0 ||
	    (r = get_string(v, "name", path, &name)) != 0 ||
	    (r = get_string(v, "fingerprint", path, &fpr)) != 0 ||
	    (r = get_string(v, "public_key", path, &pem)) != 0)
		return r;
	if (role_parse(role, &p->role) != 0)
		return sl_errf(
		    SL_ERR_INVAL, "%s.role: \"%.32s\" is not a contract role", path, role);
	if (!sl_name_valid(name))
		return sl_errf(SL_ERR_INVAL, "%s.name: must be " SL_NAME_RULE, path);
	if ((p->name = strdup(name)) == NULL)
		return SL_ERR_NOMEM;
	if (keys_pubkey_from_pem(pem, strlen(pem), &p->pk) != 0)
		return sl_errf(
		    SL_ERR_INVAL, "%s.public_key: not an Ed25519 or SM2 public key", path);
	if (keys_pubkey_suite(p->pk) != suite)
		return sl_errf(SL_ERR_INVAL, "%s.public_key: not a key of suite %s", path,
		    keys_suite_name(suite));
	if ((r = keys_pubkey_fingerprint(p->pk, fp)) != 0)
		return r;
	if (strcmp(fp, fpr) != 0)
		return sl_errf(SL_ERR_INVAL, "%s.fingerprint: does not match its public_key", path);
	memcpy(p->fingerprint, fp, sizeof fp);
	return 0;
}

/* Parties in strict role order; merchant, buyer and platform are required. */
static int
parse_parties(const json_t *doc, struct contract *c)
{
	const json_t *a = json_object_get(doc, "parties"), *v;
	size_t i;
	int r;

	if (a == NULL)
		return sl_errf(SL_ERR_INVAL, "parties: missing");
	if (!json_is_array(a) || json_array_size(a) > CONTRACT_ROLES)
		return sl_errf(SL_ERR_INVAL, "parties: must be an array of at most %d parties",
		    CONTRACT_ROLES);
	json_array_foreach(a, i, v) {
		r = parse_party(v, i, c->suite, &c->parties[i]);
		c->nparties = i + 1;
		if (r != 0)
			return r;
		if (i > 0 && c->parties[i].role <= c->parties[i - 1].role)
			return sl_errf(SL_ERR_INVAL,
			    "parties[%zu]: roles must appear once each, in the order holder, "
			    "operator, merchant, buyer, platform",
			    i);
	}
	if (contract_party(c, CONTRACT_MERCHANT) == NULL ||
	    contract_party(c, CONTRACT_BUYER) == NULL ||
	    contract_party(c, CONTRACT_PLATFORM) == NULL)
		return sl_errf(
		    SL_ERR_INVAL, "parties: a merchant, a buyer and the platform are required");
	return 0;
}

static struct contract_party *
party_by_name(struct contract *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nparties; i++)
		if (strcmp(c->parties[i].name, name) == 0)
			return &c->parties[i];
	return NULL;
}

/* Put the shares in party order (the ledger's tie order); only non-buyers may share. */
static int
order_shares(struct contract *c)
{
	struct contract_terms *t = &c->terms;
	struct contract_share tmp;
	size_t i, j, at = 0;

	for (i = 0; i < t->nshares; i++) {
		struct contract_party *p = party_by_name(c, t->shares[i].party);

		if (p == NULL || p->role == CONTRACT_BUYER)
			return sl_errf(SL_ERR_INVAL,
			    "revenue_shares.%.64s: not a party of this contract that may share "
			    "revenue",
			    t->shares[i].party);
	}
	for (i = 0; i < c->nparties; i++)
		for (j = at; j < t->nshares; j++)
			if (strcmp(t->shares[j].party, c->parties[i].name) == 0) {
				tmp = t->shares[at];
				t->shares[at++] = t->shares[j];
				t->shares[j] = tmp;
				break;
			}
	return 0;
}

static int
parse_signature(struct contract *c, const json_t *v, size_t i)
{
	static const char *const members[] = {"party", "role", "signature", NULL};
	char path[48];
	const char *name, *role, *hex;
	struct contract_party *p;
	size_t n;
	int r;

	snprintf(path, sizeof path, "signatures[%zu]", i);
	if (!json_is_object(v))
		return sl_errf(SL_ERR_INVAL, "%s: must be an object", path);
	if ((r = check_members(v, members, path)) != 0 ||
	    (r = get_string(v, "party", path, &name)) != 0 ||
	    (r = get_string(v, "role", path, &role)) != 0 ||
	    (r = get_string(v, "signature", path, &hex)) != 0)
		return r;
	if ((p = party_by_name(c, name)) == NULL || strcmp(role, contract_role_name(p->role)) != 0)
		return sl_errf(SL_ERR_INVAL, "%s: %.64s (%.32s) is not a party of this contract",
		    path, name, role);
	if (p->has_sig)
		return sl_errf(SL_ERR_INVAL, "%s: a second signature by %s", path, name);
	n = strlen(hex);
	if (n == 0 || n % 2 != 0 || n > SIG_HEX_MAX || sl_hex_decode(hex, n, p->sig, n / 2) != 0)
		return sl_errf(
		    SL_ERR_INVAL, "%s.signature: must be at most %d hex digits", path, SIG_HEX_MAX);
	p->siglen = n / 2;
	p->has_sig = 1;
	return 0;
}

static int
parse_document(const json_t *doc, struct contract *c)
{
	static const char *const header[] = {"sluice_contract", "id", "suite", "offered_at",
	    "product", "parties", "signatures", NULL};
	static const char *const product_members[] = {"name", NULL};
	const json_t *terms_copy, *prod, *sigs, *v;
	const char *id, *suite, *name;
	const char *key;
	int64_t format = 0;
	time_t offered;
	size_t i;
	int r;

	if (!json_is_object(doc))
		return sl_errf(SL_ERR_INVAL, "contract: must be a JSON object");
	json_object_foreach((json_t *)doc, key, v) {
		(void)v;
		if (!in_list(header, key) && !in_list(term_members, key))
			return sl_errf(SL_ERR_INVAL, "%s: unknown member", key);
	}
	if ((r = get_int(doc, "sluice_contract", "", 1, 0, INT32_MAX, &format)) != 0)
		return r;
	if (format != CONTRACT_FORMAT)
		return sl_errf(SL_ERR_VERSION, "sluice_contract: format %lld is not %d",
		    (long long)format, CONTRACT_FORMAT);
	if ((r = get_string(doc, "id", "", &id)) != 0)
		return r;
	if (strlen(id) != CONTRACT_ID_LEN || strncmp(id, "c_", 2) != 0 ||
	    strspn(id + 2, "0123456789abcdef") != CONTRACT_ID_LEN - 2)
		return sl_errf(SL_ERR_INVAL, "id: must be \"c_\" and 32 lowercase hex digits");
	memcpy(c->id, id, CONTRACT_ID_LEN + 1);
	if ((r = get_string(doc, "suite", "", &suite)) != 0)
		return r;
	if (keys_suite_parse(suite, &c->suite) != 0)
		return sl_errf(SL_ERR_INVAL, "suite: \"%.16s\" is neither intl nor gm", suite);
	if ((r = get_time(doc, "offered_at", &offered)) != 0)
		return r;
	prod = json_object_get(doc, "product");
	if (!json_is_object(prod))
		return sl_errf(SL_ERR_INVAL, "product: must be an object {\"name\": ...}");
	if ((r = check_members(prod, product_members, "product")) != 0 ||
	    (r = get_string(prod, "name", "product", &name)) != 0)
		return r;
	if (!sl_name_valid(name))
		return sl_errf(SL_ERR_INVAL, "product.name: must be " SL_NAME_RULE);
	if ((c->product = strdup(name)) == NULL)
		return SL_ERR_NOMEM;
	if ((r = parse_parties(doc, c)) != 0)
		return r;
	/* The terms are the document's other members; parse them as terms.json. */
	terms_copy = json_copy((json_t *)doc);
	if (terms_copy == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; header[i] != NULL; i++)
		json_object_del((json_t *)terms_copy, header[i]);
	r = contract_terms_parse(terms_copy, &c->terms);
	json_decref((json_t *)terms_copy);
	if (r != 0 || (r = order_shares(c)) != 0)
		return r;
	sigs = json_object_get(doc, "signatures");
	if (sigs == NULL)
		return 0;
	if (!json_is_array(sigs))
		return sl_errf(SL_ERR_INVAL, "signatures: must be an array");
	json_array_foreach(sigs, i, v)
		if ((r = parse_signature(c, v, i)) != 0)
			return r;
	return 0;
}

static int
contract_from_json(json_t *doc, struct contract **out)
{
	struct contract *c = calloc(1, sizeof *c);
	int r;

	if (c == NULL) {
		json_decref(doc);
		return SL_ERR_NOMEM;
	}
	c->doc = doc;
	if ((r = parse_document(doc, c)) != 0) {
		contract_free(c);
		return r;
	}
	*out = c;
	return 0;
}

int
contract_parse(const char *text, size_t len, struct contract **out)
{
	json_error_t e;
	json_t *doc;

	if (len > CONTRACT_TEXT_MAX)
		return sl_errf(
		    SL_ERR_LIMIT, "contract is %zu bytes; the limit is %u", len, CONTRACT_TEXT_MAX);
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	if (doc == NULL)
		return sl_errf(SL_ERR_PARSE, "%d:%d: %s", e.line, e.column, e.text);
	return contract_from_json(doc, out);
}

int
contract_offer(const json_t *terms, const struct schema *schema, const char *product,
    const struct contract_offer_party *parties, size_t nparties, enum keys_suite suite, time_t now,
    struct contract **out)
{
	const char *share_parties[CONTRACT_ROLES];
	struct contract_terms t;
	struct contract *c = NULL;
	json_t *doc = NULL;
	size_t i, n = 0;
	int r;

	if ((r = contract_terms_parse(terms, &t)) != 0)
		return r;
	for (i = 0; i < nparties && n < CONTRACT_ROLES; i++)
		if (parties[i].role != CONTRACT_BUYER)
			share_parties[n++] = parties[i].name;
	r = contract_terms_check(&t, schema, share_parties, n, now);
	contract_terms_clear(&t);
	if (r != 0)
		return r;
	if ((r = offer_document(terms, product, parties, nparties, suite, now, &doc)) != 0)
		return r;
	if ((r = contract_from_json(doc, &c)) != 0)
		return r;
	*out = c;
	return 0;
}

int
contract_signed_bytes(const struct contract *c, char **out, size_t *len)
{
	json_t *body = json_copy(c->doc);
	int r;

	if (body == NULL)
		return SL_ERR_NOMEM;
	json_object_del(body, "signatures");
	r = jcs_serialize(body, out, len);
	json_decref(body);
	return r;
}

const struct contract_party *
contract_party(const struct contract *c, enum contract_role role)
{
	size_t i;

	for (i = 0; i < c->nparties; i++)
		if (c->parties[i].role == role)
			return &c->parties[i];
	return NULL;
}

/* Rewrite the document's "signatures" from the parties, in role order. */
static int
store_signatures(struct contract *c)
{
	char hex[SIG_HEX_MAX + 1];
	json_t *a = json_array(), *s;
	size_t i;
	int bad = a == NULL;

	for (i = 0; i < c->nparties && !bad; i++) {
		const struct contract_party *p = &c->parties[i];

		if (!p->has_sig)
			continue;
		sl_hex_encode(p->sig, p->siglen, hex);
		s = json_pack("{s:s, s:s, s:s}", "party", p->name, "role",
		    contract_role_name(p->role), "signature", hex);
		bad |= s == NULL || json_array_append_new(a, s) != 0;
	}
	if (bad || json_object_set_new(c->doc, "signatures", a) != 0) {
		if (bad)
			json_decref(a);
		return SL_ERR_NOMEM;
	}
	return 0;
}

int
contract_sign(struct contract *c, const struct keys_identity *id, enum contract_role *role)
{
	struct keys_pubkey *pk = NULL;
	struct contract_party *p = NULL;
	char *msg = NULL, fp[KEYS_FINGERPRINT_MAX] = "";
	size_t i, len;
	int r;

	if ((r = keys_identity_pubkey(id, &pk)) != 0)
		return r;
	for (i = 0; i < c->nparties; i++)
		if (keys_pubkey_equal(pk, c->parties[i].pk))
			p = &c->parties[i];
	if (p == NULL && keys_pubkey_fingerprint(pk, fp) != 0)
		fp[0] = '\0';
	keys_pubkey_free(pk);
	if (p == NULL)
		return sl_errf(
		    SL_ERR_POLICY, "key %s is not the key of any party of contract %s", fp, c->id);
	if (p->has_sig)
		return sl_errf(SL_ERR_POLICY, "%s (%s) has already signed contract %s", p->name,
		    contract_role_name(p->role), c->id);
	if ((r = contract_signed_bytes(c, &msg, &len)) != 0)
		return r;
	r = keys_identity_sign(id, msg, len, p->sig, &p->siglen);
	free(msg);
	if (r != 0)
		return r;
	p->has_sig = 1;
	if ((r = store_signatures(c)) != 0) {
		p->has_sig = 0;
		return r;
	}
	*role = p->role;
	return 0;
}

int
contract_verify(const struct contract *c, time_t now, struct contract_status *st)
{
	char *msg = NULL;
	size_t i, len;
	unsigned present = 0;
	int r;

	memset(st, 0, sizeof *st);
	if ((r = contract_signed_bytes(c, &msg, &len)) != 0)
		return r;
	for (i = 0; i < c->nparties; i++) {
		const struct contract_party *p = &c->parties[i];

		present |= 1u << p->role;
		if (!p->has_sig)
			continue;
		if (keys_pubkey_verify(p->pk, msg, len, p->sig, p->siglen) != 0) {
			free(msg);
			return sl_errf(SL_ERR_AUTH,
			    "contract %s: the signature of %s (%s) does not verify over this "
			    "document",
			    c->id, p->name, contract_role_name(p->role));
		}
		st->signed_roles |= 1u << p->role;
	}
	free(msg);
	st->missing_roles = present & ~st->signed_roles;
	st->complete = (st->missing_roles & ~(1u << CONTRACT_PLATFORM)) == 0;
	if (!st->complete && (st->signed_roles & (1u << CONTRACT_PLATFORM)))
		return sl_errf(SL_ERR_AUTH,
		    "contract %s: the platform countersigned before every other party signed",
		    c->id);
	st->countersigned = st->complete && st->missing_roles == 0;
	st->not_yet_valid = now < c->terms.valid_from;
	st->expired = now >= c->terms.valid_until;
	return 0;
}

int
contract_merge_signatures(struct contract *c, const struct contract *other)
{
	size_t i, j;
	int changed = 0;

	for (i = 0; i < c->nparties; i++) {
		struct contract_party *p = &c->parties[i];

		for (j = 0; j < other->nparties && !p->has_sig; j++) {
			const struct contract_party *q = &other->parties[j];

			if (q->role == p->role && q->has_sig) {
				memcpy(p->sig, q->sig, q->siglen);
				p->siglen = q->siglen;
				p->has_sig = 1;
				changed = 1;
			}
		}
	}
	return changed ? store_signatures(c) : 0;
}

int
contract_to_text(const struct contract *c, char **out, size_t *len)
{
	char *s = json_dumps(c->doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	size_t n;

	if (s == NULL)
		return SL_ERR_NOMEM;
	n = strlen(s);
	if ((*out = realloc(s, n + 2)) == NULL) {
		free(s);
		return SL_ERR_NOMEM;
	}
	(*out)[n] = '\n';
	(*out)[n + 1] = '\0';
	*len = n + 1;
	return 0;
}

void
contract_roles_text(const struct contract *c, unsigned roles, char *out, size_t outlen)
{
	size_t i, at = 0;

	out[0] = '\0';
	for (i = 0; i < c->nparties; i++) {
		const struct contract_party *p = &c->parties[i];

		if (!(roles & (1u << p->role)) || at >= outlen)
			continue;
		at += (size_t)snprintf(out + at, outlen - at, "%s%s (%s)", at ? ", " : "", p->name,
		    contract_role_name(p->role));
	}
}
