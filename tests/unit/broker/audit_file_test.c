/*
 * tests/unit/broker/audit_file_test.c -- the export verifier against
 * mutations: every single-byte change and every truncation of a valid export
 * is refused (bar the header's informational key when a trusted key is
 * given), and none crashes it (run under ASan in CI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/audit.h"
#include "broker/audit_file.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "common/err.h"
#include "common/file.h"
#include "keys/keys.h"
#include "keys/sign.h"
#include "tests/unit/vectors.h"

struct fx {
	char *tmp, *path, *mut;
	uint8_t *data;
	size_t len;
	struct keys_pubkey *pk;
	json_t *cp;
};

/* An exchange with 40 events, exported with a prefix and suffix (events 5..30). */
static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct exchange_created info;
	struct exchange *ex = NULL;
	struct keys_identity *id = NULL;
	struct audit_export opts = {0};
	char *dir, *pem = NULL, name[16];
	size_t pemlen;
	FILE *f;
	int i;

	fx->tmp = vec_tmpdir();
	dir = sl_path_join(fx->tmp, "x");
	fx->path = sl_path_join(fx->tmp, "e.jsonl");
	fx->mut = sl_path_join(fx->tmp, "m.jsonl");
	assert_int_equal(exchange_create(dir, KEYS_SUITE_INTL, NULL, &info), 0);
	assert_int_equal(exchange_open(dir, NULL, &ex), 0);
	assert_int_equal(db_begin(exchange_db(ex)), 0);
	for (i = 0; i < 39; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		assert_int_equal(exchange_audit(ex, "platform", "test.event", name,
		                     json_pack("{s:i, s:s}", "i", i, "s", "a\"b\\c\n")),
		    0);
	}
	assert_int_equal(exchange_platform_identity(ex, &id), 0);
	assert_int_equal(keys_identity_pubkey(id, &fx->pk), 0);
	assert_int_equal(keys_pubkey_to_pem(fx->pk, &pem, &pemlen), 0);
	assert_int_equal(audit_checkpoint(exchange_db(ex), KEYS_SUITE_INTL, id, exchange_cplog(ex),
	                     AUDIT_SIGN_WHOLE, &fx->cp),
	    0);
	assert_int_equal(db_commit(exchange_db(ex)), 0);
	opts.checkpoint = fx->cp;
	opts.platform_pem = pem;
	opts.from = 5;
	opts.until = 30;
	assert_non_null(f = fopen(fx->path, "w"));
	assert_int_equal(audit_export_write(exchange_db(ex), KEYS_SUITE_INTL, &opts, f), 0);
	fclose(f);
	assert_int_equal(sl_file_read(fx->path, 1 << 20, &fx->data, &fx->len), 0);
	free(pem);
	free(dir);
	keys_identity_free(id);
	exchange_close(ex);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	keys_pubkey_free(fx->pk);
	json_decref(fx->cp);
	free(fx->data);
	free(fx->path);
	free(fx->mut);
	vec_rmtree(fx->tmp);
	free(fx);
	return 0;
}

static int
verify_bytes(struct fx *fx, const uint8_t *data, size_t len, struct audit_verify_result *res)
{
	assert_int_equal(sl_file_write_replace(fx->mut, 0600, data, len), 0);
	return audit_verify_file(fx->mut, fx->pk, NULL, res);
}

static void
test_valid(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;

	assert_int_equal(audit_verify_file(fx->path, fx->pk, NULL, &res), 0);
	assert_int_equal(res.from, 5);
	assert_int_equal(res.until, 30);
	assert_int_equal(res.tree_size, 40);
	assert_int_equal(res.key_from_header, 0);
	assert_int_equal(audit_verify_file(fx->path, NULL, NULL, &res), 0);
	assert_int_equal(res.key_from_header, 1);
}

static void
test_every_byte(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;
	uint8_t *copy = malloc(fx->len);
	const char *key = strstr((const char *)fx->data, "\"platform_key\"");
	const char *keyend = strstr((const char *)fx->data, "-----END PUBLIC KEY-----");
	size_t i, refused = 0;
	int r;

	assert_non_null(key);
	assert_non_null(keyend);
	for (i = 0; i < fx->len; i++) {
		memcpy(copy, fx->data, fx->len);
		copy[i] ^= (uint8_t)(1u << (i % 8));
		r = verify_bytes(fx, copy, fx->len, &res);
		if (r == 0) {
			uint8_t o = fx->data[i], m = copy[i];

			/* Hex is read in either case: a-f <-> A-F is the same value. */
			if (((o | 0x20) >= 'a' && (o | 0x20) <= 'f') && (o ^ m) == 0x20)
				continue;
			/* Only the header's key member, unused when a trusted key is given. */
			if (!((const char *)fx->data + i >= key &&
			        (const char *)fx->data + i < keyend + 24))
				fail_msg("byte %zu ('%c' -> '%c') accepted: %.40s", i, o, m,
				    (const char *)fx->data + (i > 20 ? i - 20 : 0));
			assert_true((const char *)fx->data + i >= key &&
			            (const char *)fx->data + i < keyend + 24);
		} else {
			assert_true(r == SL_ERR_AUTH);
			assert_true(res.reason[0] != '\0');
			refused++;
		}
	}
	assert_true(refused > fx->len * 9 / 10);
	free(copy);
}

static void
test_truncations(void **state)
{
	struct fx *fx = *state;
	struct audit_verify_result res;
	size_t n;

	/* Every proper prefix, the file without its last newline included: each line ends in one. */
	for (n = 0; n < fx->len; n++)
		assert_int_equal(verify_bytes(fx, fx->data, n, &res), SL_ERR_AUTH);
	assert_int_equal(verify_bytes(fx, fx->data, fx->len, &res), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_every_byte),
	    cmocka_unit_test(test_truncations),
	};

	if (keys_init(0) != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
