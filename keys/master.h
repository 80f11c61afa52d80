/*
 * keys/master.h -- the master key and what it wraps.
 *
 * The 256-bit master key comes from DIR/master.key (mode 0600) or from a
 * passphrase through Argon2id.  It never encrypts data itself: it wraps other
 * keys (per-product data keys, the platform's identity, the CA key) with the
 * suite's key-wrapping AEAD, binding each wrapped blob to
 *     AAD = kind || 0x00 || name || 0x00 || key version (32-bit big-endian)
 * so a blob moved to another slot, kind or version fails to unwrap.
 *
 * A "check" blob (an empty plaintext wrapped under kind "check") is stored
 * with the catalog and tells a wrong key or passphrase from a right one.
 *
 * The key lives in locked memory and is wiped by keys_master_free().
 */
#ifndef SLUICE_KEYS_MASTER_H
#define SLUICE_KEYS_MASTER_H

#include <stddef.h>
#include <stdint.h>

#include "keys/kdf.h"
#include "keys/suite.h"

#define KEYS_MASTER_BYTES 32
/* The master.key file: this tag, 64 hex digits, a newline. */
#define KEYS_MASTER_FILE_TAG "sluice-master-key-v1:"

struct keys_master; /* opaque */

/* A new random master key. */
int keys_master_generate(enum keys_suite suite, struct keys_master **out)
    __attribute__((warn_unused_result));

/* The master key derived from a passphrase with stored parameters p. */
int keys_master_from_passphrase(enum keys_suite suite, const struct keys_kdf_params *p,
    const void *pass, size_t passlen, struct keys_master **out) __attribute__((warn_unused_result));

/*
 * Read a master key file.  Returns SL_ERR_NOTFOUND if it is missing,
 * SL_ERR_POLICY if group or others may read it, or it is a symbolic link or
 * not a regular file owned by this user (sl_file_read_private(), whose
 * message names the file and the fix), SL_ERR_PARSE if it is not a master key
 * file.
 */
int keys_master_read_file(enum keys_suite suite, const char *path, struct keys_master **out)
    __attribute__((warn_unused_result));

/* Write mk to a new file at path, mode 0600; SL_ERR_EXISTS if path exists. */
int keys_master_write_file(const struct keys_master *mk, const char *path)
    __attribute__((warn_unused_result));

enum keys_suite keys_master_suite(const struct keys_master *mk);

/*
 * Wrap len bytes of secret for (kind, name, version).  On success *blob is a
 * new buffer the caller frees with free() (it holds only ciphertext).
 */
int keys_master_wrap(const struct keys_master *mk, const char *kind, const char *name,
    uint32_t version, const void *secret, size_t len, uint8_t **blob, size_t *bloblen)
    __attribute__((warn_unused_result));

/*
 * Unwrap a blob made by keys_master_wrap() for the same (kind, name, version).
 * On success *secret is locked memory the caller frees with
 * keys_secret_free(); SL_ERR_AUTH for any mismatch or alteration.
 */
int keys_master_unwrap(const struct keys_master *mk, const char *kind, const char *name,
    uint32_t version, const uint8_t *blob, size_t bloblen, uint8_t **secret, size_t *len)
    __attribute__((warn_unused_result));

/* Make the check blob for mk (caller frees with free()). */
int keys_master_check_make(const struct keys_master *mk, uint8_t **blob, size_t *bloblen)
    __attribute__((warn_unused_result));

/* 0 if blob was made by keys_master_check_make() with this very key, else SL_ERR_AUTH. */
int keys_master_check(const struct keys_master *mk, const uint8_t *blob, size_t bloblen)
    __attribute__((warn_unused_result));

/* Wipe and free; mk may be NULL. */
void keys_master_free(struct keys_master *mk);

#endif
