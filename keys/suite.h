/*
 * keys/suite.h -- the two crypto suites.
 *
 * A data directory picks one suite at init and keeps it.  The numeric values
 * are written to disk (catalog, store chunks, exports) and never change.
 */
#ifndef SLUICE_KEYS_SUITE_H
#define SLUICE_KEYS_SUITE_H

enum keys_suite {
	KEYS_SUITE_INTL = 1, /* AES-256-GCM / XChaCha20-Poly1305, Ed25519, SHA-256 */
	KEYS_SUITE_GM = 2,   /* SM4-CTR + HMAC-SM3, SM2 with SM3, SM3 */
};

/* "intl" or "gm"; NULL for an unknown value. */
const char *keys_suite_name(enum keys_suite suite);

/* Parse "intl" or "gm".  Returns 0, or SL_ERR_INVAL for any other text. */
int keys_suite_parse(const char *name, enum keys_suite *out) __attribute__((warn_unused_result));

#endif
