/*
 * tests/unit/broker/keyring_test.c -- data keys survive master key
 * rotation; interrupted rotations leave a working key; wrong keys and
 * passphrases are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/keyring.h"
#include "common/err.h"
#include "common/file.h"
#include "keys/dek.h"
#include "keys/keys.h"
#include "keys/master.h"
#include "tests/unit/vectors.h"

#define NPRODUCTS 5

struct fixture {
	char *tmp;
	char *dir;
	char *keyfile;
	char *newfile;
	uint8_t deks[NPRODUCTS][KEYS_DEK_BYTES];
};

static const char *const products[NPRODUCTS] = {"claims", "imaging", "a", "b", "c"};

static int
setup_file(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct exchange_created info;
	struct exchange *ex = NULL;
	struct keys_master *mk;
	struct keys_dek *k;
	int i;

	fx->tmp = vec_tmpdir();
	fx->dir = sl_path_join(fx->tmp, "x");
	fx->keyfile = sl_path_join(fx->dir, KEYRING_MASTER_FILE);
	fx->newfile = sl_path_join(fx->dir, KEYRING_MASTER_NEW);
	assert_int_equal(exchange_create(fx->dir, KEYS_SUITE_INTL, NULL, &info), 0);
	assert_int_equal(exchange_open(fx->dir, NULL, &ex), 0);
	assert_int_equal(exchange_master(ex, &mk), 0);
	assert_int_equal(db_begin(exchange_db(ex)), 0);
	for (i = 0; i < NPRODUCTS; i++) {
		assert_int_equal(keys_dek_generate(KEYS_SUITE_INTL, &k), 0);
		memcpy(fx->deks[i], keys_dek_bytes(k), KEYS_DEK_BYTES);
		assert_int_equal(keyring_dek_put(exchange_db(ex), mk, products[i], 1, k), 0);
		keys_dek_free(k);
	}
	assert_int_equal(db_commit(exchange_db(ex)), 0);
	exchange_close(ex);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->dir);
	free(fx->keyfile);
	free(fx->newfile);
	vec_rmtree(fx->tmp);
	free(fx);
	return 0;
}

/* Open the exchange and check every data key unwraps to what was stored. */
static void
check_deks(struct fixture *fx)
{
	struct exchange *ex = NULL;
	struct keys_master *mk;
	struct keys_dek *k;
	int i;

	assert_int_equal(exchange_open(fx->dir, NULL, &ex), 0);
	assert_int_equal(exchange_master(ex, &mk), 0);
	for (i = 0; i < NPRODUCTS; i++) {
		assert_int_equal(keyring_dek_get(exchange_db(ex), mk, products[i], 1, &k), 0);
		assert_memory_equal(keys_dek_bytes(k), fx->deks[i], KEYS_DEK_BYTES);
		keys_dek_free(k);
	}
	exchange_close(ex);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t *d = NULL;

	assert_int_equal(sl_file_read(path, 4096, &d, len), 0);
	return d;
}

static void
rotate(struct fixture *fx, const char *newpass, const char *pass)
{
	struct exchange *ex = NULL;

	assert_int_equal(exchange_open(fx->dir, pass, &ex), 0);
	assert_int_equal(exchange_rotate_master(ex, newpass), 0);
	exchange_close(ex);
}

static void
test_rotate_keeps_deks(void **state)
{
	struct fixture *fx = *state;
	struct exchange *ex = NULL;
	struct keyring_status st;
	struct keys_master *mk;
	uint8_t *old, *new;
	size_t oldlen, newlen;

	check_deks(fx);
	old = slurp(fx->keyfile, &oldlen);
	rotate(fx, NULL, NULL);
	new = slurp(fx->keyfile, &newlen);
	assert_int_equal(oldlen, newlen);
	assert_memory_not_equal(old, new, oldlen);
	assert_int_equal(access(fx->newfile, F_OK), -1);
	check_deks(fx);
	assert_int_equal(exchange_open(fx->dir, NULL, &ex), 0);
	assert_int_equal(exchange_master(ex, &mk), 0);
	assert_int_equal(keyring_status(exchange_db(ex), mk, &st), 0);
	assert_int_equal(st.version, 2);
	assert_int_equal(st.deks, NPRODUCTS);
	assert_int_equal(st.secrets, 2);
	exchange_close(ex);

	/* The old key file no longer opens anything. */
	assert_int_equal(sl_file_write_replace(fx->keyfile, 0600, old, oldlen), 0);
	assert_int_equal(exchange_open(fx->dir, NULL, &ex), 0);
	sl_err_clear();
	assert_int_equal(exchange_master(ex, &mk), SL_ERR_AUTH);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "wrong master key"));
	exchange_close(ex);
	free(old);
	free(new);
}

/* A rotation that died before its commit: master.key.new is stale. */
static void
test_interrupted_before_commit(void **state)
{
	struct fixture *fx = *state;
	struct keys_master *stray = NULL;

	assert_int_equal(keys_master_generate(KEYS_SUITE_INTL, &stray), 0);
	assert_int_equal(keys_master_write_file(stray, fx->newfile), 0);
	keys_master_free(stray);
	check_deks(fx); /* the old key is still the key */
	rotate(fx, NULL, NULL);
	assert_int_equal(access(fx->newfile, F_OK), -1);
	check_deks(fx);
}

/* A rotation that committed but did not rename: the next load rolls forward. */
static void
test_interrupted_after_commit(void **state)
{
	struct fixture *fx = *state;
	uint8_t *old, *new, *now;
	size_t oldlen, newlen, nowlen;

	old = slurp(fx->keyfile, &oldlen);
	rotate(fx, NULL, NULL);
	new = slurp(fx->keyfile, &newlen);
	/* Recreate the state between COMMIT and rename(). */
	assert_int_equal(rename(fx->keyfile, fx->newfile), 0);
	assert_int_equal(sl_file_write_new(fx->keyfile, 0600, old, oldlen), 0);
	check_deks(fx);
	now = slurp(fx->keyfile, &nowlen);
	assert_int_equal(nowlen, newlen);
	assert_memory_equal(now, new, newlen);
	assert_int_equal(access(fx->newfile, F_OK), -1);
	free(old);
	free(new);
	free(now);
}

static void
test_key_file_mode(void **state)
{
	struct fixture *fx = *state;
	struct exchange *ex = NULL;
	struct keys_master *mk;

	assert_int_equal(chmod(fx->keyfile, 0644), 0);
	assert_int_equal(exchange_open(fx->dir, NULL, &ex), 0);
	sl_err_clear();
	assert_int_equal(exchange_master(ex, &mk), SL_ERR_POLICY);
	assert_non_null(strstr(sl_err_msg(SL_ERR_POLICY), "chmod 600"));
	exchange_close(ex);
	assert_int_equal(chmod(fx->keyfile, 0600), 0);
	check_deks(fx);
}

/* Passphrase directories: the passphrase is required, checked, and rotatable. */
static void
test_passphrase(void **state)
{
	char *tmp = vec_tmpdir(), *dir = sl_path_join(tmp, "p"), *pass = sl_path_join(tmp, "pass"),
	     *wrong = sl_path_join(tmp, "wrong"), *newp = sl_path_join(tmp, "new");
	struct exchange_created info;
	struct exchange *ex = NULL;
	struct keys_master *mk;
	struct keys_dek *k = NULL, *back = NULL;
	uint8_t saved[KEYS_DEK_BYTES];

	assert_int_equal(sl_file_write_new(pass, 0600, "s3cret\n", 7), 0);
	assert_int_equal(sl_file_write_new(wrong, 0600, "s3cres\n", 7), 0);
	assert_int_equal(sl_file_write_new(newp, 0600, "n3w", 3), 0);
	assert_int_equal(exchange_create(dir, KEYS_SUITE_GM, pass, &info), 0);
	assert_int_equal(access(dir, F_OK), 0);

	assert_int_equal(exchange_open(dir, NULL, &ex), 0);
	assert_int_equal(exchange_master(ex, &mk), SL_ERR_POLICY);
	exchange_close(ex);
	assert_int_equal(exchange_open(dir, wrong, &ex), 0);
	assert_int_equal(exchange_master(ex, &mk), SL_ERR_AUTH);
	exchange_close(ex);

	assert_int_equal(exchange_open(dir, pass, &ex), 0);
	assert_int_equal(exchange_master(ex, &mk), 0);
	assert_int_equal(keys_dek_generate(KEYS_SUITE_GM, &k), 0);
	memcpy(saved, keys_dek_bytes(k), KEYS_DEK_BYTES);
	assert_int_equal(db_begin(exchange_db(ex)), 0);
	assert_int_equal(keyring_dek_put(exchange_db(ex), mk, "claims", 7, k), 0);
	assert_int_equal(keyring_dek_put(exchange_db(ex), mk, "claims", 7, k), SL_ERR_EXISTS);
	assert_int_equal(db_commit(exchange_db(ex)), 0);
	keys_dek_free(k);
	/* Rotation needs the new passphrase. */
	assert_int_equal(exchange_rotate_master(ex, NULL), SL_ERR_POLICY);
	assert_int_equal(exchange_rotate_master(ex, newp), 0);
	exchange_close(ex);

	assert_int_equal(exchange_open(dir, pass, &ex), 0);
	assert_int_equal(exchange_master(ex, &mk), SL_ERR_AUTH);
	exchange_close(ex);
	assert_int_equal(exchange_open(dir, newp, &ex), 0);
	assert_int_equal(exchange_master(ex, &mk), 0);
	assert_int_equal(keyring_dek_get(exchange_db(ex), mk, "claims", 7, &back), 0);
	assert_memory_equal(keys_dek_bytes(back), saved, KEYS_DEK_BYTES);
	keys_dek_free(back);
	assert_int_equal(keyring_dek_get(exchange_db(ex), mk, "claims", 8, &back), SL_ERR_NOTFOUND);
	exchange_close(ex);
	free(dir);
	free(pass);
	free(wrong);
	free(newp);
	vec_rmtree(tmp);
}

/* A blob moved to another product's slot does not unwrap there. */
static void
test_swapped_blob(void **state)
{
	struct fixture *fx = *state;
	struct exchange *ex = NULL;
	struct keys_master *mk;
	struct keys_dek *k = NULL;
	sqlite3 *h;

	assert_int_equal(exchange_open(fx->dir, NULL, &ex), 0);
	h = db_sqlite(exchange_db(ex));
	assert_int_equal(sqlite3_exec(h,
	                     "UPDATE wrapped_keys SET blob = (SELECT blob FROM wrapped_keys WHERE"
	                     " kind = 'dek' AND name = 'claims') WHERE kind = 'dek' AND name = "
	                     "'imaging'",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(exchange_master(ex, &mk), 0);
	assert_int_equal(keyring_dek_get(exchange_db(ex), mk, "imaging", 1, &k), SL_ERR_AUTH);
	assert_null(k);
	/* And rotation refuses to proceed past it, changing nothing. */
	assert_int_equal(exchange_rotate_master(ex, NULL), SL_ERR_AUTH);
	assert_int_equal(access(fx->newfile, F_OK), -1);
	assert_int_equal(keyring_dek_get(exchange_db(ex), mk, "claims", 1, &k), 0);
	keys_dek_free(k);
	exchange_close(ex);
}

static int
setup_group(void **state)
{
	return keys_init(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rotate_keeps_deks, setup_file, teardown),
	    cmocka_unit_test_setup_teardown(test_interrupted_before_commit, setup_file, teardown),
	    cmocka_unit_test_setup_teardown(test_interrupted_after_commit, setup_file, teardown),
	    cmocka_unit_test_setup_teardown(test_key_file_mode, setup_file, teardown),
	    cmocka_unit_test_setup_teardown(test_swapped_blob, setup_file, teardown),
	    cmocka_unit_test(test_passphrase),
	};

	return cmocka_run_group_tests(tests, setup_group, NULL);
}
