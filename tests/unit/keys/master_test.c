/*
 * tests/unit/keys/master_test.c -- master key file, passphrase derivation,
 * wrapping bound to (kind, name, version), data keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/file.h"
#include "keys/dek.h"
#include "keys/keys.h"
#include "keys/master.h"
#include "tests/unit/vectors.h"

static void
check_file_round_trip(enum keys_suite suite)
{
	char *dir = vec_tmpdir(), *path = sl_path_join(dir, "master.key");
	struct keys_master *mk = NULL, *back = NULL, *other = NULL;
	uint8_t *check = NULL, *data = NULL;
	size_t checklen, len;
	struct stat st;

	assert_int_equal(keys_master_generate(suite, &mk), 0);
	assert_int_equal(keys_master_write_file(mk, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(keys_master_write_file(mk, path), SL_ERR_EXISTS);
	assert_int_equal(sl_file_read(path, 1024, &data, &len), 0);
	assert_int_equal(len, strlen(KEYS_MASTER_FILE_TAG) + 64 + 1);
	assert_memory_equal(data, KEYS_MASTER_FILE_TAG, strlen(KEYS_MASTER_FILE_TAG));
	free(data);

	assert_int_equal(keys_master_read_file(suite, path, &back), 0);
	assert_int_equal(keys_master_check_make(mk, &check, &checklen), 0);
	assert_int_equal(keys_master_check(back, check, checklen), 0);
	assert_int_equal(keys_master_generate(suite, &other), 0);
	assert_int_equal(keys_master_check(other, check, checklen), SL_ERR_AUTH);

	/* Readable by group: refused before reading. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(keys_master_read_file(suite, path, &back), SL_ERR_POLICY);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(keys_master_read_file(suite, path, &back), SL_ERR_POLICY);
	free(check);
	free(path);
	keys_master_free(mk);
	keys_master_free(back);
	keys_master_free(other);
	vec_rmtree(dir);
}

static void
test_file_intl(void **state)
{
	check_file_round_trip(KEYS_SUITE_INTL);
}

static void
test_file_gm(void **state)
{
	check_file_round_trip(KEYS_SUITE_GM);
}

static void
write_text(const char *path, const char *text)
{
	assert_int_equal(sl_file_write_replace(path, 0600, text, strlen(text)), 0);
}

static void
test_file_malformed(void **state)
{
	char *dir = vec_tmpdir(), *path = sl_path_join(dir, "master.key");
	struct keys_master *mk = NULL;
	char good[128];

	assert_int_equal(keys_master_read_file(KEYS_SUITE_INTL, path, &mk), SL_ERR_NOTFOUND);
	snprintf(good, sizeof(good), "%s%064d\n", KEYS_MASTER_FILE_TAG, 0);
	write_text(path, good);
	assert_int_equal(keys_master_read_file(KEYS_SUITE_INTL, path, &mk), 0);
	keys_master_free(mk);
	mk = NULL;
	good[strlen(KEYS_MASTER_FILE_TAG) + 3] = 'g'; /* not hex */
	write_text(path, good);
	assert_int_equal(keys_master_read_file(KEYS_SUITE_INTL, path, &mk), SL_ERR_PARSE);
	write_text(path, "sluice-master-key-v1:00\n"); /* short */
	assert_int_equal(keys_master_read_file(KEYS_SUITE_INTL, path, &mk), SL_ERR_PARSE);
	snprintf(good, sizeof(good), "%s%064d\nextra", KEYS_MASTER_FILE_TAG, 0);
	write_text(path, good); /* long */
	assert_int_equal(keys_master_read_file(KEYS_SUITE_INTL, path, &mk), SL_ERR_PARSE);
	snprintf(good, sizeof(good), "sluice-master-key-v2:%064d\n", 0);
	write_text(path, good); /* unknown version tag */
	assert_int_equal(keys_master_read_file(KEYS_SUITE_INTL, path, &mk), SL_ERR_PARSE);
	assert_null(mk);
	free(path);
	vec_rmtree(dir);
}

static void
test_passphrase(void **state)
{
	struct keys_kdf_params p;
	struct keys_master *a = NULL, *b = NULL, *c = NULL;
	uint8_t *check = NULL;
	size_t checklen;

	keys_kdf_params_new(&p);
	p.memlimit = KEYS_KDF_MEMLIMIT_MIN * 128; /* keep the test quick */
	assert_int_equal(
	    keys_master_from_passphrase(KEYS_SUITE_GM, &p, "correct horse", 13, &a), 0);
	assert_int_equal(
	    keys_master_from_passphrase(KEYS_SUITE_GM, &p, "correct horse", 13, &b), 0);
	assert_int_equal(
	    keys_master_from_passphrase(KEYS_SUITE_GM, &p, "correct horsf", 13, &c), 0);
	assert_int_equal(keys_master_check_make(a, &check, &checklen), 0);
	assert_int_equal(keys_master_check(b, check, checklen), 0);
	assert_int_equal(keys_master_check(c, check, checklen), SL_ERR_AUTH);
	free(check);
	keys_master_free(a);
	keys_master_free(b);
	keys_master_free(c);
}

static void
check_wrap(enum keys_suite suite)
{
	struct keys_master *mk = NULL, *other = NULL;
	uint8_t *blob = NULL, *secret = NULL;
	size_t bloblen, len, i;
	const char msg[] = "-----BEGIN PRIVATE KEY-----";

	assert_int_equal(keys_master_generate(suite, &mk), 0);
	assert_int_equal(keys_master_generate(suite, &other), 0);
	assert_int_equal(
	    keys_master_wrap(mk, "secret", "tls.ca", 3, msg, sizeof(msg), &blob, &bloblen), 0);
	assert_int_equal(
	    keys_master_unwrap(mk, "secret", "tls.ca", 3, blob, bloblen, &secret, &len), 0);
	assert_int_equal(len, sizeof(msg));
	assert_memory_equal(secret, msg, len);
	keys_secret_free(secret);
	/* Bound to its slot: another kind, name, version or key fails. */
	assert_int_equal(
	    keys_master_unwrap(mk, "dek", "tls.ca", 3, blob, bloblen, &secret, &len), SL_ERR_AUTH);
	assert_int_equal(
	    keys_master_unwrap(mk, "secret", "tls.cb", 3, blob, bloblen, &secret, &len),
	    SL_ERR_AUTH);
	assert_int_equal(
	    keys_master_unwrap(mk, "secret", "tls.ca", 4, blob, bloblen, &secret, &len),
	    SL_ERR_AUTH);
	/* The 0 separator keeps "ab"+"c" apart from "a"+"bc". */
	assert_int_equal(
	    keys_master_unwrap(mk, "secre", "ttls.ca", 3, blob, bloblen, &secret, &len),
	    SL_ERR_AUTH);
	assert_int_equal(
	    keys_master_unwrap(other, "secret", "tls.ca", 3, blob, bloblen, &secret, &len),
	    SL_ERR_AUTH);
	for (i = 0; i < bloblen; i++) {
		blob[i] ^= 0x10;
		assert_int_equal(
		    keys_master_unwrap(mk, "secret", "tls.ca", 3, blob, bloblen, &secret, &len),
		    SL_ERR_AUTH);
		blob[i] ^= 0x10;
	}
	free(blob);
	keys_master_free(mk);
	keys_master_free(other);
}

static void
test_wrap_intl(void **state)
{
	check_wrap(KEYS_SUITE_INTL);
}

static void
test_wrap_gm(void **state)
{
	check_wrap(KEYS_SUITE_GM);
}

static void
test_dek(void **state)
{
	struct keys_master *mk = NULL;
	struct keys_dek *k = NULL, *back = NULL;
	uint8_t *blob = NULL;
	size_t bloblen;

	assert_int_equal(keys_master_generate(KEYS_SUITE_INTL, &mk), 0);
	assert_int_equal(keys_dek_generate(KEYS_SUITE_INTL, &k), 0);
	assert_int_equal(keys_dek_wrap(mk, "claims", 1, k, &blob, &bloblen), 0);
	assert_int_equal(keys_dek_unwrap(mk, "claims", 1, blob, bloblen, &back), 0);
	assert_memory_equal(keys_dek_bytes(k), keys_dek_bytes(back), KEYS_DEK_BYTES);
	keys_dek_free(back);
	back = NULL;
	assert_int_equal(keys_dek_unwrap(mk, "claims", 2, blob, bloblen, &back), SL_ERR_AUTH);
	assert_int_equal(keys_dek_unwrap(mk, "imaging", 1, blob, bloblen, &back), SL_ERR_AUTH);
	assert_null(back);
	free(blob);
	keys_dek_free(k);
	/* A gm key cannot be wrapped by an intl master. */
	assert_int_equal(keys_dek_generate(KEYS_SUITE_GM, &k), 0);
	assert_int_equal(keys_dek_wrap(mk, "claims", 1, k, &blob, &bloblen), SL_ERR_INVAL);
	keys_dek_free(k);
	keys_dek_free(NULL);
	keys_master_free(mk);
}

static int
setup(void **state)
{
	return keys_init(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_intl),
	    cmocka_unit_test(test_file_gm),
	    cmocka_unit_test(test_file_malformed),
	    cmocka_unit_test(test_passphrase),
	    cmocka_unit_test(test_wrap_intl),
	    cmocka_unit_test(test_wrap_gm),
	    cmocka_unit_test(test_dek),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
