/*
 * broker/party.h -- the parties of an exchange (README.md, "Concepts").
 *
 * Owns the table parties.  A party has a unique name, one role, an identity
 * public key (SPKI DER, unique) and a client certificate from the platform CA.
 */
#ifndef SLUICE_BROKER_PARTY_H
#define SLUICE_BROKER_PARTY_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct exchange;
struct keys_pubkey;
struct keys_ca;

/* The roles, in README.md's order; "platform|holder|...|auditor" for messages. */
#define PARTY_ROLES "platform|holder|operator|merchant|buyer|auditor"

struct party {
	int64_t id;
	char *name;
	char *role;
	char *fingerprint;
	char *created;
	char *certificate;   /* PEM */
	uint8_t *public_key; /* SPKI DER */
	size_t public_key_len;
	char *revoked;       /* when its access ended, or NULL */
	char *revoke_reason; /* why, or NULL */
};

/* Whether role is one of PARTY_ROLES (1) or not (0). */
int party_role_valid(const char *role);

/*
 * Insert a party (in the caller's transaction).  SL_ERR_EXISTS names what
 * clashed: the name or the key.
 */
int party_insert(struct db *db, const char *name, const char *role, const struct keys_pubkey *pk,
    const char *cert_pem) __attribute__((warn_unused_result));

/* Find by name; SL_ERR_NOTFOUND if there is none.  Caller frees with party_clear(). */
int party_find(struct db *db, const char *name, struct party *out)
    __attribute__((warn_unused_result));

/* Find the party whose key is pk; SL_ERR_NOTFOUND if none.  Caller frees with party_clear(). */
int party_find_key(struct db *db, const struct keys_pubkey *pk, struct party *out)
    __attribute__((warn_unused_result));

/*
 * All parties in creation order; *list is an array of *count entries that
 * the caller frees with party_list_free().
 */
int party_list(struct db *db, struct party **list, size_t *count)
    __attribute__((warn_unused_result));

/*
 * End party name's access at time now, for reason (not empty), and audit
 * party.revoked by actor in the same transaction.  SL_ERR_NOTFOUND for no
 * such party, SL_ERR_EXISTS when it is revoked already, SL_ERR_POLICY for
 * the platform's own party.
 */
int party_revoke(struct exchange *ex, const char *name, const char *reason, const char *actor)
    __attribute__((warn_unused_result));

void party_clear(struct party *p);
void party_list_free(struct party *list, size_t count);

#endif
