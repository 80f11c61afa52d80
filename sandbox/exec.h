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

/*
 * Run p over r.  0 and *result, the RESULT (sandbox/job.h; its TEXT values
 * in its own pool; free with job_result_clear()), or SL_ERR_AUTH
 * (integrity), SL_ERR_LIMIT (overflow, too many groups), SL_ERR_NOMEM.
 * units is the exact number of distinct units, or with units_cap in
 * 1..EXEC_UNITS_CAP_MAX, min(that number, units_cap).
 */
int exec_run(const struct plan *p, struct store_reader *r, uint32_t units_cap,
    struct job_result *result) __attribute__((warn_unused_result));

#endif
