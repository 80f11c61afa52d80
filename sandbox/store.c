/*
 * sandbox/store.c -- the encrypted columnar store: writer and reader.
 *
 * Plaintext chunk layout (little-endian), before sealing:
 *   u8 encoding      1 = frame-of-reference int64, 2 = float64, 3 = dictionary codes (FOR)
 *   u32 rows
 *   u8 has_nulls     then ceil(rows / 8) bytes of null bitmap when 1
 *   FOR:   i64 base, u8 width (0..64), ceil(rows * width / 64) u64 words
 *   float: rows f64
 * docs/store-format.md is the full description.
 */
#include <lmdb.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/schema.h"
#include "common/text.h"
#include "keys/aead.h"
#include "keys/hash.h"
#include "keys/keys.h"
#include "sandbox/simd.h"
#include "sandbox/fault.h"
#include "sandbox/store.h"

#define ENC_FOR 1
#define ENC_F64 2
#define ENC_CODES 3
#define AAD_LABEL "sluice.store.v1"
#define STORE_FORMAT 1

struct store {
	MDB_env *env;
	MDB_dbi dbi;
	int writable;
};

static int
lmdb_err(int rc, const char *what)
{
	int r = sl_errf(
	    rc == MDB_MAP_FULL ? SL_ERR_LIMIT : SL_ERR_IO, "store: %s: %s", what, mdb_strerror(rc));

	return rc == MDB_MAP_FULL ? fault_code(r, JOB_ERR_FULL) : r;
}

int
store_open(const char *dir, int writable, uint64_t map_bytes, struct store **out)
{
	struct store *st;
	MDB_txn *txn = NULL;
	int rc;

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
	return lmdb_err(rc, dir);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	mdb_env_close(st->env);
	free(st);
}

/* ---- keys, AAD, sealing --------------------------------------------------- */

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A record's key within its version's environment: (column, chunk), big-endian. */
#define REC_KEY_BYTES 8

static void
rec_key(uint8_t k[REC_KEY_BYTES], uint32_t col, uint32_t chunk)
{
	be32(k, col);
	be32(k + 4, chunk);
}

/* AAD for a record; aad holds sizeof(AAD_LABEL) + product + 1 + 16 bytes. */
static size_t
rec_aad(uint8_t *aad, const char *product, uint32_t version, uint32_t col, uint32_t chunk,
    uint32_t rows)
{
	size_t pl = strlen(product), off = sizeof(AAD_LABEL);

	memcpy(aad, AAD_LABEL, sizeof(AAD_LABEL)); /* with its NUL */
	memcpy(aad + off, product, pl);
	off += pl;
	aad[off++] = 0;
	be32(aad + off, version);
	be32(aad + off + 4, col);
	be32(aad + off + 8, chunk);
	be32(aad + off + 12, rows);
	return off + 16;
}

/* A growable byte buffer for plaintext and sealed records. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static int
bytes_reserve(struct bytes *b, size_t n)
{
	uint8_t *np;
	size_t cap;

	if (n <= b->cap)
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

static int
bytes_put(struct bytes *b, const void *d, size_t n)
{
	int r;

	if ((r = bytes_reserve(b, b->len + n)) != 0)
		return r;
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

static void
bytes_free(struct bytes *b)
{
	if (b->p != NULL) {
		keys_wipe(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static void
le64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* get_le64() as one load: for the decoder's hot loop. */
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

static void
le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- the writer ----------------------------------------------------------- */

/* Insertion-ordered dictionary of one text column (open addressing). */
struct dict {
	char *arena;
	size_t arena_len, arena_cap;
	uint64_t *offs; /* entry i: offset << 24 | length would limit length; keep two arrays */
	uint32_t *lens;
	uint32_t n, cap;
	uint64_t *slots; /* the hash's high 32 bits | entry index + 1; 0 = empty */
	uint32_t nslots;
};

#define DICT_TAG_MASK 0xffffffff00000000ULL

struct colbuf {
	enum schema_type type;
	int64_t *ints;
	double *reals;
	uint8_t nulls[STORE_CHUNK_ROWS / 8];
	int any_null;
	int set;
	struct dict dict;
	/*
	 * TEXT: the chunk's strings wait in pend (ints[i] their offset, plen[i]
	 * their length, PEND_NULL for NULL) and get their codes at the flush,
	 * where the lookups can be software-pipelined (dict_resolve()).
	 */
	struct bytes pend;
	uint32_t *plen;
	uint64_t *phash;
	/*
	 * A TEXT column with a domain: the domain (borrowed from the schema)
	 * and, per domain index, its dictionary code + 1 (0: not in the
	 * dictionary yet).  Rows put by index (store_put_domain) hold their code
	 * at once, marked PEND_CODE.
	 */
	const struct schema_column *domain;
	uint32_t *dcode;
};

#define PEND_NULL UINT32_MAX
#define PEND_CODE (UINT32_MAX - 1)
#define DICT_PREFETCH 16 /* rows ahead: enough to hide a cache miss per lookup */

struct store_writer {
	struct store *st;
	MDB_txn *txn;
	struct store_ident id;
	size_t ncols;
	struct colbuf *cols;
	uint32_t rows;  /* in the current chunk */
	uint32_t chunk; /* index of the current chunk */
	uint64_t total;
	struct store_stats stats;
	struct bytes plain, sealed;
	uint8_t *aad;
};

/*
 * The dictionary's hash: eight bytes at a time, each word folded in with a
 * 64x64->128 multiply (as wyhash does).  Not keyed: the worker builds the
 * dictionary of one upload, and a crafted upload slows only its own load.
 */
static uint64_t
text_hash(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
	unsigned __int128 m;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		m = (unsigned __int128)(h ^ w) * 0xa0761d6478bd642fULL;
		h = (uint64_t)m ^ (uint64_t)(m >> 64);
	}
	w = 0;
	memcpy(&w, s, n);
	m = (unsigned __int128)(h ^ w) * 0xe7037ed1a0b428dbULL;
	return (uint64_t)m ^ (uint64_t)(m >> 64);
}

static int
dict_grow_slots(struct dict *d)
{
	uint32_t nslots = d->nslots ? d->nslots * 2 : 1024, i;
	uint64_t *slots;

	if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < d->n; i++) {
		uint64_t h = text_hash(d->arena + d->offs[i], d->lens[i]);
		uint32_t j = (uint32_t)h & (nslots - 1);

		while (slots[j] != 0)
			j = (j + 1) & (nslots - 1);
		slots[j] = (h & DICT_TAG_MASK) | (i + 1);
	}
	free(d->slots);
	d->slots = slots;
	d->nslots = nslots;
	return 0;
}

/* The code of s, whose text_hash() is h, in d, adding it if new. */
static int
dict_code(struct dict *d, const char *s, size_t len, uint64_t h, uint32_t *code)
{
	uint64_t tag = h & DICT_TAG_MASK;
	uint32_t j;
	int r;

	if (len > UINT32_MAX / 2)
		return SL_ERR_LIMIT;
	if ((d->n + 1) * 2 > d->nslots && (r = dict_grow_slots(d)) != 0)
		return r;
	for (j = (uint32_t)h & (d->nslots - 1); d->slots[j] != 0; j = (j + 1) & (d->nslots - 1)) {
		uint32_t e = (uint32_t)d->slots[j] - 1;

		if ((d->slots[j] & DICT_TAG_MASK) == tag && d->lens[e] == len &&
		    memcmp(d->arena + d->offs[e], s, len) == 0) {
			*code = e;
			return 0;
		}
	}
	if (d->n == UINT32_MAX - 1)
		return SL_ERR_LIMIT;
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 256;
		uint64_t *offs = realloc(d->offs, cap * sizeof(*offs));
		uint32_t *lens;

		if (offs == NULL)
			return SL_ERR_NOMEM;
		d->offs = offs;
		if ((lens = realloc(d->lens, cap * sizeof(*lens))) == NULL)
			return SL_ERR_NOMEM;
		d->lens = lens;
		d->cap = cap;
	}
	if (d->arena_len + len > d->arena_cap) {
		size_t cap = d->arena_cap ? d->arena_cap : 4096;
		char *a;

		while (cap < d->arena_len + len)
			cap *= 2;
		if ((a = realloc(d->arena, cap)) == NULL)
			return SL_ERR_NOMEM;
		d->arena = a;
		d->arena_cap = cap;
	}
	memcpy(d->arena + d->arena_len, s, len);
	d->offs[d->n] = d->arena_len;
	d->lens[d->n] = (uint32_t)len;
	d->arena_len += len;
	d->slots[j] = tag | (d->n + 1);
	*code = d->n++;
	return 0;
}

static void
dict_free(struct dict *d)
{
	if (d->arena != NULL) {
		keys_wipe(d->arena, d->arena_cap);
		free(d->arena);
	}
	free(d->offs);
	free(d->lens);
	free(d->slots);
	memset(d, 0, sizeof(*d));
}

/* Seal plaintext w->plain and put it at (version, col, chunk) with rows in the AAD. */
static int
put_record(struct store_writer *w, uint32_t col, uint32_t chunk, uint32_t rows)
{
	enum keys_aead alg = keys_aead_for_store(w->id.suite);
	size_t aadlen, slen = keys_aead_sealed_len(alg, w->plain.len);
	uint8_t k[REC_KEY_BYTES];
	MDB_val key, val;
	int r, rc;

	if (slen == 0)
		return SL_ERR_LIMIT;
	aadlen = rec_aad(w->aad, w->id.product, w->id.version, col, chunk, rows);
	w->sealed.len = 0;
	if ((r = bytes_reserve(&w->sealed, slen)) != 0 ||
	    (r = keys_aead_seal(
	         alg, w->id.key, w->aad, aadlen, w->plain.p, w->plain.len, w->sealed.p)) != 0)
		return r;
	rec_key(k, col, chunk);
	key.mv_size = sizeof(k);
	key.mv_data = k;
	val.mv_size = slen;
	val.mv_data = w->sealed.p;
	if ((rc = mdb_put(w->txn, w->st->dbi, &key, &val, 0)) != 0)
		return lmdb_err(rc, "write chunk");
	w->stats.bytes += slen;
	return 0;
}

/* Encode column c's current chunk into w->plain. */
/*
 * Codes for the chunk's pending strings, in row order (so codes are numbered
 * by first appearance).  The probes of a large dictionary miss the cache;
 * hashing every row first lets each probe's slot be fetched DICT_PREFETCH
 * rows ahead.
 */
static int
dict_resolve(struct colbuf *c, uint32_t rows)
{
	struct dict *d = &c->dict;
	uint32_t i, code;
	int r;

	for (i = 0; i < rows; i++)
		if (c->plen[i] < PEND_CODE)
			c->phash[i] = text_hash((const char *)c->pend.p + c->ints[i], c->plen[i]);
	for (i = 0; i < rows; i++) {
		if (i + DICT_PREFETCH < rows && d->nslots > 0 &&
		    c->plen[i + DICT_PREFETCH] < PEND_CODE)
			__builtin_prefetch(
			    &d->slots[c->phash[i + DICT_PREFETCH] & (d->nslots - 1)]);
		if (c->plen[i] == PEND_NULL) {
			c->ints[i] = 0;
			continue;
		}
		if (c->plen[i] == PEND_CODE)
			continue;
		if ((r = dict_code(d, (const char *)c->pend.p + c->ints[i], c->plen[i], c->phash[i],
		         &code)) != 0)
			return r;
		c->ints[i] = code;
	}
	c->pend.len = 0;
	return 0;
}

static int
encode_chunk(struct store_writer *w, struct colbuf *c)
{
	uint32_t rows = w->rows, i;
	uint8_t head[6], base[9];
	int r;

	w->plain.len = 0;
	head[0] = c->type == SCHEMA_REAL ? ENC_F64 : c->type == SCHEMA_TEXT ? ENC_CODES : ENC_FOR;
	le32(head + 1, rows);
	head[5] = (uint8_t)(c->any_null != 0);
	if ((r = bytes_put(&w->plain, head, sizeof(head))) != 0)
		return r;
	if (c->any_null && (r = bytes_put(&w->plain, c->nulls, (rows + 7) / 8)) != 0)
		return r;
	if (c->type == SCHEMA_REAL) {
		if ((r = bytes_reserve(&w->plain, w->plain.len + (size_t)rows * 8)) != 0)
			return r;
		for (i = 0; i < rows; i++) {
			uint64_t bits;

			memcpy(&bits, &c->reals[i], 8);
			le64(w->plain.p + w->plain.len + (size_t)i * 8, bits);
		}
		w->plain.len += (size_t)rows * 8;
		return 0;
	}
	/* Frame of reference over the non-null values; nulls hold the base. */
	{
		int64_t lo = INT64_MAX, hi = INT64_MIN;
		uint64_t range, acc = 0;
		size_t nwords;
		unsigned width = 0, used = 0;
		uint8_t *out;

		for (i = 0; i < rows; i++) {
			if (c->any_null && (c->nulls[i / 8] >> (i % 8) & 1))
				continue;
			lo = c->ints[i] < lo ? c->ints[i] : lo;
			hi = c->ints[i] > hi ? c->ints[i] : hi;
		}
		if (lo > hi)
			lo = hi = 0; /* all null */
		range = (uint64_t)hi - (uint64_t)lo;
		while (width < 64 && (range >> width) != 0)
			width++;
		le64(base, (uint64_t)lo);
		base[8] = (uint8_t)width;
		if ((r = bytes_put(&w->plain, base, sizeof(base))) != 0)
			return r;
		nwords = ((size_t)rows * width + 63) / 64;
		if ((r = bytes_reserve(&w->plain, w->plain.len + nwords * 8)) != 0)
			return r;
		/* The words go straight into the plaintext; acc holds the one being filled. */
		out = w->plain.p + w->plain.len;
		for (i = 0; width > 0 && i < rows; i++) {
			int isnull = c->any_null && (c->nulls[i / 8] >> (i % 8) & 1);
			uint64_t v = isnull ? 0 : (uint64_t)c->ints[i] - (uint64_t)lo;

			acc |= v << used;
			if (used + width >= 64) {
				le64(out, acc);
				out += 8;
				acc = used + width > 64 ? v >> (64 - used) : 0;
				used = used + width - 64;
			} else {
				used += width;
			}
		}
		if (used > 0)
			le64(out, acc);
		w->plain.len += nwords * 8;
	}
	return 0;
}

static int
flush_chunk(struct store_writer *w)
{
	size_t i;
	int r;

	if (w->rows == 0)
		return 0;
	for (i = 0; i < w->ncols; i++) {
		if ((w->cols[i].type == SCHEMA_TEXT &&
		        (r = dict_resolve(&w->cols[i], w->rows)) != 0) ||
		    (r = encode_chunk(w, &w->cols[i])) != 0 ||
		    (r = put_record(w, (uint32_t)i, w->chunk, w->rows)) != 0)
			return r;
		memset(w->cols[i].nulls, 0, sizeof(w->cols[i].nulls));
		w->cols[i].any_null = 0;
	}
	w->stats.chunks += w->ncols;
	w->chunk++;
	w->rows = 0;
	return 0;
}

/*
 * A version's environment holds that version alone: whatever an earlier,
 * unpublished attempt left in it goes.
 */
static int
clear_env(MDB_txn *txn, MDB_dbi dbi)
{
	int rc = mdb_drop(txn, dbi, 0);

	return rc == 0 ? 0 : lmdb_err(rc, "clear");
}

void
store_writer_abort(struct store_writer *w)
{
	size_t i;

	if (w == NULL)
		return;
	if (w->txn != NULL)
		mdb_txn_abort(w->txn);
	for (i = 0; w->cols != NULL && i < w->ncols; i++) {
		struct colbuf *c = &w->cols[i];

		if (c->ints != NULL) {
			keys_wipe(c->ints, STORE_CHUNK_ROWS * sizeof(int64_t));
			free(c->ints);
		}
		if (c->reals != NULL) {
			keys_wipe(c->reals, STORE_CHUNK_ROWS * sizeof(double));
			free(c->reals);
		}
		dict_free(&c->dict);
		bytes_free(&c->pend);
		free(c->plen);
		free(c->phash);
		free(c->dcode);
	}
	free(w->cols);
	bytes_free(&w->plain);
	bytes_free(&w->sealed);
	free(w->aad);
	free(w);
}

int
store_writer_begin(struct store *st, const struct store_ident *id, const struct schema *s,
    struct store_writer **out)
{
	struct store_writer *w;
	size_t i;
	int r, rc;

	if (!st->writable)
		return sl_errf(SL_ERR_INVAL, "store: opened read-only");
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return SL_ERR_NOMEM;
	w->st = st;
	w->id = *id;
	w->ncols = s->ncols;
	if ((w->cols = calloc(s->ncols, sizeof(*w->cols))) == NULL ||
	    (w->aad = malloc(sizeof(AAD_LABEL) + strlen(id->product) + 1 + 16)) == NULL) {
		r = SL_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < s->ncols; i++) {
		struct colbuf *c = &w->cols[i];

		c->type = s->cols[i].type;
		if (c->type == SCHEMA_REAL)
			c->reals = calloc(STORE_CHUNK_ROWS, sizeof(double));
		else
			c->ints = calloc(STORE_CHUNK_ROWS, sizeof(int64_t));
		if (c->type == SCHEMA_TEXT &&
		    ((c->plen = calloc(STORE_CHUNK_ROWS, sizeof(*c->plen))) == NULL ||
		        (c->phash = calloc(STORE_CHUNK_ROWS, sizeof(*c->phash))) == NULL)) {
			r = SL_ERR_NOMEM;
			goto fail;
		}
		if (c->type == SCHEMA_TEXT && s->cols[i].ndomain > 0) {
			c->domain = &s->cols[i];
			if ((c->dcode = calloc(s->cols[i].ndomain, sizeof(*c->dcode))) == NULL) {
				r = SL_ERR_NOMEM;
				goto fail;
			}
		}
		if (c->reals == NULL && c->ints == NULL) {
			r = SL_ERR_NOMEM;
			goto fail;
		}
	}
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &w->txn)) != 0) {
		r = lmdb_err(rc, "begin");
		goto fail;
	}
	if ((r = clear_env(w->txn, st->dbi)) != 0)
		goto fail;
	*out = w;
	return 0;
fail:
	store_writer_abort(w);
	return r;
}

static struct colbuf *
slot(struct store_writer *w, size_t col)
{
	struct colbuf *c;

	if (col >= w->ncols || (c = &w->cols[col])->set)
		return NULL;
	c->set = 1;
	return c;
}

int
store_put_int(struct store_writer *w, size_t col, int64_t v)
{
	struct colbuf *c = slot(w, col);

	if (c == NULL || c->ints == NULL || c->type == SCHEMA_TEXT)
		return sl_errf(SL_ERR_INTERNAL, "store: bad int put to column %zu", col);
	c->ints[w->rows] = v;
	return 0;
}

int
store_put_real(struct store_writer *w, size_t col, double v)
{
	struct colbuf *c = slot(w, col);

	if (c == NULL || c->reals == NULL)
		return sl_errf(SL_ERR_INTERNAL, "store: bad real put to column %zu", col);
	c->reals[w->rows] = v;
	return 0;
}

int
store_put_text(struct store_writer *w, size_t col, const char *s, size_t len)
{
	struct colbuf *c = slot(w, col);

	if (c == NULL || c->type != SCHEMA_TEXT)
		return sl_errf(SL_ERR_INTERNAL, "store: bad text put to column %zu", col);
	if (len > UINT32_MAX / 2)
		return sl_errf(SL_ERR_LIMIT, "store: a text value of %zu bytes", len);
	c->ints[w->rows] = (int64_t)c->pend.len;
	c->plen[w->rows] = (uint32_t)len;
	return bytes_put(&c->pend, s, len);
}

int
store_put_domain(struct store_writer *w, size_t col, uint32_t index)
{
	struct colbuf *c = slot(w, col);
	const char *s;
	uint32_t code;
	size_t len;
	int r;

	if (c == NULL || c->dcode == NULL || index >= c->domain->ndomain)
		return sl_errf(SL_ERR_INTERNAL, "store: bad domain put to column %zu", col);
	if (c->dcode[index] == 0) {
		s = c->domain->domain_text[index];
		len = c->domain->domain_len[index];
		if ((r = dict_code(&c->dict, s, len, text_hash(s, len), &code)) != 0)
			return r;
		c->dcode[index] = code + 1;
	}
	c->ints[w->rows] = c->dcode[index] - 1;
	c->plen[w->rows] = PEND_CODE;
	return 0;
}

int
store_put_null(struct store_writer *w, size_t col)
{
	struct colbuf *c = slot(w, col);

	if (c == NULL)
		return sl_errf(SL_ERR_INTERNAL, "store: bad null put to column %zu", col);
	c->nulls[w->rows / 8] |= (uint8_t)(1u << (w->rows % 8));
	c->any_null = 1;
	if (c->plen != NULL)
		c->plen[w->rows] = PEND_NULL;
	if (c->ints != NULL)
		c->ints[w->rows] = 0;
	else
		c->reals[w->rows] = 0;
	return 0;
}

int
store_row_end(struct store_writer *w)
{
	size_t i;

	for (i = 0; i < w->ncols; i++) {
		if (!w->cols[i].set)
			return sl_errf(SL_ERR_INTERNAL, "store: column %zu has no value", i);
		w->cols[i].set = 0;
	}
	w->rows++;
	w->total++;
	return w->rows == STORE_CHUNK_ROWS ? flush_chunk(w) : 0;
}

/* Dictionary parts: u32 count, then (u32 length, bytes) per entry. */
static int
write_dicts(struct store_writer *w, json_t *cols)
{
	uint8_t len4[4];
	size_t i;
	int r;

	for (i = 0; i < w->ncols; i++) {
		struct dict *d = &w->cols[i].dict;
		uint32_t e = 0, part = 0, start;

		if (w->cols[i].type != SCHEMA_TEXT)
			continue;
		while (e < d->n || part == 0) {
			w->plain.len = 0;
			start = e;
			if ((r = bytes_put(&w->plain, len4, 4)) != 0)
				return r;
			while (e < d->n && w->plain.len + 4 + d->lens[e] <= STORE_DICT_PART_BYTES) {
				le32(len4, d->lens[e]);
				if ((r = bytes_put(&w->plain, len4, 4)) != 0 ||
				    (r = bytes_put(&w->plain, d->arena + d->offs[e], d->lens[e])) !=
				        0)
					return r;
				e++;
			}
			if (e == start && e < d->n)
				return sl_errf(SL_ERR_LIMIT,
				    "store: a text value is larger than %u bytes",
				    STORE_DICT_PART_BYTES);
			le32(w->plain.p, e - start);
			/* The count is in the sealed plaintext; the AAD binds row count 0. */
			if ((r = put_record(w, STORE_DICT_BIT | (uint32_t)i, part, 0)) != 0)
				return r;
			part++;
		}
		json_object_set_new(json_array_get(cols, i), "dict", json_integer(d->n));
		json_object_set_new(json_array_get(cols, i), "dict_parts", json_integer(part));
	}
	return 0;
}

int
store_writer_commit(struct store_writer *w, struct store_stats *stats)
{
	json_t *man = NULL, *cols;
	char *text = NULL;
	size_t i;
	int r, rc;

	if ((r = flush_chunk(w)) != 0)
		goto out;
	if ((cols = json_array()) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < w->ncols; i++)
		json_array_append_new(cols, json_pack("{s:i}", "type", (int)w->cols[i].type));
	if ((man = json_pack("{s:i, s:I, s:i, s:i, s:o}", "format", STORE_FORMAT, "rows",
	         (json_int_t)w->total, "chunk_rows", (int)STORE_CHUNK_ROWS, "chunks", (int)w->chunk,
	         "columns", cols)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if ((r = write_dicts(w, cols)) != 0)
		goto out;
	if ((text = json_dumps(man, JSON_COMPACT)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	w->plain.len = 0;
	if ((r = bytes_put(&w->plain, text, strlen(text))) != 0 ||
	    (r = put_record(w, STORE_MANIFEST, 0, 0)) != 0 ||
	    (r = keys_hash(w->id.suite, w->sealed.p,
	         keys_aead_sealed_len(keys_aead_for_store(w->id.suite), w->plain.len),
	         w->stats.manifest_digest)) != 0)
		goto out;
	rc = mdb_txn_commit(w->txn);
	w->txn = NULL;
	if (rc != 0) {
		r = lmdb_err(rc, "commit");
		goto out;
	}
	w->stats.rows = w->total;
	if (stats != NULL)
		*stats = w->stats;
out:
	free(text);
	json_decref(man);
	store_writer_abort(w);
	return r;
}

json_t *
store_stats_json(const struct store_stats *st)
{
	char hex[2 * STORE_DIGEST_BYTES + 1];

	sl_hex_encode(st->manifest_digest, STORE_DIGEST_BYTES, hex);
	return json_pack("{s:I, s:I, s:I, s:s}", "rows", (json_int_t)st->rows, "chunks",
	    (json_int_t)st->chunks, "bytes", (json_int_t)st->bytes, "manifest", hex);
}

/* ---- the reader ----------------------------------------------------------- */

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
	int *types;
	uint32_t *dict_n, *dict_parts;
	struct rdict *dicts;
	uint8_t *aad;
	struct bytes plain;
	int64_t *ints;
	double *reals;
	uint32_t *codes;
	uint8_t nulls[STORE_CHUNK_ROWS / 8];
};

/* Fetch and open record (col, chunk) into r->plain; rows goes into the AAD. */
static int
get_record_into(
    struct store_reader *r, uint32_t col, uint32_t chunk, uint32_t rows, struct bytes *plain)
{
	uint8_t k[REC_KEY_BYTES];
	MDB_val key, val;
	size_t aadlen, len = 0;
	int rc, e;

	rec_key(k, col, chunk);
	key.mv_size = sizeof(k);
	key.mv_data = k;
	if ((rc = mdb_get(r->txn, r->st->dbi, &key, &val)) != 0)
		return rc == MDB_NOTFOUND ? sl_errf(SL_ERR_AUTH,
		                                "store: record (%u, %u, %u) missing: "
		                                "integrity error",
		                                r->id.version, col, chunk)
		                          : lmdb_err(rc, "read");
	plain->len = 0;
	if ((e = bytes_reserve(plain, val.mv_size + 1)) != 0)
		return e;
	aadlen = rec_aad(r->aad, r->id.product, r->id.version, col, chunk, rows);
	if (keys_aead_open(r->id.suite, r->id.key, r->aad, aadlen, val.mv_data, val.mv_size,
	        plain->p, &len) != 0) {
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
	plain->len = len;
	return 0;
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
	free(r->types);
	free(r->dict_n);
	free(r->dict_parts);
	free(r->aad);
	bytes_free(&r->plain);
	if (r->ints != NULL) {
		keys_wipe(r->ints, STORE_CHUNK_ROWS * sizeof(int64_t));
		free(r->ints);
	}
	if (r->reals != NULL) {
		keys_wipe(r->reals, STORE_CHUNK_ROWS * sizeof(double));
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
	uint8_t k[REC_KEY_BYTES], got[STORE_DIGEST_BYTES];
	MDB_val key, val;
	int rc, e;

	rec_key(k, STORE_MANIFEST, 0);
	key.mv_size = sizeof(k);
	key.mv_data = k;
	if ((rc = mdb_get(r->txn, r->st->dbi, &key, &val)) != 0)
		return rc == MDB_NOTFOUND
		           ? sl_errf(SL_ERR_AUTH,
		                 "store: version %u has no manifest: integrity error",
		                 r->id.version)
		           : lmdb_err(rc, "read manifest");
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
	json_t *man = NULL, *cols;
	size_t i;
	int e, rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SL_ERR_NOMEM;
	r->st = st;
	r->id = *id;
	if ((r->product = strdup(id->product)) == NULL ||
	    (r->aad = malloc(sizeof(AAD_LABEL) + strlen(id->product) + 1 + 16)) == NULL ||
	    (r->ints = calloc(STORE_CHUNK_ROWS, sizeof(int64_t))) == NULL ||
	    (r->reals = calloc(STORE_CHUNK_ROWS, sizeof(double))) == NULL ||
	    (r->codes = calloc(STORE_CHUNK_ROWS, sizeof(uint32_t))) == NULL) {
		e = SL_ERR_NOMEM;
		goto fail;
	}
	r->id.product = r->product;
	r->id.manifest_digest = NULL;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->txn)) != 0) {
		e = lmdb_err(rc, "begin read");
		goto fail;
	}
	if (id->manifest_digest != NULL && (e = manifest_check(r, id->manifest_digest)) != 0)
		goto fail;
	if ((e = get_record(r, STORE_MANIFEST, 0, 0)) != 0) {
		if (strstr(sl_err_msg(e), "missing") != NULL)
			e = sl_errf(SL_ERR_NOTFOUND, "store: version %u not found", id->version);
		goto fail;
	}
	if ((man = json_loadb((const char *)r->plain.p, r->plain.len, 0, NULL)) == NULL ||
	    json_integer_value(json_object_get(man, "format")) != STORE_FORMAT ||
	    json_integer_value(json_object_get(man, "chunk_rows")) != STORE_CHUNK_ROWS ||
	    !json_is_array(cols = json_object_get(man, "columns")) ||
	    json_array_size(cols) != s->ncols) {
		e = sl_errf(SL_ERR_AUTH, "store: version %u manifest does not match the schema",
		    id->version);
		goto fail;
	}
	r->rows = (uint64_t)json_integer_value(json_object_get(man, "rows"));
	r->chunks = (uint32_t)json_integer_value(json_object_get(man, "chunks"));
	if (r->chunks != (r->rows + STORE_CHUNK_ROWS - 1) / STORE_CHUNK_ROWS) {
		e = sl_errf(
		    SL_ERR_AUTH, "store: version %u manifest: inconsistent counts", id->version);
		goto fail;
	}
	r->ncols = s->ncols;
	if ((r->types = calloc(r->ncols, sizeof(int))) == NULL ||
	    (r->dict_n = calloc(r->ncols, sizeof(uint32_t))) == NULL ||
	    (r->dict_parts = calloc(r->ncols, sizeof(uint32_t))) == NULL ||
	    (r->dicts = calloc(r->ncols, sizeof(*r->dicts))) == NULL) {
		e = SL_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < r->ncols; i++) {
		json_t *c = json_array_get(cols, i);

		r->types[i] = (int)json_integer_value(json_object_get(c, "type"));
		r->dict_n[i] = (uint32_t)json_integer_value(json_object_get(c, "dict"));
		r->dict_parts[i] = (uint32_t)json_integer_value(json_object_get(c, "dict_parts"));
		if (r->types[i] != (int)s->cols[i].type) {
			e = sl_errf(
			    SL_ERR_AUTH, "store: column %zu type differs from the schema", i);
			goto fail;
		}
	}
	json_decref(man);
	*out = r;
	return 0;
fail:
	json_decref(man);
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
	const uint8_t *data;  /* ENC_F64: rows doubles; else the packed words */
	size_t nbytes;
	uint64_t base; /* ENC_FOR, ENC_CODES */
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
	want = chunk + 1 < r->chunks ? STORE_CHUNK_ROWS
	                             : (uint32_t)(r->rows - (uint64_t)chunk * STORE_CHUNK_ROWS);
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
	cv->rows = get_le32(p + 1);
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
	if (cv->enc == ENC_F64) {
		if (r->types[col] != SCHEMA_REAL || (size_t)(end - p) != (size_t)want * 8)
			return malformed(chunk, col);
	} else {
		if ((cv->enc != ENC_FOR && cv->enc != ENC_CODES) ||
		    (cv->enc == ENC_CODES) != (r->types[col] == SCHEMA_TEXT) || end - p < 9)
			return malformed(chunk, col);
		cv->base = get_le64(p);
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
	if (cv->enc == ENC_F64) {
		for (i = 0; i < n; i++) {
			uint64_t bits = get_le64(cv->data + ((size_t)from + i) * 8);

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
	if (cv->enc == ENC_CODES) {
		const uint64_t nd = r->dict_n[cv->col];
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

	if (col >= r->ncols || r->types[col] != SCHEMA_TEXT)
		return sl_errf(SL_ERR_INVAL, "store: column %zu has no dictionary", col);
	d = &r->dicts[col];
	if (d->loaded)
		goto done;
	if ((d->strs = calloc((size_t)r->dict_n[col] + 1, sizeof(char *))) == NULL ||
	    (d->lens = calloc((size_t)r->dict_n[col] + 1, sizeof(uint32_t))) == NULL ||
	    (offs = calloc((size_t)r->dict_n[col] + 1, sizeof(size_t))) == NULL) {
		e = SL_ERR_NOMEM;
		goto fail;
	}
	for (part = 0; part < r->dict_parts[col]; part++) {
		const uint8_t *p;

		if ((e = get_record(r, STORE_DICT_BIT | (uint32_t)col, part, 0)) != 0)
			goto fail;
		p = r->plain.p;
		if (r->plain.len < 4)
			goto bad;
		count = get_le32(p);
		off = 4;
		for (i = 0; i < count; i++, k++) {
			uint32_t len;

			if (k >= r->dict_n[col] || r->plain.len - off < 4)
				goto bad;
			len = get_le32(p + off);
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
	if (k != r->dict_n[col])
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
	*n = r->dict_n[col];
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

/* ---- key rotation ---------------------------------------------------------- */

/* The row count a record binds in its AAD, from the source manifest. */
static uint32_t
record_rows(uint32_t col, uint32_t chunk, uint64_t rows, uint32_t chunks)
{
	if (col == STORE_MANIFEST || (col & STORE_DICT_BIT) != 0)
		return 0;
	return chunk + 1 < chunks ? STORE_CHUNK_ROWS
	                          : (uint32_t)(rows - (uint64_t)chunk * STORE_CHUNK_ROWS);
}

int
store_rekey(struct store *src, struct store *dst, const struct store_ident *from,
    const struct store_ident *to, struct store_stats *stats)
{
	enum keys_aead alg = keys_aead_for_store(to->suite);
	MDB_txn *rtxn = NULL, *wtxn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val, nv;
	struct bytes plain = {0}, sealed = {0};
	uint8_t k[REC_KEY_BYTES], *aad = NULL;
	uint64_t rows = 0;
	uint32_t chunks = 0, col, chunk;
	size_t aadlen, len, slen;
	json_t *man = NULL;
	int r = 0, rc;

	memset(stats, 0, sizeof(*stats));
	if (src->writable || !dst->writable || strcmp(from->product, to->product) != 0 ||
	    from->suite != to->suite || from->version == to->version)
		return sl_errf(SL_ERR_INVAL, "store: bad key rotation request");
	if ((aad = malloc(sizeof(AAD_LABEL) + strlen(from->product) + 1 + 16)) == NULL)
		return SL_ERR_NOMEM;
	if ((rc = mdb_txn_begin(src->env, NULL, MDB_RDONLY, &rtxn)) != 0 ||
	    (rc = mdb_txn_begin(dst->env, NULL, 0, &wtxn)) != 0) {
		r = lmdb_err(rc, "begin");
		goto out;
	}
	if ((r = clear_env(wtxn, dst->dbi)) != 0)
		goto out;
	/* The manifest first: it gives each chunk's row count for the AAD. */
	rec_key(k, STORE_MANIFEST, 0);
	key.mv_size = sizeof(k);
	key.mv_data = k;
	if ((rc = mdb_get(rtxn, src->dbi, &key, &val)) != 0) {
		r = rc == MDB_NOTFOUND
		        ? sl_errf(SL_ERR_NOTFOUND, "store: version %u not found", from->version)
		        : lmdb_err(rc, "read");
		goto out;
	}
	if ((r = bytes_reserve(&plain, val.mv_size + 1)) != 0)
		goto out;
	aadlen = rec_aad(aad, from->product, from->version, STORE_MANIFEST, 0, 0);
	if (keys_aead_open(from->suite, from->key, aad, aadlen, val.mv_data, val.mv_size, plain.p,
	        &len) != 0 ||
	    (man = json_loadb((const char *)plain.p, len, 0, NULL)) == NULL) {
		r = sl_errf(
		    SL_ERR_AUTH, "store: version %u manifest: integrity error", from->version);
		goto out;
	}
	rows = (uint64_t)json_integer_value(json_object_get(man, "rows"));
	chunks = (uint32_t)json_integer_value(json_object_get(man, "chunks"));
	if ((rc = mdb_cursor_open(rtxn, src->dbi, &cur)) != 0) {
		r = lmdb_err(rc, "cursor");
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		const uint8_t *kp = key.mv_data;

		if (key.mv_size != REC_KEY_BYTES) {
			r = sl_errf(SL_ERR_AUTH,
			    "store: version %u holds a record with a %zu-byte key", from->version,
			    key.mv_size);
			goto out;
		}
		col = (uint32_t)kp[0] << 24 | (uint32_t)kp[1] << 16 | (uint32_t)kp[2] << 8 | kp[3];
		chunk =
		    (uint32_t)kp[4] << 24 | (uint32_t)kp[5] << 16 | (uint32_t)kp[6] << 8 | kp[7];
		if (col != STORE_MANIFEST && (col & STORE_DICT_BIT) == 0 && chunk >= chunks) {
			r = sl_errf(SL_ERR_AUTH, "store: version %u has a chunk past its manifest",
			    from->version);
			goto out;
		}
		plain.len = 0;
		if ((r = bytes_reserve(&plain, val.mv_size + 1)) != 0)
			goto out;
		aadlen = rec_aad(aad, from->product, from->version, col, chunk,
		    record_rows(col, chunk, rows, chunks));
		if (keys_aead_open(from->suite, from->key, aad, aadlen, val.mv_data, val.mv_size,
		        plain.p, &len) != 0) {
			r = sl_errf(SL_ERR_AUTH,
			    "store: record (version %u, column %u, chunk %u) fails authentication: "
			    "integrity error",
			    from->version, col & ~STORE_DICT_BIT, chunk);
			goto out;
		}
		if ((slen = keys_aead_sealed_len(alg, len)) == 0 ||
		    (r = bytes_reserve(&sealed, slen)) != 0)
			goto out;
		aadlen = rec_aad(aad, to->product, to->version, col, chunk,
		    record_rows(col, chunk, rows, chunks));
		if ((r = keys_aead_seal(alg, to->key, aad, aadlen, plain.p, len, sealed.p)) != 0)
			goto out;
		nv.mv_size = slen;
		nv.mv_data = sealed.p;
		if ((rc = mdb_put(wtxn, dst->dbi, &key, &nv, 0)) != 0) {
			r = lmdb_err(rc, "write");
			goto out;
		}
		if (col == STORE_MANIFEST &&
		    (r = keys_hash(to->suite, sealed.p, slen, stats->manifest_digest)) != 0)
			goto out;
		if (col != STORE_MANIFEST && (col & STORE_DICT_BIT) == 0)
			stats->chunks++;
		stats->bytes += slen;
	}
	if (rc != MDB_NOTFOUND) {
		r = lmdb_err(rc, "scan");
		goto out;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	rc = mdb_txn_commit(wtxn);
	wtxn = NULL;
	if (rc != 0) {
		r = lmdb_err(rc, "commit");
		goto out;
	}
	stats->rows = rows;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (wtxn != NULL)
		mdb_txn_abort(wtxn);
	if (rtxn != NULL)
		mdb_txn_abort(rtxn);
	json_decref(man);
	if (plain.p != NULL)
		keys_wipe(plain.p, plain.cap);
	bytes_free(&plain);
	bytes_free(&sealed);
	free(aad);
	return r;
}
