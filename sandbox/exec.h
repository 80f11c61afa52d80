/*
 * sandbox/exec.h -- the vectorised executor: scan a store version for a plan.
 *
 * Reads only the columns the plan needs, chunk by chunk (each chunk is
 * authenticated and decrypted as it is read: an integrity error fails the
 * whole query), evaluates the filter over whole chunks into a selection
 * vector, and aggregates per group.  The answer is raw: per group its key,
 * row count, distinct-unit count, and per aggregate the clamped sums
 * (and sums of squares), distinct counts or extremes.  Disclosure control is
 * the broker's (broker/release.h); nothing here decides what is shown.
 *
 * Integer sums are exact: int64 with overflow detected (SL_ERR_LIMIT), sums
 * of squares in 128 bits.
 */
#ifndef SLUICE_SANDBOX_EXEC_H
#define SLUICE_SANDBOX_EXEC_H

#include "sandbox/job.h"

struct plan;
struct store_reader;

/* Most groups an answer may have: the RESULT frame must fit JOB_FRAME_MAX. */
#define EXEC_MAX_GROUPS 20000
/* Largest units_cap honoured; above it units are counted exactly. */
#define EXEC_UNITS_CAP_MAX 4096

/* The bound's key as the job HEADER carries it (sandbox/job.h bound_key). */
#define EXEC_BOUND_KEY_BYTES 32

/*
 * The contribution bound of a dp query (job HEADER bound_rows, bound_key).
 * Among the rows the filter selects, each unit keeps at most rows of them:
 * those of the smallest h, h = SipHash-2-4 (crypto_shorthash) under the
 * 16-byte key BLAKE2b-128(message "sluice/exec/bound/v1", key key), that
 * is crypto_generichash of the label keyed by the contract's key, so the
 * hash key is never the contract key itself.  h is taken over the row's
 * canonical encoding: the unit's value, then the value of every other
 * column the plan reads, in schema column order, each one a tag byte
 * (0 NULL, 1 integer-stored, 2 REAL, 3 TEXT) followed by, for integers,
 * the int64 as 8 little-endian bytes; for REAL, the double's bits as 8
 * little-endian bytes (-0 as 0); for TEXT, a 32-bit little-endian length
 * and the bytes (never the dictionary code).  h is read little-endian.
 * So the rows kept depend on the data, the columns the query reads and
 * the key only, never on row order or chunk layout.  Of the rows of one
 * unit with equal h (identical in every column hashed, so alike to the
 * answer) the first in the version's order are kept: exactly min(rows,
 * count) rows of each unit are kept, and the same rows on any number of
 * threads.  Only kept rows enter groups, row counts, unit counts and
 * aggregates; measures are clamped as without a bound.  rows_scanned counts
 * one scan.
 *
 * Costs: a first scan of the version (decrypt, filter, hash every selected
 * row) chooses the rows: it holds 24 bytes per selected row (unit, h, its
 * place among the selected rows) and, past exec_bound_prune_pairs of them,
 * prunes each unit to its rows smallest before growing, so it peaks near
 * 48 bytes times the sum over units of min(rows selected, rows); it leaves
 * one bit per selected row.  The second is the ordinary scan, which selects
 * the same rows in the same order and admits those whose bit is set: no
 * hash, no lookup.  The alternative, keeping the selected rows' values to
 * avoid the second decryption, would hold every aggregated value of every
 * selected row.  On threads, each run of chunks does both passes over its
 * own chunks; between them the runs' pruned pairs are cut once, with each
 * run's places following those of the runs before it, so the rows kept are
 * those of one thread.
 */
struct exec_bound {
	uint32_t rows; /* 0: no bound */
	uint8_t key[EXEC_BOUND_KEY_BYTES];
};

/* Pairs the bound's first pass holds before it prunes (a variable for the tests). */
#define EXEC_BOUND_PRUNE_PAIRS ((size_t)1 << 22)
extern size_t exec_bound_prune_pairs;

/*
 * Run p over a version, on nthreads threads (>= 1), each with its reader:
 * readers[0 .. nthreads - 1], read transactions of the same version (see
 * exec.c, "threads": the answer depends on the thread count only in the last
 * bits of REAL sums, with or without a contribution bound).  0 and *result,
 * the RESULT (sandbox/job.h; its TEXT values
 * in its own pool; free with job_result_clear()), or SL_ERR_AUTH
 * (integrity), SL_ERR_LIMIT (overflow, too many groups), SL_ERR_NOMEM.
 * units is the exact number of distinct units, or with units_cap in
 * 1..EXEC_UNITS_CAP_MAX, min(that number, units_cap).  bound NULL or
 * bound->rows 0: every selected row counts (and no row pays for the bound);
 * else as struct exec_bound says.  bound is borrowed for the call only.
 */
int exec_run(const struct plan *p, struct store_reader *const *readers, unsigned nthreads,
    uint32_t units_cap, const struct exec_bound *bound, struct job_result *result)
    __attribute__((warn_unused_result));

#endif
