/*
 * tests/unit/broker/product_test.c -- product versions in the catalog:
 * numbering, atomic publication with its audit event, dropping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/audit.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/file.h"
#include "keys/keys.h"
#include "tests/unit/vectors.h"

static const char schema[] = "{\"name\":\"claims\",\"columns\":[{\"name\":\"id\",\"type\":\"INT\","
                             "\"class\":\"unit\"}]}";

static int
count_action(struct db *db, const char *action)
{
	sqlite3_stmt *st;
	int n;

	assert_int_equal(
	    db_prepare(db, "SELECT count(*) FROM audit_events WHERE action = ?", &st), 0);
	sqlite3_bind_text(st, 1, action, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_versions(void **state)
{
	char *tmp = vec_tmpdir(), *dir = sl_path_join(tmp, "x"), *key = sl_path_join(tmp, "m.key");
	struct exchange_created info;
	struct exchange *ex = NULL;
	struct product p;

	assert_int_equal(exchange_create(dir, KEYS_SUITE_INTL, NULL, &info), 0);
	assert_int_equal(exchange_open(dir, NULL, &ex), 0);
	assert_int_equal(party_create(ex, "acme", "merchant", key, NULL), 0);
	assert_int_equal(
	    product_add(ex, "claims", schema, strlen(schema), "acme", NULL, NULL, "acme"), 0);
	assert_int_equal(product_find(ex, "claims", &p), 0);
	assert_int_equal(product_version_next(&p), 1);
	assert_int_equal(product_version_publish(ex, &p, 1, 10, 1, 100, "acme"), 0);
	/* The same number twice: the second publication is refused, nothing half-done. */
	assert_int_equal(product_version_publish(ex, &p, 1, 10, 1, 100, "acme"), SL_ERR_EXISTS);
	assert_int_equal(count_action(exchange_db(ex), "product.version_loaded"), 1);
	assert_int_equal(product_version_publish(ex, &p, 2, 20, 2, 200, "acme"), 0);
	product_clear(&p);

	assert_int_equal(product_find(ex, "claims", &p), 0);
	assert_int_equal(p.nversions, 2);
	assert_int_equal(p.versions[1].rows, 20);
	assert_string_equal(p.versions[0].state, "published");
	assert_int_equal(product_version_next(&p), 3);
	assert_int_equal(product_version_drop(ex, &p, 1, "acme"), 0);
	assert_int_equal(product_version_drop(ex, &p, 1, "acme"), SL_ERR_POLICY);
	assert_int_equal(product_version_drop(ex, &p, 9, "acme"), SL_ERR_NOTFOUND);
	assert_int_equal(count_action(exchange_db(ex), "product.version_dropped"), 1);
	product_clear(&p);
	assert_int_equal(product_find(ex, "claims", &p), 0);
	assert_string_equal(p.versions[0].state, "dropped");
	assert_string_equal(p.versions[1].state, "published");
	product_clear(&p);
	exchange_close(ex);
	free(dir);
	free(key);
	vec_rmtree(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_versions),
	};

	if (keys_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
