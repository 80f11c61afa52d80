/*
 * keys/keys.h -- start-up, randomness and secret memory for keys/.
 *
 * keys_init() must run once before any other keys_ function.  Secrets live in
 * memory from keys_secret_alloc(): guarded, locked (mlock) so it never reaches
 * swap, and wiped when freed.
 */
#ifndef SLUICE_KEYS_KEYS_H
#define SLUICE_KEYS_KEYS_H

#include <stddef.h>

/* keys_init()'s flags. */
enum {
	/*
	 * The process serves TLS: keep OpenSSL's legacy digest names, by which
	 * libssl and X509_verify_cert() rate a certificate's signature ("ca md
	 * too weak" without).
	 */
	KEYS_INIT_TLS = 1,
};

/*
 * Initialise libsodium and OpenSSL, and give OpenSSL a locked secure heap for
 * the private scalars of SM2/ECDSA keys.  flags: 0 or KEYS_INIT_TLS.  Returns
 * 0 or SL_ERR_CRYPTO.  Idempotent: the first call's flags hold.
 */
int keys_init(unsigned flags) __attribute__((warn_unused_result));

/* Fill buf with len unpredictable bytes (libsodium randombytes_buf). */
void keys_random(void *buf, size_t len);

/*
 * Locked, guarded memory for len bytes; NULL on failure.  Free with
 * keys_secret_free(), which wipes it.
 */
void *keys_secret_alloc(size_t len);
void keys_secret_free(void *p);

/* Wipe len bytes at p in a way the compiler keeps. */
void keys_wipe(void *p, size_t len);

/* Constant-time comparison of two len-byte buffers: 0 when equal, -1 if not. */
int keys_memcmp(const void *a, const void *b, size_t len);

#endif
