/*
 * sandbox/query.h -- the query job of sluice-worker (docs/architecture.md).
 *
 * Before confinement (query_prepare): open the one store read-only and begin
 * the read transaction on the version to read.  After (query_run): read the
 * SQL text (DATA* END), parse and plan it, send PLAN, wait for the broker's
 * GO or ABORT, then scan and send RESULT.  A mistake in the text is an ERROR
 * frame with a code and its place (sandbox/job.h).
 */
#ifndef SLUICE_SANDBOX_QUERY_H
#define SLUICE_SANDBOX_QUERY_H

#include "sandbox/job.h"

struct query;

int query_prepare(const struct job_header *h, struct query **out)
    __attribute__((warn_unused_result));
int query_run(struct query *q, int fd) __attribute__((warn_unused_result));
void query_free(struct query *q);

/*
 * Tests only: tests/sluice-worker-test sets this to play a compromised
 * worker, which after the scan rewrites its RESULT or tries what the sandbox
 * must stop (the broker must catch either).  Nonzero: the job fails with that
 * error instead of sending RESULT.  NULL, never called, in sluice-worker.
 */
struct plan;
extern int (*query_result_tamper)(const struct job_header *h, int fd, const struct plan *plan,
    struct job_result *result);

#endif
