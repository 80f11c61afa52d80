/*
 * keys/aead.c -- AES-256-GCM, XChaCha20-Poly1305 and SM4-CTR + HMAC-SM3.
 *
 * Every entry point takes an optional AAD prefix internally so the sealed
 * form can authenticate its algorithm byte without copying caller AAD.
 */
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "keys/aead.h"
#include "keys/keys.h"

#define GCM_NONCE_BYTES 12
#define GCM_TAG_BYTES 16
#define SM4_KEY_BYTES 16
#define SM4_IV_BYTES 16
#define SM3_TAG_BYTES 32

/* Largest length handed to one EVP update call, which takes an int. */
#define EVP_STEP (1U << 30)

/*
 * Fetched once each, by whichever thread needs one first: the worker's scan
 * and rotation threads and the daemon's job threads share them.
 */
static EVP_CIPHER *aead_aes_gcm;
static EVP_CIPHER *aead_sm4_ctr;
static EVP_MAC *aead_hmac;
static pthread_once_t once_gcm = PTHREAD_ONCE_INIT, once_sm4 = PTHREAD_ONCE_INIT,
                      once_hmac = PTHREAD_ONCE_INIT;

static void
fetch_gcm(void)
{
	aead_aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static void
fetch_sm4(void)
{
	aead_sm4_ctr = EVP_CIPHER_fetch(NULL, "SM4-CTR", NULL);
}

static void
fetch_hmac(void)
{
	aead_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

int
keys_aead_sizes(enum keys_aead alg, size_t *noncelen, size_t *taglen)
{
	switch (alg) {
	case KEYS_AEAD_AES256GCM:
		*noncelen = GCM_NONCE_BYTES;
		*taglen = GCM_TAG_BYTES;
		return 0;
	case KEYS_AEAD_XCHACHA20POLY1305:
		*noncelen = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
		*taglen = crypto_aead_xchacha20poly1305_ietf_ABYTES;
		return 0;
	case KEYS_AEAD_SM4CTR_HMACSM3:
		*noncelen = SM4_IV_BYTES;
		*taglen = SM3_TAG_BYTES;
		return 0;
	}
	return SL_ERR_INVAL;
}

int
keys_aead_in_suite(enum keys_suite suite, enum keys_aead alg)
{
	switch (suite) {
	case KEYS_SUITE_INTL:
		return alg == KEYS_AEAD_AES256GCM || alg == KEYS_AEAD_XCHACHA20POLY1305;
	case KEYS_SUITE_GM:
		return alg == KEYS_AEAD_SM4CTR_HMACSM3;
	}
	return 0;
}

enum keys_aead
keys_aead_for_store(enum keys_suite suite)
{
	if (suite == KEYS_SUITE_GM)
		return KEYS_AEAD_SM4CTR_HMACSM3;
	/* libsodium's probe is exactly "AES-NI and PCLMULQDQ present". */
	return crypto_aead_aes256gcm_is_available() ? KEYS_AEAD_AES256GCM
	                                            : KEYS_AEAD_XCHACHA20POLY1305;
}

enum keys_aead
keys_aead_for_wrap(enum keys_suite suite)
{
	return suite == KEYS_SUITE_GM ? KEYS_AEAD_SM4CTR_HMACSM3 : KEYS_AEAD_XCHACHA20POLY1305;
}

/* Feed len bytes to an EVP cipher update in int-sized steps (out NULL for AAD). */
static int
evp_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t len)
{
	int outl;

	while (len > 0) {
		size_t step = len > EVP_STEP ? EVP_STEP : len;

		if (EVP_CipherUpdate(ctx, out, &outl, in, (int)step) != 1)
			return SL_ERR_CRYPTO;
		in += step;
		if (out != NULL)
			out += step;
		len -= step;
	}
	return 0;
}

static int
gcm_crypt(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *pfx, size_t pfxlen,
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int outl, r = SL_ERR_CRYPTO;

	if (pthread_once(&once_gcm, fetch_gcm) != 0 || aead_aes_gcm == NULL)
		return SL_ERR_CRYPTO;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex2(ctx, aead_aes_gcm, key, nonce, enc, NULL) != 1)
		goto out;
	if ((r = evp_update(ctx, NULL, pfx, pfxlen)) != 0 ||
	    (r = evp_update(ctx, NULL, aad, aadlen)) != 0 ||
	    (r = evp_update(ctx, out, in, len)) != 0)
		goto out;
	r = SL_ERR_CRYPTO;
	if (enc) {
		if (EVP_CipherFinal_ex(ctx, out, &outl) != 1 ||
		    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, GCM_TAG_BYTES, tag) != 1)
			goto out;
	} else {
		if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, GCM_TAG_BYTES, (void *)tag) !=
		    1)
			goto out;
		if (EVP_CipherFinal_ex(ctx, out, &outl) != 1) {
			r = SL_ERR_AUTH;
			goto out;
		}
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* libsodium takes the AAD in one piece, so a prefix means one small copy. */
static int
xchacha_crypt(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *pfx, size_t pfxlen,
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	uint8_t *ad = NULL;
	const uint8_t *adp = aad;
	size_t adlen = aadlen;
	int r;

	if (pfxlen > 0) {
		if (aadlen > SIZE_MAX - pfxlen)
			return SL_ERR_INVAL;
		adlen = pfxlen + aadlen;
		if ((ad = malloc(adlen)) == NULL)
			return SL_ERR_NOMEM;
		memcpy(ad, pfx, pfxlen);
		if (aadlen > 0)
			memcpy(ad + pfxlen, aad, aadlen);
		adp = ad;
	}
	if (enc) {
		r = crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		        out, tag, NULL, in, len, adp, adlen, NULL, nonce, key) == 0
		        ? 0
		        : SL_ERR_CRYPTO;
	} else {
		r = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		        out, NULL, in, len, tag, adp, adlen, nonce, key) == 0
		        ? 0
		        : SL_ERR_AUTH;
	}
	free(ad);
	return r;
}

/* HMAC-SM3(mackey, PFX || AAD || IV || CT || AL) */
static int
sm4_tag(const uint8_t *mackey, const uint8_t *iv, const uint8_t *pfx, size_t pfxlen,
    const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t len, uint8_t *tag)
{
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	uint8_t al[8];
	uint64_t bits;
	size_t outl = 0;
	int i, r = SL_ERR_CRYPTO;

	if (aadlen > (SIZE_MAX - pfxlen) || pfxlen + aadlen > UINT64_MAX / 8)
		return SL_ERR_INVAL;
	bits = (uint64_t)(pfxlen + aadlen) * 8;
	for (i = 7; i >= 0; i--) {
		al[i] = (uint8_t)bits;
		bits >>= 8;
	}
	if (pthread_once(&once_hmac, fetch_hmac) != 0 || aead_hmac == NULL)
		return SL_ERR_CRYPTO;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SM3", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(aead_hmac)) == NULL ||
	    EVP_MAC_init(ctx, mackey, SM4_KEY_BYTES, params) != 1 ||
	    EVP_MAC_update(ctx, pfx, pfxlen) != 1 || EVP_MAC_update(ctx, aad, aadlen) != 1 ||
	    EVP_MAC_update(ctx, iv, SM4_IV_BYTES) != 1 || EVP_MAC_update(ctx, ct, len) != 1 ||
	    EVP_MAC_update(ctx, al, sizeof(al)) != 1 ||
	    EVP_MAC_final(ctx, tag, &outl, SM3_TAG_BYTES) != 1 || outl != SM3_TAG_BYTES)
		goto out;
	r = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return r;
}

static int
sm4_ctr(const uint8_t *enckey, const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int outl, r = SL_ERR_CRYPTO;

	if (pthread_once(&once_sm4, fetch_sm4) != 0 || aead_sm4_ctr == NULL)
		return SL_ERR_CRYPTO;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex2(ctx, aead_sm4_ctr, enckey, iv, 1, NULL) != 1 ||
	    (r = evp_update(ctx, out, in, len)) != 0)
		goto out;
	r = EVP_CipherFinal_ex(ctx, out + len, &outl) == 1 ? 0 : SL_ERR_CRYPTO;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

static int
sm4_crypt(int enc, const uint8_t *key, const uint8_t *iv, const uint8_t *pfx, size_t pfxlen,
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	const uint8_t *mackey = key, *enckey = key + SM4_KEY_BYTES;
	uint8_t want[SM3_TAG_BYTES];
	int r;

	if (enc) {
		if ((r = sm4_ctr(enckey, iv, in, len, out)) != 0)
			return r;
		return sm4_tag(mackey, iv, pfx, pfxlen, aad, aadlen, out, len, tag);
	}
	/* Encrypt-then-MAC: check before decrypting anything. */
	if ((r = sm4_tag(mackey, iv, pfx, pfxlen, aad, aadlen, in, len, want)) != 0)
		return r;
	if (keys_memcmp(want, tag, SM3_TAG_BYTES) != 0)
		return SL_ERR_AUTH;
	return sm4_ctr(enckey, iv, in, len, out);
}

static int
aead_crypt(int enc, enum keys_aead alg, const uint8_t *key, const uint8_t *nonce,
    const uint8_t *pfx, size_t pfxlen, const void *aad, size_t aadlen, const uint8_t *in,
    size_t len, uint8_t *out, uint8_t *tag)
{
	int r;

	switch (alg) {
	case KEYS_AEAD_AES256GCM:
		r = gcm_crypt(enc, key, nonce, pfx, pfxlen, aad, aadlen, in, len, out, tag);
		break;
	case KEYS_AEAD_XCHACHA20POLY1305:
		r = xchacha_crypt(enc, key, nonce, pfx, pfxlen, aad, aadlen, in, len, out, tag);
		break;
	case KEYS_AEAD_SM4CTR_HMACSM3:
		r = sm4_crypt(enc, key, nonce, pfx, pfxlen, aad, aadlen, in, len, out, tag);
		break;
	default:
		return SL_ERR_INVAL;
	}
	/* A failed open leaves no partial plaintext behind. */
	if (r != 0 && !enc && len > 0)
		keys_wipe(out, len);
	return r;
}

int
keys_aead_encrypt(enum keys_aead alg, const uint8_t key[KEYS_AEAD_KEY_BYTES], const uint8_t *nonce,
    const void *aad, size_t aadlen, const void *pt, size_t len, uint8_t *ct, uint8_t *tag)
{
	return aead_crypt(1, alg, key, nonce, NULL, 0, aad, aadlen, pt, len, ct, tag);
}

int
keys_aead_decrypt(enum keys_aead alg, const uint8_t key[KEYS_AEAD_KEY_BYTES], const uint8_t *nonce,
    const void *aad, size_t aadlen, const uint8_t *ct, size_t len, const uint8_t *tag, uint8_t *pt)
{
	return aead_crypt(0, alg, key, nonce, NULL, 0, aad, aadlen, ct, len, pt, (uint8_t *)tag);
}

size_t
keys_aead_sealed_len(enum keys_aead alg, size_t len)
{
	size_t nlen, tlen;

	if (keys_aead_sizes(alg, &nlen, &tlen) != 0 || len > SIZE_MAX - 1 - nlen - tlen)
		return 0;
	return 1 + nlen + len + tlen;
}

int
keys_aead_seal(enum keys_aead alg, const uint8_t key[KEYS_AEAD_KEY_BYTES], const void *aad,
    size_t aadlen, const void *pt, size_t len, uint8_t *out)
{
	size_t nlen, tlen;
	int r;

	if ((r = keys_aead_sizes(alg, &nlen, &tlen)) != 0)
		return r;
	out[0] = (uint8_t)alg;
	keys_random(out + 1, nlen);
	return aead_crypt(1, alg, key, out + 1, out, 1, aad, aadlen, pt, len, out + 1 + nlen,
	    out + 1 + nlen + len);
}

int
keys_aead_open(enum keys_suite suite, const uint8_t key[KEYS_AEAD_KEY_BYTES], const void *aad,
    size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *pt, size_t *ptlen)
{
	enum keys_aead alg;
	size_t nlen, tlen, len;
	int r;

	if (inlen < 1)
		return SL_ERR_PARSE;
	alg = (enum keys_aead)in[0];
	if (keys_aead_sizes(alg, &nlen, &tlen) != 0)
		return SL_ERR_PARSE;
	if (!keys_aead_in_suite(suite, alg))
		return SL_ERR_AUTH;
	if (inlen < 1 + nlen + tlen)
		return SL_ERR_PARSE;
	len = inlen - 1 - nlen - tlen;
	if ((r = aead_crypt(0, alg, key, in + 1, in, 1, aad, aadlen, in + 1 + nlen, len, pt,
	         (uint8_t *)(in + 1 + nlen + len))) != 0)
		return r;
	*ptlen = len;
	return 0;
}

void
keys_scratch_xor(const uint8_t key[KEYS_SCRATCH_KEY_BYTES], uint64_t off, uint8_t *buf, size_t n)
{
	const uint8_t *nonce = key + crypto_stream_xchacha20_KEYBYTES;
	uint64_t block = off / 64;
	size_t skip = (size_t)(off % 64), head, i;
	uint8_t ks[64];

	_Static_assert(crypto_stream_xchacha20_KEYBYTES + crypto_stream_xchacha20_NONCEBYTES ==
	                   KEYS_SCRATCH_KEY_BYTES,
	    "a scratch key is an XChaCha20 key and nonce");
	if (n == 0)
		return;
	/* The keystream counts 64-byte blocks: a range that starts inside one takes its tail. */
	if (skip > 0) {
		memset(ks, 0, sizeof ks);
		crypto_stream_xchacha20_xor_ic(ks, ks, sizeof ks, nonce, block, key);
		head = n < 64 - skip ? n : 64 - skip;
		for (i = 0; i < head; i++)
			buf[i] ^= ks[skip + i];
		sodium_memzero(ks, sizeof ks);
		buf += head;
		n -= head;
		block++;
	}
	if (n > 0)
		crypto_stream_xchacha20_xor_ic(buf, buf, n, nonce, block, key);
}
