/*
 * keys/dek.c -- per-product data keys.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "keys/dek.h"
#include "keys/hash.h"
#include "keys/keys.h"
#include "keys/master.h"

#define DEK_KIND "dek"

struct keys_dek {
	enum keys_suite suite;
	uint8_t *key; /* KEYS_DEK_BYTES of locked memory */
};

int
keys_dek_generate(enum keys_suite suite, struct keys_dek **out)
{
	struct keys_dek *k;

	if (keys_suite_name(suite) == NULL)
		return SL_ERR_INVAL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return SL_ERR_NOMEM;
	if ((k->key = keys_secret_alloc(KEYS_DEK_BYTES)) == NULL) {
		free(k);
		return SL_ERR_NOMEM;
	}
	k->suite = suite;
	keys_random(k->key, KEYS_DEK_BYTES);
	*out = k;
	return 0;
}

int
keys_dek_wrap(const struct keys_master *mk, const char *product_id, uint32_t version,
    const struct keys_dek *k, uint8_t **blob, size_t *bloblen)
{
	if (k->suite != keys_master_suite(mk))
		return SL_ERR_INVAL;
	return keys_master_wrap(
	    mk, DEK_KIND, product_id, version, k->key, KEYS_DEK_BYTES, blob, bloblen);
}

int
keys_dek_unwrap(const struct keys_master *mk, const char *product_id, uint32_t version,
    const uint8_t *blob, size_t bloblen, struct keys_dek **out)
{
	struct keys_dek *k;
	uint8_t *secret = NULL;
	size_t len = 0;
	int r;

	if ((r = keys_master_unwrap(
	         mk, DEK_KIND, product_id, version, blob, bloblen, &secret, &len)) != 0)
		return r;
	if (len != KEYS_DEK_BYTES) {
		keys_secret_free(secret);
		return SL_ERR_AUTH;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		keys_secret_free(secret);
		return SL_ERR_NOMEM;
	}
	k->suite = keys_master_suite(mk);
	k->key = secret;
	*out = k;
	return 0;
}

const uint8_t *
keys_dek_bytes(const struct keys_dek *k)
{
	return k->key;
}

enum keys_suite
keys_dek_suite(const struct keys_dek *k)
{
	return k->suite;
}

void
keys_dek_free(struct keys_dek *k)
{
	if (k == NULL)
		return;
	keys_secret_free(k->key);
	free(k);
}

_Static_assert(KEYS_HASH_BYTES == KEYS_DEK_BYTES, "a derived key is one hash");

int
keys_dek_derive(
    const struct keys_dek *k, const char *label, const char *context, uint8_t out[KEYS_DEK_BYTES])
{
	struct keys_hash *h = NULL;
	int r;

	if ((r = keys_hash_new(keys_dek_suite(k), &h)) == 0 &&
	    (r = keys_hash_update(h, label, strlen(label) + 1)) == 0 &&
	    (r = keys_hash_update(h, keys_dek_bytes(k), KEYS_DEK_BYTES)) == 0 &&
	    (r = keys_hash_update(h, context, strlen(context))) == 0)
		r = keys_hash_final(h, out);
	keys_hash_free(h);
	return r;
}
