/*
 * keys/sign.h -- party identities: key pairs, PEM files, signatures.
 *
 * intl: Ed25519 (RFC 8032), signed by libsodium.
 * gm:   SM2 over SM3 (GB/T 32918.2) with the distinguishing ID set explicitly
 *       to "1234567812345678" (GM/T 0009's default), signatures DER-encoded.
 *
 * Private keys are PKCS#8 PEM and public keys SPKI PEM, so `openssl pkey`
 * reads both.  An identity's private half lives in locked memory (libsodium
 * for Ed25519, OpenSSL's secure heap for SM2) and is wiped on free; the only
 * way out is keys_identity_to_pem(), whose result the caller wipes.
 */
#ifndef SLUICE_KEYS_SIGN_H
#define SLUICE_KEYS_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "keys/suite.h"

/* Largest signature: a DER SM2 signature (two 33-byte INTEGERs and headers). */
#define KEYS_SIG_MAX 72
#define KEYS_ED25519_SIG_BYTES 64
/* The SM2 distinguishing ID of GM/T 0009, set explicitly on every SM2 operation. */
#define KEYS_SM2_ID "1234567812345678"
/* "SHA256:" or "SM3:" and 64 hex digits, NUL. */
#define KEYS_FINGERPRINT_MAX 72

struct keys_identity; /* opaque: a private key */
struct keys_pubkey;   /* opaque: a public key */

/* New random identity for suite; caller frees with keys_identity_free(). */
int keys_identity_generate(enum keys_suite suite, struct keys_identity **out)
    __attribute__((warn_unused_result));

/*
 * Parse a PKCS#8 PEM private key (Ed25519 or SM2).  Returns SL_ERR_PARSE for
 * text that is no such key; the suite follows from the key type.
 */
int keys_identity_from_pem(const void *pem, size_t len, struct keys_identity **out)
    __attribute__((warn_unused_result));

/*
 * PKCS#8 PEM of the private key in a new NUL-terminated buffer; the caller
 * must release it with keys_pem_free(*pem, *len), which wipes it.
 */
int keys_identity_to_pem(const struct keys_identity *id, char **pem, size_t *len)
    __attribute__((warn_unused_result));
void keys_pem_free(char *pem, size_t len);

enum keys_suite keys_identity_suite(const struct keys_identity *id);

/* The public half; caller frees with keys_pubkey_free(). */
int keys_identity_pubkey(const struct keys_identity *id, struct keys_pubkey **out)
    __attribute__((warn_unused_result));

/*
 * Sign len bytes at msg.  sig must hold KEYS_SIG_MAX bytes; *siglen is set to
 * the signature's length.
 */
int keys_identity_sign(const struct keys_identity *id, const void *msg, size_t len,
    uint8_t sig[KEYS_SIG_MAX], size_t *siglen) __attribute__((warn_unused_result));

/* Wipe and free; id may be NULL. */
void keys_identity_free(struct keys_identity *id);

/* Parse an SPKI PEM public key (Ed25519 or SM2); SL_ERR_PARSE otherwise. */
int keys_pubkey_from_pem(const void *pem, size_t len, struct keys_pubkey **out)
    __attribute__((warn_unused_result));

/* Parse an SPKI DER public key. */
int keys_pubkey_from_der(const uint8_t *der, size_t len, struct keys_pubkey **out)
    __attribute__((warn_unused_result));

/* SPKI PEM in a new NUL-terminated buffer; caller frees with free(). */
int keys_pubkey_to_pem(const struct keys_pubkey *pk, char **pem, size_t *len)
    __attribute__((warn_unused_result));

/* SPKI DER in a new buffer; caller frees with free(). */
int keys_pubkey_to_der(const struct keys_pubkey *pk, uint8_t **der, size_t *len)
    __attribute__((warn_unused_result));

enum keys_suite keys_pubkey_suite(const struct keys_pubkey *pk);

/* "SHA256:<hex>" (intl) or "SM3:<hex>" (gm) of the SPKI DER. */
int keys_pubkey_fingerprint(const struct keys_pubkey *pk, char out[KEYS_FINGERPRINT_MAX])
    __attribute__((warn_unused_result));

/* 1 if a and b are the same key, else 0. */
int keys_pubkey_equal(const struct keys_pubkey *a, const struct keys_pubkey *b);

/*
 * Verify sig over msg.  Returns 0 for a good signature and SL_ERR_AUTH for any
 * other input (wrong key, wrong message, malformed signature).
 */
int keys_pubkey_verify(const struct keys_pubkey *pk, const void *msg, size_t len,
    const uint8_t *sig, size_t siglen) __attribute__((warn_unused_result));

/*
 * As keys_pubkey_verify() for an SM2 key, with another distinguishing ID.
 * Only for checking published test vectors, which use other IDs.
 */
int keys_pubkey_verify_sm2_id(const struct keys_pubkey *pk, const void *id, size_t idlen,
    const void *msg, size_t len, const uint8_t *sig, size_t siglen)
    __attribute__((warn_unused_result));

/*
 * Borrowed OpenSSL handle of the key, for keys/x509.c only; valid until pk is
 * freed.  (void * keeps OpenSSL's headers out of this interface.)
 */
void *keys_pubkey_evp(const struct keys_pubkey *pk);

void keys_pubkey_free(struct keys_pubkey *pk);

#endif
