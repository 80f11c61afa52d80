/*
 * keys/x509.c -- X.509 issuance with OpenSSL.
 */
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "keys/internal.h"
#include "keys/keys.h"
#include "keys/sign.h"
#include "keys/x509.h"

#define SERIAL_BITS 127
#define NOT_BEFORE_SKEW (-300L) /* tolerate clocks five minutes behind */

struct keys_ca {
	X509 *cert;
	EVP_PKEY *key;
};

static int
add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return SL_ERR_CRYPTO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : SL_ERR_CRYPTO;
}

/*
 * A new certificate for pubkey with the given subject entries, validity and
 * a random positive serial; issuer name from issuer (or itself when NULL).
 */
static int
cert_new(X509 *issuer, EVP_PKEY *pubkey, const char *ou, const char *cn, long days, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *name;
	BIGNUM *serial = NULL;
	int r = SL_ERR_CRYPTO;

	if ((x = X509_new()) == NULL || (serial = BN_new()) == NULL)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_rand(serial, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), NOT_BEFORE_SKEW) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) == NULL ||
	    X509_set_pubkey(x, pubkey) != 1)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(
	        name, "O", MBSTRING_UTF8, (const unsigned char *)"Sluice", -1, -1, 0) != 1 ||
	    (ou != NULL && X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
	                       (const unsigned char *)ou, -1, -1, 0) != 1) ||
	    X509_NAME_add_entry_by_txt(
	        name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1)
		goto out;
	if (X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ? issuer : x)) != 1)
		goto out;
	*out = x;
	x = NULL;
	r = 0;
out:
	BN_free(serial);
	X509_free(x);
	return r;
}

static int
cert_pem(X509 *x, char **pem, size_t *len)
{
	BIO *bio;
	int r = SL_ERR_CRYPTO;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return SL_ERR_NOMEM;
	if (PEM_write_bio_X509(bio, x) == 1)
		r = keys_bio_take(bio, pem, len);
	BIO_free(bio);
	return r;
}

int
keys_ca_generate(const char *cn, struct keys_ca **out)
{
	struct keys_ca *ca;
	int r = SL_ERR_CRYPTO;

	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return SL_ERR_NOMEM;
	if ((ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		goto out;
	if ((r = cert_new(NULL, ca->key, NULL, cn, KEYS_CA_DAYS, &ca->cert)) != 0 ||
	    (r = add_ext(
	         ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) != 0 ||
	    (r = add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign")) != 0 ||
	    (r = add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash")) != 0)
		goto out;
	r = SL_ERR_CRYPTO;
	if (X509_sign(ca->cert, ca->key, EVP_sha256()) <= 0)
		goto out;
	*out = ca;
	ca = NULL;
	r = 0;
out:
	keys_ca_free(ca);
	return r;
}

int
keys_ca_load(
    const char *cert_pem, size_t certlen, const char *key_pem, size_t keylen, struct keys_ca **out)
{
	struct keys_ca *ca;
	BIO *bio = NULL;
	int r = SL_ERR_PARSE;

	if (certlen > INT32_MAX || keylen > INT32_MAX)
		return SL_ERR_LIMIT;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return SL_ERR_NOMEM;
	if ((bio = BIO_new_mem_buf(cert_pem, (int)certlen)) == NULL ||
	    (ca->cert = PEM_read_bio_X509(bio, NULL, keys_pem_no_password, NULL)) == NULL)
		goto out;
	BIO_free(bio);
	if ((bio = BIO_new_mem_buf(key_pem, (int)keylen)) == NULL ||
	    (ca->key = PEM_read_bio_PrivateKey(bio, NULL, keys_pem_no_password, NULL)) == NULL ||
	    X509_check_private_key(ca->cert, ca->key) != 1)
		goto out;
	*out = ca;
	ca = NULL;
	r = 0;
out:
	BIO_free(bio);
	keys_ca_free(ca);
	return r;
}

int
keys_ca_cert_pem(const struct keys_ca *ca, char **pem, size_t *len)
{
	return cert_pem(ca->cert, pem, len);
}

int
keys_ca_key_pem(const struct keys_ca *ca, char **pem, size_t *len)
{
	return keys_private_pem(ca->key, pem, len);
}

/* Sign x with the CA after adding the extensions common to leaf certificates. */
static int
leaf_finish(const struct keys_ca *ca, X509 *x, const char *eku)
{
	int r;

	if ((r = add_ext(ca->cert, x, NID_basic_constraints, "critical,CA:FALSE")) != 0 ||
	    (r = add_ext(ca->cert, x, NID_key_usage, "critical,digitalSignature")) != 0 ||
	    (r = add_ext(ca->cert, x, NID_ext_key_usage, eku)) != 0 ||
	    (r = add_ext(ca->cert, x, NID_subject_key_identifier, "hash")) != 0 ||
	    (r = add_ext(ca->cert, x, NID_authority_key_identifier, "keyid:always")) != 0)
		return r;
	return X509_sign(x, ca->key, EVP_sha256()) > 0 ? 0 : SL_ERR_CRYPTO;
}

int
keys_ca_issue_client(const struct keys_ca *ca, const struct keys_pubkey *pk, const char *name,
    const char *role, char **pem, size_t *len)
{
	X509 *x = NULL;
	int r;

	if ((r = cert_new(ca->cert, keys_pubkey_evp(pk), role, name, KEYS_CERT_DAYS, &x)) != 0 ||
	    (r = leaf_finish(ca, x, "clientAuth")) != 0)
		goto out;
	r = cert_pem(x, pem, len);
out:
	X509_free(x);
	return r;
}

int
keys_ca_issue_server(const struct keys_ca *ca, const char *host, char **cert_pem_out,
    size_t *certlen, char **key_pem_out, size_t *keylen)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	char san[512];
	int r = SL_ERR_CRYPTO;

	if ((size_t)snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1,IP:::1", host) >= sizeof(san))
		return SL_ERR_INVAL;
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		goto out;
	if ((r = cert_new(ca->cert, key, NULL, host, KEYS_CERT_DAYS, &x)) != 0 ||
	    (r = add_ext(ca->cert, x, NID_subject_alt_name, san)) != 0 ||
	    (r = leaf_finish(ca, x, "serverAuth")) != 0)
		goto out;
	if ((r = cert_pem(x, cert_pem_out, certlen)) != 0)
		goto out;
	if ((r = keys_private_pem(key, key_pem_out, keylen)) != 0) {
		free(*cert_pem_out);
		*cert_pem_out = NULL;
	}
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

void
keys_ca_free(struct keys_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}
