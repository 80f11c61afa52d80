/*
 * tests/unit/store_records.h -- a version's records, opened, as text: what
 * tests compare when two writes of the same rows must hold the same
 * plaintext (the sealed bytes differ by their nonces).
 */
#ifndef SLUICE_TESTS_STORE_RECORDS_H
#define SLUICE_TESTS_STORE_RECORDS_H

#include <stdint.h>

#include "keys/keys.h"

/*
 * Every record of the one version in the store at dir (product, version,
 * suite, key; rows the version's row count), opened, one line each in key
 * order: "COLUMN CHUNK:HEX".  Fails the running test if one does not open.
 */
char *store_records_text(const char *dir, const char *product, uint32_t version,
    enum keys_suite suite, const uint8_t *key, uint64_t rows);

#endif
