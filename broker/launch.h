/*
 * broker/launch.h -- the one way the broker starts a job (docs/architecture.md).
 *
 * A job gets one version of one product: its directory and its data key
 * (for a rekey also the new version's key), the limits, and parameters.
 * launch_send() builds the HEADER from them in guarded memory
 * (keys_secret_alloc()), sends it, and wipes it once: no other copy of a
 * data key is made on the broker's side.
 */
#ifndef SLUICE_BROKER_LAUNCH_H
#define SLUICE_BROKER_LAUNCH_H

#include <stdint.h>

struct exchange;
struct keys_dek;
struct product;
struct spawn;

struct launch {
	uint32_t kind;                  /* enum job_kind */
	const struct product *product;  /* its name and schema */
	int64_t version;                /* the version read (query, rekey) or written (ingest) */
	const struct keys_dek *key;     /* that version's data key */
	int64_t key_version;            /* its version */
	const struct keys_dek *new_key; /* rekey: the new version's key; else NULL */
	const char *store;              /* the one directory the worker may open */
	uint32_t cpu_seconds;
	uint64_t memory_bytes;
	uint64_t map_bytes; /* ingest, rekey: the LMDB map size; query: 0 */
	const char *params; /* kind-specific JSON; NULL: "{}" */
	/* Query, dp mode: rows a unit may contribute (0: no bound) and the contract's key */
	uint32_t bound_rows;
	const uint8_t *bound_key; /* JOB_KEY_BYTES; NULL with bound_rows 0 */
	uint32_t threads;         /* threads the job may run; 0: 1 */
};

/*
 * The threads a job runs on when its caller does not say: $SLUICE_THREADS
 * (the broker's setting, 1 to JOB_THREADS_MAX), else the online cores, at
 * most JOB_THREADS_MAX.
 */
unsigned launch_threads_default(void);

/* Send l's HEADER to a worker from spawn_start().  Wipes every copy of the keys. */
int launch_send(struct exchange *ex, struct spawn *sp, const struct launch *l)
    __attribute__((warn_unused_result));

/*
 * Start a worker ($SLUICE_WORKER or beside the broker) with the wall-clock
 * deadline wall_ms and send l's HEADER.  On failure no worker is left.
 */
int launch_job(struct exchange *ex, const struct launch *l, uint32_t wall_ms, struct spawn **out)
    __attribute__((warn_unused_result));

#endif
