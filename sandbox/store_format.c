/*
 * sandbox/store_format.c -- the store's format: opening an environment,
 * record keys and AAD, sealing records into a version and opening them, and
 * the manifest (sandbox/store_internal.h, docs/store-format.md).
 *
 * Trusts: the ident it is given (the job header).  Holds: a record's
 * plaintext while it is sealed or opened, in buffers that are wiped.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/schema.h"
#include "common/text.h"
#include "keys/aead.h"
#include "keys/hash.h"
#include "keys/keys.h"
#include "sandbox/fault.h"
#include "sandbox/store_internal.h"

#define AAD_LABEL "sluice.store.v1"

int
store_lmdb_err(int rc, const char *what)
{
	int r = sl_errf(
	    rc == MDB_MAP_FULL ? SL_ERR_LIMIT : SL_ERR_IO, "store: %s: %s", what, mdb_strerror(rc));

	if (rc == MDB_MAP_FULL)
		return fault_code(r, JOB_ERR_FULL);
	return rc == ENOSPC || rc == EDQUOT ? fault_code(r, JOB_ERR_DISK_FULL) : r;
}

/*
 * A published file must hold every page its meta page counts: LMDB maps the
 * file and would read past a cut-off end, and the worker die of SIGBUS,
 * instead of the store failing its integrity check.
 */
static int
whole_file(struct store *st, const char *dir)
{
	MDB_envinfo info;
	MDB_stat ms;
	mdb_filehandle_t fd;
	struct stat sb;
	int rc;

	if ((rc = mdb_env_info(st->env, &info)) != 0 || (rc = mdb_env_stat(st->env, &ms)) != 0 ||
	    (rc = mdb_env_get_fd(st->env, &fd)) != 0)
		return store_lmdb_err(rc, dir);
	if (fstat(fd, &sb) != 0)
		return sl_errf(SL_ERR_IO, "store: %s: %s", dir, strerror(errno));
	if ((uint64_t)sb.st_size / ms.ms_psize < (uint64_t)info.me_last_pgno + 1)
		return fault_code(sl_errf(SL_ERR_AUTH,
		                      "store: %s holds %lld bytes, fewer than its %llu pages: integrity "
		                      "error",
		                      dir, (long long)sb.st_size,
		                      (unsigned long long)info.me_last_pgno + 1),
		    JOB_ERR_INTEGRITY);
	return 0;
}

int
store_open(const char *dir, int writable, uint64_t map_bytes, struct store **out)
{
	struct store *st;
	MDB_txn *txn = NULL;
	int rc, r;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return SL_ERR_NOMEM;
	st->writable = writable;
	if ((rc = mdb_env_create(&st->env)) != 0)
		goto fail;
	if (writable && map_bytes > 0 &&
	    (rc = mdb_env_set_mapsize(st->env, (size_t)map_bytes)) != 0)
		goto fail;
	/*
	 * MDB_NOLOCK: a version's environment has exactly one user at a time that
	 * writes (the ingest job, in its private staging directory) and, once
	 * published, is never written again; readers of a published version need
	 * no lock file, and so share none with anyone.
	 */
	if ((rc = mdb_env_open(st->env, dir, MDB_NOLOCK | (writable ? 0 : MDB_RDONLY), 0600)) != 0)
		goto fail;
	if (!writable && (r = whole_file(st, dir)) != 0) {
		mdb_env_close(st->env);
		free(st);
		return r;
	}
	if ((rc = mdb_txn_begin(st->env, NULL, writable ? 0 : MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &st->dbi)) != 0 || (rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail;
	}
	*out = st;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(st->env);
	free(st);
	return store_lmdb_err(rc, dir);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	mdb_env_close(st->env);
	free(st);
}

_Static_assert(STORE_DIGEST_BYTES == JOB_DIGEST_BYTES, "a manifest digest has one size");

void
store_stats_result(const struct store_stats *st, uint8_t out[JOB_WRITTEN_BYTES])
{
	struct job_written w = {st->rows, st->chunks, st->bytes, {0}};

	memcpy(w.manifest, st->manifest_digest, JOB_DIGEST_BYTES);
	job_written_encode(&w, out);
}

/* ---- byte buffers ----------------------------------------------------------- */

int
bytes_reserve(struct bytes *b, size_t n)
{
	uint8_t *np;
	size_t cap;

	/* Allocated on first use even for 0 bytes: b->p + b->len is then always defined. */
	if (n <= b->cap && b->p != NULL)
		return 0;
	for (cap = b->cap ? b->cap : 4096; cap < n; cap *= 2)
		;
	/* Plaintext passes through here: wipe what is left behind. */
	if ((np = malloc(cap)) == NULL)
		return SL_ERR_NOMEM;
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		keys_wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

int
bytes_put(struct bytes *b, const void *d, size_t n)
{
	int r;

	if ((r = bytes_reserve(b, b->len + n)) != 0)
		return r;
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

void
bytes_free(struct bytes *b)
{
	if (b->p != NULL) {
		keys_wipe(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/* ---- record keys and AAD ---------------------------------------------------- */

static void
rec_key(uint8_t k[STORE_REC_KEY_BYTES], uint32_t col, uint32_t chunk)
{
	be32_put(k, col);
	be32_put(k + 4, chunk);
}

size_t
store_aad_bytes(const char *product)
{
	return sizeof(AAD_LABEL) + strlen(product) + 1 + 16;
}

/* "sluice.store.v1" 0 product 0 version column chunk rows (u32 BE each); returns its length. */
static size_t
rec_aad(uint8_t *aad, const char *product, uint32_t version, uint32_t col, uint32_t chunk,
    uint32_t rows)
{
	size_t pl = strlen(product), off = sizeof(AAD_LABEL);

	memcpy(aad, AAD_LABEL, sizeof(AAD_LABEL)); /* with its NUL */
	memcpy(aad + off, product, pl);
	off += pl;
	aad[off++] = 0;
	be32_put(aad + off, version);
	be32_put(aad + off + 4, col);
	be32_put(aad + off + 8, chunk);
	be32_put(aad + off + 12, rows);
	return off + 16;
}

uint32_t
store_record_rows(uint32_t col, uint32_t chunk, uint64_t rows, uint32_t chunks)
{
	if (col == STORE_MANIFEST || (col & STORE_DICT_BIT) != 0)
		return 0;
	return chunk + 1 < chunks ? STORE_CHUNK_ROWS
	                          : (uint32_t)(rows - (uint64_t)chunk * STORE_CHUNK_ROWS);
}

/* ---- opening records -------------------------------------------------------- */

int
store_record_get(const struct store *st, MDB_txn *txn, uint32_t col, uint32_t chunk, MDB_val *val)
{
	uint8_t k[STORE_REC_KEY_BYTES];
	MDB_val key;
	int rc;

	rec_key(k, col, chunk);
	key.mv_size = sizeof(k);
	key.mv_data = k;
	if ((rc = mdb_get(txn, st->dbi, &key, val)) != 0)
		return rc == MDB_NOTFOUND ? SL_ERR_NOTFOUND : store_lmdb_err(rc, "read");
	return 0;
}

int
store_record_open(const struct store_ident *id, uint8_t *aad, uint32_t col, uint32_t chunk,
    uint32_t rows, const MDB_val *val, struct bytes *plain)
{
	size_t aadlen, len = 0;
	int r;

	plain->len = 0;
	if ((r = bytes_reserve(plain, val->mv_size + 1)) != 0)
		return r;
	aadlen = rec_aad(aad, id->product, id->version, col, chunk, rows);
	if (keys_aead_open(
	        id->suite, id->key, aad, aadlen, val->mv_data, val->mv_size, plain->p, &len) != 0)
		return SL_ERR_AUTH;
	plain->len = len;
	return 0;
}

/* ---- writing records -------------------------------------------------------- */

void
store_sink_release(struct store_sink *s)
{
	if (s->txn != NULL)
		mdb_txn_abort(s->txn);
	s->txn = NULL;
	bytes_free(&s->sealed);
	free(s->aad);
	s->aad = NULL;
}

/*
 * A version's environment holds that version alone: whatever an earlier,
 * unpublished attempt left in it goes.
 */
int
store_sink_begin(struct store_sink *s, struct store *st, const struct store_ident *id)
{
	int r = 0, rc;

	memset(s, 0, sizeof(*s));
	s->st = st;
	s->id = *id;
	if ((s->aad = malloc(store_aad_bytes(id->product))) == NULL)
		r = SL_ERR_NOMEM;
	else if ((rc = mdb_txn_begin(st->env, NULL, 0, &s->txn)) != 0)
		r = store_lmdb_err(rc, "begin");
	else if ((rc = mdb_drop(s->txn, st->dbi, 0)) != 0)
		r = store_lmdb_err(rc, "clear");
	if (r != 0)
		store_sink_release(s);
	return r;
}

int
store_record_seal(const struct store_ident *id, uint8_t *aad, uint32_t col, uint32_t chunk,
    uint32_t rows, const uint8_t *plain, size_t len, struct bytes *sealed)
{
	enum keys_aead alg = keys_aead_for_store(id->suite);
	size_t aadlen, slen = keys_aead_sealed_len(alg, len);
	int r;

	if (slen == 0)
		return SL_ERR_LIMIT;
	aadlen = rec_aad(aad, id->product, id->version, col, chunk, rows);
	sealed->len = 0;
	if ((r = bytes_reserve(sealed, slen)) != 0 ||
	    (r = keys_aead_seal(alg, id->key, aad, aadlen, plain, len, sealed->p)) != 0)
		return r;
	sealed->len = slen;
	return 0;
}

int
store_sink_put_sealed(
    struct store_sink *s, uint32_t col, uint32_t chunk, const uint8_t *sealed, size_t len)
{
	uint8_t k[STORE_REC_KEY_BYTES];
	MDB_val key, val;
	int r, rc;

	rec_key(k, col, chunk);
	key.mv_size = sizeof(k);
	key.mv_data = k;
	val.mv_size = len;
	val.mv_data = (void *)sealed;
	if ((rc = mdb_put(s->txn, s->st->dbi, &key, &val, 0)) != 0)
		return store_lmdb_err(rc, "write chunk");
	/* The catalog pins a published version by the digest of its sealed manifest. */
	if (col == STORE_MANIFEST &&
	    (r = keys_hash(s->id.suite, sealed, len, s->stats.manifest_digest)) != 0)
		return r;
	s->stats.bytes += len;
	return 0;
}

int
store_sink_put(struct store_sink *s, uint32_t col, uint32_t chunk, uint32_t rows,
    const uint8_t *plain, size_t len)
{
	int r;

	if ((r = store_record_seal(&s->id, s->aad, col, chunk, rows, plain, len, &s->sealed)) != 0)
		return r;
	return store_sink_put_sealed(s, col, chunk, s->sealed.p, s->sealed.len);
}

int
store_sink_commit(struct store_sink *s)
{
	int rc = mdb_txn_commit(s->txn);

	s->txn = NULL;
	store_sink_release(s);
	return rc == 0 ? 0 : store_lmdb_err(rc, "commit");
}

/* ---- the manifest ------------------------------------------------------------ */

char *
store_manifest_encode(const struct store_manifest *m)
{
	json_t *man, *cols, *c;
	char *text = NULL;
	size_t i;

	if ((cols = json_array()) == NULL)
		return NULL;
	for (i = 0; i < m->ncols; i++) {
		c = json_pack("{s:i}", "type", m->cols[i].type);
		if (c != NULL && m->cols[i].type == SCHEMA_TEXT) {
			json_object_set_new(c, "dict", json_integer(m->cols[i].dict));
			json_object_set_new(c, "dict_parts", json_integer(m->cols[i].dict_parts));
		}
		json_array_append_new(cols, c);
	}
	man = json_pack("{s:I, s:I, s:I, s:i, s:o}", "format", (json_int_t)m->format, "rows",
	    (json_int_t)m->rows, "chunk_rows", (json_int_t)m->chunk_rows, "chunks", (int)m->chunks,
	    "columns", cols);
	if (man != NULL)
		text = json_dumps(man, JSON_COMPACT);
	json_decref(man);
	return text;
}

int
store_manifest_decode(const uint8_t *p, size_t len, struct store_manifest *m)
{
	json_t *man, *cols, *c;
	size_t i;
	int r = 0;

	memset(m, 0, sizeof(*m));
	if ((man = json_loadb((const char *)p, len, 0, NULL)) == NULL)
		return SL_ERR_PARSE;
	m->format = json_integer_value(json_object_get(man, "format"));
	m->chunk_rows = json_integer_value(json_object_get(man, "chunk_rows"));
	m->rows = (uint64_t)json_integer_value(json_object_get(man, "rows"));
	m->chunks = (uint32_t)json_integer_value(json_object_get(man, "chunks"));
	if (!json_is_array(cols = json_object_get(man, "columns"))) {
		r = SL_ERR_PARSE;
		goto out;
	}
	m->ncols = json_array_size(cols);
	if ((m->cols = calloc(m->ncols + 1, sizeof(*m->cols))) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(cols, i, c) {
		m->cols[i].type = (int)json_integer_value(json_object_get(c, "type"));
		m->cols[i].dict = (uint32_t)json_integer_value(json_object_get(c, "dict"));
		m->cols[i].dict_parts =
		    (uint32_t)json_integer_value(json_object_get(c, "dict_parts"));
	}
out:
	json_decref(man);
	return r;
}

void
store_manifest_free(struct store_manifest *m)
{
	free(m->cols);
	m->cols = NULL;
	m->ncols = 0;
}
