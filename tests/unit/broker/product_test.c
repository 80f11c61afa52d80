/*
 * tests/unit/broker/product_test.c -- product versions in the catalog:
 * numbering, atomic publication with its audit event, dropping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "broker/actor.h"
#include "broker/audit.h"
#include "broker/db.h"
#include "broker/enrol.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/file.h"
#include "common/schema.h"
#include "keys/keys.h"
#include "keys/sign.h"
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

/*
 * Stage p's next version with a stand-in data.mdb (the worker's part) and
 * publish it with rows; returns what publishing returned, and checks that a
 * published version is read-only in its place and a failed one left nothing.
 */
static int
stage_publish(struct exchange *ex, struct product *p, int64_t rows)
{
	struct product_stage stage;
	struct product_counts c = {rows, 1, 100 * rows, {0}};
	struct stat sb;
	char *data, *final;
	FILE *f;
	int r;

	assert_int_equal(product_stage_begin(ex, p, &stage), 0);
	assert_non_null(data = sl_path_join(stage.dir, "data.mdb"));
	assert_non_null(f = fopen(data, "w"));
	fclose(f);
	free(data);
	c.manifest[0] = (uint8_t)rows;
	r = product_version_publish(ex, p, &stage, &c, "acme");
	assert_int_equal(product_version_dir(ex, p->name, stage.version, &final), 0);
	assert_non_null(data = sl_path_join(final, "data.mdb"));
	if (r == 0) {
		assert_int_equal(stat(data, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0400);
		assert_int_equal(stat(final, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0500);
	}
	assert_int_equal(stat(stage.dir, &sb), r == 0 ? -1 : 0);
	product_stage_end(&stage);
	free(data);
	free(final);
	return r;
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
	assert_int_equal(enrol_party(ex, "acme", "merchant", key, NULL), 0);
	assert_int_equal(
	    product_add(ex, "claims", schema, strlen(schema), "acme", NULL, NULL, "acme", 0), 0);
	assert_int_equal(product_find(ex, "claims", &p), 0);
	assert_int_equal(product_version_next(&p), 1);
	assert_int_equal(stage_publish(ex, &p, 10), 0);
	/* The same number twice: the second publication is refused, nothing half-done. */
	assert_int_equal(stage_publish(ex, &p, 10), SL_ERR_EXISTS);
	assert_int_equal(count_action(exchange_db(ex), "product.version_published"), 1);
	product_clear(&p);
	assert_int_equal(product_find(ex, "claims", &p), 0);
	assert_int_equal(stage_publish(ex, &p, 20), 0);
	product_clear(&p);

	assert_int_equal(product_find(ex, "claims", &p), 0);
	assert_int_equal(p.nversions, 2);
	assert_int_equal(p.versions[1].rows, 20);
	assert_true(p.versions[1].has_manifest && p.versions[1].manifest[0] == 20);
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

/*
 * exchange_schema() parses a text once and gives the same schema back for
 * it, a schema of its own for another text, and an error, with nothing
 * kept, for a text that is no schema; texts past the few it keeps are
 * parsed anew, each still to its own schema.
 */
static void
test_schema_kept(void **state)
{
	char *tmp = vec_tmpdir(), *dir = sl_path_join(tmp, "x");
	const struct schema *a = NULL, *b = NULL, *c = NULL;
	struct exchange_created info;
	struct exchange *ex = NULL;
	char other[sizeof schema + 16];
	int i;

	assert_int_equal(exchange_create(dir, KEYS_SUITE_INTL, NULL, &info), 0);
	assert_int_equal(exchange_open(dir, NULL, &ex), 0);
	assert_int_equal(exchange_schema(ex, schema, &a), 0);
	assert_string_equal(a->name, "claims");
	assert_int_equal(exchange_schema(ex, schema, &b), 0);
	assert_ptr_equal(a, b);
	snprintf(other, sizeof other, "%s", schema);
	memcpy(strstr(other, "claims"), "clains", 6);
	assert_int_equal(exchange_schema(ex, other, &c), 0);
	assert_ptr_not_equal(a, c);
	assert_string_equal(c->name, "clains");
	c = NULL;
	assert_int_not_equal(exchange_schema(ex, "{\"name\":\"claims\"}", &c), 0);
	assert_null(c);
	for (i = 0; i < 20; i++) {
		snprintf(other, sizeof other, "%s", schema);
		other[strstr(other, "claims") - other + 5] = (char)('a' + i);
		assert_int_equal(exchange_schema(ex, other, &c), 0);
		assert_int_equal(c->name[5], 'a' + i);
	}
	assert_int_equal(exchange_schema(ex, schema, &a), 0);
	assert_string_equal(a->name, "claims");
	exchange_close(ex);
	free(dir);
	vec_rmtree(tmp);
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
 * The actions as a front end other than the CLI calls them: the caller's
 * key, a request, a result, and the field at fault on refusal.
 */
static void
test_actions(void **state)
{
	char *tmp = vec_tmpdir(), *dir = sl_path_join(tmp, "x"), *k1 = sl_path_join(tmp, "a.key"),
	     *k2 = sl_path_join(tmp, "c.key");
	struct product_add_request req = {"claims", schema, strlen(schema), "acme", NULL, NULL, 0};
	struct product_drop_request drop = {"claims", 1};
	struct keys_pubkey *acme, *city;
	struct exchange_created info;
	struct exchange *ex = NULL;
	const char *field = "unset";
	struct product p;

	(void)state;
	assert_int_equal(exchange_create(dir, KEYS_SUITE_INTL, NULL, &info), 0);
	assert_int_equal(exchange_open(dir, NULL, &ex), 0);
	assert_int_equal(enrol_party(ex, "acme", "merchant", k1, NULL), 0);
	assert_int_equal(enrol_party(ex, "city", "holder", k2, NULL), 0);
	acme = key_of(ex, "acme");
	city = key_of(ex, "city");

	/* Another party's key: refused, naming the caller, and nothing listed. */
	assert_int_equal(product_act_add(ex, city, &req, &p, &field), SL_ERR_POLICY);
	assert_string_equal(field, ACTOR_FIELD);
	assert_non_null(strstr(sl_err_msg(SL_ERR_POLICY), "the key of party city, not of acme"));
	assert_int_equal(product_find(ex, "claims", &p), SL_ERR_NOTFOUND);
	/* A bad schema names the schema. */
	req.schema = "{";
	req.schema_len = 1;
	assert_int_not_equal(product_act_add(ex, acme, &req, &p, &field), 0);
	assert_string_equal(field, "schema");
	req.schema = schema;
	req.schema_len = strlen(schema);

	/* The merchant's key: listed with the merchant as the actor. */
	assert_int_equal(product_act_add(ex, acme, &req, &p, &field), 0);
	assert_null(field);
	assert_string_equal(p.merchant, "acme");
	assert_int_equal(count_action(exchange_db(ex), "product.listed"), 1);
	assert_int_equal(stage_publish(ex, &p, 10), 0);
	product_clear(&p);

	assert_int_equal(product_act_drop(ex, city, &drop, &field), SL_ERR_POLICY);
	assert_string_equal(field, ACTOR_FIELD);
	assert_int_equal(product_act_drop(ex, acme, &drop, &field), 0);
	assert_int_equal(count_action(exchange_db(ex), "product.version_dropped"), 1);
	drop.name = "nosuch";
	assert_int_equal(product_act_drop(ex, NULL, &drop, &field), SL_ERR_NOTFOUND);
	assert_null(field);

	keys_pubkey_free(acme);
	keys_pubkey_free(city);
	exchange_close(ex);
	free(dir);
	free(k1);
	free(k2);
	vec_rmtree(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_schema_kept),
	    cmocka_unit_test(test_actions),
	};

	if (keys_init(0) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
