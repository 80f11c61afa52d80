/*
 * keys/master.c -- the master key: sources, file format, wrapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/byteorder.h"
#include "common/err.h"
#include "common/file.h"
#include "keys/aead.h"
#include "keys/keys.h"
#include "keys/master.h"

#define MASTER_FILE_LEN (sizeof(KEYS_MASTER_FILE_TAG) - 1 + 2 * KEYS_MASTER_BYTES + 1)
#define CHECK_KIND "check"
#define CHECK_NAME "master"

struct keys_master {
	enum keys_suite suite;
	uint8_t *key; /* KEYS_MASTER_BYTES of locked memory */
};

static int
master_alloc(enum keys_suite suite, struct keys_master **out)
{
	struct keys_master *mk;

	if (keys_suite_name(suite) == NULL)
		return SL_ERR_INVAL;
	if ((mk = calloc(1, sizeof(*mk))) == NULL)
		return SL_ERR_NOMEM;
	if ((mk->key = keys_secret_alloc(KEYS_MASTER_BYTES)) == NULL) {
		free(mk);
		return SL_ERR_NOMEM;
	}
	mk->suite = suite;
	*out = mk;
	return 0;
}

int
keys_master_generate(enum keys_suite suite, struct keys_master **out)
{
	int r;

	if ((r = master_alloc(suite, out)) != 0)
		return r;
	keys_random((*out)->key, KEYS_MASTER_BYTES);
	return 0;
}

int
keys_master_from_passphrase(enum keys_suite suite, const struct keys_kdf_params *p,
    const void *pass, size_t passlen, struct keys_master **out)
{
	struct keys_master *mk = NULL;
	int r;

	if ((r = master_alloc(suite, &mk)) != 0)
		return r;
	if ((r = keys_kdf_derive(p, pass, passlen, mk->key, KEYS_MASTER_BYTES)) != 0) {
		keys_master_free(mk);
		return r;
	}
	*out = mk;
	return 0;
}

int
keys_master_read_file(enum keys_suite suite, const char *path, struct keys_master **out)
{
	struct keys_master *mk = NULL;
	uint8_t *data = NULL;
	size_t len = 0, binlen = 0;
	const size_t taglen = sizeof(KEYS_MASTER_FILE_TAG) - 1;
	int r;

	if ((r = sl_file_read_private(path, MASTER_FILE_LEN, &data, &len)) != 0)
		return r == SL_ERR_LIMIT ? SL_ERR_PARSE : r;
	r = SL_ERR_PARSE;
	if (len != MASTER_FILE_LEN || memcmp(data, KEYS_MASTER_FILE_TAG, taglen) != 0 ||
	    data[len - 1] != '\n')
		goto out;
	if ((r = master_alloc(suite, &mk)) != 0)
		goto out;
	/* sodium_hex2bin runs in constant time: the key is not leaked by timing. */
	if (sodium_hex2bin(mk->key, KEYS_MASTER_BYTES, (const char *)data + taglen,
	        2 * KEYS_MASTER_BYTES, NULL, &binlen, NULL) != 0 ||
	    binlen != KEYS_MASTER_BYTES) {
		r = SL_ERR_PARSE;
		goto out;
	}
	*out = mk;
	mk = NULL;
	r = 0;
out:
	keys_master_free(mk);
	sl_file_free_secret(data, len);
	return r;
}

int
keys_master_write_file(const struct keys_master *mk, const char *path)
{
	const size_t taglen = sizeof(KEYS_MASTER_FILE_TAG) - 1;
	char *text;
	int r;

	if ((text = keys_secret_alloc(MASTER_FILE_LEN + 1)) == NULL)
		return SL_ERR_NOMEM;
	memcpy(text, KEYS_MASTER_FILE_TAG, taglen);
	sodium_bin2hex(text + taglen, 2 * KEYS_MASTER_BYTES + 1, mk->key, KEYS_MASTER_BYTES);
	text[MASTER_FILE_LEN - 1] = '\n';
	r = sl_file_write_new(path, 0600, text, MASTER_FILE_LEN);
	keys_secret_free(text);
	return r;
}

enum keys_suite
keys_master_suite(const struct keys_master *mk)
{
	return mk->suite;
}

/* kind || 0 || name || 0 || be32(version), in a new buffer. */
static int
wrap_aad(const char *kind, const char *name, uint32_t version, uint8_t **aad, size_t *aadlen)
{
	size_t klen = strlen(kind), nlen = strlen(name), len;
	uint8_t *p;

	if (klen > 256 || nlen > 4096)
		return SL_ERR_INVAL;
	len = klen + 1 + nlen + 1 + 4;
	if ((p = malloc(len)) == NULL)
		return SL_ERR_NOMEM;
	memcpy(p, kind, klen);
	p[klen] = 0;
	memcpy(p + klen + 1, name, nlen);
	p[klen + 1 + nlen] = 0;
	be32_put(p + len - 4, version);
	*aad = p;
	*aadlen = len;
	return 0;
}

int
keys_master_wrap(const struct keys_master *mk, const char *kind, const char *name, uint32_t version,
    const void *secret, size_t len, uint8_t **blob, size_t *bloblen)
{
	enum keys_aead alg = keys_aead_for_wrap(mk->suite);
	uint8_t *aad = NULL, *out = NULL;
	size_t aadlen, outlen;
	int r;

	if ((outlen = keys_aead_sealed_len(alg, len)) == 0)
		return SL_ERR_INVAL;
	if ((r = wrap_aad(kind, name, version, &aad, &aadlen)) != 0)
		return r;
	if ((out = malloc(outlen)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if ((r = keys_aead_seal(alg, mk->key, aad, aadlen, secret, len, out)) != 0)
		goto out;
	*blob = out;
	*bloblen = outlen;
	out = NULL;
out:
	free(out);
	free(aad);
	return r;
}

int
keys_master_unwrap(const struct keys_master *mk, const char *kind, const char *name,
    uint32_t version, const uint8_t *blob, size_t bloblen, uint8_t **secret, size_t *len)
{
	uint8_t *aad = NULL, *pt = NULL;
	size_t aadlen, ptlen = 0;
	int r;

	if ((r = wrap_aad(kind, name, version, &aad, &aadlen)) != 0)
		return r;
	/* +1 so an empty plaintext still gets a valid allocation. */
	if ((pt = keys_secret_alloc(bloblen + 1)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if ((r = keys_aead_open(mk->suite, mk->key, aad, aadlen, blob, bloblen, pt, &ptlen)) != 0) {
		/* A malformed blob is as much a failed unwrap as a forged one. */
		r = SL_ERR_AUTH;
		goto out;
	}
	*secret = pt;
	*len = ptlen;
	pt = NULL;
out:
	if (pt != NULL)
		keys_secret_free(pt);
	free(aad);
	return r;
}

int
keys_master_check_make(const struct keys_master *mk, uint8_t **blob, size_t *bloblen)
{
	return keys_master_wrap(mk, CHECK_KIND, CHECK_NAME, 0, "", 0, blob, bloblen);
}

int
keys_master_check(const struct keys_master *mk, const uint8_t *blob, size_t bloblen)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	int r;

	r = keys_master_unwrap(mk, CHECK_KIND, CHECK_NAME, 0, blob, bloblen, &pt, &len);
	if (pt != NULL)
		keys_secret_free(pt);
	return r == 0 && len == 0 ? 0 : SL_ERR_AUTH;
}

void
keys_master_free(struct keys_master *mk)
{
	if (mk == NULL)
		return;
	keys_secret_free(mk->key);
	free(mk);
}
