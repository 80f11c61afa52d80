/*
 * tests/unit/sandbox/store_test.c -- the encrypted columnar store: values
 * round-trip for every type (NULLs, empty and Unicode strings, INT64
 * extremes, dates before 1970), both suites; tampering with the file,
 * swapping chunks or replaying a chunk from another version is an integrity
 * error; an aborted load leaves nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <math.h>

#include "common/err.h"
#include "common/file.h"
#include "common/schema.h"
#include "keys/keys.h"
#include "sandbox/simd.h"
#include "sandbox/store.h"
#include "tests/unit/store_records.h"
#include "tests/unit/vectors.h"

#define ROWS (2 * STORE_CHUNK_ROWS + 1234) /* three chunks, the last partial */

static const char schema_json[] =
    "{\"name\":\"t\",\"columns\":["
    "{\"name\":\"id\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"big\",\"type\":\"INT\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"amt\",\"type\":\"DECIMAL(12,2)\",\"class\":\"measure\",\"bounds\":[0,1]},"
    "{\"name\":\"x\",\"type\":\"REAL\",\"class\":\"measure\",\"bounds\":[0,1],"
    "\"nullable\":true},"
    "{\"name\":\"s\",\"type\":\"TEXT\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"d\",\"type\":\"DATE\",\"class\":\"dimension\"},"
    "{\"name\":\"b\",\"type\":\"BOOL\",\"class\":\"dimension\"}]}";

static const char *const texts[] = {
    "", "beilun", "\xe5\xae\x81\xe6\xb3\xa2", "a,b\"c\n", "\xf0\x9f\x98\x80 emoji"};

struct fx {
	char *tmp, *dir;
	struct schema *s;
	uint8_t key[STORE_KEY_BYTES];
	enum keys_suite suite;
};

/* The environment of one version, DIR/<version>, made on first use; caller frees. */
static char *
vdir(const struct fx *fx, uint32_t version)
{
	char name[16], *d;

	snprintf(name, sizeof(name), "%u", version);
	assert_non_null(d = sl_path_join(fx->dir, name));
	if (mkdir(d, 0700) == -1)
		assert_int_equal(errno, EEXIST);
	return d;
}

/* The value of row i, column c (deterministic). */
static int64_t
val_int(uint64_t i, int c)
{
	switch (c) {
	case 0:
		return (int64_t)(i / 3);
	case 1:
		return i % 5 == 0   ? INT64_MIN
		       : i % 5 == 1 ? INT64_MAX
		                    : (int64_t)(i * 2654435761u) - 7;
	case 2:
		return (int64_t)(i % 100000);
	case 5:
		return (int64_t)(i % 40000) - 20000; /* days: from 1915 to 2024 */
	case 6:
		return (int64_t)(i % 2);
	}
	return 0;
}

static int
is_null(uint64_t i, int c)
{
	return (c == 1 && i % 7 == 3) || (c == 3 && i % 11 == 0) || (c == 4 && i % 13 == 0);
}

static double
val_real(uint64_t i)
{
	return i % 3 == 0 ? -0.0 : (double)i / 7.0 - 1e6;
}

static uint8_t last_digest[STORE_DIGEST_BYTES]; /* of the last committed write_version() */
static int write_pipelined; /* write_version() seals each chunk on the writer's thread */

static void
write_version(struct fx *fx, uint32_t version, uint64_t rows, int commit)
{
	struct store *st = NULL;
	struct store_writer *w = NULL;
	struct store_ident id = {"t", version, fx->suite, fx->key};
	struct store_stats stats;
	char *dir = vdir(fx, version);
	uint64_t i;
	int c;

	assert_int_equal(store_open(dir, 1, 64 << 20, &st), 0);
	free(dir);
	assert_int_equal(store_writer_begin(st, &id, fx->s, &w), 0);
	if (write_pipelined)
		assert_int_equal(store_writer_pipeline(w, fx->s), 0);
	for (i = 0; i < rows; i++) {
		for (c = 0; c < 7; c++) {
			if (is_null(i, c))
				assert_int_equal(store_put_null(w, (size_t)c), 0);
			else if (c == 3)
				assert_int_equal(store_put_real(w, 3, val_real(i)), 0);
			else if (c == 4)
				assert_int_equal(
				    store_put_text(w, 4, texts[i % 5], strlen(texts[i % 5])), 0);
			else
				assert_int_equal(store_put_int(w, (size_t)c, val_int(i, c)), 0);
		}
		assert_int_equal(store_row_end(w), 0);
	}
	if (commit) {
		assert_int_equal(store_writer_commit(w, &stats), 0);
		assert_int_equal(stats.rows, rows);
		assert_int_equal(
		    stats.chunks, 7 * ((rows + STORE_CHUNK_ROWS - 1) / STORE_CHUNK_ROWS));
		assert_true(stats.bytes > 0);
		memcpy(last_digest, stats.manifest_digest, sizeof(last_digest));
	} else {
		store_writer_abort(w);
	}
	store_close(st);
}

/* Read every chunk back; 0 when all values match, the first error otherwise. */
static int
read_pinned(struct fx *fx, uint32_t version, uint64_t rows, const uint8_t *digest)
{
	struct store *st = NULL;
	struct store_reader *r = NULL;
	struct store_ident id = {"t", version, fx->suite, fx->key, digest};
	struct store_vec v;
	const char *const *strs;
	const uint32_t *lens;
	char *dir = vdir(fx, version);
	uint32_t nd, ch, j;
	int c, e;

	e = store_open(dir, 0, 0, &st);
	free(dir);
	if (e != 0)
		return SL_ERR_NOTFOUND; /* no environment: never written */
	if ((e = store_reader_open(st, &id, fx->s, &r)) != 0)
		goto out;
	assert_int_equal(store_reader_rows(r), rows);
	if ((e = store_read_dict(r, 4, &strs, &lens, &nd)) != 0)
		goto out;
	{
		int seen[5] = {0}, want = 0;
		uint64_t i;

		for (i = 0; i < rows && want < 5; i++)
			if (!is_null(i, 4) && !seen[i % 5]++)
				want++;
		assert_int_equal(nd, want);
	}
	for (ch = 0; ch < store_reader_chunks(r); ch++) {
		for (c = 0; c < 7; c++) {
			if ((e = store_read_chunk(r, (size_t)c, ch, &v)) != 0)
				goto out;
			for (j = 0; j < v.rows; j++) {
				uint64_t i = (uint64_t)ch * STORE_CHUNK_ROWS + j;
				int null = v.nulls != NULL && (v.nulls[j / 8] >> (j % 8) & 1);

				assert_int_equal(null, is_null(i, c));
				if (null)
					continue;
				if (c == 3) {
					double want = val_real(i);

					assert_memory_equal(&v.reals[j], &want, sizeof(double));
				} else if (c == 4) {
					assert_int_equal(lens[v.codes[j]], strlen(texts[i % 5]));
					assert_memory_equal(
					    strs[v.codes[j]], texts[i % 5], lens[v.codes[j]]);
				} else {
					assert_int_equal(v.ints[j], val_int(i, c));
				}
			}
		}
	}
out:
	store_reader_close(r);
	store_close(st);
	return e;
}

static int
setup(void **state, enum keys_suite suite)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->tmp = vec_tmpdir();
	fx->dir = sl_path_join(fx->tmp, "store");
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	assert_int_equal(schema_parse(schema_json, strlen(schema_json), &fx->s), 0);
	keys_random(fx->key, sizeof(fx->key));
	fx->suite = suite;
	*state = fx;
	return 0;
}

static int
setup_intl(void **state)
{
	return setup(state, KEYS_SUITE_INTL);
}

static int
setup_gm(void **state)
{
	return setup(state, KEYS_SUITE_GM);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	schema_free(fx->s);
	free(fx->dir);
	vec_rmtree(fx->tmp);
	free(fx);
	return 0;
}

static int
read_version(struct fx *fx, uint32_t version, uint64_t rows)
{
	return read_pinned(fx, version, rows, NULL);
}

static void
test_round_trip(void **state)
{
	struct fx *fx = *state;

	write_version(fx, 1, ROWS, 1);
	assert_int_equal(read_version(fx, 1, ROWS), 0);
	/* An empty version and a one-row version. */
	write_version(fx, 2, 0, 1);
	assert_int_equal(read_version(fx, 2, 0), 0);
	write_version(fx, 3, 5, 1);
	assert_int_equal(read_version(fx, 3, 5), 0);
	/* The wrong key, or another product's name, opens nothing. */
	fx->key[0] ^= 1;
	assert_int_equal(read_version(fx, 1, ROWS), SL_ERR_AUTH);
	fx->key[0] ^= 1;
}

/*
 * Every bit width 0..64 of the frame-of-reference encoding, with row counts
 * that leave every tail length of a group of eight: each value read back,
 * whole and in ranges.
 */
static void
test_every_width(void **state)
{
	static const char one[] =
	    "{\"name\":\"t\",\"columns\":[{\"name\":\"v\",\"type\":\"INT\",\"class\":\"unit\"}]}";
	struct fx *fx = *state;
	struct schema *s = NULL;
	unsigned w;

	assert_int_equal(schema_parse(one, strlen(one), &s), 0);
	for (w = 0; w <= 64; w++) {
		struct store_ident id = {"t", w + 1, fx->suite, fx->key};
		uint64_t span = w == 64 ? UINT64_MAX : ((uint64_t)1 << w) - 1, rows = 1000 + w, i;
		int64_t base = w == 64 ? INT64_MIN : -12345;
		struct store *st = NULL;
		struct store_writer *wr = NULL;
		struct store_reader *rd = NULL;
		struct store_stats stats;
		struct store_vec v;

		char *dir = vdir(fx, w + 1);

		assert_int_equal(store_open(dir, 1, 64 << 20, &st), 0);
		assert_int_equal(store_writer_begin(st, &id, s, &wr), 0);
		for (i = 0; i < rows; i++) {
			/* Both ends of the span, then a spread of values between. */
			uint64_t off = i == 0   ? 0
			               : i == 1 ? span
			                        : (i * 0x9E3779B97F4A7C15u) & span;

			assert_int_equal(store_put_int(wr, 0, (int64_t)((uint64_t)base + off)), 0);
			assert_int_equal(store_row_end(wr), 0);
		}
		assert_int_equal(store_writer_commit(wr, &stats), 0);
		store_close(st);
		st = NULL;
		assert_int_equal(store_open(dir, 0, 0, &st), 0);
		free(dir);
		assert_int_equal(store_reader_open(st, &id, s, &rd), 0);
		assert_int_equal(store_read_chunk(rd, 0, 0, &v), 0);
		assert_int_equal(v.rows, rows);
		for (i = 0; i < rows; i++) {
			uint64_t off = i == 0   ? 0
			               : i == 1 ? span
			                        : (i * 0x9E3779B97F4A7C15u) & span;

			if (v.ints[i] != (int64_t)((uint64_t)base + off))
				fail_msg("width %u, row %llu: read %lld", w, (unsigned long long)i,
				    (long long)v.ints[i]);
		}
		/* The scan's way: opened once, decoded in ranges starting on multiples of 8. */
		{
			static const uint32_t steps[] = {8, 24, 520, 4096};
			struct store_buf *buf = store_buf_new();
			uint32_t n, from, k, step = steps[w % 4];

			assert_non_null(buf);
			assert_int_equal(store_buf_open(rd, 0, 0, buf, &n), 0);
			assert_int_equal(n, rows);
			for (from = 0; from < n; from += step) {
				k = n - from < step ? n - from : step;
				assert_int_equal(store_buf_unpack(rd, buf, from, k, &v), 0);
				assert_int_equal(v.rows, k);
				for (i = 0; i < k; i++) {
					uint64_t at = from + i;
					uint64_t off = at == 0 ? 0
					               : at == 1
					                   ? span
					                   : (at * 0x9E3779B97F4A7C15u) & span;

					if (v.ints[i] != (int64_t)((uint64_t)base + off))
						fail_msg(
						    "width %u, rows from %u, row %llu: read %lld",
						    w, from, (unsigned long long)at,
						    (long long)v.ints[i]);
				}
			}
			/* A range not starting on a byte of the bitmap, or past the end. */
			assert_int_equal(store_buf_unpack(rd, buf, 4, 8, &v), SL_ERR_INVAL);
			assert_int_equal(store_buf_unpack(rd, buf, 8, n, &v), SL_ERR_INVAL);
			store_buf_free(buf);
		}
		store_reader_close(rd);
		store_close(st);
	}
	schema_free(s);
}

/*
 * store_put_domain(): values put by domain index, by text and as NULL, mixed
 * in one column across chunks, read back as the same strings, with each
 * string once in the dictionary.
 */
static void
test_put_domain(void **state)
{
	static const char one[] =
	    "{\"name\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"INT\",\"class\":\"unit\"},"
	    "{\"name\":\"c\",\"type\":\"TEXT\",\"class\":\"dimension\",\"nullable\":true,"
	    "\"domain\":[\"x\",\"yy\",\"\",\"zz\"]}]}";
	static const char *const dom[] = {"x", "yy", "", "zz"};
	struct fx *fx = *state;
	struct schema *s = NULL;
	struct store_ident id = {"t", 1, fx->suite, fx->key};
	struct store *st = NULL;
	struct store_writer *wr = NULL;
	struct store_reader *rd = NULL;
	struct store_stats stats;
	struct store_vec v;
	const char *const *strs;
	const uint32_t *lens;
	uint32_t nd, ch, j;
	uint64_t i, rows = 2 * STORE_CHUNK_ROWS + 77;

	assert_int_equal(schema_parse(one, strlen(one), &s), 0);
	assert_int_equal(store_open(fx->dir, 1, 64 << 20, &st), 0);
	assert_int_equal(store_writer_begin(st, &id, s, &wr), 0);
	for (i = 0; i < rows; i++) {
		assert_int_equal(store_put_int(wr, 0, (int64_t)i), 0);
		if (i % 7 == 6)
			assert_int_equal(store_put_null(wr, 1), 0);
		else if (i % 3 == 0)
			assert_int_equal(store_put_text(wr, 1, dom[i % 4], strlen(dom[i % 4])), 0);
		else
			assert_int_equal(store_put_domain(wr, 1, (uint32_t)(i % 4)), 0);
		assert_int_equal(store_row_end(wr), 0);
	}
	/* An index outside the domain, and a column without one, are refused. */
	assert_int_equal(store_put_domain(wr, 1, 4), SL_ERR_INTERNAL);
	assert_int_equal(store_writer_commit(wr, &stats), 0);
	store_close(st);
	st = NULL;
	assert_int_equal(store_open(fx->dir, 0, 0, &st), 0);
	assert_int_equal(store_reader_open(st, &id, s, &rd), 0);
	assert_int_equal(store_read_dict(rd, 1, &strs, &lens, &nd), 0);
	assert_int_equal(nd, 4);
	for (ch = 0; ch < store_reader_chunks(rd); ch++) {
		assert_int_equal(store_read_chunk(rd, 1, ch, &v), 0);
		for (j = 0; j < v.rows; j++) {
			i = (uint64_t)ch * STORE_CHUNK_ROWS + j;
			if (i % 7 == 6) {
				assert_true(v.nulls != NULL && (v.nulls[j / 8] >> (j % 8) & 1));
				continue;
			}
			assert_int_equal(lens[v.codes[j]], strlen(dom[i % 4]));
			assert_memory_equal(strs[v.codes[j]], dom[i % 4], lens[v.codes[j]]);
		}
	}
	store_reader_close(rd);
	store_close(st);
	schema_free(s);
}

/* The same with the vector decoder off, where the CPU has one. */
static void
test_every_width_scalar(void **state)
{
	if (!simd_avx512(1))
		print_message("(this CPU has no AVX-512 VBMI: only the scalar decoder runs)\n");
	assert_int_equal(simd_avx512(0), 0);
	test_every_width(state);
	(void)simd_avx512(1);
}

static void
test_abort_leaves_nothing(void **state)
{
	struct fx *fx = *state;

	write_version(fx, 1, 1000, 0);
	assert_int_equal(read_version(fx, 1, 1000), SL_ERR_NOTFOUND);
	/* A later load of the same version replaces what an earlier one left. */
	write_version(fx, 1, 70000, 1);
	write_version(fx, 1, 5, 1);
	assert_int_equal(read_version(fx, 1, 5), 0);
}

/* Overwrite record (col, chunk) of version tv with the bytes of (fc, fch) of version fv. */
static void
copy_record(
    struct fx *fx, uint32_t fv, uint32_t fc, uint32_t fch, uint32_t tv, uint32_t tc, uint32_t tch)
{
	MDB_env *env[2];
	MDB_txn *txn[2];
	MDB_dbi dbi[2];
	MDB_val k, v;
	uint8_t kf[8], kt[8];
	uint32_t a[2] = {fc, fch}, b[2] = {tc, tch}, ver[2] = {fv, tv};
	uint8_t *copy;
	int i;

	for (i = 0; i < 2; i++) {
		char *dir = vdir(fx, ver[i]);

		kf[4 * i] = (uint8_t)(a[i] >> 24), kf[4 * i + 1] = (uint8_t)(a[i] >> 16);
		kf[4 * i + 2] = (uint8_t)(a[i] >> 8), kf[4 * i + 3] = (uint8_t)a[i];
		kt[4 * i] = (uint8_t)(b[i] >> 24), kt[4 * i + 1] = (uint8_t)(b[i] >> 16);
		kt[4 * i + 2] = (uint8_t)(b[i] >> 8), kt[4 * i + 3] = (uint8_t)b[i];
		assert_int_equal(mdb_env_create(&env[i]), 0);
		assert_int_equal(mdb_env_open(env[i], dir, MDB_NOLOCK, 0600), 0);
		assert_int_equal(mdb_txn_begin(env[i], NULL, 0, &txn[i]), 0);
		assert_int_equal(mdb_dbi_open(txn[i], NULL, 0, &dbi[i]), 0);
		free(dir);
	}
	k.mv_size = 8;
	k.mv_data = kf;
	assert_int_equal(mdb_get(txn[0], dbi[0], &k, &v), 0);
	copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	v.mv_data = copy;
	k.mv_data = kt;
	mdb_txn_abort(txn[0]);
	assert_int_equal(mdb_put(txn[1], dbi[1], &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn[1]), 0);
	mdb_env_close(env[0]);
	mdb_env_close(env[1]);
	free(copy);
}

static void
test_swap_chunks(void **state)
{
	struct fx *fx = *state;

	write_version(fx, 1, ROWS, 1);
	copy_record(fx, 1, 0, 1, 1, 0, 0); /* chunk 1 of column 0 into chunk 0's place */
	assert_int_equal(read_version(fx, 1, ROWS), SL_ERR_AUTH);
	write_version(fx, 1, ROWS, 1);
	copy_record(fx, 1, 2, 0, 1, 1, 0); /* column 2 into column 1 (both FOR ints) */
	assert_int_equal(read_version(fx, 1, ROWS), SL_ERR_AUTH);
}

static void
test_replay_older_version(void **state)
{
	struct fx *fx = *state;

	write_version(fx, 1, ROWS, 1);
	write_version(fx, 2, ROWS, 1);
	copy_record(fx, 1, 6, 2, 2, 6, 2);
	assert_int_equal(read_version(fx, 1, ROWS), 0);
	assert_int_equal(read_version(fx, 2, ROWS), SL_ERR_AUTH);
	/* Even the manifest. */
	write_version(fx, 2, ROWS, 1);
	copy_record(fx, 1, STORE_MANIFEST, 0, 2, STORE_MANIFEST, 0);
	assert_int_equal(read_version(fx, 2, ROWS), SL_ERR_AUTH);
}

/* Flip one byte of every sealed record in data.mdb in turn: every read fails. */
static void
test_flip_bytes_in_file(void **state)
{
	struct fx *fx = *state;
	char *dir = vdir(fx, 1), *path = sl_path_join(dir, "data.mdb");
	uint8_t *data = NULL;
	size_t len = 0, off, flipped = 0, step;
	FILE *f;

	write_version(fx, 1, ROWS, 1);
	assert_int_equal(read_version(fx, 1, ROWS), 0);
	assert_int_equal(sl_file_read(path, 256 << 20, &data, &len), 0);
	/* Sample offsets across the file; each flip is undone before the next. */
	step = len / 97 + 1;
	for (off = 4096 * 2 + 17; off < len; off += step) {
		int e;

		assert_non_null(f = fopen(path, "r+b"));
		fseek(f, (long)off, SEEK_SET);
		fputc(data[off] ^ 0x04, f);
		fclose(f);
		e = read_version(fx, 1, ROWS);
		/* Free pages may take a flip silently; nothing else may. */
		if (e != 0) {
			assert_true(e == SL_ERR_AUTH || e == SL_ERR_IO || e == SL_ERR_NOTFOUND);
			flipped++;
		}
		assert_non_null(f = fopen(path, "r+b"));
		fseek(f, (long)off, SEEK_SET);
		fputc(data[off], f);
		fclose(f);
	}
	assert_true(flipped > 50);
	assert_int_equal(read_version(fx, 1, ROWS), 0);
	free(data);
	free(path);
	free(dir);
}

/*
 * A file cut short: LMDB would map pages past its end and the reader die of
 * SIGBUS; it is refused on open as an integrity error instead.
 */
static void
test_truncated_file(void **state)
{
	struct fx *fx = *state;
	char *dir = vdir(fx, 1), *path = sl_path_join(dir, "data.mdb");
	struct store *st = NULL;
	struct stat sb;

	write_version(fx, 1, ROWS, 1);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(truncate(path, sb.st_size / 2), 0);
	sl_err_clear();
	assert_int_equal(store_open(dir, 0, 0, &st), SL_ERR_AUTH);
	assert_null(st);
	assert_non_null(strstr(sl_err_msg(SL_ERR_AUTH), "integrity error"));
	free(path);
	free(dir);
}

/* Version a read-only as the source, version b writable as the destination. */
static void
open_pair(struct fx *fx, uint32_t a, uint32_t b, struct store **src, struct store **dst)
{
	char *da = vdir(fx, a), *db = vdir(fx, b);

	assert_int_equal(store_open(da, 0, 0, src), 0);
	assert_int_equal(store_open(db, 1, 64 << 20, dst), 0);
	free(da);
	free(db);
}

/*
 * The manifest digest pins a published version: the reader given it opens
 * that version, and refuses a version written again since, even with the
 * same key and contents.
 */
static void
test_manifest_pinned(void **state)
{
	struct fx *fx = *state;
	uint8_t pinned[STORE_DIGEST_BYTES], wrong[STORE_DIGEST_BYTES];

	write_version(fx, 1, 5000, 1);
	memcpy(pinned, last_digest, sizeof(pinned));
	assert_int_equal(read_pinned(fx, 1, 5000, pinned), 0);
	memcpy(wrong, pinned, sizeof(wrong));
	wrong[7] ^= 1;
	assert_int_equal(read_pinned(fx, 1, 5000, wrong), SL_ERR_AUTH);
	write_version(fx, 1, 5000, 1); /* rewritten in place: new nonces, new manifest bytes */
	assert_int_equal(read_version(fx, 1, 5000), 0);
	assert_int_equal(read_pinned(fx, 1, 5000, pinned), SL_ERR_AUTH);
}

/* A store_progress_fn that notes each report; a nonzero fail stops the rotation. */
struct reports {
	uint64_t n, last, fail;
};

static int
note_progress(void *arg, uint64_t bytes)
{
	struct reports *rep = arg;

	assert_true(bytes > rep->last);
	rep->last = bytes;
	return ++rep->n == rep->fail ? SL_ERR_IO : 0;
}

/* Key rotation re-seals every record under the new key and version. */
static void
test_rekey(void **state)
{
	struct reports rep = {0, 0, 0};
	struct fx *fx = *state;
	struct store *st = NULL, *dst = NULL;
	struct store_stats stats;
	uint8_t old[STORE_KEY_BYTES], new[STORE_KEY_BYTES];
	struct store_ident from = {"t", 1, fx->suite, old}, to = {"t", 2, fx->suite, new};

	memcpy(old, fx->key, sizeof(old));
	keys_random(new, sizeof(new));
	write_version(fx, 1, ROWS, 1);
	open_pair(fx, 1, 2, &st, &dst);
	/* progress every 1 KB: reported as it goes, never past what was written */
	store_rekey_progress_bytes = 1024;
	assert_int_equal(store_rekey(st, dst, &from, &to, 1, note_progress, &rep, &stats), 0);
	store_close(st);
	store_close(dst);
	assert_int_equal(stats.rows, ROWS);
	assert_int_equal(stats.chunks, 7 * 3);
	assert_true(rep.n >= 2);
	assert_true(rep.last <= stats.bytes);
	/* The new version opens with the new key only; the old one is untouched. */
	assert_int_equal(read_version(fx, 2, ROWS), SL_ERR_AUTH);
	assert_int_equal(read_version(fx, 1, ROWS), 0);
	memcpy(fx->key, new, sizeof(new));
	assert_int_equal(read_version(fx, 2, ROWS), 0);
	/* A source that does not authenticate rotates into nothing. */
	memcpy(fx->key, old, sizeof(old));
	copy_record(fx, 1, 3, 1, 1, 3, 0);
	to.version = 3;
	open_pair(fx, 1, 3, &st, &dst);
	assert_int_equal(store_rekey(st, dst, &from, &to, 1, NULL, NULL, &stats), SL_ERR_AUTH);
	store_close(st);
	store_close(dst);
	memcpy(fx->key, new, sizeof(new));
	assert_int_equal(read_version(fx, 3, ROWS), SL_ERR_NOTFOUND);
	/* A report that fails (the broker gone) ends the rotation with nothing written. */
	memcpy(fx->key, old, sizeof(old));
	to.version = 4;
	rep = (struct reports){0, 0, 1};
	open_pair(fx, 2, 4, &st, &dst);
	from.version = 2;
	from.key = new;
	assert_int_equal(
	    store_rekey(st, dst, &from, &to, 1, note_progress, &rep, &stats), SL_ERR_IO);
	store_close(st);
	store_close(dst);
	memcpy(fx->key, new, sizeof(new));
	assert_int_equal(read_version(fx, 4, ROWS), SL_ERR_NOTFOUND);
	store_rekey_progress_bytes = STORE_REKEY_PROGRESS_BYTES;
}

/* Every record of version v, opened with key, as text. */
static char *
records_plain(struct fx *fx, uint32_t v, const uint8_t *key)
{
	char *dir = vdir(fx, v), *out = store_records_text(dir, "t", v, fx->suite, key, ROWS);

	free(dir);
	return out;
}

/* Versions a and b, both under fx->key, hold the same records; else fail with what. */
static void
assert_same_records(struct fx *fx, uint32_t a, uint32_t b, const char *what)
{
	char *want = records_plain(fx, a, fx->key), *got = records_plain(fx, b, fx->key);
	int same = strcmp(want, got) == 0;

	free(want);
	free(got);
	if (!same)
		fail_msg("%s", what);
}

/*
 * A pipelined writer (each full chunk resolved, encoded and sealed on the
 * writer's thread) makes the records a plain one makes, dictionary codes
 * included; an abort with a chunk at its thread leaves nothing; and a text
 * value for a column with a domain, whose codes the putting thread gives, is
 * refused, as is a pipeline begun after the first row.
 */
static void
test_writer_threads(void **state)
{
	static const char one[] =
	    "{\"name\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"INT\",\"class\":\"unit\"},"
	    "{\"name\":\"c\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"x\",\"y\"]}]}";
	struct fx *fx = *state;
	struct store_ident id = {"t", 9, fx->suite, fx->key};
	struct store *st = NULL;
	struct store_writer *w = NULL;
	struct schema *s = NULL;
	char *dir;
	uint64_t i;

	write_version(fx, 1, ROWS, 1);
	write_pipelined = 1;
	write_version(fx, 2, ROWS, 1);
	write_version(fx, 3, STORE_CHUNK_ROWS + 5, 0); /* aborted, a chunk at the thread */
	write_pipelined = 0;
	assert_same_records(fx, 1, 2, "a pipelined writer made other records than a plain one");
	assert_int_equal(read_version(fx, 2, ROWS), 0);
	assert_int_equal(read_version(fx, 3, STORE_CHUNK_ROWS + 5), SL_ERR_NOTFOUND);

	assert_int_equal(schema_parse(one, strlen(one), &s), 0);
	dir = vdir(fx, 9);
	assert_int_equal(store_open(dir, 1, 64 << 20, &st), 0);
	free(dir);
	assert_int_equal(store_writer_begin(st, &id, s, &w), 0);
	assert_int_equal(store_writer_pipeline(w, s), 0);
	assert_int_equal(store_put_text(w, 1, "x", 1), SL_ERR_INTERNAL);
	store_writer_abort(w);
	assert_int_equal(store_writer_begin(st, &id, s, &w), 0);
	assert_int_equal(store_writer_pipeline(w, s), 0);
	for (i = 0; i < STORE_CHUNK_ROWS + 3; i++) {
		assert_int_equal(store_put_int(w, 0, (int64_t)i), 0);
		assert_int_equal(store_put_domain(w, 1, (uint32_t)(i % 2)), 0);
		assert_int_equal(store_row_end(w), 0);
	}
	assert_int_equal(store_writer_pipeline(w, s), SL_ERR_INTERNAL);
	assert_int_equal(store_writer_commit(w, NULL), 0);
	store_close(st);
	schema_free(s);
}

/*
 * Version 'version' as write_version() writes it, put by store_put_rows() in
 * batches of 1 to 70,000 rows; the texts from two pools (TEXT0, TEXT1) in turn.
 */
static void
write_rows(struct fx *fx, uint32_t version, uint64_t rows)
{
	static const size_t sizes[] = {1, 5000, 70000, 3, 65536};
	struct store *st = NULL;
	struct store_writer *w = NULL;
	struct store_ident id = {"t", version, fx->suite, fx->key};
	char *dir = vdir(fx, version), pool[2][64];
	const char *const text[2] = {pool[0], pool[1]};
	uint32_t off[2][5];
	union store_cell *cells;
	uint8_t *kinds;
	uint64_t at = 0, i;
	size_t n, k, b = 0, len[2] = {0, 3};
	int c, p;

	/* The second pool starts 3 bytes later, so that the offsets differ. */
	memcpy(pool[1], "pad", 3);
	for (p = 0; p < 2; p++)
		for (k = 0; k < 5; len[p] += strlen(texts[k]), k++) {
			off[p][k] = (uint32_t)len[p];
			memcpy(pool[p] + len[p], texts[k], strlen(texts[k]));
		}
	assert_non_null(cells = calloc(7 * 70000, sizeof *cells));
	assert_non_null(kinds = calloc(7 * 70000, 1));
	assert_int_equal(store_open(dir, 1, 64 << 20, &st), 0);
	free(dir);
	assert_int_equal(store_writer_begin(st, &id, fx->s, &w), 0);
	if (write_pipelined)
		assert_int_equal(store_writer_pipeline(w, fx->s), 0);
	for (; at < rows; at += n, b++) {
		n = sizes[b % 5] < rows - at ? sizes[b % 5] : (size_t)(rows - at);
		for (c = 0; c < 7; c++)
			for (k = 0; k < n; k++) {
				union store_cell *v = &cells[(size_t)c * 70000 + k];
				uint8_t *kind = &kinds[(size_t)c * 70000 + k];

				i = at + k;
				*kind = STORE_CELL_VALUE;
				if (is_null(i, c)) {
					*kind = STORE_CELL_NULL;
				} else if (c == 3) {
					v->r = val_real(i);
				} else if (c == 4) {
					*kind = i % 2 ? STORE_CELL_TEXT1 : STORE_CELL_TEXT0;
					v->t.off = off[i % 2][i % 5];
					v->t.len = (uint32_t)strlen(texts[i % 5]);
				} else {
					v->i = val_int(i, c);
				}
			}
		assert_int_equal(store_put_rows(w, cells, kinds, 70000, n, text), 0);
	}
	assert_int_equal(store_writer_commit(w, NULL), 0);
	store_close(st);
	free(cells);
	free(kinds);
}

/*
 * Rows put in batches make the records that rows put value by value make,
 * plain or pipelined, across chunk ends; a batch within a row, and a cell
 * its column cannot take, are refused.
 */
static void
test_put_rows(void **state)
{
	struct fx *fx = *state;
	struct store_ident id = {"t", 9, fx->suite, fx->key};
	struct store *st = NULL;
	struct store_writer *w = NULL;
	union store_cell cell[7] = {{0}};
	uint8_t kind[7] = {0};
	const char *const text[2] = {"", ""};
	char *dir;

	write_version(fx, 1, ROWS, 1);
	write_rows(fx, 2, ROWS);
	write_pipelined = 1;
	write_rows(fx, 3, ROWS);
	write_pipelined = 0;
	assert_same_records(
	    fx, 1, 2, "rows put in batches made other records than rows put a value at a time");
	assert_same_records(
	    fx, 1, 3, "rows put in batches to a pipelined writer made other records");
	assert_int_equal(read_version(fx, 2, ROWS), 0);

	dir = vdir(fx, 9);
	assert_int_equal(store_open(dir, 1, 64 << 20, &st), 0);
	free(dir);
	assert_int_equal(store_writer_begin(st, &id, fx->s, &w), 0);
	assert_int_equal(store_put_int(w, 0, 1), 0);
	assert_int_equal(store_put_rows(w, cell, kind, 1, 1, text), SL_ERR_INTERNAL);
	store_writer_abort(w);
	assert_int_equal(store_writer_begin(st, &id, fx->s, &w), 0);
	kind[4] = STORE_CELL_VALUE; /* a number for the TEXT column */
	assert_int_equal(store_put_rows(w, cell, kind, 1, 1, text), SL_ERR_INTERNAL);
	store_writer_abort(w);
	assert_int_equal(store_writer_begin(st, &id, fx->s, &w), 0);
	kind[4] = STORE_CELL_TEXT0;
	kind[0] = 9; /* no such kind */
	assert_int_equal(store_put_rows(w, cell, kind, 1, 1, text), SL_ERR_INTERNAL);
	store_writer_abort(w);
	store_close(st);
}

/*
 * Rotation on 1, 2 and 5 threads (batches of 4 and of 20 records, more than
 * the version has): the same records with the same plaintexts, and a
 * corrupt source the same error, the first in key order.
 */
static void
test_rekey_threads(void **state)
{
	static const unsigned counts[] = {1, 2, 5};
	struct fx *fx = *state;
	struct store *st = NULL, *dst = NULL;
	struct store_stats stats;
	uint8_t old[STORE_KEY_BYTES], new[STORE_KEY_BYTES];
	struct store_ident from = {"t", 1, fx->suite, old}, to = {"t", 2, fx->suite, new};
	char *want, *got, msg[1024] = "";
	size_t c;

	memcpy(old, fx->key, sizeof(old));
	keys_random(new, sizeof(new));
	write_version(fx, 1, ROWS, 1);
	want = records_plain(fx, 1, old);
	for (c = 0; c < sizeof counts / sizeof counts[0]; c++) {
		to.version = 2 + (uint32_t)c;
		open_pair(fx, 1, to.version, &st, &dst);
		assert_int_equal(
		    store_rekey(st, dst, &from, &to, counts[c], NULL, NULL, &stats), 0);
		store_close(st);
		store_close(dst);
		assert_int_equal(stats.chunks, 7 * 3);
		got = records_plain(fx, to.version, new);
		if (strcmp(want, got) != 0)
			fail_msg(
			    "rotation on %u threads: other records than the source's", counts[c]);
		free(got);
	}
	free(want);
	/* Two records swapped in the source: every thread count names the first. */
	copy_record(fx, 1, 3, 1, 1, 2, 2);
	copy_record(fx, 1, 1, 0, 1, 4, 1);
	for (c = 0; c < sizeof counts / sizeof counts[0]; c++) {
		to.version = 10 + (uint32_t)c;
		open_pair(fx, 1, to.version, &st, &dst);
		sl_err_clear();
		assert_int_equal(
		    store_rekey(st, dst, &from, &to, counts[c], NULL, NULL, &stats), SL_ERR_AUTH);
		store_close(st);
		store_close(dst);
		if (c == 0)
			snprintf(msg, sizeof msg, "%s", sl_err_msg(SL_ERR_AUTH));
		assert_string_equal(sl_err_msg(SL_ERR_AUTH), msg);
		memcpy(fx->key, new, sizeof(new));
		assert_int_equal(read_version(fx, to.version, ROWS), SL_ERR_NOTFOUND);
		memcpy(fx->key, old, sizeof(old));
	}
	assert_non_null(strstr(msg, "column 2, chunk 2"));
	/* No threads, or more than a job may have: refused before anything is read. */
	open_pair(fx, 1, 20, &st, &dst);
	to.version = 20;
	assert_int_equal(store_rekey(st, dst, &from, &to, 0, NULL, NULL, &stats), SL_ERR_INVAL);
	assert_int_equal(store_rekey(st, dst, &from, &to, JOB_THREADS_MAX + 1, NULL, NULL, &stats),
	    SL_ERR_INVAL);
	store_close(st);
	store_close(dst);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_round_trip, setup_gm, teardown),
	    cmocka_unit_test_setup_teardown(test_every_width, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_every_width_scalar, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_put_domain, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_swap_chunks, setup_gm, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_older_version, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_file, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_flip_bytes_in_file, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_manifest_pinned, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_manifest_pinned, setup_gm, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey, setup_gm, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_threads, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_put_rows, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_threads, setup_gm, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_threads, setup_intl, teardown),
	    cmocka_unit_test_setup_teardown(test_rekey_threads, setup_gm, teardown),
	};

	if (keys_init(0) != 0)
		return 1;
	/* make check-tsan runs the threaded tests only (Makefile.am TSAN_TESTS). */
	if (getenv("SL_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("SL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
