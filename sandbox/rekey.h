/*
 * sandbox/rekey.h -- the data key rotation job (`sluice keys rotate-product`).
 *
 * Re-seals every record of one version under a new data key as a new version
 * (store_rekey()).  It reads no untrusted input: the broker sends END, and the
 * job answers RESULT {"rows","chunks","bytes"} or ERROR (an integrity error in
 * the source fails the job, and nothing is written).
 */
#ifndef SLUICE_SANDBOX_REKEY_H
#define SLUICE_SANDBOX_REKEY_H

#include "sandbox/job.h"

struct rekey;

int rekey_prepare(const struct job_header *h, struct rekey **out)
    __attribute__((warn_unused_result));
int rekey_run(struct rekey *k, int fd) __attribute__((warn_unused_result));
void rekey_free(struct rekey *k);

#endif
