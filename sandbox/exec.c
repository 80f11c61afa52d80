/*
 * sandbox/exec.c -- scanning a store version: filter, group, aggregate.
 *
 * Truth values of the filter are Kleene's three: FALSE 0, UNKNOWN 1, TRUE 2,
 * so AND is min, OR is max and NOT is 2 - x; a comparison with NULL is
 * UNKNOWN, and only TRUE rows are selected, as in SQL.
 */
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/schema.h"
#include "sandbox/exec.h"
#include "sandbox/heapsort.h"
#include "sandbox/fault.h"
#include "sandbox/simd.h"
#include "sandbox/plan.h"
#include "sandbox/store.h"
#include "sandbox/value.h"

enum { F = 0, U = 1, T = 2 };

/* Depth of AND/OR/NOT nesting; the parser's SQL_MAX_DEPTH bounds it well below this. */
#define EXEC_DEPTH_MAX (4 * SQL_MAX_DEPTH + 8)
/* Rows decoded and processed at a time: a few columns of them stay in L2. */
#define EXEC_BATCH 4096
/* 96 MiB of pairs: below that a sort per doubling costs more than the memory it saves. */
size_t exec_bound_prune_pairs = EXEC_BOUND_PRUNE_PAIRS;

/* One aggregate's state for one group. */
struct acc {
	int64_t n;    /* non-NULL values */
	int64_t isum; /* integer-stored columns */
	__int128 isq; /* VARIANCE, STDDEV */
	double rsum;  /* REAL */
	/*
	 * REAL VARIANCE, STDDEV: sums of x - shift, shift being the group's first
	 * value, so that values far from zero do not cancel (shifted data).
	 */
	double shift, ssum, ssq;
	int64_t imin, imax;
	double rmin, rmax;
	enum { NO_OVERFLOW, SUM_OVERFLOW, SQ_OVERFLOW } overflow;
};

/* (group, value) pairs seen, for exact distinct counts; open addressing. */
struct pair {
	uint64_t v;
	uint32_t g;
	uint32_t used;
};

struct pairset {
	struct pair *slots;
	size_t cap, n;
};

/* A group's units, appended row by row: one sort at the end beats a hash probe per row. */
struct uvec {
	uint64_t *v;
	size_t n, cap;
};

/* The bound's first pass: a selected row's unit, hash, and place among the selected rows. */
struct bpair {
	uint64_t unit, h, pos;
};

struct exec {
	const struct plan *p;
	const struct schema *s;
	struct store_reader *r;
	struct store_buf **bufs; /* per column, for the columns read */
	struct store_vec *vecs;
	const char *const **dstr; /* dictionaries of TEXT columns read */
	const uint32_t **dlen;
	uint32_t *dn;
	uint8_t **ttab; /* text leaves' match tables, in tree order */
	size_t nttab;
	uint8_t *scratch[EXEC_DEPTH_MAX];
	uint8_t *truth;
	uint8_t *open;       /* open[col]: scan_chunk() opened the column's chunk */
	uint32_t unit_chunk; /* the chunk the unit column's buffer holds, or UINT32_MAX */
	uint32_t *sel, *gid;
	/* groups */
	size_t ngroups, gcap;
	int64_t *gkeys; /* ngroups * nkeys components */
	uint64_t *gnulls;
	int64_t *grows, *gunits;
	struct acc **accs; /* per aggregate, gcap each */
	int32_t *slots;    /* hash of group keys */
	size_t nslots;
	int32_t *codemap; /* one TEXT key: dictionary code -> group; [dn] is NULL's */
	const struct plan_key *key_overflow; /* a BUCKET out of range: the query fails */
	struct uvec *units;       /* per group: the unit of every row, counted at the end */
	uint32_t units_cap;       /* > 0: count each group's units only up to this */
	struct pairset unitset;   /* (group, unit) pairs, when counting up to units_cap */
	struct pairset *distinct; /* per aggregate (COUNT DISTINCT only) */
	uint64_t rows_scanned;
	/* the contribution bound (exec.h); brows 0: none */
	uint32_t brows;
	int bpass;                               /* 1: finding the cuts; 2: admitting */
	uint8_t bkey[crypto_shorthash_KEYBYTES]; /* wiped by teardown() */
	uint8_t *bbuf;                           /* a row's canonical encoding */
	struct bpair *bpairs;
	size_t npairs, pcap;
	uint64_t nseen; /* pass 1: rows selected so far; pass 2: the next one's place */
	uint8_t *bkeep; /* bit pos: the bound keeps selected row pos */
};

/* Note a limit the query ran into (no place in its text); col SIZE_MAX: none.  Returns r. */
static int
exec_fault(int r, uint32_t rule, uint32_t phrase, size_t col, uint64_t number)
{
	struct job_place at = {
	    0, 0, 0, rule, phrase, col == SIZE_MAX ? 0 : (uint32_t)col + 1, number};

	return fault_note(r, &at);
}
/* ---- small helpers ----------------------------------------------------- */

static int
is_null(const struct store_vec *v, uint32_t i)
{
	return v->nulls != NULL && (v->nulls[i >> 3] >> (i & 7) & 1);
}

static uint64_t
mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static int
pairset_grow(struct pairset *ps)
{
	size_t cap = ps->cap ? ps->cap * 2 : 1024, i;
	struct pair *n = calloc(cap, sizeof *n);

	if (n == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < ps->cap; i++) {
		if (ps->slots[i].used) {
			size_t h = mix(ps->slots[i].v ^ (uint64_t)ps->slots[i].g << 40) & (cap - 1);

			while (n[h].used)
				h = (h + 1) & (cap - 1);
			n[h] = ps->slots[i];
		}
	}
	free(ps->slots);
	ps->slots = n;
	ps->cap = cap;
	return 0;
}

/* 1 if (g, v) is new, 0 if seen; SL_ERR_NOMEM. */
static int
pairset_add(struct pairset *ps, uint32_t g, uint64_t v)
{
	size_t h;
	int r;

	if (2 * (ps->n + 1) > ps->cap && (r = pairset_grow(ps)) != 0)
		return r;
	h = mix(v ^ (uint64_t)g << 40) & (ps->cap - 1);
	while (ps->slots[h].used) {
		if (ps->slots[h].v == v && ps->slots[h].g == g)
			return 0;
		h = (h + 1) & (ps->cap - 1);
	}
	ps->slots[h] = (struct pair){v, g, 1};
	ps->n++;
	return 1;
}

static uint64_t
value_bits(const struct store_vec *v, uint32_t i)
{
	uint64_t b;

	if (v->reals != NULL) {
		double d = v->reals[i] == 0 ? 0 : v->reals[i]; /* -0 and 0 are one value */

		memcpy(&b, &d, sizeof b);
		return b;
	}
	return v->codes != NULL ? v->codes[i] : (uint64_t)v->ints[i];
}

static int
uvec_push(struct uvec *u, uint64_t v)
{
	uint64_t *g;

	if (u->n == u->cap) {
		u->cap = u->cap ? 2 * u->cap : 1024;
		if ((g = realloc(u->v, u->cap * sizeof *g)) == NULL)
			return SL_ERR_NOMEM;
		u->v = g;
	}
	u->v[u->n++] = v;
	return 0;
}

/*
 * Distinct values of u (sorted in place): LSD radix sort by 11-bit digits,
 * only over the bits in which the values differ.
 */
static int
uvec_distinct(struct uvec *u, int64_t *out)
{
	uint64_t diff = 0, *tmp, *a = u->v, *b;
	size_t i, cnt[2048];
	unsigned shift, top;

	*out = 0;
	if (u->n == 0)
		return 0;
	for (i = 1; i < u->n; i++)
		diff |= a[i] ^ a[0];
	top = diff == 0 ? 0 : 64 - (unsigned)__builtin_clzll(diff);
	if ((tmp = malloc(u->n * sizeof *tmp)) == NULL)
		return SL_ERR_NOMEM;
	b = tmp;
	for (shift = 0; shift < top; shift += 11) {
		uint64_t *t;
		size_t sum = 0, c;

		memset(cnt, 0, sizeof cnt);
		for (i = 0; i < u->n; i++)
			cnt[a[i] >> shift & 2047]++;
		for (i = 0; i < 2048; i++)
			c = cnt[i], cnt[i] = sum, sum += c;
		for (i = 0; i < u->n; i++)
			b[cnt[a[i] >> shift & 2047]++] = a[i];
		t = a, a = b, b = t;
	}
	*out = 1;
	for (i = 1; i < u->n; i++)
		*out += a[i] != a[i - 1];
	free(tmp);
	return 0;
}

/* ---- filters ------------------------------------------------------------- */

static int
text_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

/* Whether dictionary string s matches the text leaf sc (before its own NOT). */
static int
text_match(const struct sql_cond *sc, const char *s, size_t len)
{
	const struct sql_literal *l = sc->lits;
	size_t i;
	int c;

	switch (sc->kind) {
	case SQL_COND_LIKE:
		return len >= l[0].len && memcmp(s, l[0].s, l[0].len) == 0;
	case SQL_COND_IN:
		for (i = 0; i < sc->nlits; i++)
			if (text_cmp(s, len, l[i].s, l[i].len) == 0)
				return 1;
		return 0;
	case SQL_COND_BETWEEN:
		return text_cmp(s, len, l[0].s, l[0].len) >= 0 &&
		       text_cmp(s, len, l[1].s, l[1].len) <= 0;
	default:
		break;
	}
	c = text_cmp(s, len, l[0].s, l[0].len);
	switch (sc->cmp) {
	case SQL_EQ:
		return c == 0;
	case SQL_NE:
		return c != 0;
	case SQL_LT:
		return c < 0;
	case SQL_LE:
		return c <= 0;
	case SQL_GT:
		return c > 0;
	case SQL_GE:
		return c >= 0;
	}
	return 0;
}

/* Build the match tables of the text leaves, in the order eval() visits them. */
static int
text_tables(struct exec *e, const struct plan_cond *pc)
{
	uint8_t *t, **grown;
	uint32_t i, n;
	size_t k;
	int r;

	if (pc->kind == PLAN_AND || pc->kind == PLAN_OR || pc->kind == PLAN_NOT) {
		for (k = 0; k < pc->nkids; k++)
			if ((r = text_tables(e, pc->kids[k])) != 0)
				return r;
		return 0;
	}
	if (pc->kind != PLAN_TEXT)
		return 0;
	n = e->dn[pc->col];
	if ((t = malloc(n + 1)) == NULL ||
	    (grown = realloc(e->ttab, (e->nttab + 1) * sizeof *grown)) == NULL) {
		free(t);
		return SL_ERR_NOMEM;
	}
	e->ttab = grown;
	t[n] = 0;
	for (i = 0; i < n; i++)
		t[i] = (uint8_t)(text_match(pc->text, e->dstr[pc->col][i], e->dlen[pc->col][i]) ^
		                 (pc->text->negated != 0));
	e->ttab[e->nttab++] = t;
	return 0;
}

/* Binary search of a sorted set; for REAL sets a NaN (in no set) is never found. */
#define EXEC_SET_HAS(name, type)                                                                   \
	static int name(const type *a, size_t n, type v)                                           \
	{                                                                                          \
		size_t lo = 0, hi = n;                                                             \
                                                                                                   \
		while (lo < hi) {                                                                  \
			size_t mid = lo + (hi - lo) / 2;                                           \
                                                                                                   \
			if (a[mid] < v)                                                            \
				lo = mid + 1;                                                      \
			else                                                                       \
				hi = mid;                                                          \
		}                                                                                  \
		return lo < n && a[lo] == v;                                                       \
	}
EXEC_SET_HAS(set_has, int64_t)
EXEC_SET_HAS(rset_has, double)

static void
eval_leaf(struct exec *e, const struct plan_cond *pc, uint32_t rows, uint8_t *out, size_t *tix)
{
	const struct store_vec *v = &e->vecs[pc->col];
	const uint8_t neg = pc->negated ? T : F;
	uint32_t i;

	switch (pc->kind) {
	case PLAN_ISNULL:
		for (i = 0; i < rows; i++)
			out[i] = (uint8_t)((is_null(v, i) ? T : F) ^ neg);
		return;
	case PLAN_RANGE: {
		/* lo <= x <= hi as one unsigned comparison: x - lo <= hi - lo, modulo 2^64. */
		const uint64_t lo = (uint64_t)pc->lo, span = (uint64_t)pc->hi - lo;
		const int64_t *x = v->ints;

		if (pc->lo > pc->hi) {
			memset(out, F ^ neg, rows);
			break;
		}
		for (i = 0; i < rows; i++)
			out[i] = (uint8_t)((((uint64_t)x[i] - lo <= span) * T) ^ neg);
		break;
	}
	case PLAN_SET:
		for (i = 0; i < rows; i++)
			out[i] = (uint8_t)((set_has(pc->ints, pc->n, v->ints[i]) ? T : F) ^ neg);
		break;
	case PLAN_RRANGE:
		for (i = 0; i < rows; i++) {
			double x = v->reals[i];
			int in = (pc->lo_open ? x > pc->rlo : x >= pc->rlo) &&
			         (pc->hi_open ? x < pc->rhi : x <= pc->rhi);

			out[i] = (uint8_t)((in ? T : F) ^ neg);
		}
		break;
	case PLAN_RSET:
		for (i = 0; i < rows; i++)
			out[i] = (uint8_t)((rset_has(pc->reals, pc->n, v->reals[i]) ? T : F) ^ neg);
		break;
	case PLAN_TEXT: {
		const uint8_t *t = e->ttab[(*tix)++];

		for (i = 0; i < rows; i++)
			out[i] = t[v->codes[i]] ? T : F;
		break;
	}
	default:
		break;
	}
	/* A NULL makes every comparison UNKNOWN. */
	if (v->nulls != NULL)
		for (i = 0; i < rows; i++)
			if (is_null(v, i))
				out[i] = U;
}

static int
eval(
    struct exec *e, const struct plan_cond *pc, uint32_t rows, uint8_t *out, int depth, size_t *tix)
{
	uint8_t *tmp;
	uint32_t i;
	size_t k;
	int r;

	if (pc->kind != PLAN_AND && pc->kind != PLAN_OR && pc->kind != PLAN_NOT) {
		eval_leaf(e, pc, rows, out, tix);
		return 0;
	}
	if (depth + 1 >= EXEC_DEPTH_MAX)
		return exec_fault(sl_errf(SL_ERR_LIMIT, "query: the filter is nested too deeply"),
		    JOB_RULE_NESTING, 0, SIZE_MAX, EXEC_DEPTH_MAX);
	if ((r = eval(e, pc->kids[0], rows, out, depth + 1, tix)) != 0)
		return r;
	if (pc->kind == PLAN_NOT) {
		for (i = 0; i < rows; i++)
			out[i] = (uint8_t)(T - out[i]);
		return 0;
	}
	if (e->scratch[depth] == NULL && (e->scratch[depth] = malloc(STORE_CHUNK_ROWS)) == NULL)
		return SL_ERR_NOMEM;
	tmp = e->scratch[depth];
	for (k = 1; k < pc->nkids; k++) {
		if ((r = eval(e, pc->kids[k], rows, tmp, depth + 1, tix)) != 0)
			return r;
		if (pc->kind == PLAN_AND)
			for (i = 0; i < rows; i++)
				out[i] = out[i] < tmp[i] ? out[i] : tmp[i];
		else
			for (i = 0; i < rows; i++)
				out[i] = out[i] > tmp[i] ? out[i] : tmp[i];
	}
	return 0;
}

/* ---- groups -------------------------------------------------------------- */

static int
groups_grow(struct exec *e)
{
	const struct plan *p = e->p;
	size_t cap = e->gcap ? e->gcap * 2 : 64, a;
	void *n;

	if (e->gcap >= EXEC_MAX_GROUPS)
		return exec_fault(sl_errf(SL_ERR_LIMIT,
		                      "query: more than %d groups; group by fewer or coarser keys",
		                      EXEC_MAX_GROUPS),
		    JOB_RULE_GROUPS, 0, SIZE_MAX, EXEC_MAX_GROUPS);
	if (cap > EXEC_MAX_GROUPS)
		cap = EXEC_MAX_GROUPS;
#define GROW(ptr, size)                                                                            \
	do {                                                                                       \
		if ((n = realloc((ptr), cap * (size))) == NULL)                                    \
			return SL_ERR_NOMEM;                                                       \
		memset((char *)n + e->gcap * (size), 0, (cap - e->gcap) * (size));                 \
		(ptr) = n;                                                                         \
	} while (0)
	GROW(e->gkeys, (p->nkeys ? p->nkeys : 1) * sizeof(int64_t));
	GROW(e->gnulls, sizeof(uint64_t));
	GROW(e->grows, sizeof(int64_t));
	GROW(e->gunits, sizeof(int64_t));
	GROW(e->units, sizeof(struct uvec));
	for (a = 0; a < p->naggs; a++)
		GROW(e->accs[a], sizeof(struct acc));
#undef GROW
	e->gcap = cap;
	return 0;
}

static uint64_t
key_hash(const int64_t *k, size_t nk, uint64_t nulls)
{
	uint64_t h = mix(nulls + 0x9e3779b97f4a7c15ULL);
	size_t i;

	for (i = 0; i < nk; i++)
		h = mix(h ^ (uint64_t)k[i]);
	return h;
}

static int
rehash(struct exec *e)
{
	size_t n = e->nslots ? e->nslots * 2 : 256, g, nk = e->p->nkeys;
	int32_t *s = malloc(n * sizeof *s);

	if (s == NULL)
		return SL_ERR_NOMEM;
	memset(s, 0xff, n * sizeof *s);
	for (g = 0; g < e->ngroups; g++) {
		size_t h = key_hash(&e->gkeys[g * nk], nk, e->gnulls[g]) & (n - 1);

		while (s[h] >= 0)
			h = (h + 1) & (n - 1);
		s[h] = (int32_t)g;
	}
	free(e->slots);
	e->slots = s;
	e->nslots = n;
	return 0;
}

/* The group of key tuple k (nulls: bit per NULL component), created when new. */
static int
group_of(struct exec *e, const int64_t *k, uint64_t nulls, uint32_t *g)
{
	size_t nk = e->p->nkeys, h;
	int r;

	if (2 * (e->ngroups + 1) > e->nslots && (r = rehash(e)) != 0)
		return r;
	h = key_hash(k, nk, nulls) & (e->nslots - 1);
	while (e->slots[h] >= 0) {
		size_t c = (size_t)e->slots[h];

		if (e->gnulls[c] == nulls && memcmp(&e->gkeys[c * nk], k, nk * sizeof *k) == 0) {
			*g = (uint32_t)c;
			return 0;
		}
		h = (h + 1) & (e->nslots - 1);
	}
	if (e->ngroups == e->gcap && (r = groups_grow(e)) != 0)
		return r;
	memcpy(&e->gkeys[e->ngroups * nk], k, nk * sizeof *k);
	e->gnulls[e->ngroups] = nulls;
	e->slots[h] = (int32_t)e->ngroups;
	*g = (uint32_t)e->ngroups++;
	return 0;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* One key component of row i; 1 when it is NULL. */
static int
key_value(struct exec *e, const struct plan_key *k, uint32_t i, int64_t *out)
{
	const struct store_vec *v = &e->vecs[k->col];
	int64_t y;
	int m, d;

	if (is_null(v, i))
		return *out = 0, 1;
	if (v->codes != NULL) {
		*out = v->codes[i];
		return 0;
	}
	if (v->reals != NULL) {
		double x = v->reals[i];

		if (k->fn == FN_KEY_BUCKET)
			x = floor(x / k->rwidth) * k->rwidth;
		if (!isfinite(x)) {
			e->key_overflow = k;
			x = 0;
		}
		if (x == 0)
			x = 0;
		memcpy(out, &x, sizeof x);
		return 0;
	}
	switch (k->fn) {
	case FN_KEY_BUCKET:
		if (__builtin_mul_overflow(floor_div(v->ints[i], k->width), k->width, out)) {
			e->key_overflow = k;
			*out = 0;
		}
		break;
	case FN_KEY_YEAR:
	case FN_KEY_MONTH:
		value_civil(v->ints[i], &y, &m, &d);
		*out = k->fn == FN_KEY_YEAR ? y : m;
		break;
	default:
		*out = v->ints[i];
	}
	return 0;
}

/* Groups of the selected rows into e->gid. */
static int
assign_groups(struct exec *e, uint32_t nsel)
{
	const struct plan *p = e->p;
	int64_t k[64];
	uint32_t j, g;
	size_t c;
	int r;

	if (p->nkeys == 0) {
		memset(e->gid, 0, nsel * sizeof *e->gid);
		return 0;
	}
	if (e->codemap != NULL) {
		const struct store_vec *v = &e->vecs[p->keys[0].col];
		uint32_t nullslot = e->dn[p->keys[0].col];

		for (j = 0; j < nsel; j++) {
			uint32_t i = e->sel[j], code = is_null(v, i) ? nullslot : v->codes[i];

			if (e->codemap[code] < 0) {
				k[0] = code == nullslot ? 0 : code;
				if ((r = group_of(e, k, code == nullslot, &g)) != 0)
					return r;
				e->codemap[code] = (int32_t)g;
			}
			e->gid[j] = (uint32_t)e->codemap[code];
		}
		return 0;
	}
	for (j = 0; j < nsel; j++) {
		uint64_t nulls = 0;

		for (c = 0; c < p->nkeys; c++)
			nulls |= (uint64_t)key_value(e, &p->keys[c], e->sel[j], &k[c]) << c;
		if (e->key_overflow != NULL)
			return exec_fault(sl_errf(SL_ERR_LIMIT,
			                      "query: BUCKET(%s, ...): a bucket lies outside the "
			                      "column's number range",
			                      e->s->cols[e->key_overflow->col].name),
			    JOB_RULE_BUCKET_RANGE, 0, e->key_overflow->col, 0);
		if ((r = group_of(e, k, nulls, &e->gid[j])) != 0)
			return r;
	}
	return 0;
}

/* ---- aggregates ---------------------------------------------------------- */

static int64_t
clamp_i(const struct schema_column *c, int clamp, int64_t v)
{
	if (!clamp)
		return v;
	return v < c->lo ? c->lo : v > c->hi ? c->hi : v;
}

static double
clamp_r(const struct schema_column *c, int clamp, double v)
{
	if (!clamp)
		return v;
	return v < c->rlo ? c->rlo : v > c->rhi ? c->rhi : v;
}

static int
text_less(struct exec *e, size_t col, int64_t a, int64_t b)
{
	return text_cmp(e->dstr[col][a], e->dlen[col][a], e->dstr[col][b], e->dlen[col][b]) < 0;
}

/*
 * SUM and AVG over a chunk of integers without NULLs, the common case, with
 * the per-row tests of aggregate() hoisted out; clamp is a constant at each
 * call, so the compiler drops the clamp where there are no bounds.
 */
static inline __attribute__((always_inline)) void
sum_ints(struct acc *acc, const uint32_t *gid, const uint32_t *sel, uint32_t nsel, const int64_t *x,
    int clamp, int64_t lo, int64_t hi)
{
	uint32_t j;

	for (j = 0; j < nsel; j++) {
		struct acc *g = &acc[gid[j]];
		int64_t d = x[sel[j]];

		if (clamp)
			d = d < lo ? lo : d > hi ? hi : d;
		g->n++;
		if (__builtin_add_overflow(g->isum, d, &g->isum))
			g->overflow = SUM_OVERFLOW;
	}
}

static int
aggregate(struct exec *e, size_t a, uint32_t nsel)
{
	const struct plan_agg *pa = &e->p->aggs[a];
	const struct schema_column *c = &e->s->cols[pa->col];
	const struct store_vec *v = &e->vecs[pa->col];
	struct acc *acc = e->accs[a];
	int sq = pa->fn == FN_VARIANCE || pa->fn == FN_STDDEV, r;
	uint32_t j;

	if (pa->fn == FN_COUNT)
		return 0;
	if ((pa->fn == FN_SUM || pa->fn == FN_AVG) && v->ints != NULL && v->nulls == NULL) {
		if (pa->clamp)
			sum_ints(acc, e->gid, e->sel, nsel, v->ints, 1, c->lo, c->hi);
		else
			sum_ints(acc, e->gid, e->sel, nsel, v->ints, 0, 0, 0);
		return 0;
	}
	for (j = 0; j < nsel; j++) {
		uint32_t i = e->sel[j];
		struct acc *x = &acc[e->gid[j]];

		if (is_null(v, i))
			continue;
		x->n++;
		switch (pa->fn) {
		case FN_COUNT_DISTINCT:
			if ((r = pairset_add(&e->distinct[a], e->gid[j], value_bits(v, i))) < 0)
				return r;
			x->isum += r;
			break;
		case FN_MIN:
		case FN_MAX: {
			int first = x->n == 1, mx = pa->fn == FN_MAX;

			if (v->reals != NULL) {
				double d = clamp_r(c, pa->clamp, v->reals[i]);

				if (first || (mx ? d > x->rmax : d < x->rmin))
					x->rmin = x->rmax = d;
			} else if (v->codes != NULL) {
				int64_t code = v->codes[i];

				if (first || (mx ? text_less(e, pa->col, x->imax, code)
				                 : text_less(e, pa->col, code, x->imin)))
					x->imin = x->imax = code;
			} else {
				int64_t d = clamp_i(c, pa->clamp, v->ints[i]);

				if (first || (mx ? d > x->imax : d < x->imin))
					x->imin = x->imax = d;
			}
			break;
		}
		default:
			if (v->reals != NULL) {
				double d = clamp_r(c, pa->clamp, v->reals[i]);

				x->rsum += d;
				if (sq) {
					if (x->n == 1)
						x->shift = d;
					x->ssum += d - x->shift;
					x->ssq += (d - x->shift) * (d - x->shift);
				}
			} else {
				int64_t d = clamp_i(c, pa->clamp, v->ints[i]);

				if (__builtin_add_overflow(x->isum, d, &x->isum))
					x->overflow = SUM_OVERFLOW;
				if (sq && __builtin_add_overflow(x->isq, (__int128)d * d, &x->isq))
					x->overflow = SQ_OVERFLOW;
			}
		}
	}
	return 0;
}

/*
 * Rows and units per group.  With a cap (the release threshold), a group
 * stops collecting units once it has that many distinct ones: a threshold
 * needs no more.  That saves the sort of every row's unit and, once every
 * group of a batch has enough, the unit column's decryption and decoding.
 */
static int
count_units(
    struct exec *e, uint32_t chunk, uint32_t from, uint32_t rows, uint32_t nsel, int unit_read)
{
	const struct store_vec *u = &e->vecs[e->s->unit];
	size_t unit = e->s->unit;
	uint32_t j, g, n;
	int wanted = e->units_cap == 0, r;

	for (j = 0; j < nsel; j++) {
		e->grows[e->gid[j]]++;
		wanted |= e->gunits[e->gid[j]] < e->units_cap;
	}
	if (!wanted)
		return 0;
	if (!unit_read) {
		if (e->unit_chunk != chunk) {
			if ((r = store_buf_open(e->r, unit, chunk, e->bufs[unit], &n)) != 0)
				return r;
			e->unit_chunk = chunk;
		}
		if ((r = store_buf_unpack(e->r, e->bufs[unit], from, rows, &e->vecs[unit])) != 0)
			return r;
	}
	for (j = 0; j < nsel; j++) {
		g = e->gid[j];
		if (is_null(u, e->sel[j]))
			continue;
		if (e->units_cap == 0)
			r = uvec_push(&e->units[g], value_bits(u, e->sel[j]));
		else if (e->gunits[g] < e->units_cap &&
		         (r = pairset_add(&e->unitset, g, value_bits(u, e->sel[j]))) > 0)
			e->gunits[g] += r;
		else
			r = 0;
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the contribution bound ------------------------------------------ */

static uint8_t *
put_le(uint8_t *q, uint64_t v, int bytes)
{
	int k;

	for (k = 0; k < bytes; k++)
		*q++ = (uint8_t)(v >> (8 * k));
	return q;
}

/* Column c of row i in the canonical encoding (exec.h). */
static uint8_t *
bound_put(struct exec *e, size_t c, uint32_t i, uint8_t *q)
{
	const struct store_vec *v = &e->vecs[c];

	if (is_null(v, i)) {
		*q++ = 0;
	} else if (v->codes != NULL) {
		uint32_t len = e->dlen[c][v->codes[i]];

		*q++ = 3;
		q = put_le(q, len, 4);
		memcpy(q, e->dstr[c][v->codes[i]], len);
		q += len;
	} else if (v->reals != NULL) {
		*q++ = 2;
		q = put_le(q, value_bits(v, i), 8); /* -0 as 0 */
	} else {
		*q++ = 1;
		q = put_le(q, (uint64_t)v->ints[i], 8);
	}
	return q;
}

/* The keyed hash h of row i (exec.h). */
static uint64_t
bound_hash(struct exec *e, uint32_t i)
{
	uint8_t out[crypto_shorthash_BYTES], *q = e->bbuf;
	size_t c, unit = e->s->unit;
	uint64_t h = 0;
	int k;

	q = bound_put(e, unit, i, q);
	for (c = 0; c < e->s->ncols; c++)
		if (c != unit && e->p->reads[c])
			q = bound_put(e, c, i, q);
	crypto_shorthash(out, e->bbuf, (unsigned long long)(q - e->bbuf), e->bkey);
	for (k = 0; k < 8; k++)
		h |= (uint64_t)out[k] << (8 * k);
	return h;
}

/* Ties of h (rows alike in every column hashed) go to the first place: the cut is one set. */
#define BPAIR_H(x) ((unsigned __int128)(x).h << 64 | (x).pos)
HEAPSORT_DEFINE(bpairs_heapsort_h, struct bpair, BPAIR_H)

/* A unit's pairs by (h, place): few rows a unit, where insertion beats a heapsort's calls. */
static void
bpairs_sort_h(struct bpair *a, size_t n)
{
	size_t i, j;

	if (n > 32) {
		bpairs_heapsort_h(a, n);
		return;
	}
	for (i = 1; i < n; i++) {
		struct bpair t = a[i];

		for (j = i; j > 0 && BPAIR_H(a[j - 1]) > BPAIR_H(t); j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
}

/* Pairs sorted by unit: LSD radix by 11-bit digits over the bits in which units differ. */
static int
bpairs_sort(struct bpair *a, size_t n)
{
	struct bpair *tmp, *b, *t;
	uint64_t diff = 0;
	size_t i, cnt[2048];
	unsigned shift, top;

	for (i = 1; i < n; i++)
		diff |= a[i].unit ^ a[0].unit;
	top = diff == 0 ? 0 : 64 - (unsigned)__builtin_clzll(diff);
	if (top == 0)
		return 0;
	if ((tmp = malloc(n * sizeof *tmp)) == NULL)
		return SL_ERR_NOMEM;
	b = tmp;
	for (shift = 0; shift < top; shift += 11) {
		size_t sum = 0, c;

		memset(cnt, 0, sizeof cnt);
		for (i = 0; i < n; i++)
			cnt[a[i].unit >> shift & 2047]++;
		for (i = 0; i < 2048; i++)
			c = cnt[i], cnt[i] = sum, sum += c;
		for (i = 0; i < n; i++)
			b[cnt[a[i].unit >> shift & 2047]++] = a[i];
		t = a, a = b, b = t;
	}
	if (a != tmp) {
		free(tmp);
		return 0;
	}
	memcpy(b, a, n * sizeof *a);
	free(tmp);
	return 0;
}

/*
 * Sort the pairs by unit and, for a unit of more than k = brows, its pairs
 * by h, keeping its k smallest (memory stays 24 k bytes a unit however many
 * rows it has).  Final: mark in bkeep the places of the pairs kept, and free
 * the pairs.
 */
static int
bound_reduce(struct exec *e, int final)
{
	size_t i, j, m, t, n = 0, k = e->brows;
	int r;

	if ((r = bpairs_sort(e->bpairs, e->npairs)) != 0)
		return r;
	if (final && (e->bkeep = calloc(e->nseen / 8 + 1, 1)) == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < e->npairs; i = j) {
		for (j = i + 1; j < e->npairs && e->bpairs[j].unit == e->bpairs[i].unit; j++)
			;
		m = j - i;
		if (m > k) {
			bpairs_sort_h(&e->bpairs[i], m);
			m = k;
		}
		if (final)
			for (t = i; t < i + m; t++)
				e->bkeep[e->bpairs[t].pos >> 3] |=
				    (uint8_t)(1u << (e->bpairs[t].pos & 7));
		else
			memmove(&e->bpairs[n], &e->bpairs[i], m * sizeof *e->bpairs);
		n += m;
	}
	e->npairs = n;
	if (final) {
		free(e->bpairs);
		e->bpairs = NULL;
		e->npairs = e->pcap = 0;
		e->nseen = 0;
	}
	return 0;
}

/* Pass 1: each selected row's (unit, h, place among the selected rows). */
static int
bound_collect(struct exec *e, uint32_t nsel)
{
	const struct store_vec *u = &e->vecs[e->s->unit];
	struct bpair *grown;
	uint32_t j;
	size_t cap;
	int r;

	if (e->npairs + nsel > e->pcap) {
		/* Past exec_bound_prune_pairs, prune first; grow only when that freed too little. */
		if (e->pcap >= exec_bound_prune_pairs && (r = bound_reduce(e, 0)) != 0)
			return r;
		if (e->npairs + nsel > e->pcap / 2 || e->pcap == 0) {
			if (__builtin_mul_overflow(e->pcap ? e->pcap : STORE_CHUNK_ROWS, 2, &cap) ||
			    cap > SIZE_MAX / sizeof *grown)
				return SL_ERR_NOMEM;
			if ((grown = realloc(e->bpairs, cap * sizeof *grown)) == NULL)
				return SL_ERR_NOMEM;
			e->bpairs = grown;
			e->pcap = cap;
		}
	}
	for (j = 0; j < nsel; j++)
		e->bpairs[e->npairs++] =
		    (struct bpair){value_bits(u, e->sel[j]), bound_hash(e, e->sel[j]), e->nseen++};
	return 0;
}

/*
 * Pass 2: of the selected rows, only those the bound keeps, in order.  The
 * scan selects the same rows in the same order as pass 1, so a row's place
 * among them is all it takes: no hash and no lookup here.
 */
static uint32_t
bound_admit(struct exec *e, uint32_t nsel)
{
	uint32_t j, n = 0;

	for (j = 0; j < nsel; j++, e->nseen++) {
		e->sel[n] = e->sel[j];
		n += e->bkeep[e->nseen >> 3] >> (e->nseen & 7) & 1;
	}
	return n;
}

/*
 * The rows of a batch where lo <= x <= hi, into sel: a filter that is one
 * range over a column without NULLs (Q1's shape) needs no truth values.
 */
static uint32_t
select_range_scalar(const int64_t *x, uint32_t from, uint32_t rows, uint64_t lo, uint64_t span,
    uint32_t *sel, uint32_t n)
{
	uint32_t i;

	for (i = from; i < rows; i++) {
		sel[n] = i;
		n += (uint64_t)x[i] - lo <= span;
	}
	return n;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Eight rows per step: a mask of the matches, compressed into their indices. */
__attribute__((target("avx512f,avx512vl"))) static uint32_t
select_range_avx512(const int64_t *x, uint32_t rows, uint64_t lo, uint64_t span, uint32_t *sel)
{
	const __m512i vlo = _mm512_set1_epi64((int64_t)lo),
	              vspan = _mm512_set1_epi64((int64_t)span);
	const __m256i eight = _mm256_set1_epi32(8);
	__m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	uint32_t i, n = 0;

	for (i = 0; i + 8 <= rows; i += 8) {
		__mmask8 m = _mm512_cmple_epu64_mask(
		    _mm512_sub_epi64(_mm512_loadu_si512(x + i), vlo), vspan);

		/* Writes eight indices at sel + n <= sel + i: inside the batch. */
		_mm256_storeu_si256((__m256i *)(sel + n), _mm256_maskz_compress_epi32(m, idx));
		n += (uint32_t)__builtin_popcount(m);
		idx = _mm256_add_epi32(idx, eight);
	}
	return select_range_scalar(x, i, rows, lo, span, sel, n);
}
#endif

static uint32_t
select_range(const struct plan_cond *pc, const int64_t *x, uint32_t rows, uint32_t *sel)
{
	const uint64_t lo = (uint64_t)pc->lo, span = (uint64_t)pc->hi - lo;

	if (pc->lo > pc->hi)
		return 0;
#if defined(__x86_64__) && defined(__GNUC__)
	if (simd_avx512(-1))
		return select_range_avx512(x, rows, lo, span, sel);
#endif
	return select_range_scalar(x, 0, rows, lo, span, sel, 0);
}

/* Rows [from, from + rows) of the chunk whose columns scan_chunk() opened. */
static int
scan_batch(struct exec *e, uint32_t chunk, uint32_t from, uint32_t rows)
{
	const struct plan *p = e->p;
	uint32_t i, nsel = 0;
	size_t c, a, tix = 0, unit = e->s->unit;
	int r, unit_read = 0;

	for (c = 0; c < e->s->ncols; c++) {
		if (!e->open[c])
			continue;
		if ((r = store_buf_unpack(e->r, e->bufs[c], from, rows, &e->vecs[c])) != 0)
			return r;
		unit_read |= c == unit;
	}
	if (p->where != NULL && p->where->kind == PLAN_RANGE && !p->where->negated &&
	    e->vecs[p->where->col].nulls == NULL) {
		nsel = select_range(p->where, e->vecs[p->where->col].ints, rows, e->sel);
	} else if (p->where != NULL) {
		if ((r = eval(e, p->where, rows, e->truth, 0, &tix)) != 0)
			return r;
		for (i = 0; i < rows; i++) {
			e->sel[nsel] = i;
			nsel += e->truth[i] == T;
		}
	} else {
		for (i = 0; i < rows; i++)
			e->sel[i] = i;
		nsel = rows;
	}
	if (e->bpass == 1)
		return bound_collect(e, nsel);
	if (e->bpass == 2)
		nsel = bound_admit(e, nsel);
	if ((r = assign_groups(e, nsel)) != 0)
		return r;
	if ((r = count_units(e, chunk, from, rows, nsel, unit_read)) != 0)
		return r;
	for (a = 0; a < p->naggs; a++)
		if ((r = aggregate(e, a, nsel)) != 0)
			return r;
	return 0;
}

/*
 * Each column a chunk needs is decrypted and authenticated whole, once; it is
 * then decoded and processed EXEC_BATCH rows at a time, so that the decoded
 * values are still in cache when the filter and the aggregates read them.
 */
static int
scan_chunk(struct exec *e, uint32_t chunk)
{
	const struct plan *p = e->p;
	uint32_t rows = 0, n, from;
	size_t c, unit = e->s->unit;
	int r, have_rows = 0;

	/* With a cap, the unit column is opened last, and only if needed (count_units). */
	for (c = 0; c < e->s->ncols; c++) {
		e->open[c] = p->reads[c] &&
		             !(c == unit && e->units_cap > 0 && !p->unit_named && e->bpass != 1);
		if (!e->open[c])
			continue;
		if ((r = store_buf_open(e->r, c, chunk, e->bufs[c], &rows)) != 0)
			return r;
		have_rows = 1;
	}
	if (!have_rows) {
		if ((r = store_buf_open(e->r, unit, chunk, e->bufs[unit], &rows)) != 0)
			return r;
		e->open[unit] = 1;
	}
	if (e->open[unit])
		e->unit_chunk = chunk;
	e->rows_scanned += rows;
	for (from = 0; from < rows; from += n) {
		n = rows - from < EXEC_BATCH ? rows - from : EXEC_BATCH;
		if ((r = scan_batch(e, chunk, from, n)) != 0)
			return r;
	}
	return 0;
}

/* ---- the answer ---------------------------------------------------------- */

/* Sum of squared deviations from the mean, from the shifted sums. */
static double
real_m2(const struct acc *x)
{
	double m2 = x->n > 0 ? x->ssq - x->ssum * x->ssum / (double)x->n : 0;

	return m2 > 0 ? m2 : 0;
}

/* A stored value of column col for the broker: raw storage units, text as text. */
static struct job_value
raw_value(struct exec *e, size_t col, int64_t iv, double rv)
{
	const struct schema_column *c = &e->s->cols[col];

	if (c->type == SCHEMA_TEXT)
		return (struct job_value){.type = JOB_VALUE_TEXT,
		    .s = (const uint8_t *)e->dstr[col][iv],
		    .len = (uint32_t)e->dlen[col][iv]};
	if (c->type == SCHEMA_REAL)
		return (struct job_value){.type = JOB_VALUE_REAL, .r = rv};
	return (struct job_value){.type = JOB_VALUE_INT, .i = iv};
}

static struct job_agg_state
agg_state(struct exec *e, size_t a, size_t g)
{
	const struct plan_agg *pa = &e->p->aggs[a];
	const struct acc *x = &e->accs[a][g];
	int real = e->s->cols[pa->col].type == SCHEMA_REAL;
	struct job_agg_state st = {.n = (uint64_t)x->n};

	switch (pa->fn) {
	case FN_COUNT:
		st.n = (uint64_t)e->grows[g];
		break;
	case FN_COUNT_DISTINCT:
		st.n = (uint64_t)x->isum;
		break;
	case FN_MIN:
	case FN_MAX:
		if (x->n > 0)
			st.value = raw_value(e, pa->col, x->imin, x->rmin);
		break;
	default:
		st.value = real ? (struct job_value){.type = JOB_VALUE_REAL, .r = x->rsum}
		                : (struct job_value){.type = JOB_VALUE_INT, .i = x->isum};
		st.sumsq = x->isq;
		st.m2 = real ? real_m2(x) : 0;
	}
	return st;
}

static void
group_fill(struct exec *e, size_t g, struct job_group *out)
{
	const struct plan *p = e->p;
	size_t k, a;

	for (k = 0; k < p->nkeys; k++) {
		const struct plan_key *pk = &p->keys[k];
		int64_t v = e->gkeys[g * p->nkeys + k];
		double d;

		memcpy(&d, &v, sizeof d);
		if (e->gnulls[g] >> k & 1)
			out->keys[k] = (struct job_value){.type = JOB_VALUE_NULL};
		else if (pk->fn == FN_KEY_YEAR || pk->fn == FN_KEY_MONTH)
			out->keys[k] = (struct job_value){.type = JOB_VALUE_INT, .i = v};
		else
			out->keys[k] = raw_value(e, pk->col, v, d);
	}
	out->rows = (uint64_t)e->grows[g];
	out->units = (uint64_t)e->gunits[g];
	for (a = 0; a < p->naggs; a++)
		out->aggs[a] = agg_state(e, a, g);
}

/* An aggregate's state that no answer can carry: a clear error, never a wrong number. */
static int
overflowed(struct exec *e, size_t a, const struct acc *x)
{
	const struct plan_agg *pa = &e->p->aggs[a];
	const char *fn = fn_aggs[pa->fn].call, *col = e->s->cols[pa->col].name;
	uint32_t phrase = job_phrase_find(fn);

	if (x->overflow == SUM_OVERFLOW)
		return exec_fault(
		    sl_errf(SL_ERR_LIMIT, "query: %s(%s): the sum overflows 64 bits", fn, col),
		    JOB_RULE_SUM_OVERFLOW, phrase, pa->col, 0);
	if (x->overflow == SQ_OVERFLOW)
		return exec_fault(
		    sl_errf(SL_ERR_LIMIT, "query: %s(%s): the sum of squares overflows 128 bits",
		        fn, col),
		    JOB_RULE_SQUARES_OVERFLOW, phrase, pa->col, 0);
	if (e->s->cols[pa->col].type == SCHEMA_REAL &&
	    (!isfinite(x->rsum) || !isfinite(x->ssq) || !isfinite(real_m2(x))))
		return exec_fault(
		    sl_errf(SL_ERR_LIMIT, "query: %s(%s) overflows the range of a double", fn, col),
		    JOB_RULE_REAL_OVERFLOW, phrase, pa->col, 0);
	return 0;
}

/* The TEXT values of res copied into its own pool: the dictionaries go with the scan. */
static int
own_texts(struct job_result *res)
{
	size_t n = res->ngroups * res->nkeys, i, total = 0;
	struct job_value *v;
	uint8_t *q;

	for (i = 0; i < n; i++)
		if (res->key_pool[i].type == JOB_VALUE_TEXT)
			total += res->key_pool[i].len;
	for (i = 0; i < res->ngroups * res->naggs; i++)
		if (res->agg_pool[i].value.type == JOB_VALUE_TEXT)
			total += res->agg_pool[i].value.len;
	if ((q = res->text_pool = malloc(total + 1)) == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < n + res->ngroups * res->naggs; i++) {
		v = i < n ? &res->key_pool[i] : &res->agg_pool[i - n].value;
		if (v->type != JOB_VALUE_TEXT)
			continue;
		memcpy(q, v->s, v->len);
		v->s = q;
		q += v->len;
	}
	return 0;
}

static int
answer(struct exec *e, struct job_result *res)
{
	size_t g, a, ng = e->ngroups, nk = e->p->nkeys, na = e->p->naggs;
	int r;

	for (g = 0; e->units_cap == 0 && g < ng; g++)
		if ((r = uvec_distinct(&e->units[g], &e->gunits[g])) != 0)
			return r;
	for (g = 0; g < ng; g++)
		for (a = 0; a < na; a++)
			if ((r = overflowed(e, a, &e->accs[a][g])) != 0)
				return r;
	res->rows_scanned = (uint64_t)e->rows_scanned;
	res->nkeys = nk;
	res->naggs = na;
	if ((res->groups = calloc(ng + 1, sizeof *res->groups)) == NULL ||
	    (res->key_pool = calloc(ng * nk + 1, sizeof *res->key_pool)) == NULL ||
	    (res->agg_pool = calloc(ng * na + 1, sizeof *res->agg_pool)) == NULL)
		return SL_ERR_NOMEM;
	res->ngroups = ng;
	for (g = 0; g < ng; g++) {
		res->groups[g].keys = res->key_pool + g * nk;
		res->groups[g].aggs = res->agg_pool + g * na;
		group_fill(e, g, &res->groups[g]);
	}
	return own_texts(res);
}

/* ---- setup --------------------------------------------------------------- */

static int
setup(struct exec *e)
{
	const struct plan *p = e->p;
	size_t c, ncols = e->s->ncols;
	int64_t zero = 0;
	uint32_t g;
	int r;

	e->bufs = calloc(ncols, sizeof *e->bufs);
	e->vecs = calloc(ncols, sizeof *e->vecs);
	e->dstr = calloc(ncols, sizeof *e->dstr);
	e->dlen = calloc(ncols, sizeof *e->dlen);
	e->dn = calloc(ncols, sizeof *e->dn);
	e->accs = calloc(p->naggs + 1, sizeof *e->accs);
	e->distinct = calloc(p->naggs + 1, sizeof *e->distinct);
	e->open = calloc(ncols, 1);
	e->unit_chunk = UINT32_MAX;
	e->truth = malloc(STORE_CHUNK_ROWS);
	e->sel = malloc(STORE_CHUNK_ROWS * sizeof *e->sel);
	e->gid = malloc(STORE_CHUNK_ROWS * sizeof *e->gid);
	if (e->bufs == NULL || e->vecs == NULL || e->dstr == NULL || e->dlen == NULL ||
	    e->dn == NULL || e->accs == NULL || e->distinct == NULL || e->open == NULL ||
	    e->truth == NULL || e->sel == NULL || e->gid == NULL)
		return SL_ERR_NOMEM;
	if (p->nkeys > 64)
		return exec_fault(sl_errf(SL_ERR_LIMIT, "query: more than 64 GROUP BY keys"),
		    JOB_RULE_TOO_MANY, JOB_PHRASE_GROUP_KEYS, SIZE_MAX, 64);
	for (c = 0; c < ncols; c++) {
		if (!p->reads[c])
			continue;
		if ((e->bufs[c] = store_buf_new()) == NULL)
			return SL_ERR_NOMEM;
		if (e->s->cols[c].type == SCHEMA_TEXT &&
		    (r = store_read_dict(e->r, c, &e->dstr[c], &e->dlen[c], &e->dn[c])) != 0)
			return r;
	}
	if (p->where != NULL && (r = text_tables(e, p->where)) != 0)
		return r;
	if (e->brows > 0) {
		/* The longest canonical encoding: 9 bytes a value, 5 and the longest string for TEXT. */
		size_t len = 0, c2;
		uint32_t i;

		for (c = 0; c < ncols; c++) {
			size_t w = 9;

			if (!p->reads[c])
				continue;
			for (i = 0; e->s->cols[c].type == SCHEMA_TEXT && i < e->dn[c]; i++)
				if (e->dlen[c][i] + (size_t)5 > w)
					w = e->dlen[c][i] + (size_t)5;
			if (__builtin_add_overflow(len, w, &c2))
				return SL_ERR_NOMEM;
			len = c2;
		}
		if ((e->bbuf = malloc(len)) == NULL)
			return SL_ERR_NOMEM;
	}
	if (p->nkeys == 1 && e->s->cols[p->keys[0].col].type == SCHEMA_TEXT) {
		size_t n = (size_t)e->dn[p->keys[0].col] + 1;

		if ((e->codemap = malloc(n * sizeof *e->codemap)) == NULL)
			return SL_ERR_NOMEM;
		memset(e->codemap, 0xff, n * sizeof *e->codemap);
	}
	/* Without GROUP BY there is one group, even over no rows (SQL's answer). */
	if (p->nkeys == 0 && (r = group_of(e, &zero, 0, &g)) != 0)
		return r;
	return 0;
}

static void
teardown(struct exec *e)
{
	size_t c, a;

	for (c = 0; e->bufs != NULL && c < e->s->ncols; c++)
		store_buf_free(e->bufs[c]);
	for (c = 0; c < e->nttab; c++)
		free(e->ttab[c]);
	for (c = 0; c < EXEC_DEPTH_MAX; c++)
		free(e->scratch[c]);
	for (a = 0; e->accs != NULL && a < e->p->naggs; a++)
		free(e->accs[a]);
	for (a = 0; e->distinct != NULL && a < e->p->naggs; a++)
		free(e->distinct[a].slots);
	for (c = 0; e->units != NULL && c < e->ngroups; c++)
		free(e->units[c].v);
	free(e->units);
	free(e->unitset.slots);
	free(e->ttab);
	free(e->bufs);
	free(e->vecs);
	free(e->dstr);
	free(e->dlen);
	free(e->dn);
	free(e->accs);
	free(e->distinct);
	free(e->open);
	free(e->truth);
	free(e->sel);
	free(e->gid);
	free(e->gkeys);
	free(e->gnulls);
	free(e->grows);
	free(e->gunits);
	free(e->slots);
	free(e->codemap);
	free(e->bbuf);
	free(e->bpairs);
	free(e->bkeep);
	sodium_memzero(e->bkey, sizeof e->bkey);
}

/* The label the bound's hash key is derived under (exec.h). */
static const char bound_label[] = "sluice/exec/bound/v1";

/* ---- threads ------------------------------------------------------------- */

/*
 * A parallel scan: the chunks are cut into nthreads runs, one a thread, each
 * scanned into a state of its own (groups, accumulators, units) exactly as
 * one thread scans, then merged into the job thread's state in chunk order.
 * Groups come out in the order of their first row, integer results are the
 * one-thread results bit for bit, and REAL sums are added run by run in that
 * fixed order, so an answer depends on the thread count but never on timing.
 */
struct part {
	struct exec e;
	uint32_t from, to; /* chunks [from, to) */
	int set;           /* setup() has run */
	int rc;
	struct fault_state fault; /* a failure's notes, for the job's thread */
	char msg[512];
	pthread_t th;
	int joinable;
};

static void
exec_init(struct exec *e, const struct plan *p, struct store_reader *r, uint32_t units_cap)
{
	memset(e, 0, sizeof *e);
	e->p = p;
	e->s = p->s;
	e->r = r;
	/* Beyond a few thousand, the sort of every unit beats a probe per row. */
	e->units_cap = units_cap <= EXEC_UNITS_CAP_MAX ? units_cap : 0;
}

static void *
part_run(void *arg)
{
	struct part *t = arg;
	uint32_t c;

	fault_clear();
	sl_err_clear();
	if (!t->set) {
		t->set = 1;
		t->rc = setup(&t->e);
	}
	for (c = t->from; c < t->to && t->rc == 0; c++)
		t->rc = scan_chunk(&t->e, c);
	/* The bound's first pass: each run keeps its units' k smallest, a superset of the cut. */
	if (t->rc == 0 && t->e.bpass == 1)
		t->rc = bound_reduce(&t->e, 0);
	if (t->rc != 0) {
		fault_save(&t->fault);
		snprintf(t->msg, sizeof t->msg, "%s", sl_err_msg(t->rc));
	}
	return NULL;
}

/* Every part's run, one a thread; the first failure in chunk order is the one one thread meets. */
static int
parts_run(struct part *parts, unsigned nthreads)
{
	unsigned t;

	/* A thread the system will not make (the worker user's task limit): its run, here. */
	for (t = 1; t < nthreads; t++)
		parts[t].joinable = pthread_create(&parts[t].th, NULL, part_run, &parts[t]) == 0;
	part_run(&parts[0]);
	for (t = 1; t < nthreads; t++) {
		if (parts[t].joinable)
			pthread_join(parts[t].th, NULL);
		else
			part_run(&parts[t]);
		parts[t].joinable = 0;
	}
	for (t = 0; t < nthreads; t++) {
		if (parts[t].rc != 0) {
			fault_restore(&parts[t].fault);
			return sl_errf(parts[t].rc, "%s", parts[t].msg);
		}
	}
	return 0;
}

/*
 * The bound's cut over every run's pruned pairs, their places made global
 * (a run's places follow those of the runs before it, as on one thread), and
 * each run set up to admit from its first place: the kept rows are those of
 * one thread whatever the thread count.
 */
static int
bound_cut(struct exec *e, struct part *parts, unsigned nthreads)
{
	size_t total = 0, i;
	uint64_t base = 0, seen;
	unsigned t;

	for (t = 0; t < nthreads; t++)
		total += parts[t].e.npairs;
	if ((e->bpairs = malloc((total + 1) * sizeof *e->bpairs)) == NULL)
		return SL_ERR_NOMEM;
	e->pcap = total + 1;
	for (t = 0; t < nthreads; t++) {
		struct exec *pe = &parts[t].e;

		for (i = 0; i < pe->npairs; i++) {
			e->bpairs[e->npairs] = pe->bpairs[i];
			e->bpairs[e->npairs++].pos += base;
		}
		free(pe->bpairs);
		pe->bpairs = NULL;
		pe->npairs = pe->pcap = 0;
		seen = pe->nseen;
		pe->nseen = base;
		base += seen;
	}
	e->nseen = base;
	return bound_reduce(e, 1);
}

static int
add_checked(int64_t *x, int64_t y)
{
	return __builtin_add_overflow(*x, y, x);
}

/* y, of the same group and aggregate in a later run of chunks, into x. */
static void
acc_merge(struct exec *dst, const struct plan_agg *pa, struct acc *x, const struct acc *y)
{
	int real = dst->s->cols[pa->col].type == SCHEMA_REAL;

	if (y->n == 0)
		return;
	if (x->n == 0 && pa->fn != FN_COUNT_DISTINCT) {
		*x = *y;
		return;
	}
	switch (pa->fn) {
	case FN_COUNT:
		break;
	case FN_COUNT_DISTINCT:
		/* The distinct values themselves are merged (merge()); isum is counted there. */
		x->n += y->n;
		break;
	case FN_MIN:
	case FN_MAX: {
		int mx = pa->fn == FN_MAX, better;

		if (real)
			better = mx ? y->rmin > x->rmin : y->rmin < x->rmin;
		else if (dst->s->cols[pa->col].type == SCHEMA_TEXT)
			better = mx ? text_less(dst, pa->col, x->imin, y->imin)
			            : text_less(dst, pa->col, y->imin, x->imin);
		else
			better = mx ? y->imin > x->imin : y->imin < x->imin;
		if (better) {
			x->imin = x->imax = y->imin;
			x->rmin = x->rmax = y->rmin;
		}
		x->n += y->n;
		break;
	}
	default:
		if (real) {
			/* y's shifted sums, moved to x's shift: sum(v - a) = sum(v - b) + n(b - a). */
			double d = y->shift - x->shift;

			x->rsum += y->rsum;
			x->ssq += y->ssq + 2 * d * y->ssum + (double)y->n * d * d;
			x->ssum += y->ssum + (double)y->n * d;
		} else {
			if (add_checked(&x->isum, y->isum))
				x->overflow = SUM_OVERFLOW;
			if (__builtin_add_overflow(x->isq, y->isq, &x->isq))
				x->overflow = SQ_OVERFLOW;
		}
		if (y->overflow > x->overflow)
			x->overflow = y->overflow;
		x->n += y->n;
	}
}

/* Run src's state into dst's: its groups found or made in dst, in src's order. */
static int
merge(struct exec *dst, struct exec *src)
{
	const struct plan *p = dst->p;
	size_t g, a, i, nk = p->nkeys;
	uint32_t *map, G;
	int r = 0;

	if ((map = malloc((src->ngroups + 1) * sizeof *map)) == NULL)
		return SL_ERR_NOMEM;
	for (g = 0; g < src->ngroups && r == 0; g++) {
		struct uvec *from = &src->units[g], *to;

		if ((r = group_of(dst, &src->gkeys[g * nk], src->gnulls[g], &G)) != 0)
			break;
		map[g] = G;
		dst->grows[G] += src->grows[g];
		for (a = 0; a < p->naggs; a++)
			acc_merge(dst, &p->aggs[a], &dst->accs[a][G], &src->accs[a][g]);
		to = &dst->units[G];
		for (i = 0; dst->units_cap == 0 && i < from->n && r == 0; i++)
			r = uvec_push(to, from->v[i]);
	}
	/* Distinct units up to the cap, and COUNT(DISTINCT) values: the union of the pairs. */
	for (i = 0; r == 0 && dst->units_cap > 0 && i < src->unitset.cap; i++) {
		const struct pair *q = &src->unitset.slots[i];

		if (!q->used || dst->gunits[map[q->g]] >= dst->units_cap)
			continue;
		if ((r = pairset_add(&dst->unitset, map[q->g], q->v)) > 0)
			dst->gunits[map[q->g]] += r;
		r = r < 0 ? r : 0;
	}
	for (a = 0; r == 0 && a < p->naggs; a++) {
		for (i = 0; p->aggs[a].fn == FN_COUNT_DISTINCT && i < src->distinct[a].cap; i++) {
			const struct pair *q = &src->distinct[a].slots[i];

			if (!q->used)
				continue;
			if ((r = pairset_add(&dst->distinct[a], map[q->g], q->v)) < 0)
				break;
			dst->accs[a][map[q->g]].isum += r;
			r = 0;
		}
	}
	dst->rows_scanned += src->rows_scanned;
	free(map);
	return r;
}

static int
run_parallel(struct exec *e, struct store_reader *const *readers, unsigned nthreads,
    uint32_t units_cap, struct job_result *result)
{
	uint32_t n = store_reader_chunks(readers[0]);
	struct part *parts;
	unsigned t;
	int rc;

	if ((parts = calloc(nthreads, sizeof *parts)) == NULL)
		return SL_ERR_NOMEM;
	for (t = 0; t < nthreads; t++) {
		exec_init(&parts[t].e, e->p, readers[t], units_cap);
		parts[t].from = (uint32_t)((uint64_t)n * t / nthreads);
		parts[t].to = (uint32_t)((uint64_t)n * (t + 1) / nthreads);
		if (e->brows > 0) {
			parts[t].e.brows = e->brows;
			memcpy(parts[t].e.bkey, e->bkey, sizeof e->bkey);
			parts[t].e.bpass = 1;
		}
	}
	rc = parts_run(parts, nthreads);
	if (rc == 0 && e->brows > 0 && (rc = bound_cut(e, parts, nthreads)) == 0) {
		for (t = 0; t < nthreads; t++) {
			parts[t].e.bpass = 2;
			parts[t].e.bkeep = e->bkeep; /* shared, read only; e frees it */
			parts[t].e.rows_scanned = 0;
		}
		rc = parts_run(parts, nthreads);
	}
	for (t = 0; t < nthreads && rc == 0; t++)
		rc = merge(e, &parts[t].e);
	if (rc == 0)
		rc = answer(e, result);
	for (t = 0; t < nthreads; t++) {
		parts[t].e.bkeep = NULL;
		teardown(&parts[t].e);
	}
	free(parts);
	return rc;
}

int
exec_run(const struct plan *p, struct store_reader *const *readers, unsigned nthreads,
    uint32_t units_cap, const struct exec_bound *bound, struct job_result *result)
{
	struct exec e;
	struct store_reader *r = readers[0];
	uint32_t chunk, n = store_reader_chunks(r);
	int rc;

	exec_init(&e, p, r, units_cap);
	memset(result, 0, sizeof(*result));
	if (bound != NULL && bound->rows > 0) {
		e.brows = bound->rows;
		if (crypto_generichash(e.bkey, sizeof e.bkey, (const uint8_t *)bound_label,
		        sizeof bound_label - 1, bound->key, EXEC_BOUND_KEY_BYTES) != 0) {
			sodium_memzero(e.bkey, sizeof e.bkey);
			return SL_ERR_AUTH;
		}
	}
	/* Threads only where each has chunks of its own. */
	if (nthreads > n)
		nthreads = n;
	if ((rc = setup(&e)) == 0 && nthreads > 1) {
		rc = run_parallel(&e, readers, nthreads, units_cap, result);
		if (rc != 0)
			job_result_clear(result);
		teardown(&e);
		return rc;
	}
	if (rc == 0 && e.brows > 0) {
		/* Pass 1 finds every unit's cut; pass 2 below is the scan, admitting. */
		e.bpass = 1;
		for (chunk = 0; chunk < n && rc == 0; chunk++)
			rc = scan_chunk(&e, chunk);
		if (rc == 0)
			rc = bound_reduce(&e, 1);
		e.bpass = 2;
		e.rows_scanned = 0;
	}
	if (rc == 0) {
		for (chunk = 0; chunk < n && rc == 0; chunk++)
			rc = scan_chunk(&e, chunk);
		if (rc == 0)
			rc = answer(&e, result);
	}
	if (rc != 0)
		job_result_clear(result);
	teardown(&e);
	return rc;
}
