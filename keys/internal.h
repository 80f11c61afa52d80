/*
 * keys/internal.h -- helpers shared by the files of keys/ only.
 *
 * OpenSSL types appear here and nowhere in keys/'s public headers.
 */
#ifndef SLUICE_KEYS_INTERNAL_H
#define SLUICE_KEYS_INTERNAL_H

#include <openssl/bio.h>
#include <stddef.h>

/*
 * A PEM password callback that refuses: an encrypted PEM is rejected rather
 * than prompting on a terminal.
 */
int keys_pem_no_password(char *buf, int size, int rwflag, void *u);

/*
 * Copy a memory BIO's contents into a new NUL-terminated malloc buffer
 * (caller frees; with keys_pem_free() when it holds a secret).
 */
int keys_bio_take(BIO *bio, char **out, size_t *lenp) __attribute__((warn_unused_result));

/* PKCS#8 PEM of a private key, via a wiping BIO; caller frees with keys_pem_free(). */
struct evp_pkey_st;
int keys_private_pem(struct evp_pkey_st *key, char **pem, size_t *len)
    __attribute__((warn_unused_result));

#endif
