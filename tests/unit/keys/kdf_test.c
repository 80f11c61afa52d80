/*
 * tests/unit/keys/kdf_test.c -- Argon2id known answers and parameter bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/err.h"
#include "keys/kdf.h"
#include "keys/keys.h"
#include "tests/unit/vectors.h"

/*
 * Raw records go through keys_kdf_derive(); encoded records (the reference
 * implementation's, whose 8-byte salt libsodium's raw API cannot take) check
 * the library's Argon2id itself.
 */
static void
test_argon2id_kat(void **state)
{
	struct vec_file f;
	size_t i, raw = 0;

	vec_load("unit/keys/vectors/argon2id.txt", &f);
	for (i = 0; i < f.nrecs; i++) {
		const struct vec_record *r = &f.recs[i];
		const char *enc = vec_get(r, "Encoded");
		size_t plen, slen, olen;
		uint8_t *pass = vec_hex(&f, r, "Password", &plen), *salt, *want, *got;
		struct keys_kdf_params p;

		if (enc != NULL) {
			assert_int_equal(
			    crypto_pwhash_str_verify(enc, (const char *)pass, plen), 0);
			free(pass);
			continue;
		}
		salt = vec_hex(&f, r, "Salt", &slen);
		want = vec_hex(&f, r, "Out", &olen);
		assert_int_equal(slen, KEYS_KDF_SALT_BYTES);
		memcpy(p.salt, salt, slen);
		p.opslimit = (uint64_t)vec_int(&f, r, "OpsLimit", -1);
		p.memlimit = (uint64_t)vec_int(&f, r, "MemLimitBytes", -1);
		got = malloc(olen);
		assert_int_equal(keys_kdf_derive(&p, pass, plen, got, olen), 0);
		assert_memory_equal(got, want, olen);
		/* One bit of the salt changes everything. */
		p.salt[0] ^= 1;
		assert_int_equal(keys_kdf_derive(&p, pass, plen, got, olen), 0);
		assert_memory_not_equal(got, want, olen);
		raw++;
		free(got);
		free(pass);
		free(salt);
		free(want);
	}
	assert_true(raw >= 1);
	vec_free(&f);
}

static void
test_params(void **state)
{
	struct keys_kdf_params a, b;
	uint8_t out[32];

	keys_kdf_params_new(&a);
	keys_kdf_params_new(&b);
	assert_int_equal(a.opslimit, KEYS_KDF_OPSLIMIT_DEFAULT);
	assert_int_equal(a.memlimit, KEYS_KDF_MEMLIMIT_DEFAULT);
	assert_memory_not_equal(a.salt, b.salt, KEYS_KDF_SALT_BYTES);
	/* Values read back from an edited catalog are bounded. */
	a.memlimit = KEYS_KDF_MEMLIMIT_MAX + 1;
	assert_int_equal(keys_kdf_derive(&a, "pw", 2, out, sizeof(out)), SL_ERR_INVAL);
	a.memlimit = 1024;
	assert_int_equal(keys_kdf_derive(&a, "pw", 2, out, sizeof(out)), SL_ERR_INVAL);
	a.memlimit = KEYS_KDF_MEMLIMIT_MIN;
	a.opslimit = KEYS_KDF_OPSLIMIT_MAX + 1;
	assert_int_equal(keys_kdf_derive(&a, "pw", 2, out, sizeof(out)), SL_ERR_INVAL);
	a.opslimit = 0;
	assert_int_equal(keys_kdf_derive(&a, "pw", 2, out, sizeof(out)), SL_ERR_INVAL);
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
	    cmocka_unit_test(test_argon2id_kat),
	    cmocka_unit_test(test_params),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
