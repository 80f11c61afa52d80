/*
 * keys/sign.c -- Ed25519 (libsodium) and SM2 (OpenSSL) identities.
 *
 * OpenSSL does the PEM/DER encoding for both key types; libsodium does the
 * Ed25519 arithmetic, as keys/suite.h says.  Ed25519 keys in the exact
 * DER OpenSSL writes are read without OpenSSL: its decoders cost about a
 * millisecond on first use, and every CLI run reads keys.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/text.h"
#include "keys/hash.h"
#include "keys/internal.h"
#include "keys/keys.h"
#include "keys/sign.h"

#define ED25519_SEED_BYTES 32

struct keys_identity {
	enum keys_suite suite;
	uint8_t *ed_sk; /* intl: libsodium's 64-byte secret key, locked memory */
	EVP_PKEY *sm2;  /* gm: private scalar in OpenSSL's secure heap */
};

struct keys_pubkey {
	enum keys_suite suite;
	uint8_t ed_pk[crypto_sign_PUBLICKEYBYTES]; /* intl only */
	EVP_PKEY *pkey; /* gm; intl: made on first need (keys_pubkey_evp) */
};

/* RFC 8410 DER as OpenSSL writes it: PKCS#8 v1 without the public key, and SPKI. */
static const uint8_t ed25519_pkcs8_prefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
    0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
static const uint8_t ed25519_spki_prefix[] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
#define ED25519_PKCS8_BYTES (sizeof(ed25519_pkcs8_prefix) + ED25519_SEED_BYTES)
#define ED25519_SPKI_BYTES (sizeof(ed25519_spki_prefix) + crypto_sign_PUBLICKEYBYTES)

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_base64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/*
 * Whether [p, stop) is a line end and then base64 in lines of 64 digits, the
 * last one 1 to 64, each ended by LF or CRLF: the layout OpenSSL writes.
 * Only that layout takes the quick path, so that it never reads a key from
 * a text OpenSSL's reader, the one an outside verifier uses, would refuse.
 */
static int
pem_lines(const char *p, const char *stop)
{
	size_t n;

	if (p < stop && *p == '\r')
		p++;
	if (p == stop || *p++ != '\n')
		return 0;
	do {
		for (n = 0; p < stop && is_base64(*p); p++)
			n++;
		if (n == 0 || n > 64)
			return 0;
		if (p < stop && *p == '\r')
			p++;
		if (p == stop || *p++ != '\n')
			return 0;
	} while (p < stop && n == 64);
	return p == stop;
}

/*
 * The DER of a PEM file that is one block with this label, in OpenSSL's
 * layout, and nothing else but whitespace around it, if it fits in cap
 * bytes: 1; otherwise 0, and the caller hands the file to OpenSSL's general
 * decoder, which judges it.
 */
static int
pem_der(const char *pem, size_t len, const char *label, uint8_t *der, size_t cap, size_t *derlen)
{
	const char *p = pem, *end = pem + len, *body, *stop;
	size_t llen = strlen(label);

	while (p < end && is_space(*p))
		p++;
	while (end > p && is_space(end[-1]))
		end--;
	if ((size_t)(end - p) < 2 * (llen + 16) || memcmp(p, "-----BEGIN ", 11) != 0 ||
	    memcmp(p + 11, label, llen) != 0 || memcmp(p + 11 + llen, "-----", 5) != 0)
		return 0;
	body = p + 16 + llen;
	stop = end - (14 + llen);
	if (memcmp(stop, "-----END ", 9) != 0 || memcmp(stop + 9, label, llen) != 0 ||
	    memcmp(end - 5, "-----", 5) != 0 || !pem_lines(body, stop))
		return 0;
	return sodium_base642bin(der, cap, body, (size_t)(stop - body), "\r\n", derlen, &p,
	           sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       p == stop;
}

static int
ed25519_pubkey(const uint8_t raw[crypto_sign_PUBLICKEYBYTES], struct keys_pubkey **out)
{
	struct keys_pubkey *pk;

	if ((pk = calloc(1, sizeof(*pk))) == NULL)
		return SL_ERR_NOMEM;
	pk->suite = KEYS_SUITE_INTL;
	memcpy(pk->ed_pk, raw, crypto_sign_PUBLICKEYBYTES);
	*out = pk;
	return 0;
}

int
keys_pem_no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static int
identity_alloc(enum keys_suite suite, struct keys_identity **out)
{
	struct keys_identity *id;

	if ((id = calloc(1, sizeof(*id))) == NULL)
		return SL_ERR_NOMEM;
	id->suite = suite;
	if (suite == KEYS_SUITE_INTL &&
	    (id->ed_sk = keys_secret_alloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		free(id);
		return SL_ERR_NOMEM;
	}
	*out = id;
	return 0;
}

int
keys_identity_generate(enum keys_suite suite, struct keys_identity **out)
{
	struct keys_identity *id = NULL;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	int r;

	if (keys_suite_name(suite) == NULL)
		return SL_ERR_INVAL;
	if ((r = identity_alloc(suite, &id)) != 0)
		return r;
	if (suite == KEYS_SUITE_INTL) {
		if (crypto_sign_keypair(pk, id->ed_sk) != 0) {
			r = SL_ERR_CRYPTO;
			goto out;
		}
	} else if ((id->sm2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2")) == NULL) {
		r = SL_ERR_CRYPTO;
		goto out;
	}
	*out = id;
	id = NULL;
	r = 0;
out:
	keys_identity_free(id);
	return r;
}

/* The suite of an OpenSSL key, or 0 for a key type Sluice does not use. */
static enum keys_suite
pkey_suite(const EVP_PKEY *pkey)
{
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return KEYS_SUITE_INTL;
	if (EVP_PKEY_is_a(pkey, "SM2"))
		return KEYS_SUITE_GM;
	return 0;
}

/*
 * 0 if the SM2 key's public point is its private scalar's.  A PKCS#8 file
 * carries both, and nothing else ties them: with a wrong point the identity
 * would name one key and sign with another.
 */
static int
sm2_pairwise(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int r = ctx == NULL ? SL_ERR_NOMEM : EVP_PKEY_pairwise_check(ctx) == 1 ? 0 : SL_ERR_PARSE;

	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

int
keys_identity_from_pem(const void *pem, size_t len, struct keys_identity **out)
{
	struct keys_identity *id = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	uint8_t seed[ED25519_SEED_BYTES], pk[crypto_sign_PUBLICKEYBYTES];
	size_t seedlen = sizeof(seed);
	enum keys_suite suite;
	int r = SL_ERR_PARSE;

	uint8_t der[ED25519_PKCS8_BYTES];
	size_t derlen = 0;

	if (len > INT32_MAX)
		return SL_ERR_LIMIT;
	if (pem_der(pem, len, "PRIVATE KEY", der, sizeof(der), &derlen) &&
	    derlen == sizeof(der) &&
	    memcmp(der, ed25519_pkcs8_prefix, sizeof(ed25519_pkcs8_prefix)) == 0) {
		if ((r = identity_alloc(KEYS_SUITE_INTL, &id)) == 0 &&
		    crypto_sign_seed_keypair(pk, id->ed_sk, der + sizeof(ed25519_pkcs8_prefix)) != 0)
			r = SL_ERR_PARSE;
		keys_wipe(der, sizeof(der));
		if (r == 0)
			*out = id;
		else
			keys_identity_free(id);
		return r;
	}
	keys_wipe(der, sizeof(der));
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return SL_ERR_NOMEM;
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, keys_pem_no_password, NULL)) == NULL)
		goto out;
	if ((suite = pkey_suite(pkey)) == 0)
		goto out;
	if ((r = identity_alloc(suite, &id)) != 0)
		goto out;
	if (suite == KEYS_SUITE_INTL) {
		if (EVP_PKEY_get_raw_private_key(pkey, seed, &seedlen) != 1 ||
		    seedlen != sizeof(seed) || crypto_sign_seed_keypair(pk, id->ed_sk, seed) != 0) {
			r = SL_ERR_PARSE;
			goto out;
		}
	} else {
		if ((r = sm2_pairwise(pkey)) != 0)
			goto out;
		id->sm2 = pkey;
		pkey = NULL;
	}
	*out = id;
	id = NULL;
	r = 0;
out:
	keys_wipe(seed, sizeof(seed));
	keys_identity_free(id);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

int
keys_bio_take(BIO *bio, char **out, size_t *lenp)
{
	char *data, *copy;
	long n;

	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		return SL_ERR_CRYPTO;
	if ((copy = malloc((size_t)n + 1)) == NULL)
		return SL_ERR_NOMEM;
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*out = copy;
	*lenp = (size_t)n;
	return 0;
}

int
keys_private_pem(EVP_PKEY *key, char **pem, size_t *len)
{
	BIO *bio;
	int r = SL_ERR_CRYPTO;

	/* BIO_s_secmem: the encoded key is wiped when the BIO is freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return SL_ERR_NOMEM;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
		r = keys_bio_take(bio, pem, len);
	BIO_free(bio);
	return r;
}

int
keys_identity_to_pem(const struct keys_identity *id, char **pem, size_t *len)
{
	EVP_PKEY *tmp = NULL;
	int r;

	if (id->suite == KEYS_SUITE_GM)
		return keys_private_pem(id->sm2, pem, len);
	/* libsodium's secret key starts with the 32-byte RFC 8032 seed. */
	if ((tmp = EVP_PKEY_new_raw_private_key(
	         EVP_PKEY_ED25519, NULL, id->ed_sk, ED25519_SEED_BYTES)) == NULL)
		return SL_ERR_CRYPTO;
	r = keys_private_pem(tmp, pem, len);
	EVP_PKEY_free(tmp);
	return r;
}

void
keys_pem_free(char *pem, size_t len)
{
	if (pem == NULL)
		return;
	keys_wipe(pem, len);
	free(pem);
}

enum keys_suite
keys_identity_suite(const struct keys_identity *id)
{
	return id->suite;
}

/* Take ownership of pkey into a new public key object. */
static int
pubkey_wrap(EVP_PKEY *pkey, struct keys_pubkey **out)
{
	struct keys_pubkey *pk;
	size_t rawlen = crypto_sign_PUBLICKEYBYTES;
	enum keys_suite suite;

	if ((suite = pkey_suite(pkey)) == 0) {
		EVP_PKEY_free(pkey);
		return SL_ERR_PARSE;
	}
	if ((pk = calloc(1, sizeof(*pk))) == NULL) {
		EVP_PKEY_free(pkey);
		return SL_ERR_NOMEM;
	}
	pk->suite = suite;
	pk->pkey = pkey;
	if (suite == KEYS_SUITE_INTL &&
	    (EVP_PKEY_get_raw_public_key(pkey, pk->ed_pk, &rawlen) != 1 ||
	        rawlen != crypto_sign_PUBLICKEYBYTES)) {
		keys_pubkey_free(pk);
		return SL_ERR_PARSE;
	}
	*out = pk;
	return 0;
}

int
keys_identity_pubkey(const struct keys_identity *id, struct keys_pubkey **out)
{
	EVP_PKEY *pkey = NULL;
	uint8_t *der = NULL;
	const uint8_t *p;
	int derlen;

	if (id->suite == KEYS_SUITE_INTL)
		return ed25519_pubkey(id->ed_sk + ED25519_SEED_BYTES, out);
	/* Round-trip through SPKI DER to get a key without the private half. */
	if ((derlen = i2d_PUBKEY(id->sm2, &der)) <= 0)
		return SL_ERR_CRYPTO;
	p = der;
	pkey = d2i_PUBKEY(NULL, &p, derlen);
	OPENSSL_free(der);
	if (pkey == NULL)
		return SL_ERR_CRYPTO;
	return pubkey_wrap(pkey, out);
}

/* SM2 over SM3 with an explicit distinguishing ID, signing or verifying. */
static int
sm2_digest_op(int sign, EVP_PKEY *pkey, const void *id, size_t idlen, const void *msg, size_t len,
    uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r = SL_ERR_CRYPTO;

	/* The order is OpenSSL's documented one (EVP_PKEY-SM2(7)): set the ID first. */
	if ((mctx = EVP_MD_CTX_new()) == NULL || (pctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL ||
	    EVP_PKEY_CTX_set1_id(pctx, id, idlen) <= 0)
		goto out;
	EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
	if (sign) {
		if (EVP_DigestSignInit(mctx, NULL, EVP_sm3(), NULL, pkey) != 1 ||
		    EVP_DigestSign(mctx, sig, siglen, msg, len) != 1)
			goto out;
	} else {
		if (EVP_DigestVerifyInit(mctx, NULL, EVP_sm3(), NULL, pkey) != 1)
			goto out;
		r = EVP_DigestVerify(mctx, sig, *siglen, msg, len) == 1 ? 0 : SL_ERR_AUTH;
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	return r;
}

int
keys_identity_sign(const struct keys_identity *id, const void *msg, size_t len,
    uint8_t sig[KEYS_SIG_MAX], size_t *siglen)
{
	unsigned long long edlen = 0;

	if (id->suite == KEYS_SUITE_INTL) {
		if (crypto_sign_detached(sig, &edlen, msg, len, id->ed_sk) != 0)
			return SL_ERR_CRYPTO;
		*siglen = (size_t)edlen;
		return 0;
	}
	*siglen = KEYS_SIG_MAX;
	return sm2_digest_op(1, id->sm2, KEYS_SM2_ID, strlen(KEYS_SM2_ID), msg, len, sig, siglen);
}

void
keys_identity_free(struct keys_identity *id)
{
	if (id == NULL)
		return;
	if (id->ed_sk != NULL)
		keys_secret_free(id->ed_sk);
	EVP_PKEY_free(id->sm2);
	free(id);
}

int
keys_pubkey_from_pem(const void *pem, size_t len, struct keys_pubkey **out)
{
	uint8_t der[ED25519_SPKI_BYTES];
	size_t derlen = 0;
	EVP_PKEY *pkey;
	BIO *bio;

	if (len > INT32_MAX)
		return SL_ERR_LIMIT;
	if (pem_der(pem, len, "PUBLIC KEY", der, sizeof(der), &derlen))
		return keys_pubkey_from_der(der, derlen, out);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return SL_ERR_NOMEM;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, keys_pem_no_password, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return SL_ERR_PARSE;
	return pubkey_wrap(pkey, out);
}

int
keys_pubkey_from_der(const uint8_t *der, size_t len, struct keys_pubkey **out)
{
	const uint8_t *p = der;
	EVP_PKEY *pkey;

	if (len > INT32_MAX)
		return SL_ERR_LIMIT;
	if (len == ED25519_SPKI_BYTES &&
	    memcmp(der, ed25519_spki_prefix, sizeof(ed25519_spki_prefix)) == 0)
		return ed25519_pubkey(der + sizeof(ed25519_spki_prefix), out);
	if ((pkey = d2i_PUBKEY(NULL, &p, (long)len)) == NULL)
		return SL_ERR_PARSE;
	/* Trailing bytes after the structure are an error, not ignored. */
	if (p != der + len) {
		EVP_PKEY_free(pkey);
		return SL_ERR_PARSE;
	}
	return pubkey_wrap(pkey, out);
}

int
keys_pubkey_to_pem(const struct keys_pubkey *pk, char **pem, size_t *len)
{
	BIO *bio;
	int r = SL_ERR_CRYPTO;

	if (keys_pubkey_evp(pk) == NULL)
		return SL_ERR_CRYPTO;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return SL_ERR_NOMEM;
	if (PEM_write_bio_PUBKEY(bio, pk->pkey) == 1)
		r = keys_bio_take(bio, pem, len);
	BIO_free(bio);
	return r;
}

int
keys_pubkey_to_der(const struct keys_pubkey *pk, uint8_t **der, size_t *len)
{
	uint8_t *buf = NULL, *copy;
	int n;

	if (pk->suite == KEYS_SUITE_INTL) {
		if ((copy = malloc(ED25519_SPKI_BYTES)) == NULL)
			return SL_ERR_NOMEM;
		memcpy(copy, ed25519_spki_prefix, sizeof(ed25519_spki_prefix));
		memcpy(copy + sizeof(ed25519_spki_prefix), pk->ed_pk, crypto_sign_PUBLICKEYBYTES);
		*der = copy;
		*len = ED25519_SPKI_BYTES;
		return 0;
	}
	if ((n = i2d_PUBKEY(pk->pkey, &buf)) <= 0)
		return SL_ERR_CRYPTO;
	if ((copy = malloc((size_t)n)) == NULL) {
		OPENSSL_free(buf);
		return SL_ERR_NOMEM;
	}
	memcpy(copy, buf, (size_t)n);
	OPENSSL_free(buf);
	*der = copy;
	*len = (size_t)n;
	return 0;
}

enum keys_suite
keys_pubkey_suite(const struct keys_pubkey *pk)
{
	return pk->suite;
}

int
keys_pubkey_fingerprint(const struct keys_pubkey *pk, char out[KEYS_FINGERPRINT_MAX])
{
	uint8_t *der = NULL, md[KEYS_HASH_BYTES];
	size_t derlen, off;
	int r;

	if ((r = keys_pubkey_to_der(pk, &der, &derlen)) != 0)
		return r;
	r = keys_hash(pk->suite, der, derlen, md);
	free(der);
	if (r != 0)
		return r;
	off = (size_t)snprintf(
	    out, KEYS_FINGERPRINT_MAX, "%s:", pk->suite == KEYS_SUITE_INTL ? "SHA256" : "SM3");
	sl_hex_encode(md, sizeof(md), out + off);
	return 0;
}

int
keys_pubkey_equal(const struct keys_pubkey *a, const struct keys_pubkey *b)
{
	if (a->suite != b->suite)
		return 0;
	if (a->suite == KEYS_SUITE_INTL)
		return memcmp(a->ed_pk, b->ed_pk, sizeof(a->ed_pk)) == 0;
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

int
keys_pubkey_verify(
    const struct keys_pubkey *pk, const void *msg, size_t len, const uint8_t *sig, size_t siglen)
{
	if (pk->suite == KEYS_SUITE_INTL) {
		if (siglen != KEYS_ED25519_SIG_BYTES)
			return SL_ERR_AUTH;
		return crypto_sign_verify_detached(sig, msg, len, pk->ed_pk) == 0 ? 0 : SL_ERR_AUTH;
	}
	return keys_pubkey_verify_sm2_id(
	    pk, KEYS_SM2_ID, strlen(KEYS_SM2_ID), msg, len, sig, siglen);
}

int
keys_pubkey_verify_sm2_id(const struct keys_pubkey *pk, const void *id, size_t idlen,
    const void *msg, size_t len, const uint8_t *sig, size_t siglen)
{
	int r;

	if (pk->suite != KEYS_SUITE_GM || siglen == 0 || siglen > KEYS_SIG_MAX)
		return SL_ERR_AUTH;
	r = sm2_digest_op(0, pk->pkey, id, idlen, msg, len, (uint8_t *)sig, &siglen);
	return r == 0 ? 0 : SL_ERR_AUTH;
}

void *
keys_pubkey_evp(const struct keys_pubkey *pk)
{
	/* A cache: the key's value does not change, so pk stays logically const. */
	if (pk->pkey == NULL)
		((struct keys_pubkey *)pk)->pkey = EVP_PKEY_new_raw_public_key(
		    EVP_PKEY_ED25519, NULL, pk->ed_pk, crypto_sign_PUBLICKEYBYTES);
	return pk->pkey;
}

void
keys_pubkey_free(struct keys_pubkey *pk)
{
	if (pk == NULL)
		return;
	EVP_PKEY_free(pk->pkey);
	free(pk);
}
