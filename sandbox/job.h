/*
 * sandbox/job.h -- the job protocol between the broker and sluice-worker.
 *
 * The only header broker/ and sandbox/ share (DESIGN.md section 2).  The
 * frames themselves (job header, PLAN, GO/ABORT, results, ingest stream)
 * arrive with the store and query work; this fixes the version both sides
 * check first.
 */
#ifndef SLUICE_SANDBOX_JOB_H
#define SLUICE_SANDBOX_JOB_H

#define JOB_PROTOCOL_VERSION 1

#endif
