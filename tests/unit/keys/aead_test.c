/*
 * tests/unit/keys/aead_test.c -- AES-256-GCM (GCM spec / NIST), XChaCha20-
 * Poly1305 (draft-irtf-cfrg-xchacha), SM4 (GM/T 0002-2012) and SM4-CTR
 * known answers; the SM4-CTR + HMAC-SM3 construction; tamper resistance of
 * the sealed form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/err.h"
#include "keys/aead.h"
#include "keys/keys.h"
#include "tests/unit/vectors.h"

/* Records with Key, IV|Nonce, AAD, PT, CT, Tag: encrypt, decrypt, reject a bad tag. */
static void
check_aead_file(const char *rel, enum keys_aead alg, const char *noncefield)
{
	struct vec_file f;
	size_t i, nlen, tlen;

	assert_int_equal(keys_aead_sizes(alg, &nlen, &tlen), 0);
	vec_load(rel, &f);
	for (i = 0; i < f.nrecs; i++) {
		const struct vec_record *r = &f.recs[i];
		size_t klen, ivlen, alen, plen, clen, taglen;
		uint8_t *key = vec_hex(&f, r, "Key", &klen);
		uint8_t *iv = vec_hex(&f, r, noncefield, &ivlen);
		uint8_t *aad = vec_hex(&f, r, "AAD", &alen);
		uint8_t *pt = vec_hex(&f, r, "PT", &plen);
		uint8_t *ct = vec_hex(&f, r, "CT", &clen);
		uint8_t *tag = vec_hex(&f, r, "Tag", &taglen);
		uint8_t *out = malloc(plen + 1), got[KEYS_AEAD_TAG_MAX];

		assert_non_null(out);
		assert_int_equal(klen, KEYS_AEAD_KEY_BYTES);
		assert_int_equal(ivlen, nlen);
		assert_int_equal(taglen, tlen);
		assert_int_equal(clen, plen);
		assert_int_equal(keys_aead_encrypt(alg, key, iv, aad, alen, pt, plen, out, got), 0);
		assert_memory_equal(out, ct, clen);
		assert_memory_equal(got, tag, tlen);
		memset(out, 0xa5, plen);
		assert_int_equal(keys_aead_decrypt(alg, key, iv, aad, alen, ct, clen, tag, out), 0);
		assert_memory_equal(out, pt, plen);
		tag[0] ^= 1;
		assert_int_equal(
		    keys_aead_decrypt(alg, key, iv, aad, alen, ct, clen, tag, out), SL_ERR_AUTH);
		free(key);
		free(iv);
		free(aad);
		free(pt);
		free(ct);
		free(tag);
		free(out);
	}
	vec_free(&f);
}

static void
test_aes256gcm_kat(void **state)
{
	check_aead_file("unit/keys/vectors/aes256gcm.txt", KEYS_AEAD_AES256GCM, "IV");
}

static void
test_xchacha_kat(void **state)
{
	check_aead_file(
	    "unit/keys/vectors/xchacha20poly1305.txt", KEYS_AEAD_XCHACHA20POLY1305, "Nonce");
}

/*
 * The scratch cipher is the XChaCha20 keystream, which the AEAD vector's
 * ciphertext is from its second block on (the first keys Poly1305; the IETF
 * layout's 32-bit counter and zero-padded nonce coincide with the original's
 * 64-bit counter below 2^32).  So the published CT is PT at stream offset 64,
 * whether XORed whole or in pieces that start and end inside blocks.
 */
static void
test_scratch_kat(void **state)
{
	static const size_t cuts[][3] = {{114, 0, 0}, {1, 63, 50}, {10, 54, 50}, {64, 1, 49}};
	uint8_t key[KEYS_SCRATCH_KEY_BYTES], *buf;
	struct vec_file f;
	size_t klen, nlen, plen, clen, i, j, off;

	(void)state;
	vec_load("unit/keys/vectors/xchacha20poly1305.txt", &f);
	{
		uint8_t *k = vec_hex(&f, &f.recs[0], "Key", &klen);
		uint8_t *n = vec_hex(&f, &f.recs[0], "Nonce", &nlen);
		uint8_t *pt = vec_hex(&f, &f.recs[0], "PT", &plen);
		uint8_t *ct = vec_hex(&f, &f.recs[0], "CT", &clen);

		assert_int_equal(klen + nlen, KEYS_SCRATCH_KEY_BYTES);
		assert_int_equal(plen, 114);
		memcpy(key, k, klen);
		memcpy(key + klen, n, nlen);
		assert_non_null(buf = malloc(plen));
		for (i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
			memcpy(buf, pt, plen);
			for (j = 0, off = 0; j < 3 && off < plen; off += cuts[i][j], j++)
				keys_scratch_xor(key, 64 + off, buf + off, cuts[i][j]);
			keys_scratch_xor(key, 64 + off, buf + off, plen - off);
			assert_memory_equal(buf, ct, clen);
			/* And back. */
			keys_scratch_xor(key, 64, buf, plen);
			assert_memory_equal(buf, pt, plen);
		}
		free(buf);
		free(k);
		free(n);
		free(pt);
		free(ct);
	}
	vec_free(&f);
}

/*
 * The SM4 key is the last 16 bytes of the construction's key; the first 16
 * are the HMAC key and do not affect the ciphertext.
 */
static void
sm4_key(uint8_t key[KEYS_AEAD_KEY_BYTES], const uint8_t *enckey)
{
	memset(key, 0x5c, 16);
	memcpy(key + 16, enckey, 16);
}

/* SM4-CTR known answers through the construction's encryption half. */
static void
test_sm4ctr_kat(void **state)
{
	struct vec_file f;
	size_t i;

	vec_load("unit/keys/vectors/sm4ctr.txt", &f);
	for (i = 0; i < f.nrecs; i++) {
		size_t klen, ivlen, plen, clen;
		uint8_t *k = vec_hex(&f, &f.recs[i], "Key", &klen);
		uint8_t *iv = vec_hex(&f, &f.recs[i], "IV", &ivlen);
		uint8_t *pt = vec_hex(&f, &f.recs[i], "PT", &plen);
		uint8_t *ct = vec_hex(&f, &f.recs[i], "CT", &clen);
		uint8_t key[KEYS_AEAD_KEY_BYTES], tag[KEYS_AEAD_TAG_MAX], *out = malloc(plen + 1);

		assert_int_equal(klen, 16);
		assert_int_equal(ivlen, 16);
		assert_int_equal(clen, plen);
		sm4_key(key, k);
		assert_int_equal(keys_aead_encrypt(KEYS_AEAD_SM4CTR_HMACSM3, key, iv, NULL, 0, pt,
		                     plen, out, tag),
		    0);
		assert_memory_equal(out, ct, clen);
		free(k);
		free(iv);
		free(pt);
		free(ct);
		free(out);
	}
	vec_free(&f);
}

/*
 * GM/T 0002-2012 block examples: CTR's first keystream block is E_K(IV), so
 * with IV = the example's plaintext and a zero block in, the output is
 * E_K(plaintext).  Iterations re-encrypt the result.
 */
static void
test_sm4_block_kat(void **state)
{
	struct vec_file f;
	size_t i;

	vec_load("unit/keys/vectors/sm4.txt", &f);
	for (i = 0; i < f.nrecs; i++) {
		size_t klen, plen, clen;
		uint8_t *k = vec_hex(&f, &f.recs[i], "Key", &klen);
		uint8_t *pt = vec_hex(&f, &f.recs[i], "PT", &plen);
		uint8_t *ct = vec_hex(&f, &f.recs[i], "CT", &clen);
		long long iters = vec_int(&f, &f.recs[i], "Iterations", 1), n;
		uint8_t key[KEYS_AEAD_KEY_BYTES], tag[KEYS_AEAD_TAG_MAX], blk[16], zero[16] = {0};

		assert_int_equal(klen, 16);
		assert_int_equal(plen, 16);
		assert_int_equal(clen, 16);
		sm4_key(key, k);
		memcpy(blk, pt, 16);
		for (n = 0; n < iters; n++)
			assert_int_equal(keys_aead_encrypt(KEYS_AEAD_SM4CTR_HMACSM3, key, blk, NULL,
			                     0, zero, 16, blk, tag),
			    0);
		assert_memory_equal(blk, ct, 16);
		free(k);
		free(pt);
		free(ct);
	}
	vec_free(&f);
}

/* HMAC-SM3 (GM/T 0042-2015 appendix D.3) through the EVP call used as reference below. */
static void
test_hmac_sm3_reference(void **state)
{
	struct vec_file f;
	size_t i;

	vec_load("unit/keys/vectors/hmac_sm3.txt", &f);
	for (i = 0; i < f.nrecs; i++) {
		size_t kl, ml, tl, gl = 0;
		uint8_t *k = vec_hex(&f, &f.recs[i], "Key", &kl);
		uint8_t *m = vec_hex(&f, &f.recs[i], "Msg", &ml);
		uint8_t *t = vec_hex(&f, &f.recs[i], "MAC", &tl), got[32];

		assert_non_null(EVP_Q_mac(
		    NULL, "HMAC", NULL, "SM3", NULL, k, kl, m, ml, got, sizeof(got), &gl));
		assert_int_equal(gl, tl);
		assert_memory_equal(got, t, tl);
		free(k);
		free(m);
		free(t);
	}
	vec_free(&f);
}

/*
 * The tag is HMAC-SM3(first 16 key bytes, AAD || IV || CT || bitlen(AAD) as
 * 64-bit big-endian), as keys/aead.h documents; computed here independently.
 */
static void
test_sm4_hmac_construction(void **state)
{
	uint8_t key[KEYS_AEAD_KEY_BYTES], iv[16], pt[100], ct[100], tag[KEYS_AEAD_TAG_MAX];
	uint8_t want[32], buf[13 + 16 + 100 + 8];
	const char aad[] = "product:claims";
	size_t aadlen = 13, wantlen = 0, off = 0;
	uint64_t bits = aadlen * 8;
	int i;

	keys_random(key, sizeof(key));
	keys_random(iv, sizeof(iv));
	keys_random(pt, sizeof(pt));
	assert_int_equal(keys_aead_encrypt(KEYS_AEAD_SM4CTR_HMACSM3, key, iv, aad, aadlen, pt,
	                     sizeof(pt), ct, tag),
	    0);
	memcpy(buf, aad, aadlen);
	off = aadlen;
	memcpy(buf + off, iv, 16);
	off += 16;
	memcpy(buf + off, ct, sizeof(ct));
	off += sizeof(ct);
	for (i = 7; i >= 0; i--)
		buf[off + (size_t)i] = (uint8_t)(bits >> (8 * (7 - i)));
	off += 8;
	assert_non_null(
	    EVP_Q_mac(NULL, "HMAC", NULL, "SM3", NULL, key, 16, buf, off, want, 32, &wantlen));
	assert_int_equal(wantlen, 32);
	assert_memory_equal(tag, want, 32);
}

/* Seal, then change every byte of the blob and of the AAD in turn: all must fail. */
static void
check_tamper(enum keys_suite suite, enum keys_aead alg)
{
	uint8_t key[KEYS_AEAD_KEY_BYTES], pt[48], aad[20], *blob, *out;
	size_t len = keys_aead_sealed_len(alg, sizeof(pt)), outlen = 0, i;
	int r;

	keys_random(key, sizeof(key));
	keys_random(pt, sizeof(pt));
	keys_random(aad, sizeof(aad));
	assert_true(len > sizeof(pt));
	blob = malloc(len);
	out = malloc(len);
	assert_int_equal(keys_aead_seal(alg, key, aad, sizeof(aad), pt, sizeof(pt), blob), 0);
	assert_int_equal(blob[0], (uint8_t)alg);
	assert_int_equal(keys_aead_open(suite, key, aad, sizeof(aad), blob, len, out, &outlen), 0);
	assert_int_equal(outlen, sizeof(pt));
	assert_memory_equal(out, pt, sizeof(pt));
	for (i = 0; i < len; i++) {
		blob[i] ^= 0x01;
		r = keys_aead_open(suite, key, aad, sizeof(aad), blob, len, out, &outlen);
		/* The algorithm byte becomes another id: unknown (PARSE) or another suite's. */
		if (i == 0)
			assert_true(r == SL_ERR_PARSE || r == SL_ERR_AUTH);
		else
			assert_int_equal(r, SL_ERR_AUTH);
		blob[i] ^= 0x01;
	}
	for (i = 0; i < sizeof(aad); i++) {
		aad[i] ^= 0x80;
		assert_int_equal(
		    keys_aead_open(suite, key, aad, sizeof(aad), blob, len, out, &outlen),
		    SL_ERR_AUTH);
		aad[i] ^= 0x80;
	}
	/* Shorter AAD, truncation, a wrong key. */
	assert_int_equal(
	    keys_aead_open(suite, key, aad, sizeof(aad) - 1, blob, len, out, &outlen), SL_ERR_AUTH);
	assert_int_equal(
	    keys_aead_open(suite, key, aad, sizeof(aad), blob, len - 1, out, &outlen), SL_ERR_AUTH);
	assert_int_equal(
	    keys_aead_open(suite, key, aad, sizeof(aad), blob, 5, out, &outlen), SL_ERR_PARSE);
	/*
	 * A wrong key.  For SM4-CTR + HMAC-SM3 the first half is the MAC key; as in
	 * RFC 7518's AES_CBC_HMAC, only that half is authenticated by the tag.
	 */
	key[0] ^= 1;
	assert_int_equal(
	    keys_aead_open(suite, key, aad, sizeof(aad), blob, len, out, &outlen), SL_ERR_AUTH);
	free(blob);
	free(out);
}

static void
test_tamper_sm4(void **state)
{
	check_tamper(KEYS_SUITE_GM, KEYS_AEAD_SM4CTR_HMACSM3);
}

static void
test_tamper_gcm(void **state)
{
	check_tamper(KEYS_SUITE_INTL, KEYS_AEAD_AES256GCM);
}

static void
test_tamper_xchacha(void **state)
{
	check_tamper(KEYS_SUITE_INTL, KEYS_AEAD_XCHACHA20POLY1305);
}

/* A blob of one suite is refused by the other, even with the right key. */
static void
test_cross_suite(void **state)
{
	uint8_t key[KEYS_AEAD_KEY_BYTES], blob[128], out[128];
	size_t outlen, len = keys_aead_sealed_len(KEYS_AEAD_AES256GCM, 10);

	keys_random(key, sizeof(key));
	assert_int_equal(
	    keys_aead_seal(KEYS_AEAD_AES256GCM, key, "", 0, "0123456789", 10, blob), 0);
	assert_int_equal(
	    keys_aead_open(KEYS_SUITE_GM, key, "", 0, blob, len, out, &outlen), SL_ERR_AUTH);
	assert_int_equal(keys_aead_open(KEYS_SUITE_INTL, key, "", 0, blob, len, out, &outlen), 0);
	assert_true(keys_aead_in_suite(KEYS_SUITE_GM, KEYS_AEAD_SM4CTR_HMACSM3));
	assert_false(keys_aead_in_suite(KEYS_SUITE_GM, KEYS_AEAD_XCHACHA20POLY1305));
	assert_int_equal(keys_aead_for_wrap(KEYS_SUITE_INTL), KEYS_AEAD_XCHACHA20POLY1305);
	assert_int_equal(keys_aead_for_store(KEYS_SUITE_GM), KEYS_AEAD_SM4CTR_HMACSM3);
	assert_int_equal(keys_aead_sealed_len((enum keys_aead)7, 10), 0);
}

/* Two seals of one message differ (fresh nonces); empty messages work. */
static void
test_fresh_nonce(void **state)
{
	uint8_t key[KEYS_AEAD_KEY_BYTES], a[64], b[64], out[64];
	size_t len = keys_aead_sealed_len(KEYS_AEAD_SM4CTR_HMACSM3, 0), outlen = 1;

	keys_random(key, sizeof(key));
	assert_int_equal(keys_aead_seal(KEYS_AEAD_SM4CTR_HMACSM3, key, "a", 1, "", 0, a), 0);
	assert_int_equal(keys_aead_seal(KEYS_AEAD_SM4CTR_HMACSM3, key, "a", 1, "", 0, b), 0);
	assert_memory_not_equal(a, b, len);
	assert_int_equal(keys_aead_open(KEYS_SUITE_GM, key, "a", 1, a, len, out, &outlen), 0);
	assert_int_equal(outlen, 0);
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
	    cmocka_unit_test(test_aes256gcm_kat),
	    cmocka_unit_test(test_xchacha_kat),
	    cmocka_unit_test(test_scratch_kat),
	    cmocka_unit_test(test_sm4ctr_kat),
	    cmocka_unit_test(test_sm4_block_kat),
	    cmocka_unit_test(test_hmac_sm3_reference),
	    cmocka_unit_test(test_sm4_hmac_construction),
	    cmocka_unit_test(test_tamper_sm4),
	    cmocka_unit_test(test_tamper_gcm),
	    cmocka_unit_test(test_tamper_xchacha),
	    cmocka_unit_test(test_cross_suite),
	    cmocka_unit_test(test_fresh_nonce),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
