/*
 * tests/unit/vectors.h -- data-driven test vectors for the unit tests.
 *
 * A vector file is text: '#' starts a comment line, records are blocks of
 * "Field = value" lines separated by blank lines.  Files live under
 * tests/unit/<module>/vectors/ in the source tree.
 */
#ifndef SLUICE_TESTS_VECTORS_H
#define SLUICE_TESTS_VECTORS_H

#include <stddef.h>
#include <stdint.h>

struct vec_field {
	char *key;
	char *value;
};

struct vec_record {
	struct vec_field *fields;
	size_t nfields;
	size_t line; /* first line of the record, for failure messages */
};

struct vec_file {
	char *path;
	struct vec_record *recs;
	size_t nrecs;
};

/*
 * Load tests/<relpath> from the source tree (SL_TEST_DATADIR, or $top_srcdir/tests
 * when set).  Fails the running test on any error or an empty file.
 */
void vec_load(const char *relpath, struct vec_file *out);
void vec_free(struct vec_file *f);

/* The value of key, or NULL when the record has no such field. */
const char *vec_get(const struct vec_record *r, const char *key);

/* Hex field decoded into a new buffer (free()); fails the test if absent or malformed. */
uint8_t *vec_hex(
    const struct vec_file *f, const struct vec_record *r, const char *key, size_t *len);

/* Decimal field, or dflt when absent; fails the test if malformed. */
long long vec_int(
    const struct vec_file *f, const struct vec_record *r, const char *key, long long dflt);

/* A fresh temporary directory (mkdtemp); the caller removes it with vec_rmtree(). */
char *vec_tmpdir(void);
void vec_rmtree(char *dir);

#endif
