/*
 * broker/db.c -- the catalog database handle and its migrations.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/db.h"
#include "common/err.h"

#define DB_BUSY_TIMEOUT_MS 10000
#define DB_STMT_CACHE 64

struct db {
	sqlite3 *h;
	char *path;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[DB_STMT_CACHE];
	size_t ncache;
	int (*on_commit)(void *);
	void *on_commit_arg;
};

/*
 * Migrations: entry i takes the schema from version i to i + 1.  Entries are
 * never edited once released; a change is a new entry.
 */
static const char *const db_migrations[DB_SCHEMA_VERSION] = {
    /* 0 -> 1: the data directory (docs/store-format.md), foundation tables. */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE master_key ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  source TEXT NOT NULL CHECK (source IN ('file', 'passphrase')),"
    "  version INTEGER NOT NULL CHECK (version >= 1),"
    "  kdf_salt BLOB,"
    "  kdf_opslimit INTEGER,"
    "  kdf_memlimit INTEGER,"
    "  check_blob BLOB NOT NULL,"
    "  changed TEXT NOT NULL,"
    "  CHECK ((source = 'file') = (kdf_salt IS NULL))"
    ") STRICT;"
    "CREATE TABLE wrapped_keys ("
    "  kind TEXT NOT NULL CHECK (kind IN ('dek', 'secret')),"
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL CHECK (version >= 0),"
    "  blob BLOB NOT NULL,"
    "  created TEXT NOT NULL,"
    "  retired TEXT,"
    "  PRIMARY KEY (kind, name, version)"
    ") STRICT;"
    "CREATE TABLE parties ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN"
    "    ('platform', 'holder', 'operator', 'merchant', 'buyer', 'auditor')),"
    "  public_key BLOB NOT NULL UNIQUE,"
    "  fingerprint TEXT NOT NULL UNIQUE,"
    "  certificate TEXT NOT NULL,"
    "  created TEXT NOT NULL"
    ") STRICT;"
    /* The audit log (broker/audit.c): append-only, enforced here too. */
    "CREATE TABLE audit_events ("
    "  seq INTEGER PRIMARY KEY CHECK (seq >= 1),"
    "  time TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  event BLOB NOT NULL,"
    "  leaf BLOB NOT NULL CHECK (length(leaf) = 32)"
    ") STRICT;"
    "CREATE INDEX audit_events_action ON audit_events (action, seq);"
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events"
    "  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
    "  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;"
    "CREATE TABLE audit_tree ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  size INTEGER NOT NULL CHECK (size >= 0),"
    "  frontier BLOB NOT NULL"
    ") STRICT;"
    "CREATE TABLE audit_checkpoints ("
    "  tree_size INTEGER PRIMARY KEY,"
    "  root BLOB NOT NULL CHECK (length(root) = 32),"
    "  time TEXT NOT NULL,"
    "  document TEXT NOT NULL"
    ") STRICT;",
    /* 1 -> 2: data products and their versions (broker/product.c). */
    "CREATE TABLE products ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  schema TEXT NOT NULL,"
    "  merchant INTEGER NOT NULL REFERENCES parties (id),"
    "  holder INTEGER REFERENCES parties (id),"
    "  operator INTEGER REFERENCES parties (id),"
    "  key_version INTEGER NOT NULL CHECK (key_version >= 1),"
    "  created TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE product_versions ("
    "  product INTEGER NOT NULL REFERENCES products (id),"
    "  version INTEGER NOT NULL CHECK (version >= 1),"
    "  key_version INTEGER NOT NULL,"
    "  rows INTEGER NOT NULL CHECK (rows >= 0),"
    "  chunks INTEGER NOT NULL CHECK (chunks >= 0),"
    "  bytes INTEGER NOT NULL CHECK (bytes >= 0),"
    "  state TEXT NOT NULL CHECK (state IN ('published', 'dropped')),"
    "  created TEXT NOT NULL,"
    "  PRIMARY KEY (product, version)"
    ") STRICT;",
    /*
     * 2 -> 3: usage contracts (broker/contracts.c).  body is the canonical
     * form every party signed; document adds the signatures.  The quota is
     * enforced here too, so concurrent brokers cannot overrun it.
     */
    "CREATE TABLE contracts ("
    "  id TEXT PRIMARY KEY,"
    "  product INTEGER NOT NULL REFERENCES products (id),"
    "  buyer INTEGER NOT NULL REFERENCES parties (id),"
    "  body TEXT NOT NULL,"
    "  document TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('offered', 'signed', 'active', 'revoked')),"
    "  valid_from TEXT NOT NULL,"
    "  valid_until TEXT NOT NULL,"
    "  query_quota INTEGER CHECK (query_quota IS NULL OR query_quota >= 1),"
    "  queries_used INTEGER NOT NULL DEFAULT 0 CHECK (queries_used >= 0"
    "    AND (query_quota IS NULL OR queries_used <= query_quota)),"
    "  created TEXT NOT NULL,"
    "  activated TEXT,"
    "  revoked TEXT,"
    "  revoked_by TEXT,"
    "  revoke_reason TEXT,"
    "  CHECK ((state = 'revoked') = (revoked IS NOT NULL))"
    ") STRICT;"
    "CREATE INDEX contracts_product ON contracts (product);",
    /*
     * 3 -> 4: buyers' queries (broker/query.c), recorded once finished with
     * their outcome.  (contract, request_id) is unique, so a retried
     * submission finds the first one's answer instead of running again.
     */
    "CREATE TABLE queries ("
    "  id TEXT PRIMARY KEY,"
    "  contract TEXT NOT NULL,"
    "  request_id TEXT,"
    "  buyer_fingerprint TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  signature BLOB NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('released', 'refused', 'failed')),"
    "  version INTEGER,"
    "  answer TEXT,"
    "  reason TEXT,"
    "  charged_fen INTEGER NOT NULL DEFAULT 0 CHECK (charged_fen >= 0),"
    "  submitted TEXT NOT NULL,"
    "  finished TEXT NOT NULL,"
    "  CHECK ((state = 'released') = (answer IS NOT NULL)),"
    "  UNIQUE (contract, request_id)"
    ") STRICT;",
    /*
     * 4 -> 5: the revenue ledger (broker/ledger.c), double entry in fen.  An
     * account is a party's (same id) or, id 0, the adjustment account that
     * takes income above a product's monthly cap.  A transaction must be
     * sealed before its SQLite transaction commits (the deferred foreign
     * key), and a seal is refused unless its postings sum to zero; sealed
     * transactions take no more postings, and nothing is updated or deleted.
     */
    "CREATE TABLE ledger_accounts ("
    "  id INTEGER PRIMARY KEY CHECK (id >= 0),"
    "  party INTEGER UNIQUE REFERENCES parties (id),"
    "  balance_fen INTEGER NOT NULL DEFAULT 0,"
    "  CHECK (party IS NULL AND id = 0 OR party = id)"
    ") STRICT;"
    "INSERT INTO ledger_accounts (id, party) VALUES (0, NULL);"
    "CREATE TABLE ledger_transactions ("
    "  id INTEGER PRIMARY KEY CHECK (id >= 1),"
    "  query TEXT NOT NULL UNIQUE REFERENCES queries (id),"
    "  contract TEXT NOT NULL REFERENCES contracts (id),"
    "  product INTEGER NOT NULL REFERENCES products (id),"
    "  time TEXT NOT NULL,"
    "  month TEXT NOT NULL CHECK (month = substr(time, 1, 7)),"
    "  price_fen INTEGER NOT NULL CHECK (price_fen >= 0),"
    "  parties_fen INTEGER NOT NULL CHECK (parties_fen >= 0),"
    "  adjustment_fen INTEGER NOT NULL CHECK (adjustment_fen >= 0),"
    "  sealed INTEGER NOT NULL REFERENCES ledger_seals (txn) DEFERRABLE INITIALLY DEFERRED,"
    "  CHECK (parties_fen + adjustment_fen = price_fen),"
    "  CHECK (sealed = id)"
    ") STRICT;"
    "CREATE INDEX ledger_transactions_month ON ledger_transactions (product, month);"
    "CREATE INDEX ledger_transactions_time ON ledger_transactions (time);"
    "CREATE TABLE ledger_postings ("
    "  txn INTEGER NOT NULL REFERENCES ledger_transactions (id),"
    "  account INTEGER NOT NULL REFERENCES ledger_accounts (id),"
    "  amount_fen INTEGER NOT NULL,"
    "  PRIMARY KEY (txn, account)"
    ") STRICT;"
    "CREATE INDEX ledger_postings_account ON ledger_postings (account, txn);"
    "CREATE TABLE ledger_seals ("
    "  txn INTEGER PRIMARY KEY REFERENCES ledger_transactions (id)"
    ") STRICT;"
    "CREATE TABLE ledger_caps ("
    "  product INTEGER PRIMARY KEY REFERENCES products (id),"
    "  monthly_fen INTEGER NOT NULL CHECK (monthly_fen >= 0),"
    "  set_time TEXT NOT NULL,"
    "  set_by TEXT NOT NULL"
    ") STRICT;"
    "CREATE TRIGGER ledger_seal_balanced BEFORE INSERT ON ledger_seals"
    "  WHEN (SELECT count(*) FROM ledger_postings WHERE txn = NEW.txn) < 2"
    "    OR (SELECT sum(amount_fen) FROM ledger_postings WHERE txn = NEW.txn) != 0"
    "  BEGIN SELECT RAISE(ABORT, 'ledger transaction does not balance'); END;"
    "CREATE TRIGGER ledger_postings_open BEFORE INSERT ON ledger_postings"
    "  WHEN EXISTS (SELECT 1 FROM ledger_seals WHERE txn = NEW.txn)"
    "  BEGIN SELECT RAISE(ABORT, 'ledger transaction is sealed'); END;"
    "CREATE TRIGGER ledger_postings_balance AFTER INSERT ON ledger_postings"
    "  BEGIN UPDATE ledger_accounts SET balance_fen = balance_fen + NEW.amount_fen"
    "    WHERE id = NEW.account; END;"
    "CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings"
    "  BEGIN SELECT RAISE(ABORT, 'ledger postings are append-only'); END;"
    "CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings"
    "  BEGIN SELECT RAISE(ABORT, 'ledger postings are append-only'); END;"
    "CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions"
    "  BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;"
    "CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions"
    "  BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;"
    "CREATE TRIGGER ledger_seals_no_delete BEFORE DELETE ON ledger_seals"
    "  BEGIN SELECT RAISE(ABORT, 'ledger seals are permanent'); END;",
    /*
     * 5 -> 6: one LMDB environment and one data key per version
     * (docs/store-format.md).  A version records the digest of its sealed manifest;
     * versions of the older one-environment layout have none and are
     * refused by queries (load them again).  The product-wide key version
     * goes: each version's key is "<product>@<version>" in wrapped_keys.
     * A product may have a size limit.  A query row keeps a hash of its
     * text (a refused query's text is kept once, in its audit event), and
     * the rate limit counts a contract's recent submissions by time.
     */
    "ALTER TABLE product_versions ADD COLUMN manifest BLOB"
    "  CHECK (manifest IS NULL OR length(manifest) = 32);"
    "ALTER TABLE products DROP COLUMN key_version;"
    "ALTER TABLE products ADD COLUMN max_bytes INTEGER CHECK (max_bytes IS NULL OR max_bytes >= 1);"
    "ALTER TABLE queries ADD COLUMN text_hash BLOB;"
    "CREATE INDEX queries_contract_time ON queries (contract, submitted);",
    /*
     * 6 -> 7: the dp budget (broker/budget.c).  One row per released dp
     * query, its cost an exact rational (epsilon or rho); a contract's spend
     * is the exact sum of its rows, charged in the release's transaction.
     */
    "CREATE TABLE dp_charges ("
    "  query TEXT PRIMARY KEY REFERENCES queries (id) DEFERRABLE INITIALLY DEFERRED,"
    "  contract TEXT NOT NULL REFERENCES contracts (id),"
    "  cost_num INTEGER NOT NULL CHECK (cost_num > 0),"
    "  cost_den INTEGER NOT NULL CHECK (cost_den > 0),"
    "  time TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX dp_charges_contract ON dp_charges (contract, time);",
    /*
     * 7 -> 8: a party's access can end (`party revoke`): from then on its
     * key is no caller's, on the CLI and over HTTPS.  Never undone.
     */
    "ALTER TABLE parties ADD COLUMN revoked TEXT;"
    "ALTER TABLE parties ADD COLUMN revoke_reason TEXT"
    "  CHECK ((revoked IS NULL) = (revoke_reason IS NULL));"
    "CREATE TRIGGER parties_revoked_final BEFORE UPDATE OF revoked ON parties"
    "  WHEN OLD.revoked IS NOT NULL"
    "  BEGIN SELECT RAISE(ABORT, 'a revoked party stays revoked'); END;",
    /*
     * 8 -> 9: sealing a ledger transaction resolves the deferred foreign key
     * from ledger_transactions.sealed, which SQLite looks up in the child
     * table: without this index every seal read the whole ledger.
     */
    "CREATE INDEX ledger_transactions_sealed ON ledger_transactions (sealed);",
    /*
     * 9 -> 10: each checkpoint keeps the frontier of the tree it signs, so the
     * check before the next one starts there (its signed root proves it)
     * instead of rehashing the whole log.  NULL for checkpoints signed before.
     */
    "ALTER TABLE audit_checkpoints ADD COLUMN frontier BLOB"
    "  CHECK (frontier IS NULL OR length(frontier) % 32 = 0);",
    /*
     * 10 -> 11: each query has its place among its contract's submissions
     * (1, 2, ...), so the rate check looks up the submission `limit` places
     * back instead of counting a minute of them: counting cost a millisecond
     * a query at 20,000 queries a minute.  Existing rows are numbered in the
     * order they were submitted.
     */
    "ALTER TABLE queries ADD COLUMN seq INTEGER CHECK (seq IS NULL OR seq >= 1);"
    "UPDATE queries SET seq = o.n FROM (SELECT id, row_number() OVER"
    "  (PARTITION BY contract ORDER BY submitted, rowid) AS n FROM queries) AS o"
    "  WHERE o.id = queries.id;"
    "CREATE UNIQUE INDEX queries_contract_seq ON queries (contract, seq);",
};

int
db_fail(struct db *db, const char *what)
{
	int ext = sqlite3_extended_errcode(db->h), sys = sqlite3_system_errno(db->h);

	/* SQLite says "disk I/O error" for a full disk: say what is wrong and what to do. */
	if (sys == ENOSPC || sys == EDQUOT || (ext & 0xff) == SQLITE_FULL)
		sl_errf(SL_ERR_DB, "%s: %s: %s: the disk is full (%s); free some space and try again",
		    db->path, what, sqlite3_errmsg(db->h), strerror(sys != 0 ? sys : ENOSPC));
	else if (sys != 0 && (ext & 0xff) == SQLITE_IOERR)
		sl_errf(SL_ERR_DB, "%s: %s: %s (%s)", db->path, what, sqlite3_errmsg(db->h),
		    strerror(sys));
	else
		sl_errf(SL_ERR_DB, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return SL_ERR_EXISTS;
	return SL_ERR_DB;
}

int
db_exec(struct db *db, const char *sql)
{
	if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, "exec");
	return 0;
}

int
db_prepare(struct db *db, const char *sql, sqlite3_stmt **stmt)
{
	if (sqlite3_prepare_v2(db->h, sql, -1, stmt, NULL) != SQLITE_OK) {
		*stmt = NULL;
		return db_fail(db, "prepare");
	}
	return 0;
}

int
db_stmt(struct db *db, const char *sql, sqlite3_stmt **stmt)
{
	size_t i;

	for (i = 0; i < db->ncache; i++) {
		if (db->cache[i].sql == sql) {
			sqlite3_reset(db->cache[i].stmt);
			sqlite3_clear_bindings(db->cache[i].stmt);
			*stmt = db->cache[i].stmt;
			return 0;
		}
	}
	if (db->ncache == DB_STMT_CACHE)
		return sl_errf(SL_ERR_INTERNAL, "statement cache full");
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) !=
	    SQLITE_OK) {
		*stmt = NULL;
		return db_fail(db, "prepare");
	}
	db->cache[db->ncache].sql = sql;
	db->cache[db->ncache].stmt = *stmt;
	db->ncache++;
	return 0;
}

int
db_data_version(struct db *db, int64_t version[2])
{
	sqlite3_stmt *st;
	int r;

	/* data_version misses this handle's own commits; the change count covers them. */
	if ((r = db_stmt(db, "PRAGMA data_version", &st)) != 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(db, "data version");
		db_stmt_done(st);
		return r;
	}
	version[0] = sqlite3_column_int64(st, 0);
	version[1] = (int64_t)sqlite3_total_changes64(db->h);
	db_stmt_done(st);
	return 0;
}

void
db_stmt_done(sqlite3_stmt *stmt)
{
	if (stmt != NULL)
		sqlite3_reset(stmt);
}

int
db_open(const char *path, int create, struct db **out)
{
	struct db *db;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int r;

	if (!create && access(path, F_OK) != 0)
		return sl_errf(SL_ERR_NOTFOUND, "%s: no such file", path);
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if ((db = calloc(1, sizeof(*db))) == NULL || (db->path = strdup(path)) == NULL) {
		free(db);
		return SL_ERR_NOMEM;
	}
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		r = sl_errf(SL_ERR_DB, "%s: %s", path,
		    db->h != NULL ? sqlite3_errmsg(db->h) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	/*
	 * WAL lets readers run beside the writer; synchronous=FULL makes each
	 * commit durable, which the ledger and audit log promise.
	 */
	if ((r = db_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	                     "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;")) != 0)
		goto fail;
	*out = db;
	return 0;
fail:
	db_close(db);
	return r;
}

int
db_schema_version(struct db *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_prepare(db, "PRAGMA user_version", &st)) != 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(db, "read schema version");
	} else {
		*version = sqlite3_column_int(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

/* The version is usable, or the message says why not. */
static int
version_check(struct db *db, int v)
{
	if (v < 0)
		return sl_errf(SL_ERR_VERSION, "%s: invalid schema version %d", db->path, v);
	if (v > DB_SCHEMA_VERSION)
		return sl_errf(SL_ERR_VERSION,
		    "%s: schema version %d is newer than this sluice understands (%d); "
		    "use a newer sluice",
		    db->path, v, DB_SCHEMA_VERSION);
	return 0;
}

int
db_migrate(struct db *db)
{
	char pragma[64];
	int v, r;

	/*
	 * The common case, an up-to-date schema, needs no write lock: readers
	 * must not queue behind a writer (WAL) nor write to the file.
	 */
	if ((r = db_schema_version(db, &v)) != 0 || (r = version_check(db, v)) != 0)
		return r;
	if (v == DB_SCHEMA_VERSION)
		return 0;
	/* Migrate under the write lock, reading the version again: another process may have. */
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = db_schema_version(db, &v)) != 0 || (r = version_check(db, v)) != 0)
		goto fail;
	for (; v < DB_SCHEMA_VERSION; v++) {
		if ((r = db_exec(db, db_migrations[v])) != 0)
			goto fail;
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", DB_SCHEMA_VERSION);
	if ((r = db_exec(db, pragma)) != 0 || (r = db_commit(db)) != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return r;
}

/* One statement of no rows, kept prepared: a transaction's BEGIN and COMMIT. */
static int
db_run(struct db *db, const char *sql, const char *what)
{
	sqlite3_stmt *st;
	int r;

	if ((r = db_stmt(db, sql, &st)) != 0)
		return r;
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, what);
	db_stmt_done(st);
	return r;
}

int
db_begin(struct db *db)
{
	return db_run(db, "BEGIN IMMEDIATE", "begin");
}

int
db_commit(struct db *db)
{
	int r;

	if ((r = db_run(db, "COMMIT", "commit")) != 0 || db->on_commit == NULL)
		return r;
	return db->on_commit(db->on_commit_arg);
}

void
db_on_commit(struct db *db, int (*fn)(void *), void *arg)
{
	db->on_commit = fn;
	db->on_commit_arg = arg;
}

void
db_rollback(struct db *db)
{
	if (db != NULL && !sqlite3_get_autocommit(db->h))
		(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3 *
db_sqlite(struct db *db)
{
	return db->h;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	db_rollback(db);
	while (db->ncache > 0)
		sqlite3_finalize(db->cache[--db->ncache].stmt);
	sqlite3_close_v2(db->h);
	free(db->path);
	free(db);
}
