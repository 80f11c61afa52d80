/*
 * keys/dek.h -- per-product data keys.
 *
 * A data key encrypts one product's store.  At rest it is wrapped by the master
 * key with AAD "dek" || product id || key version (keys/master.h gives the exact
 * bytes); unwrapped copies live only in locked memory and are wiped by
 * keys_dek_free().
 */
#ifndef SLUICE_KEYS_DEK_H
#define SLUICE_KEYS_DEK_H

#include <stddef.h>
#include <stdint.h>

#include "keys/aead.h"
#include "keys/suite.h"

/* A data key is an AEAD key: one size for the key everywhere it travels. */
#define KEYS_DEK_BYTES KEYS_AEAD_KEY_BYTES

struct keys_master; /* opaque; see keys/master.h */
struct keys_dek;    /* opaque */

/* A new random data key for suite; caller frees with keys_dek_free(). */
int keys_dek_generate(enum keys_suite suite, struct keys_dek **out)
    __attribute__((warn_unused_result));

/* Wrap k for (product_id, version); *blob is ciphertext the caller frees with free(). */
int keys_dek_wrap(const struct keys_master *mk, const char *product_id, uint32_t version,
    const struct keys_dek *k, uint8_t **blob, size_t *bloblen) __attribute__((warn_unused_result));

/*
 * Unwrap the wrapped key blob for (product_id, version) with the master key.
 * On success returns 0 and stores a new key in *out, which the caller frees with
 * keys_dek_free().  Returns SL_ERR_AUTH if the blob was not made for this product
 * and version or was altered, and SL_ERR_NOMEM on allocation failure; *out is
 * untouched on failure.
 */
int keys_dek_unwrap(const struct keys_master *mk, const char *product_id, uint32_t version,
    const uint8_t *blob, size_t bloblen, struct keys_dek **out) __attribute__((warn_unused_result));

/* The raw key, borrowed: valid until k is freed.  Never log or print it. */
const uint8_t *keys_dek_bytes(const struct keys_dek *k);

enum keys_suite keys_dek_suite(const struct keys_dek *k);

/*
 * A key for one purpose derived from k: the suite's hash of label, a NUL,
 * k and context.  Used for the contribution bound's per-contract key
 * (label "sluice bound", context the contract id).  out is secret.
 */
int keys_dek_derive(const struct keys_dek *k, const char *label, const char *context,
    uint8_t out[KEYS_DEK_BYTES]) __attribute__((warn_unused_result));

/* Wipe and free k.  k may be NULL. */
void keys_dek_free(struct keys_dek *k);

#endif
