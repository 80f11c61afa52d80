/*
 * contracts/contract.h -- usage contracts.
 *
 * A contract is a JSON document signed by each of its parties over its
 * canonical form (RFC 8785, common/jcs.h) with the "signatures" member left
 * out.  Every signature therefore covers every term, every party's name, role
 * and public key, and the contract id; a signature copied from another
 * contract, or made before any change, does not verify.
 *
 *   {"sluice_contract": 1, "id": "c_...", "suite": "intl", "offered_at": "...", "product": {"name": "claims", "versions": {"from": 1}},
 *    "parties": [{"role": "holder", "name": "...", "fingerprint": "...",
 *                 "public_key": "-----BEGIN PUBLIC KEY-----..."}, ...],
 *    <the terms: purpose, valid_from, valid_until, columns, aggregates,
 *     release, query_quota, max_query_seconds, price_fen, revenue_shares>,
 *    "signatures": [{"party": "...", "role": "holder", "signature": "<hex>"}]}
 *
 * Parties come in a fixed role order: holder, operator (when the product has
 * them), merchant, buyer, platform.  The platform signs last (countersigns):
 * docs/contract-format.md.
 *
 * This module needs no database: `contract verify` runs offline.  The catalog
 * side (states, quota, revocation) is broker/contracts.h.
 */
#ifndef SLUICE_CONTRACTS_CONTRACT_H
#define SLUICE_CONTRACTS_CONTRACT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/rational.h"
#include "keys/sign.h"
#include "keys/suite.h"

struct schema;

#define CONTRACT_FORMAT 1
#define CONTRACT_TEXT_MAX (1u << 20)
#define CONTRACT_ID_LEN 34 /* "c_" and 32 hex digits */
#define CONTRACT_SHARES_TOTAL 10000
#define CONTRACT_MIN_GROUP_DEFAULT 10
#define CONTRACT_MIN_GROUP_LEAST 2
#define CONTRACT_INT_MAX 9007199254740992LL /* 2^53: exact in every JSON peer */
/* max_query_seconds: the CPU time one query's worker may use, when the terms do not say. */
#define CONTRACT_QUERY_SECONDS_DEFAULT 30
#define CONTRACT_QUERY_SECONDS_MIN 1
#define CONTRACT_QUERY_SECONDS_MAX 3600

enum contract_role {
	CONTRACT_HOLDER,
	CONTRACT_OPERATOR,
	CONTRACT_MERCHANT,
	CONTRACT_BUYER,
	CONTRACT_PLATFORM,
	CONTRACT_ROLES
};

/*
 * Aggregates a contract may allow are bits FN_AGG_BIT(fn) (common/fn.h).
 * COUNT covers COUNT(*) only: COUNT(DISTINCT column) tells how many values a
 * column takes, which COUNT(*) does not, so a contract allows it by its own
 * name, COUNT_DISTINCT.
 */

enum contract_mode { CONTRACT_THRESHOLD, CONTRACT_DP };
#define CONTRACT_BUDGET_PER_QUERY_MAX 10 /* epsilon or rho one query may spend */
enum contract_mechanism { CONTRACT_LAPLACE, CONTRACT_GAUSSIAN };

struct contract_share {
	char *party;
	int64_t bp; /* basis points */
};

/* The terms: what a buyer may do, for what price.  The policy the query path enforces. */
struct contract_terms {
	char *purpose;
	time_t valid_from, valid_until;
	char **columns;
	size_t ncolumns;
	unsigned aggregates; /* FN_AGG_BIT() of each allowed */
	enum contract_mode mode;
	int64_t min_group;                     /* threshold */
	enum contract_mechanism mechanism;     /* dp */
	/* dp: epsilon (laplace) or rho (gaussian), exact; delta for partition selection */
	struct rational budget_total, budget_per_query, delta;
	int64_t max_rows_per_unit;             /* dp */
	int64_t query_quota;                   /* -1: no cap */
	uint32_t max_query_seconds;            /* CPU seconds per query, 1..3600 (default 30) */
	int64_t price_fen;
	struct contract_share *shares; /* in the order of the document's parties */
	size_t nshares;
	int64_t version_from, version_until; /* product versions; until 0: no end */
};

struct contract_party {
	enum contract_role role;
	char *name;
	char fingerprint[KEYS_FINGERPRINT_MAX];
	struct keys_pubkey *pk;
	int has_sig;
	uint8_t sig[KEYS_SIG_MAX];
	size_t siglen;
};

struct contract {
	json_t *doc; /* the document, signatures included, as last parsed or built */
	char id[CONTRACT_ID_LEN + 1];
	enum keys_suite suite;
	char *product;
	struct contract_party parties[CONTRACT_ROLES];
	size_t nparties; /* in role order; holder/operator may be absent */
	struct contract_terms terms;
};

/* A party filled in by `contract offer`. */
struct contract_offer_party {
	enum contract_role role;
	const char *name;
	const struct keys_pubkey *pk;
};

const char *contract_role_name(enum contract_role r);

/*
 * Parse terms (the terms.json object, or the same members of a contract)
 * with strict field checks: unknown members, wrong types, out-of-range
 * numbers, a share total other than 10000, valid_until not after valid_from.
 * Errors (SL_ERR_INVAL) name the field: "release.min_group: 1 is below 2".
 * Checks that need the product or the clock are contract_terms_check()'s.
 */
int contract_terms_parse(const json_t *terms, struct contract_terms *out)
    __attribute__((warn_unused_result));

/*
 * Check parsed terms against the product (its schema and the names of its
 * parties that may take shares) and the clock at offer time: columns exist
 * and are neither unit nor hidden, measures under SUM/AVG/STDDEV/VARIANCE
 * have bounds, shares name only those parties, valid_until is in the future.
 */
int contract_terms_check(const struct contract_terms *t, const struct schema *s,
    const char *const *share_parties, size_t nshare_parties, time_t now)
    __attribute__((warn_unused_result));

void contract_terms_clear(struct contract_terms *t);

/*
 * Build an unsigned contract from terms (a terms.json object) for product
 * under schema, between parties (one per role present, any order).  The id
 * is fresh and random.  Terms are parsed and checked as above.
 */
int contract_offer(const json_t *terms, const struct schema *schema, const char *product,
    const struct contract_offer_party *parties, size_t nparties, enum keys_suite suite, time_t now,
    struct contract **out) __attribute__((warn_unused_result));

/*
 * Parse a contract document.  Structure only: signatures are decoded, not
 * verified (contract_verify()).  Errors name the field path.
 */
int contract_parse(const char *text, size_t len, struct contract **out)
    __attribute__((warn_unused_result));

/* The bytes every party signs: the canonical form without "signatures".  Free with free(). */
int contract_signed_bytes(const struct contract *c, char **out, size_t *len)
    __attribute__((warn_unused_result));

/*
 * Add id's signature.  SL_ERR_POLICY if id's public key is none of the
 * parties' or that party has signed already; *role gets the party's role.
 */
int contract_sign(struct contract *c, const struct keys_identity *id, enum contract_role *role)
    __attribute__((warn_unused_result));

/* What contract_verify() found, when every present signature is good. */
struct contract_status {
	unsigned signed_roles;  /* bits 1 << role */
	unsigned missing_roles; /* parties present in the document that have not signed */
	int complete;           /* every party but the platform signed */
	int countersigned;      /* ... and the platform too */
	int not_yet_valid;      /* now < valid_from */
	int expired;            /* now >= valid_until */
};

/*
 * Verify every signature present against its party's key over
 * contract_signed_bytes().  SL_ERR_AUTH names the first one that does not
 * verify.  The platform's signature counts only after all the others.
 */
int contract_verify(const struct contract *c, time_t now, struct contract_status *st)
    __attribute__((warn_unused_result));

/* Copy the signatures of other (same signed bytes: caller checked) that c lacks. */
int contract_merge_signatures(struct contract *c, const struct contract *other)
    __attribute__((warn_unused_result));

/* The document as a file holds it: indented JSON and a newline.  Free with free(). */
int contract_to_text(const struct contract *c, char **out, size_t *len)
    __attribute__((warn_unused_result));

/* The party of role, or NULL if the contract has none. */
const struct contract_party *contract_party(const struct contract *c, enum contract_role role);

/* "holder, buyer" style list of the roles in bits, for messages. */
void contract_roles_text(const struct contract *c, unsigned roles, char *out, size_t outlen);

void contract_free(struct contract *c);

#endif
