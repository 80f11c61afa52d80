/*
 * tests/fuzz/terms_fuzz.c -- libFuzzer harness for contract terms
 * (contracts/contract.c): the terms.json a merchant hands `contract offer`,
 * and the same members of every contract document a party submits.
 *
 * The input is read as `contract offer --terms` reads its file (jansson,
 * duplicate members refused), then given to contract_terms_parse().  A
 * refusal must be SL_ERR_INVAL (or SL_ERR_NOMEM) with a recorded message and
 * leave the terms zeroed.  Accepted terms must hold every range the query
 * path relies on (purpose length, validity in order, distinct columns,
 * allowed aggregates, a threshold of at least 2 or an exact dp budget with
 * per query <= total, quota, CPU seconds, price, shares summing to 10000,
 * versions in order) and must parse to the very same terms again from their
 * RFC 8785 canonical form, which is what the parties sign, and from
 * jansson's compact form.  Accepted terms are then checked against the
 * claims product at a fixed time (contract_terms_check(): again refused with
 * SL_ERR_INVAL and a message, or accepted); terms that pass both must make a
 * contract (contract_offer() between fixed Ed25519 parties) whose terms are
 * the same, and that document must survive contract_to_text() and
 * contract_parse() with the same terms and the same signed bytes.
 *
 *   make fuzz && ./tests/fuzz/terms_fuzz -max_total_time=60 CORPUS tests/fuzz/corpus/terms
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/err.h"
#include "common/fn.h"
#include "common/jcs.h"
#include "common/rational.h"
#include "common/schema.h"
#include "tests/fuzz/check.h"
#include "tests/fuzz/keys_init.h"
#include "contracts/contract.h"
#include "keys/sign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PURPOSE_MAX 128
#define NOW 1780272000 /* 2026-06-01T00:00:00Z, as tests/unit/contracts/terms_cases.json */

/* examples/claims.schema.json without its prose. */
static const char claims_schema[] =
    "{\"name\": \"claims\", \"columns\": ["
    "{\"name\": \"member_id\", \"type\": \"INT\", \"class\": \"unit\"},"
    "{\"name\": \"age\", \"type\": \"INT\", \"class\": \"dimension\", \"bounds\": [0, 120]},"
    "{\"name\": \"sex\", \"type\": \"TEXT\", \"class\": \"dimension\", \"domain\": [\"F\", \"M\"]},"
    "{\"name\": \"region\", \"type\": \"TEXT\", \"class\": \"dimension\"},"
    "{\"name\": \"plan\", \"type\": \"TEXT\", \"class\": \"dimension\"},"
    "{\"name\": \"dx_chapter\", \"type\": \"TEXT\", \"class\": \"dimension\"},"
    "{\"name\": \"claim_fen\", \"type\": \"INT\", \"class\": \"measure\","
    " \"bounds\": [0, 10000000]},"
    "{\"name\": \"paid_fen\", \"type\": \"INT\", \"class\": \"measure\","
    " \"bounds\": [0, 10000000]},"
    "{\"name\": \"inpatient_days\", \"type\": \"INT\", \"class\": \"measure\","
    " \"bounds\": [0, 365]},"
    "{\"name\": \"year\", \"type\": \"INT\", \"class\": \"dimension\", \"bounds\": [2019, 2025]},"
    "{\"name\": \"admitted\", \"type\": \"DATE\", \"class\": \"dimension\", \"nullable\": true},"
    "{\"name\": \"name\", \"type\": \"TEXT\", \"class\": \"hidden\"}]}";

static const char *const party_names[] = {
    "city-health-bureau", "ningbo-data-ops", "acme-merchant", "acme-buyer", "platform"};
static const char *const share_parties[] = {
    "city-health-bureau", "ningbo-data-ops", "acme-merchant", "platform"};

static struct schema *schema;
static struct keys_pubkey *keys[CONTRACT_ROLES];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct keys_identity *id;
	size_t i;

	(void)argc;
	(void)argv;
	fuzz_keys_init();
	CHECK(schema_parse(claims_schema, strlen(claims_schema), &schema) == 0);
	for (i = 0; i < CONTRACT_ROLES; i++) {
		CHECK(keys_identity_generate(KEYS_SUITE_INTL, &id) == 0);
		CHECK(keys_identity_pubkey(id, &keys[i]) == 0);
		keys_identity_free(id);
	}
	return 0;
}

/* r is a refusal of one of the codes allowed, with a message recorded (NOMEM may have none). */
static void
refused(int r, int a, int b)
{
	CHECK(r == a || r == b || r == SL_ERR_NOMEM);
	CHECK(r == SL_ERR_NOMEM || sl_err_msg(r) != sl_strerror(r));
	CHECK(sl_err_msg(r)[0] != '\0');
}

static int
is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* An accepted rational is reduced, in (0, max], and its text reads back to it. */
static void
rational_ok(struct rational x, struct rational max)
{
	char text[RATIONAL_TEXT_BYTES];
	struct rational back;
	int n;

	CHECK(rational_valid(x) && x.num > 0 && rational_cmp(x, max) <= 0);
	CHECK((n = rational_format(x, text)) > 0);
	CHECK(rational_parse(text, (size_t)n, 0, &back) == 0);
	CHECK(back.num == x.num && back.den == x.den);
}

static void
accepted(const struct contract_terms *t)
{
	const struct rational per_query_max = {CONTRACT_BUDGET_PER_QUERY_MAX, 1},
	                      total_max = {INT32_MAX, 1}, delta_max = {1, 1000};
	int64_t total = 0;
	size_t i, j;

	CHECK(t->purpose != NULL && t->purpose[0] != '\0' && strlen(t->purpose) <= PURPOSE_MAX);
	CHECK(t->valid_until > t->valid_from);
	CHECK(t->ncolumns >= 1 && t->columns != NULL);
	for (i = 0; i < t->ncolumns; i++) {
		CHECK(t->columns[i] != NULL);
		for (j = 0; j < i; j++)
			CHECK(strcmp(t->columns[i], t->columns[j]) != 0);
	}
	CHECK(t->aggregates != 0 && (t->aggregates & ~((1u << FN_AGG_N_) - 1)) == 0);
	if (t->mode == CONTRACT_THRESHOLD) {
		CHECK(t->min_group >= CONTRACT_MIN_GROUP_LEAST && t->min_group <= CONTRACT_INT_MAX);
	} else {
		CHECK(t->mode == CONTRACT_DP);
		CHECK(t->mechanism == CONTRACT_LAPLACE || t->mechanism == CONTRACT_GAUSSIAN);
		rational_ok(t->budget_total, total_max);
		rational_ok(t->budget_per_query, per_query_max);
		rational_ok(t->delta, delta_max);
		CHECK(rational_cmp(t->budget_per_query, t->budget_total) <= 0);
		CHECK(t->max_rows_per_unit >= 1 && t->max_rows_per_unit <= 1000000);
		for (i = 0; i < FN_AGG_N_; i++)
			if (t->aggregates & FN_AGG_BIT(i))
				CHECK(fn_aggs[i].dp);
	}
	CHECK(t->query_quota == -1 || (t->query_quota >= 1 && t->query_quota <= CONTRACT_INT_MAX));
	CHECK(t->max_query_seconds >= CONTRACT_QUERY_SECONDS_MIN &&
	      t->max_query_seconds <= CONTRACT_QUERY_SECONDS_MAX);
	CHECK(t->price_fen >= 0 && t->price_fen <= CONTRACT_INT_MAX);
	if (strcmp(t->purpose, "public_welfare") == 0)
		CHECK(t->price_fen == 0);
	CHECK(t->nshares >= 1 && t->shares != NULL);
	for (i = 0; i < t->nshares; i++) {
		CHECK(t->shares[i].party != NULL);
		CHECK(t->shares[i].bp >= 0 && t->shares[i].bp <= CONTRACT_SHARES_TOTAL);
		for (j = 0; j < i; j++)
			CHECK(strcmp(t->shares[i].party, t->shares[j].party) != 0);
		total += t->shares[i].bp;
	}
	CHECK(total == CONTRACT_SHARES_TOTAL);
	CHECK(t->version_from >= 1 && t->version_from <= INT32_MAX);
	CHECK(t->version_until == 0 ||
	      (t->version_until >= t->version_from && t->version_until <= INT32_MAX));
}

static int
same_rational(struct rational a, struct rational b)
{
	return a.num == b.num && a.den == b.den;
}

/* The share of party in t, or -1. */
static int64_t
share_of(const struct contract_terms *t, const char *party)
{
	size_t i;

	for (i = 0; i < t->nshares; i++)
		if (strcmp(t->shares[i].party, party) == 0)
			return t->shares[i].bp;
	return -1;
}

/* a and b are the same terms; shares in any order (a contract puts them in party order). */
static void
same_terms(const struct contract_terms *a, const struct contract_terms *b)
{
	size_t i;

	CHECK(strcmp(a->purpose, b->purpose) == 0);
	CHECK(a->valid_from == b->valid_from && a->valid_until == b->valid_until);
	CHECK(a->ncolumns == b->ncolumns);
	for (i = 0; i < a->ncolumns; i++)
		CHECK(strcmp(a->columns[i], b->columns[i]) == 0);
	CHECK(a->aggregates == b->aggregates && a->mode == b->mode);
	CHECK(a->min_group == b->min_group && a->mechanism == b->mechanism);
	CHECK(same_rational(a->budget_total, b->budget_total));
	CHECK(same_rational(a->budget_per_query, b->budget_per_query));
	CHECK(same_rational(a->delta, b->delta));
	CHECK(a->max_rows_per_unit == b->max_rows_per_unit && a->query_quota == b->query_quota);
	CHECK(a->max_query_seconds == b->max_query_seconds && a->price_fen == b->price_fen);
	CHECK(a->nshares == b->nshares);
	for (i = 0; i < a->nshares; i++)
		CHECK(share_of(b, a->shares[i].party) == a->shares[i].bp);
	CHECK(a->version_from == b->version_from && a->version_until == b->version_until);
}

/* The terms read back from text (as the canonical or compact form of the accepted ones). */
static void
reparse(const struct contract_terms *t, const char *text, size_t len)
{
	struct contract_terms u;
	json_t *j;

	CHECK((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) != NULL);
	CHECK(contract_terms_parse(j, &u) == 0);
	same_terms(t, &u);
	contract_terms_clear(&u);
	json_decref(j);
}

/* Terms that parse and check make a contract with the same terms, stable as a file. */
static void
offer(const json_t *j, const struct contract_terms *t)
{
	struct contract_offer_party ps[CONTRACT_ROLES];
	struct contract *c = NULL, *d = NULL;
	char *text = NULL, *sa = NULL, *sb = NULL;
	size_t i, len = 0, la = 0, lb = 0;
	int r;

	for (i = 0; i < CONTRACT_ROLES; i++) {
		ps[i].role = (enum contract_role)i;
		ps[i].name = party_names[i];
		ps[i].pk = keys[i];
	}
	sl_err_clear();
	r = contract_offer(j, schema, "claims", ps, CONTRACT_ROLES, KEYS_SUITE_INTL, NOW, &c);
	if (r == SL_ERR_NOMEM)
		return;
	if (r != 0)
		fprintf(stderr, "contract_offer: %s\n", sl_err_msg(r));
	CHECK(r == 0);
	same_terms(t, &c->terms);
	CHECK(contract_to_text(c, &text, &len) == 0);
	CHECK(contract_parse(text, len, &d) == 0);
	same_terms(t, &d->terms);
	CHECK(strcmp(c->id, d->id) == 0 && d->nparties == CONTRACT_ROLES);
	CHECK(contract_signed_bytes(c, &sa, &la) == 0);
	CHECK(contract_signed_bytes(d, &sb, &lb) == 0);
	CHECK(la == lb && memcmp(sa, sb, la) == 0);
	free(sa);
	free(sb);
	free(text);
	contract_free(d);
	contract_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct contract_terms t;
	char *text;
	size_t len;
	json_t *j;
	int r;

	if ((j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	sl_err_clear();
	if ((r = contract_terms_parse(j, &t)) != 0) {
		refused(r, SL_ERR_INVAL, SL_ERR_INVAL);
		CHECK(is_zero(&t, sizeof t));
		json_decref(j);
		return 0;
	}
	accepted(&t);
	/* What the parties sign is the canonical form: it must mean the same terms. */
	CHECK(jcs_serialize(j, &text, &len) == 0);
	reparse(&t, text, len);
	free(text);
	CHECK((text = json_dumps(j, JSON_COMPACT)) != NULL);
	reparse(&t, text, strlen(text));
	free(text);
	sl_err_clear();
	if ((r = contract_terms_check(&t, schema, share_parties, 4, NOW)) != 0)
		refused(r, SL_ERR_INVAL, SL_ERR_INVAL);
	else
		offer(j, &t);
	contract_terms_clear(&t);
	json_decref(j);
	return 0;
}
