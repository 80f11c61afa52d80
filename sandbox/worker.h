/*
 * sandbox/worker.h -- sluice-worker's entry point and
 * what a job kind provides (docs/architecture.md).
 *
 * worker_main() runs one job: it reads the HEADER frame from JOB_FD (trusted:
 * the broker wrote it), checks it, runs the kind's prepare step (open the one
 * store; for a query, begin the read transaction), confines the process with
 * confine_apply(), and only then runs the kind's job, which reads untrusted
 * bytes.  A failure before the job ran is answered with an ERROR frame
 * (sandbox/job.h): its code, and no place.
 *
 * A job kind provides, in sandbox/<kind>.h, the trio of sandbox/ingest.h:
 *     int  <kind>_prepare(const struct job_header *h, struct <kind> **out);
 *                        before confinement; may open files; h outlives the job
 *     int  <kind>_run(struct <kind> *k, int fd);
 *                        after confinement; 0 once a RESULT or ERROR was sent
 *     void <kind>_free(struct <kind> *k);
 * and a line of worker_kinds[] in worker.c.
 * After confinement a job may only use the system calls of its profile in
 * sandbox/confine.c: no open, no stat, no new descriptors of any kind.
 */
#ifndef SLUICE_SANDBOX_WORKER_H
#define SLUICE_SANDBOX_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "sandbox/confine.h"
#include "sandbox/job.h"

/* A job kind as worker_main() runs it. */
struct worker_kind {
	uint32_t kind; /* JOB_KIND_* */
	const char *name;
	enum confine_profile profile;
	int need_store; /* the header must name an absolute store path */
	int (*prepare)(const struct job_header *h, void **state);
	int (*run)(void *state, int fd);
	void (*release)(void *state);
	/* When not NULL, the profile for header h, instead of profile. */
	enum confine_profile (*profile_of)(const struct job_header *h);
};

/* Run the one job on JOB_FD; returns a JOB_EXIT_* status (sandbox/job.h) for _exit(). */
int worker_main(void);

/* How this process was confined; all zero before confine_apply().  Borrowed. */
const struct confine_report *worker_confinement(void);

/*
 * The extra job kinds of a test build: tests/worker/probes.c defines this,
 * and only tests/sluice-worker-test links it.  In sluice-worker the weak
 * reference stays NULL, and a header of any other kind is refused.  Called
 * once at the start of worker_main(), before the header is read (it may set
 * the test's other hooks, such as query_result_tamper); returns the table,
 * which lives as long as the process, and sets *n to its length.
 */
const struct worker_kind *worker_test_kinds(size_t *n) __attribute__((weak));

/* A test build's hook: called after a job's last frame, just before the worker exits. */
extern void (*worker_job_done)(void);

#endif
