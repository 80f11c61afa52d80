/*
 * sandbox/store_write.c -- writing a version: the ingest writer, which
 * buffers a chunk of rows per column, encodes and seals it, and key
 * rotation, which seals every record of a version again under a new key
 * (sandbox/store.h; the format is sandbox/store_internal.h).
 *
 * Trusts: the ident and schema it is given (the job header).  Holds:
 * plaintext rows of the chunk being filled, the dictionaries of text
 * columns, and the data key(s), all wiped when the writer ends.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/schema.h"
#include "keys/keys.h"
#include "sandbox/store_internal.h"

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
	struct dict *dict; /* the column's, shared by both buffers of a pipelined writer */
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
	uint32_t *dcode; /* the column's, shared as dict is */
};

#define PEND_NULL UINT32_MAX
#define PEND_CODE (UINT32_MAX - 1)
#define TEXT_MAX (UINT32_MAX / 2) /* a text value's bytes: below both marks */
#define DICT_PREFETCH 16 /* rows ahead: enough to hide a cache miss per lookup */

/* IDLE -> WORK (handed over) -> BUSY (taken, by either thread) -> DONE (sealed) -> IDLE (put). */
enum flush_state { FLUSH_IDLE, FLUSH_WORK, FLUSH_BUSY, FLUSH_DONE, FLUSH_QUIT };

/*
 * A pipelined writer's second thread: it resolves, encodes and seals one
 * full chunk while the putting thread fills the next, which then puts the
 * sealed records in order (it holds the write transaction).  It alone
 * touches the dictionaries of columns without a domain; the putting thread
 * alone those of columns with one (store_put_domain()), so no dictionary is
 * shared.
 */
struct flusher {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum flush_state state;
	struct store_writer *w;
	struct colbuf *cols; /* the chunk handed over */
	uint32_t chunk, rows;
	struct bytes plain;
	uint8_t *aad;
	struct bytes *sealed; /* a record per column */
	int rc;
	char msg[256];
};

struct store_writer {
	struct store_sink out;
	size_t ncols;
	struct colbuf *cols;  /* the chunk being filled */
	struct colbuf *spare; /* pipelined: the other buffers, at the flusher or free */
	struct dict *dicts;   /* one per column */
	uint32_t **dcodes;    /* a domain column's codes, per domain index; else NULL */
	struct flusher *fl;   /* NULL: every chunk is sealed by the putting thread */
	uint32_t rows;        /* in the current chunk */
	uint32_t chunk;       /* index of the current chunk */
	uint64_t total;
	struct bytes plain; /* the record being encoded */
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

	if (len > TEXT_MAX)
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
	/* Made with the first value, "" too: an offset into a NULL arena is undefined. */
	if (d->arena == NULL || d->arena_len + len > d->arena_cap) {
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

/* Seal w->plain as record (col, chunk) with rows in the AAD. */
static int
put_record(struct store_writer *w, uint32_t col, uint32_t chunk, uint32_t rows)
{
	return store_sink_put(&w->out, col, chunk, rows, w->plain.p, w->plain.len);
}

/*
 * Codes for the chunk's pending strings, in row order (so codes are numbered
 * by first appearance).  The probes of a large dictionary miss the cache;
 * hashing every row first lets each probe's slot be fetched DICT_PREFETCH
 * rows ahead.
 */
static int
dict_resolve(struct colbuf *c, uint32_t rows)
{
	struct dict *d = c->dict;
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

/* Encode column c's rows into plain. */
static int
encode_chunk(struct bytes *plain, struct colbuf *c, uint32_t rows)
{
	uint32_t i;
	uint8_t head[6], base[9];
	int r;

	plain->len = 0;
	head[0] = c->type == SCHEMA_REAL   ? STORE_ENC_F64
	          : c->type == SCHEMA_TEXT ? STORE_ENC_CODES
	                                   : STORE_ENC_FOR;
	le32_put(head + 1, rows);
	head[5] = (uint8_t)(c->any_null != 0);
	if ((r = bytes_put(plain, head, sizeof(head))) != 0)
		return r;
	if (c->any_null && (r = bytes_put(plain, c->nulls, (rows + 7) / 8)) != 0)
		return r;
	if (c->type == SCHEMA_REAL) {
		if ((r = bytes_reserve(plain, plain->len + (size_t)rows * 8)) != 0)
			return r;
		for (i = 0; i < rows; i++) {
			uint64_t bits;

			memcpy(&bits, &c->reals[i], 8);
			le64_put(plain->p + plain->len + (size_t)i * 8, bits);
		}
		plain->len += (size_t)rows * 8;
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
		le64_put(base, (uint64_t)lo);
		base[8] = (uint8_t)width;
		if ((r = bytes_put(plain, base, sizeof(base))) != 0)
			return r;
		nwords = ((size_t)rows * width + 63) / 64;
		if ((r = bytes_reserve(plain, plain->len + nwords * 8)) != 0)
			return r;
		/* The words go straight into the plaintext; acc holds the one being filled. */
		out = plain->p + plain->len;
		for (i = 0; width > 0 && i < rows; i++) {
			int isnull = c->any_null && (c->nulls[i / 8] >> (i % 8) & 1);
			uint64_t v = isnull ? 0 : (uint64_t)c->ints[i] - (uint64_t)lo;

			acc |= v << used;
			if (used + width >= 64) {
				le64_put(out, acc);
				out += 8;
				acc = used + width > 64 ? v >> (64 - used) : 0;
				used = used + width - 64;
			} else {
				used += width;
			}
		}
		if (used > 0)
			le64_put(out, acc);
		plain->len += nwords * 8;
	}
	return 0;
}

/* Column c of a full chunk, resolved and encoded into plain; its null map cleared after. */
static int
chunk_column(struct colbuf *c, uint32_t rows, int pipelined, struct bytes *plain)
{
	int r;

	/* A pipelined domain column holds codes only (store_put_text() refuses text). */
	if (c->type == SCHEMA_TEXT && !(pipelined && c->domain != NULL) &&
	    (r = dict_resolve(c, rows)) != 0)
		return r;
	if ((r = encode_chunk(plain, c, rows)) != 0)
		return r;
	memset(c->nulls, 0, sizeof(c->nulls));
	c->any_null = 0;
	return 0;
}

/* The chunk handed over (state BUSY, taken by the caller): resolved, encoded, sealed; then DONE. */
static void
flusher_work(struct flusher *fl)
{
	struct store_writer *w = fl->w;
	size_t i;
	int r;

	sl_err_clear();
	for (i = 0, r = 0; i < w->ncols && r == 0; i++)
		if ((r = chunk_column(&fl->cols[i], fl->rows, 1, &fl->plain)) == 0)
			r = store_record_seal(&w->out.id, fl->aad, (uint32_t)i, fl->chunk, fl->rows,
			    fl->plain.p, fl->plain.len, &fl->sealed[i]);
	pthread_mutex_lock(&fl->mu);
	fl->rc = r;
	if (r != 0)
		snprintf(fl->msg, sizeof fl->msg, "%s", sl_err_msg(r));
	fl->state = FLUSH_DONE;
	pthread_cond_broadcast(&fl->cv);
	pthread_mutex_unlock(&fl->mu);
}

static void *
flusher_run(void *arg)
{
	struct flusher *fl = arg;

	pthread_mutex_lock(&fl->mu);
	for (;;) {
		while (fl->state != FLUSH_WORK && fl->state != FLUSH_QUIT)
			pthread_cond_wait(&fl->cv, &fl->mu);
		if (fl->state == FLUSH_QUIT)
			break;
		fl->state = FLUSH_BUSY;
		pthread_mutex_unlock(&fl->mu);
		flusher_work(fl);
		pthread_mutex_lock(&fl->mu);
	}
	pthread_mutex_unlock(&fl->mu);
	return NULL;
}

/* The chunk at the flusher, if any: waited for and its records put, in column order. */
static int
flusher_collect(struct store_writer *w)
{
	struct flusher *fl = w->fl;
	enum flush_state st;
	size_t i;
	int r;

	pthread_mutex_lock(&fl->mu);
	/* Not taken yet (its thread waits for a core): this thread does it rather than wait. */
	if (fl->state == FLUSH_WORK) {
		fl->state = FLUSH_BUSY;
		pthread_mutex_unlock(&fl->mu);
		flusher_work(fl);
		pthread_mutex_lock(&fl->mu);
	}
	while (fl->state == FLUSH_BUSY)
		pthread_cond_wait(&fl->cv, &fl->mu);
	st = fl->state;
	r = st == FLUSH_DONE ? fl->rc : 0;
	if (r != 0)
		sl_errf(r, "%s", fl->msg);
	pthread_mutex_unlock(&fl->mu);
	if (st != FLUSH_DONE || r != 0)
		return r;
	/* DONE: the flusher waits for WORK, so the sealed records are this thread's now. */
	for (i = 0; i < w->ncols && r == 0; i++)
		r = store_sink_put_sealed(
		    &w->out, (uint32_t)i, fl->chunk, fl->sealed[i].p, fl->sealed[i].len);
	pthread_mutex_lock(&fl->mu);
	fl->state = FLUSH_IDLE;
	pthread_mutex_unlock(&fl->mu);
	return r;
}

static int
flush_chunk(struct store_writer *w)
{
	struct colbuf *full;
	size_t i;
	int r;

	if (w->rows == 0)
		return 0;
	if (w->fl == NULL) {
		for (i = 0; i < w->ncols; i++)
			if ((r = chunk_column(&w->cols[i], w->rows, 0, &w->plain)) != 0 ||
			    (r = put_record(w, (uint32_t)i, w->chunk, w->rows)) != 0)
				return r;
	} else {
		/* The chunk before this one is put first: the records go in key order. */
		if ((r = flusher_collect(w)) != 0)
			return r;
		full = w->cols;
		w->cols = w->spare;
		w->spare = full;
		pthread_mutex_lock(&w->fl->mu);
		w->fl->cols = full;
		w->fl->chunk = w->chunk;
		w->fl->rows = w->rows;
		w->fl->state = FLUSH_WORK;
		pthread_cond_broadcast(&w->fl->cv);
		pthread_mutex_unlock(&w->fl->mu);
	}
	w->out.stats.chunks += w->ncols;
	w->chunk++;
	w->rows = 0;
	return 0;
}

/* Stop the flusher (after the chunk it works on, if any) and free it. */
static void
flusher_free(struct store_writer *w)
{
	struct flusher *fl = w->fl;
	size_t i;

	if (fl == NULL)
		return;
	pthread_mutex_lock(&fl->mu);
	while (fl->state == FLUSH_WORK || fl->state == FLUSH_BUSY)
		pthread_cond_wait(&fl->cv, &fl->mu);
	fl->state = FLUSH_QUIT;
	pthread_cond_broadcast(&fl->cv);
	pthread_mutex_unlock(&fl->mu);
	pthread_join(fl->th, NULL);
	pthread_mutex_destroy(&fl->mu);
	pthread_cond_destroy(&fl->cv);
	bytes_free(&fl->plain);
	for (i = 0; fl->sealed != NULL && i < w->ncols; i++)
		bytes_free(&fl->sealed[i]);
	free(fl->sealed);
	free(fl->aad);
	free(fl);
	w->fl = NULL;
}

static void
colbufs_free(struct colbuf *cols, size_t n)
{
	size_t i;

	for (i = 0; cols != NULL && i < n; i++) {
		struct colbuf *c = &cols[i];

		if (c->ints != NULL) {
			keys_wipe(c->ints, STORE_CHUNK_ROWS * sizeof(int64_t));
			free(c->ints);
		}
		if (c->reals != NULL) {
			keys_wipe(c->reals, STORE_CHUNK_ROWS * sizeof(double));
			free(c->reals);
		}
		bytes_free(&c->pend);
		free(c->plen);
		free(c->phash);
	}
	free(cols);
}

/* A chunk's buffers for schema s, sharing w's dictionaries and domain codes. */
static int
colbufs_new(struct store_writer *w, const struct schema *s, struct colbuf **out)
{
	struct colbuf *cols;
	size_t i;

	if ((cols = calloc(s->ncols + 1, sizeof(*cols))) == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < s->ncols; i++) {
		struct colbuf *c = &cols[i];

		c->type = s->cols[i].type;
		c->dict = &w->dicts[i];
		c->dcode = w->dcodes[i];
		if (c->type == SCHEMA_TEXT && s->cols[i].ndomain > 0)
			c->domain = &s->cols[i];
		if (c->type == SCHEMA_REAL)
			c->reals = calloc(STORE_CHUNK_ROWS, sizeof(double));
		else
			c->ints = calloc(STORE_CHUNK_ROWS, sizeof(int64_t));
		if ((c->reals == NULL && c->ints == NULL) ||
		    (c->type == SCHEMA_TEXT &&
		        ((c->plen = calloc(STORE_CHUNK_ROWS, sizeof(*c->plen))) == NULL ||
		            (c->phash = calloc(STORE_CHUNK_ROWS, sizeof(*c->phash))) == NULL))) {
			colbufs_free(cols, s->ncols);
			return SL_ERR_NOMEM;
		}
	}
	*out = cols;
	return 0;
}

void
store_writer_abort(struct store_writer *w)
{
	size_t i;

	if (w == NULL)
		return;
	flusher_free(w);
	store_sink_release(&w->out);
	colbufs_free(w->cols, w->ncols);
	colbufs_free(w->spare, w->ncols);
	for (i = 0; w->dicts != NULL && i < w->ncols; i++)
		dict_free(&w->dicts[i]);
	for (i = 0; w->dcodes != NULL && i < w->ncols; i++)
		free(w->dcodes[i]);
	free(w->dicts);
	free(w->dcodes);
	bytes_free(&w->plain);
	free(w);
}

int
store_writer_begin(struct store *st, const struct store_ident *id, const struct schema *s,
    struct store_writer **out)
{
	struct store_writer *w;
	size_t i;
	int r;

	if (!st->writable)
		return sl_errf(SL_ERR_INVAL, "store: opened read-only");
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return SL_ERR_NOMEM;
	w->ncols = s->ncols;
	if ((w->dicts = calloc(s->ncols + 1, sizeof(*w->dicts))) == NULL ||
	    (w->dcodes = calloc(s->ncols + 1, sizeof(*w->dcodes))) == NULL) {
		r = SL_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < s->ncols; i++)
		if (s->cols[i].type == SCHEMA_TEXT && s->cols[i].ndomain > 0 &&
		    (w->dcodes[i] = calloc(s->cols[i].ndomain, sizeof(**w->dcodes))) == NULL) {
			r = SL_ERR_NOMEM;
			goto fail;
		}
	if ((r = colbufs_new(w, s, &w->cols)) != 0 || (r = store_sink_begin(&w->out, st, id)) != 0)
		goto fail;
	*out = w;
	return 0;
fail:
	store_writer_abort(w);
	return r;
}

int
store_writer_pipeline(struct store_writer *w, const struct schema *s)
{
	struct flusher *fl;
	int r = SL_ERR_NOMEM;

	if (w->fl != NULL || w->rows != 0 || w->chunk != 0)
		return sl_errf(
		    SL_ERR_INTERNAL, "store: a pipeline must be set before the first row");
	if ((fl = calloc(1, sizeof(*fl))) == NULL)
		return SL_ERR_NOMEM;
	fl->w = w;
	if ((fl->sealed = calloc(w->ncols + 1, sizeof(*fl->sealed))) == NULL ||
	    (fl->aad = malloc(store_aad_bytes(w->out.id.product))) == NULL ||
	    (r = colbufs_new(w, s, &w->spare)) != 0)
		goto fail;
	pthread_mutex_init(&fl->mu, NULL);
	pthread_cond_init(&fl->cv, NULL);
	if (pthread_create(&fl->th, NULL, flusher_run, fl) == 0) {
		w->fl = fl;
		return 0;
	}
	/* No thread (the worker user's task limit): every chunk is sealed here, as before. */
	pthread_mutex_destroy(&fl->mu);
	pthread_cond_destroy(&fl->cv);
	colbufs_free(w->spare, w->ncols);
	w->spare = NULL;
	r = 0;
fail:
	free(fl->sealed);
	free(fl->aad);
	free(fl);
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

/*
 * Value v of the given kind into row of column col: the one way a value
 * enters a chunk, for store_put_*() and store_put_rows() alike.
 */
static inline int
cell_put(struct store_writer *w, size_t col, uint32_t row, uint8_t kind, const union store_cell *v,
    const char *const text[2])
{
	struct colbuf *c = &w->cols[col];
	uint32_t code, index;
	const char *s;
	size_t len;
	int r;

	switch (kind) {
	case STORE_CELL_VALUE:
		if (c->type == SCHEMA_TEXT)
			break;
		if (c->type == SCHEMA_REAL)
			c->reals[row] = v->r;
		else
			c->ints[row] = v->i;
		return 0;
	case STORE_CELL_NULL:
		c->nulls[row / 8] |= (uint8_t)(1u << (row % 8));
		c->any_null = 1;
		if (c->plen != NULL)
			c->plen[row] = PEND_NULL;
		if (c->ints != NULL)
			c->ints[row] = 0;
		else
			c->reals[row] = 0;
		return 0;
	case STORE_CELL_DOMAIN:
		index = v->domain;
		if (c->dcode == NULL || index >= c->domain->ndomain)
			break;
		if (c->dcode[index] == 0) {
			s = c->domain->domain_text[index];
			len = c->domain->domain_len[index];
			if ((r = dict_code(c->dict, s, len, text_hash(s, len), &code)) != 0)
				return r;
			c->dcode[index] = code + 1;
		}
		c->ints[row] = c->dcode[index] - 1;
		c->plen[row] = PEND_CODE;
		return 0;
	case STORE_CELL_TEXT0:
	case STORE_CELL_TEXT1:
		if (c->type != SCHEMA_TEXT || (c->domain != NULL && w->fl != NULL))
			break;
		if (v->t.len > TEXT_MAX)
			return sl_errf(SL_ERR_LIMIT, "store: a text value of %u bytes", v->t.len);
		c->ints[row] = (int64_t)c->pend.len;
		c->plen[row] = v->t.len;
		return bytes_put(&c->pend, text[kind - STORE_CELL_TEXT0] + v->t.off, v->t.len);
	}
	return sl_errf(SL_ERR_INTERNAL, "store: bad value (kind %u) put to column %zu", kind, col);
}

int
store_put_int(struct store_writer *w, size_t col, int64_t v)
{
	struct colbuf *c = slot(w, col);
	union store_cell x = {.i = v};

	if (c == NULL || c->type == SCHEMA_REAL)
		return sl_errf(SL_ERR_INTERNAL, "store: bad int put to column %zu", col);
	return cell_put(w, col, w->rows, STORE_CELL_VALUE, &x, NULL);
}

int
store_put_real(struct store_writer *w, size_t col, double v)
{
	struct colbuf *c = slot(w, col);
	union store_cell x = {.r = v};

	if (c == NULL || c->type != SCHEMA_REAL)
		return sl_errf(SL_ERR_INTERNAL, "store: bad real put to column %zu", col);
	return cell_put(w, col, w->rows, STORE_CELL_VALUE, &x, NULL);
}

int
store_put_text(struct store_writer *w, size_t col, const char *s, size_t len)
{
	const char *text[2] = {s, NULL};
	union store_cell x = {.t = {0, (uint32_t)len}};

	if (slot(w, col) == NULL)
		return sl_errf(SL_ERR_INTERNAL, "store: bad text put to column %zu", col);
	if (len > TEXT_MAX)
		return sl_errf(SL_ERR_LIMIT, "store: a text value of %zu bytes", len);
	return cell_put(w, col, w->rows, STORE_CELL_TEXT0, &x, text);
}

int
store_put_domain(struct store_writer *w, size_t col, uint32_t index)
{
	union store_cell x = {.domain = index};

	if (slot(w, col) == NULL)
		return sl_errf(SL_ERR_INTERNAL, "store: bad domain put to column %zu", col);
	return cell_put(w, col, w->rows, STORE_CELL_DOMAIN, &x, NULL);
}

int
store_put_null(struct store_writer *w, size_t col)
{
	if (slot(w, col) == NULL)
		return sl_errf(SL_ERR_INTERNAL, "store: bad null put to column %zu", col);
	return cell_put(w, col, w->rows, STORE_CELL_NULL, NULL, NULL);
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

int
store_put_rows(struct store_writer *w, const union store_cell *cells, const uint8_t *kinds,
    size_t stride, size_t nrows, const char *const text[2])
{
	size_t k, i, n, done = 0;
	int r;

	for (k = 0; k < w->ncols; k++)
		if (w->cols[k].set)
			return sl_errf(SL_ERR_INTERNAL, "store: rows put within a row");
	while (done < nrows) {
		/* Column by column, up to the chunk's end. */
		n = STORE_CHUNK_ROWS - w->rows < nrows - done ? STORE_CHUNK_ROWS - w->rows
		                                              : nrows - done;
		for (k = 0; k < w->ncols; k++) {
			const union store_cell *v = cells + k * stride + done;
			const uint8_t *kind = kinds + k * stride + done;

			for (i = 0; i < n; i++)
				if ((r = cell_put(
				         w, k, w->rows + (uint32_t)i, kind[i], &v[i], text)) != 0)
					return r;
		}
		w->rows += (uint32_t)n;
		w->total += n;
		done += n;
		if (w->rows == STORE_CHUNK_ROWS && (r = flush_chunk(w)) != 0)
			return r;
	}
	return 0;
}

/* Each text column's dictionary as parts; their counts go into m. */
static int
write_dicts(struct store_writer *w, struct store_manifest *m)
{
	uint8_t len4[4];
	size_t i;
	int r;

	for (i = 0; i < w->ncols; i++) {
		struct dict *d = &w->dicts[i];
		uint32_t e = 0, part = 0, start;

		if (w->cols[i].type != SCHEMA_TEXT)
			continue;
		while (e < d->n || part == 0) {
			w->plain.len = 0;
			start = e;
			if ((r = bytes_put(&w->plain, len4, 4)) != 0)
				return r;
			while (e < d->n && w->plain.len + 4 + d->lens[e] <= STORE_DICT_PART_BYTES) {
				le32_put(len4, d->lens[e]);
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
			le32_put(w->plain.p, e - start);
			/* The count is in the sealed plaintext; the AAD binds row count 0. */
			if ((r = put_record(w, STORE_DICT_BIT | (uint32_t)i, part, 0)) != 0)
				return r;
			part++;
		}
		m->cols[i].dict = d->n;
		m->cols[i].dict_parts = part;
	}
	return 0;
}

int
store_writer_commit(struct store_writer *w, struct store_stats *stats)
{
	struct store_manifest m = {STORE_FORMAT, STORE_CHUNK_ROWS, w->total, 0, w->ncols, NULL};
	char *text = NULL;
	size_t i;
	int r;

	if ((r = flush_chunk(w)) != 0 || (w->fl != NULL && (r = flusher_collect(w)) != 0))
		goto out;
	flusher_free(w);
	m.chunks = w->chunk;
	if ((m.cols = calloc(w->ncols + 1, sizeof(*m.cols))) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < w->ncols; i++)
		m.cols[i].type = (int)w->cols[i].type;
	if ((r = write_dicts(w, &m)) != 0)
		goto out;
	if ((text = store_manifest_encode(&m)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	w->plain.len = 0;
	if ((r = bytes_put(&w->plain, text, strlen(text))) != 0 ||
	    (r = put_record(w, STORE_MANIFEST, 0, 0)) != 0 || (r = store_sink_commit(&w->out)) != 0)
		goto out;
	w->out.stats.rows = w->total;
	if (stats != NULL)
		*stats = w->out.stats;
out:
	free(text);
	store_manifest_free(&m);
	store_writer_abort(w);
	return r;
}

/* ---- key rotation ------------------------------------------------------------ */

uint64_t store_rekey_progress_bytes = STORE_REKEY_PROGRESS_BYTES;

/* Records a rotation opens and seals between two runs of puts, a thread each in turn. */
#define REKEY_BATCH_PER_THREAD 4
/* ... and the sealed bytes past which a batch stops growing, whatever its count. */
#define REKEY_BATCH_BYTES ((size_t)32 << 20)

/* One record of a batch: where it is, its sealed bytes in the source's map, what it becomes. */
struct rekey_rec {
	uint32_t col, chunk, rows;
	MDB_val val;
	struct bytes plain, sealed;
	int rc;
};

/* A thread's share of a batch: records first, first + step, ... */
struct rekey_part {
	const struct store_ident *from, *to;
	struct rekey_rec *recs;
	size_t nrecs, first, step;
	uint8_t *aad; /* store_aad_bytes() of scratch */
	pthread_t th;
	int joinable;
};

static void *
rekey_part_run(void *arg)
{
	struct rekey_part *t = arg;
	size_t i;

	for (i = t->first; i < t->nrecs; i += t->step) {
		struct rekey_rec *x = &t->recs[i];

		x->rc = store_record_open(
		    t->from, t->aad, x->col, x->chunk, x->rows, &x->val, &x->plain);
		if (x->rc == 0)
			x->rc = store_record_seal(t->to, t->aad, x->col, x->chunk, x->rows,
			    x->plain.p, x->plain.len, &x->sealed);
	}
	return NULL;
}

/* Open and seal again recs[0 .. n - 1], on nthreads threads; the records' rc say how each went. */
static void
rekey_batch(struct rekey_part *parts, unsigned nthreads, size_t n)
{
	unsigned t;

	for (t = 0; t < nthreads; t++)
		parts[t].nrecs = n;
	/* A thread the system will not make: its share, here. */
	for (t = 1; t < nthreads; t++)
		parts[t].joinable =
		    pthread_create(&parts[t].th, NULL, rekey_part_run, &parts[t]) == 0;
	rekey_part_run(&parts[0]);
	for (t = 1; t < nthreads; t++) {
		if (parts[t].joinable)
			pthread_join(parts[t].th, NULL);
		else
			rekey_part_run(&parts[t]);
		parts[t].joinable = 0;
	}
}

/* A record's key, checked against the manifest: 0, or the integrity error. */
static int
rekey_key(const struct store_ident *from, const struct store_manifest *m, const MDB_val *key,
    uint32_t *col, uint32_t *chunk)
{
	if (key->mv_size != STORE_REC_KEY_BYTES)
		return sl_errf(SL_ERR_AUTH, "store: version %u holds a record with a %zu-byte key",
		    from->version, key->mv_size);
	*col = be32_get(key->mv_data);
	*chunk = be32_get((const uint8_t *)key->mv_data + 4);
	if (*col != STORE_MANIFEST && (*col & STORE_DICT_BIT) == 0 && *chunk >= m->chunks)
		return sl_errf(
		    SL_ERR_AUTH, "store: version %u has a chunk past its manifest", from->version);
	return 0;
}

/* The batch's records put in key order; the first failure, in that order, is the rotation's. */
static int
rekey_put(struct store_sink *out, const struct store_ident *from, struct rekey_rec *recs, size_t n,
    store_progress_fn progress, void *arg, uint64_t *next)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		struct rekey_rec *x = &recs[i];

		if (x->rc == SL_ERR_AUTH)
			return sl_errf(SL_ERR_AUTH,
			    "store: record (version %u, column %u, chunk %u) fails authentication: "
			    "integrity error",
			    from->version, x->col & ~STORE_DICT_BIT, x->chunk);
		if (x->rc != 0)
			return sl_errf(x->rc,
			    "store: record (version %u, column %u, chunk %u) could not be sealed "
			    "again: %s",
			    from->version, x->col & ~STORE_DICT_BIT, x->chunk,
			    x->rc == SL_ERR_NOMEM ? "out of memory" : "the cipher failed");
		if ((r = store_sink_put_sealed(
		         out, x->col, x->chunk, x->sealed.p, x->sealed.len)) != 0)
			return r;
		if (x->col != STORE_MANIFEST && (x->col & STORE_DICT_BIT) == 0)
			out->stats.chunks++;
		if (progress != NULL && out->stats.bytes >= *next) {
			*next = out->stats.bytes + store_rekey_progress_bytes;
			if ((r = progress(arg, out->stats.bytes)) != 0)
				return r;
		}
	}
	return 0;
}

int
store_rekey(struct store *src, struct store *dst, const struct store_ident *from,
    const struct store_ident *to, unsigned nthreads, store_progress_fn progress, void *arg,
    struct store_stats *stats)
{
	uint64_t next = store_rekey_progress_bytes;
	struct store_sink out = {0};
	struct store_manifest m = {0};
	struct rekey_part *parts = NULL;
	struct rekey_rec *recs = NULL;
	MDB_txn *rtxn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	struct bytes plain = {0};
	size_t cap, n, bytes, i;
	uint32_t col = 0, chunk = 0;
	unsigned t;
	int r = 0, rc, bad = 0; /* bad: a record key's integrity error */

	memset(stats, 0, sizeof(*stats));
	if (src->writable || !dst->writable || strcmp(from->product, to->product) != 0 ||
	    from->suite != to->suite || from->version == to->version || nthreads < 1 ||
	    nthreads > JOB_THREADS_MAX)
		return sl_errf(SL_ERR_INVAL, "store: bad key rotation request");
	cap = (size_t)nthreads * REKEY_BATCH_PER_THREAD;
	if ((parts = calloc(nthreads, sizeof *parts)) == NULL ||
	    (recs = calloc(cap, sizeof *recs)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	for (t = 0; t < nthreads; t++) {
		parts[t] = (struct rekey_part){from, to, recs, 0, t, nthreads, NULL, 0, 0};
		if ((parts[t].aad = malloc(store_aad_bytes(from->product))) == NULL) {
			r = SL_ERR_NOMEM;
			goto out;
		}
	}
	if ((rc = mdb_txn_begin(src->env, NULL, MDB_RDONLY, &rtxn)) != 0) {
		r = store_lmdb_err(rc, "begin");
		goto out;
	}
	if ((r = store_sink_begin(&out, dst, to)) != 0)
		goto out;
	/* The manifest first: it gives each chunk's row count for the AAD. */
	if ((r = store_record_get(src, rtxn, STORE_MANIFEST, 0, &val)) == SL_ERR_NOTFOUND) {
		r = sl_errf(SL_ERR_NOTFOUND, "store: version %u not found", from->version);
		goto out;
	}
	if (r != 0 || (r = store_record_open(
	                   from, parts[0].aad, STORE_MANIFEST, 0, 0, &val, &plain)) == SL_ERR_NOMEM)
		goto out;
	if (r != 0 || store_manifest_decode(plain.p, plain.len, &m) != 0) {
		r = sl_errf(
		    SL_ERR_AUTH, "store: version %u manifest: integrity error", from->version);
		goto out;
	}
	if ((rc = mdb_cursor_open(rtxn, src->dbi, &cur)) != 0) {
		r = store_lmdb_err(rc, "cursor");
		goto out;
	}
	/*
	 * Batches of records in key order: opened and sealed again on the
	 * threads (the values stay in the read transaction's map meanwhile),
	 * then put by this thread, which alone holds the write transaction.
	 */
	rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	while (rc == 0 && !bad) {
		for (n = 0, bytes = 0; rc == 0 && n < cap && bytes < REKEY_BATCH_BYTES;
		     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
			/* A bad key ends the batch; the records before it are still put first. */
			if ((bad = rekey_key(from, &m, &key, &col, &chunk)) != 0)
				break;
			recs[n].col = col;
			recs[n].chunk = chunk;
			recs[n].rows = store_record_rows(col, chunk, m.rows, m.chunks);
			recs[n].val = val;
			bytes += val.mv_size;
			n++;
		}
		rekey_batch(parts, nthreads, n);
		if ((r = rekey_put(&out, from, recs, n, progress, arg, &next)) != 0 ||
		    (r = bad) != 0)
			goto out;
	}
	if (rc != MDB_NOTFOUND) {
		r = store_lmdb_err(rc, "scan");
		goto out;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if ((r = store_sink_commit(&out)) != 0)
		goto out;
	*stats = out.stats;
	stats->rows = m.rows;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_sink_release(&out);
	if (rtxn != NULL)
		mdb_txn_abort(rtxn);
	store_manifest_free(&m);
	bytes_free(&plain);
	for (i = 0; recs != NULL && i < cap; i++) {
		bytes_free(&recs[i].plain);
		bytes_free(&recs[i].sealed);
	}
	for (t = 0; parts != NULL && t < nthreads; t++)
		free(parts[t].aad);
	free(recs);
	free(parts);
	return r;
}
