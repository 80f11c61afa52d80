/*
 * tests/unit/keys/hash_test.c -- SHA-256 (FIPS 180-2 examples) and SM3
 * (GM/T 0004-2012 examples), one-shot and incremental.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "keys/hash.h"
#include "keys/keys.h"
#include "tests/unit/vectors.h"

/* Check every record of a vector file: one-shot, whole updates, and odd splits. */
static void
check_file(const char *rel, enum keys_suite suite)
{
	struct vec_file f;
	struct keys_hash *h = NULL;
	uint8_t got[KEYS_HASH_BYTES];
	size_t i;

	vec_load(rel, &f);
	assert_int_equal(keys_hash_new(suite, &h), 0);
	for (i = 0; i < f.nrecs; i++) {
		size_t mlen, mdlen, total, off, step;
		uint8_t *msg = vec_hex(&f, &f.recs[i], "Msg", &mlen);
		uint8_t *md = vec_hex(&f, &f.recs[i], "MD", &mdlen);
		long long rep = vec_int(&f, &f.recs[i], "Repeat", 1), k;
		uint8_t *all;

		assert_int_equal(mdlen, KEYS_HASH_BYTES);
		/* Incremental, one update per repetition. */
		for (k = 0; k < rep; k++)
			assert_int_equal(keys_hash_update(h, msg, mlen), 0);
		assert_int_equal(keys_hash_final(h, got), 0);
		assert_memory_equal(got, md, KEYS_HASH_BYTES);

		total = mlen * (size_t)rep;
		all = malloc(total + 1);
		assert_non_null(all);
		for (k = 0; k < rep; k++)
			memcpy(all + (size_t)k * mlen, msg, mlen);
		/* One shot. */
		assert_int_equal(keys_hash(suite, all, total, got), 0);
		assert_memory_equal(got, md, KEYS_HASH_BYTES);
		/* Odd-sized pieces cross the 64-byte block boundary in every phase. */
		for (off = 0, step = 1; off < total; off += step, step = step * 3 + 1) {
			if (step > total - off)
				step = total - off;
			assert_int_equal(keys_hash_update(h, all + off, step), 0);
		}
		assert_int_equal(keys_hash_final(h, got), 0);
		assert_memory_equal(got, md, KEYS_HASH_BYTES);
		free(all);
		free(msg);
		free(md);
	}
	keys_hash_free(h);
	vec_free(&f);
}

static void
test_sha256(void **state)
{
	check_file("unit/keys/vectors/sha256.txt", KEYS_SUITE_INTL);
}

static void
test_sm3(void **state)
{
	check_file("unit/keys/vectors/sm3.txt", KEYS_SUITE_GM);
}

static void
test_suites_differ(void **state)
{
	uint8_t a[KEYS_HASH_BYTES], b[KEYS_HASH_BYTES];

	assert_int_equal(keys_hash(KEYS_SUITE_INTL, "abc", 3, a), 0);
	assert_int_equal(keys_hash(KEYS_SUITE_GM, "abc", 3, b), 0);
	assert_memory_not_equal(a, b, KEYS_HASH_BYTES);
}

static void
test_unknown_suite(void **state)
{
	struct keys_hash *h = NULL;
	uint8_t out[KEYS_HASH_BYTES];

	assert_int_equal(keys_hash((enum keys_suite)9, "x", 1, out), SL_ERR_INVAL);
	assert_int_equal(keys_hash_new((enum keys_suite)0, &h), SL_ERR_INVAL);
	assert_null(h);
	keys_hash_free(NULL);
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
	    cmocka_unit_test(test_sha256),
	    cmocka_unit_test(test_sm3),
	    cmocka_unit_test(test_suites_differ),
	    cmocka_unit_test(test_unknown_suite),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
