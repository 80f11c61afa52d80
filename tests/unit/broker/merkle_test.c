/*
 * tests/unit/broker/merkle_test.c -- tests of broker/merkle.c.
 *
 * Known answers: merkle_vectors.txt next to this file holds the published
 * Certificate Transparency reference data for SHA-256 (8 leaves, the roots of
 * the first n leaves for n = 0..8, inclusion and consistency proofs), copied
 * from google/certificate-transparency cpp/merkletree/merkle_tree_test.cc and
 * transparency-dev/merkle proof/verify_test.go.  The file is found through
 * SL_TEST_DATADIR (if the build defines it), then $srcdir, then the current
 * directory; not finding it is a failure, not a skip.
 *
 * The rejection probes follow transparency-dev/merkle proof/verify_test.go
 * (corruptInclusionProof, corruptConsistencyProof) and add every single-bit
 * flip of every proof element.
 *
 * Randomised cross-check: a straightforward recursive transcription of the
 * RFC 6962 MTH, PATH and SUBPROOF definitions (recursion depth <= 10 here),
 * hashing with OpenSSL directly rather than through the module, is compared
 * with the module for every tree size 0..300.  The PRNG seed is fixed so that
 * a failure reproduces; set MERKLE_TEST_SEED to try others.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker/merkle.h"
#include "common/err.h"

#define HB MERKLE_HASH_BYTES
#define VEC_FILE "merkle_vectors.txt"
#define VEC_LEAVES 8
#define VEC_MAX_PROOFS 16
#define RAND_MAX_SIZE 300
#define RAND_FULL_SIZE 64 /* every index and every m up to this size */

/* ---- Reference data ---- */

struct vec_proof {
	uint64_t a, b; /* (index, size) or (m, n) */
	size_t len;
	uint8_t h[MERKLE_MAX_PROOF][HB];
};

static struct {
	uint8_t leaf[VEC_LEAVES][32];
	size_t leaf_len[VEC_LEAVES];
	bool have_leaf[VEC_LEAVES];
	uint8_t root[VEC_LEAVES + 1][HB];
	bool have_root[VEC_LEAVES + 1];
	struct vec_proof incl[VEC_MAX_PROOFS];
	size_t n_incl;
	struct vec_proof cons[VEC_MAX_PROOFS];
	size_t n_cons;
	uint8_t leaf_hash[VEC_LEAVES][HB]; /* filled by the group setup */
} vec;

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode len hex chars at s into out (room for cap bytes); -1 on bad input. */
static int
hex_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t i;
	int hi, lo;

	if (len % 2 != 0 || len / 2 > cap)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if ((hi = hexval(s[2 * i])) < 0 || (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = len / 2;
	return 0;
}

/* The next blank-separated token of *p: start in *tok, length returned (0 at end). */
static size_t
next_token(char **p, char **tok)
{
	char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	*tok = s;
	while (s[n] != '\0' && s[n] != ' ' && s[n] != '\t' && s[n] != '\r' && s[n] != '\n')
		n++;
	*p = s + n;
	return n;
}

static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	char buf[24], *end;
	unsigned long long v;

	if (len == 0 || len >= sizeof(buf) || s[0] < '0' || s[0] > '9')
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int
parse_hash(const char *s, size_t len, uint8_t out[HB])
{
	size_t n;

	if (len != 2 * HB || hex_decode(s, len, out, HB, &n) != 0)
		return -1;
	return 0;
}

static int
parse_proof_line(char *p, struct vec_proof *v)
{
	char *tok;
	size_t n;

	memset(v, 0, sizeof(*v));
	if ((n = next_token(&p, &tok)) == 0 || parse_u64(tok, n, &v->a) != 0)
		return -1;
	if ((n = next_token(&p, &tok)) == 0 || parse_u64(tok, n, &v->b) != 0)
		return -1;
	while ((n = next_token(&p, &tok)) != 0) {
		if (v->len >= MERKLE_MAX_PROOF || parse_hash(tok, n, v->h[v->len]) != 0)
			return -1;
		v->len++;
	}
	return 0;
}

static int
parse_line(char *line)
{
	char *p = line, *tok;
	uint64_t i;
	size_t n;

	if ((n = next_token(&p, &tok)) == 0 || tok[0] == '#')
		return 0;
	if (n == 4 && memcmp(tok, "leaf", 4) == 0) {
		if ((n = next_token(&p, &tok)) == 0 || parse_u64(tok, n, &i) != 0 ||
		    i >= VEC_LEAVES || vec.have_leaf[i])
			return -1;
		if ((n = next_token(&p, &tok)) == 0)
			return -1;
		if (n == 1 && tok[0] == '-')
			vec.leaf_len[i] = 0;
		else if (hex_decode(tok, n, vec.leaf[i], sizeof(vec.leaf[i]), &vec.leaf_len[i]) !=
		         0)
			return -1;
		vec.have_leaf[i] = true;
	} else if (n == 4 && memcmp(tok, "root", 4) == 0) {
		if ((n = next_token(&p, &tok)) == 0 || parse_u64(tok, n, &i) != 0 ||
		    i > VEC_LEAVES || vec.have_root[i])
			return -1;
		if ((n = next_token(&p, &tok)) == 0 || parse_hash(tok, n, vec.root[i]) != 0)
			return -1;
		vec.have_root[i] = true;
	} else if (n == 9 && memcmp(tok, "inclusion", 9) == 0) {
		if (vec.n_incl >= VEC_MAX_PROOFS || parse_proof_line(p, &vec.incl[vec.n_incl]) != 0)
			return -1;
		vec.n_incl++;
		return 0;
	} else if (n == 11 && memcmp(tok, "consistency", 11) == 0) {
		if (vec.n_cons >= VEC_MAX_PROOFS || parse_proof_line(p, &vec.cons[vec.n_cons]) != 0)
			return -1;
		vec.n_cons++;
		return 0;
	} else {
		return -1;
	}
	/* leaf and root lines take nothing more. */
	return next_token(&p, &tok) == 0 ? 0 : -1;
}

/* Open the vector file: SL_TEST_DATADIR, then $srcdir, then the cwd. */
static FILE *
vec_open(void)
{
	static const char *const rel[] = {
	    "/" VEC_FILE,
	    "/unit/broker/" VEC_FILE,
	    "/tests/unit/broker/" VEC_FILE,
	};
	const char *bases[3];
	char path[4096];
	size_t nb = 0, b, j;
	FILE *fp;
	int n;

#ifdef SL_TEST_DATADIR
	bases[nb++] = SL_TEST_DATADIR;
#endif
	if (getenv("srcdir") != NULL)
		bases[nb++] = getenv("srcdir");
	bases[nb++] = ".";
	for (b = 0; b < nb; b++) {
		for (j = 0; j < sizeof(rel) / sizeof(rel[0]); j++) {
			n = snprintf(path, sizeof(path), "%s%s", bases[b], rel[j]);
			if (n < 0 || (size_t)n >= sizeof(path))
				continue;
			if ((fp = fopen(path, "r")) != NULL)
				return fp;
		}
	}
	fprintf(stderr, "merkle_test: cannot find %s (set SL_TEST_DATADIR or srcdir)\n", VEC_FILE);
	return NULL;
}

static int
vec_load(void **state)
{
	char line[2048];
	size_t lineno = 0, i;
	FILE *fp;
	int r = -1;

	(void)state;
	memset(&vec, 0, sizeof(vec));
	if ((fp = vec_open()) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			fprintf(stderr, "merkle_test: %s:%zu: line too long\n", VEC_FILE, lineno);
			goto out;
		}
		if (parse_line(line) != 0) {
			fprintf(stderr, "merkle_test: %s:%zu: bad line\n", VEC_FILE, lineno);
			goto out;
		}
	}
	if (ferror(fp))
		goto out;
	/* A truncated file must fail, not test less. */
	for (i = 0; i < VEC_LEAVES; i++) {
		if (!vec.have_leaf[i] || !vec.have_root[i])
			goto out;
	}
	if (!vec.have_root[VEC_LEAVES] || vec.n_incl < 5 || vec.n_cons < 5)
		goto out;
	for (i = 0; i < VEC_LEAVES; i++) {
		if (merkle_hash_leaf(
		        KEYS_SUITE_INTL, vec.leaf[i], vec.leaf_len[i], vec.leaf_hash[i]) != 0)
			goto out;
	}
	r = 0;
out:
	if (r != 0)
		fprintf(stderr, "merkle_test: %s is incomplete or malformed\n", VEC_FILE);
	fclose(fp);
	return r;
}

/* ---- Leaf source for the generators ---- */

struct leafsrc {
	const uint8_t (*h)[HB];
	uint64_t size;    /* leaves the generator may read: index < size */
	uint64_t forbid;  /* an index it must not read (UINT64_MAX: none) */
	uint64_t fail_at; /* return fail_code at this index (UINT64_MAX: never) */
	int fail_code;
	uint64_t reads;
};

static void
leafsrc_init(struct leafsrc *s, const uint8_t (*h)[HB], uint64_t size)
{
	memset(s, 0, sizeof(*s));
	s->h = h;
	s->size = size;
	s->forbid = UINT64_MAX;
	s->fail_at = UINT64_MAX;
}

static int
leafsrc_get(void *arg, uint64_t index, uint8_t out[HB])
{
	struct leafsrc *s = arg;

	assert_true(index < s->size);
	assert_true(index != s->forbid);
	s->reads++;
	if (index == s->fail_at)
		return s->fail_code;
	memcpy(out, s->h[index], HB);
	return 0;
}

/* ---- Independent hashing (OpenSSL directly) and RFC reference ---- */

static void
ossl_hash(const char *name, const void *a, size_t alen, const void *b, size_t blen, const void *c,
    size_t clen, uint8_t out[HB])
{
	EVP_MD_CTX *ctx;
	EVP_MD *md;
	unsigned int ol = 0;

	assert_non_null(md = EVP_MD_fetch(NULL, name, NULL));
	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestInit_ex(ctx, md, NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, a, alen), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, b, blen), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, c, clen), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, &ol), 1);
	assert_int_equal(ol, HB);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
}

static void
ref_leaf(const void *d, size_t len, uint8_t out[HB])
{
	static const uint8_t z = 0x00;

	ossl_hash("SHA256", &z, 1, d, len, "", 0, out);
}

static void
ref_node(const uint8_t l[HB], const uint8_t r[HB], uint8_t out[HB])
{
	static const uint8_t one = 0x01;

	ossl_hash("SHA256", &one, 1, l, HB, r, HB, out);
}

static uint64_t
ref_split(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

/* MTH(D[n]), RFC 6962 2.1, literally. */
static void
ref_mth(const uint8_t (*d)[HB], uint64_t n, uint8_t out[HB])
{
	uint8_t l[HB], r[HB];
	uint64_t k;

	if (n == 0) {
		ossl_hash("SHA256", "", 0, "", 0, "", 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], HB);
		return;
	}
	k = ref_split(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	ref_node(l, r, out);
}

/* PATH(m, D[n]), RFC 6962 2.1.1, appended to p[*len ...]. */
static void
ref_path(uint64_t m, const uint8_t (*d)[HB], uint64_t n, uint8_t p[][HB], size_t *len)
{
	uint64_t k;

	if (n == 1)
		return;
	k = ref_split(n);
	if (m < k) {
		ref_path(m, d, k, p, len);
		ref_mth(d + k, n - k, p[(*len)++]);
	} else {
		ref_path(m - k, d + k, n - k, p, len);
		ref_mth(d, k, p[(*len)++]);
	}
}

/* SUBPROOF(m, D[n], b), RFC 6962 2.1.2, appended to p[*len ...]. */
static void
ref_subproof(uint64_t m, const uint8_t (*d)[HB], uint64_t n, bool b, uint8_t p[][HB], size_t *len)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			ref_mth(d, m, p[(*len)++]);
		return;
	}
	k = ref_split(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, p, len);
		ref_mth(d + k, n - k, p[(*len)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, false, p, len);
		ref_mth(d, k, p[(*len)++]);
	}
}

/* Proof lengths by the closed forms of transparency-dev/merkle proof/verify.go. */
static unsigned int
bitlen64(uint64_t x)
{
	unsigned int n = 0;

	while (x != 0) {
		n++;
		x >>= 1;
	}
	return n;
}

static unsigned int
popcount64(uint64_t x)
{
	unsigned int n = 0;

	for (; x != 0; x &= x - 1)
		n++;
	return n;
}

static size_t
go_incl_len(uint64_t index, uint64_t size)
{
	unsigned int inner = bitlen64(index ^ (size - 1));

	return inner + (inner >= 64 ? 0 : popcount64(index >> inner));
}

static size_t
go_cons_len(uint64_t m, uint64_t n)
{
	unsigned int inner, border, shift = 0;

	if (m == 0 || m == n)
		return 0;
	inner = bitlen64((m - 1) ^ (n - 1));
	border = inner >= 64 ? 0 : popcount64((m - 1) >> inner);
	while (!((m >> shift) & 1))
		shift++;
	return ((m & (m - 1)) == 0 ? 0 : 1) + (inner - shift) + border;
}

/* splitmix64 */
static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t
rng_below(uint64_t n)
{
	return rng_next() % n;
}

static void
rng_seed(void)
{
	const char *s = getenv("MERKLE_TEST_SEED");
	uint64_t v = UINT64_C(0x5eed6962);

	if (s != NULL && parse_u64(s, strlen(s), &v) != 0) {
		fprintf(stderr, "merkle_test: bad MERKLE_TEST_SEED\n");
		exit(1);
	}
	rng_state = v;
	print_message("merkle_test: seed %llu\n", (unsigned long long)v);
}

static bool
is_rejection(int r)
{
	return r == SL_ERR_AUTH || r == SL_ERR_INVAL;
}

/* ---- Tests: hashes ---- */

static void
test_hash_primitives(void **state)
{
	uint8_t h[HB], l0[HB], l1[HB];

	(void)state;
	/* MTH({}) = SHA-256("") */
	assert_int_equal(merkle_hash_empty(KEYS_SUITE_INTL, h), 0);
	assert_memory_equal(h, vec.root[0], HB);
	/* MTH({d}) = H(0x00 || d): the 1-leaf root is the leaf hash. */
	assert_memory_equal(vec.leaf_hash[0], vec.root[1], HB);
	ref_leaf(vec.leaf[7], vec.leaf_len[7], h);
	assert_memory_equal(vec.leaf_hash[7], h, HB);
	/* MTH({d0, d1}) = H(0x01 || l0 || l1), and out may alias an input. */
	memcpy(l0, vec.leaf_hash[0], HB);
	memcpy(l1, vec.leaf_hash[1], HB);
	assert_int_equal(merkle_hash_node(KEYS_SUITE_INTL, l0, l1, l0), 0);
	assert_memory_equal(l0, vec.root[2], HB);
	assert_int_equal(merkle_hash_node(KEYS_SUITE_INTL, vec.leaf_hash[0], l1, l1), 0);
	assert_memory_equal(l1, vec.root[2], HB);
	/* Order matters. */
	assert_int_equal(
	    merkle_hash_node(KEYS_SUITE_INTL, vec.leaf_hash[1], vec.leaf_hash[0], h), 0);
	assert_memory_not_equal(h, vec.root[2], HB);
	/* Bad arguments. */
	assert_int_equal(merkle_hash_leaf((enum keys_suite)0, "", 0, h), SL_ERR_INVAL);
	assert_int_equal(merkle_hash_leaf(KEYS_SUITE_INTL, NULL, 1, h), SL_ERR_INVAL);
	assert_int_equal(merkle_hash_leaf(KEYS_SUITE_INTL, NULL, 0, h), 0);
	assert_memory_equal(h, vec.root[1], HB);
	assert_int_equal(merkle_hash_node((enum keys_suite)3, l0, l1, h), SL_ERR_INVAL);
	assert_int_equal(merkle_hash_empty((enum keys_suite)3, h), SL_ERR_INVAL);
}

/* ---- Tests: frontier ---- */

/* Field by field: struct padding is not part of the state. */
static void
assert_frontier_equal(const struct merkle_frontier *a, const struct merkle_frontier *b)
{
	assert_int_equal(a->suite, b->suite);
	assert_int_equal(a->size, b->size);
	assert_memory_equal(a->node, b->node, sizeof(a->node));
}

static void
test_frontier_vectors(void **state)
{
	struct merkle_frontier f;
	uint8_t h[HB];
	size_t i;

	(void)state;
	assert_int_equal(merkle_frontier_init(&f, KEYS_SUITE_INTL), 0);
	assert_int_equal(merkle_frontier_size(&f), 0);
	assert_int_equal(merkle_frontier_root(&f, h), 0);
	assert_memory_equal(h, vec.root[0], HB);
	for (i = 0; i < VEC_LEAVES; i++) {
		assert_int_equal(merkle_frontier_append(&f, vec.leaf_hash[i]), 0);
		assert_int_equal(merkle_frontier_size(&f), i + 1);
		assert_int_equal(merkle_frontier_root(&f, h), 0);
		assert_memory_equal(h, vec.root[i + 1], HB);
		/* root() does not disturb the frontier. */
		assert_int_equal(merkle_frontier_root(&f, h), 0);
		assert_memory_equal(h, vec.root[i + 1], HB);
	}
	assert_int_equal(merkle_frontier_init(NULL, KEYS_SUITE_INTL), SL_ERR_INVAL);
	assert_int_equal(merkle_frontier_init(&f, (enum keys_suite)0), SL_ERR_INVAL);
	assert_int_equal(merkle_frontier_append(&f, NULL), SL_ERR_INVAL);
	assert_int_equal(merkle_frontier_root(&f, NULL), SL_ERR_INVAL);
}

static void
test_frontier_export_import(void **state)
{
	struct merkle_frontier f, g;
	uint8_t roots[MERKLE_MAX_LEVELS][HB], h1[HB], h2[HB];
	uint64_t size;
	size_t count, i, j;

	(void)state;
	assert_int_equal(merkle_frontier_init(&f, KEYS_SUITE_INTL), 0);
	for (i = 0; i <= VEC_LEAVES; i++) {
		assert_int_equal(merkle_frontier_export(&f, &size, roots, &count), 0);
		assert_int_equal(size, i);
		assert_int_equal(count, popcount64(i));
		assert_int_equal(
		    merkle_frontier_import(&g, KEYS_SUITE_INTL, size, roots, count), 0);
		assert_int_equal(merkle_frontier_size(&g), i);
		assert_int_equal(merkle_frontier_root(&g, h1), 0);
		assert_memory_equal(h1, vec.root[i], HB);
		/* The restored frontier grows like the original. */
		for (j = i; j < VEC_LEAVES; j++) {
			assert_int_equal(merkle_frontier_append(&g, vec.leaf_hash[j]), 0);
			assert_int_equal(merkle_frontier_root(&g, h2), 0);
			assert_memory_equal(h2, vec.root[j + 1], HB);
		}
		if (i < VEC_LEAVES)
			assert_int_equal(merkle_frontier_append(&f, vec.leaf_hash[i]), 0);
	}
	/* Size 6 = 4 + 2: roots are MTH(D[0:4]) then MTH(D[4:6]), left to right. */
	assert_int_equal(merkle_frontier_init(&f, KEYS_SUITE_INTL), 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(merkle_frontier_append(&f, vec.leaf_hash[i]), 0);
	assert_int_equal(merkle_frontier_export(&f, &size, roots, &count), 0);
	assert_int_equal(count, 2);
	assert_memory_equal(roots[0], vec.root[4], HB);
	ref_node(vec.leaf_hash[4], vec.leaf_hash[5], h1);
	assert_memory_equal(roots[1], h1, HB);
	/* Shape mismatches are refused and leave the target alone. */
	g = f;
	assert_int_equal(merkle_frontier_import(&g, KEYS_SUITE_INTL, 6, roots, 1), SL_ERR_INVAL);
	assert_int_equal(merkle_frontier_import(&g, KEYS_SUITE_INTL, 6, roots, 3), SL_ERR_INVAL);
	assert_int_equal(merkle_frontier_import(&g, KEYS_SUITE_INTL, 7, roots, 2), SL_ERR_INVAL);
	assert_int_equal(merkle_frontier_import(&g, KEYS_SUITE_INTL, 6, NULL, 2), SL_ERR_INVAL);
	assert_int_equal(merkle_frontier_import(&g, (enum keys_suite)0, 6, roots, 2), SL_ERR_INVAL);
	assert_frontier_equal(&g, &f);
	assert_int_equal(merkle_frontier_import(&g, KEYS_SUITE_INTL, 0, NULL, 0), 0);
	assert_int_equal(merkle_frontier_root(&g, h1), 0);
	assert_memory_equal(h1, vec.root[0], HB);
	assert_int_equal(merkle_frontier_export(&f, NULL, roots, &count), SL_ERR_INVAL);
}

static void
test_frontier_limit(void **state)
{
	struct merkle_frontier f, g;
	uint8_t roots[MERKLE_MAX_LEVELS][HB], out[MERKLE_MAX_LEVELS][HB], h[HB], want[HB];
	uint64_t size;
	size_t count, i;

	(void)state;
	for (i = 0; i < MERKLE_MAX_LEVELS; i++) {
		memset(roots[i], (int)i + 1, HB);
		roots[i][0] = (uint8_t)(0xa0 ^ i);
	}
	/* 2^64 - 2 leaves: 63 subtrees; one more leaf fills all 64 levels. */
	assert_int_equal(merkle_frontier_import(&f, KEYS_SUITE_INTL, UINT64_MAX - 1, roots, 63), 0);
	assert_int_equal(merkle_frontier_append(&f, vec.leaf_hash[3]), 0);
	assert_int_equal(merkle_frontier_size(&f), UINT64_MAX);
	assert_int_equal(merkle_frontier_export(&f, &size, out, &count), 0);
	assert_int_equal(size, UINT64_MAX);
	assert_int_equal(count, 64);
	assert_memory_equal(out, roots, 63 * HB);
	assert_memory_equal(out[63], vec.leaf_hash[3], HB);
	/* The root folds right to left: H(r0, H(r1, ... H(r62, leaf))). */
	memcpy(want, vec.leaf_hash[3], HB);
	for (i = 63; i-- > 0;)
		ref_node(roots[i], want, want);
	assert_int_equal(merkle_frontier_root(&f, h), 0);
	assert_memory_equal(h, want, HB);
	/* And no further. */
	g = f;
	assert_int_equal(merkle_frontier_append(&f, vec.leaf_hash[4]), SL_ERR_LIMIT);
	assert_frontier_equal(&g, &f);
	/* 2^63 - 1 leaves plus one: the carry runs through all 63 levels. */
	assert_int_equal(
	    merkle_frontier_import(&f, KEYS_SUITE_INTL, (UINT64_C(1) << 63) - 1, roots + 1, 63), 0);
	assert_int_equal(merkle_frontier_append(&f, vec.leaf_hash[0]), 0);
	assert_int_equal(merkle_frontier_export(&f, &size, out, &count), 0);
	assert_int_equal(size, UINT64_C(1) << 63);
	assert_int_equal(count, 1);
	memcpy(want, vec.leaf_hash[0], HB);
	for (i = 63; i >= 1; i--)
		ref_node(roots[i], want, want);
	assert_memory_equal(out[0], want, HB);
}

/* ---- Tests: inclusion proofs ---- */

/* Every probe of corruptInclusionProof plus all single-bit flips. */
static void
check_inclusion_rejections(const uint8_t leaf[HB], uint64_t index, uint64_t size,
    const uint8_t proof[][HB], size_t len, const uint8_t root[HB])
{
	uint8_t p[MERKLE_MAX_PROOF + 2][HB], h[HB], zero[HB] = {0}, some[HB];
	size_t j, bit;

	memset(some, 0x5a, HB);
	/* Wrong index. */
	assert_true(is_rejection(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index - 1, size, proof, len, root)));
	assert_true(is_rejection(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index + 1, size, proof, len, root)));
	assert_true(is_rejection(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index ^ 2, size, proof, len, root)));
	/* Wrong size. */
	assert_true(is_rejection(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size * 2, proof, len, root)));
	assert_true(is_rejection(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size / 2, proof, len, root)));
	/* Wrong leaf or root: every bit of each. */
	for (bit = 0; bit < 8 * HB; bit++) {
		memcpy(h, leaf, HB);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(
		    merkle_inclusion_verify(KEYS_SUITE_INTL, h, index, size, proof, len, root),
		    SL_ERR_AUTH);
		memcpy(h, root, HB);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(
		    merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size, proof, len, h),
		    SL_ERR_AUTH);
	}
	assert_int_equal(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size, proof, len, vec.root[0]),
	    SL_ERR_AUTH);
	/* Every single-bit flip of every element. */
	for (j = 0; j < len; j++) {
		for (bit = 0; bit < 8 * HB; bit++) {
			memcpy(p, proof, len * HB);
			p[j][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size,
			                     (const uint8_t(*)[HB])p, len, root),
			    SL_ERR_AUTH);
		}
	}
	/* Extended at the end (garbage, root), at the front, or in the middle. */
	memcpy(p, proof, len * HB);
	memcpy(p[len], zero, HB);
	assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size,
	                     (const uint8_t(*)[HB])p, len + 1, root),
	    SL_ERR_INVAL);
	memcpy(p[len], root, HB);
	assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size,
	                     (const uint8_t(*)[HB])p, len + 1, root),
	    SL_ERR_INVAL);
	memcpy(p[0], zero, HB);
	memcpy(p[1], proof, len * HB);
	assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size,
	                     (const uint8_t(*)[HB])p, len + 1, root),
	    SL_ERR_INVAL);
	memcpy(p[0], root, HB);
	assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size,
	                     (const uint8_t(*)[HB])p, len + 1, root),
	    SL_ERR_INVAL);
	if (len > 1) {
		memcpy(p[0], proof[0], HB);
		memcpy(p[1], some, HB);
		memcpy(p[2], proof[1], (len - 1) * HB);
		assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, leaf, index, size,
		                     (const uint8_t(*)[HB])p, len + 1, root),
		    SL_ERR_INVAL);
	}
	/* Truncated. */
	if (len > 0) {
		assert_int_equal(merkle_inclusion_verify(
		                     KEYS_SUITE_INTL, leaf, index, size, proof, len - 1, root),
		    SL_ERR_INVAL);
	}
}

static void
test_inclusion_vectors(void **state)
{
	uint8_t proof[MERKLE_MAX_PROOF][HB];
	const struct vec_proof *v;
	struct leafsrc src;
	size_t i, len;

	(void)state;
	for (i = 0; i < vec.n_incl; i++) {
		v = &vec.incl[i];
		print_message("inclusion index %llu size %llu\n", (unsigned long long)v->a,
		    (unsigned long long)v->b);
		/* Generation, byte for byte, reading only leaves < size and never the leaf. */
		leafsrc_init(&src, (const uint8_t(*)[HB])vec.leaf_hash, v->b);
		src.forbid = v->a;
		memset(proof, 0xee, sizeof(proof));
		assert_int_equal(merkle_inclusion_prove(
		                     KEYS_SUITE_INTL, v->a, v->b, leafsrc_get, &src, proof, &len),
		    0);
		assert_int_equal(len, v->len);
		if (len > 0)
			assert_memory_equal(proof, v->h, len * HB);
		assert_int_equal(src.reads, v->b - 1);
		assert_int_equal(merkle_inclusion_len(v->a, v->b, &len), 0);
		assert_int_equal(len, v->len);
		/* Verification. */
		assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[v->a], v->a,
		                     v->b, (const uint8_t(*)[HB])v->h, v->len, vec.root[v->b]),
		    0);
		check_inclusion_rejections(vec.leaf_hash[v->a], v->a, v->b,
		    (const uint8_t(*)[HB])v->h, v->len, vec.root[v->b]);
	}
}

static void
test_inclusion_invalid(void **state)
{
	static const struct {
		uint64_t index, size;
	} bad[] = {{0, 0}, {1, 0}, {2, 1}, {1, 1}, {8, 8}, {UINT64_MAX, UINT64_MAX}};
	uint8_t proof[MERKLE_MAX_PROOF][HB];
	struct leafsrc src;
	size_t i, len;

	(void)state;
	leafsrc_init(&src, (const uint8_t(*)[HB])vec.leaf_hash, VEC_LEAVES);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[0],
		                     bad[i].index, bad[i].size, NULL, 0, vec.root[0]),
		    SL_ERR_INVAL);
		assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, vec.root[0], bad[i].index,
		                     bad[i].size, NULL, 0, vec.root[1]),
		    SL_ERR_INVAL);
		len = 99;
		assert_int_equal(merkle_inclusion_prove(KEYS_SUITE_INTL, bad[i].index, bad[i].size,
		                     leafsrc_get, &src, proof, &len),
		    SL_ERR_INVAL);
		assert_int_equal(len, 0);
		assert_int_equal(
		    merkle_inclusion_len(bad[i].index, bad[i].size, &len), SL_ERR_INVAL);
	}
	assert_int_equal(src.reads, 0);
	/* A proof longer than any proof can be. */
	memset(proof, 0, sizeof(proof));
	assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[0], 0, 8,
	                     (const uint8_t(*)[HB])proof, MERKLE_MAX_PROOF, vec.root[8]),
	    SL_ERR_INVAL);
	assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[0], 0, 8,
	                     (const uint8_t(*)[HB])proof, SIZE_MAX, vec.root[8]),
	    SL_ERR_INVAL);
	/* NULLs and suites. */
	assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, NULL, 0, 1, NULL, 0, vec.root[1]),
	    SL_ERR_INVAL);
	assert_int_equal(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[0], 0, 8, NULL, 3, vec.root[8]),
	    SL_ERR_INVAL);
	assert_int_equal(merkle_inclusion_verify(
	                     (enum keys_suite)0, vec.leaf_hash[0], 0, 1, NULL, 0, vec.root[1]),
	    SL_ERR_INVAL);
	assert_int_equal(
	    merkle_inclusion_prove(KEYS_SUITE_INTL, 0, 1, NULL, NULL, proof, &len), SL_ERR_INVAL);
	assert_int_equal(
	    merkle_inclusion_prove(KEYS_SUITE_INTL, 0, 1, leafsrc_get, &src, NULL, &len),
	    SL_ERR_INVAL);
	assert_int_equal(
	    merkle_inclusion_prove(KEYS_SUITE_INTL, 0, 1, leafsrc_get, &src, proof, NULL),
	    SL_ERR_INVAL);
	assert_int_equal(merkle_inclusion_len(0, 1, NULL), SL_ERR_INVAL);
	/* The single-leaf tree: empty proof, root is the leaf hash. */
	assert_int_equal(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[0], 0, 1, NULL, 0, vec.root[1]),
	    0);
	assert_int_equal(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[1], 0, 1, NULL, 0, vec.root[1]),
	    SL_ERR_AUTH);
}

/* ---- Tests: consistency proofs ---- */

static void
expect_cons(uint64_t m, uint64_t n, const uint8_t rm[HB], const uint8_t rn[HB],
    const uint8_t p[][HB], size_t len, int want)
{
	int r = merkle_consistency_verify(KEYS_SUITE_INTL, m, n, rm, rn, p, len);

	if (want == 1)
		assert_true(is_rejection(r));
	else
		assert_int_equal(r, want);
}

/* Every probe of corruptConsistencyProof plus all single-bit flips. */
static void
check_consistency_rejections(uint64_t m, uint64_t n, const uint8_t rm[HB], const uint8_t rn[HB],
    const uint8_t proof[][HB], size_t len)
{
	uint8_t p[MERKLE_MAX_PROOF + 2][HB], h[HB], zero[HB] = {0}, some[HB];
	const uint8_t(*pp)[HB] = (const uint8_t(*)[HB])p;
	size_t j, bit;

	memset(some, 0x5a, HB);
	/* Wrong sizes (1: any rejection). */
	expect_cons(m - 1, n, rm, rn, proof, len, 1);
	expect_cons(m + 1, n, rm, rn, proof, len, 1);
	expect_cons(m ^ 2, n, rm, rn, proof, len, 1);
	expect_cons(m, n * 2, rm, rn, proof, len, 1);
	expect_cons(m, n / 2, rm, rn, proof, len, 1);
	/* Wrong roots: every bit of each, an unrelated root, swapped roots. */
	for (bit = 0; bit < 8 * HB; bit++) {
		memcpy(h, rm, HB);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		expect_cons(m, n, h, rn, proof, len, SL_ERR_AUTH);
		memcpy(h, rn, HB);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		expect_cons(m, n, rm, h, proof, len, SL_ERR_AUTH);
	}
	expect_cons(m, n, vec.root[0], rn, proof, len, SL_ERR_AUTH);
	expect_cons(m, n, rm, vec.root[0], proof, len, SL_ERR_AUTH);
	expect_cons(m, n, rn, rm, proof, len, SL_ERR_AUTH);
	/* Empty proof. */
	expect_cons(m, n, rm, rn, NULL, 0, SL_ERR_INVAL);
	/* Every single-bit flip of every element. */
	for (j = 0; j < len; j++) {
		for (bit = 0; bit < 8 * HB; bit++) {
			memcpy(p, proof, len * HB);
			p[j][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			expect_cons(m, n, rm, rn, pp, len, SL_ERR_AUTH);
		}
	}
	/* Extended at the end: garbage, root_m, root_n. */
	memcpy(p, proof, len * HB);
	memcpy(p[len], zero, HB);
	expect_cons(m, n, rm, rn, pp, len + 1, SL_ERR_INVAL);
	memcpy(p[len], rm, HB);
	expect_cons(m, n, rm, rn, pp, len + 1, SL_ERR_INVAL);
	memcpy(p[len], rn, HB);
	expect_cons(m, n, rm, rn, pp, len + 1, SL_ERR_INVAL);
	/* Extended at the front: garbage, root_m, root_n, proof[0]. */
	memcpy(p[1], proof, len * HB);
	memcpy(p[0], zero, HB);
	expect_cons(m, n, rm, rn, pp, len + 1, SL_ERR_INVAL);
	memcpy(p[0], rm, HB);
	expect_cons(m, n, rm, rn, pp, len + 1, SL_ERR_INVAL);
	memcpy(p[0], rn, HB);
	expect_cons(m, n, rm, rn, pp, len + 1, SL_ERR_INVAL);
	memcpy(p[0], proof[0], HB);
	expect_cons(m, n, rm, rn, pp, len + 1, SL_ERR_INVAL);
	/* An inserted component. */
	if (len > 1) {
		memcpy(p[0], proof[0], HB);
		memcpy(p[1], some, HB);
		memcpy(p[2], proof[1], (len - 1) * HB);
		expect_cons(m, n, rm, rn, pp, len + 1, SL_ERR_INVAL);
	}
	/* Truncated. */
	expect_cons(m, n, rm, rn, proof, len - 1, SL_ERR_INVAL);
}

static void
test_consistency_vectors(void **state)
{
	uint8_t proof[MERKLE_MAX_PROOF][HB];
	const struct vec_proof *v;
	struct leafsrc src;
	size_t i, len;

	(void)state;
	for (i = 0; i < vec.n_cons; i++) {
		v = &vec.cons[i];
		print_message("consistency %llu -> %llu\n", (unsigned long long)v->a,
		    (unsigned long long)v->b);
		leafsrc_init(&src, (const uint8_t(*)[HB])vec.leaf_hash, v->b);
		memset(proof, 0xee, sizeof(proof));
		assert_int_equal(merkle_consistency_prove(
		                     KEYS_SUITE_INTL, v->a, v->b, leafsrc_get, &src, proof, &len),
		    0);
		assert_int_equal(len, v->len);
		if (len > 0)
			assert_memory_equal(proof, v->h, len * HB);
		assert_true(src.reads <= v->b);
		assert_int_equal(merkle_consistency_len(v->a, v->b, &len), 0);
		assert_int_equal(len, v->len);
		assert_int_equal(
		    merkle_consistency_verify(KEYS_SUITE_INTL, v->a, v->b, vec.root[v->a],
		        vec.root[v->b], (const uint8_t(*)[HB])v->h, v->len),
		    0);
		/* As upstream: probe only the non-trivial proofs. */
		if (v->len > 0)
			check_consistency_rejections(v->a, v->b, vec.root[v->a], vec.root[v->b],
			    (const uint8_t(*)[HB])v->h, v->len);
	}
}

static void
test_consistency_edges(void **state)
{
	uint8_t proof[MERKLE_MAX_PROOF][HB], h[HB];
	struct leafsrc src;
	size_t len, m, n;

	(void)state;
	memset(h, 0x42, HB);
	leafsrc_init(&src, (const uint8_t(*)[HB])vec.leaf_hash, VEC_LEAVES);
	/* Time travel. */
	expect_cons(1, 0, vec.root[1], vec.root[0], NULL, 0, SL_ERR_INVAL);
	expect_cons(2, 1, vec.root[2], vec.root[1], NULL, 0, SL_ERR_INVAL);
	expect_cons(UINT64_MAX, 0, vec.root[2], vec.root[1], NULL, 0, SL_ERR_INVAL);
	assert_int_equal(
	    merkle_consistency_prove(KEYS_SUITE_INTL, 3, 2, leafsrc_get, &src, proof, &len),
	    SL_ERR_INVAL);
	assert_int_equal(len, 0);
	assert_int_equal(merkle_consistency_len(3, 2, &len), SL_ERR_INVAL);
	/* m == n: the empty proof and equal roots. */
	for (n = 0; n <= VEC_LEAVES; n++) {
		expect_cons(n, n, vec.root[n], vec.root[n], NULL, 0, 0);
		expect_cons(n, n, vec.root[n], vec.root[n], (const uint8_t(*)[HB])vec.root, 1,
		    SL_ERR_INVAL);
		expect_cons(n, n, vec.root[n], h, NULL, 0, SL_ERR_AUTH);
		expect_cons(n, n, h, vec.root[n], NULL, 0, SL_ERR_AUTH);
		assert_int_equal(
		    merkle_consistency_prove(KEYS_SUITE_INTL, n, n, leafsrc_get, &src, proof, &len),
		    0);
		assert_int_equal(len, 0);
	}
	/* From the empty tree: the empty proof and root_m = H(""). */
	for (n = 1; n <= VEC_LEAVES; n++) {
		expect_cons(0, n, vec.root[0], vec.root[n], NULL, 0, 0);
		expect_cons(0, n, h, vec.root[n], NULL, 0, SL_ERR_AUTH);
		expect_cons(0, n, vec.root[0], vec.root[n], (const uint8_t(*)[HB])vec.root, 1,
		    SL_ERR_INVAL);
		assert_int_equal(
		    merkle_consistency_prove(KEYS_SUITE_INTL, 0, n, leafsrc_get, &src, proof, &len),
		    0);
		assert_int_equal(len, 0);
	}
	/* 0 < m < n never has an empty proof. */
	for (n = 2; n <= VEC_LEAVES; n++) {
		for (m = 1; m < n; m++) {
			assert_int_equal(merkle_consistency_len(m, n, &len), 0);
			assert_true(len > 0);
			expect_cons(m, n, vec.root[m], vec.root[n], NULL, 0, SL_ERR_INVAL);
		}
	}
	/* Too long for any proof; NULLs; suites. */
	memset(proof, 0, sizeof(proof));
	expect_cons(1, 8, vec.root[1], vec.root[8], (const uint8_t(*)[HB])proof, MERKLE_MAX_PROOF,
	    SL_ERR_INVAL);
	expect_cons(
	    1, 8, vec.root[1], vec.root[8], (const uint8_t(*)[HB])proof, SIZE_MAX, SL_ERR_INVAL);
	expect_cons(1, 8, vec.root[1], vec.root[8], NULL, 3, SL_ERR_INVAL);
	expect_cons(1, 1, NULL, vec.root[1], NULL, 0, SL_ERR_INVAL);
	expect_cons(1, 1, vec.root[1], NULL, NULL, 0, SL_ERR_INVAL);
	assert_int_equal(
	    merkle_consistency_verify((enum keys_suite)7, 1, 1, vec.root[1], vec.root[1], NULL, 0),
	    SL_ERR_INVAL);
	assert_int_equal(
	    merkle_consistency_prove(KEYS_SUITE_INTL, 1, 2, NULL, NULL, proof, &len), SL_ERR_INVAL);
	assert_int_equal(
	    merkle_consistency_prove(KEYS_SUITE_INTL, 1, 2, leafsrc_get, &src, NULL, &len),
	    SL_ERR_INVAL);
	assert_int_equal(merkle_consistency_len(1, 2, NULL), SL_ERR_INVAL);
}

/* ---- Tests: the deepest trees (lengths 64 and 65) ---- */

static void
test_max_depth(void **state)
{
	uint8_t p[MERKLE_MAX_PROOF + 1][HB], rm[HB], rn[HB], x[HB];
	const uint8_t(*pp)[HB] = (const uint8_t(*)[HB])p;
	uint64_t big = (UINT64_C(1) << 63) + 1, a, b;
	size_t len, i, j;

	(void)state;
	for (i = 0; i < MERKLE_MAX_PROOF + 1; i++)
		ref_leaf(&i, sizeof(i), p[i]);

	/* Leaf 0 of 2^63 + 1 leaves: 63 right siblings, then leaf 2^63. */
	assert_int_equal(merkle_inclusion_len(0, big, &len), 0);
	assert_int_equal(len, 64);
	memcpy(x, vec.leaf_hash[0], HB);
	for (i = 0; i < 63; i++)
		ref_node(x, p[i], x);
	ref_node(x, p[63], rn);
	assert_int_equal(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[0], 0, big, pp, 64, rn), 0);
	assert_int_equal(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[0], 0, big, pp, 65, rn),
	    SL_ERR_INVAL);
	p[40][7] ^= 1;
	assert_int_equal(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, vec.leaf_hash[0], 0, big, pp, 64, rn),
	    SL_ERR_AUTH);
	p[40][7] ^= 1;
	/* The last leaf of 2^64 - 1 leaves: 63 left subtrees. */
	assert_int_equal(merkle_inclusion_len(UINT64_MAX - 1, UINT64_MAX, &len), 0);
	assert_int_equal(len, 63);

	/*
	 * 3 -> 2^63 + 1: the seed MTH(D[2:3]) = leaf 2, then leaf 3, MTH(D[0:2]),
	 * MTH(D[4:8]) ... MTH(D[2^62:2^63]) (61 of them), leaf 2^63: 65 hashes.
	 */
	assert_int_equal(merkle_consistency_len(3, big, &len), 0);
	assert_int_equal(len, MERKLE_MAX_PROOF);
	ref_node(p[2], p[0], rm);
	ref_node(p[0], p[1], x);
	ref_node(p[2], x, x);
	for (i = 3; i < 64; i++)
		ref_node(x, p[i], x);
	ref_node(x, p[64], rn);
	assert_int_equal(merkle_consistency_verify(KEYS_SUITE_INTL, 3, big, rm, rn, pp, 65), 0);
	assert_int_equal(
	    merkle_consistency_verify(KEYS_SUITE_INTL, 3, big, rm, rn, pp, 64), SL_ERR_INVAL);
	assert_int_equal(
	    merkle_consistency_verify(KEYS_SUITE_INTL, 3, big, rm, rn, pp, 66), SL_ERR_INVAL);
	for (j = 0; j < 65; j++) {
		p[j][31] ^= 0x80;
		assert_int_equal(merkle_consistency_verify(KEYS_SUITE_INTL, 3, big, rm, rn, pp, 65),
		    SL_ERR_AUTH);
		p[j][31] ^= 0x80;
	}

	/* Lengths agree with the closed forms of transparency-dev/merkle. */
	for (i = 0; i < 20000; i++) {
		b = rng_next() >> (rng_next() % 64);
		if (b == 0)
			b = 1;
		a = rng_next() % b;
		assert_int_equal(merkle_inclusion_len(a, b, &len), 0);
		assert_int_equal(len, go_incl_len(a, b));
		assert_true(len <= 64);
		a = rng_next() % (b + (b < UINT64_MAX));
		assert_int_equal(merkle_consistency_len(a, b, &len), 0);
		assert_int_equal(len, go_cons_len(a, b));
		assert_true(len <= MERKLE_MAX_PROOF);
	}
}

/* ---- Tests: leaf callback errors ---- */

static int
leaf_positive(void *arg, uint64_t index, uint8_t out[HB])
{
	(void)arg;
	(void)index;
	memset(out, 0, HB);
	return 5;
}

static void
test_callback_errors(void **state)
{
	uint8_t proof[MERKLE_MAX_PROOF][HB], h[HB];
	struct leafsrc src;
	size_t len;

	(void)state;
	leafsrc_init(&src, (const uint8_t(*)[HB])vec.leaf_hash, VEC_LEAVES);
	src.fail_at = 6;
	src.fail_code = SL_ERR_DB;
	len = 99;
	assert_int_equal(
	    merkle_inclusion_prove(KEYS_SUITE_INTL, 1, 8, leafsrc_get, &src, proof, &len),
	    SL_ERR_DB);
	assert_int_equal(len, 0);
	len = 99;
	assert_int_equal(
	    merkle_consistency_prove(KEYS_SUITE_INTL, 6, 8, leafsrc_get, &src, proof, &len),
	    SL_ERR_DB);
	assert_int_equal(len, 0);
	assert_int_equal(merkle_root_compute(KEYS_SUITE_INTL, 8, leafsrc_get, &src, h), SL_ERR_DB);
	/* Leaf 6 is not needed for these. */
	assert_int_equal(
	    merkle_inclusion_prove(KEYS_SUITE_INTL, 1, 5, leafsrc_get, &src, proof, &len), 0);
	assert_int_equal(merkle_root_compute(KEYS_SUITE_INTL, 6, leafsrc_get, &src, h), 0);
	assert_memory_equal(h, vec.root[6], HB);
	/* A callback that breaks the contract. */
	assert_int_equal(
	    merkle_inclusion_prove(KEYS_SUITE_INTL, 0, 2, leaf_positive, NULL, proof, &len),
	    SL_ERR_INTERNAL);
	assert_int_equal(
	    merkle_root_compute(KEYS_SUITE_INTL, 3, leaf_positive, NULL, h), SL_ERR_INTERNAL);
	/* The empty tree reads nothing. */
	assert_int_equal(merkle_root_compute(KEYS_SUITE_INTL, 0, leaf_positive, NULL, h), 0);
	assert_memory_equal(h, vec.root[0], HB);
	assert_int_equal(merkle_root_compute(KEYS_SUITE_INTL, 0, NULL, NULL, h), SL_ERR_INVAL);
}

/* ---- Tests: randomised cross-check against the RFC definitions ---- */

static void
cross_check_inclusion(const uint8_t (*d)[HB], uint64_t n, uint64_t i, const uint8_t root[HB])
{
	uint8_t proof[MERKLE_MAX_PROOF][HB], want[MERKLE_MAX_PROOF][HB];
	struct leafsrc src;
	size_t len, wlen = 0, bit;

	ref_path(i, d, n, want, &wlen);
	leafsrc_init(&src, d, n);
	src.forbid = i;
	assert_int_equal(
	    merkle_inclusion_prove(KEYS_SUITE_INTL, i, n, leafsrc_get, &src, proof, &len), 0);
	assert_int_equal(len, wlen);
	if (len > 0)
		assert_memory_equal(proof, want, len * HB);
	assert_int_equal(merkle_inclusion_verify(
	                     KEYS_SUITE_INTL, d[i], i, n, (const uint8_t(*)[HB])proof, len, root),
	    0);
	if (len > 0) {
		bit = (size_t)rng_below(8 * HB * len);
		proof[bit / (8 * HB)][bit % (8 * HB) / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(merkle_inclusion_verify(KEYS_SUITE_INTL, d[i], i, n,
		                     (const uint8_t(*)[HB])proof, len, root),
		    SL_ERR_AUTH);
	}
}

static void
cross_check_consistency(const uint8_t (*d)[HB], uint64_t m, uint64_t n, const uint8_t rn[HB])
{
	uint8_t proof[MERKLE_MAX_PROOF][HB], want[MERKLE_MAX_PROOF][HB], rm[HB];
	struct leafsrc src;
	size_t len, wlen = 0, bit;

	if (m > 0)
		ref_subproof(m, d, n, true, want, &wlen);
	ref_mth(d, m, rm);
	leafsrc_init(&src, d, n);
	assert_int_equal(
	    merkle_consistency_prove(KEYS_SUITE_INTL, m, n, leafsrc_get, &src, proof, &len), 0);
	assert_int_equal(len, wlen);
	if (len > 0)
		assert_memory_equal(proof, want, len * HB);
	assert_int_equal(merkle_consistency_verify(
	                     KEYS_SUITE_INTL, m, n, rm, rn, (const uint8_t(*)[HB])proof, len),
	    0);
	if (len > 0) {
		bit = (size_t)rng_below(8 * HB * len);
		proof[bit / (8 * HB)][bit % (8 * HB) / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(merkle_consistency_verify(KEYS_SUITE_INTL, m, n, rm, rn,
		                     (const uint8_t(*)[HB])proof, len),
		    SL_ERR_AUTH);
	}
}

static void
test_random_cross_check(void **state)
{
	static uint8_t d[RAND_MAX_SIZE][HB];
	struct merkle_frontier f, g;
	uint8_t data[64], root[HB], want[HB], roots[MERKLE_MAX_LEVELS][HB];
	struct leafsrc src;
	uint64_t n, i, size;
	size_t len, count, k;

	(void)state;
	for (i = 0; i < RAND_MAX_SIZE; i++) {
		len = (size_t)rng_below(sizeof(data) + 1);
		for (k = 0; k < len; k++)
			data[k] = (uint8_t)rng_next();
		assert_int_equal(merkle_hash_leaf(KEYS_SUITE_INTL, data, len, d[i]), 0);
		ref_leaf(data, len, want);
		assert_memory_equal(d[i], want, HB);
	}
	assert_int_equal(merkle_frontier_init(&f, KEYS_SUITE_INTL), 0);
	for (n = 0; n <= RAND_MAX_SIZE; n++) {
		if (n > 0)
			assert_int_equal(merkle_frontier_append(&f, d[n - 1]), 0);
		/* Three roots: frontier, from all leaves, the RFC definition. */
		ref_mth((const uint8_t(*)[HB])d, n, want);
		assert_int_equal(merkle_frontier_root(&f, root), 0);
		assert_memory_equal(root, want, HB);
		leafsrc_init(&src, (const uint8_t(*)[HB])d, n);
		assert_int_equal(
		    merkle_root_compute(KEYS_SUITE_INTL, n, leafsrc_get, &src, root), 0);
		assert_memory_equal(root, want, HB);
		assert_int_equal(src.reads, n);
		/* Export and import round trip. */
		assert_int_equal(merkle_frontier_export(&f, &size, roots, &count), 0);
		assert_int_equal(
		    merkle_frontier_import(&g, KEYS_SUITE_INTL, size, roots, count), 0);
		assert_int_equal(merkle_frontier_root(&g, root), 0);
		assert_memory_equal(root, want, HB);

		if (n == 0)
			continue;
		if (n <= RAND_FULL_SIZE) {
			for (i = 0; i < n; i++)
				cross_check_inclusion((const uint8_t(*)[HB])d, n, i, want);
			for (i = 0; i <= n; i++)
				cross_check_consistency((const uint8_t(*)[HB])d, i, n, want);
			continue;
		}
		cross_check_inclusion((const uint8_t(*)[HB])d, n, 0, want);
		cross_check_inclusion((const uint8_t(*)[HB])d, n, n - 1, want);
		cross_check_consistency((const uint8_t(*)[HB])d, 1, n, want);
		cross_check_consistency((const uint8_t(*)[HB])d, n - 1, n, want);
		cross_check_consistency((const uint8_t(*)[HB])d, n, n, want);
		for (k = 0; k < 3; k++) {
			cross_check_inclusion((const uint8_t(*)[HB])d, n, rng_below(n), want);
			cross_check_consistency((const uint8_t(*)[HB])d, rng_below(n + 1), n, want);
		}
	}
}

/* ---- Tests: SM3 ---- */

static void
test_sm3(void **state)
{
	static const uint8_t sm3_abc[HB] = {/* GB/T 32905-2016 example 1, SM3("abc") */
	    0x66, 0xc7, 0xf0, 0xf4, 0x62, 0xee, 0xed, 0xd9, 0xd1, 0xf2, 0xd4, 0x6b, 0xdc, 0x10,
	    0xe4, 0xe2, 0x41, 0x67, 0xc4, 0x87, 0x5c, 0xf2, 0xf7, 0xa2, 0x29, 0x7d, 0xa0, 0x2b,
	    0x8f, 0x4b, 0xa8, 0xe0};
	static const uint8_t zero = 0x00, one = 0x01;
	struct merkle_frontier f;
	uint8_t h[HB], want[HB], l0[HB], l1[HB], sha[HB];

	(void)state;
	/* The independent SM3 is the real one. */
	ossl_hash("SM3", "abc", 3, "", 0, "", 0, h);
	assert_memory_equal(h, sm3_abc, HB);

	assert_int_equal(merkle_frontier_init(&f, KEYS_SUITE_GM), 0);
	assert_int_equal(merkle_frontier_root(&f, h), 0);
	ossl_hash("SM3", "", 0, "", 0, "", 0, want);
	assert_memory_equal(h, want, HB);

	/* Root of one leaf = SM3(0x00 || leaf). */
	assert_int_equal(merkle_hash_leaf(KEYS_SUITE_GM, "abc", 3, l0), 0);
	ossl_hash("SM3", &zero, 1, "abc", 3, "", 0, want);
	assert_memory_equal(l0, want, HB);
	assert_int_equal(merkle_frontier_append(&f, l0), 0);
	assert_int_equal(merkle_frontier_root(&f, h), 0);
	assert_memory_equal(h, want, HB);
	assert_int_equal(merkle_hash_leaf(KEYS_SUITE_INTL, "abc", 3, sha), 0);
	assert_memory_not_equal(h, sha, HB);

	/* Root of two leaves = SM3(0x01 || l0 || l1). */
	ossl_hash("SM3", &zero, 1, "d", 1, "", 0, l1);
	assert_int_equal(merkle_frontier_append(&f, l1), 0);
	assert_int_equal(merkle_frontier_root(&f, h), 0);
	ossl_hash("SM3", &one, 1, l0, HB, l1, HB, want);
	assert_memory_equal(h, want, HB);
	assert_int_equal(merkle_hash_node(KEYS_SUITE_GM, l0, l1, l0), 0);
	assert_memory_equal(l0, want, HB);

	/* And its inclusion proof of leaf 1 is {l0} under SM3, not SHA-256. */
	ossl_hash("SM3", &zero, 1, "abc", 3, "", 0, l0);
	assert_int_equal(
	    merkle_inclusion_verify(KEYS_SUITE_GM, l1, 1, 2, (const uint8_t(*)[HB])l0, 1, want), 0);
	assert_int_equal(
	    merkle_inclusion_verify(KEYS_SUITE_INTL, l1, 1, 2, (const uint8_t(*)[HB])l0, 1, want),
	    SL_ERR_AUTH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_primitives),
	    cmocka_unit_test(test_frontier_vectors),
	    cmocka_unit_test(test_frontier_export_import),
	    cmocka_unit_test(test_frontier_limit),
	    cmocka_unit_test(test_inclusion_vectors),
	    cmocka_unit_test(test_inclusion_invalid),
	    cmocka_unit_test(test_consistency_vectors),
	    cmocka_unit_test(test_consistency_edges),
	    cmocka_unit_test(test_max_depth),
	    cmocka_unit_test(test_callback_errors),
	    cmocka_unit_test(test_random_cross_check),
	    cmocka_unit_test(test_sm3),
	};

	rng_seed();
	return cmocka_run_group_tests(tests, vec_load, NULL);
}
