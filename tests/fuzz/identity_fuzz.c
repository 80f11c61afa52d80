/*
 * tests/fuzz/identity_fuzz.c -- libFuzzer harness for the key and
 * certificate loaders of keys/sign.c and keys/x509.c: a party's PKCS#8
 * identity file (`--identity`), SPKI public keys (PEM in contracts, audit
 * exports and `--key` files, DER in the catalog and from TLS client
 * certificates) and the platform CA's certificate and key.
 *
 * The first byte picks the loader: 0 keys_identity_from_pem(), 1
 * keys_pubkey_from_pem(), 2 keys_pubkey_from_der(), 3 keys_ca_load() (the
 * next two bytes are the certificate's length, big-endian; the key follows
 * it).  The rest is the input, in a heap copy of exactly its length.
 *
 * A refusal must be SL_ERR_PARSE or SL_ERR_LIMIT (the loaders leave the
 * message to their callers, which name the file).  An accepted key must read
 * as OpenSSL reads the same bytes (the Ed25519 fast paths skip OpenSSL: they
 * must not accept what it refuses, nor read another key), must write back
 * to text that loads to the same key and writes the very same bytes again,
 * and must have a well-formed fingerprint that its copies share; an
 * identity's signature must verify under its public key, and not over
 * another message.  An accepted CA must write back a certificate and key
 * that load again to the same certificate, and issuing a client certificate
 * with it must succeed or fail cleanly (SL_ERR_CRYPTO: a key type that
 * cannot sign with SHA-256).
 *
 *   make fuzz && ./tests/fuzz/identity_fuzz -max_total_time=60 CORPUS tests/fuzz/corpus/identity
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "tests/fuzz/check.h"
#include "tests/fuzz/keys_init.h"
#include "keys/internal.h"
#include "keys/sign.h"
#include "keys/x509.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char message[] = "sluice identity_fuzz";
static struct keys_pubkey *client_key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct keys_identity *id;

	(void)argc;
	(void)argv;
	fuzz_keys_init();
	CHECK(keys_identity_generate(KEYS_SUITE_INTL, &id) == 0);
	CHECK(keys_identity_pubkey(id, &client_key) == 0);
	keys_identity_free(id);
	return 0;
}

static void
refused(int r)
{
	CHECK(r == SL_ERR_PARSE || r == SL_ERR_LIMIT || r == SL_ERR_NOMEM);
}

/* pk's SPKI DER is what OpenSSL writes for pkey. */
static void
same_as_openssl(const struct keys_pubkey *pk, EVP_PKEY *pkey)
{
	uint8_t *der = NULL, *ossl = NULL;
	size_t len = 0;
	int n;

	CHECK(keys_pubkey_to_der(pk, &der, &len) == 0);
	CHECK((n = i2d_PUBKEY(pkey, &ossl)) > 0);
	CHECK((size_t)n == len && memcmp(der, ossl, len) == 0);
	OPENSSL_free(ossl);
	free(der);
}

/* Whether pkey's public half is its private half's (OpenSSL's pairwise check). */
static int
pairwise(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	int ok;

	CHECK(ctx != NULL);
	ok = EVP_PKEY_pairwise_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* Fingerprint, DER and PEM of an accepted public key, and its copies through them. */
static void
pubkey_accepted(const struct keys_pubkey *pk)
{
	struct keys_pubkey *a = NULL, *b = NULL;
	char fp[KEYS_FINGERPRINT_MAX], fa[KEYS_FINGERPRINT_MAX];
	char *pem = NULL, *pem2 = NULL;
	uint8_t *der = NULL, *der2 = NULL;
	size_t len = 0, len2 = 0, plen = 0, plen2 = 0;
	const char *hex;

	CHECK(keys_pubkey_suite(pk) == KEYS_SUITE_INTL || keys_pubkey_suite(pk) == KEYS_SUITE_GM);
	CHECK(keys_pubkey_fingerprint(pk, fp) == 0);
	hex = keys_pubkey_suite(pk) == KEYS_SUITE_INTL ? fp + 7 : fp + 4;
	CHECK(strncmp(fp, keys_pubkey_suite(pk) == KEYS_SUITE_INTL ? "SHA256:" : "SM3:",
	          (size_t)(hex - fp)) == 0);
	CHECK(strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64);
	CHECK(keys_pubkey_to_der(pk, &der, &len) == 0);
	CHECK(keys_pubkey_from_der(der, len, &a) == 0);
	CHECK(keys_pubkey_equal(pk, a) && keys_pubkey_suite(a) == keys_pubkey_suite(pk));
	CHECK(keys_pubkey_to_der(a, &der2, &len2) == 0);
	CHECK(len2 == len && memcmp(der, der2, len) == 0);
	CHECK(keys_pubkey_fingerprint(a, fa) == 0 && strcmp(fa, fp) == 0);
	CHECK(keys_pubkey_to_pem(pk, &pem, &plen) == 0 && plen == strlen(pem));
	CHECK(keys_pubkey_from_pem(pem, plen, &b) == 0);
	CHECK(keys_pubkey_equal(pk, b) && keys_pubkey_equal(a, b));
	CHECK(keys_pubkey_to_pem(b, &pem2, &plen2) == 0);
	CHECK(plen2 == plen && memcmp(pem, pem2, plen) == 0);
	free(pem2);
	free(pem);
	free(der2);
	free(der);
	keys_pubkey_free(b);
	keys_pubkey_free(a);
}

static void
identity(const uint8_t *p, size_t n)
{
	struct keys_identity *id = NULL, *id2 = NULL;
	struct keys_pubkey *pk = NULL, *pk2 = NULL;
	uint8_t sig[KEYS_SIG_MAX];
	char *pem = NULL, *pem2 = NULL;
	size_t siglen = 0, len = 0, len2 = 0;
	EVP_PKEY *pkey;
	BIO *bio;
	int r;

	if ((r = keys_identity_from_pem(p, n, &id)) != 0) {
		refused(r);
		return;
	}
	CHECK(
	    keys_identity_suite(id) == KEYS_SUITE_INTL || keys_identity_suite(id) == KEYS_SUITE_GM);
	CHECK(
	    keys_identity_pubkey(id, &pk) == 0 && keys_pubkey_suite(pk) == keys_identity_suite(id));
	pubkey_accepted(pk);
	/* OpenSSL reads the same private key (the Ed25519 fast path must agree). */
	CHECK((bio = BIO_new_mem_buf(p, (int)n)) != NULL);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, keys_pem_no_password, NULL);
	BIO_free(bio);
	/* The Ed25519 fast path must not take what OpenSSL refuses (found: bytes >= 0x80). */
	CHECK(pkey != NULL);
	same_as_openssl(pk, pkey);
	/* Nor an SM2 key whose public point is not its scalar's (found). */
	CHECK(pairwise(pkey));
	EVP_PKEY_free(pkey);
	/* It signs, and only what it signed verifies. */
	CHECK(keys_identity_sign(id, message, sizeof message, sig, &siglen) == 0);
	CHECK(siglen >= 1 && siglen <= KEYS_SIG_MAX);
	CHECK(keys_pubkey_verify(pk, message, sizeof message, sig, siglen) == 0);
	CHECK(keys_pubkey_verify(pk, message, sizeof message - 1, sig, siglen) == SL_ERR_AUTH);
	/* Written back, it loads to the same key and writes the same text. */
	CHECK(keys_identity_to_pem(id, &pem, &len) == 0 && len == strlen(pem));
	CHECK(keys_identity_from_pem(pem, len, &id2) == 0);
	CHECK(keys_identity_pubkey(id2, &pk2) == 0 && keys_pubkey_equal(pk, pk2));
	CHECK(keys_identity_to_pem(id2, &pem2, &len2) == 0);
	CHECK(len2 == len && memcmp(pem, pem2, len) == 0);
	keys_pem_free(pem2, len2);
	keys_pem_free(pem, len);
	keys_pubkey_free(pk2);
	keys_pubkey_free(pk);
	keys_identity_free(id2);
	keys_identity_free(id);
}

static void
pubkey(const uint8_t *p, size_t n, int der)
{
	struct keys_pubkey *pk = NULL;
	const uint8_t *q = p;
	EVP_PKEY *pkey;
	BIO *bio;
	int r;

	r = der ? keys_pubkey_from_der(p, n, &pk) : keys_pubkey_from_pem(p, n, &pk);
	if (r != 0) {
		refused(r);
		return;
	}
	pubkey_accepted(pk);
	if (der) {
		pkey = d2i_PUBKEY(NULL, &q, (long)n);
		CHECK(pkey != NULL && q == p + n);
	} else {
		CHECK((bio = BIO_new_mem_buf(p, (int)n)) != NULL);
		pkey = PEM_read_bio_PUBKEY(bio, NULL, keys_pem_no_password, NULL);
		BIO_free(bio);
	}
	/* What OpenSSL refuses is refused (found: the quick path took bytes >= 0x80). */
	CHECK(pkey != NULL);
	same_as_openssl(pk, pkey);
	EVP_PKEY_free(pkey);
	keys_pubkey_free(pk);
}

static void
ca(const uint8_t *p, size_t n)
{
	struct keys_ca *ca = NULL, *ca2 = NULL;
	char *cert = NULL, *key = NULL, *cert2 = NULL, *client = NULL;
	size_t certlen, clen = 0, klen = 0, clen2 = 0, len = 0;
	int r;

	if (n < 2)
		return;
	certlen = (size_t)p[0] << 8 | p[1];
	p += 2;
	n -= 2;
	if (certlen > n)
		certlen = n;
	if ((r = keys_ca_load(
	         (const char *)p, certlen, (const char *)p + certlen, n - certlen, &ca)) != 0) {
		refused(r);
		return;
	}
	CHECK(keys_ca_cert_pem(ca, &cert, &clen) == 0 && clen == strlen(cert));
	CHECK(keys_ca_key_pem(ca, &key, &klen) == 0 && klen == strlen(key));
	CHECK(keys_ca_load(cert, clen, key, klen, &ca2) == 0);
	CHECK(keys_ca_cert_pem(ca2, &cert2, &clen2) == 0);
	CHECK(clen2 == clen && memcmp(cert, cert2, clen) == 0);
	r = keys_ca_issue_client(ca2, client_key, "fuzz-party", "buyer", &client, &len);
	CHECK(r == 0 || r == SL_ERR_CRYPTO);
	CHECK(r != 0 || (client != NULL && len == strlen(client)));
	free(client);
	free(cert2);
	keys_pem_free(key, klen);
	free(cert);
	keys_ca_free(ca2);
	keys_ca_free(ca);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1;
	if ((p = malloc(n > 0 ? n : 1)) == NULL)
		return 0;
	memcpy(p, data + 1, n);
	switch (data[0] % 4) {
	case 0:
		identity(p, n);
		break;
	case 1:
		pubkey(p, n, 0);
		break;
	case 2:
		pubkey(p, n, 1);
		break;
	default:
		ca(p, n);
	}
	free(p);
	return 0;
}
