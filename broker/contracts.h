/*
 * broker/contracts.h -- the contracts an exchange has recorded (contracts/contract.h).
 *
 * Owns the table contracts.  The documents themselves are contracts/contract.h;
 * this module keeps their lifecycle:
 *
 *     offered -> signed -> active -> revoked          (expired follows from the clock)
 *
 * A contract is recorded when it is offered; a submission may only add
 * signatures to the very bytes that were offered.  Once the holder, operator,
 * merchant and buyer have signed, the platform countersigns and the contract
 * is active.  Every step is an audit event in the same transaction.
 */
#ifndef SLUICE_BROKER_CONTRACTS_H
#define SLUICE_BROKER_CONTRACTS_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "contracts/contract.h"

struct exchange;
struct contract;
struct keys_pubkey;
struct db;

/* A recorded contract: the document and its catalog state. */
struct contracts_row {
	struct contract *c;
	char *state; /* offered | signed | active | revoked (never "expired": see status) */
	int64_t product_id, buyer_id;
	int64_t queries_used;
	char *created, *activated, *revoked, *revoked_by, *revoke_reason;
};

/*
 * Offer: build the contract for product and buyer from terms (a terms.json
 * object), record it as offered and audit contract.offered with actor as
 * its actor (the merchant when proven, else the platform), in one
 * transaction.  *out is the unsigned contract.
 *
 * publish, when not NULL, is called with the contract inside that
 * transaction, just before it commits (`contract offer` writes --out there),
 * so that a failed publish records nothing: its error is returned and the
 * transaction rolled back.  If publish succeeded but the commit then fails,
 * the error is returned too and the caller undoes what publish did.
 */
int contracts_offer(struct exchange *ex, const char *product, const char *buyer,
    const json_t *terms, const char *actor, int (*publish)(void *arg, const struct contract *c),
    void *arg, struct contract **out) __attribute__((warn_unused_result));

/* What a submission did. */
struct contracts_submitted {
	unsigned new_roles; /* signatures recorded by this submission (1 << role) */
	int activated;      /* the platform countersigned in this submission */
	char state[16];
};

/*
 * Submit c: check its bytes against the recorded offer, verify every
 * signature, record the new ones (contract.signed per party) and, when all
 * but the platform have signed and the contract has not expired,
 * countersign (contract.activated).  All or nothing.  c gains the
 * recorded signatures, so the caller can write the complete document back.
 */
int contracts_submit(struct exchange *ex, struct contract *c, struct contracts_submitted *res)
    __attribute__((warn_unused_result));

/* One recorded contract; SL_ERR_NOTFOUND names the id.  Free with contracts_row_clear(). */
int contracts_find(struct exchange *ex, const char *id, struct contracts_row *out)
    __attribute__((warn_unused_result));

/* All contracts, oldest first.  Free with contracts_list_free(). */
int contracts_list(struct exchange *ex, struct contracts_row **rows, size_t *n)
    __attribute__((warn_unused_result));

/* The state as people see it: the catalog state, or "expired" past valid_until. */
const char *contracts_status(const struct contracts_row *row, time_t now);

/*
 * Revoke by who (a party name: the contract's merchant, holder or the
 * platform; the caller has authenticated it) with a reason; audits
 * contract.revoked.  Revoking twice is SL_ERR_POLICY.
 */
int contracts_revoke(struct exchange *ex, const char *id, const char *who, const char *reason)
    __attribute__((warn_unused_result));

/*
 * The query path's question: may buyer run a query under contract id now?
 * 0 and *out (the contract's row: its terms are the policy) or
 * SL_ERR_NOTFOUND / SL_ERR_POLICY with the reason: not active, not yet valid,
 * expired, revoked, quota used up, or a key that is not the buyer's.
 */
int contracts_authorize(struct exchange *ex, const char *id, const struct keys_pubkey *buyer,
    time_t now, struct contracts_row *out) __attribute__((warn_unused_result));

/*
 * Count one released query against the quota, in the caller's transaction.
 * SL_ERR_POLICY if the quota is used up or the contract is no longer active
 * (another process may have used the last query or revoked it meanwhile).
 */
int contracts_count_query(struct db *db, const char *id) __attribute__((warn_unused_result));

/* ---- actions: what a party asks (broker/actor.h) ------------------------------
 *
 * Each takes the caller's proven key (NULL: the platform), a request and a
 * result, and prints nothing.  On failure *field is the request's field at
 * fault when one is (ACTOR_FIELD for the caller), else NULL.  contracts_submit(),
 * contracts_find() and contracts_list() are already the actions `contract
 * submit`, `show` and `list`.
 */
struct keys_identity;

struct contracts_offer_request {
	const char *product, *buyer;
	const json_t *terms; /* a terms.json object */
	/* contracts_offer()'s hook, called inside its transaction; may be NULL */
	int (*publish)(void *arg, const struct contract *c);
	void *arg;
};

/*
 * `contract offer`: by the product's merchant (then the audit log's actor)
 * or the platform; contracts_offer().  *field "terms" for terms out of
 * their domain.  Free *out with contract_free().
 */
int contracts_act_offer(struct exchange *ex, const struct keys_pubkey *caller,
    const struct contracts_offer_request *req, struct contract **out, const char **field)
    __attribute__((warn_unused_result));

struct contracts_revoke_request {
	const char *id;
	const char *reason;
};

/*
 * `contract revoke`: by a party of the contract (contracts_revoke() says
 * which may) or the platform.  *by is who revoked, the caller frees it.
 */
int contracts_act_revoke(struct exchange *ex, const struct keys_pubkey *caller,
    const struct contracts_revoke_request *req, char **by, const char **field)
    __attribute__((warn_unused_result));

/* What `contract verify` and `contract sign` found. */
struct contracts_verdict {
	struct contract_status st;
	int in_force; /* countersigned and valid at that time */
};

/*
 * `contract verify`, offline: the document's signatures at time now, and
 * with platform not NULL its platform's key must be that one (SL_ERR_AUTH,
 * *field "key").
 */
int contracts_act_verify(const struct contract *c, const struct keys_pubkey *platform, time_t now,
    struct contracts_verdict *out, const char **field) __attribute__((warn_unused_result));

/*
 * `contract sign`, offline: check c at time now, add the signature of id
 * (one of its parties: *role), check it again into *out.
 */
int contracts_act_sign(struct contract *c, const struct keys_identity *id, time_t now,
    enum contract_role *role, struct contracts_verdict *out) __attribute__((warn_unused_result));

json_t *contracts_row_json(const struct contracts_row *row, time_t now, int with_document);

/*
 * `contract list`: {"contracts": [contracts_row_json() ...]} of the
 * contracts caller is a party of (every contract for the platform, an
 * auditor and caller NULL).
 */
int contracts_act_list(struct exchange *ex, const struct keys_pubkey *caller, time_t now,
    json_t **doc) __attribute__((warn_unused_result));

/*
 * `contract show`: one contract for one of its parties, the platform or an
 * auditor; anyone else gets SL_ERR_NOTFOUND, as for an id that does not
 * exist.  *row is filled for the caller (free with contracts_row_clear()).
 */
int contracts_act_find(struct exchange *ex, const struct keys_pubkey *caller, const char *id,
    struct contracts_row *row) __attribute__((warn_unused_result));

void contracts_row_clear(struct contracts_row *row);
void contracts_list_free(struct contracts_row *rows, size_t n);

#endif
