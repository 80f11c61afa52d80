/*
 * broker/exchange.h -- a data directory, opened or created.
 *
 * An exchange is DIR with sluice.db, master.key (or a passphrase), stores/,
 * tls/, platform.pub (docs/store-format.md) and checkpoints.log, the signed
 * checkpoints of the audit log (broker/audit_cplog.h), which exchange_open()
 * checks against the database.  Opening it does not touch the
 * master key; exchange_master() loads it on first use, so commands that only
 * read the catalog never hold key material.
 */
#ifndef SLUICE_BROKER_EXCHANGE_H
#define SLUICE_BROKER_EXCHANGE_H

#include <jansson.h>

#include "keys/suite.h"

struct db;
struct keys_master;
struct keys_identity;
struct keys_ca;
struct keys_pubkey;
struct audit_cplog;

#define EXCHANGE_DB "sluice.db"
/* Workers' standard error, for the operator; emptied when it passes the size below. */
#define EXCHANGE_WORKER_LOG "worker.log"
#define EXCHANGE_WORKER_LOG_MAX (16L << 20)
#define EXCHANGE_PLATFORM_PUB "platform.pub"
#define EXCHANGE_PLATFORM_NAME "platform"
#define EXCHANGE_CA_CERT "tls/ca.crt"
#define EXCHANGE_SERVER_CERT "tls/server.crt"
#define EXCHANGE_SERVER_KEY "tls/server.key"

struct exchange; /* opaque */

struct exchange_created {
	enum keys_suite suite;
	char platform_fingerprint[80];
};

/*
 * Create the data directory dir.  dir must not exist, or be an empty
 * directory.  Everything is built in a temporary sibling directory and
 * renamed into place, so a failed init leaves nothing behind.  With
 * passphrase_file, the master key is derived from that passphrase instead of
 * being written to dir/master.key.
 */
int exchange_create(const char *dir, enum keys_suite suite, const char *passphrase_file,
    struct exchange_created *info) __attribute__((warn_unused_result));

/*
 * Open an existing data directory, migrating an older schema forward.
 * passphrase_file (may be NULL) is kept for exchange_master().  Caller frees
 * with exchange_close().
 */
int exchange_open(const char *dir, const char *passphrase_file, struct exchange **out)
    __attribute__((warn_unused_result));

/* DIR/stores/PRODUCT/VERSION holds each product version's store (docs/store-format.md). */
#define EXCHANGE_STORES_DIR "stores"

/* Borrowed; valid until exchange_close(). */
struct db *exchange_db(struct exchange *ex);
const char *exchange_dir(const struct exchange *ex);
enum keys_suite exchange_suite(const struct exchange *ex);

struct schema;

/*
 * A product's schema text json, parsed: kept by ex, so that a query does not
 * parse the same text again (a tenth of a millisecond of every query through
 * the daemon).  Borrowed, valid until the next call on ex or its close; the
 * few texts kept are compared whole, so a changed text is parsed anew.
 */
int exchange_schema(struct exchange *ex, const char *json, const struct schema **out)
    __attribute__((warn_unused_result));
/* DIR/checkpoints.log (broker/audit_cplog.h), checked at open. */
struct audit_cplog *exchange_cplog(struct exchange *ex);

/* The master key, loaded on first call; borrowed, valid until exchange_close(). */
int exchange_master(struct exchange *ex, struct keys_master **mk)
    __attribute__((warn_unused_result));

/*
 * Append an audit event (broker/audit.h) in the caller's open transaction,
 * and sign a checkpoint when the log reaches a multiple of
 * AUDIT_CHECKPOINT_EVERY events.  details is stolen.
 */
int exchange_audit(struct exchange *ex, const char *actor, const char *action, const char *subject,
    json_t *details) __attribute__((warn_unused_result));

/*
 * Rotate the master key (keyring_master_rotate()); afterwards exchange_master()
 * returns the new key.
 */
int exchange_rotate_master(struct exchange *ex, const char *new_passphrase_file)
    __attribute__((warn_unused_result));

/* The platform's signing identity; caller frees with keys_identity_free(). */
int exchange_platform_identity(struct exchange *ex, struct keys_identity **out)
    __attribute__((warn_unused_result));

/* The platform CA with its key; caller frees with keys_ca_free(). */
int exchange_ca(struct exchange *ex, struct keys_ca **out) __attribute__((warn_unused_result));

void exchange_close(struct exchange *ex);

#endif
