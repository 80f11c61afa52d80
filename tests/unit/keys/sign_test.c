/*
 * tests/unit/keys/sign_test.c -- Ed25519 (RFC 8032 section 7.1) and SM2
 * (GB/T 32918.2 example on the recommended curve) signatures; PEM round
 * trips; the SM2 distinguishing ID is set explicitly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "keys/keys.h"
#include "keys/sign.h"
#include "tests/unit/vectors.h"

/* PKCS#8 PEM of an Ed25519 seed, made by OpenSSL independently of keys/. */
static char *
ed25519_pem(const uint8_t *seed, size_t *len)
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *copy;
	long n;

	assert_non_null(pk);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	copy = malloc((size_t)n + 1);
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return copy;
}

static void
test_ed25519_kat(void **state)
{
	struct vec_file f;
	size_t i;

	vec_load("unit/keys/vectors/ed25519.txt", &f);
	for (i = 0; i < f.nrecs; i++) {
		const struct vec_record *r = &f.recs[i];
		size_t slen, plen, mlen, siglen, pemlen, derlen, got_len;
		uint8_t *seed = vec_hex(&f, r, "Seed", &slen);
		uint8_t *pub = vec_hex(&f, r, "PublicKey", &plen);
		uint8_t *msg = vec_hex(&f, r, "Msg", &mlen);
		uint8_t *sig = vec_hex(&f, r, "Sig", &siglen);
		uint8_t got[KEYS_SIG_MAX], *der = NULL;
		struct keys_identity *id = NULL;
		struct keys_pubkey *pk = NULL;
		char *pem = ed25519_pem(seed, &pemlen);

		assert_int_equal(keys_identity_from_pem(pem, pemlen, &id), 0);
		assert_int_equal(keys_identity_suite(id), KEYS_SUITE_INTL);
		assert_int_equal(keys_identity_pubkey(id, &pk), 0);
		/* The SPKI of an Ed25519 key ends with the raw 32-byte public key. */
		assert_int_equal(keys_pubkey_to_der(pk, &der, &derlen), 0);
		assert_int_equal(derlen, 44);
		assert_memory_equal(der + 12, pub, 32);
		assert_int_equal(keys_identity_sign(id, msg, mlen, got, &got_len), 0);
		assert_int_equal(got_len, siglen);
		assert_memory_equal(got, sig, siglen);
		assert_int_equal(keys_pubkey_verify(pk, msg, mlen, sig, siglen), 0);
		sig[siglen - 1] ^= 0x40;
		assert_int_equal(keys_pubkey_verify(pk, msg, mlen, sig, siglen), SL_ERR_AUTH);
		sig[siglen - 1] ^= 0x40;
		assert_int_equal(keys_pubkey_verify(pk, msg, mlen, sig, siglen - 1), SL_ERR_AUTH);
		assert_int_equal(keys_pubkey_verify(pk, "x", 1, sig, siglen), SL_ERR_AUTH);
		free(der);
		free(pem);
		keys_pubkey_free(pk);
		keys_identity_free(id);
		free(seed);
		free(pub);
		free(msg);
		free(sig);
	}
	vec_free(&f);
}

/* An SM2 public key from affine coordinates, via its SPKI DER. */
static struct keys_pubkey *
sm2_pub(const uint8_t *x, const uint8_t *y)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
	EVP_PKEY *pkey = NULL;
	struct keys_pubkey *pk = NULL;
	uint8_t point[65], *der = NULL;
	int derlen;

	point[0] = 0x04;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	assert_int_equal(
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0), 1);
	assert_int_equal(
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 65), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	derlen = i2d_PUBKEY(pkey, &der);
	assert_true(derlen > 0);
	assert_int_equal(keys_pubkey_from_der(der, (size_t)derlen, &pk), 0);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* DER ECDSA-Sig-Value from r and s. */
static uint8_t *
sig_der(const uint8_t *r, const uint8_t *s, size_t *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	uint8_t *der = NULL;
	int n;

	assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(r, 32, NULL), BN_bin2bn(s, 32, NULL)), 1);
	n = i2d_ECDSA_SIG(sig, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	ECDSA_SIG_free(sig);
	return der;
}

static void
test_sm2_kat(void **state)
{
	struct vec_file f;
	size_t i;

	vec_load("unit/keys/vectors/sm2sign.txt", &f);
	for (i = 0; i < f.nrecs; i++) {
		const struct vec_record *rec = &f.recs[i];
		size_t xl, yl, il, ml, rl, sl, dl;
		uint8_t *x = vec_hex(&f, rec, "PublicKeyX", &xl);
		uint8_t *y = vec_hex(&f, rec, "PublicKeyY", &yl);
		uint8_t *id = vec_hex(&f, rec, "ID", &il);
		uint8_t *msg = vec_hex(&f, rec, "Msg", &ml);
		uint8_t *r = vec_hex(&f, rec, "R", &rl);
		uint8_t *s = vec_hex(&f, rec, "S", &sl);
		struct keys_pubkey *pk;
		uint8_t *der;

		assert_string_equal(vec_get(rec, "Curve"), "sm2p256v1");
		assert_int_equal(xl, 32);
		assert_int_equal(rl, 32);
		pk = sm2_pub(x, y);
		assert_int_equal(keys_pubkey_suite(pk), KEYS_SUITE_GM);
		der = sig_der(r, s, &dl);
		assert_int_equal(keys_pubkey_verify_sm2_id(pk, id, il, msg, ml, der, dl), 0);
		/*
		 * keys_pubkey_verify() uses the default ID: it accepts the example exactly
		 * when the example was made with "1234567812345678".
		 */
		assert_int_equal(keys_pubkey_verify(pk, msg, ml, der, dl),
		    il == strlen(KEYS_SM2_ID) && memcmp(id, KEYS_SM2_ID, il) == 0 ? 0
		                                                                  : SL_ERR_AUTH);
		assert_int_equal(
		    keys_pubkey_verify_sm2_id(pk, "1234567812345679", 16, msg, ml, der, dl),
		    SL_ERR_AUTH);
		/* Another message, or a changed s. */
		assert_int_equal(
		    keys_pubkey_verify_sm2_id(pk, id, il, msg, ml - 1, der, dl), SL_ERR_AUTH);
		OPENSSL_free(der);
		s[31] ^= 1;
		der = sig_der(r, s, &dl);
		assert_int_equal(
		    keys_pubkey_verify_sm2_id(pk, id, il, msg, ml, der, dl), SL_ERR_AUTH);
		OPENSSL_free(der);
		keys_pubkey_free(pk);
		free(x);
		free(y);
		free(id);
		free(msg);
		free(r);
		free(s);
	}
	vec_free(&f);
}

/* Generate, export, re-import, sign, verify: for each suite. */
static void
check_round_trip(enum keys_suite suite)
{
	struct keys_identity *id = NULL, *id2 = NULL, *other = NULL;
	struct keys_pubkey *pk = NULL, *pk2 = NULL, *pk3 = NULL, *opk = NULL;
	char *pem = NULL, *pubpem = NULL, fp[KEYS_FINGERPRINT_MAX], fp2[KEYS_FINGERPRINT_MAX];
	size_t pemlen = 0, publen, siglen;
	uint8_t sig[KEYS_SIG_MAX];
	const char msg[] = "contract c_1 canonical bytes";

	assert_int_equal(keys_identity_generate(suite, &id), 0);
	assert_int_equal(keys_identity_generate(suite, &other), 0);
	assert_int_equal(keys_identity_to_pem(id, &pem, &pemlen), 0);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(keys_identity_from_pem(pem, pemlen, &id2), 0);
	assert_int_equal(keys_identity_suite(id2), suite);
	assert_int_equal(keys_identity_pubkey(id, &pk), 0);
	assert_int_equal(keys_identity_pubkey(id2, &pk2), 0);
	assert_int_equal(keys_identity_pubkey(other, &opk), 0);
	assert_true(keys_pubkey_equal(pk, pk2));
	assert_false(keys_pubkey_equal(pk, opk));
	assert_int_equal(keys_pubkey_to_pem(pk, &pubpem, &publen), 0);
	assert_non_null(strstr(pubpem, "-----BEGIN PUBLIC KEY-----"));
	assert_int_equal(keys_pubkey_from_pem(pubpem, publen, &pk3), 0);
	assert_true(keys_pubkey_equal(pk, pk3));
	assert_int_equal(keys_pubkey_fingerprint(pk, fp), 0);
	assert_int_equal(keys_pubkey_fingerprint(pk3, fp2), 0);
	assert_string_equal(fp, fp2);
	assert_non_null(strstr(fp, suite == KEYS_SUITE_INTL ? "SHA256:" : "SM3:"));
	assert_int_equal(strlen(fp), strlen(suite == KEYS_SUITE_INTL ? "SHA256:" : "SM3:") + 64);

	/* Signed by the re-imported key, verified by the original's public key. */
	assert_int_equal(keys_identity_sign(id2, msg, sizeof(msg), sig, &siglen), 0);
	assert_int_equal(keys_pubkey_verify(pk, msg, sizeof(msg), sig, siglen), 0);
	assert_int_equal(keys_pubkey_verify(opk, msg, sizeof(msg), sig, siglen), SL_ERR_AUTH);
	assert_int_equal(keys_pubkey_verify(pk, msg, sizeof(msg) - 1, sig, siglen), SL_ERR_AUTH);
	assert_int_equal(keys_pubkey_verify(pk, msg, sizeof(msg), sig, 0), SL_ERR_AUTH);
	if (suite == KEYS_SUITE_GM) {
		/* The ID really is 1234567812345678: other IDs (or none) do not verify. */
		assert_int_equal(
		    keys_pubkey_verify_sm2_id(pk, KEYS_SM2_ID, 16, msg, sizeof(msg), sig, siglen),
		    0);
		assert_int_equal(keys_pubkey_verify_sm2_id(
		                     pk, "1234567812345679", 16, msg, sizeof(msg), sig, siglen),
		    SL_ERR_AUTH);
		assert_int_equal(
		    keys_pubkey_verify_sm2_id(pk, "", 0, msg, sizeof(msg), sig, siglen),
		    SL_ERR_AUTH);
	}
	keys_pem_free(pem, pemlen);
	free(pubpem);
	keys_pubkey_free(pk);
	keys_pubkey_free(pk2);
	keys_pubkey_free(pk3);
	keys_pubkey_free(opk);
	keys_identity_free(id);
	keys_identity_free(id2);
	keys_identity_free(other);
}

static void
test_round_trip_intl(void **state)
{
	check_round_trip(KEYS_SUITE_INTL);
}

static void
test_round_trip_gm(void **state)
{
	check_round_trip(KEYS_SUITE_GM);
}

/* Keys Sluice does not use, encrypted PEM and garbage are refused, never prompted for. */
/* keys/sign.c reads OpenSSL's exact Ed25519 DER itself; anything else goes to OpenSSL. */
static void
test_ed25519_forms(void **state)
{
	static const uint8_t seed[32] = {7, 1, 2, 3};
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL, *pk2 = NULL;
	EVP_PKEY *ossl = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	uint8_t *der = NULL, *oder = NULL, sig[KEYS_SIG_MAX];
	size_t pemlen, derlen, siglen, i;
	int oderlen;
	char *pem = ed25519_pem(seed, &pemlen), *pubpem = NULL, *crlf, *junk, *bad;
	struct keys_identity *id2_bad = NULL;

	assert_int_equal(keys_identity_from_pem(pem, pemlen, &id), 0);
	assert_int_equal(keys_identity_pubkey(id, &pk), 0);
	/* The SPKI built without OpenSSL is OpenSSL's, byte for byte. */
	assert_int_equal(keys_pubkey_to_der(pk, &der, &derlen), 0);
	oderlen = i2d_PUBKEY(ossl, &oder);
	assert_int_equal(derlen, (size_t)oderlen);
	assert_memory_equal(der, oder, derlen);
	/* Its PEM, read back, is the same key; and OpenSSL's handle agrees. */
	assert_int_equal(keys_pubkey_to_pem(pk, &pubpem, &pemlen), 0);
	assert_int_equal(keys_pubkey_from_pem(pubpem, pemlen, &pk2), 0);
	assert_true(keys_pubkey_equal(pk, pk2));
	assert_int_equal(EVP_PKEY_eq(keys_pubkey_evp(pk2), ossl), 1);
	keys_pubkey_free(pk2);
	pk2 = NULL;
	/* CRLF line ends (the fast path) and text before the block (OpenSSL's path). */
	crlf = calloc(1, 2 * strlen(pem) + 1);
	for (i = 0; pem[i] != '\0'; i++) {
		if (pem[i] == '\n')
			strcat(crlf, "\r");
		strncat(crlf, &pem[i], 1);
	}
	junk = calloc(1, strlen(pem) + 32);
	strcpy(junk, "a comment line\n");
	strcat(junk, pem);
	for (i = 0; i < 2; i++) {
		struct keys_identity *id2 = NULL;
		const char *text = i == 0 ? crlf : junk;

		assert_int_equal(keys_identity_from_pem(text, strlen(text), &id2), 0);
		assert_int_equal(keys_identity_sign(id2, "m", 1, sig, &siglen), 0);
		assert_int_equal(keys_pubkey_verify(pk, "m", 1, sig, siglen), 0);
		keys_identity_free(id2);
	}
	/* A bad base64 byte, a cut block, a trailing DER byte: refused, not misread. */
	bad = strdup(pem);
	bad[strlen("-----BEGIN PRIVATE KEY-----\n") + 5] = '*';
	assert_int_equal(keys_identity_from_pem(bad, strlen(bad), &id2_bad), SL_ERR_PARSE);
	assert_int_equal(keys_identity_from_pem(pem, pemlen / 2, &id2_bad), SL_ERR_PARSE);
	der = realloc(der, derlen + 1);
	der[derlen] = 0;
	assert_int_equal(keys_pubkey_from_der(der, derlen + 1, &pk2), SL_ERR_PARSE);
	assert_null(pk2);
	free(bad);
	free(junk);
	free(crlf);
	free(der);
	OPENSSL_free(oder);
	free(pubpem);
	free(pem);
	EVP_PKEY_free(ossl);
	keys_pubkey_free(pk);
	keys_identity_free(id);
}

static const char encrypted_p256[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgeYAIuWg7AWAICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEAGj8g2vvlNeAA/wTyZbO+gEgZCd\n"
    "in66MdGNjaNDN2TfQhQMikFeScizkzwZU1be48leX/wARRgcVFBt8CjqAnHrzBtN\n"
    "CSvn0VSEJy2zbXzaDBb7KbFdX4Zpy6VAn0CZpOQU+TZ4+DujGCBrnMy+3ju79Uts\n"
    "GKyptfyOpaw0R/43rbMkVLeOPNaWdXG7qmg5X7hj1Wl1DrHo0T8bBy1VGEswDLg=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";

static void
test_bad_pem(void **state)
{
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01, 0x00};

	assert_int_equal(keys_identity_from_pem("hello", 5, &id), SL_ERR_PARSE);
	assert_int_equal(keys_pubkey_from_pem("", 0, &pk), SL_ERR_PARSE);
	assert_int_equal(keys_pubkey_from_der(junk, sizeof(junk), &pk), SL_ERR_PARSE);
	/* A P-256 key is a valid key of the wrong kind. */
	assert_int_equal(PEM_write_bio_PrivateKey(bio, p256, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_int_equal(keys_identity_from_pem(data, (size_t)n, &id), SL_ERR_PARSE);
	(void)BIO_reset(bio);
	/*
	 * An encrypted PKCS#8 key: no terminal prompt, just a refusal.  Made by
	 * openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:pw, since
	 * keys_init(0) leaves out the legacy cipher names that writing one here
	 * would need.
	 */
	assert_int_equal(
	    keys_identity_from_pem(encrypted_p256, strlen(encrypted_p256), &id), SL_ERR_PARSE);
	assert_null(id);
	assert_null(pk);
	BIO_free(bio);
	EVP_PKEY_free(p256);
}

/*
 * Texts the quick Ed25519 path once read as keys though OpenSSL's reader, the
 * one an outside verifier uses, refuses them (found by identity_fuzz): bytes
 * above 0x7f inside the base64, NUL bytes, the block on one line.  And an SM2
 * key whose public point is not its private scalar's.  All refused.
 */
static void
test_pem_openssl_refuses(void **state)
{
	static const uint8_t seed[32] = {9, 8, 7};
	static const char sm2_mismatched[] =
	    "-----BEGIN PRIVATE KEY-----\n"
	    "MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg4L/wvmPPKTqvJH8q\n"
	    "B3VhUreJ6MZf9hBHWRgXRPxpCQ6hRANCAATSYvEcjvRkiAbtDpz5S9EmyOwVxpLm\n"
	    "KUNA2d6hW7ECXD5t4CZSslkMFX6Nah6fRg8yX/HA0Q41uYuBeN0ECqtN\n"
	    "-----END PRIVATE KEY-----\n";
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL, *pk2 = NULL;
	size_t pemlen, publen, n, i;
	char *pem = ed25519_pem(seed, &pemlen), *pubpem = NULL, *bad, *b64, *nl;

	assert_int_equal(keys_identity_from_pem(sm2_mismatched, strlen(sm2_mismatched), &id),
	    SL_ERR_PARSE);
	assert_null(id);
	assert_int_equal(keys_identity_from_pem(pem, pemlen, &id), 0);
	assert_int_equal(keys_identity_pubkey(id, &pk), 0);
	assert_int_equal(keys_pubkey_to_pem(pk, &pubpem, &publen), 0);
	bad = malloc(publen + 64);
	/* The last eight base64 digits of the key become bytes with the high bit set. */
	memcpy(bad, pubpem, publen + 1);
	b64 = strchr(bad, '\n') + 1;
	nl = strchr(b64, '\n');
	for (i = 0; i < 8; i++)
		nl[-(ptrdiff_t)(i + 2)] = (char)(0xb7 + i);
	assert_int_equal(keys_pubkey_from_pem(bad, publen, &pk2), SL_ERR_PARSE);
	/* NUL bytes before the end line. */
	memcpy(bad, pubpem, publen + 1);
	nl = strstr(bad, "-----END");
	memmove(nl + 8, nl, strlen(nl) + 1);
	memset(nl, 0, 8);
	assert_int_equal(keys_pubkey_from_pem(bad, publen + 8, &pk2), SL_ERR_PARSE);
	/* The whole block on one line. */
	for (i = 0, n = 0; i < publen; i++)
		if (pubpem[i] != '\n')
			bad[n++] = pubpem[i];
	assert_int_equal(keys_pubkey_from_pem(bad, n, &pk2), SL_ERR_PARSE);
	assert_null(pk2);
	free(bad);
	free(pubpem);
	free(pem);
	keys_pubkey_free(pk);
	keys_identity_free(id);
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
	    cmocka_unit_test(test_ed25519_kat),
	    cmocka_unit_test(test_sm2_kat),
	    cmocka_unit_test(test_round_trip_intl),
	    cmocka_unit_test(test_round_trip_gm),
	    cmocka_unit_test(test_bad_pem),
	    cmocka_unit_test(test_ed25519_forms),
	    cmocka_unit_test(test_pem_openssl_refuses),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
