/*
 * broker/merkle.h -- the RFC 6962 section 2.1 Merkle tree of the audit log.
 *
 * The tree is the Merkle Tree Hash (MTH) of RFC 6962 section 2.1 over the
 * suite's hash (keys/hash.h: SHA-256 for intl, SM3 for gm):
 *
 *	MTH({})      = H("")
 *	MTH({d0})    = H(0x00 || d0)                          leaf hash
 *	MTH(D[n])    = H(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  node hash
 *	               where k is the largest power of two smaller than n.
 *
 * Everything below works on leaf hashes (32 bytes), not on leaf data: the
 * caller hashes an audit record once with merkle_hash_leaf() and stores that.
 *
 * Three parts:
 *
 *  - struct merkle_frontier: the compact range of a growing log, the roots of
 *    the perfect subtrees that make up the first size leaves.  Appending a leaf
 *    costs amortised O(1) and at most 64 node hashes; the root of the current
 *    tree costs at most 63 node hashes.  It is fixed size and can be saved and
 *    restored (merkle_frontier_export/import) so that the log never rehashes
 *    all its leaves.
 *
 *  - proof generation, exactly the PATH (inclusion) and PROOF/SUBPROOF
 *    (consistency) algorithms of RFC 6962 sections 2.1.1 and 2.1.2.  Leaf
 *    hashes are read through a caller callback; the subtree hashes a proof needs
 *    are recomputed from leaves, so one proof for a tree of size n reads at
 *    most n leaf hashes and computes fewer than n node hashes.  No recursion:
 *    the walks are loops bounded by 64 levels and subtree hashes are folded
 *    with a fixed 64-slot stack.
 *
 *  - proof verification, the algorithms of RFC 9162 sections 2.1.3.2 and
 *    2.1.4.2 (which apply unchanged to RFC 6962 trees), made strict: a proof
 *    must have exactly the length the (index, size) or (m, n) pair implies.
 *
 * Proofs are arrays of 32-byte hashes ordered as the RFCs order them (from the
 * leaf level up).  Tree sizes and indices are uint64_t; a tree of up to
 * 2^64 - 1 leaves has at most 64 levels.  An inclusion proof then has at most
 * 64 hashes, but a consistency proof can have 65 (up to 64 siblings plus the
 * root of the subtree where the old tree ends, e.g. m = 3, n = 2^63 + 1), so
 * MERKLE_MAX_PROOF is 65.
 *
 * Errors: 0 on success, or a negative code of common/err.h.  SL_ERR_INVAL
 * means the arguments are impossible (NULL, index >= size, m > n, a proof of
 * the wrong length, an unknown suite); SL_ERR_AUTH means a well-formed proof
 * does not match the given hashes; SL_ERR_CRYPTO means the hash library
 * failed; any error a leaf callback returns is passed through unchanged.
 * Outputs are only meaningful when 0 is returned.
 *
 * Hashes handled here are public (they are published in signed tree heads), so
 * comparisons need not be constant time; they are anyway.
 */
#ifndef SLUICE_BROKER_MERKLE_H
#define SLUICE_BROKER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "keys/hash.h"
#include "keys/suite.h"

#define MERKLE_HASH_BYTES KEYS_HASH_BYTES /* 32 */
#define MERKLE_MAX_LEVELS 64              /* perfect subtrees in a frontier */
#define MERKLE_MAX_PROOF 65               /* hashes in any proof, see above */

/*
 * Leaf hash reader supplied by the caller of the proof generators: write the
 * leaf hash of leaf index (0-based) to out and return 0, or return a negative
 * code of common/err.h, which aborts the generation and is returned by it.  A
 * positive return is a bug in the callback and becomes SL_ERR_INTERNAL.  It is
 * only called with index < the tree size given to the generator.
 */
typedef int (*merkle_leaf_fn)(void *arg, uint64_t index, uint8_t out[MERKLE_HASH_BYTES]);

/* ---- Hashes of RFC 6962 section 2.1 ---- */

/*
 * out = H(0x00 || data[0:len]), the leaf hash.  data may be NULL when len is 0.
 * Returns 0, SL_ERR_INVAL (unknown suite, NULL out or data), SL_ERR_NOMEM or
 * SL_ERR_CRYPTO.
 */
int merkle_hash_leaf(enum keys_suite suite, const void *data, size_t len,
    uint8_t out[MERKLE_HASH_BYTES]) __attribute__((warn_unused_result));

/*
 * out = H(0x01 || left || right), the interior node hash.  out may alias left
 * or right.  Returns 0, SL_ERR_INVAL (unknown suite, NULL) or SL_ERR_CRYPTO.
 */
int merkle_hash_node(enum keys_suite suite, const uint8_t left[MERKLE_HASH_BYTES],
    const uint8_t right[MERKLE_HASH_BYTES], uint8_t out[MERKLE_HASH_BYTES])
    __attribute__((warn_unused_result));

/*
 * out = H(""), the root of the empty tree.  Returns 0, SL_ERR_INVAL (unknown
 * suite, NULL) or SL_ERR_CRYPTO.
 */
int merkle_hash_empty(enum keys_suite suite, uint8_t out[MERKLE_HASH_BYTES])
    __attribute__((warn_unused_result));

/* ---- Frontier (compact range [0, size)) ---- */

/*
 * node[h] holds the hash of the perfect subtree of 2^h leaves that the first
 * size leaves decompose into, and is meaningful only when bit h of size is set;
 * the other slots are zero.  Treat the fields as private: use the functions.
 * A frontier holds no resources; it may be copied with memcpy or assignment.
 */
struct merkle_frontier {
	enum keys_suite suite;
	uint64_t size;
	uint8_t node[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES];
};

/*
 * Make f the frontier of the empty tree of the given suite.  Returns 0, or
 * SL_ERR_INVAL for NULL f or an unknown suite (f is then left untouched).
 */
int merkle_frontier_init(struct merkle_frontier *f, enum keys_suite suite)
    __attribute__((warn_unused_result));

/*
 * Append the leaf whose leaf hash is leaf_hash (from merkle_hash_leaf()); the
 * size grows by one.  At most 64 node hashes, amortised fewer than two.
 * Returns 0; SL_ERR_INVAL for NULL; SL_ERR_LIMIT when the size is already
 * 2^64 - 1; SL_ERR_CRYPTO.  On any error f is unchanged.
 */
int merkle_frontier_append(struct merkle_frontier *f, const uint8_t leaf_hash[MERKLE_HASH_BYTES])
    __attribute__((warn_unused_result));

/*
 * The root hash MTH of the first size leaves into out, without touching the
 * leaves: H("") for size 0, the leaf hash itself for size 1, otherwise at most
 * 63 node hashes.  Returns 0, SL_ERR_INVAL (NULL) or SL_ERR_CRYPTO.
 */
int merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_BYTES])
    __attribute__((warn_unused_result));

/* The number of leaves appended so far.  f must not be NULL. */
uint64_t merkle_frontier_size(const struct merkle_frontier *f);

/*
 * Serialise f for storage: *size is the tree size and roots[0 .. *count-1]
 * the subtree roots from left (largest, covering leaf 0) to right (smallest),
 * *count being the number of bits set in *size (0 to 64).  This is the compact
 * range [0, size) of transparency-dev/merkle.  roots must have room for
 * MERKLE_MAX_LEVELS hashes.  Returns 0 or SL_ERR_INVAL (NULL).
 */
int merkle_frontier_export(const struct merkle_frontier *f, uint64_t *size,
    uint8_t roots[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES], size_t *count)
    __attribute__((warn_unused_result));

/*
 * Restore f from what merkle_frontier_export() gave.  roots may be NULL when
 * count is 0.  Only the shape is checked (count must equal the number of bits
 * set in size); the hashes cannot be: the caller must check the restored root
 * against a root it trusts (the last signed tree head) before relying on it.
 * Returns 0, or SL_ERR_INVAL (NULL, unknown suite, count mismatch) leaving f
 * untouched.
 */
int merkle_frontier_import(struct merkle_frontier *f, enum keys_suite suite, uint64_t size,
    const uint8_t roots[][MERKLE_HASH_BYTES], size_t count) __attribute__((warn_unused_result));

/* ---- Generation from leaf hashes ---- */

/*
 * out = MTH(D[0:size]), reading leaf hashes 0 .. size-1 once each through leaf
 * (not called when size is 0).  O(size) hashes, O(1) memory.  Returns 0,
 * SL_ERR_INVAL (NULL leaf or out, unknown suite), SL_ERR_CRYPTO or the
 * callback's error.
 */
int merkle_root_compute(enum keys_suite suite, uint64_t size, merkle_leaf_fn leaf, void *arg,
    uint8_t out[MERKLE_HASH_BYTES]) __attribute__((warn_unused_result));

/*
 * *len = the number of hashes in the inclusion proof of leaf index in a tree
 * of size leaves (0 for size 1).  Returns 0, or SL_ERR_INVAL when
 * index >= size (so always for size 0) or len is NULL.
 */
int merkle_inclusion_len(uint64_t index, uint64_t size, size_t *len)
    __attribute__((warn_unused_result));

/*
 * *len = the number of hashes in the consistency proof from size m to size n:
 * 0 when m == 0 or m == n.  Returns 0, or SL_ERR_INVAL when m > n or len is
 * NULL.
 */
int merkle_consistency_len(uint64_t m, uint64_t n, size_t *len) __attribute__((warn_unused_result));

/*
 * The inclusion proof PATH(index, D[size]) of RFC 6962 section 2.1.1 into
 * proof[0 .. *proof_len-1], from the leaf's sibling up to the child of the
 * root.  Reads at most size - 1 leaf hashes (never leaf index itself); a tree
 * of one leaf has the empty proof.  Returns 0; SL_ERR_INVAL (index >= size,
 * NULL leaf, proof or proof_len, unknown suite); SL_ERR_CRYPTO; or the
 * callback's error.  On error *proof_len is 0 and proof is unspecified.
 */
int merkle_inclusion_prove(enum keys_suite suite, uint64_t index, uint64_t size,
    merkle_leaf_fn leaf, void *arg, uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES],
    size_t *proof_len) __attribute__((warn_unused_result));

/*
 * The consistency proof PROOF(m, D[n]) of RFC 6962 section 2.1.2 into
 * proof[0 .. *proof_len-1].  The RFC defines it for 0 < m < n; here m == n and
 * m == 0 give the empty proof (the empty tree is a prefix of every tree, a
 * tree of itself).  Reads at most n leaf hashes.  Returns 0; SL_ERR_INVAL
 * (m > n, NULL leaf, proof or proof_len, unknown suite); SL_ERR_CRYPTO; or the
 * callback's error.  On error *proof_len is 0 and proof is unspecified.
 */
int merkle_consistency_prove(enum keys_suite suite, uint64_t m, uint64_t n, merkle_leaf_fn leaf,
    void *arg, uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *proof_len)
    __attribute__((warn_unused_result));

/* ---- Verification ---- */

/*
 * Check that leaf_hash is leaf index of the tree of size leaves whose root is
 * root, by the algorithm of RFC 9162 section 2.1.3.2.  proof may be NULL when
 * proof_len is 0.  Returns:
 *   0             the proof is valid;
 *   SL_ERR_INVAL  index >= size (so always for size 0), proof_len differs from
 *                 merkle_inclusion_len(index, size) (a truncated or extended
 *                 proof), a NULL argument, an unknown suite;
 *   SL_ERR_AUTH   a proof of the right length that does not lead from leaf_hash
 *                 to root (wrong leaf, wrong root, altered proof, or an index
 *                 or size other than the proof was made for);
 *   SL_ERR_CRYPTO the hash library failed.
 */
int merkle_inclusion_verify(enum keys_suite suite, const uint8_t leaf_hash[MERKLE_HASH_BYTES],
    uint64_t index, uint64_t size, const uint8_t proof[][MERKLE_HASH_BYTES], size_t proof_len,
    const uint8_t root[MERKLE_HASH_BYTES]) __attribute__((warn_unused_result));

/*
 * Check that the tree of size m with root root_m is a prefix of the tree of
 * size n with root root_n, by the algorithm of RFC 9162 section 2.1.4.2 for
 * 0 < m < n.  Edge cases, where the proof must be empty:
 *   m == n       valid iff root_m == root_n (and, if m == 0, both are H(""));
 *   m == 0 < n   valid iff root_m == H(""), whatever root_n is.
 * proof may be NULL when proof_len is 0.  Returns:
 *   0             the proof is valid;
 *   SL_ERR_INVAL  m > n, proof_len differs from merkle_consistency_len(m, n)
 *                 (a truncated or extended proof), a NULL argument, an unknown
 *                 suite;
 *   SL_ERR_AUTH   a proof of the right length that does not match root_m and
 *                 root_n (altered proof or roots, sizes other than the proof
 *                 was made for);
 *   SL_ERR_CRYPTO the hash library failed.
 */
int merkle_consistency_verify(enum keys_suite suite, uint64_t m, uint64_t n,
    const uint8_t root_m[MERKLE_HASH_BYTES], const uint8_t root_n[MERKLE_HASH_BYTES],
    const uint8_t proof[][MERKLE_HASH_BYTES], size_t proof_len) __attribute__((warn_unused_result));

#endif
