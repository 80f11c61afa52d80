/*
 * tests/fuzz/contract_fuzz.c -- libFuzzer harness for contract documents
 * (contracts/contract.c: contract_parse(), contract_verify()) and the RFC
 * 8785 canonicalisation their signatures cover (common/jcs.c).  `contract
 * sign`, `verify` and `submit` read such a file from whoever sends it, and
 * the broker reads every contract again from its catalog.
 *
 * The input is one document, in a heap copy of exactly its length.
 *
 * First as JSON text for jcs_canonicalize_text(): a refusal is SL_ERR_PARSE
 * ("line:column: " message), SL_ERR_LIMIT or SL_ERR_NOMEM; an accepted text's
 * canonical form must be its own canonical form (canonicalising twice gives
 * the same bytes) and jcs_serialize() of it, read back by jansson (numbers as
 * doubles), must give the same bytes again -- unless a member name holds
 * "\u0000", which jansson cannot read (common/jcs.h).
 *
 * Then as a contract: a refusal is SL_ERR_PARSE, INVAL, VERSION, LIMIT or
 * NOMEM with a recorded message.  An accepted contract must hold what the
 * broker relies on: a well-formed id and product name, 3 to 5 parties in
 * strict role order with merchant, buyer and platform among them, each with
 * a valid name, a key of the document's suite and that key's fingerprint,
 * revenue shares only for non-buyer parties and in party order, signatures
 * of sane length; its signed bytes must be in canonical form.  It must
 * survive contract_to_text() and contract_parse() with the same id, parties,
 * signatures and signed bytes, and the text must then be stable.
 * contract_verify() must answer 0 or SL_ERR_AUTH (with a message) and the
 * same for both copies, with a status whose bits agree; merging the copy's
 * signatures changes nothing.
 *
 *   make fuzz && ./tests/fuzz/contract_fuzz -max_total_time=60 CORPUS tests/fuzz/corpus/contract
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/err.h"
#include "common/jcs.h"
#include "common/text.h"
#include "tests/fuzz/check.h"
#include "tests/fuzz/keys_init.h"
#include "contracts/contract.h"
#include "keys/sign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1780272000 /* 2026-06-01T00:00:00Z */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keys_init();
	return 0;
}

/* r is a refusal of an allowed code with a recorded message (NOMEM may have none). */
static void
refused(int r, int a, int b, int c, int d)
{
	CHECK(r == a || r == b || r == c || r == d || r == SL_ERR_NOMEM);
	CHECK(r == SL_ERR_NOMEM || sl_err_msg(r) != sl_strerror(r));
}

/* Whether the n bytes at p hold "\u0000" as an escape (not "\\u0000"). */
static int
has_nul_escape(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 6 <= n; i++) {
		if (p[i] != '\\')
			continue;
		if (memcmp(p + i, "\\u0000", 6) == 0)
			return 1;
		i++; /* the escaped character */
	}
	return 0;
}

static void
jcs(const char *text, size_t len)
{
	char *c = NULL, *c2 = NULL, *s = NULL;
	size_t clen = 0, c2len = 0, slen = 0;
	json_t *j;
	int r;

	sl_err_clear();
	if ((r = jcs_canonicalize_text(text, len, &c, &clen)) != 0) {
		refused(r, SL_ERR_PARSE, SL_ERR_LIMIT, SL_ERR_LIMIT, SL_ERR_LIMIT);
		if (r == SL_ERR_PARSE)
			CHECK(strchr(sl_err_msg(r), ':') != NULL);
		return;
	}
	CHECK(c != NULL && strlen(c) <= clen && c[clen] == '\0');
	if ((r = jcs_canonicalize_text(c, clen, &c2, &c2len)) == SL_ERR_NOMEM) {
		free(c);
		return;
	}
	CHECK(r == 0);
	CHECK(c2len == clen && memcmp(c, c2, clen) == 0);
	j = json_loadb(c, clen, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
	if (j == NULL) {
		CHECK(has_nul_escape(c, clen));
	} else {
		CHECK(jcs_serialize(j, &s, &slen) == 0);
		CHECK(slen == clen && memcmp(s, c, clen) == 0);
		free(s);
		json_decref(j);
	}
	free(c2);
	free(c);
}

static void
well_formed(const struct contract *c)
{
	const struct contract_terms *t = &c->terms;
	char fp[KEYS_FINGERPRINT_MAX], *sb = NULL, *canon = NULL;
	size_t i, j, at, sblen = 0, clen = 0;

	CHECK(strlen(c->id) == CONTRACT_ID_LEN && strncmp(c->id, "c_", 2) == 0);
	CHECK(strspn(c->id + 2, "0123456789abcdef") == CONTRACT_ID_LEN - 2);
	CHECK(c->suite == KEYS_SUITE_INTL || c->suite == KEYS_SUITE_GM);
	CHECK(c->product != NULL && sl_name_valid(c->product));
	CHECK(c->nparties >= 3 && c->nparties <= CONTRACT_ROLES);
	for (i = 0; i < c->nparties; i++) {
		const struct contract_party *p = &c->parties[i];

		CHECK((unsigned)p->role < CONTRACT_ROLES);
		CHECK(i == 0 || p->role > c->parties[i - 1].role);
		CHECK(p->name != NULL && sl_name_valid(p->name));
		CHECK(p->pk != NULL && keys_pubkey_suite(p->pk) == c->suite);
		CHECK(keys_pubkey_fingerprint(p->pk, fp) == 0 && strcmp(fp, p->fingerprint) == 0);
		CHECK(!p->has_sig || (p->siglen >= 1 && p->siglen <= KEYS_SIG_MAX));
		CHECK(contract_party(c, p->role) == p);
	}
	CHECK(contract_party(c, CONTRACT_MERCHANT) != NULL);
	CHECK(contract_party(c, CONTRACT_BUYER) != NULL);
	CHECK(contract_party(c, CONTRACT_PLATFORM) != NULL);
	/* Shares: parties that may share, in the order of the parties. */
	for (i = 0, at = 0; i < t->nshares; i++) {
		for (j = 0; j < c->nparties; j++)
			if (strcmp(c->parties[j].name, t->shares[i].party) == 0)
				break;
		CHECK(j < c->nparties && c->parties[j].role != CONTRACT_BUYER);
		CHECK(i == 0 || j >= at);
		at = j;
	}
	CHECK(t->valid_until > t->valid_from && t->ncolumns >= 1 && t->nshares >= 1);
	CHECK(contract_signed_bytes(c, &sb, &sblen) == 0);
	CHECK(jcs_canonicalize_text(sb, sblen, &canon, &clen) == 0);
	CHECK(clen == sblen && memcmp(canon, sb, sblen) == 0);
	free(canon);
	free(sb);
}

static void
same_contract(const struct contract *a, const struct contract *b)
{
	char *sa = NULL, *sb = NULL;
	size_t i, la = 0, lb = 0;

	CHECK(strcmp(a->id, b->id) == 0 && a->suite == b->suite);
	CHECK(strcmp(a->product, b->product) == 0 && a->nparties == b->nparties);
	for (i = 0; i < a->nparties; i++) {
		const struct contract_party *p = &a->parties[i], *q = &b->parties[i];

		CHECK(p->role == q->role && strcmp(p->name, q->name) == 0);
		CHECK(
		    strcmp(p->fingerprint, q->fingerprint) == 0 && keys_pubkey_equal(p->pk, q->pk));
		CHECK(p->has_sig == q->has_sig);
		CHECK(!p->has_sig ||
		      (p->siglen == q->siglen && memcmp(p->sig, q->sig, p->siglen) == 0));
	}
	CHECK(contract_signed_bytes(a, &sa, &la) == 0);
	CHECK(contract_signed_bytes(b, &sb, &lb) == 0);
	CHECK(la == lb && memcmp(sa, sb, la) == 0);
	free(sa);
	free(sb);
}

static void
verified(const struct contract *c, int r, const struct contract_status *st)
{
	unsigned present = 0;
	size_t i;

	if (r != 0) {
		CHECK(r == SL_ERR_AUTH || r == SL_ERR_NOMEM);
		CHECK(r == SL_ERR_NOMEM || sl_err_msg(r) != sl_strerror(r));
		return;
	}
	for (i = 0; i < c->nparties; i++) {
		present |= 1u << c->parties[i].role;
		CHECK(!!(st->signed_roles & (1u << c->parties[i].role)) == c->parties[i].has_sig);
	}
	CHECK((st->signed_roles & ~present) == 0);
	CHECK(st->missing_roles == (present & ~st->signed_roles));
	CHECK(st->complete == ((st->missing_roles & ~(1u << CONTRACT_PLATFORM)) == 0));
	CHECK(!st->countersigned || (st->complete && st->missing_roles == 0));
	CHECK(st->complete || !(st->signed_roles & (1u << CONTRACT_PLATFORM)));
}

static void
contract(const char *text, size_t len)
{
	struct contract *c = NULL, *d = NULL, *e = NULL;
	struct contract_status st, st2;
	char *t1 = NULL, *t2 = NULL;
	size_t l1 = 0, l2 = 0;
	int r, r2;

	sl_err_clear();
	if ((r = contract_parse(text, len, &c)) != 0) {
		refused(r, SL_ERR_PARSE, SL_ERR_INVAL, SL_ERR_VERSION, SL_ERR_LIMIT);
		return;
	}
	well_formed(c);
	CHECK(contract_to_text(c, &t1, &l1) == 0);
	CHECK(l1 == strlen(t1) && t1[l1 - 1] == '\n');
	sl_err_clear();
	if ((r = contract_parse(t1, l1, &d)) != 0)
		fprintf(stderr, "contract_parse of contract_to_text: %s\n", sl_err_msg(r));
	CHECK(r == 0);
	same_contract(c, d);
	CHECK(contract_to_text(d, &t2, &l2) == 0);
	CHECK(l1 == l2 && memcmp(t1, t2, l1) == 0);
	sl_err_clear();
	r = contract_verify(c, NOW, &st);
	verified(c, r, &st);
	sl_err_clear();
	r2 = contract_verify(d, NOW, &st2);
	CHECK(r == r2);
	CHECK(r != 0 || memcmp(&st, &st2, sizeof st) == 0);
	/* d has every signature c has: merging them adds none. */
	CHECK(contract_merge_signatures(d, c) == 0);
	free(t2);
	t2 = NULL;
	CHECK(contract_to_text(d, &t2, &l2) == 0);
	CHECK(contract_parse(t2, l2, &e) == 0);
	same_contract(c, e);
	contract_free(e);
	free(t2);
	free(t1);
	contract_free(d);
	contract_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size > 0 ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	jcs(copy, size);
	contract(copy, size);
	free(copy);
	return 0;
}
