/*
 * broker/audit_cplog.h -- DIR/checkpoints.log, the append-only copy of every
 * signed checkpoint, beside the database.
 *
 * One line per checkpoint: the exact document stored in audit_checkpoints
 * (its canonical JSON), then "\n", in ascending tree size.  A line is
 * appended (O_APPEND, then fsync) only after its row has committed, so the
 * log is always a prefix of the stored checkpoints: rows may run ahead of it
 * (a crash between the commit and the append, repaired on the next open), but
 * a line without its row means checkpoint rows were deleted from the
 * database.  A writer of sluice.db cannot make the platform sign a rewritten
 * history (audit_checkpoint() checks the log against the signed heads), and
 * cannot hide that by deleting the checkpoint rows, as long as the file keeps
 * its lines; keep it append-only (chattr +a) or copy it off the host.
 * docs/audit-format.md describes it.
 */
#ifndef SLUICE_BROKER_AUDIT_CPLOG_H
#define SLUICE_BROKER_AUDIT_CPLOG_H

#include "keys/suite.h"

struct db;

#define AUDIT_CPLOG_FILE "checkpoints.log"

struct audit_cplog; /* opaque */

/*
 * Open dir/checkpoints.log for db and check it: every line is the stored
 * checkpoint of the same rank, byte for byte (so the line count and order
 * agree with the rows), the last line verifies with the platform key in the
 * catalog, and the frontier stored with it has its root (audit_signed_check()).
 * Checkpoint rows beyond the log are verified with the key, checked against
 * the stored leaves (audit_tree_check()) and appended.
 * When the file is absent (a data directory made before it existed) it is
 * created from the stored checkpoints, each verified.  A read-only file is
 * checked but not repaired.  SL_ERR_AUTH naming the checkpoint when the log
 * and the database disagree.  Caller frees with audit_cplog_free(); db must
 * outlive it.
 */
int audit_cplog_open(struct db *db, enum keys_suite suite, const char *dir,
    struct audit_cplog **out) __attribute__((warn_unused_result));

/*
 * Append the checkpoints committed since the last call (each verified with
 * the platform key) to the log.  For db_on_commit(): arg is the log.  Cheap
 * when there are none: one indexed query.
 */
int audit_cplog_committed(void *arg) __attribute__((warn_unused_result));

/*
 * Check, before signing, that the log is a prefix of the stored checkpoints
 * (as at open; rows of the open transaction are not in the log yet).
 */
int audit_cplog_check(struct audit_cplog *log) __attribute__((warn_unused_result));

/* The path of the log; borrowed, valid until audit_cplog_free(). */
const char *audit_cplog_path(const struct audit_cplog *log);

void audit_cplog_free(struct audit_cplog *log);

#endif
