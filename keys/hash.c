/*
 * keys/hash.c -- SHA-256 and SM3 through OpenSSL's EVP interface.
 *
 * The EVP_MD objects are fetched once per process and kept; fetching per call
 * costs more than hashing a short audit event.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/err.h"
#include "keys/hash.h"

struct keys_hash {
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
};

/* Fetched once each, by whichever thread needs one first (keys/aead.c says why). */
static EVP_MD *hash_md_sha256;
static EVP_MD *hash_md_sm3;
static pthread_once_t once_sha256 = PTHREAD_ONCE_INIT, once_sm3 = PTHREAD_ONCE_INIT;

static void
fetch_sha256(void)
{
	hash_md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void
fetch_sm3(void)
{
	hash_md_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
}

/* The suite's digest, fetched on first use; NULL for an unknown suite. */
static const EVP_MD *
hash_md(enum keys_suite suite)
{
	switch (suite) {
	case KEYS_SUITE_INTL:
		return pthread_once(&once_sha256, fetch_sha256) == 0 ? hash_md_sha256 : NULL;
	case KEYS_SUITE_GM:
		return pthread_once(&once_sm3, fetch_sm3) == 0 ? hash_md_sm3 : NULL;
	}
	return NULL;
}

int
keys_hash(enum keys_suite suite, const void *msg, size_t len, uint8_t out[KEYS_HASH_BYTES])
{
	const EVP_MD *md;
	unsigned int outlen = 0;

	if ((md = hash_md(suite)) == NULL)
		return SL_ERR_INVAL;
	if (EVP_Digest(msg, len, out, &outlen, md, NULL) != 1 || outlen != KEYS_HASH_BYTES)
		return SL_ERR_CRYPTO;
	return 0;
}

int
keys_hash_new(enum keys_suite suite, struct keys_hash **out)
{
	struct keys_hash *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return SL_ERR_NOMEM;
	if ((h->md = hash_md(suite)) == NULL) {
		free(h);
		return SL_ERR_INVAL;
	}
	if ((h->ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1) {
		keys_hash_free(h);
		return SL_ERR_CRYPTO;
	}
	*out = h;
	return 0;
}

int
keys_hash_update(struct keys_hash *h, const void *msg, size_t len)
{
	return EVP_DigestUpdate(h->ctx, msg, len) == 1 ? 0 : SL_ERR_CRYPTO;
}

int
keys_hash_final(struct keys_hash *h, uint8_t out[KEYS_HASH_BYTES])
{
	unsigned int outlen = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &outlen) != 1 || outlen != KEYS_HASH_BYTES)
		return SL_ERR_CRYPTO;
	return EVP_DigestInit_ex(h->ctx, h->md, NULL) == 1 ? 0 : SL_ERR_CRYPTO;
}

void
keys_hash_free(struct keys_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}
