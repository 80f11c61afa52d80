/*
 * keys/x509.h -- the platform CA and the certificates it issues.
 *
 * The CA key is ECDSA P-256 in both suites, as is the TLS server key, so any
 * TLS client can talk to the daemon.  Client certificates certify a party's
 * identity key (Ed25519 or SM2) with subject O=Sluice, OU=<role>, CN=<name>.
 */
#ifndef SLUICE_KEYS_X509_H
#define SLUICE_KEYS_X509_H

#include <stddef.h>

struct keys_pubkey; /* keys/sign.h */
struct keys_ca;     /* opaque: CA certificate and private key */

#define KEYS_CA_DAYS 3650
#define KEYS_CERT_DAYS 825

/* A new self-signed CA with the given common name; free with keys_ca_free(). */
int keys_ca_generate(const char *cn, struct keys_ca **out) __attribute__((warn_unused_result));

/*
 * Load a CA from its certificate PEM and PKCS#8 key PEM.  SL_ERR_PARSE if
 * either is malformed or the key does not match the certificate.
 */
int keys_ca_load(const char *cert_pem, size_t certlen, const char *key_pem, size_t keylen,
    struct keys_ca **out) __attribute__((warn_unused_result));

/* Certificate PEM (public); caller frees with free(). */
int keys_ca_cert_pem(const struct keys_ca *ca, char **pem, size_t *len)
    __attribute__((warn_unused_result));

/* Private key PEM (secret); caller frees with keys_pem_free(). */
int keys_ca_key_pem(const struct keys_ca *ca, char **pem, size_t *len)
    __attribute__((warn_unused_result));

/*
 * Issue a TLS client certificate for a party's identity key.  name and role
 * are printable ASCII, checked by the caller.  Caller frees *pem with free().
 */
int keys_ca_issue_client(const struct keys_ca *ca, const struct keys_pubkey *pk, const char *name,
    const char *role, char **pem, size_t *len) __attribute__((warn_unused_result));

/*
 * Generate a P-256 server key and a certificate for host (plus 127.0.0.1 and
 * ::1).  *cert_pem is freed with free(), *key_pem with keys_pem_free().
 */
int keys_ca_issue_server(const struct keys_ca *ca, const char *host, char **cert_pem,
    size_t *certlen, char **key_pem, size_t *keylen) __attribute__((warn_unused_result));

void keys_ca_free(struct keys_ca *ca);

#endif
