/*
 * tests/unit/store_records.c -- see store_records.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <lmdb.h>

#include "sandbox/store.h"
#include "sandbox/store_internal.h"
#include "tests/unit/store_records.h"

char *
store_records_text(const char *dir, const char *product, uint32_t version,
    enum keys_suite suite, const uint8_t *key, uint64_t rows)
{
	struct store_ident id = {product, version, suite, key};
	uint32_t chunks = (uint32_t)((rows + STORE_CHUNK_ROWS - 1) / STORE_CHUNK_ROWS), col, chunk;
	uint8_t *aad = malloc(store_aad_bytes(product));
	struct bytes plain = {0};
	struct store *st = NULL;
	char *out = NULL;
	size_t len = 0, i;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, val;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(aad);
	assert_non_null(f);
	assert_int_equal(store_open(dir, 0, 0, &st), 0);
	assert_int_equal(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_cursor_open(txn, st->dbi, &cur), 0);
	while (mdb_cursor_get(cur, &k, &val, MDB_NEXT) == 0) {
		col = be32_get(k.mv_data);
		chunk = be32_get((const uint8_t *)k.mv_data + 4);
		assert_int_equal(store_record_open(&id, aad, col, chunk,
		                     store_record_rows(col, chunk, rows, chunks), &val, &plain),
		    0);
		fprintf(f, "%08x %u:", col, chunk);
		for (i = 0; i < plain.len; i++)
			fprintf(f, "%02x", plain.p[i]);
		fputc('\n', f);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	store_close(st);
	fclose(f);
	bytes_free(&plain);
	free(aad);
	return out;
}
