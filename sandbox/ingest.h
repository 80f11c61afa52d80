/*
 * sandbox/ingest.h -- the ingest job, in the worker (docs/architecture.md).
 *
 * ingest_prepare() runs before confinement: it parses the trusted job header,
 * opens the product's store and begins the write transaction.  ingest_run()
 * runs after confinement: it reads the untrusted upload from DATA frames,
 * validates every value, writes the new version, and answers RESULT
 * {"rows","chunks","bytes"} or an ERROR frame (sandbox/job.h) of code
 * JOB_ERR_INPUT: the first INGEST_ERRORS_MAX places in the upload that broke
 * a rule (JOB_RULE_INGEST_*), and the count of all.  The broker writes the
 * words from its own copy of the file.  On any error the transaction is
 * aborted: nothing is written.
 */
#ifndef SLUICE_SANDBOX_INGEST_H
#define SLUICE_SANDBOX_INGEST_H

#include "sandbox/job.h"

#define INGEST_ERRORS_MAX 20
#define INGEST_PROGRESS_ROWS 65536

/*
 * On more than one thread (HEADER threads), the upload is cut into blocks
 * of whole records, each at the first record end past this many bytes, and
 * parsed on parser threads; the store's contents and the errors reported
 * are those of one thread (sandbox/ingest.c).  A variable for the tests.
 */
#define INGEST_BLOCK_BYTES ((size_t)1 << 20)
extern size_t ingest_block_bytes;

struct ingest;

int ingest_prepare(const struct job_header *h, struct ingest **out)
    __attribute__((warn_unused_result));
/* Returns 0 when a RESULT or ERROR frame was sent, else a protocol or I/O error. */
int ingest_run(struct ingest *in, int fd) __attribute__((warn_unused_result));
void ingest_free(struct ingest *in);

#endif
