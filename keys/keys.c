/*
 * keys/keys.c -- start-up, randomness and secret memory.
 */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <sodium.h>

#include "common/err.h"
#include "keys/keys.h"

/* Enough for a few dozen EC private keys; OpenSSL falls back to plain heap past it. */
#define KEYS_SECURE_HEAP_BYTES (64 * 1024)
#define KEYS_SECURE_HEAP_MIN 32

int
keys_init(unsigned flags)
{
	uint64_t opts = OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_LOAD_CONFIG |
	                OPENSSL_INIT_NO_ADD_ALL_CIPHERS;

	if (sodium_init() < 0)
		return SL_ERR_CRYPTO;
	/*
	 * No openssl.cnf: the algorithms are fixed by the suite, not by the host's
	 * configuration, and parsing it costs every CLI run and worker about half
	 * a millisecond.  No error strings either: Sluice never prints OpenSSL's.
	 * No legacy names: every algorithm is fetched from the provider by name,
	 * and the first fetch otherwise registers some 150 cipher and 40 digest
	 * names and copies them into the provider's name map, about 0.6 ms of
	 * every worker's and CLI run's start.  Only certificate verification (the
	 * TLS server's) needs the digests'.
	 */
	if ((flags & KEYS_INIT_TLS) == 0)
		opts |= OPENSSL_INIT_NO_ADD_ALL_DIGESTS;
	if (OPENSSL_init_crypto(opts, NULL) != 1)
		return SL_ERR_CRYPTO;
	/* Failure only means keys are held in ordinary heap memory; not fatal. */
	if (!CRYPTO_secure_malloc_initialized())
		(void)CRYPTO_secure_malloc_init(KEYS_SECURE_HEAP_BYTES, KEYS_SECURE_HEAP_MIN);
	return 0;
}

void
keys_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

void *
keys_secret_alloc(size_t len)
{
	return sodium_malloc(len);
}

void
keys_secret_free(void *p)
{
	sodium_free(p);
}

void
keys_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

int
keys_memcmp(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0 ? 0 : -1;
}
