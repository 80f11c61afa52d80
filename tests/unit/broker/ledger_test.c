/*
 * tests/unit/broker/ledger_test.c -- the revenue ledger: the largest-remainder
 * split (hand vectors computed with exact fractions, and a 10,000-case
 * property test), the database's own rules (a transaction commits only
 * sealed and balanced; postings are append-only), posting with a monthly cap
 * across a month boundary, and ledger_verify() catching a forged balance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "broker/db.h"
#include "broker/ledger.h"
#include "common/err.h"
#include "common/file.h"
#include "contracts/contract.h"
#include "tests/unit/vectors.h"

/* ---- the split ------------------------------------------------------------ */

struct split_case {
	int64_t amount;
	int64_t bp[4];
	size_t n;
	int64_t want[4];
};

/* Expected values from Python's fractions.Fraction, not from this code. */
static const struct split_case split_cases[] = {
    {5000, {4000, 3000, 2000, 1000}, 4, {2000, 1500, 1000, 500}},
    {1, {2500, 2500, 2500, 2500}, 4, {1, 0, 0, 0}}, /* ties: earlier party first */
    {3, {2500, 2500, 2500, 2500}, 4, {1, 1, 1, 0}},
    {10, {3333, 3333, 3334}, 3, {3, 3, 4}}, /* largest remainder, not first */
    {2, {3333, 3333, 3334}, 3, {1, 0, 1}},
    {0, {5000, 5000}, 2, {0, 0}},
    {9007199254740992LL, {1, 9999}, 2, {900719925474LL, 9006298534815518LL}},
    {9007199254740991LL, {3333, 3333, 3334}, 3,
        {3002099511605172LL, 3002099511605172LL, 3003000231530647LL}},
    {999999999, {1234, 0, 4321, 4445}, 4, {123400000, 0, 432100000, 444499999}},
    {7, {10000}, 1, {7}},
    {7, {0, 10000, 0}, 3, {0, 7, 0}},
    {101, {5000, 5000}, 2, {51, 50}},
    {1000000007, {1, 1, 1, 9997}, 4, {100000, 100000, 100000, 999700007}},
};

static void
split_vectors(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++) {
		const struct split_case *c = &split_cases[i];
		int64_t out[4];

		assert_int_equal(ledger_split(c->amount, c->bp, c->n, out), 0);
		for (j = 0; j < c->n; j++)
			if (out[j] != c->want[j])
				fail_msg("case %zu share %zu: got %lld, want %lld", i, j,
				    (long long)out[j], (long long)c->want[j]);
	}
}

/* xorshift64*: deterministic, so a failure is reproducible. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* n random basis points summing to 10000 (cut points; some shares 0). */
static void
random_shares(uint64_t *s, int64_t *bp, size_t n)
{
	int64_t left = LEDGER_SHARES_TOTAL;
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		bp[i] = next(s) % 4 == 0 ? 0 : (int64_t)(next(s) % (uint64_t)(left + 1));
		left -= bp[i];
	}
	bp[n - 1] = left;
}

static void
split_property(void **state)
{
	uint64_t seed = 20261128;
	int cases;

	(void)state;
	for (cases = 0; cases < 10000; cases++) {
		int64_t bp[8], out[8], again[8], amount, sum = 0;
		size_t n = 1 + next(&seed) % 8, i, j;

		random_shares(&seed, bp, n);
		amount = cases % 10 == 9 ? (int64_t)(next(&seed) % (LEDGER_AMOUNT_MAX + 1))
		                         : (int64_t)(next(&seed) % 1000000001);
		assert_int_equal(ledger_split(amount, bp, n, out), 0);
		assert_int_equal(ledger_split(amount, bp, n, again), 0);
		assert_memory_equal(out, again, n * sizeof *out); /* deterministic */
		for (i = 0; i < n; i++) {
			__int128 exact = (__int128)amount * bp[i], got = (__int128)out[i] * 10000;
			__int128 diff = got - exact;

			sum += out[i];
			/* Less than one fen from the exact share. */
			if (diff <= -10000 || diff >= 10000)
				fail_msg("case %d: share %zu of %lld at %lld bp is %lld", cases, i,
				    (long long)amount, (long long)bp[i], (long long)out[i]);
		}
		if (sum != amount)
			fail_msg("case %d: shares sum to %lld, not %lld", cases, (long long)sum,
			    (long long)amount);
		/* Largest remainder: a rounded-up share never had a smaller remainder than a
		 * rounded-down one, nor an equal one from a later party. */
		for (i = 0; i < n; i++)
			for (j = 0; j < n; j++) {
				__int128 ri = (__int128)amount * bp[i] % 10000;
				__int128 rj = (__int128)amount * bp[j] % 10000;
				int up_i = (__int128)out[i] * 10000 > (__int128)amount * bp[i];
				int up_j = (__int128)out[j] * 10000 > (__int128)amount * bp[j];

				if (up_i && !up_j && rj > 0 && (ri < rj || (ri == rj && j < i)))
					fail_msg("case %d: share %zu rounded up before share %zu", cases, i,
					    j);
			}
	}
}

static void
split_invalid(void **state)
{
	int64_t good[2] = {5000, 5000}, short_[2] = {5000, 4999}, neg[2] = {10001, -1}, out[2];

	(void)state;
	assert_int_equal(ledger_split(-1, good, 2, out), SL_ERR_INVAL);
	assert_int_equal(ledger_split(LEDGER_AMOUNT_MAX + 1, good, 2, out), SL_ERR_INVAL);
	assert_int_equal(ledger_split(10, good, 0, out), SL_ERR_INVAL);
	assert_int_equal(ledger_split(10, short_, 2, out), SL_ERR_INVAL);
	assert_non_null(strstr(sl_err_msg(SL_ERR_INVAL), "9999"));
	assert_int_equal(ledger_split(10, neg, 2, out), SL_ERR_INVAL);
}

/* ---- the database ------------------------------------------------------------ */

struct fixture {
	char *tmp, *path;
	struct db *db;
	sqlite3 *h;
};

static void
exec_ok(sqlite3 *h, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* The error SQLite gives for sql, which must fail. */
static char *
exec_err(sqlite3 *h, const char *sql)
{
	char *msg = NULL, *copy;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) == SQLITE_OK)
		fail_msg("accepted: %s", sql);
	copy = strdup(msg != NULL ? msg : "?");
	sqlite3_free(msg);
	return copy;
}

static long long
query_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Parties 1..5 (buyer, holder, operator, merchant, platform), a product, a contract, queries. */
static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	static const char *const parties[] = {"buyer", "holder", "operator", "merchant", "platform"};
	char sql[512];
	size_t i;

	if (fx == NULL)
		return -1;
	fx->tmp = vec_tmpdir();
	fx->path = sl_path_join(fx->tmp, "sluice.db");
	if (db_open(fx->path, 1, &fx->db) != 0 || db_migrate(fx->db) != 0)
		return -1;
	fx->h = db_sqlite(fx->db);
	for (i = 0; i < 5; i++) {
		snprintf(sql, sizeof sql,
		    "INSERT INTO parties (id, name, role, public_key, fingerprint, certificate, created)"
		    " VALUES (%zu, 'p-%s', '%s', x'%02zx', 'fp%zu', '', '2026-01-01T00:00:00Z')",
		    i + 1, parties[i], parties[i], i, i);
		exec_ok(fx->h, sql);
	}
	exec_ok(fx->h,
	    "INSERT INTO products (id, name, schema, merchant, created)"
	    " VALUES (1, 'claims', '{}', 4, '2026-01-01T00:00:00Z');"
	    "INSERT INTO contracts (id, product, buyer, body, document, state, valid_from,"
	    " valid_until, created) VALUES ('c_1', 1, 1, '{}', '{}', 'active',"
	    " '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', '2026-01-01T00:00:00Z');"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)"
	    " INSERT INTO queries (id, contract, buyer_fingerprint, text, signature, state, answer,"
	    " charged_fen, submitted, finished) SELECT 'q_' || i, 'c_1', 'fp0', 'SELECT 1', x'00',"
	    " 'released', '{}', 5000, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	db_close(fx->db);
	vec_rmtree(fx->tmp);
	free(fx->path);
	free(fx);
	return 0;
}

#define TXN(id, query)                                                                             \
	"INSERT INTO ledger_accounts (id, party) VALUES (1, 1), (4, 4) ON CONFLICT DO NOTHING;"    \
	"INSERT INTO ledger_transactions (id, query, contract, product, time, month, price_fen,"   \
	" parties_fen, adjustment_fen, sealed) VALUES (" #id ", '" query "', 'c_1', 1,"              \
	" '2026-11-28T00:00:00Z', '2026-11', 100, 100, 0, " #id ");"

static void
constraints(void **state)
{
	struct fixture *fx = *state;
	char *msg;

	/* Balanced and sealed: commits, and the balances follow the postings. */
	exec_ok(fx->h, "BEGIN;" TXN(1, "q_1") "INSERT INTO ledger_postings VALUES (1, 1, -100),"
	                                      " (1, 4, 100); INSERT INTO ledger_seals VALUES (1); COMMIT;");
	assert_int_equal(query_int(fx->h, "SELECT balance_fen FROM ledger_accounts WHERE id = 4"), 100);

	/* Unbalanced: the seal is refused. */
	exec_ok(fx->h, "BEGIN;" TXN(2, "q_2") "INSERT INTO ledger_postings VALUES (2, 1, -100),"
	                                      " (2, 4, 99);");
	msg = exec_err(fx->h, "INSERT INTO ledger_seals VALUES (2)");
	assert_non_null(strstr(msg, "does not balance"));
	free(msg);
	exec_ok(fx->h, "ROLLBACK");

	/* Unsealed: the commit is refused by the deferred foreign key. */
	exec_ok(fx->h, "BEGIN;" TXN(2, "q_2") "INSERT INTO ledger_postings VALUES (2, 1, -100),"
	                                      " (2, 4, 100);");
	msg = exec_err(fx->h, "COMMIT");
	assert_non_null(strstr(msg, "FOREIGN KEY"));
	free(msg);
	exec_ok(fx->h, "ROLLBACK");

	/* A single posting of zero balances but is no transaction. */
	exec_ok(fx->h, "BEGIN;" TXN(2, "q_2") "INSERT INTO ledger_postings VALUES (2, 1, 0);");
	msg = exec_err(fx->h, "INSERT INTO ledger_seals VALUES (2)");
	free(msg);
	exec_ok(fx->h, "ROLLBACK");

	/* Sealed: no more postings; nothing is updated or deleted. */
	msg = exec_err(fx->h, "INSERT INTO ledger_postings VALUES (1, 0, 0)");
	assert_non_null(strstr(msg, "sealed"));
	free(msg);
	msg = exec_err(fx->h, "UPDATE ledger_postings SET amount_fen = 0");
	assert_non_null(strstr(msg, "append-only"));
	free(msg);
	msg = exec_err(fx->h, "DELETE FROM ledger_transactions");
	assert_non_null(strstr(msg, "append-only"));
	free(msg);
	msg = exec_err(fx->h, "DELETE FROM ledger_seals");
	free(msg);
	/* A transaction for an unknown query, or one whose parts do not add up. */
	msg = exec_err(fx->h, "BEGIN;" TXN(3, "q_nope"));
	free(msg);
	exec_ok(fx->h, "ROLLBACK");
	assert_int_equal(query_int(fx->h, "SELECT count(*) FROM ledger_transactions"), 1);
}

/* A contract as ledger_post() reads it: buyer p-buyer, shares 40/30/20/10. */
static void
make_contract(struct contract *c, struct contract_share *shares, int64_t price)
{
	static char buyer[] = "p-buyer", holder[] = "p-holder", op[] = "p-operator",
	            merchant[] = "p-merchant", platform[] = "p-platform";

	memset(c, 0, sizeof *c);
	strcpy(c->id, "c_1");
	c->nparties = 1;
	c->parties[0].role = CONTRACT_BUYER;
	c->parties[0].name = buyer;
	shares[0] = (struct contract_share){holder, 4000};
	shares[1] = (struct contract_share){op, 3000};
	shares[2] = (struct contract_share){merchant, 2000};
	shares[3] = (struct contract_share){platform, 1000};
	c->terms.shares = shares;
	c->terms.nshares = 4;
	c->terms.price_fen = price;
}

static int64_t
post(struct fixture *fx, const struct contract *c, const char *query, const char *time)
{
	json_t *d = NULL;
	int64_t adj;

	assert_int_equal(db_begin(fx->db), 0);
	if (ledger_post(fx->db, c, 1, query, time, &d) != 0)
		fail_msg("%s: %s", query, sl_err_msg(-1));
	assert_int_equal(db_commit(fx->db), 0);
	adj = json_integer_value(json_object_get(d, "adjustment_fen"));
	json_decref(d);
	return adj;
}

static void
cap_by_month(void **state)
{
	struct fixture *fx = *state;
	struct contract_share shares[4];
	struct contract c;
	json_t *d = NULL;

	make_contract(&c, shares, 5000);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(ledger_set_cap(fx->db, 1, 12000, "p-platform"), 0);
	assert_int_equal(db_commit(fx->db), 0);
	/* November: 5000 + 5000 under the cap, then 2000 of 5000, then nothing. */
	assert_int_equal(post(fx, &c, "q_1", "2026-11-28T10:00:00Z"), 0);
	assert_int_equal(post(fx, &c, "q_2", "2026-11-29T10:00:00Z"), 0);
	assert_int_equal(post(fx, &c, "q_3", "2026-11-30T23:59:59Z"), 3000);
	assert_int_equal(post(fx, &c, "q_4", "2026-11-30T23:59:59Z"), 5000);
	/* December starts again. */
	assert_int_equal(post(fx, &c, "q_5", "2026-12-01T00:00:00Z"), 0);
	assert_int_equal(query_int(fx->h, "SELECT balance_fen FROM ledger_accounts WHERE id = 0"),
	    8000);
	assert_int_equal(query_int(fx->h, "SELECT balance_fen FROM ledger_accounts WHERE id = 1"),
	    -25000);
	/* q_3's 2000 split 800/600/400/200. */
	assert_int_equal(query_int(fx->h, "SELECT amount_fen FROM ledger_postings p JOIN"
	                                  " ledger_transactions t ON t.id = p.txn WHERE t.query ="
	                                  " 'q_3' AND account = 2"),
	    800);
	assert_int_equal(query_int(fx->h, "SELECT sum(parties_fen) FROM ledger_transactions WHERE"
	                                  " month = '2026-11'"),
	    12000);
	/* Removing the cap lets the whole price through. */
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(ledger_set_cap(fx->db, 1, -1, "p-platform"), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(post(fx, &c, "q_6", "2026-11-30T23:59:59Z"), 0);
	/* Free use is posted too, as zeros. */
	make_contract(&c, shares, 0);
	assert_int_equal(post(fx, &c, "q_7", "2026-12-02T00:00:00Z"), 0);
	assert_int_equal(query_int(fx->h, "SELECT count(*) FROM ledger_postings p JOIN"
	                                  " ledger_transactions t ON t.id = p.txn WHERE t.query ="
	                                  " 'q_7' AND amount_fen = 0"),
	    5);
	/* The same query twice: the UNIQUE query column refuses it. */
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_not_equal(ledger_post(fx->db, &c, 1, "q_7", "2026-12-02T00:00:00Z", &d), 0);
	db_rollback(fx->db);
	assert_null(d);
}

/* Full-table steps taken so far by the handle's statements that start with sql. */
static long long
fullscan_steps(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = 0;

	while ((st = sqlite3_next_stmt(h, st)) != NULL)
		if (strncmp(sqlite3_sql(st), sql, strlen(sql)) == 0)
			n += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
	return n;
}

/* A transaction's cost does not grow with the ledger: no statement of a post reads a whole table. */
static void
post_reads_no_table_whole(void **state)
{
	struct fixture *fx = *state;
	struct contract_share shares[4];
	struct contract c;
	char query[16];
	int i;

	make_contract(&c, shares, 5000);
	for (i = 1; i <= 20; i++) {
		snprintf(query, sizeof query, "q_%d", i);
		post(fx, &c, query, "2026-11-28T10:00:00Z");
	}
	assert_int_equal(query_int(fx->h, "SELECT count(*) FROM ledger_transactions"), 20);
	assert_int_equal(fullscan_steps(fx->h, "INSERT INTO ledger_seals"), 0);
	assert_int_equal(fullscan_steps(fx->h, "INSERT"), 0);
}

/* ledger_verify() recomputes balances: a forged one (triggers dropped) is named. */
static void
verify_forged_balance(void **state)
{
	struct fixture *fx = *state;
	struct contract_share shares[4];
	struct ledger_check res;
	struct contract c;

	make_contract(&c, shares, 5000);
	post(fx, &c, "q_1", "2026-11-28T10:00:00Z");
	/* No audit events in this database: verify names the transaction's missing event. */
	assert_int_equal(ledger_verify(fx->db, KEYS_SUITE_INTL, &res), SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "released query q_2 has no ledger"));
	exec_ok(fx->h, "UPDATE ledger_accounts SET balance_fen = balance_fen + 1 WHERE id = 3");
	assert_int_equal(ledger_verify(fx->db, KEYS_SUITE_INTL, &res), SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "account p-operator has balance 1501"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(split_vectors),
	    cmocka_unit_test(split_property),
	    cmocka_unit_test(split_invalid),
	    cmocka_unit_test_setup_teardown(constraints, setup, teardown),
	    cmocka_unit_test_setup_teardown(cap_by_month, setup, teardown),
	    cmocka_unit_test_setup_teardown(post_reads_no_table_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(verify_forged_balance, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
