/*
 * tests/unit/broker/db_test.c -- the catalog database handle: connection
 * settings, schema migration (fresh, repeated, and refused for a newer
 * database), transactions, and the mapping of SQLite failures to error codes.
 * Results are read back through SQLite directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "broker/db.h"
#include "common/err.h"
#include "common/file.h"
#include "tests/unit/vectors.h"

struct fixture {
	char *tmp;
	char *path; /* tmp/sluice.db, not yet created */
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->tmp = vec_tmpdir();
	fx->path = sl_path_join(fx->tmp, "sluice.db");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->path);
	vec_rmtree(fx->tmp);
	free(fx);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* The single integer that sql yields. */
static long long
query_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	return v;
}

/* The single text that sql yields, in a new string (free()); "" for NULL. */
static char *
query_text(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	char *v;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	t = sqlite3_column_text(st, 0);
	v = strdup(t != NULL ? (const char *)t : "");
	assert_non_null(v);
	sqlite3_finalize(st);
	return v;
}

static int
table_exists(sqlite3 *h, const char *name)
{
	sqlite3_stmt *st = NULL;
	int n;

	assert_int_equal(sqlite3_prepare_v2(h,
	                     "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?",
	                     -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A whole description of the schema, to compare before and after. */
static char *
schema_dump(sqlite3 *h)
{
	return query_text(h,
	    "SELECT group_concat(type || ':' || name || ':' || ifnull(sql, ''), '\n')"
	    " FROM (SELECT * FROM sqlite_schema ORDER BY type, name)");
}

/* A fresh, migrated database at fx->path. */
static struct db *
open_migrated(struct fixture *fx)
{
	struct db *db = NULL;

	assert_int_equal(db_open(fx->path, 1, &db), 0);
	assert_non_null(db);
	assert_int_equal(db_migrate(db), 0);
	return db;
}

/* A second, independent connection to path, for looking from outside. */
static sqlite3 *
raw_open(const char *path)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return h;
}

/* ---- opening and migrating ---------------------------------------------- */

static void
test_open_migrate(void **state)
{
	struct fixture *fx = *state;
	struct db *db = NULL;
	sqlite3 *h;
	char *mode;
	int v = -1;

	assert_int_equal(db_open(fx->path, 1, &db), 0);
	assert_non_null(db);
	h = db_sqlite(db);
	assert_non_null(h);
	assert_int_equal(access(fx->path, F_OK), 0);

	/* db_open() does not migrate. */
	assert_int_equal(db_schema_version(db, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(table_exists(h, "meta"), 0);

	assert_int_equal(db_migrate(db), 0);
	v = -1;
	assert_int_equal(db_schema_version(db, &v), 0);
	assert_int_equal(v, DB_SCHEMA_VERSION);
	assert_int_equal(query_int(h, "PRAGMA user_version"), DB_SCHEMA_VERSION);

	mode = query_text(h, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	assert_int_equal(query_int(h, "PRAGMA synchronous"), 2);
	assert_int_equal(query_int(h, "PRAGMA foreign_keys"), 1);

	assert_int_equal(table_exists(h, "meta"), 1);
	assert_int_equal(table_exists(h, "master_key"), 1);
	assert_int_equal(table_exists(h, "wrapped_keys"), 1);
	assert_int_equal(table_exists(h, "parties"), 1);
	/* Migration left no transaction open. */
	assert_int_equal(sqlite3_get_autocommit(h), 1);
	db_close(db);
}

static void
test_open_settings_on_reopen(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3 *h;
	char *mode;

	db_close(db);
	db = NULL;
	/* Per-connection settings are applied on every open, not only the first. */
	assert_int_equal(db_open(fx->path, 0, &db), 0);
	h = db_sqlite(db);
	mode = query_text(h, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	assert_int_equal(query_int(h, "PRAGMA synchronous"), 2);
	assert_int_equal(query_int(h, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(h, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	db_close(db);
}

static void
test_open_missing(void **state)
{
	struct fixture *fx = *state;
	struct db *db = NULL;

	sl_err_clear();
	assert_int_equal(db_open(fx->path, 0, &db), SL_ERR_NOTFOUND);
	assert_null(db);
	assert_int_equal(access(fx->path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(sl_err_msg(SL_ERR_NOTFOUND), fx->path));
}

static void
test_open_not_a_database(void **state)
{
	struct fixture *fx = *state;
	static const char junk[] = "this is not an SQLite database, not even close to one....";
	struct db *db = NULL;

	assert_int_equal(sl_file_write_new(fx->path, 0600, junk, strlen(junk)), 0);
	assert_int_equal(db_open(fx->path, 0, &db), SL_ERR_DB);
	assert_null(db);
}

static void
test_migrate_idempotent(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3 *h = db_sqlite(db);
	char *before, *after;
	int changes;

	assert_int_equal(db_exec(db, "INSERT INTO meta (key, value) VALUES ('k', 'v')"), 0);
	before = schema_dump(h);
	changes = sqlite3_total_changes(h);

	assert_int_equal(db_migrate(db), 0);
	after = schema_dump(h);
	assert_string_equal(after, before);
	assert_int_equal(sqlite3_total_changes(h), changes);
	assert_int_equal(query_int(h, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	assert_int_equal(
	    query_int(h, "SELECT count(*) FROM meta WHERE key = 'k' AND value = 'v'"), 1);
	free(after);
	db_close(db);

	/* And again after reopening. */
	db = NULL;
	assert_int_equal(db_open(fx->path, 0, &db), 0);
	assert_int_equal(db_migrate(db), 0);
	after = schema_dump(db_sqlite(db));
	assert_string_equal(after, before);
	assert_int_equal(query_int(db_sqlite(db), "SELECT count(*) FROM meta"), 1);
	free(after);
	free(before);
	db_close(db);
}

/*
 * 10 -> 11 numbers the queries already recorded per contract in the order
 * they were submitted (not the order of their rows), and new numbers are
 * unique per contract.
 */
static void
test_migrate_query_seq(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3 *h = db_sqlite(db);

	/* Back to schema 10, with queries of two contracts recorded out of time order. */
	assert_int_equal(db_exec(db, "DROP INDEX queries_contract_seq;"
	                             "ALTER TABLE queries DROP COLUMN seq;"
	                             "PRAGMA user_version = 10;"),
	    0);
	assert_int_equal(
	    db_exec(db,
	        "INSERT INTO queries (id, contract, buyer_fingerprint, text, signature, state,"
	        " reason, submitted, finished) VALUES"
	        " ('q3', 'cA', 'f', '', x'00', 'refused', 'r', '2026-01-03T00:00:00Z', 'x'),"
	        " ('q1', 'cA', 'f', '', x'00', 'refused', 'r', '2026-01-01T00:00:00Z', 'x'),"
	        " ('p1', 'cB', 'f', '', x'00', 'refused', 'r', '2026-01-02T00:00:00Z', 'x'),"
	        " ('q2', 'cA', 'f', '', x'00', 'refused', 'r', '2026-01-02T00:00:00Z', 'x');"),
	    0);
	assert_int_equal(db_migrate(db), 0);
	assert_int_equal(query_int(h, "PRAGMA user_version"), DB_SCHEMA_VERSION);
	assert_int_equal(query_int(h, "SELECT seq FROM queries WHERE id = 'q1'"), 1);
	assert_int_equal(query_int(h, "SELECT seq FROM queries WHERE id = 'q2'"), 2);
	assert_int_equal(query_int(h, "SELECT seq FROM queries WHERE id = 'q3'"), 3);
	assert_int_equal(query_int(h, "SELECT seq FROM queries WHERE id = 'p1'"), 1);
	/* A number taken twice in one contract is refused; in another it is not. */
	assert_int_equal(
	    db_exec(db,
	        "INSERT INTO queries (id, contract, buyer_fingerprint, text, signature, state,"
	        " reason, submitted, finished, seq) VALUES"
	        " ('q4', 'cA', 'f', '', x'00', 'refused', 'r', 't', 'x', 3)"),
	    SL_ERR_EXISTS);
	assert_int_equal(
	    db_exec(db,
	        "INSERT INTO queries (id, contract, buyer_fingerprint, text, signature, state,"
	        " reason, submitted, finished, seq) VALUES"
	        " ('p2', 'cB', 'f', '', x'00', 'refused', 'r', 't', 'x', 2)"),
	    0);
	db_close(db);
}

static void
test_migrate_newer(void **state)
{
	struct fixture *fx = *state;
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char sql[128], *before, *after;
	int v = -1;

	/* A database from a future Sluice: a newer version and a table we do not know. */
	assert_int_equal(
	    sqlite3_open_v2(fx->path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	    SQLITE_OK);
	snprintf(sql, sizeof(sql),
	    "CREATE TABLE marker (x INTEGER); INSERT INTO marker VALUES (42);"
	    "PRAGMA user_version = %d;",
	    DB_SCHEMA_VERSION + 1);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	before = schema_dump(h);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);

	assert_int_equal(db_open(fx->path, 0, &db), 0);
	sl_err_clear();
	assert_int_equal(db_migrate(db), SL_ERR_VERSION);
	assert_non_null(strstr(sl_err_msg(SL_ERR_VERSION), "newer"));
	assert_non_null(strstr(sl_err_msg(SL_ERR_VERSION), fx->path));
	assert_int_equal(sqlite3_get_autocommit(db_sqlite(db)), 1);
	assert_int_equal(db_schema_version(db, &v), 0);
	assert_int_equal(v, DB_SCHEMA_VERSION + 1);
	/* Asking twice gives the same answer. */
	assert_int_equal(db_migrate(db), SL_ERR_VERSION);
	db_close(db);

	/* Nothing changed, seen from a fresh connection. */
	h = raw_open(fx->path);
	assert_int_equal(query_int(h, "PRAGMA user_version"), DB_SCHEMA_VERSION + 1);
	assert_int_equal(query_int(h, "SELECT x FROM marker"), 42);
	assert_int_equal(table_exists(h, "meta"), 0);
	assert_int_equal(table_exists(h, "parties"), 0);
	after = schema_dump(h);
	assert_string_equal(after, before);
	free(after);
	free(before);
	sqlite3_close(h);
}

/* ---- transactions ------------------------------------------------------- */

static void
test_rollback_discards(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3 *h = db_sqlite(db);

	assert_int_equal(db_begin(db), 0);
	assert_int_equal(sqlite3_get_autocommit(h), 0);
	assert_int_equal(db_exec(db, "INSERT INTO meta (key, value) VALUES ('gone', 'x')"), 0);
	assert_int_equal(query_int(h, "SELECT count(*) FROM meta"), 1);
	db_rollback(db);
	assert_int_equal(sqlite3_get_autocommit(h), 1);
	assert_int_equal(query_int(h, "SELECT count(*) FROM meta"), 0);
	db_close(db);
}

static void
test_commit_keeps(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3 *h;

	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO meta (key, value) VALUES ('kept', 'y')"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(sqlite3_get_autocommit(db_sqlite(db)), 1);
	db_close(db);

	h = raw_open(fx->path);
	assert_int_equal(query_int(h, "SELECT count(*) FROM meta WHERE key = 'kept'"), 1);
	sqlite3_close(h);
}

static void
test_rollback_without_transaction(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3 *h = db_sqlite(db);

	assert_int_equal(db_exec(db, "INSERT INTO meta (key, value) VALUES ('a', '1')"), 0);
	db_rollback(db);
	db_rollback(db);
	/* The autocommitted row stays, and the handle still works. */
	assert_int_equal(query_int(h, "SELECT count(*) FROM meta"), 1);
	assert_int_equal(sqlite3_get_autocommit(h), 1);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_commit(db), 0);
	db_close(db);
}

static void
test_begin_takes_write_lock(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3 *other = raw_open(fx->path);

	sqlite3_busy_timeout(other, 0);
	assert_int_equal(db_begin(db), 0);
	/* Before any write, another writer is already shut out. */
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_BUSY);
	db_rollback(db);
	assert_int_equal(
	    sqlite3_exec(other, "BEGIN IMMEDIATE; ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	db_close(db);
}

static void
test_close_rolls_back(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3 *h;

	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO meta (key, value) VALUES ('open', 'z')"), 0);
	db_close(db);

	h = raw_open(fx->path);
	assert_int_equal(query_int(h, "SELECT count(*) FROM meta"), 0);
	sqlite3_close(h);
}

/* ---- failures ----------------------------------------------------------- */

static void
test_fail_unique(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3_stmt *st = NULL;
	static const char party[] =
	    "INSERT INTO parties (name, role, public_key, fingerprint, certificate, created)"
	    " VALUES ('acme', 'merchant', X'01', 'SHA256:01', 'cert', 'now')";
	static const char same_name[] =
	    "INSERT INTO parties (name, role, public_key, fingerprint, certificate, created)"
	    " VALUES ('acme', 'buyer', X'02', 'SHA256:02', 'cert', 'now')";

	/* A UNIQUE column. */
	assert_int_equal(db_exec(db, party), 0);
	sl_err_clear();
	assert_int_equal(db_exec(db, same_name), SL_ERR_EXISTS);
	assert_non_null(strstr(sl_err_msg(SL_ERR_EXISTS), "UNIQUE constraint failed"));
	assert_non_null(strstr(sl_err_msg(SL_ERR_EXISTS), fx->path));

	/* A PRIMARY KEY. */
	assert_int_equal(db_exec(db, "INSERT INTO meta VALUES ('k', 'v')"), 0);
	assert_int_equal(db_exec(db, "INSERT INTO meta VALUES ('k', 'w')"), SL_ERR_EXISTS);

	/* db_fail() after a failed step of a prepared statement. */
	assert_int_equal(db_prepare(db, same_name, &st), 0);
	/* The handle is opened with SQLITE_OPEN_EXRESCODE: steps return extended codes. */
	assert_int_equal(sqlite3_step(st), SQLITE_CONSTRAINT_UNIQUE);
	sl_err_clear();
	assert_int_equal(db_fail(db, "insert party"), SL_ERR_EXISTS);
	assert_non_null(strstr(sl_err_msg(SL_ERR_EXISTS), "insert party"));
	sqlite3_finalize(st);

	assert_int_equal(query_int(db_sqlite(db), "SELECT count(*) FROM parties"), 1);
	assert_int_equal(query_int(db_sqlite(db), "SELECT count(*) FROM meta"), 1);
	db_close(db);
}

static void
test_check_constraint(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3 *h = db_sqlite(db);
	static const char king[] =
	    "INSERT INTO parties (name, role, public_key, fingerprint, certificate, created)"
	    " VALUES ('arthur', 'king', X'01', 'SHA256:01', 'cert', 'now')";

	assert_int_equal(sqlite3_exec(h, king, NULL, NULL, NULL), SQLITE_CONSTRAINT_CHECK);
	assert_int_equal(sqlite3_extended_errcode(h), SQLITE_CONSTRAINT_CHECK);
	/* Not a uniqueness failure, so not SL_ERR_EXISTS. */
	assert_int_equal(db_exec(db, king), SL_ERR_DB);
	assert_int_equal(query_int(h, "SELECT count(*) FROM parties"), 0);

	/* STRICT tables refuse a value of the wrong type. */
	assert_int_equal(db_exec(db, "INSERT INTO wrapped_keys VALUES"
	                             " ('dek', 'p', 'one', X'00', 'now', NULL)"),
	    SL_ERR_DB);
	assert_int_equal(sqlite3_extended_errcode(h), SQLITE_CONSTRAINT_DATATYPE);
	db_close(db);
}

static void
test_prepare_error(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	sqlite3_stmt *st = (sqlite3_stmt *)&st;

	sl_err_clear();
	assert_int_equal(db_prepare(db, "SELECT * FROM no_such_table", &st), SL_ERR_DB);
	assert_null(st);
	assert_non_null(strstr(sl_err_msg(SL_ERR_DB), "no such table"));
	assert_int_equal(db_exec(db, "NOT SQL AT ALL"), SL_ERR_DB);
	db_close(db);
}

static void
test_stmt_cache(void **state)
{
	struct fixture *fx = *state;
	struct db *db = open_migrated(fx);
	static const char sql[] = "SELECT count(*) FROM meta WHERE key = ?";
	sqlite3_stmt *a = NULL, *b = NULL;

	assert_int_equal(db_exec(db, "INSERT INTO meta VALUES ('k', 'v')"), 0);
	assert_int_equal(db_stmt(db, sql, &a), 0);
	assert_int_equal(sqlite3_bind_text(a, 1, "k", -1, SQLITE_STATIC), SQLITE_OK);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 1);
	/* The same statement comes back reset, with its bindings cleared. */
	assert_int_equal(db_stmt(db, sql, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(sqlite3_step(b), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(b, 0), 0);
	db_stmt_done(b);
	db_close(db);
}

static void
test_close_null(void **state)
{
	db_close(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_migrate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_settings_on_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_not_a_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_idempotent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_query_seq, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_newer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_discards, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_keeps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_without_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_begin_takes_write_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fail_unique, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_constraint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prepare_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stmt_cache, setup, teardown),
	    cmocka_unit_test(test_close_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
