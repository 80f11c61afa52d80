/*
 * tests/fuzz/keys_init.h -- keys_init(0) for the harnesses, without OpenSSL's
 * secure heap.
 *
 * LeakSanitizer does not scan the secure heap's arena (an mmap, not malloc),
 * and OpenSSL keeps pointers to ordinary heap there: its random generators,
 * made on first use (an SM2 verification blinds with one), are then reported
 * as leaks.  Without the arena OpenSSL's secure allocations are plain malloc,
 * so LeakSanitizer also sees a private key that is never freed.
 */
#ifndef SLUICE_TESTS_FUZZ_KEYS_INIT_H
#define SLUICE_TESTS_FUZZ_KEYS_INIT_H

#include <openssl/crypto.h>
#include <sodium.h>

#include "tests/fuzz/check.h"

static void
fuzz_keys_init(void)
{
	CHECK(sodium_init() >= 0);
	CHECK(OPENSSL_init_crypto(
	          OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_LOAD_CONFIG |
	              OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
	          NULL) == 1);
	CHECK(!CRYPTO_secure_malloc_initialized());
}

#endif
