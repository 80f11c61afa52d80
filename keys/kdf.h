/*
 * keys/kdf.h -- passphrase key derivation (Argon2id, RFC 9106, via libsodium).
 *
 * The parameters are stored beside what they protect, so they are read back
 * from disk: keys_kdf_derive() refuses values outside sane bounds, so an
 * edited catalog cannot make the broker allocate without limit.
 */
#ifndef SLUICE_KEYS_KDF_H
#define SLUICE_KEYS_KDF_H

#include <stddef.h>
#include <stdint.h>

#define KEYS_KDF_SALT_BYTES 16
/* Defaults: 3 passes over 64 MiB (libsodium's "interactive" memory, one more pass). */
#define KEYS_KDF_OPSLIMIT_DEFAULT 3
#define KEYS_KDF_MEMLIMIT_DEFAULT (64ULL << 20)
/* Accepted range when reading stored parameters. */
#define KEYS_KDF_OPSLIMIT_MAX 64
#define KEYS_KDF_MEMLIMIT_MIN (8ULL << 10)
#define KEYS_KDF_MEMLIMIT_MAX (4ULL << 30)

struct keys_kdf_params {
	uint64_t opslimit; /* Argon2 t (passes) */
	uint64_t memlimit; /* bytes */
	uint8_t salt[KEYS_KDF_SALT_BYTES];
};

/* Default costs and a fresh random salt. */
void keys_kdf_params_new(struct keys_kdf_params *p);

/*
 * Derive outlen bytes from the passphrase with Argon2id v1.3, parallelism 1.
 * Returns 0, SL_ERR_INVAL for parameters outside the accepted range, or
 * SL_ERR_NOMEM when the memory cost cannot be allocated.
 */
int keys_kdf_derive(const struct keys_kdf_params *p, const void *pass, size_t passlen, uint8_t *out,
    size_t outlen) __attribute__((warn_unused_result));

#endif
