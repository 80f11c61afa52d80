/*
 * sandbox/worker.c -- sluice-worker, the confined process that touches
 * plaintext rows and untrusted bytes (DESIGN.md section 3).
 *
 * The broker starts it with fork+exec, one job per process, and speaks the
 * protocol of sandbox/job.h over a socketpair on descriptor 3.
 *
 * XXX: the job kinds (ingest, query) and the confinement sequence come with
 * the store issue; until then the worker refuses to run any job, so nothing
 * can be mistaken for a working sandbox.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "sandbox/job.h"

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf(
		    "sluice-worker %s (job protocol %d)\n", PACKAGE_VERSION, JOB_PROTOCOL_VERSION);
		return 0;
	}
	fprintf(stderr, "sluice-worker: started by sluice for one job; it runs no job kinds yet "
	                "and is not run by hand\n");
	return 2;
}
