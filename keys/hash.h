/*
 * keys/hash.h -- the suite's hash function, one-shot and incremental.
 *
 * SHA-256 in the intl suite, SM3 in the gm suite; both have 32-byte output.
 * This is the only interface through which other modules hash.
 */
#ifndef SLUICE_KEYS_HASH_H
#define SLUICE_KEYS_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "keys/suite.h"

#define KEYS_HASH_BYTES 32

struct keys_hash; /* opaque incremental context */

/*
 * Hash len bytes at msg with the suite's hash into out.  Returns 0, or
 * SL_ERR_INVAL for an unknown suite, SL_ERR_CRYPTO if the library failed.
 */
int keys_hash(enum keys_suite suite, const void *msg, size_t len, uint8_t out[KEYS_HASH_BYTES])
    __attribute__((warn_unused_result));

/*
 * Start an incremental hash.  On success *out is a new context the caller frees
 * with keys_hash_free().  A context may be reused: keys_hash_final() resets it
 * to the empty message.
 */
int keys_hash_new(enum keys_suite suite, struct keys_hash **out)
    __attribute__((warn_unused_result));
int keys_hash_update(struct keys_hash *h, const void *msg, size_t len)
    __attribute__((warn_unused_result));
int keys_hash_final(struct keys_hash *h, uint8_t out[KEYS_HASH_BYTES])
    __attribute__((warn_unused_result));
/* h may be NULL. */
void keys_hash_free(struct keys_hash *h);

#endif
