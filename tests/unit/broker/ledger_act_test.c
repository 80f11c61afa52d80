/*
 * tests/unit/broker/ledger_act_test.c -- the ledger actions as a front end
 * other than the CLI calls them: who may see which statements, who may set
 * a cap, and the field a refusal names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/actor.h"
#include "broker/enrol.h"
#include "broker/exchange.h"
#include "broker/ledger.h"
#include "broker/party.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/file.h"
#include "keys/keys.h"
#include "keys/sign.h"
#include "tests/unit/vectors.h"

static const char schema[] = "{\"name\":\"claims\",\"columns\":[{\"name\":\"id\",\"type\":\"INT\","
                             "\"class\":\"unit\"}]}";

static int
count_open(void *arg, const char *account, const char *role, int64_t opening)
{
	(void)account;
	(void)role;
	(void)opening;
	(*(int *)arg)++;
	return 0;
}

static int
no_entry(void *arg, const struct ledger_entry *e)
{
	(void)arg;
	(void)e;
	return 0;
}

static int
no_close(void *arg, int64_t closing, int64_t entries)
{
	(void)arg;
	(void)closing;
	(void)entries;
	return 0;
}

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

static void
test_ledger_actions(void **state)
{
	char *tmp = vec_tmpdir(), *dir = sl_path_join(tmp, "x"), *k1 = sl_path_join(tmp, "a.key"),
	     *k2 = sl_path_join(tmp, "b.key");
	struct ledger_statement_request req = {NULL, NULL, NULL};
	struct ledger_cap_request cap = {"claims", 1, 500};
	struct exchange_created info;
	struct exchange *ex = NULL;
	struct keys_pubkey *acme, *bob, *platform;
	const char *field = "unset";
	int opens = 0;
	struct ledger_sink sink = {count_open, no_entry, no_close, &opens};
	int64_t monthly = 0;

	(void)state;
	assert_int_equal(exchange_create(dir, KEYS_SUITE_INTL, NULL, &info), 0);
	assert_int_equal(exchange_open(dir, NULL, &ex), 0);
	assert_int_equal(enrol_party(ex, "acme", "merchant", k1, NULL), 0);
	assert_int_equal(enrol_party(ex, "bob", "buyer", k2, NULL), 0);
	assert_int_equal(product_add(ex, "claims", schema, strlen(schema), "acme", NULL, NULL,
	                     EXCHANGE_PLATFORM_NAME, 0),
	    0);
	acme = key_of(ex, "acme");
	bob = key_of(ex, "bob");
	platform = key_of(ex, EXCHANGE_PLATFORM_NAME);

	/* A party sees its own statement, not another's. */
	req.account = "acme";
	assert_int_equal(ledger_act_statements(ex, bob, &req, &sink, &field), SL_ERR_POLICY);
	assert_non_null(strstr(sl_err_msg(SL_ERR_POLICY), "sees only its own statement"));
	req.account = NULL;
	assert_int_equal(ledger_act_statements(ex, bob, &req, &sink, &field), 0);
	assert_null(field);
	/* A bad period names its field. */
	req.from = "2026-13";
	assert_int_equal(ledger_act_statements(ex, NULL, &req, &sink, &field), SL_ERR_INVAL);
	assert_string_equal(field, "from");
	req.from = "2026-12";
	req.until = "2026-11";
	assert_int_equal(ledger_act_statements(ex, NULL, &req, &sink, &field), SL_ERR_INVAL);
	assert_string_equal(field, "from");

	/* Only the platform sets a cap; anyone may read it. */
	assert_int_equal(ledger_act_cap(ex, acme, &cap, &monthly, &field), SL_ERR_POLICY);
	assert_string_equal(field, ACTOR_FIELD);
	cap.change = 0;
	assert_int_equal(ledger_act_cap(ex, acme, &cap, &monthly, &field), 0);
	assert_int_equal(monthly, -1);
	cap.change = 1;
	assert_int_equal(ledger_act_cap(ex, platform, &cap, &monthly, &field), 0);
	assert_int_equal(monthly, 500);
	cap.monthly_fen = -1;
	assert_int_equal(ledger_act_cap(ex, NULL, &cap, &monthly, &field), 0);
	assert_int_equal(monthly, -1);

	keys_pubkey_free(acme);
	keys_pubkey_free(bob);
	keys_pubkey_free(platform);
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
	    cmocka_unit_test(test_ledger_actions),
	};

	if (keys_init(0) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
