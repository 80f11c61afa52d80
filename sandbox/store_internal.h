/*
 * sandbox/store_internal.h -- what the store's files share (sandbox/store.h
 * is the interface; docs/store-format.md the format).
 *
 * sandbox/store_format.c holds the format itself: the record key and AAD,
 * sealing records into a write transaction (a struct store_sink) and opening
 * them again, and the manifest's encoding.  The ingest writer and key
 * rotation (store_write.c) write through a sink; the reader (store_read.c)
 * and key rotation open records with store_record_open().  Nothing outside
 * sandbox/store_*.c includes this.
 *
 * Plaintext chunk layout (little-endian), before sealing:
 *   u8 encoding      STORE_ENC_FOR, STORE_ENC_F64 or STORE_ENC_CODES
 *   u32 rows
 *   u8 has_nulls     then ceil(rows / 8) bytes of null bitmap when 1
 *   FOR:   i64 base, u8 width (0..64), ceil(rows * width / 64) u64 words
 *   float: rows f64
 * A dictionary part: u32 count, then (u32 length, bytes) per entry.
 */
#ifndef SLUICE_SANDBOX_STORE_INTERNAL_H
#define SLUICE_SANDBOX_STORE_INTERNAL_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/byteorder.h"
#include "sandbox/store.h"

#define STORE_ENC_FOR 1   /* frame-of-reference int64 */
#define STORE_ENC_F64 2   /* float64 */
#define STORE_ENC_CODES 3 /* dictionary codes, frame of reference */
#define STORE_FORMAT 1    /* the manifest's "format" */

struct store {
	MDB_env *env;
	MDB_dbi dbi;
	int writable;
};

/* SL_ERR_LIMIT for a full map, else SL_ERR_IO, with "store: what: LMDB's reason". */
int store_lmdb_err(int rc, const char *what);

/* ---- byte buffers ----------------------------------------------------------- */

/* A growable byte buffer for plaintext and sealed records; {0} is empty. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

/* Room for n bytes in all; what the buffer held is kept, and the old copy wiped. */
int bytes_reserve(struct bytes *b, size_t n) __attribute__((warn_unused_result));
int bytes_put(struct bytes *b, const void *d, size_t n) __attribute__((warn_unused_result));
/* Wipe and free; b is empty again. */
void bytes_free(struct bytes *b);

/* ---- records ---------------------------------------------------------------- */

/* A record's key within its version's environment: (column, chunk), big-endian. */
#define STORE_REC_KEY_BYTES 8

/* Bytes of the AAD of a record of product. */
size_t store_aad_bytes(const char *product);

/*
 * The row count record (col, chunk) binds in its AAD, for a version of rows
 * rows in chunks chunks: 0 for the manifest and dictionary parts.
 */
uint32_t store_record_rows(uint32_t col, uint32_t chunk, uint64_t rows, uint32_t chunks);

/*
 * The sealed bytes of record (col, chunk) of st, borrowed until txn ends.
 * SL_ERR_NOTFOUND (with no message) if there is none.
 */
int store_record_get(const struct store *st, MDB_txn *txn, uint32_t col, uint32_t chunk,
    MDB_val *val) __attribute__((warn_unused_result));

/*
 * Open sealed record val as record (col, chunk) of version id->version, with
 * rows in its AAD, into plain (emptied first); aad holds
 * store_aad_bytes(id->product) bytes of scratch.  SL_ERR_AUTH, with no
 * message, if it fails authentication: the caller says which record.
 */
int store_record_open(const struct store_ident *id, uint8_t *aad, uint32_t col, uint32_t chunk,
    uint32_t rows, const MDB_val *val, struct bytes *plain) __attribute__((warn_unused_result));

/*
 * Where a version is written: one write transaction of a writable store,
 * which starts empty.  Every record is sealed under the sink's ident and
 * counted in stats (bytes; the manifest's digest).
 */
struct store_sink {
	struct store *st;
	MDB_txn *txn;
	struct store_ident id; /* borrowed */
	uint8_t *aad;
	struct bytes sealed;
	struct store_stats stats;
};

/*
 * Begin a write transaction on st for version id->version, after removing
 * whatever the environment held.  On failure the sink is released.
 */
int store_sink_begin(struct store_sink *s, struct store *st, const struct store_ident *id)
    __attribute__((warn_unused_result));
/* Seal len bytes of plain as record (col, chunk) with rows in its AAD, and put it. */
int store_sink_put(struct store_sink *s, uint32_t col, uint32_t chunk, uint32_t rows,
    const uint8_t *plain, size_t len) __attribute__((warn_unused_result));
/*
 * The two halves of store_sink_put(): sealing, which needs no transaction
 * (so key rotation's threads do it), into *sealed with aad as scratch
 * (store_aad_bytes()); and putting what was sealed.
 */
int store_record_seal(const struct store_ident *id, uint8_t *aad, uint32_t col, uint32_t chunk,
    uint32_t rows, const uint8_t *plain, size_t len, struct bytes *sealed)
    __attribute__((warn_unused_result));
int store_sink_put_sealed(struct store_sink *s, uint32_t col, uint32_t chunk, const uint8_t *sealed,
    size_t len) __attribute__((warn_unused_result));
/* Commit; the sink is released either way (its stats stay). */
int store_sink_commit(struct store_sink *s) __attribute__((warn_unused_result));
/* Abort what was not committed and free; a zeroed sink is fine. */
void store_sink_release(struct store_sink *s);

/* ---- the manifest ------------------------------------------------------------ */

/* A column as the manifest records it; dict and dict_parts only for TEXT. */
struct store_manifest_col {
	int type; /* enum schema_type */
	uint32_t dict, dict_parts;
};

struct store_manifest {
	int64_t format, chunk_rows;
	uint64_t rows;
	uint32_t chunks;
	size_t ncols;
	struct store_manifest_col *cols; /* freed by store_manifest_free() */
};

/*
 * The manifest's plaintext, compact JSON: {"format", "rows", "chunk_rows",
 * "chunks", "columns": [{"type"[, "dict", "dict_parts"]}, ...]}.  Caller
 * frees with free(); NULL without memory.
 */
char *store_manifest_encode(const struct store_manifest *m);

/*
 * Decode a manifest's plaintext into m (store_manifest_free() it either way).
 * SL_ERR_PARSE, with no message, unless it is JSON with an array of columns;
 * the caller checks the values against what it expects.
 */
int store_manifest_decode(const uint8_t *p, size_t len, struct store_manifest *m)
    __attribute__((warn_unused_result));
void store_manifest_free(struct store_manifest *m);

#endif
