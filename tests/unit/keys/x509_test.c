/*
 * tests/unit/keys/x509_test.c -- the platform CA and what it issues, checked
 * with OpenSSL directly: the CA is a self-signed P-256 CA; client
 * certificates certify the party's own Ed25519 or SM2 key under O=Sluice,
 * OU=role, CN=name and verify for client use; server certificates carry the
 * host and loopback addresses with a matching P-256 key; a CA survives a
 * PEM round trip and refuses a key that is not its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "keys/keys.h"
#include "keys/sign.h"
#include "keys/x509.h"

#define CA_CN "Sluice test CA"

static int
group_setup(void **state)
{
	/* OpenSSL's chain verification rates signatures by the digest names, as libssl does. */
	return keys_init(KEYS_INIT_TLS) == 0 ? 0 : -1;
}

static int
ca_setup(void **state)
{
	struct keys_ca *ca = NULL;

	if (keys_ca_generate(CA_CN, &ca) != 0)
		return -1;
	*state = ca;
	return 0;
}

static int
ca_teardown(void **state)
{
	keys_ca_free(*state);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static X509 *
parse_cert(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;

	assert_non_null(bio);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(x);
	return x;
}

static X509 *
ca_cert(const struct keys_ca *ca)
{
	char *pem = NULL;
	size_t len = 0;
	X509 *x;

	assert_int_equal(keys_ca_cert_pem(ca, &pem, &len), 0);
	assert_non_null(pem);
	assert_int_equal(strlen(pem), len);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	x = parse_cert(pem, len);
	free(pem);
	return x;
}

/* The text of the only entry of nid in name, in a static buffer. */
static const char *
name_entry(const X509_NAME *name, int nid)
{
	static char buf[256];
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	const ASN1_STRING *s;

	assert_true(i >= 0);
	assert_int_equal(X509_NAME_get_index_by_NID(name, nid, i), -1);
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	assert_true(ASN1_STRING_length(s) < (int)sizeof(buf));
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
	buf[ASN1_STRING_length(s)] = '\0';
	return buf;
}

/* Whether basicConstraints is present and critical, and its cA flag. */
static void
assert_basic_constraints(X509 *x, int want_ca)
{
	BASIC_CONSTRAINTS *bc;
	int crit = -1;

	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_int_equal(bc->ca != 0, want_ca);
	BASIC_CONSTRAINTS_free(bc);
}

/* Verify leaf against ca alone for purpose: X509_V_OK or OpenSSL's reason. */
static int
verify(X509 *ca, X509 *leaf, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok, err;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok == 1 ? X509_V_OK : err;
}

static void
assert_verify(X509 *ca, X509 *leaf, int purpose, int want)
{
	int got = verify(ca, leaf, purpose);

	if (got != want)
		fail_msg("verification gave \"%s\", expected \"%s\"",
		    X509_verify_cert_error_string(got), X509_verify_cert_error_string(want));
}

/* Seconds from now to t (negative when t is past). */
static long
secs_from_now(const ASN1_TIME *t)
{
	int days = 0, secs = 0;

	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, t), 1);
	return (long)days * 86400L + secs;
}

static void
assert_validity(X509 *x, long days)
{
	long nb = secs_from_now(X509_get0_notBefore(x));
	long na = secs_from_now(X509_get0_notAfter(x));

	/* Valid now (allowing for clock skew), and for days from now. */
	assert_true(nb <= 0);
	assert_true(nb >= -3600);
	assert_true(na <= days * 86400L);
	assert_true(na >= days * 86400L - 120);
}

static void
assert_p256(EVP_PKEY *pk)
{
	char group[64];
	size_t glen = 0;

	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_is_a(pk, "EC"), 1);
	assert_int_equal(EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen), 1);
	assert_string_equal(group, "prime256v1");
	assert_int_equal(EVP_PKEY_get_bits(pk), 256);
}

/* ---- the CA ------------------------------------------------------------- */

static void
test_ca_generate(void **state)
{
	X509 *x = ca_cert(*state);
	EVP_PKEY *pk = X509_get0_pubkey(x);

	/* Self-signed: issuer is subject, and its own key verifies it. */
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	assert_int_equal(X509_verify(x, pk), 1);
	assert_int_equal(X509_check_issued(x, x), X509_V_OK);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);

	assert_basic_constraints(x, 1);
	assert_int_equal(X509_check_ca(x), 1);
	assert_true(X509_get_extension_flags(x) & EXFLAG_KUSAGE);
	assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_int_equal(
	    X509_EXTENSION_get_critical(X509_get_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1))),
	    1);
	assert_p256(pk);
	assert_string_equal(name_entry(X509_get_subject_name(x), NID_commonName), CA_CN);
	assert_validity(x, KEYS_CA_DAYS);
	/* It verifies as a trust anchor on its own. */
	assert_verify(x, x, X509_PURPOSE_ANY, X509_V_OK);
	X509_free(x);
}

static void
test_ca_generate_distinct(void **state)
{
	struct keys_ca *other = NULL;
	X509 *a = ca_cert(*state), *b;

	assert_int_equal(keys_ca_generate(CA_CN, &other), 0);
	b = ca_cert(other);
	assert_int_not_equal(
	    ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)), 0);
	/* Same name, different key: one CA does not vouch for the other. */
	assert_verify(a, b, X509_PURPOSE_ANY, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
	X509_free(a);
	X509_free(b);
	keys_ca_free(other);
}

/* ---- client certificates ------------------------------------------------ */

static void
check_client(struct keys_ca *ca, enum keys_suite suite)
{
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	char *pem1 = NULL, *pem2 = NULL;
	size_t len1 = 0, len2 = 0;
	X509 *cax = ca_cert(ca), *x, *x2;
	const X509_NAME *subj;
	const X509_NAME_ENTRY *e;

	assert_int_equal(keys_identity_generate(suite, &id), 0);
	assert_int_equal(keys_identity_pubkey(id, &pk), 0);
	assert_int_equal(
	    keys_ca_issue_client(ca, pk, "acme-merchant", "merchant", &pem1, &len1), 0);
	assert_int_equal(strlen(pem1), len1);
	x = parse_cert(pem1, len1);

	assert_verify(cax, x, X509_PURPOSE_SSL_CLIENT, X509_V_OK);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(cax)), 0);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);

	/* Subject is exactly O=Sluice, OU=merchant, CN=acme-merchant, in that order. */
	subj = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_entry_count(subj), 3);
	e = X509_NAME_get_entry(subj, 0);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), NID_organizationName);
	e = X509_NAME_get_entry(subj, 1);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), NID_organizationalUnitName);
	e = X509_NAME_get_entry(subj, 2);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), NID_commonName);
	assert_string_equal(name_entry(subj, NID_organizationName), "Sluice");
	assert_string_equal(name_entry(subj, NID_organizationalUnitName), "merchant");
	assert_string_equal(name_entry(subj, NID_commonName), "acme-merchant");

	assert_basic_constraints(x, 0);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	/* A client certificate is no server certificate. */
	assert_verify(cax, x, X509_PURPOSE_SSL_SERVER, X509_V_ERR_INVALID_PURPOSE);

	/* It certifies the identity's own key. */
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), keys_pubkey_evp(pk)), 1);
	assert_int_equal(
	    EVP_PKEY_is_a(X509_get0_pubkey(x), suite == KEYS_SUITE_INTL ? "ED25519" : "SM2"), 1);
	assert_validity(x, KEYS_CERT_DAYS);

	/* A second certificate for the same key has another serial. */
	assert_int_equal(
	    keys_ca_issue_client(ca, pk, "acme-merchant", "merchant", &pem2, &len2), 0);
	x2 = parse_cert(pem2, len2);
	assert_int_not_equal(
	    ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(x2)), 0);
	/* Serials are positive. */
	assert_int_equal(ASN1_STRING_type(X509_get0_serialNumber(x)), V_ASN1_INTEGER);

	X509_free(x);
	X509_free(x2);
	X509_free(cax);
	free(pem1);
	free(pem2);
	keys_pubkey_free(pk);
	keys_identity_free(id);
}

static void
test_client_intl(void **state)
{
	check_client(*state, KEYS_SUITE_INTL);
}

static void
test_client_gm(void **state)
{
	check_client(*state, KEYS_SUITE_GM);
}

static void
test_client_other_ca(void **state)
{
	struct keys_ca *other = NULL;
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	char *pem = NULL;
	size_t len = 0;
	X509 *cax = ca_cert(*state), *x;

	assert_int_equal(keys_ca_generate(CA_CN, &other), 0);
	assert_int_equal(keys_identity_generate(KEYS_SUITE_INTL, &id), 0);
	assert_int_equal(keys_identity_pubkey(id, &pk), 0);
	assert_int_equal(keys_ca_issue_client(other, pk, "bob", "buyer", &pem, &len), 0);
	x = parse_cert(pem, len);
	assert_verify(
	    cax, x, X509_PURPOSE_SSL_CLIENT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	X509_free(x);
	X509_free(cax);
	free(pem);
	keys_pubkey_free(pk);
	keys_identity_free(id);
	keys_ca_free(other);
}

/* ---- server certificates ------------------------------------------------ */

static void
test_server(void **state)
{
	static const unsigned char v4[4] = {127, 0, 0, 1};
	static const unsigned char v6[16] = {[15] = 1};
	char *cpem = NULL, *kpem = NULL;
	size_t clen = 0, klen = 0;
	X509 *cax = ca_cert(*state), *x;
	GENERAL_NAMES *san;
	EVP_PKEY *key;
	BIO *bio;
	int i, dns = 0, ip4 = 0, ip6 = 0;

	assert_int_equal(keys_ca_issue_server(*state, "localhost", &cpem, &clen, &kpem, &klen), 0);
	assert_int_equal(strlen(cpem), clen);
	assert_int_equal(strlen(kpem), klen);
	x = parse_cert(cpem, clen);
	assert_verify(cax, x, X509_PURPOSE_SSL_SERVER, X509_V_OK);
	assert_string_equal(name_entry(X509_get_subject_name(x), NID_commonName), "localhost");

	/* subjectAltName is exactly DNS:localhost, IP:127.0.0.1, IP:::1. */
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 3);
	for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);
		const ASN1_STRING *s;

		if (gn->type == GEN_DNS) {
			s = gn->d.dNSName;
			assert_int_equal(ASN1_STRING_length(s), 9);
			assert_memory_equal(ASN1_STRING_get0_data(s), "localhost", 9);
			dns++;
		} else if (gn->type == GEN_IPADD && ASN1_STRING_length(gn->d.iPAddress) == 4) {
			assert_memory_equal(ASN1_STRING_get0_data(gn->d.iPAddress), v4, 4);
			ip4++;
		} else if (gn->type == GEN_IPADD && ASN1_STRING_length(gn->d.iPAddress) == 16) {
			assert_memory_equal(ASN1_STRING_get0_data(gn->d.iPAddress), v6, 16);
			ip6++;
		} else {
			fail_msg("unexpected subjectAltName entry of type %d", gn->type);
		}
	}
	assert_int_equal(dns, 1);
	assert_int_equal(ip4, 1);
	assert_int_equal(ip6, 1);
	GENERAL_NAMES_free(san);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
	assert_int_equal(X509_check_host(x, "example.com", 0, 0, NULL), 0);

	assert_basic_constraints(x, 0);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_validity(x, KEYS_CERT_DAYS);

	/* The key PEM is PKCS#8, P-256, and the certificate's. */
	assert_non_null(strstr(kpem, "-----BEGIN PRIVATE KEY-----"));
	bio = BIO_new_mem_buf(kpem, (int)klen);
	assert_non_null(bio);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(key);
	assert_p256(key);
	assert_p256(X509_get0_pubkey(x));
	assert_int_equal(X509_check_private_key(x, key), 1);
	/* Not the CA's key. */
	assert_int_equal(EVP_PKEY_eq(key, X509_get0_pubkey(cax)), 0);

	EVP_PKEY_free(key);
	X509_free(x);
	X509_free(cax);
	free(cpem);
	keys_pem_free(kpem, klen);
}

static void
test_server_host_too_long(void **state)
{
	char host[600];
	char *cpem = NULL, *kpem = NULL;
	size_t clen = 0, klen = 0;

	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(
	    keys_ca_issue_server(*state, host, &cpem, &clen, &kpem, &klen), SL_ERR_INVAL);
	assert_null(cpem);
	assert_null(kpem);
}

/* ---- loading ------------------------------------------------------------ */

static void
test_load_round_trip(void **state)
{
	struct keys_ca *loaded = NULL;
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	char *cpem = NULL, *kpem = NULL, *cpem2 = NULL, *pem = NULL;
	size_t clen = 0, klen = 0, clen2 = 0, len = 0;
	X509 *orig, *x;

	assert_int_equal(keys_ca_cert_pem(*state, &cpem, &clen), 0);
	assert_int_equal(keys_ca_key_pem(*state, &kpem, &klen), 0);
	assert_int_equal(strlen(kpem), klen);
	assert_non_null(strstr(kpem, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(keys_ca_load(cpem, clen, kpem, klen, &loaded), 0);
	assert_non_null(loaded);

	/* The loaded CA has the same certificate, byte for byte. */
	assert_int_equal(keys_ca_cert_pem(loaded, &cpem2, &clen2), 0);
	assert_int_equal(clen2, clen);
	assert_memory_equal(cpem2, cpem, clen);

	/* What it issues verifies against the original CA certificate. */
	assert_int_equal(keys_identity_generate(KEYS_SUITE_GM, &id), 0);
	assert_int_equal(keys_identity_pubkey(id, &pk), 0);
	assert_int_equal(keys_ca_issue_client(loaded, pk, "ops", "operator", &pem, &len), 0);
	orig = parse_cert(cpem, clen);
	x = parse_cert(pem, len);
	assert_verify(orig, x, X509_PURPOSE_SSL_CLIENT, X509_V_OK);

	X509_free(x);
	X509_free(orig);
	free(pem);
	free(cpem);
	free(cpem2);
	keys_pem_free(kpem, klen);
	keys_pubkey_free(pk);
	keys_identity_free(id);
	keys_ca_free(loaded);
}

static void
test_load_wrong_key(void **state)
{
	struct keys_ca *other = NULL, *loaded = NULL;
	char *cpem = NULL, *kpem = NULL;
	size_t clen = 0, klen = 0;

	assert_int_equal(keys_ca_generate(CA_CN, &other), 0);
	assert_int_equal(keys_ca_cert_pem(*state, &cpem, &clen), 0);
	assert_int_equal(keys_ca_key_pem(other, &kpem, &klen), 0);
	assert_int_equal(keys_ca_load(cpem, clen, kpem, klen, &loaded), SL_ERR_PARSE);
	assert_null(loaded);
	free(cpem);
	keys_pem_free(kpem, klen);
	keys_ca_free(other);
}

static void
test_load_garbage(void **state)
{
	static const char junk[] = "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
	                           "-----END CERTIFICATE-----\n";
	static const char text[] = "hello, world\n";
	struct keys_ca *loaded = NULL;
	char *cpem = NULL, *kpem = NULL;
	size_t clen = 0, klen = 0;

	assert_int_equal(keys_ca_cert_pem(*state, &cpem, &clen), 0);
	assert_int_equal(keys_ca_key_pem(*state, &kpem, &klen), 0);

	assert_int_equal(keys_ca_load(junk, strlen(junk), kpem, klen, &loaded), SL_ERR_PARSE);
	assert_null(loaded);
	assert_int_equal(keys_ca_load(text, strlen(text), kpem, klen, &loaded), SL_ERR_PARSE);
	assert_null(loaded);
	assert_int_equal(keys_ca_load(cpem, clen, text, strlen(text), &loaded), SL_ERR_PARSE);
	assert_null(loaded);
	assert_int_equal(keys_ca_load(cpem, clen, junk, strlen(junk), &loaded), SL_ERR_PARSE);
	assert_null(loaded);
	/* Key and certificate swapped. */
	assert_int_equal(keys_ca_load(kpem, klen, cpem, clen, &loaded), SL_ERR_PARSE);
	assert_null(loaded);
	/* A truncated certificate. */
	assert_int_equal(keys_ca_load(cpem, clen / 2, kpem, klen, &loaded), SL_ERR_PARSE);
	assert_null(loaded);
	assert_int_equal(keys_ca_load("", 0, "", 0, &loaded), SL_ERR_PARSE);
	assert_null(loaded);
	ERR_clear_error();
	free(cpem);
	keys_pem_free(kpem, klen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ca_generate, ca_setup, ca_teardown),
	    cmocka_unit_test_setup_teardown(test_ca_generate_distinct, ca_setup, ca_teardown),
	    cmocka_unit_test_setup_teardown(test_client_intl, ca_setup, ca_teardown),
	    cmocka_unit_test_setup_teardown(test_client_gm, ca_setup, ca_teardown),
	    cmocka_unit_test_setup_teardown(test_client_other_ca, ca_setup, ca_teardown),
	    cmocka_unit_test_setup_teardown(test_server, ca_setup, ca_teardown),
	    cmocka_unit_test_setup_teardown(test_server_host_too_long, ca_setup, ca_teardown),
	    cmocka_unit_test_setup_teardown(test_load_round_trip, ca_setup, ca_teardown),
	    cmocka_unit_test_setup_teardown(test_load_wrong_key, ca_setup, ca_teardown),
	    cmocka_unit_test_setup_teardown(test_load_garbage, ca_setup, ca_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
