/*
 * broker/merkle.c -- RFC 6962 section 2.1 Merkle trees: frontier, proofs, checks.
 *
 * Proof generation walks the tree from the root down, the way PATH and SUBPROOF
 * of RFC 6962 recurse, but as a loop: every step replaces the current subtree
 * D[lo : lo+n] by one of its two children and records the hash of the other
 * child.  The RFCs list proof hashes from the bottom up, so the recorded list is
 * reversed at the end.  A step at least halves n, so there are at most 64 steps
 * (plus, for consistency, the final MTH(D[lo : lo+m]) of SUBPROOF's b = false
 * case).  The same walks, without hashing, give the proof lengths that
 * verification insists on.
 *
 * The hash of a subtree D[lo : lo+len] is folded leaf by leaf with a frontier,
 * whose 64 slots are the explicit stack; there is no recursion anywhere.
 */
#include <stdbool.h>
#include <string.h>

#include "broker/merkle.h"
#include "common/err.h"

/* Whether suite is one this module can hash with. */
static bool
suite_ok(enum keys_suite suite)
{
	return suite == KEYS_SUITE_INTL || suite == KEYS_SUITE_GM;
}

/* 1 if a and b are the same hash, 0 otherwise; time independent of contents. */
static int
hash_eq(const uint8_t a[MERKLE_HASH_BYTES], const uint8_t b[MERKLE_HASH_BYTES])
{
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < MERKLE_HASH_BYTES; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

/* The largest power of two strictly smaller than n; n must be at least 2. */
static uint64_t
split_point(uint64_t n)
{
	/* n - 1 >= 1, so clzll is defined; its top bit is the answer. */
	return UINT64_C(1) << (63 - __builtin_clzll((unsigned long long)(n - 1)));
}

/* Map a leaf callback's return value onto the error space. */
static int
leaf_call(merkle_leaf_fn leaf, void *arg, uint64_t index, uint8_t out[MERKLE_HASH_BYTES])
{
	int r;

	r = leaf(arg, index, out);
	if (r > 0)
		return SL_ERR_INTERNAL;
	return r;
}

int
merkle_hash_leaf(
    enum keys_suite suite, const void *data, size_t len, uint8_t out[MERKLE_HASH_BYTES])
{
	static const uint8_t prefix = 0x00;
	struct keys_hash *h = NULL;
	int r;

	if (!suite_ok(suite) || out == NULL || (data == NULL && len != 0))
		return SL_ERR_INVAL;
	if ((r = keys_hash_new(suite, &h)) < 0)
		goto out;
	if ((r = keys_hash_update(h, &prefix, 1)) < 0)
		goto out;
	if (len != 0 && (r = keys_hash_update(h, data, len)) < 0)
		goto out;
	r = keys_hash_final(h, out);
out:
	keys_hash_free(h);
	return r;
}

int
merkle_hash_node(enum keys_suite suite, const uint8_t left[MERKLE_HASH_BYTES],
    const uint8_t right[MERKLE_HASH_BYTES], uint8_t out[MERKLE_HASH_BYTES])
{
	uint8_t buf[1 + 2 * MERKLE_HASH_BYTES];

	if (!suite_ok(suite) || left == NULL || right == NULL || out == NULL)
		return SL_ERR_INVAL;
	/* Copy first: out may alias left or right. */
	buf[0] = 0x01;
	memcpy(buf + 1, left, MERKLE_HASH_BYTES);
	memcpy(buf + 1 + MERKLE_HASH_BYTES, right, MERKLE_HASH_BYTES);
	return keys_hash(suite, buf, sizeof(buf), out);
}

int
merkle_hash_empty(enum keys_suite suite, uint8_t out[MERKLE_HASH_BYTES])
{
	static const uint8_t none;

	if (!suite_ok(suite) || out == NULL)
		return SL_ERR_INVAL;
	return keys_hash(suite, &none, 0, out);
}

int
merkle_frontier_init(struct merkle_frontier *f, enum keys_suite suite)
{
	if (f == NULL || !suite_ok(suite))
		return SL_ERR_INVAL;
	memset(f, 0, sizeof(*f));
	f->suite = suite;
	f->size = 0;
	return 0;
}

int
merkle_frontier_append(struct merkle_frontier *f, const uint8_t leaf_hash[MERKLE_HASH_BYTES])
{
	uint8_t carry[MERKLE_HASH_BYTES];
	unsigned int h;
	int r;

	if (f == NULL || leaf_hash == NULL)
		return SL_ERR_INVAL;
	if (f->size == UINT64_MAX)
		return SL_ERR_LIMIT;
	/*
	 * Binary increment: each set low bit of size is a perfect subtree that
	 * merges with the carry into one twice as large.  Since size < 2^64 - 1
	 * some bit below 64 is clear, so h stays below MERKLE_MAX_LEVELS.  Slots
	 * are only cleared once the whole carry has succeeded, so a hash failure
	 * leaves f as it was.
	 */
	memcpy(carry, leaf_hash, MERKLE_HASH_BYTES);
	for (h = 0; (f->size >> h) & 1; h++) {
		if ((r = merkle_hash_node(f->suite, f->node[h], carry, carry)) < 0)
			return r;
	}
	memcpy(f->node[h], carry, MERKLE_HASH_BYTES);
	while (h-- > 0)
		memset(f->node[h], 0, MERKLE_HASH_BYTES);
	f->size++;
	return 0;
}

int
merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_BYTES])
{
	uint8_t acc[MERKLE_HASH_BYTES];
	unsigned int h;
	bool have = false;
	int r;

	if (f == NULL || out == NULL)
		return SL_ERR_INVAL;
	if (f->size == 0)
		return merkle_hash_empty(f->suite, out);
	/*
	 * MTH(D[n]) = H(left perfect subtree, MTH(rest)) whenever n is not a
	 * power of two, so fold from the smallest subtree (rightmost) upwards.
	 */
	for (h = 0; h < MERKLE_MAX_LEVELS; h++) {
		if (!((f->size >> h) & 1))
			continue;
		if (!have) {
			memcpy(acc, f->node[h], MERKLE_HASH_BYTES);
			have = true;
		} else if ((r = merkle_hash_node(f->suite, f->node[h], acc, acc)) < 0) {
			return r;
		}
	}
	memcpy(out, acc, MERKLE_HASH_BYTES);
	return 0;
}

uint64_t
merkle_frontier_size(const struct merkle_frontier *f)
{
	return f->size;
}

int
merkle_frontier_export(const struct merkle_frontier *f, uint64_t *size,
    uint8_t roots[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES], size_t *count)
{
	unsigned int h;
	size_t c = 0;

	if (f == NULL || size == NULL || roots == NULL || count == NULL)
		return SL_ERR_INVAL;
	for (h = MERKLE_MAX_LEVELS; h-- > 0;) {
		if ((f->size >> h) & 1)
			memcpy(roots[c++], f->node[h], MERKLE_HASH_BYTES);
	}
	*size = f->size;
	*count = c;
	return 0;
}

int
merkle_frontier_import(struct merkle_frontier *f, enum keys_suite suite, uint64_t size,
    const uint8_t roots[][MERKLE_HASH_BYTES], size_t count)
{
	struct merkle_frontier t;
	unsigned int h;
	size_t c = 0;

	if (f == NULL || !suite_ok(suite) || (roots == NULL && count != 0))
		return SL_ERR_INVAL;
	if (count != (size_t)__builtin_popcountll((unsigned long long)size))
		return SL_ERR_INVAL;
	memset(&t, 0, sizeof(t));
	t.suite = suite;
	t.size = size;
	for (h = MERKLE_MAX_LEVELS; h-- > 0;) {
		if ((size >> h) & 1)
			memcpy(t.node[h], roots[c++], MERKLE_HASH_BYTES);
	}
	*f = t;
	return 0;
}

/*
 * out = MTH(D[lo : lo+len]) for len >= 1, reading each leaf once.  The caller
 * guarantees lo + len <= the tree size, so lo + i cannot overflow.
 */
static int
range_root(enum keys_suite suite, uint64_t lo, uint64_t len, merkle_leaf_fn leaf, void *arg,
    uint8_t out[MERKLE_HASH_BYTES])
{
	struct merkle_frontier f;
	uint8_t lh[MERKLE_HASH_BYTES];
	uint64_t i;
	int r;

	if ((r = merkle_frontier_init(&f, suite)) < 0)
		return r;
	for (i = 0; i < len; i++) {
		if ((r = leaf_call(leaf, arg, lo + i, lh)) < 0)
			return r;
		if ((r = merkle_frontier_append(&f, lh)) < 0)
			return r;
	}
	return merkle_frontier_root(&f, out);
}

int
merkle_root_compute(enum keys_suite suite, uint64_t size, merkle_leaf_fn leaf, void *arg,
    uint8_t out[MERKLE_HASH_BYTES])
{
	if (!suite_ok(suite) || leaf == NULL || out == NULL)
		return SL_ERR_INVAL;
	if (size == 0)
		return merkle_hash_empty(suite, out);
	return range_root(suite, 0, size, leaf, arg, out);
}

/* Reverse proof[0 .. len-1] in place. */
static void
proof_reverse(uint8_t proof[][MERKLE_HASH_BYTES], size_t len)
{
	uint8_t t[MERKLE_HASH_BYTES];
	size_t i, j;

	if (len < 2)
		return;
	for (i = 0, j = len - 1; i < j; i++, j--) {
		memcpy(t, proof[i], MERKLE_HASH_BYTES);
		memcpy(proof[i], proof[j], MERKLE_HASH_BYTES);
		memcpy(proof[j], t, MERKLE_HASH_BYTES);
	}
}

/*
 * PATH(index, D[size]) of RFC 6962 2.1.1, as a loop.  With leaf == NULL only
 * counts the hashes; otherwise writes them to proof, bottom up.  The current
 * subtree is D[lo : lo+n] and index is at m within it; lo + n <= size always.
 */
static int
inclusion_walk(enum keys_suite suite, uint64_t index, uint64_t size, merkle_leaf_fn leaf, void *arg,
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *len)
{
	uint64_t lo = 0, n = size, m = index, k;
	size_t c = 0;
	int r;

	if (index >= size)
		return SL_ERR_INVAL;
	while (n > 1) {
		if (c >= MERKLE_MAX_LEVELS)
			return SL_ERR_INTERNAL;
		k = split_point(n);
		if (m < k) {
			/* PATH(m, D[0:k]) : MTH(D[k:n]) */
			if (leaf != NULL &&
			    (r = range_root(suite, lo + k, n - k, leaf, arg, proof[c])) < 0)
				return r;
			n = k;
		} else {
			/* PATH(m - k, D[k:n]) : MTH(D[0:k]) */
			if (leaf != NULL && (r = range_root(suite, lo, k, leaf, arg, proof[c])) < 0)
				return r;
			lo += k;
			m -= k;
			n -= k;
		}
		c++;
	}
	if (leaf != NULL)
		proof_reverse(proof, c);
	*len = c;
	return 0;
}

/*
 * PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 6962 2.1.2, as a loop, for
 * 0 < m <= n; m == 0 gives the empty proof.  With leaf == NULL only counts.
 * The current subtree is D[lo : lo+cn] with the old tree ending at cm within
 * it; 0 < cm <= cn and lo + cn <= n always.
 */
static int
consistency_walk(enum keys_suite suite, uint64_t m, uint64_t n, merkle_leaf_fn leaf, void *arg,
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *len)
{
	uint64_t lo = 0, cn = n, cm = m, k;
	bool b = true;
	size_t c = 0;
	int r;

	if (m > n)
		return SL_ERR_INVAL;
	if (m == 0) {
		*len = 0;
		return 0;
	}
	for (;;) {
		if (cm == cn) {
			/* SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])} */
			if (b)
				break;
			if (c >= MERKLE_MAX_PROOF)
				return SL_ERR_INTERNAL;
			if (leaf != NULL &&
			    (r = range_root(suite, lo, cm, leaf, arg, proof[c])) < 0)
				return r;
			c++;
			break;
		}
		if (c >= MERKLE_MAX_PROOF)
			return SL_ERR_INTERNAL;
		k = split_point(cn);
		if (cm <= k) {
			/* SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) */
			if (leaf != NULL &&
			    (r = range_root(suite, lo + k, cn - k, leaf, arg, proof[c])) < 0)
				return r;
			cn = k;
		} else {
			/* SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) */
			if (leaf != NULL && (r = range_root(suite, lo, k, leaf, arg, proof[c])) < 0)
				return r;
			lo += k;
			cm -= k;
			cn -= k;
			b = false;
		}
		c++;
	}
	if (leaf != NULL)
		proof_reverse(proof, c);
	*len = c;
	return 0;
}

int
merkle_inclusion_len(uint64_t index, uint64_t size, size_t *len)
{
	if (len == NULL)
		return SL_ERR_INVAL;
	return inclusion_walk(KEYS_SUITE_INTL, index, size, NULL, NULL, NULL, len);
}

int
merkle_consistency_len(uint64_t m, uint64_t n, size_t *len)
{
	if (len == NULL)
		return SL_ERR_INVAL;
	return consistency_walk(KEYS_SUITE_INTL, m, n, NULL, NULL, NULL, len);
}

int
merkle_inclusion_prove(enum keys_suite suite, uint64_t index, uint64_t size, merkle_leaf_fn leaf,
    void *arg, uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *proof_len)
{
	size_t c = 0;
	int r;

	if (proof_len == NULL)
		return SL_ERR_INVAL;
	*proof_len = 0;
	if (!suite_ok(suite) || leaf == NULL || proof == NULL)
		return SL_ERR_INVAL;
	if ((r = inclusion_walk(suite, index, size, leaf, arg, proof, &c)) < 0)
		return r;
	*proof_len = c;
	return 0;
}

int
merkle_consistency_prove(enum keys_suite suite, uint64_t m, uint64_t n, merkle_leaf_fn leaf,
    void *arg, uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *proof_len)
{
	size_t c = 0;
	int r;

	if (proof_len == NULL)
		return SL_ERR_INVAL;
	*proof_len = 0;
	if (!suite_ok(suite) || leaf == NULL || proof == NULL)
		return SL_ERR_INVAL;
	if ((r = consistency_walk(suite, m, n, leaf, arg, proof, &c)) < 0)
		return r;
	*proof_len = c;
	return 0;
}

int
merkle_inclusion_verify(enum keys_suite suite, const uint8_t leaf_hash[MERKLE_HASH_BYTES],
    uint64_t index, uint64_t size, const uint8_t proof[][MERKLE_HASH_BYTES], size_t proof_len,
    const uint8_t root[MERKLE_HASH_BYTES])
{
	uint8_t r_hash[MERKLE_HASH_BYTES];
	uint64_t fn, sn;
	size_t want, i;
	int r;

	if (!suite_ok(suite) || leaf_hash == NULL || root == NULL ||
	    (proof == NULL && proof_len != 0))
		return SL_ERR_INVAL;
	if ((r = merkle_inclusion_len(index, size, &want)) < 0)
		return r;
	if (proof_len != want)
		return SL_ERR_INVAL;

	/* RFC 9162 section 2.1.3.2, steps 2 to 5. */
	fn = index;
	sn = size - 1;
	memcpy(r_hash, leaf_hash, MERKLE_HASH_BYTES);
	for (i = 0; i < proof_len; i++) {
		if (sn == 0)
			return SL_ERR_AUTH;
		if ((fn & 1) || fn == sn) {
			if ((r = merkle_hash_node(suite, proof[i], r_hash, r_hash)) < 0)
				return r;
			while (fn != 0 && !(fn & 1)) {
				fn >>= 1;
				sn >>= 1;
			}
		} else if ((r = merkle_hash_node(suite, r_hash, proof[i], r_hash)) < 0) {
			return r;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !hash_eq(r_hash, root))
		return SL_ERR_AUTH;
	return 0;
}

int
merkle_consistency_verify(enum keys_suite suite, uint64_t m, uint64_t n,
    const uint8_t root_m[MERKLE_HASH_BYTES], const uint8_t root_n[MERKLE_HASH_BYTES],
    const uint8_t proof[][MERKLE_HASH_BYTES], size_t proof_len)
{
	uint8_t fr[MERKLE_HASH_BYTES], sr[MERKLE_HASH_BYTES], empty[MERKLE_HASH_BYTES];
	const uint8_t(*path)[MERKLE_HASH_BYTES];
	uint64_t fn, sn;
	size_t want, path_len, i;
	int r;

	if (!suite_ok(suite) || root_m == NULL || root_n == NULL ||
	    (proof == NULL && proof_len != 0))
		return SL_ERR_INVAL;
	if ((r = merkle_consistency_len(m, n, &want)) < 0)
		return r;
	if (proof_len != want)
		return SL_ERR_INVAL;

	if (m == 0) {
		/* The empty tree is a prefix of every tree; its root is H(""). */
		if ((r = merkle_hash_empty(suite, empty)) < 0)
			return r;
		if (!hash_eq(root_m, empty) || (n == 0 && !hash_eq(root_n, empty)))
			return SL_ERR_AUTH;
		return 0;
	}
	if (m == n)
		return hash_eq(root_m, root_n) ? 0 : SL_ERR_AUTH;

	/*
	 * RFC 9162 section 2.1.4.2, 0 < m < n.  Step 2 prepends root_m when m is
	 * a power of two; here that is the seed, and path the rest.  want >= 1
	 * for 0 < m < n, so proof[0] exists.
	 */
	if ((m & (m - 1)) == 0) {
		memcpy(fr, root_m, MERKLE_HASH_BYTES);
		path = proof;
		path_len = proof_len;
	} else {
		memcpy(fr, proof[0], MERKLE_HASH_BYTES);
		path = proof + 1;
		path_len = proof_len - 1;
	}
	memcpy(sr, fr, MERKLE_HASH_BYTES);
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (i = 0; i < path_len; i++) {
		if (sn == 0)
			return SL_ERR_AUTH;
		if ((fn & 1) || fn == sn) {
			if ((r = merkle_hash_node(suite, path[i], fr, fr)) < 0)
				return r;
			if ((r = merkle_hash_node(suite, path[i], sr, sr)) < 0)
				return r;
			while (fn != 0 && !(fn & 1)) {
				fn >>= 1;
				sn >>= 1;
			}
		} else if ((r = merkle_hash_node(suite, sr, path[i], sr)) < 0) {
			return r;
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* Both checks always run; neither result depends on which one failed. */
	if ((int)(sn == 0) & hash_eq(fr, root_m) & hash_eq(sr, root_n))
		return 0;
	return SL_ERR_AUTH;
}
