/*
 * broker/audit.c -- appending to the audit log, its Merkle tree and signed
 * checkpoints.
 *
 * Trusts: its own tables (written only through here).  Holds: nothing
 * secret; checkpoints are signed with an identity the caller lends.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/audit.h"
#include "broker/audit_cplog.h"
#include "broker/db.h"
#include "broker/merkle.h"
#include "common/err.h"
#include "common/jcs.h"
#include "common/text.h"
#include "keys/sign.h"

#define CHECKPOINT_TYPE "sluice.audit.checkpoint"

/*
 * f from a stored frontier: the perfect subtrees' roots of a tree of size
 * leaves, left to right (audit_tree.frontier and audit_checkpoints.frontier).
 * what names the column in the message.
 */
static int
frontier_parse(enum keys_suite suite, int64_t size, const void *blob, size_t blen, const char *what,
    struct merkle_frontier *f)
{
	uint8_t roots[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES];
	size_t count = blen / MERKLE_HASH_BYTES;

	if (blen % MERKLE_HASH_BYTES != 0 || count > MERKLE_MAX_LEVELS || size < 0)
		return sl_errf(SL_ERR_DB, "%s has a bad length (%zu bytes)", what, blen);
	if (count > 0)
		memcpy(roots, blob, blen);
	if (merkle_frontier_import(
	        f, suite, (uint64_t)size, (const uint8_t(*)[MERKLE_HASH_BYTES])roots, count) != 0)
		return sl_errf(SL_ERR_DB, "%s does not match its size", what);
	return 0;
}

/* The stored frontier of the whole log. */
static int
tree_load(struct db *db, enum keys_suite suite, struct merkle_frontier *f)
{
	sqlite3_stmt *st;
	int r;

	if ((r = merkle_frontier_init(f, suite)) != 0)
		return r;
	if ((r = db_stmt(db, "SELECT size, frontier FROM audit_tree WHERE id = 1", &st)) != 0)
		return r;
	if ((r = sqlite3_step(st)) == SQLITE_DONE)
		r = 0; /* the empty log */
	else if (r != SQLITE_ROW)
		r = db_fail(db, "read audit tree");
	else
		r = frontier_parse(suite, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), "audit tree frontier", f);
	db_stmt_done(st);
	return r;
}

static int
tree_store(struct db *db, const struct merkle_frontier *f)
{
	uint8_t roots[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES];
	sqlite3_stmt *st;
	uint64_t size;
	size_t count;
	int r;

	if ((r = merkle_frontier_export(f, &size, roots, &count)) != 0)
		return r;
	if ((r = db_stmt(db,
	         "INSERT OR REPLACE INTO audit_tree (id, size, frontier) VALUES (1, ?, ?)", &st)) !=
	    0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)size);
	sqlite3_bind_blob(st, 2, roots, (int)(count * MERKLE_HASH_BYTES), SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "write audit tree");
	db_stmt_done(st);
	return r;
}

int
audit_append(struct db *db, enum keys_suite suite, const char *actor, const char *action,
    const char *subject, json_t *details, int64_t *seq)
{
	struct merkle_frontier f;
	uint8_t leaf[MERKLE_HASH_BYTES];
	char now[SL_TIME_RFC3339_LEN], *bytes = NULL;
	size_t len = 0;
	json_t *ev = NULL;
	sqlite3_stmt *st = NULL;
	int64_t next;
	int r;

	if (details == NULL)
		details = json_object();
	if (details == NULL || !json_is_object(details)) {
		json_decref(details);
		return sl_errf(SL_ERR_INVAL, "audit event details must be a JSON object");
	}
	if ((r = tree_load(db, suite, &f)) != 0) {
		json_decref(details);
		return r;
	}
	next = (int64_t)merkle_frontier_size(&f) + 1;
	sl_time_now(now);
	if ((ev = json_pack("{s:s, s:s, s:o, s:I, s:s, s:s}", "action", action, "actor", actor,
	         "details", details, "seq", (json_int_t)next, "subject", subject, "time", now)) ==
	    NULL)
		return sl_errf(SL_ERR_INVAL, "audit event for %s: bad field", action);
	if ((r = jcs_serialize(ev, &bytes, &len)) != 0 ||
	    (r = merkle_hash_leaf(suite, bytes, len, leaf)) != 0 ||
	    (r = merkle_frontier_append(&f, leaf)) != 0)
		goto out;
	if ((r = db_stmt(db,
	         "INSERT INTO audit_events (seq, time, actor, action, subject, event, leaf)"
	         " VALUES (?, ?, ?, ?, ?, ?, ?)",
	         &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, next);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, subject, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, bytes, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, leaf, sizeof(leaf), SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "append audit event");
		goto out;
	}
	if ((r = tree_store(db, &f)) != 0)
		goto out;
	if (seq != NULL)
		*seq = next;
out:
	db_stmt_done(st);
	json_decref(ev);
	free(bytes);
	return r;
}

int
audit_head(struct db *db, enum keys_suite suite, uint64_t *size, uint8_t root[KEYS_HASH_BYTES])
{
	struct merkle_frontier f;
	int r;

	if ((r = tree_load(db, suite, &f)) != 0 || (r = merkle_frontier_root(&f, root)) != 0)
		return r;
	*size = merkle_frontier_size(&f);
	return 0;
}

int
audit_leaf(struct db *db, uint64_t seq, uint8_t out[KEYS_HASH_BYTES])
{
	sqlite3_stmt *st;
	int r;

	if ((r = db_stmt(db, "SELECT leaf FROM audit_events WHERE seq = ?", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == KEYS_HASH_BYTES) {
		memcpy(out, sqlite3_column_blob(st, 0), KEYS_HASH_BYTES);
		r = 0;
	} else {
		r = sl_errf(SL_ERR_DB, "audit event seq %llu missing from the log",
		    (unsigned long long)seq);
	}
	db_stmt_done(st);
	return r;
}

/* merkle_leaf_fn over the log: leaf index i is event seq i + 1. */
static int
leaf_from_db(void *arg, uint64_t index, uint8_t out[MERKLE_HASH_BYTES])
{
	return audit_leaf(arg, index + 1, out);
}

int
audit_root_at(struct db *db, enum keys_suite suite, uint64_t size, uint8_t root[KEYS_HASH_BYTES])
{
	sqlite3_stmt *st;
	int r;

	if ((r = db_stmt(db, "SELECT root FROM audit_checkpoints WHERE tree_size = ?", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)size);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == KEYS_HASH_BYTES) {
		memcpy(root, sqlite3_column_blob(st, 0), KEYS_HASH_BYTES);
		db_stmt_done(st);
		return 0;
	}
	db_stmt_done(st);
	return merkle_root_compute(suite, size, leaf_from_db, db, root);
}

int
audit_frontier_at(struct db *db, enum keys_suite suite, uint64_t size, struct merkle_frontier *f)
{
	uint8_t leaf[MERKLE_HASH_BYTES];
	uint64_t i;
	int r;

	if ((r = merkle_frontier_init(f, suite)) != 0)
		return r;
	for (i = 1; i <= size; i++) {
		if ((r = audit_leaf(db, i, leaf)) != 0 ||
		    (r = merkle_frontier_append(f, leaf)) != 0)
			return r;
	}
	return 0;
}

int
audit_consistency_proof(struct db *db, enum keys_suite suite, uint64_t m, uint64_t n,
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *len)
{
	return merkle_consistency_prove(suite, m, n, leaf_from_db, db, proof, len);
}

/* Check the heads of size merkle_frontier_size(f), from heads[*next] on. */
static int
heads_at(
    const struct merkle_frontier *f, const struct audit_signed *heads, size_t nheads, size_t *next)
{
	uint8_t root[MERKLE_HASH_BYTES];
	uint64_t size = merkle_frontier_size(f);
	int r;

	for (; *next < nheads && heads[*next].size == size; (*next)++) {
		if ((r = merkle_frontier_root(f, root)) != 0)
			return r;
		if (memcmp(root, heads[*next].root, sizeof(root)) != 0)
			return sl_errf(SL_ERR_AUTH,
			    "audit log: the events up to %llu no longer match checkpoint %llu, "
			    "which the platform signed (an event and its leaf were changed in "
			    "the database)",
			    (unsigned long long)size, (unsigned long long)size);
	}
	return 0;
}

/*
 * audit_tree_check() from start (a tree already trusted; NULL: the empty
 * tree) on: the events after it, and the heads from its size on.  When out is
 * not NULL, *out is the tree rebuilt.
 */
static int
tree_walk(struct db *db, enum keys_suite suite, const struct merkle_frontier *start,
    const struct audit_signed *heads, size_t nheads, int flags, struct merkle_frontier *out)
{
	struct merkle_frontier f, stored;
	uint8_t leaf[MERKLE_HASH_BYTES], sroot[MERKLE_HASH_BYTES], root[MERKLE_HASH_BYTES];
	sqlite3_stmt *st = NULL;
	uint64_t expect;
	int64_t limit = INT64_MAX, seq;
	size_t next = 0;
	int r, rc;

	if (!(flags & AUDIT_CHECK_FRONTIER))
		limit = nheads > 0 ? (int64_t)heads[nheads - 1].size : 0;
	if (start != NULL)
		f = *start;
	else if ((r = merkle_frontier_init(&f, suite)) != 0)
		return r;
	expect = merkle_frontier_size(&f) + 1;
	while (next < nheads && heads[next].size < merkle_frontier_size(&f))
		next++;
	if ((r = heads_at(&f, heads, nheads, &next)) != 0)
		return r;
	/* Without the events' bytes, SQLite need not read them (they precede the leaf). */
	if ((r = db_prepare(db,
	         flags & AUDIT_CHECK_EVENTS ? "SELECT seq, event, leaf FROM audit_events"
	                                      " WHERE seq >= ? AND seq <= ? ORDER BY seq"
	                                    : "SELECT seq, NULL, leaf FROM audit_events"
	                                      " WHERE seq >= ? AND seq <= ? ORDER BY seq",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)expect);
	sqlite3_bind_int64(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0);
		if (seq != (int64_t)expect) {
			r = sl_errf(SL_ERR_AUTH,
			    "audit log: event %llu is missing from the database",
			    (unsigned long long)expect);
			goto out;
		}
		if (sqlite3_column_bytes(st, 2) != MERKLE_HASH_BYTES) {
			r = sl_errf(SL_ERR_AUTH, "audit log: event %lld has a bad leaf hash",
			    (long long)seq);
			goto out;
		}
		if (flags & AUDIT_CHECK_EVENTS) {
			if ((r = merkle_hash_leaf(suite, sqlite3_column_blob(st, 1),
			         (size_t)sqlite3_column_bytes(st, 1), leaf)) != 0)
				goto out;
			if (memcmp(leaf, sqlite3_column_blob(st, 2), sizeof(leaf)) != 0) {
				r = sl_errf(SL_ERR_AUTH,
				    "audit log: event %lld no longer matches its leaf hash (its "
				    "bytes "
				    "were changed in the database)",
				    (long long)seq);
				goto out;
			}
		}
		if ((r = merkle_frontier_append(&f, sqlite3_column_blob(st, 2))) != 0 ||
		    (r = heads_at(&f, heads, nheads, &next)) != 0)
			goto out;
		expect++;
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(db, "check the audit log");
		goto out;
	}
	if (next < nheads) {
		r = sl_errf(SL_ERR_AUTH,
		    "audit log: checkpoint %llu covers more events than the database holds "
		    "(%llu): events were removed",
		    (unsigned long long)heads[next].size, (unsigned long long)(expect - 1));
		goto out;
	}
	if (flags & AUDIT_CHECK_FRONTIER) {
		if ((r = tree_load(db, suite, &stored)) != 0 ||
		    (r = merkle_frontier_root(&stored, sroot)) != 0 ||
		    (r = merkle_frontier_root(&f, root)) != 0)
			goto out;
		if (merkle_frontier_size(&stored) != merkle_frontier_size(&f) ||
		    memcmp(sroot, root, sizeof(root)) != 0) {
			r = sl_errf(SL_ERR_AUTH,
			    "audit log: the stored tree head (size %llu) is not the tree of the "
			    "%llu stored leaves (audit_tree was changed in the database)",
			    (unsigned long long)merkle_frontier_size(&stored),
			    (unsigned long long)merkle_frontier_size(&f));
			goto out;
		}
	}
	if (out != NULL)
		*out = f;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int
audit_tree_check(struct db *db, enum keys_suite suite, const struct audit_signed *heads,
    size_t nheads, int flags)
{
	return tree_walk(db, suite, NULL, heads, nheads, flags, NULL);
}

/* The signed body of a checkpoint. */
static json_t *
checkpoint_body(
    enum keys_suite suite, uint64_t size, const uint8_t root[KEYS_HASH_BYTES], const char *time)
{
	char hex[2 * KEYS_HASH_BYTES + 1];

	sl_hex_encode(root, KEYS_HASH_BYTES, hex);
	return json_pack("{s:i, s:s, s:s, s:s, s:I, s:s}", "format", AUDIT_FORMAT, "root", hex,
	    "suite", keys_suite_name(suite), "time", time, "tree_size", (json_int_t)size, "type",
	    CHECKPOINT_TYPE);
}

/*
 * The checkpoint row st stands on (tree_size, root, document), verified with
 * pk: its signature, and that the row's size and root are the document's.
 * *doc (caller decrefs) is the document.
 */
static int
row_check(sqlite3_stmt *st, enum keys_suite suite, const struct keys_pubkey *pk,
    struct audit_signed *head, json_t **doc)
{
	enum keys_suite cs;
	int64_t col = sqlite3_column_int64(st, 0);
	int r;

	*doc = json_loadb((const char *)sqlite3_column_blob(st, 2),
	    (size_t)sqlite3_column_bytes(st, 2), JSON_REJECT_DUPLICATES, NULL);
	if (*doc == NULL)
		return sl_errf(
		    SL_ERR_AUTH, "audit log: stored checkpoint %lld is not JSON", (long long)col);
	sl_err_clear();
	if ((r = audit_checkpoint_verify(*doc, pk, &head->size, head->root, &cs)) != 0)
		return sl_errf(SL_ERR_AUTH, "audit log: stored checkpoint %lld: %s", (long long)col,
		    sl_err_msg(r));
	if (cs != suite || (int64_t)head->size != col ||
	    sqlite3_column_bytes(st, 1) != KEYS_HASH_BYTES ||
	    memcmp(sqlite3_column_blob(st, 1), head->root, KEYS_HASH_BYTES) != 0)
		return sl_errf(SL_ERR_AUTH,
		    "audit log: stored checkpoint %lld: its row disagrees with its signed document",
		    (long long)col);
	return 0;
}

/*
 * Every stored checkpoint, each verified with pk (row_check()).  *heads
 * (caller frees) in ascending size; *last (caller decrefs; NULL when there
 * is none) the newest document.
 */
static int
signed_load(struct db *db, enum keys_suite suite, const struct keys_pubkey *pk,
    struct audit_signed **heads, size_t *n, json_t **last)
{
	struct audit_signed *h = NULL, *nh;
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL;
	size_t count = 0, cap = 0;
	int r, rc;

	*heads = NULL;
	*n = 0;
	*last = NULL;
	if ((r = db_prepare(db,
	         "SELECT tree_size, root, document FROM audit_checkpoints ORDER BY tree_size",
	         &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			size_t bytes;

			cap = cap == 0 ? 16 : 2 * cap;
			if (__builtin_mul_overflow(cap, sizeof(*h), &bytes) ||
			    (nh = realloc(h, bytes)) == NULL) {
				r = SL_ERR_NOMEM;
				goto out;
			}
			h = nh;
		}
		json_decref(doc);
		if ((r = row_check(st, suite, pk, &h[count], &doc)) != 0)
			goto out;
		count++;
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(db, "read checkpoints");
		goto out;
	}
	*heads = h;
	*n = count;
	*last = doc;
	h = NULL;
	doc = NULL;
	r = 0;
out:
	sqlite3_finalize(st);
	json_decref(doc);
	free(h);
	return r;
}

/*
 * The frontier stored with the checkpoint of head->size, proven to be the
 * tree that checkpoint signs: its root is head->root, which no other frontier
 * of that size can hash to.  SL_ERR_NOTFOUND when the row has none (signed
 * before schema 10).
 */
static int
signed_frontier(struct db *db, enum keys_suite suite, const struct audit_signed *head,
    struct merkle_frontier *f)
{
	uint8_t root[MERKLE_HASH_BYTES];
	sqlite3_stmt *st;
	int r;

	if ((r = db_stmt(db, "SELECT frontier FROM audit_checkpoints WHERE tree_size = ?", &st)) !=
	    0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)head->size);
	if (sqlite3_step(st) != SQLITE_ROW)
		r = db_fail(db, "read a checkpoint's frontier");
	else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		r = SL_ERR_NOTFOUND;
	else
		r = frontier_parse(suite, (int64_t)head->size, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), "a checkpoint's stored frontier", f);
	db_stmt_done(st);
	if (r != 0)
		return r;
	if ((r = merkle_frontier_root(f, root)) != 0)
		return r;
	if (memcmp(root, head->root, sizeof(root)) != 0)
		return sl_errf(SL_ERR_AUTH,
		    "audit log: the frontier stored with checkpoint %llu is not the tree it signs "
		    "(audit_checkpoints was changed in the database)",
		    (unsigned long long)head->size);
	return 0;
}

int
audit_signed_check(struct db *db, enum keys_suite suite, const struct audit_signed *head)
{
	struct merkle_frontier f;
	int r;

	if ((r = signed_frontier(db, suite, head, &f)) == SL_ERR_NOTFOUND)
		return audit_tree_check(db, suite, head, 1, 0);
	return r;
}

/*
 * The newest checkpoint, verified with pk (row_check()), and the tree it
 * signs (signed_frontier()).  *last NULL when none is stored; SL_ERR_NOTFOUND
 * when it has no stored frontier.
 */
static int
newest_load(struct db *db, enum keys_suite suite, const struct keys_pubkey *pk, json_t **last,
    struct merkle_frontier *f)
{
	struct audit_signed head;
	sqlite3_stmt *st;
	int r, rc;

	*last = NULL;
	if ((r = db_stmt(db,
	         "SELECT tree_size, root, document FROM audit_checkpoints"
	         " ORDER BY tree_size DESC LIMIT 1",
	         &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r = row_check(st, suite, pk, &head, last);
	else if (rc != SQLITE_DONE)
		r = db_fail(db, "read checkpoints");
	db_stmt_done(st);
	if (r == 0 && *last != NULL)
		r = signed_frontier(db, suite, &head, f);
	else if (r == 0)
		r = merkle_frontier_init(f, suite);
	return r;
}

/*
 * The proof that the stored log is the one the platform signed before
 * (audit_checkpoint()'s contract).  *last as for signed_load(); *tree the
 * tree to sign, rebuilt from the stored events.
 */
static int
checkpoint_precheck(struct db *db, enum keys_suite suite, const struct keys_pubkey *pk,
    struct audit_cplog *log, int flags, json_t **last, struct merkle_frontier *tree)
{
	struct audit_signed *heads = NULL;
	struct merkle_frontier from;
	size_t n = 0;
	int r = SL_ERR_NOTFOUND;

	if (!(flags & AUDIT_SIGN_WHOLE) && (r = newest_load(db, suite, pk, last, &from)) == 0)
		r = tree_walk(
		    db, suite, &from, NULL, 0, AUDIT_CHECK_EVENTS | AUDIT_CHECK_FRONTIER, tree);
	if (r == SL_ERR_NOTFOUND) {
		json_decref(*last);
		if ((r = signed_load(db, suite, pk, &heads, &n, last)) == 0)
			r = tree_walk(db, suite, NULL, heads, n,
			    AUDIT_CHECK_EVENTS | AUDIT_CHECK_FRONTIER, tree);
	}
	if (r == 0 && log != NULL)
		r = audit_cplog_check(log);
	if (r != 0) {
		if (r != SL_ERR_NOMEM)
			r = sl_errf(SL_ERR_AUTH, "%s; refusing to sign", sl_err_msg(r));
		json_decref(*last);
		*last = NULL;
	}
	free(heads);
	return r;
}

int
audit_checkpoint(struct db *db, enum keys_suite suite, const struct keys_identity *id,
    struct audit_cplog *log, int flags, json_t **out)
{
	uint8_t root[KEYS_HASH_BYTES], sig[KEYS_SIG_MAX],
	    roots[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES];
	char now[SL_TIME_RFC3339_LEN], fp[KEYS_FINGERPRINT_MAX], sighex[2 * KEYS_SIG_MAX + 1];
	char *body = NULL, *doc = NULL;
	size_t bodylen = 0, doclen = 0, siglen, count;
	struct keys_pubkey *pk = NULL;
	struct merkle_frontier tree;
	json_t *b = NULL, *cp = NULL, *last = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t size;
	int r;

	sl_time_now(now);
	if ((r = keys_identity_pubkey(id, &pk)) != 0 ||
	    (r = keys_pubkey_fingerprint(pk, fp)) != 0 ||
	    (r = checkpoint_precheck(db, suite, pk, log, flags, &last, &tree)) != 0 ||
	    (r = merkle_frontier_root(&tree, root)) != 0 ||
	    (r = merkle_frontier_export(&tree, &size, roots, &count)) != 0)
		goto out;
	/*
	 * Already signed at this size (the export right after the event that
	 * reached a multiple of AUDIT_CHECKPOINT_EVERY): hand that one out, so a
	 * stored checkpoint is never replaced by another of the same size.
	 */
	if (last != NULL && json_integer_value(json_object_get(json_object_get(last, "checkpoint"),
	                        "tree_size")) == (json_int_t)size) {
		if (out != NULL) {
			*out = last;
			last = NULL;
		}
		r = 0;
		goto out;
	}
	if ((b = checkpoint_body(suite, size, root, now)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if ((r = jcs_serialize(b, &body, &bodylen)) != 0 ||
	    (r = keys_identity_sign(id, body, bodylen, sig, &siglen)) != 0)
		goto out;
	sl_hex_encode(sig, siglen, sighex);
	if ((cp = json_pack("{s:O, s:s, s:s}", "checkpoint", b, "key", fp, "signature", sighex)) ==
	    NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if ((r = jcs_serialize(cp, &doc, &doclen)) != 0)
		goto out;
	if ((r = db_stmt(db,
	         "INSERT INTO audit_checkpoints (tree_size, root, time, document, frontier)"
	         " VALUES (?, ?, ?, ?, ?)",
	         &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)size);
	sqlite3_bind_blob(st, 2, root, KEYS_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, doc, (int)doclen, SQLITE_STATIC);
	/* The next checkpoint's check starts from it (checkpoint_precheck()). */
	sqlite3_bind_blob(st, 5, roots, (int)(count * MERKLE_HASH_BYTES), SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "store checkpoint");
		goto out;
	}
	if (out != NULL) {
		*out = cp;
		cp = NULL;
	}
out:
	db_stmt_done(st);
	json_decref(b);
	json_decref(cp);
	json_decref(last);
	keys_pubkey_free(pk);
	free(body);
	free(doc);
	return r;
}

/* A hex member of exactly n bytes. */
static int
get_hex(const json_t *o, const char *key, uint8_t *out, size_t n)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v) ||
	    sl_hex_decode(json_string_value(v), json_string_length(v), out, n) != 0)
		return sl_errf(SL_ERR_PARSE, "checkpoint: \"%s\" must be %zu bytes of hex", key, n);
	return 0;
}

/*
 * o has no member but those names lists (NULL-terminated); where names the
 * object in the message.  The format is strict so that every verifier
 * accepts the same documents.
 */
static int
members_known(const json_t *o, const char *where, const char *const *names)
{
	const char *key;
	const char *const *n;
	json_t *val;

	json_object_foreach((json_t *)o, key, val) {
		for (n = names; *n != NULL && strcmp(*n, key) != 0; n++)
			;
		if (*n == NULL)
			return sl_errf(SL_ERR_PARSE, "%s: unknown member \"%.64s\"", where, key);
	}
	return 0;
}

int
audit_checkpoint_verify(const json_t *cp, const struct keys_pubkey *pk, uint64_t *size,
    uint8_t root[KEYS_HASH_BYTES], enum keys_suite *suite)
{
	static const char *const outer[] = {"checkpoint", "key", "signature", "type", NULL};
	static const char *const inner[] = {
	    "format", "root", "suite", "time", "tree_size", "type", NULL};
	const json_t *b = json_object_get(cp, "checkpoint"),
	             *sigv = json_object_get(cp, "signature");
	const json_t *ts, *sv, *fv, *tv;
	uint8_t sig[KEYS_SIG_MAX];
	size_t siglen, bodylen = 0;
	char *body = NULL, fp[KEYS_FINGERPRINT_MAX];
	int r;

	if (!json_is_object(cp) || !json_is_object(b))
		return sl_errf(SL_ERR_PARSE, "checkpoint: no \"checkpoint\" object");
	if ((r = members_known(cp, "checkpoint", outer)) != 0 ||
	    (r = members_known(b, "checkpoint: \"checkpoint\"", inner)) != 0)
		return r;
	/* A checkpoint file and an export's line say what they are; the log's lines do not. */
	tv = json_object_get(cp, "type");
	if (tv != NULL && (!json_is_string(tv) || strcmp(json_string_value(tv), "checkpoint") != 0))
		return sl_errf(SL_ERR_PARSE, "checkpoint: \"type\" must be \"checkpoint\"");
	tv = json_object_get(b, "type");
	fv = json_object_get(b, "format");
	ts = json_object_get(b, "tree_size");
	sv = json_object_get(b, "suite");
	if (!json_is_string(tv) || strcmp(json_string_value(tv), CHECKPOINT_TYPE) != 0)
		return sl_errf(
		    SL_ERR_PARSE, "checkpoint: \"type\" must be \"%s\"", CHECKPOINT_TYPE);
	if (!json_is_integer(fv) || json_integer_value(fv) != AUDIT_FORMAT)
		return sl_errf(SL_ERR_PARSE,
		    "checkpoint: unsupported \"format\" (this verifier reads %d)", AUDIT_FORMAT);
	if (!json_is_integer(ts) || json_integer_value(ts) < 0)
		return sl_errf(SL_ERR_PARSE, "checkpoint: \"tree_size\" must be an integer >= 0");
	if (!json_is_string(sv) || keys_suite_parse(json_string_value(sv), suite) != 0)
		return sl_errf(SL_ERR_PARSE, "checkpoint: \"suite\" must be intl or gm");
	if (!json_is_string(json_object_get(b, "time")))
		return sl_errf(SL_ERR_PARSE, "checkpoint: \"time\" missing");
	if ((r = get_hex(b, "root", root, KEYS_HASH_BYTES)) != 0)
		return r;
	if (!json_is_string(sigv) || json_string_length(sigv) % 2 != 0 ||
	    json_string_length(sigv) / 2 > KEYS_SIG_MAX || json_string_length(sigv) == 0)
		return sl_errf(SL_ERR_PARSE, "checkpoint: \"signature\" must be hex");
	siglen = json_string_length(sigv) / 2;
	if (sl_hex_decode(json_string_value(sigv), 2 * siglen, sig, siglen) != 0)
		return sl_errf(SL_ERR_PARSE, "checkpoint: \"signature\" must be hex");
	if (keys_pubkey_suite(pk) != *suite)
		return sl_errf(SL_ERR_AUTH,
		    "checkpoint: signed in suite %s but the key is a %s key", json_string_value(sv),
		    keys_suite_name(keys_pubkey_suite(pk)));
	if (!json_is_string(json_object_get(cp, "key")) || keys_pubkey_fingerprint(pk, fp) != 0 ||
	    strcmp(json_string_value(json_object_get(cp, "key")), fp) != 0)
		return sl_errf(SL_ERR_AUTH, "checkpoint: names signing key %s, not the key %s",
		    json_is_string(json_object_get(cp, "key"))
		        ? json_string_value(json_object_get(cp, "key"))
		        : "(none)",
		    fp);
	if ((r = jcs_serialize(b, &body, &bodylen)) != 0)
		return r;
	r = keys_pubkey_verify(pk, body, bodylen, sig, siglen);
	free(body);
	if (r != 0)
		return sl_errf(SL_ERR_AUTH, "checkpoint: bad signature");
	*size = (uint64_t)json_integer_value(ts);
	return 0;
}

int
audit_list(struct db *db, const struct audit_filter *f,
    int (*fn)(
        void *arg, int64_t seq, const char *event, size_t len, const uint8_t leaf[KEYS_HASH_BYTES]),
    void *arg)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
	         "SELECT seq, event, leaf FROM audit_events WHERE"
	         " (?1 IS NULL OR action = ?1) AND (?2 IS NULL OR actor = ?2) AND"
	         " (?3 IS NULL OR time >= ?3) AND (?4 IS NULL OR substr(time, 1, length(?4)) <= "
	         "?4) AND"
	         " (?5 = 0 OR seq >= ?5) AND (?6 = 0 OR seq <= ?6) ORDER BY seq",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, f->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, f->from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, f->until, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, f->seq_from);
	sqlite3_bind_int64(st, 6, f->seq_until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 2) != KEYS_HASH_BYTES) {
			r = sl_errf(SL_ERR_DB, "audit event %lld: bad leaf hash",
			    (long long)sqlite3_column_int64(st, 0));
			goto out;
		}
		if ((r = fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
		         (size_t)sqlite3_column_bytes(st, 1), sqlite3_column_blob(st, 2))) != 0)
			goto out;
	}
	r = rc == SQLITE_DONE ? 0 : db_fail(db, "list audit events");
out:
	sqlite3_finalize(st);
	return r;
}
