/*
 * keys/aead.h -- authenticated encryption with associated data.
 *
 * Three algorithms, all with 256-bit keys:
 *   AES-256-GCM           (OpenSSL)   12-byte nonce, 16-byte tag   intl store chunks
 *   XChaCha20-Poly1305    (libsodium) 24-byte nonce, 16-byte tag   intl key wrapping, and
 *                                                                  store chunks without AES-NI
 *   SM4-CTR + HMAC-SM3    (OpenSSL)   16-byte IV,    32-byte tag   everything in gm
 *
 * SM4-CTR + HMAC-SM3 is encrypt-then-MAC in the shape of RFC 7518 section 5.2:
 * the first 16 key bytes are the HMAC key, the last 16 the SM4 key, and
 * tag = HMAC-SM3(mac key, AAD || IV || CT || AL) with AL the bit length of
 * AAD as a 64-bit big-endian integer.  The tag is not truncated.  As with
 * RFC 7518's AES_CBC_HMAC, the tag authenticates the MAC half of the key
 * only: opening with a key whose SM4 half differs yields garbage, not an
 * error.  Keys here are random 256-bit values, never derived from one
 * another, so this does not arise.
 *
 * The sealed form written to disk is  alg (1 byte) || nonce || ciphertext || tag,
 * and the alg byte is authenticated with the AAD, so a blob cannot be replayed
 * under another algorithm.
 */
#ifndef SLUICE_KEYS_AEAD_H
#define SLUICE_KEYS_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "keys/suite.h"

enum keys_aead {
	KEYS_AEAD_AES256GCM = 1,
	KEYS_AEAD_XCHACHA20POLY1305 = 2,
	KEYS_AEAD_SM4CTR_HMACSM3 = 3,
};

#define KEYS_AEAD_KEY_BYTES 32
#define KEYS_AEAD_NONCE_MAX 24
#define KEYS_AEAD_TAG_MAX 32
/* Largest sealed-form overhead: alg byte, nonce and tag. */
#define KEYS_AEAD_OVERHEAD_MAX (1 + KEYS_AEAD_NONCE_MAX + KEYS_AEAD_TAG_MAX)

/* Nonce and tag sizes of alg.  Returns 0, or SL_ERR_INVAL for an unknown alg. */
int keys_aead_sizes(enum keys_aead alg, size_t *noncelen, size_t *taglen)
    __attribute__((warn_unused_result));

/* Whether alg belongs to suite (1) or not (0). */
int keys_aead_in_suite(enum keys_suite suite, enum keys_aead alg);

/* The algorithm that seals store chunks in suite on this machine. */
enum keys_aead keys_aead_for_store(enum keys_suite suite);

/* The algorithm that wraps keys in suite. */
enum keys_aead keys_aead_for_wrap(enum keys_suite suite);

/*
 * Encrypt len bytes of pt into ct (len bytes; may equal pt) and write the tag
 * to tag (keys_aead_sizes() bytes), with a caller-chosen nonce.  A nonce must
 * never repeat under one key; prefer keys_aead_seal(), which draws it.
 * Returns 0, SL_ERR_INVAL for an unknown alg, SL_ERR_CRYPTO on library failure.
 */
int keys_aead_encrypt(enum keys_aead alg, const uint8_t key[KEYS_AEAD_KEY_BYTES],
    const uint8_t *nonce, const void *aad, size_t aadlen, const void *pt, size_t len, uint8_t *ct,
    uint8_t *tag) __attribute__((warn_unused_result));

/*
 * Check tag and decrypt len bytes of ct into pt.  Returns 0, or SL_ERR_AUTH if
 * anything (key, nonce, AAD, ciphertext, tag) differs from what was sealed; on
 * SL_ERR_AUTH pt holds no plaintext (it is wiped).
 */
int keys_aead_decrypt(enum keys_aead alg, const uint8_t key[KEYS_AEAD_KEY_BYTES],
    const uint8_t *nonce, const void *aad, size_t aadlen, const uint8_t *ct, size_t len,
    const uint8_t *tag, uint8_t *pt) __attribute__((warn_unused_result));

/* Size of the sealed form of len bytes under alg; 0 for an unknown alg or overflow. */
size_t keys_aead_sealed_len(enum keys_aead alg, size_t len);

/*
 * Seal len bytes of pt into out, which must hold keys_aead_sealed_len(alg, len)
 * bytes, under a fresh random nonce.
 */
int keys_aead_seal(enum keys_aead alg, const uint8_t key[KEYS_AEAD_KEY_BYTES], const void *aad,
    size_t aadlen, const void *pt, size_t len, uint8_t *out) __attribute__((warn_unused_result));

/*
 * Open a sealed blob of inlen bytes.  pt must hold inlen bytes; on success
 * *ptlen is the plaintext length.  The blob's algorithm must belong to suite.
 * Returns 0, SL_ERR_PARSE for a blob too short or of an unknown algorithm,
 * SL_ERR_AUTH for one of another suite or that fails authentication.
 */
int keys_aead_open(enum keys_suite suite, const uint8_t key[KEYS_AEAD_KEY_BYTES], const void *aad,
    size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *pt, size_t *ptlen)
    __attribute__((warn_unused_result));

/*
 * Scratch encryption, for a file the broker writes only to read back itself
 * (the daemon's spool of an upload, kept for the error words of a refusal):
 * the XChaCha20 keystream of key (32 bytes of key, then 24 of nonce) XORed
 * into buf as the bytes at offset off of the stream, so any range can be
 * encrypted or decrypted alone.  Unauthenticated and suite-independent: the
 * key is random, lives in locked memory for one upload and is never stored.
 */
#define KEYS_SCRATCH_KEY_BYTES 56
void keys_scratch_xor(const uint8_t key[KEYS_SCRATCH_KEY_BYTES], uint64_t off, uint8_t *buf,
    size_t n);

#endif
