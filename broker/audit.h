/*
 * broker/audit.h -- the tamper-evident audit log (docs/audit-format.md).
 *
 * Owns the tables audit_events, audit_tree and audit_checkpoints.  Every
 * state change appends an event in the same SQLite transaction as the change
 * it records, so the two commit together or not at all.
 *
 * An event is the RFC 8785 canonical JSON object
 *     {"action":..,"actor":..,"details":{..},"seq":N,"subject":..,"time":..}
 * with seq counting from 1.  Event seq N is leaf N-1 of an RFC 6962 Merkle
 * tree over the suite's hash.  The tree's frontier (the roots of its perfect
 * subtrees) is stored with the log, so an append costs O(log n) hashes.
 *
 * A checkpoint is the canonical JSON
 *     {"checkpoint":{"format":1,"root":hex,"suite":..,"time":..,"tree_size":N,
 *       "type":"sluice.audit.checkpoint"},"key":fingerprint,"signature":hex}
 * where the signature is the platform identity's over the canonical bytes of
 * the "checkpoint" member.  docs/audit-format.md is the full specification.
 */
#ifndef SLUICE_BROKER_AUDIT_H
#define SLUICE_BROKER_AUDIT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "broker/merkle.h"
#include "keys/hash.h"
#include "keys/suite.h"

struct db;
struct keys_identity;
struct keys_pubkey;

#define AUDIT_FORMAT 1
#define AUDIT_CHECKPOINT_EVERY 1000
#define AUDIT_ACTOR_SYSTEM "system"

/*
 * Append an event in the caller's open transaction.  details is stolen (NULL
 * means {}).  actor is a party name or AUDIT_ACTOR_SYSTEM; action a dotted
 * name such as "party.added".  On success *seq (if not NULL) is the event's
 * seq, which is also the tree's new size.
 */
int audit_append(struct db *db, enum keys_suite suite, const char *actor, const char *action,
    const char *subject, json_t *details, int64_t *seq) __attribute__((warn_unused_result));

/* The current tree size and root (the empty tree's root when size is 0). */
int audit_head(struct db *db, enum keys_suite suite, uint64_t *size, uint8_t root[KEYS_HASH_BYTES])
    __attribute__((warn_unused_result));

/*
 * Sign a checkpoint of the current tree with id and store it, with the tree's
 * frontier, in the caller's open transaction.  Before signing it proves that
 * the stored log is the one the platform signed before, and otherwise signs
 * nothing and returns SL_ERR_AUTH, the message ending "refusing to sign":
 *
 *  - with AUDIT_SIGN_WHOLE (exports), the whole log: every stored checkpoint
 *    verifies with id's key, every leaf is recomputed from its event's bytes,
 *    the tree rebuilt from those leaves has each checkpoint's root at its
 *    size and the stored frontier's root at its end (audit_tree_check());
 *    O(events);
 *  - without (the checkpoint every AUDIT_CHECKPOINT_EVERY events), what
 *    follows the newest checkpoint: it verifies with id's key, the frontier
 *    stored with it has its signed root, and that frontier extended by the
 *    leaves recomputed from the later events is the stored frontier.  So the
 *    tree signed extends the one signed before whatever the database holds
 *    before it; an edit there is found by the next export.  O(events since
 *    the newest checkpoint), and the checkpoints.log check below reads a
 *    line per checkpoint.  A newest checkpoint stored without a frontier
 *    (signed before schema 10) is checked as with AUDIT_SIGN_WHOLE.
 *
 * Either way checkpoints.log (log, when not NULL) must be a prefix of the
 * stored checkpoints (audit_cplog_check()).  When a checkpoint of this size is
 * already stored, it is returned instead of a second one.  On success, if out
 * is not NULL, *out is the checkpoint document (caller decrefs).
 */
#define AUDIT_SIGN_WHOLE 0x1
struct audit_cplog;
int audit_checkpoint(struct db *db, enum keys_suite suite, const struct keys_identity *id,
    struct audit_cplog *log, int flags, json_t **out) __attribute__((warn_unused_result));

/* A signed tree head: the root of the first size events. */
struct audit_signed {
	uint64_t size;
	uint8_t root[KEYS_HASH_BYTES];
};

#define AUDIT_CHECK_EVENTS 0x1   /* each leaf must be H(0x00 || its event's bytes) */
#define AUDIT_CHECK_FRONTIER 0x2 /* walk the whole log; the stored frontier must agree */

/*
 * Rebuild the tree from the stored leaf column in one pass in seq order (never
 * from audit_tree, which a writer of the database could recompute to match an
 * edit) and check that its root at heads[i].size is heads[i].root, for heads
 * sorted by ascending size.  Without AUDIT_CHECK_FRONTIER the walk stops at
 * the last head.  SL_ERR_AUTH naming the first disagreement: a missing event,
 * an event whose bytes no longer give its leaf, a checkpoint the events no
 * longer match, a stored frontier that is not the leaves'.
 */
int audit_tree_check(struct db *db, enum keys_suite suite, const struct audit_signed *heads,
    size_t nheads, int flags) __attribute__((warn_unused_result));

/*
 * Check a verified head against the frontier stored with its checkpoint: the
 * frontier's root must be head->root.  O(1); it proves the stored frontier,
 * not the stored leaves.  A checkpoint stored without a frontier (signed
 * before schema 10) is checked against the stored leaves instead
 * (audit_tree_check(), O(head->size)).  SL_ERR_AUTH when they disagree.
 */
int audit_signed_check(struct db *db, enum keys_suite suite, const struct audit_signed *head)
    __attribute__((warn_unused_result));

/*
 * Check a checkpoint document: its shape, and its signature with pk.  On
 * success fills size, root and suite.  SL_ERR_PARSE for a malformed document
 * (message says which field), SL_ERR_AUTH for a bad signature.
 */
int audit_checkpoint_verify(const json_t *cp, const struct keys_pubkey *pk, uint64_t *size,
    uint8_t root[KEYS_HASH_BYTES], enum keys_suite *suite) __attribute__((warn_unused_result));

/* The leaf hash of event seq (1-based), read from the log. */
int audit_leaf(struct db *db, uint64_t seq, uint8_t out[KEYS_HASH_BYTES])
    __attribute__((warn_unused_result));

/* The root of the first size events: from a stored checkpoint, else recomputed. */
int audit_root_at(struct db *db, enum keys_suite suite, uint64_t size,
    uint8_t root[KEYS_HASH_BYTES]) __attribute__((warn_unused_result));

/* The frontier of the first size events, rebuilt from their leaf hashes (O(size)). */
int audit_frontier_at(struct db *db, enum keys_suite suite, uint64_t size,
    struct merkle_frontier *f) __attribute__((warn_unused_result));

/* RFC 6962 consistency proof from tree size m to n of the log. */
int audit_consistency_proof(struct db *db, enum keys_suite suite, uint64_t m, uint64_t n,
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *len)
    __attribute__((warn_unused_result));

/* Filters for audit_list(); NULL members match everything. */
struct audit_filter {
	const char *action;
	const char *actor;
	const char *from;  /* RFC 3339, inclusive */
	const char *until; /* RFC 3339 or a prefix of one ("2026-11-28"), inclusive */
	int64_t seq_from;  /* 0: no bound */
	int64_t seq_until; /* 0: no bound */
};

/*
 * Call fn for each matching event in seq order with its canonical bytes and
 * leaf hash (both borrowed for the call).  A non-zero return from fn stops
 * the walk and is returned.
 */
int audit_list(struct db *db, const struct audit_filter *f,
    int (*fn)(
        void *arg, int64_t seq, const char *event, size_t len, const uint8_t leaf[KEYS_HASH_BYTES]),
    void *arg) __attribute__((warn_unused_result));

/* ---- actions: what a party asks (broker/actor.h) ------------------------------
 *
 * The caller's proven key (NULL: the platform), a request, the result; on
 * failure *field is the request's field at fault (ACTOR_FIELD for the
 * caller), else NULL.  audit_list() and audit_verify_file() (broker/
 * audit_file.h) are already the actions `audit show` and `audit verify`.
 */
struct exchange;
struct keys_pubkey;

struct audit_export_request {
	int csv;              /* CSV for spreadsheets instead of JSON Lines */
	uint64_t from, until; /* event range, 1-based inclusive; 0: from the first, to the last */
	const json_t *since;  /* an earlier checkpoint to prove consistency from, or NULL */
	const char *name;     /* the export's name, the audit event's subject */
	int progress;         /* report progress on stderr */
};

/*
 * `audit export`, by the platform or an auditor: check req->since against
 * this log (*field "since": not this platform's, longer than the log, or
 * another history), record audit.exported and sign a checkpoint of the log
 * with it in one transaction, then write the export of that tree to out
 * (*field "from" for a range beyond it).  *checkpoint is the signed
 * checkpoint, as `--since` reads it back; the caller decrefs it.  On error
 * out holds a partial file the caller discards.
 */
int audit_act_export(struct exchange *ex, const struct keys_pubkey *caller,
    const struct audit_export_request *req, FILE *out, json_t **checkpoint, const char **field)
    __attribute__((warn_unused_result));

/*
 * The newest signed checkpoint, for the platform or an auditor (as
 * audit_act_export()'s caller rule); SL_ERR_NOTFOUND when none is signed yet.
 */
int audit_act_checkpoint(struct exchange *ex, const struct keys_pubkey *caller, json_t **cp,
    const char **field) __attribute__((warn_unused_result));

#endif
