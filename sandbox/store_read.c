/*
 * sandbox/store_read.c -- reading a published version: its manifest, then
 * chunks of columns decrypted, checked and decoded, and text dictionaries
 * (sandbox/store.h; the format is sandbox/store_internal.h).
 *
 * Trusts: the ident it is given (the job header), and nothing it reads
 * until it has authenticated it; even then a layout that this writer could
 * not have written is an integrity error.  Holds: the plaintext of the
 * chunks being decoded and of the dictionaries, wiped when the reader closes.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/schema.h"
#include "keys/hash.h"
#include "keys/keys.h"
#include "sandbox/simd.h"
#include "sandbox/store_internal.h"

/* ---- decoding frame-of-reference words ---------------------------------------- */

/* le64_get() as one load: for the decoder's hot loop. */
static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/*
 * Eight values of w bits take exactly w bytes, so within a group of eight
 * every value's byte offset and shift are constants once w is: each value is
 * one unaligned load, a shift by an immediate, a mask and an add.
 */
static inline __attribute__((always_inline)) void
unpack8(const uint8_t *p, unsigned w, uint64_t base, int64_t *out)
{
	const uint64_t mask = ((uint64_t)1 << w) - 1;
	unsigned k;

#pragma GCC unroll 8
	for (k = 0; k < 8; k++)
		out[k] = (int64_t)(base + ((load_le64(p + k * w / 8) >> (k * w % 8)) & mask));
}

/* Whole groups of eight rows while a group's loads stay inside the words. */
#define UNPACK_GROUPS(w)                                                                           \
	case w:                                                                                    \
		for (; i + 8 <= rows && (size_t)i / 8 * w + w + 8 <= bytes; i += 8)                \
			unpack8(p + (size_t)i / 8 * w, w, base, ints + i);                         \
		break

/*
 * Rows [0, n) of a frame-of-reference block of 1..56-bit values, for the
 * widths a scan meets most with one specialised loop each; returns n, and
 * the caller decodes rows [n, rows) one by one.
 */
static uint32_t
unpack_fast(
    const uint8_t *p, size_t bytes, uint32_t rows, unsigned width, uint64_t base, int64_t *ints)
{
	uint32_t i = 0;

	switch (width) {
		UNPACK_GROUPS(1);
		UNPACK_GROUPS(2);
		UNPACK_GROUPS(3);
		UNPACK_GROUPS(4);
		UNPACK_GROUPS(5);
		UNPACK_GROUPS(6);
		UNPACK_GROUPS(7);
		UNPACK_GROUPS(8);
		UNPACK_GROUPS(9);
		UNPACK_GROUPS(10);
		UNPACK_GROUPS(11);
		UNPACK_GROUPS(12);
		UNPACK_GROUPS(13);
		UNPACK_GROUPS(14);
		UNPACK_GROUPS(15);
		UNPACK_GROUPS(16);
		UNPACK_GROUPS(17);
		UNPACK_GROUPS(18);
		UNPACK_GROUPS(19);
		UNPACK_GROUPS(20);
		UNPACK_GROUPS(21);
		UNPACK_GROUPS(22);
		UNPACK_GROUPS(23);
		UNPACK_GROUPS(24);
		UNPACK_GROUPS(25);
		UNPACK_GROUPS(26);
		UNPACK_GROUPS(27);
		UNPACK_GROUPS(28);
		UNPACK_GROUPS(29);
		UNPACK_GROUPS(30);
		UNPACK_GROUPS(31);
		UNPACK_GROUPS(32);
	default: {
		const uint64_t mask = ((uint64_t)1 << width) - 1;
		size_t pos = 0;

		/* Any width up to 56: a value lies within the 8 bytes from its first byte. */
		for (; i < rows && pos / 8 + 8 <= bytes; i++, pos += width)
			ints[i] = (int64_t)(base + ((load_le64(p + pos / 8) >> (pos & 7)) & mask));
	}
	}
	return i;
}
#undef UNPACK_GROUPS

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/*
 * unpack_fast() with AVX-512 VBMI, eight values per instruction: one byte
 * permutation puts each value's eight bytes in its own 64-bit lane, and one
 * multishift moves its first bit to bit 0 of the lane.  About five times the
 * scalar loop's speed.  Rows [0, n) for the returned n, a multiple of 8.
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static uint32_t
unpack_vbmi(
    const uint8_t *p, size_t bytes, uint32_t rows, unsigned width, uint64_t base, int64_t *ints)
{
	uint8_t perm[64], ctrl[64];
	__m512i vperm, vctrl, vmask, vbase, d;
	unsigned k, j;
	uint32_t i = 0;

	for (k = 0; k < 8; k++)
		for (j = 0; j < 8; j++) {
			perm[8 * k + j] = (uint8_t)(k * width / 8 + j);
			ctrl[8 * k + j] = (uint8_t)(k * width % 8 + 8 * j);
		}
	vperm = _mm512_loadu_si512(perm);
	vctrl = _mm512_loadu_si512(ctrl);
	vmask = _mm512_set1_epi64((int64_t)(((uint64_t)1 << width) - 1));
	vbase = _mm512_set1_epi64((int64_t)base);
	/* Eight values take width bytes; the 64-byte load must stay inside. */
	for (; i + 8 <= rows && (size_t)i / 8 * width + 64 <= bytes; i += 8) {
		d = _mm512_loadu_si512(p + (size_t)i / 8 * width);
		d = _mm512_permutexvar_epi8(vperm, d);
		d = _mm512_multishift_epi64_epi8(vctrl, d);
		_mm512_storeu_si512(ints + i, _mm512_add_epi64(_mm512_and_si512(d, vmask), vbase));
	}
	return i;
}

/* Dictionary codes from decoded values (no NULLs): 1 if one lies past nd. */
__attribute__((target("avx512f"))) static int
codes_avx512(const int64_t *ints, uint32_t *codes, uint32_t n, uint64_t nd, uint32_t *done)
{
	const __m512i vnd = _mm512_set1_epi64((int64_t)nd);
	__mmask8 outside = 0;
	uint32_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		__m512i v = _mm512_loadu_si512(ints + i);

		outside |= _mm512_cmpge_epu64_mask(v, vnd);
		_mm256_storeu_si256((__m256i *)(codes + i), _mm512_cvtepi64_epi32(v));
	}
	*done = i;
	return outside != 0;
}

static uint32_t
unpack_simd(
    const uint8_t *p, size_t bytes, uint32_t rows, unsigned width, uint64_t base, int64_t *ints)
{
	return simd_avx512(-1) ? unpack_vbmi(p, bytes, rows, width, base, ints) : 0;
}

static int
codes_simd(const int64_t *ints, uint32_t *codes, uint32_t n, uint64_t nd, uint32_t *done)
{
	*done = 0;
	return simd_avx512(-1) ? codes_avx512(ints, codes, n, nd, done) : 0;
}
#else
static uint32_t
unpack_simd(
    const uint8_t *p, size_t bytes, uint32_t rows, unsigned width, uint64_t base, int64_t *ints)
{
	return 0;
}

static int
codes_simd(const int64_t *ints, uint32_t *codes, uint32_t n, uint64_t nd, uint32_t *done)
{
	*done = 0;
	return 0;
}
#endif

/* ---- the reader ------------------------------------------------------------ */

struct rdict {
	const char **strs;
	uint32_t *lens;
	uint8_t *data; /* decrypted parts, concatenated */
	size_t datalen;
	int loaded;
};

struct store_reader {
	struct store *st;
	MDB_txn *txn;
	struct store_ident id;
	char *product;
	uint64_t rows;
	uint32_t chunks;
	size_t ncols;
	struct store_manifest man; /* columns' types and dictionary sizes */
	struct rdict *dicts;
	uint8_t *aad;
	struct bytes plain;
	int64_t *ints;
	double *reals;
	uint32_t *codes;
	uint8_t nulls[STORE_CHUNK_ROWS / 8];
	/*
	 * The most rows store_read_chunk() decoded into ints and reals: only those
	 * hold plaintext to wipe. The rest were never touched, and wiping them
	 * would fault in about 1 MiB of fresh zero pages (0.5 ms of every worker).
	 */
	uint32_t decoded;
};

/*
 * Fetch and open record (col, chunk) into plain; rows goes into the AAD.
 * SL_ERR_NOTFOUND, with no message, if there is no such record.
 */
static int
fetch_record(
    struct store_reader *r, uint32_t col, uint32_t chunk, uint32_t rows, struct bytes *plain)
{
	MDB_val val;
	int e;

	if ((e = store_record_get(r->st, r->txn, col, chunk, &val)) != 0 ||
	    (e = store_record_open(&r->id, r->aad, col, chunk, rows, &val, plain)) != SL_ERR_AUTH)
		return e;
	if (col == STORE_MANIFEST)
		return sl_errf(SL_ERR_AUTH,
		    "store: version %u manifest fails authentication: integrity error",
		    r->id.version);
	return sl_errf(SL_ERR_AUTH,
	    "store: record (version %u, %s %u, chunk %u) fails authentication: integrity "
	    "error",
	    r->id.version, col & STORE_DICT_BIT ? "dictionary of column" : "column",
	    col & ~STORE_DICT_BIT, chunk);
}

/* fetch_record(), where a missing record is an integrity error. */
static int
get_record_into(
    struct store_reader *r, uint32_t col, uint32_t chunk, uint32_t rows, struct bytes *plain)
{
	int e = fetch_record(r, col, chunk, rows, plain);

	if (e == SL_ERR_NOTFOUND)
		return sl_errf(SL_ERR_AUTH, "store: record (%u, %u, %u) missing: integrity error",
		    r->id.version, col, chunk);
	return e;
}

static int
get_record(struct store_reader *r, uint32_t col, uint32_t chunk, uint32_t rows)
{
	return get_record_into(r, col, chunk, rows, &r->plain);
}

void
store_reader_close(struct store_reader *r)
{
	size_t i;

	if (r == NULL)
		return;
	if (r->txn != NULL)
		mdb_txn_abort(r->txn);
	for (i = 0; r->dicts != NULL && i < r->ncols; i++) {
		if (r->dicts[i].data != NULL) {
			keys_wipe(r->dicts[i].data, r->dicts[i].datalen);
			free(r->dicts[i].data);
		}
		free(r->dicts[i].strs);
		free(r->dicts[i].lens);
	}
	free(r->dicts);
	store_manifest_free(&r->man);
	free(r->aad);
	bytes_free(&r->plain);
	if (r->ints != NULL) {
		keys_wipe(r->ints, r->decoded * sizeof(int64_t));
		free(r->ints);
	}
	if (r->reals != NULL) {
		keys_wipe(r->reals, r->decoded * sizeof(double));
		free(r->reals);
	}
	free(r->codes);
	free(r->product);
	free(r);
}

/*
 * The sealed manifest must be the one the catalog recorded when the version
 * was published: a version rewritten since, even under its own key, fails
 * here.
 */
static int
manifest_check(struct store_reader *r, const uint8_t want[STORE_DIGEST_BYTES])
{
	uint8_t got[STORE_DIGEST_BYTES];
	MDB_val val;
	int e;

	if ((e = store_record_get(r->st, r->txn, STORE_MANIFEST, 0, &val)) != 0)
		return e == SL_ERR_NOTFOUND
		           ? sl_errf(SL_ERR_AUTH,
		                 "store: version %u has no manifest: integrity error",
		                 r->id.version)
		           : e;
	if ((e = keys_hash(r->id.suite, val.mv_data, val.mv_size, got)) != 0)
		return e;
	if (memcmp(got, want, sizeof(got)) != 0)
		return sl_errf(SL_ERR_AUTH,
		    "store: version %u manifest differs from the one published: integrity error",
		    r->id.version);
	return 0;
}

int
store_reader_open(struct store *st, const struct store_ident *id, const struct schema *s,
    struct store_reader **out)
{
	struct store_reader *r;
	size_t i;
	int e, rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SL_ERR_NOMEM;
	r->st = st;
	r->id = *id;
	if ((r->product = strdup(id->product)) == NULL ||
	    (r->aad = malloc(store_aad_bytes(id->product))) == NULL ||
	    (r->ints = calloc(STORE_CHUNK_ROWS, sizeof(int64_t))) == NULL ||
	    (r->reals = calloc(STORE_CHUNK_ROWS, sizeof(double))) == NULL ||
	    (r->codes = calloc(STORE_CHUNK_ROWS, sizeof(uint32_t))) == NULL) {
		e = SL_ERR_NOMEM;
		goto fail;
	}
	r->id.product = r->product;
	r->id.manifest_digest = NULL;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->txn)) != 0) {
		e = store_lmdb_err(rc, "begin read");
		goto fail;
	}
	if (id->manifest_digest != NULL && (e = manifest_check(r, id->manifest_digest)) != 0)
		goto fail;
	if ((e = fetch_record(r, STORE_MANIFEST, 0, 0, &r->plain)) != 0) {
		if (e == SL_ERR_NOTFOUND)
			e = sl_errf(SL_ERR_NOTFOUND, "store: version %u not found", id->version);
		goto fail;
	}
	if ((e = store_manifest_decode(r->plain.p, r->plain.len, &r->man)) == SL_ERR_NOMEM)
		goto fail;
	if (e != 0 || r->man.format != STORE_FORMAT || r->man.chunk_rows != STORE_CHUNK_ROWS ||
	    r->man.ncols != s->ncols) {
		e = sl_errf(SL_ERR_AUTH, "store: version %u manifest does not match the schema",
		    id->version);
		goto fail;
	}
	r->rows = r->man.rows;
	r->chunks = r->man.chunks;
	if (r->chunks != (r->rows + STORE_CHUNK_ROWS - 1) / STORE_CHUNK_ROWS) {
		e = sl_errf(
		    SL_ERR_AUTH, "store: version %u manifest: inconsistent counts", id->version);
		goto fail;
	}
	r->ncols = s->ncols;
	if ((r->dicts = calloc(r->ncols, sizeof(*r->dicts))) == NULL) {
		e = SL_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < r->ncols; i++) {
		if (r->man.cols[i].type != (int)s->cols[i].type) {
			e = sl_errf(
			    SL_ERR_AUTH, "store: column %zu type differs from the schema", i);
			goto fail;
		}
	}
	*out = r;
	return 0;
fail:
	store_reader_close(r);
	return e;
}

uint64_t
store_reader_rows(const struct store_reader *r)
{
	return r->rows;
}

uint32_t
store_reader_chunks(const struct store_reader *r)
{
	return r->chunks;
}

/* A column chunk opened (decrypted and its layout checked), for unpacking in ranges. */
struct chunk_view {
	size_t col;
	uint32_t chunk, rows;
	int enc;
	const uint8_t *nulls; /* NULL: no NULLs in the chunk */
	const uint8_t *data;  /* STORE_ENC_F64: rows doubles; else the packed words */
	size_t nbytes;
	uint64_t base; /* STORE_ENC_FOR, STORE_ENC_CODES */
	unsigned width;
};

/* Decoded arrays of one column's chunk; the reader keeps one, callers may keep more. */
struct store_buf {
	int64_t ints[STORE_CHUNK_ROWS];
	double reals[STORE_CHUNK_ROWS];
	uint32_t codes[STORE_CHUNK_ROWS];
	uint8_t nulls[STORE_CHUNK_ROWS / 8];
	struct bytes plain; /* the chunk store_buf_open() opened */
	struct chunk_view cv;
};

struct store_buf *
store_buf_new(void)
{
	struct store_buf *b = malloc(sizeof(struct store_buf));

	if (b != NULL)
		memset(&b->plain, 0, sizeof(b->plain));
	return b;
}

void
store_buf_free(struct store_buf *b)
{
	if (b == NULL)
		return;
	bytes_free(&b->plain);
	free(b);
}

static int
malformed(uint32_t chunk, size_t col)
{
	/* Authenticated yet malformed: written by something that is not this writer. */
	return sl_errf(
	    SL_ERR_AUTH, "store: chunk %u of column %zu is malformed: integrity error", chunk, col);
}

/* Fetch and open (col, chunk) into plain and check its layout into cv. */
static int
chunk_open(
    struct store_reader *r, size_t col, uint32_t chunk, struct bytes *plain, struct chunk_view *cv)
{
	const uint8_t *p, *end;
	uint32_t want;
	int e, has_nulls;

	if (col >= r->ncols || chunk >= r->chunks)
		return sl_errf(SL_ERR_INVAL, "store: no chunk %u of column %zu", chunk, col);
	want = store_record_rows((uint32_t)col, chunk, r->rows, r->chunks);
	if ((e = get_record_into(r, (uint32_t)col, chunk, want, plain)) != 0)
		return e;
	memset(cv, 0, sizeof(*cv));
	cv->col = col;
	cv->chunk = chunk;
	p = plain->p;
	end = p + plain->len;
	if (end - p < 6)
		return malformed(chunk, col);
	cv->enc = p[0];
	cv->rows = le32_get(p + 1);
	has_nulls = p[5];
	p += 6;
	if (cv->rows != want || has_nulls > 1)
		return malformed(chunk, col);
	if (has_nulls) {
		if ((size_t)(end - p) < (want + 7) / 8)
			return malformed(chunk, col);
		cv->nulls = p;
		p += (want + 7) / 8;
	}
	if (cv->enc == STORE_ENC_F64) {
		if (r->man.cols[col].type != SCHEMA_REAL || (size_t)(end - p) != (size_t)want * 8)
			return malformed(chunk, col);
	} else {
		if ((cv->enc != STORE_ENC_FOR && cv->enc != STORE_ENC_CODES) ||
		    (cv->enc == STORE_ENC_CODES) != (r->man.cols[col].type == SCHEMA_TEXT) ||
		    end - p < 9)
			return malformed(chunk, col);
		cv->base = le64_get(p);
		cv->width = p[8];
		p += 9;
		if (cv->width > 64 || (size_t)(end - p) != ((size_t)want * cv->width + 63) / 64 * 8)
			return malformed(chunk, col);
	}
	cv->data = p;
	cv->nbytes = (size_t)(end - p);
	return 0;
}

/* Bits [pos, pos + width) of a little-endian bit stream, reading no byte past them. */
static uint64_t
read_bits(const uint8_t *p, size_t pos, unsigned width)
{
	size_t b = pos / 8;
	unsigned got = 8 - (unsigned)(pos % 8);
	uint64_t v = (uint64_t)p[b++] >> (pos % 8);

	while (got < width) {
		v |= (uint64_t)p[b++] << got;
		got += 8;
	}
	return width == 64 ? v : v & (((uint64_t)1 << width) - 1);
}

/*
 * Rows [from, from + n) of the chunk in cv (from a multiple of 8, so the
 * range starts on a byte of the null bitmap and of the packed values) into
 * the arrays, from index 0.
 */
static int
chunk_unpack(const struct store_reader *r, const struct chunk_view *cv, uint32_t from, uint32_t n,
    int64_t *ints, double *reals, uint32_t *codes, uint8_t *nulls, struct store_vec *out)
{
	uint32_t i = 0;

	if (from % 8 != 0 || from > cv->rows || n > cv->rows - from)
		return sl_errf(
		    SL_ERR_INVAL, "store: rows %u..%u of a chunk of %u", from, from + n, cv->rows);
	memset(out, 0, sizeof(*out));
	out->rows = n;
	if (cv->nulls != NULL) {
		memcpy(nulls, cv->nulls + from / 8, (n + 7) / 8);
		out->nulls = nulls;
	}
	if (cv->enc == STORE_ENC_F64) {
		for (i = 0; i < n; i++) {
			uint64_t bits = le64_get(cv->data + ((size_t)from + i) * 8);

			memcpy(&reals[i], &bits, 8);
		}
		out->reals = reals;
		return 0;
	}
	/*
	 * The words are little-endian, so the bits form one little-endian byte
	 * stream, and row from starts on a byte.  This is the hot loop of every
	 * scan: unpack_fast() does all but the last few rows.
	 */
	if (cv->width > 0 && cv->width <= 56) {
		size_t skip = (size_t)from * cv->width / 8;

		i = unpack_simd(cv->data + skip, cv->nbytes - skip, n, cv->width, cv->base, ints);
		skip += (size_t)i / 8 * cv->width;
		i += unpack_fast(
		    cv->data + skip, cv->nbytes - skip, n - i, cv->width, cv->base, ints + i);
	}
	for (; i < n; i++)
		ints[i] = (int64_t)(cv->base + (cv->width == 0 ? 0
		                                               : read_bits(cv->data,
		                                                     ((size_t)from + i) * cv->width,
		                                                     cv->width)));
	if (cv->enc == STORE_ENC_CODES) {
		const uint64_t nd = r->man.cols[cv->col].dict;
		int outside = 0;

		/* A code past the dictionary is corruption; one test at the end, not a branch per row. */
		if (out->nulls == NULL) {
			outside = codes_simd(ints, codes, n, nd, &i);
			for (; i < n; i++) {
				outside |= (uint64_t)ints[i] >= nd;
				codes[i] = (uint32_t)ints[i];
			}
		} else {
			for (i = 0; i < n; i++) {
				int isnull = nulls[i / 8] >> (i % 8) & 1;

				outside |= !isnull & ((uint64_t)ints[i] >= nd);
				codes[i] = isnull ? 0 : (uint32_t)ints[i];
			}
		}
		if (outside)
			return malformed(cv->chunk, cv->col);
		out->codes = codes;
	} else {
		out->ints = ints;
	}
	return 0;
}

int
store_read_chunk(struct store_reader *r, size_t col, uint32_t chunk, struct store_vec *out)
{
	struct chunk_view cv;
	int e;

	if ((e = chunk_open(r, col, chunk, &r->plain, &cv)) != 0)
		return e;
	if (cv.rows > r->decoded)
		r->decoded = cv.rows;
	return chunk_unpack(r, &cv, 0, cv.rows, r->ints, r->reals, r->codes, r->nulls, out);
}

int
store_buf_open(
    struct store_reader *r, size_t col, uint32_t chunk, struct store_buf *buf, uint32_t *rows)
{
	int e = chunk_open(r, col, chunk, &buf->plain, &buf->cv);

	*rows = e == 0 ? buf->cv.rows : 0;
	return e;
}

int
store_buf_unpack(const struct store_reader *r, struct store_buf *buf, uint32_t from, uint32_t n,
    struct store_vec *out)
{
	return chunk_unpack(
	    r, &buf->cv, from, n, buf->ints, buf->reals, buf->codes, buf->nulls, out);
}

int
store_read_dict(struct store_reader *r, size_t col, const char *const **strs, const uint32_t **lens,
    uint32_t *n)
{
	struct rdict *d;
	struct bytes all = {0};
	uint32_t part, count, i, k = 0;
	size_t off, *offs = NULL;
	int e;

	if (col >= r->ncols || r->man.cols[col].type != SCHEMA_TEXT)
		return sl_errf(SL_ERR_INVAL, "store: column %zu has no dictionary", col);
	d = &r->dicts[col];
	if (d->loaded)
		goto done;
	if ((d->strs = calloc((size_t)r->man.cols[col].dict + 1, sizeof(char *))) == NULL ||
	    (d->lens = calloc((size_t)r->man.cols[col].dict + 1, sizeof(uint32_t))) == NULL ||
	    (offs = calloc((size_t)r->man.cols[col].dict + 1, sizeof(size_t))) == NULL) {
		e = SL_ERR_NOMEM;
		goto fail;
	}
	for (part = 0; part < r->man.cols[col].dict_parts; part++) {
		const uint8_t *p;

		if ((e = get_record(r, STORE_DICT_BIT | (uint32_t)col, part, 0)) != 0)
			goto fail;
		p = r->plain.p;
		if (r->plain.len < 4)
			goto bad;
		count = le32_get(p);
		off = 4;
		for (i = 0; i < count; i++, k++) {
			uint32_t len;

			if (k >= r->man.cols[col].dict || r->plain.len - off < 4)
				goto bad;
			len = le32_get(p + off);
			off += 4;
			if (r->plain.len - off < len)
				goto bad;
			offs[k] = all.len;
			d->lens[k] = len;
			if ((e = bytes_put(&all, p + off, len)) != 0)
				goto fail;
			off += len;
		}
		if (off != r->plain.len)
			goto bad;
	}
	if (k != r->man.cols[col].dict)
		goto bad;
	/* Point into the concatenation only now: it may have moved while growing. */
	for (i = 0; i < k; i++)
		d->strs[i] = (const char *)all.p + offs[i];
	d->data = all.p;
	d->datalen = all.cap;
	d->loaded = 1;
	free(offs);
done:
	*strs = d->strs;
	*lens = d->lens;
	*n = r->man.cols[col].dict;
	return 0;
bad:
	e = sl_errf(
	    SL_ERR_AUTH, "store: dictionary of column %zu is malformed: integrity error", col);
fail:
	bytes_free(&all);
	free(offs);
	free(d->strs);
	free(d->lens);
	d->strs = NULL;
	d->lens = NULL;
	return e;
}
