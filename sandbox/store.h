/*
 * sandbox/store.h -- the encrypted columnar store (docs/store-format.md,
 * docs/store-format.md).
 *
 * One LMDB environment per version of a product (DIR/stores/<product>/<version>/),
 * written once by ingest in a staging directory and read-only once published,
 * with a data key of its own.  A record's key is big-endian (column, chunk);
 * its value is the sealed form of keys/aead.h (alg || nonce || ciphertext ||
 * tag) with
 *     AAD = "sluice.store.v1" 0 product 0 version column chunk rows   (u32 BE each)
 * so a record moved, swapped or replayed from another version fails to open.
 * The digest of the sealed manifest record pins a published version: the
 * catalog records it, and a reader given it refuses any other manifest.
 * A record that fails to open is an integrity error (SL_ERR_AUTH): callers
 * fail the job; they never use a partial answer.
 *
 * Only sluice-worker links this: it is where plaintext rows exist.
 */
#ifndef SLUICE_SANDBOX_STORE_H
#define SLUICE_SANDBOX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "keys/suite.h"
#include "sandbox/job.h"

#define STORE_CHUNK_ROWS JOB_CHUNK_ROWS
/* Column numbers with this bit set hold a text column's dictionary parts. */
#define STORE_DICT_BIT 0x80000000u
/* The manifest of a version lives at (STORE_MANIFEST, 0). */
#define STORE_MANIFEST 0xffffffffu
#define STORE_DICT_PART_BYTES (4u << 20)
#define STORE_KEY_BYTES JOB_KEY_BYTES /* the data key the job header carries */
#define STORE_DIGEST_BYTES 32         /* KEYS_HASH_BYTES: the suite's hash of the sealed manifest */

struct schema;
struct store;
struct store_writer;
struct store_reader;

/* Which data a writer writes or a reader reads; all borrowed. */
struct store_ident {
	const char *product;
	uint32_t version;
	enum keys_suite suite;
	const uint8_t *key; /* STORE_KEY_BYTES: this version's own data key */
	/* Readers: STORE_DIGEST_BYTES the manifest must hash to, or NULL for no check. */
	const uint8_t *manifest_digest;
};

/*
 * Open the environment of one version in directory dir (created by the
 * broker), without a lock file (MDB_NOLOCK): a writable store is a job's
 * private staging directory and maps up to map_bytes; a read-only one is a
 * published version, which nothing writes again.  Caller frees with
 * store_close().
 */
int store_open(const char *dir, int writable, uint64_t map_bytes, struct store **out)
    __attribute__((warn_unused_result));
void store_close(struct store *st);

/*
 * Begin writing version id->version of a product with schema s, in one LMDB
 * write transaction: nothing is visible to readers until store_writer_commit()
 * and nothing remains after store_writer_abort().  Whatever the environment
 * held before is removed: it holds this version alone.  s is borrowed until
 * the writer ends (store_put_domain() reads its domains).
 */
int store_writer_begin(struct store *st, const struct store_ident *id, const struct schema *s,
    struct store_writer **out) __attribute__((warn_unused_result));

/*
 * Before the first row: each full chunk is then resolved, encoded and sealed
 * on a thread of the writer's own while the caller fills the next, and put
 * (in order, by the caller's thread, which holds the write transaction) at
 * the next chunk's end or at the commit.  The records are those a writer
 * without it makes.  A column with a domain then takes store_put_domain()
 * only.  Without a thread to be had, the writer goes on without one.
 */
int store_writer_pipeline(struct store_writer *w, const struct schema *s)
    __attribute__((warn_unused_result));

/* Values of the current row, column by column (any order, each exactly once). */
int store_put_int(struct store_writer *w, size_t col, int64_t v)
    __attribute__((warn_unused_result));
int store_put_real(struct store_writer *w, size_t col, double v)
    __attribute__((warn_unused_result));
int store_put_text(struct store_writer *w, size_t col, const char *s, size_t len)
    __attribute__((warn_unused_result));
/*
 * A TEXT value given as its index in the column's domain (the schema's
 * domain_text[index]): the same as store_put_text() of that string, without
 * hashing it again.
 */
int store_put_domain(struct store_writer *w, size_t col, uint32_t index)
    __attribute__((warn_unused_result));
int store_put_null(struct store_writer *w, size_t col) __attribute__((warn_unused_result));
/* Close the row; full chunks are encoded, sealed and written. */
int store_row_end(struct store_writer *w) __attribute__((warn_unused_result));

/*
 * Whole rows at once, for a caller that holds many (a parsed block of an
 * upload): the same as putting each value and ending each row, in a loop per
 * column rather than a call per value.  nrows rows of the writer's ncols
 * columns; column k's cells are cells[k * stride + i] for row i, their kinds
 * kinds[k * stride + i].  A VALUE is i (or r for a REAL column); a DOMAIN its
 * domain index, as store_put_domain() takes; a text's len bytes are at
 * text[0] + off (TEXT0) or text[1] + off (TEXT1).  Not within a row.  After a
 * failure the writer can only be aborted.
 */
union store_cell {
	int64_t i;
	double r;
	uint32_t domain;
	struct {
		uint32_t off, len;
	} t;
};
enum store_cell_kind {
	STORE_CELL_VALUE,
	STORE_CELL_NULL,
	STORE_CELL_DOMAIN,
	STORE_CELL_TEXT0,
	STORE_CELL_TEXT1
};
int store_put_rows(struct store_writer *w, const union store_cell *cells, const uint8_t *kinds,
    size_t stride, size_t nrows, const char *const text[2]) __attribute__((warn_unused_result));

struct store_stats {
	uint64_t rows;
	uint64_t chunks;                             /* data chunks (all columns) */
	uint64_t bytes;                              /* sealed bytes written */
	uint8_t manifest_digest[STORE_DIGEST_BYTES]; /* hash of the sealed manifest record */
};

/* The RESULT frame of a job that wrote a version (sandbox/job.h). */
void store_stats_result(const struct store_stats *st, uint8_t out[JOB_WRITTEN_BYTES]);
struct json_t *store_stats_json(const struct store_stats *st);

/* Flush, write dictionaries and the manifest, commit.  w is freed either way. */
int store_writer_commit(struct store_writer *w, struct store_stats *stats)
    __attribute__((warn_unused_result));
void store_writer_abort(struct store_writer *w);

/*
 * Re-encrypt version from->version of src (read-only) under from->key into
 * version to->version of dst (writable, emptied first) under to->key, same
 * product and suite, in one write transaction: every record is opened and
 * sealed again with its new AAD; nothing is decoded.  Records are opened and
 * sealed on nthreads threads (1 to JOB_THREADS_MAX) in batches, and put in
 * key order by the calling thread, so the new version's records and the
 * error reported (the first in key order) do not depend on nthreads.  The source must
 * authenticate completely (SL_ERR_AUTH otherwise, and nothing is written).
 * stats gets the new version's counts and manifest digest.  progress, when
 * not NULL, is called with arg and the sealed bytes written so far after
 * each store_rekey_progress_bytes (STORE_REKEY_PROGRESS_BYTES) of them; its failure ends the rotation.
 */
#define STORE_REKEY_PROGRESS_BYTES (4u << 20)
extern uint64_t store_rekey_progress_bytes; /* the step; tests lower it */
typedef int (*store_progress_fn)(void *arg, uint64_t bytes);
int store_rekey(struct store *src, struct store *dst, const struct store_ident *from,
    const struct store_ident *to, unsigned nthreads, store_progress_fn progress, void *arg,
    struct store_stats *stats) __attribute__((warn_unused_result));

/* A decoded chunk of one column; arrays borrowed until the next read or close. */
struct store_vec {
	uint32_t rows;
	const uint8_t *nulls;  /* bit i set: row i is NULL; NULL when there are none */
	const int64_t *ints;   /* INT, DECIMAL (scaled), DATE (days), BOOL (0/1) */
	const double *reals;   /* REAL */
	const uint32_t *codes; /* TEXT: indexes into the column's dictionary */
};

/*
 * Open version id->version for reading (a read transaction) and decrypt its
 * manifest, after checking its digest against id->manifest_digest when that
 * is given.  SL_ERR_NOTFOUND if the version has no manifest, SL_ERR_AUTH if it
 * fails authentication or differs from the published one.
 */
int store_reader_open(struct store *st, const struct store_ident *id, const struct schema *s,
    struct store_reader **out) __attribute__((warn_unused_result));
uint64_t store_reader_rows(const struct store_reader *r);
uint32_t store_reader_chunks(const struct store_reader *r);
int store_read_chunk(struct store_reader *r, size_t col, uint32_t chunk, struct store_vec *out)
    __attribute__((warn_unused_result));
/* A chunk of one column, opened, and room for its values decoded. */
struct store_buf; /* STORE_CHUNK_ROWS values of every kind; about 1.3 MiB */
struct store_buf *store_buf_new(void);
void store_buf_free(struct store_buf *b);
/*
 * The scan's way: open a chunk into buf once (decrypted and authenticated as
 * a whole, its layout checked; *rows its row count), then decode it in
 * ranges small enough to stay in cache.  from is a multiple of 8; out's
 * arrays hold rows [from, from + n) from index 0, until buf's next use.
 */
int store_buf_open(struct store_reader *r, size_t col, uint32_t chunk, struct store_buf *buf,
    uint32_t *rows) __attribute__((warn_unused_result));
int store_buf_unpack(const struct store_reader *r, struct store_buf *buf, uint32_t from, uint32_t n,
    struct store_vec *out) __attribute__((warn_unused_result));
/* A text column's dictionary: n strings (borrowed until close), not NUL-terminated. */
int store_read_dict(struct store_reader *r, size_t col, const char *const **strs,
    const uint32_t **lens, uint32_t *n) __attribute__((warn_unused_result));
void store_reader_close(struct store_reader *r);

#endif
