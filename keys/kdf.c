/*
 * keys/kdf.c -- Argon2id through libsodium's crypto_pwhash.
 */
#include <sodium.h>

#include "common/err.h"
#include "keys/kdf.h"
#include "keys/keys.h"

void
keys_kdf_params_new(struct keys_kdf_params *p)
{
	p->opslimit = KEYS_KDF_OPSLIMIT_DEFAULT;
	p->memlimit = KEYS_KDF_MEMLIMIT_DEFAULT;
	keys_random(p->salt, sizeof(p->salt));
}

int
keys_kdf_derive(
    const struct keys_kdf_params *p, const void *pass, size_t passlen, uint8_t *out, size_t outlen)
{
	if (p->opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
	    p->opslimit > KEYS_KDF_OPSLIMIT_MAX || p->memlimit < KEYS_KDF_MEMLIMIT_MIN ||
	    p->memlimit > KEYS_KDF_MEMLIMIT_MAX || outlen < crypto_pwhash_argon2id_BYTES_MIN)
		return SL_ERR_INVAL;
	if (crypto_pwhash_argon2id(out, outlen, pass, passlen, p->salt, p->opslimit,
	        (size_t)p->memlimit, crypto_pwhash_argon2id_ALG_ARGON2ID13) != 0)
		return SL_ERR_NOMEM;
	return 0;
}
