/*
 * broker/actor.h -- who does an action, from the key the caller has proven.
 *
 * Every action of broker/ (product add, contract offer, ledger statements,
 * ...) takes its caller as the public key it proved: the CLI's --identity
 * FILE.key, the daemon's client certificate.  NULL is the operator of the
 * data directory, who holds the platform's keys anyway and acts as the
 * platform.  A refused caller is SL_ERR_POLICY with the action's *field set
 * to ACTOR_FIELD, so that each front end names its own input (the CLI, the
 * key file) before the message.
 */
#ifndef SLUICE_BROKER_ACTOR_H
#define SLUICE_BROKER_ACTOR_H

struct exchange;
struct keys_pubkey;
struct party;

/* The field a refusal of the caller names. */
#define ACTOR_FIELD "identity"

/*
 * The party whose key caller is (caller not NULL).  SL_ERR_POLICY if it is
 * no party's ("not the key of any party of this exchange").  Free *out with
 * party_clear().
 */
int actor_party(struct exchange *ex, const struct keys_pubkey *caller, struct party *out)
    __attribute__((warn_unused_result));

/*
 * The audit log's actor of something party want may do for itself (list a
 * product, load it, offer a contract): EXCHANGE_PLATFORM_NAME for caller
 * NULL; else want, if caller is want's key; otherwise SL_ERR_POLICY naming
 * the party whose key it is and want, as "what" ("the merchant of product
 * claims").  *actor is borrowed: want or a constant.
 */
int actor_as(struct exchange *ex, const struct keys_pubkey *caller, const char *want,
    const char *what, const char **actor) __attribute__((warn_unused_result));

#endif
