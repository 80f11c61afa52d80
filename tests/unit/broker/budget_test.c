/*
 * tests/unit/broker/budget_test.c -- the dp budget in the catalog
 * (broker/budget.h): exact spend, refusal with cost and remainder, nothing
 * written by a refusal, a reopened catalog keeps the spend, and processes
 * racing for the last of a budget never overspend.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "broker/budget.h"
#include "broker/db.h"
#include "common/err.h"
#include "common/file.h"
#include "contracts/contract.h"
#include "tests/unit/vectors.h"

struct fixture {
	char *tmp, *path;
	struct db *db;
	struct contract_terms t;
};

static void
exec_ok(struct db *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db_sqlite(db), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);

	if (fx == NULL)
		return -1;
	fx->tmp = vec_tmpdir();
	fx->path = sl_path_join(fx->tmp, "sluice.db");
	if (db_open(fx->path, 1, &fx->db) != 0 || db_migrate(fx->db) != 0)
		return -1;
	exec_ok(fx->db,
	    "INSERT INTO parties (id, name, role, public_key, fingerprint, certificate, created)"
	    " VALUES (1, 'buyer', 'buyer', x'01', 'fp1', '', '2026-01-01T00:00:00Z'),"
	    " (4, 'merchant', 'merchant', x'04', 'fp4', '', '2026-01-01T00:00:00Z');"
	    "INSERT INTO products (id, name, schema, merchant, created)"
	    " VALUES (1, 'claims', '{}', 4, '2026-01-01T00:00:00Z');"
	    "INSERT INTO contracts (id, product, buyer, body, document, state, valid_from,"
	    " valid_until, created) VALUES ('c_1', 1, 1, '{}', '{}', 'active',"
	    " '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', '2026-01-01T00:00:00Z');"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
	    " INSERT INTO queries (id, contract, buyer_fingerprint, text, signature, state, answer,"
	    " submitted, finished) SELECT 'q_' || i, 'c_1', 'fp1', 'SELECT 1', x'00',"
	    " 'released', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;");
	/* epsilon 1 in all, 0.3 a query: three queries fit, with 0.1 left */
	fx->t.mode = CONTRACT_DP;
	fx->t.mechanism = CONTRACT_LAPLACE;
	fx->t.budget_total = (struct rational){1, 1};
	fx->t.budget_per_query = (struct rational){3, 10};
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

static int
charge(struct db *db, const struct contract_terms *t, const char *query, struct budget *after)
{
	int r;

	if ((r = db_begin(db)) != 0)
		return r;
	sl_err_clear();
	if ((r = budget_charge(db, "c_1", t, query, "2026-06-01T00:00:00Z", after)) != 0) {
		db_rollback(db);
		return r;
	}
	return db_commit(db);
}

static void
test_exact_spend_and_refusal(void **state)
{
	struct fixture *fx = *state;
	struct budget b;
	char q[16];
	int i, r;

	for (i = 1; i <= 3; i++) {
		snprintf(q, sizeof q, "q_%d", i);
		assert_int_equal(charge(fx->db, &fx->t, q, &b), 0);
	}
	/* 0.3 three times is exactly 0.9: no float drift */
	assert_int_equal(b.spent.num, 9);
	assert_int_equal(b.spent.den, 10);
	assert_int_equal(b.remaining.num, 1);
	assert_int_equal(b.remaining.den, 10);
	r = charge(fx->db, &fx->t, "q_4", &b);
	assert_int_equal(r, SL_ERR_POLICY);
	assert_string_equal(
	    sl_err_msg(r), "the privacy budget is spent: needs epsilon = 0.3; 0.1 of 1 left");
	/* The refusal wrote nothing, and the catalog says the same after a reopen. */
	db_close(fx->db);
	assert_int_equal(db_open(fx->path, 0, &fx->db), 0);
	assert_int_equal(budget_get(fx->db, "c_1", &fx->t, &b), 0);
	assert_int_equal(b.queries, 3);
	assert_int_equal(b.spent.num, 9);
	assert_int_equal(b.spent.den, 10);
	/* A query is charged once: a second charge of q_1 fails and changes nothing. */
	fx->t.budget_total = (struct rational){10, 1};
	assert_int_not_equal(charge(fx->db, &fx->t, "q_1", &b), 0);
	assert_int_equal(budget_get(fx->db, "c_1", &fx->t, &b), 0);
	assert_int_equal(b.queries, 3);
}

/* A zCDP spend is also stated as (epsilon, delta)-DP at the contract's delta. */
static void
test_gaussian_as_epsilon_delta(void **state)
{
	struct fixture *fx = *state;
	struct budget b = {{1, 1}, {1, 4}, {1, 2}, {1, 2}, 2};
	json_t *doc, *ed;

	(void)fx;
	fx->t.mechanism = CONTRACT_GAUSSIAN;
	fx->t.delta = (struct rational){1, 1000000};
	doc = budget_json(&b, &fx->t);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "unit")), "rho");
	ed = json_object_get(doc, "epsilon_delta");
	/* 0.5 + 2 sqrt(0.5 ln 1e6) = 5.7566 */
	assert_true(fabs(json_real_value(json_object_get(ed, "epsilon")) - 5.7566) < 1e-3);
	assert_string_equal(json_string_value(json_object_get(ed, "delta")), "0.000001");
	json_decref(doc);
	fx->t.mechanism = CONTRACT_LAPLACE;
	doc = budget_json(&b, &fx->t);
	assert_null(json_object_get(doc, "epsilon_delta"));
	json_decref(doc);
}

static void
test_threshold_has_no_budget(void **state)
{
	struct fixture *fx = *state;
	struct budget b;

	fx->t.mode = CONTRACT_THRESHOLD;
	assert_int_equal(budget_get(fx->db, "c_1", &fx->t, &b), SL_ERR_INVAL);
}

/* Four processes charging as fast as they can: exactly the budget's 10 charges land. */
static void
test_concurrent_processes(void **state)
{
	struct fixture *fx = *state;
	struct budget b;
	pid_t pid[4];
	int k, status;

	fx->t.budget_total = (struct rational){3, 1}; /* 0.3 a query: 10 queries */
	db_close(fx->db);
	fx->db = NULL;
	for (k = 0; k < 4; k++) {
		if ((pid[k] = fork()) == 0) {
			struct db *db;
			char q[16];
			int i, won = 0;

			if (db_open(fx->path, 0, &db) != 0)
				_exit(99);
			for (i = 0; i < 50; i++) {
				int r;

				snprintf(q, sizeof q, "q_%d", 1 + k * 50 + i);
				/* BEGIN IMMEDIATE waits out the others (DB_BUSY_TIMEOUT_MS). */
				r = charge(db, &fx->t, q, NULL);
				if (r == 0)
					won++;
				else if (r != SL_ERR_POLICY)
					_exit(98);
			}
			db_close(db);
			_exit(won);
		}
		assert_true(pid[k] > 0);
	}
	for (k = 0; k < 4; k++) {
		assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) <= 10);
	}
	assert_int_equal(db_open(fx->path, 0, &fx->db), 0);
	assert_int_equal(budget_get(fx->db, "c_1", &fx->t, &b), 0);
	assert_int_equal(b.queries, 10);
	assert_int_equal(b.remaining.num, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_exact_spend_and_refusal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threshold_has_no_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gaussian_as_epsilon_delta, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
