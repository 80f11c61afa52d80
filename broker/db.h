/*
 * broker/db.h -- the one handle on the catalog database (sluice.db).
 *
 * SQLite in WAL mode with synchronous=FULL and foreign keys on.  The schema
 * is versioned with PRAGMA user_version and migrated forward in one
 * transaction; a database of a newer version is refused.  Modules that own
 * tables (keyring, party, and later catalog, contracts, ledger, audit) keep
 * their SQL to themselves and reach SQLite through db_sqlite(), so a second
 * backend is one module's work (docs/architecture.md).
 */
#ifndef SLUICE_BROKER_DB_H
#define SLUICE_BROKER_DB_H

#include <stdint.h>
#include <sqlite3.h>

/* The schema version this build writes and reads. */
#define DB_SCHEMA_VERSION 11

struct db; /* opaque */

/*
 * Open the database at path (creating it when create is set) and apply the
 * connection settings.  It does not migrate: call db_migrate().  Returns
 * SL_ERR_NOTFOUND when path does not exist and create is 0, SL_ERR_DB for
 * other failures (message recorded with sl_errf).
 */
int db_open(const char *path, int create, struct db **out) __attribute__((warn_unused_result));

/*
 * Bring the schema to DB_SCHEMA_VERSION.  SL_ERR_VERSION if the database was
 * written by a newer Sluice; nothing changes then.
 */
int db_migrate(struct db *db) __attribute__((warn_unused_result));

/* The schema version stored in the database. */
int db_schema_version(struct db *db, int *version) __attribute__((warn_unused_result));

/*
 * Transactions.  db_begin() takes the write lock at once (BEGIN IMMEDIATE) so
 * a transaction never fails half-way for lack of it.  db_rollback() is safe
 * to call when no transaction is open.
 */
int db_begin(struct db *db) __attribute__((warn_unused_result));
int db_commit(struct db *db) __attribute__((warn_unused_result));
void db_rollback(struct db *db);

/*
 * Call fn(arg) after each successful db_commit(), outside any transaction;
 * its error is db_commit()'s, although the commit stands.  The audit log
 * uses it to copy checkpoints out of the database only once they are
 * committed.  fn NULL removes it.
 */
void db_on_commit(struct db *db, int (*fn)(void *), void *arg);

/* Run SQL with no result rows. */
int db_exec(struct db *db, const char *sql) __attribute__((warn_unused_result));

/*
 * Prepare one statement; on success *stmt is finalised by the caller with
 * sqlite3_finalize().  A failure records SQLite's message.
 */
int db_prepare(struct db *db, const char *sql, sqlite3_stmt **stmt)
    __attribute__((warn_unused_result));

/*
 * A prepared statement kept for the life of the handle, for hot paths: sql
 * must be a string literal (the cache is keyed by its address).  The
 * statement is returned reset with no bindings; the caller must not finalise
 * it and should call db_stmt_done() after its last step.
 */
int db_stmt(struct db *db, const char *sql, sqlite3_stmt **stmt)
    __attribute__((warn_unused_result));
void db_stmt_done(sqlite3_stmt *stmt);

/*
 * Record SQLite's current error for the failed step of a statement and return
 * SL_ERR_EXISTS for a UNIQUE/PRIMARY KEY violation or SL_ERR_DB otherwise.
 */
int db_fail(struct db *db, const char *what);

/*
 * A pair that changes whenever the database changes, through this handle
 * (its count of changed rows) or any other (PRAGMA data_version): the key of
 * a cache of what the database holds.
 */
int db_data_version(struct db *db, int64_t version[2]) __attribute__((warn_unused_result));

/* The SQLite handle, borrowed: valid until db_close(). */
sqlite3 *db_sqlite(struct db *db);

/* Close; db may be NULL.  An open transaction is rolled back. */
void db_close(struct db *db);

#endif
