/*
 * sandbox/worker.h -- sluice-worker's entry point and
 * what a job kind provides (DESIGN.md section 3).
 *
 * worker_main() runs one job: it reads the HEADER frame from JOB_FD (trusted:
 * the broker wrote it), checks it, runs the kind's prepare step (open the one
 * store; for a query, begin the read transaction), confines the process with
 * confine_apply(), and only then runs the kind's job, which reads untrusted
 * bytes.  A failure before the job ran is answered with an ERROR frame of the
 * shape ingest uses, {"errors":[{"line":0,"column":0,"message":...}],"total":1}.
 *
 * A job kind provides, in sandbox/<kind>.h, the trio of sandbox/ingest.h:
 *     int  <kind>_prepare(const struct job_header *h, struct <kind> **out);
 *                        before confinement; may open files; h outlives the job
 *     int  <kind>_run(struct <kind> *k, int fd);
 *                        after confinement; 0 once a RESULT or ERROR was sent
 *     void <kind>_free(struct <kind> *k);
 * and is switched on in worker.c with -DSL_HAVE_<KIND> (SL_HAVE_INGEST,
 * SL_HAVE_QUERY); without it the worker answers "job kind not implemented".
 * After confinement a job may only use the system calls of its profile in
 * sandbox/confine.c: no open, no stat, no new descriptors of any kind.
 */
#ifndef SLUICE_SANDBOX_WORKER_H
#define SLUICE_SANDBOX_WORKER_H

/* Run the one job on JOB_FD; returns a JOB_EXIT_* status (sandbox/job.h) for _exit(). */
int worker_main(void);

#endif
