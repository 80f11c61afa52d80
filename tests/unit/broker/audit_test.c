/*
 * tests/unit/broker/audit_test.c -- the audit log: events commit with their
 * change or not at all, seqs are consecutive, the stored frontier gives the
 * same root as the leaves, checkpoints come every AUDIT_CHECKPOINT_EVERY
 * events and are signed, the tables are append-only, a rewritten log is
 * not signed again, and checkpoints.log catches deleted checkpoint rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/actor.h"
#include "broker/audit.h"
#include "broker/db.h"
#include "broker/enrol.h"
#include "broker/exchange.h"
#include "broker/merkle.h"
#include "broker/party.h"
#include "common/err.h"
#include "common/file.h"
#include "common/jcs.h"
#include "keys/keys.h"
#include "keys/sign.h"
#include "tests/unit/vectors.h"

struct fx {
	char *tmp;
	struct exchange *ex;
	enum keys_suite suite;
};

static int
setup_suite(void **state, enum keys_suite suite)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct exchange_created info;
	char *dir;

	fx->tmp = vec_tmpdir();
	fx->suite = suite;
	dir = sl_path_join(fx->tmp, "x");
	assert_int_equal(exchange_create(dir, suite, NULL, &info), 0);
	assert_int_equal(exchange_open(dir, NULL, &fx->ex), 0);
	free(dir);
	*state = fx;
	return 0;
}

static int
setup_intl(void **state)
{
	return setup_suite(state, KEYS_SUITE_INTL);
}

static int
setup_gm(void **state)
{
	return setup_suite(state, KEYS_SUITE_GM);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	exchange_close(fx->ex);
	vec_rmtree(fx->tmp);
	free(fx);
	return 0;
}

static int64_t
count_events(struct db *db)
{
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(db_prepare(db, "SELECT count(*) FROM audit_events", &st), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A rolled-back transaction takes its events with it; the tree is unchanged. */
static void
test_atomic(void **state)
{
	struct fx *fx = *state;
	struct db *db = exchange_db(fx->ex);
	uint8_t root0[KEYS_HASH_BYTES], root1[KEYS_HASH_BYTES];
	uint64_t size0, size1;
	int64_t seq;

	assert_int_equal(audit_head(db, fx->suite, &size0, root0), 0);
	assert_int_equal(size0, 1); /* exchange.initialized */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(audit_append(db, fx->suite, "platform", "test.one", "s", NULL, &seq), 0);
	assert_int_equal(seq, 2);
	db_rollback(db);
	assert_int_equal(audit_head(db, fx->suite, &size1, root1), 0);
	assert_int_equal(size1, size0);
	assert_memory_equal(root0, root1, KEYS_HASH_BYTES);
	assert_int_equal(count_events(db), 1);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(audit_append(db, fx->suite, "platform", "test.one", "s",
	                     json_pack("{s:i}", "n", 1), &seq),
	    0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(seq, 2);
	/* Details must be an object. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(
	    audit_append(db, fx->suite, "platform", "x", "s", json_integer(3), &seq), SL_ERR_INVAL);
	db_rollback(db);
}

static int
leaf_cb(void *arg, uint64_t index, uint8_t out[MERKLE_HASH_BYTES])
{
	return audit_leaf(arg, index + 1, out);
}

struct collect {
	enum keys_suite suite;
	int64_t next;
};

/* Each stored event is canonical, has the next seq, and its leaf is H(0x00||bytes). */
static int
check_event(
    void *arg, int64_t seq, const char *event, size_t len, const uint8_t leaf[KEYS_HASH_BYTES])
{
	struct collect *c = arg;
	uint8_t want[KEYS_HASH_BYTES];
	char *canon = NULL;
	size_t clen = 0;
	json_t *ev = json_loadb(event, len, 0, NULL);

	assert_non_null(ev);
	assert_int_equal(seq, c->next++);
	assert_int_equal(json_integer_value(json_object_get(ev, "seq")), seq);
	assert_int_equal(jcs_serialize(ev, &canon, &clen), 0);
	assert_int_equal(clen, len);
	assert_memory_equal(canon, event, len);
	assert_int_equal(merkle_hash_leaf(c->suite, event, len, want), 0);
	assert_memory_equal(want, leaf, KEYS_HASH_BYTES);
	free(canon);
	json_decref(ev);
	return 0;
}

/* 2,500 events: checkpoints at 1000 and 2000, roots agree with the leaves. */
static void
test_tree_and_checkpoints(void **state)
{
	struct fx *fx = *state;
	struct db *db = exchange_db(fx->ex);
	struct audit_filter all = {0};
	struct collect c = {fx->suite, 1};
	uint8_t root[KEYS_HASH_BYTES], full[KEYS_HASH_BYTES], cproot[KEYS_HASH_BYTES];
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	enum keys_suite suite;
	sqlite3_stmt *st;
	uint64_t size, cpsize;
	json_t *cp = NULL;
	char name[32];
	int i;

	assert_int_equal(db_begin(db), 0);
	for (i = 0; i < 2499; i++) {
		snprintf(name, sizeof(name), "q%d", i);
		assert_int_equal(
		    exchange_audit(fx->ex, "buyer", "query.released", name,
		        json_pack("{s:i, s:s}", "i", i, "unicode", "\xe2\x82\xac\xf0\x9f\x98\x80")),
		    0);
	}
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(audit_head(db, fx->suite, &size, root), 0);
	assert_int_equal(size, 2500);
	assert_int_equal(merkle_root_compute(fx->suite, size, leaf_cb, db, full), 0);
	assert_memory_equal(root, full, KEYS_HASH_BYTES);
	assert_int_equal(audit_list(db, &all, check_event, &c), 0);
	assert_int_equal(c.next, 2501);

	assert_int_equal(
	    db_prepare(db, "SELECT tree_size FROM audit_checkpoints ORDER BY 1", &st), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 1000);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 2000);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(audit_root_at(db, fx->suite, 1000, cproot), 0);
	assert_int_equal(merkle_root_compute(fx->suite, 1000, leaf_cb, db, full), 0);
	assert_memory_equal(cproot, full, KEYS_HASH_BYTES);

	/* A fresh checkpoint verifies with the platform key, and not once altered. */
	assert_int_equal(exchange_platform_identity(fx->ex, &id), 0);
	assert_int_equal(keys_identity_pubkey(id, &pk), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(audit_checkpoint(db, fx->suite, id, exchange_cplog(fx->ex), 0, &cp), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(audit_checkpoint_verify(cp, pk, &cpsize, cproot, &suite), 0);
	assert_int_equal(cpsize, 2500);
	assert_int_equal(suite, fx->suite);
	assert_memory_equal(cproot, root, KEYS_HASH_BYTES);
	json_object_set_new(json_object_get(cp, "checkpoint"), "tree_size", json_integer(2499));
	assert_int_equal(audit_checkpoint_verify(cp, pk, &cpsize, cproot, &suite), SL_ERR_AUTH);
	json_object_del(json_object_get(cp, "checkpoint"), "root");
	assert_int_equal(audit_checkpoint_verify(cp, pk, &cpsize, cproot, &suite), SL_ERR_PARSE);
	json_decref(cp);
	keys_pubkey_free(pk);
	keys_identity_free(id);
}

/* The database itself refuses to change or drop an event. */
static void
test_append_only(void **state)
{
	struct fx *fx = *state;
	sqlite3 *h = db_sqlite(exchange_db(fx->ex));

	assert_int_not_equal(
	    sqlite3_exec(h, "UPDATE audit_events SET actor = 'x' WHERE seq = 1", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(h), "append-only"));
	assert_int_not_equal(
	    sqlite3_exec(h, "DELETE FROM audit_events", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(count_events(exchange_db(fx->ex)), 1);
}

/* Sign a checkpoint of the current log and commit it. */
static void
sign_now(struct fx *fx, json_t **cp)
{
	struct db *db = exchange_db(fx->ex);
	struct keys_identity *id = NULL;

	assert_int_equal(exchange_platform_identity(fx->ex, &id), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(
	    audit_checkpoint(db, fx->suite, id, exchange_cplog(fx->ex), AUDIT_SIGN_WHOLE, cp), 0);
	assert_int_equal(db_commit(db), 0);
	keys_identity_free(id);
}

static int64_t
count_checkpoints(struct db *db)
{
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(db_prepare(db, "SELECT count(*) FROM audit_checkpoints", &st), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * Event 2 rewritten with its leaf and the stored frontier recomputed: the
 * database agrees with itself, yet the broker refuses to sign, because the
 * leaves no longer give the root it signed at size 3.
 */
static void
test_refuses_rewritten_log(void **state)
{
	struct fx *fx = *state;
	struct db *db = exchange_db(fx->ex);
	sqlite3 *h = db_sqlite(db);
	struct keys_identity *id = NULL;
	struct merkle_frontier f;
	uint8_t leaf[KEYS_HASH_BYTES], roots[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES];
	const char *ev = "{\"action\":\"test.two\",\"actor\":\"platform\",\"details\":{},"
	                 "\"seq\":2,\"subject\":\"forged\",\"time\":\"2026-01-01T00:00:00Z\"}";
	sqlite3_stmt *st;
	uint64_t size;
	size_t count;
	json_t *cp = NULL, *again = NULL;

	assert_int_equal(db_begin(db), 0);
	assert_int_equal(exchange_audit(fx->ex, "platform", "test.two", "s", NULL), 0);
	assert_int_equal(exchange_audit(fx->ex, "platform", "test.three", "s", NULL), 0);
	assert_int_equal(db_commit(db), 0);
	sign_now(fx, &cp);
	/* Signing again at the same size hands out the stored checkpoint. */
	sign_now(fx, &again);
	assert_true(json_equal(cp, again));
	assert_int_equal(count_checkpoints(db), 1);

	assert_int_equal(
	    sqlite3_exec(h, "DROP TRIGGER audit_events_no_update", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(merkle_hash_leaf(fx->suite, ev, strlen(ev), leaf), 0);
	assert_int_equal(
	    db_prepare(db, "UPDATE audit_events SET event = ?, leaf = ? WHERE seq = 2", &st), 0);
	sqlite3_bind_blob(st, 1, ev, (int)strlen(ev), SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, leaf, sizeof(leaf), SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(audit_frontier_at(db, fx->suite, 3, &f), 0);
	assert_int_equal(merkle_frontier_export(&f, &size, roots, &count), 0);
	assert_int_equal(db_prepare(db, "UPDATE audit_tree SET frontier = ? WHERE id = 1", &st), 0);
	sqlite3_bind_blob(st, 1, roots, (int)(count * MERKLE_HASH_BYTES), SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	assert_int_equal(exchange_platform_identity(fx->ex, &id), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(exchange_audit(fx->ex, "platform", "test.four", "s", NULL), 0);
	sl_err_clear();
	assert_int_equal(
	    audit_checkpoint(db, fx->suite, id, NULL, AUDIT_SIGN_WHOLE, NULL), SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "no longer match checkpoint 3"));
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "refusing to sign"));
	/* From checkpoint 3's frontier, event 4 does not give the recomputed one. */
	sl_err_clear();
	assert_int_equal(audit_checkpoint(db, fx->suite, id, NULL, 0, NULL), SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "is not the tree of the 4 stored leaves"));
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "refusing to sign"));
	db_rollback(db);
	assert_int_equal(count_checkpoints(db), 1);
	json_decref(cp);
	json_decref(again);
	keys_identity_free(id);
}

/* Checkpoint rows deleted from the database: checkpoints.log still has them. */
static void
test_cplog_catches_deleted_rows(void **state)
{
	struct fx *fx = *state;
	struct exchange *ex = NULL;
	char *dir = sl_path_join(fx->tmp, "x");
	json_t *cp = NULL;

	sign_now(fx, &cp);
	assert_int_equal(sqlite3_exec(db_sqlite(exchange_db(fx->ex)),
	                     "DELETE FROM audit_checkpoints", NULL, NULL, NULL),
	    SQLITE_OK);
	sl_err_clear();
	assert_int_equal(exchange_open(dir, NULL, &ex), SL_ERR_AUTH);
	assert_non_null(strstr(
	    sl_err_msg(SL_ERR_AUTH), "checkpoints.log has checkpoint 1 that the database lacks"));
	json_decref(cp);
	free(dir);
}

/* n events in one transaction (the checkpoints every AUDIT_CHECKPOINT_EVERY with them). */
static void
append_n(struct fx *fx, int n)
{
	struct db *db = exchange_db(fx->ex);
	int i;

	assert_int_equal(db_begin(db), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(exchange_audit(fx->ex, "platform", "test.event", "s", NULL), 0);
	assert_int_equal(db_commit(db), 0);
}

static void
sql_ok(struct db *db, const char *sql)
{
	int rc = sqlite3_exec(db_sqlite(db), sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db_sqlite(db)));
}

/* Sign without AUDIT_SIGN_WHOLE in a transaction rolled back; the error, or 0. */
static int
sign_newest(struct fx *fx)
{
	struct db *db = exchange_db(fx->ex);
	struct keys_identity *id = NULL;
	int r;

	assert_int_equal(exchange_platform_identity(fx->ex, &id), 0);
	assert_int_equal(db_begin(db), 0);
	sl_err_clear();
	r = audit_checkpoint(db, fx->suite, id, exchange_cplog(fx->ex), 0, NULL);
	db_rollback(db);
	keys_identity_free(id);
	return r;
}

static void
frontier_rows(struct db *db, int64_t expect)
{
	sqlite3_stmt *st;

	assert_int_equal(
	    db_prepare(
	        db, "SELECT count(*) FROM audit_checkpoints WHERE length(frontier) > 0", &st),
	    0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), expect);
	sqlite3_finalize(st);
}

/*
 * The checkpoint every AUDIT_CHECKPOINT_EVERY events starts from the frontier
 * stored with the one before: what follows it must be the events', what it
 * starts from must be the tree that one signed, and what lies before it is
 * left to the whole check of the next export.
 */
static void
test_checkpoint_from_newest(void **state)
{
	struct fx *fx = *state;
	struct db *db = exchange_db(fx->ex);
	struct exchange *ex = NULL;
	uint8_t signed_root[KEYS_HASH_BYTES], root[KEYS_HASH_BYTES];
	char *dir = sl_path_join(fx->tmp, "x");
	struct keys_identity *id = NULL;
	uint64_t size;

	assert_int_equal(audit_head(db, fx->suite, &size, root), 0);
	append_n(fx, (int)(2 * AUDIT_CHECKPOINT_EVERY - size));
	assert_int_equal(count_checkpoints(db), 2);
	frontier_rows(db, 2);
	/* Checkpoint 2000, made from checkpoint 1000's frontier, is the whole log's root. */
	assert_int_equal(audit_root_at(db, fx->suite, 2000, signed_root), 0);
	assert_int_equal(merkle_root_compute(fx->suite, 2000, leaf_cb, db, root), 0);
	assert_memory_equal(signed_root, root, KEYS_HASH_BYTES);
	append_n(fx, 5);
	assert_int_equal(sign_newest(fx), 0);

	/* An event after the newest checkpoint edited: refused. */
	sql_ok(db, "DROP TRIGGER audit_events_no_update");
	sql_ok(db, "UPDATE audit_events SET event = CAST(replace(event, 'test.event', "
	           "'test.evenT') AS BLOB)"
	           " WHERE seq = 2003");
	assert_int_equal(sign_newest(fx), SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "event 2003 no longer matches its leaf"));
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "refusing to sign"));
	sql_ok(db, "UPDATE audit_events SET event = CAST(replace(event, 'test.evenT', "
	           "'test.event') AS BLOB)"
	           " WHERE seq = 2003");
	assert_int_equal(sign_newest(fx), 0);

	/* The newest checkpoint's frontier replaced: refused, here and at the next open. */
	sql_ok(db, "CREATE TEMP TABLE saved AS SELECT frontier FROM audit_checkpoints"
	           " WHERE tree_size = 2000");
	sql_ok(db, "UPDATE audit_checkpoints SET frontier = randomblob(length(frontier))"
	           " WHERE tree_size = 2000");
	assert_int_equal(sign_newest(fx), SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH),
	    "the frontier stored with checkpoint 2000 is not the tree it signs"));
	sl_err_clear();
	assert_int_equal(exchange_open(dir, NULL, &ex), SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH),
	    "the frontier stored with checkpoint 2000 is not the tree it signs"));
	sql_ok(db, "UPDATE audit_checkpoints SET frontier = (SELECT frontier FROM saved)"
	           " WHERE tree_size = 2000");
	assert_int_equal(sign_newest(fx), 0);

	/*
	 * An event before it edited, with its leaf: the tree signed still extends
	 * checkpoint 2000 (the edit is not in it), and the export's whole check
	 * refuses.
	 */
	sql_ok(db, "UPDATE audit_events SET event = CAST(replace(event, 'test.event', "
	           "'test.evenT') AS BLOB),"
	           " leaf = zeroblob(32) WHERE seq = 7");
	assert_int_equal(sign_newest(fx), 0);
	assert_int_equal(exchange_platform_identity(fx->ex, &id), 0);
	assert_int_equal(db_begin(db), 0);
	sl_err_clear();
	assert_int_equal(
	    audit_checkpoint(db, fx->suite, id, exchange_cplog(fx->ex), AUDIT_SIGN_WHOLE, NULL),
	    SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "event 7 no longer matches its leaf"));
	db_rollback(db);
	keys_identity_free(id);

	/* Checkpoints signed before schema 10 have no frontier: the whole log is checked. */
	sql_ok(db, "UPDATE audit_checkpoints SET frontier = NULL");
	assert_int_equal(sign_newest(fx), SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "event 7 no longer matches its leaf"));
	sl_err_clear();
	assert_int_equal(exchange_open(dir, NULL, &ex), SL_ERR_AUTH);
	assert_non_null(strstr(
	    sl_err_msg(SL_ERR_AUTH), "the events up to 2000 no longer match checkpoint 2000"));
	free(dir);
}

static int
setup_group(void **state)
{
	return keys_init(0);
}

/* The key of party name, as a caller of an action proves it. */
static struct keys_pubkey *
key_of(struct exchange *ex, const char *name)
{
	struct keys_pubkey *pk = NULL;
	struct party p;

	assert_int_equal(party_find(exchange_db(ex), name, &p), 0);
	assert_int_equal(keys_pubkey_from_der(p.public_key, p.public_key_len, &pk), 0);
	party_clear(&p);
	return pk;
}

/*
 * audit_act_export() without the CLI: an auditor exports (and is the
 * event's actor), a buyer may not, and a checkpoint of another history is
 * refused naming "since" before anything is recorded.
 */
static void
test_export_action(void **state)
{
	struct fx *fx = *state;
	struct audit_export_request req = {.name = "x.jsonl"};
	char *k1 = sl_path_join(fx->tmp, "a.key"), *k2 = sl_path_join(fx->tmp, "b.key");
	char *other = sl_path_join(fx->tmp, "other");
	struct keys_pubkey *aud, *bob;
	struct exchange_created info;
	struct exchange *ox = NULL;
	const char *field = "unset";
	json_t *cp = NULL, *ocp = NULL, *mine;
	sqlite3_stmt *st;
	int64_t before;
	FILE *f;

	assert_int_equal(enrol_party(fx->ex, "aud", "auditor", k1, NULL), 0);
	assert_int_equal(enrol_party(fx->ex, "bob", "buyer", k2, NULL), 0);
	aud = key_of(fx->ex, "aud");
	bob = key_of(fx->ex, "bob");
	assert_non_null(f = tmpfile());

	before = count_events(exchange_db(fx->ex));
	assert_int_equal(audit_act_export(fx->ex, bob, &req, f, &cp, &field), SL_ERR_POLICY);
	assert_string_equal(field, ACTOR_FIELD);
	assert_null(cp);
	assert_int_equal(count_events(exchange_db(fx->ex)), before);

	assert_int_equal(audit_act_export(fx->ex, aud, &req, f, &cp, &field), 0);
	assert_null(field);
	assert_int_equal(count_events(exchange_db(fx->ex)), before + 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(cp, "checkpoint"), "tree_size")),
	    before + 1);
	assert_true(ftell(f) > 0);
	assert_int_equal(db_prepare(exchange_db(fx->ex),
	                     "SELECT event FROM audit_events ORDER BY seq DESC LIMIT 1", &st),
	    0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_non_null(strstr((const char *)sqlite3_column_text(st, 0), "\"actor\":\"aud\""));
	sqlite3_finalize(st);
	mine = cp;
	cp = NULL;

	/* Another exchange's checkpoint: not signed by this platform. */
	assert_int_equal(exchange_create(other, fx->suite, NULL, &info), 0);
	assert_int_equal(exchange_open(other, NULL, &ox), 0);
	assert_int_equal(audit_act_export(ox, NULL, &req, f, &ocp, &field), 0);
	req.since = ocp;
	before = count_events(exchange_db(fx->ex));
	assert_int_equal(audit_act_export(fx->ex, NULL, &req, f, &cp, &field), SL_ERR_AUTH);
	assert_string_equal(field, "since");
	assert_int_equal(count_events(exchange_db(fx->ex)), before);
	assert_null(cp);
	/* Its own checkpoint is one this log extends. */
	req.since = mine;
	assert_int_equal(audit_act_export(fx->ex, NULL, &req, f, &cp, &field), 0);

	fclose(f);
	json_decref(cp);
	json_decref(ocp);
	json_decref(mine);
	exchange_close(ox);
	keys_pubkey_free(aud);
	keys_pubkey_free(bob);
	free(k1);
	free(k2);
	free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_atomic, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_tree_and_checkpoints, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_tree_and_checkpoints, setup_gm, teardown),
	    cmocka_unit_test_setup_teardown(test_append_only, setup_gm, teardown),
	    cmocka_unit_test_setup_teardown(test_export_action, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_export_action, setup_gm, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_rewritten_log, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_rewritten_log, setup_gm, teardown),
	    cmocka_unit_test_setup_teardown(test_cplog_catches_deleted_rows, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_from_newest, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_from_newest, setup_gm, teardown),
	};

	return cmocka_run_group_tests(tests, setup_group, NULL);
}
