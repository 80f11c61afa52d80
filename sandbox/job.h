/*
 * sandbox/job.h -- the job protocol between the broker and sluice-worker.
 *
 * The only header broker/ and sandbox/ share (DESIGN.md section 2).  The
 * broker starts the worker with fork+exec, the worker's end of a socketpair
 * on descriptor JOB_FD, and speaks in frames:
 *
 *     type (u32, big-endian) || length (u32, big-endian) || payload
 *
 * A payload is at most JOB_FRAME_MAX bytes.  Its fields are written and read
 * in the same order by the one encoder/decoder pair for that frame, below; a
 * short frame, an oversized one, an unknown type or trailing bytes fail the
 * job.  The broker never aborts because of something a worker sent.
 *
 * Order of a job:
 *   broker -> worker   HEADER (trusted: from the catalog)
 *   broker -> worker   DATA* END            (ingest: the untrusted upload)
 *   worker -> broker   PROGRESS* then RESULT or ERROR
 *
 * A query has two phases (DESIGN.md section 3):
 *   broker -> worker   HEADER, DATA* END        (the SQL text: untrusted)
 *   worker -> broker   PLAN                     (or ERROR: a syntax error)
 *   broker -> worker   GO or ABORT              (the broker checked the plan)
 *   worker -> broker   RESULT (raw per-group aggregates) or ERROR
 */
#ifndef SLUICE_SANDBOX_JOB_H
#define SLUICE_SANDBOX_JOB_H

#include <stddef.h>
#include <stdint.h>

/* 2: the HEADER ends with the worker's uid and gid. */
#define JOB_PROTOCOL_VERSION 2
#define JOB_FD 3
#define JOB_FRAME_HEAD 8
#define JOB_FRAME_MAX (4u << 20)
#define JOB_KEY_BYTES 32
/* Rows per store chunk (STORE_CHUNK_ROWS), for the broker's check of a worker's counts. */
#define JOB_CHUNK_ROWS 65536u

/* sluice-worker's exit statuses, read by the broker (broker/spawn.c). */
#define JOB_EXIT_OK 0     /* the job ran; its last frame (RESULT or ERROR) says how */
#define JOB_EXIT_FAILED 1 /* the job failed; an ERROR frame was sent if the socket allowed */
#define JOB_EXIT_USAGE 2  /* not started by the broker: no job socket on JOB_FD */
#define JOB_EXIT_NOMEM 3  /* an allocation failed: under RLIMIT_AS, the memory limit */

enum job_frame {
	JOB_FRAME_HEADER = 1,
	JOB_FRAME_DATA = 2,
	JOB_FRAME_END = 3,
	JOB_FRAME_PROGRESS = 4,
	JOB_FRAME_RESULT = 5,
	JOB_FRAME_ERROR = 6,
	JOB_FRAME_PLAN = 7,  /* worker -> broker: a query's plan, JSON (sandbox/plan.h) */
	JOB_FRAME_GO = 8,    /* broker -> worker: the plan is allowed; scan */
	JOB_FRAME_ABORT = 9, /* broker -> worker: refused; payload is the reason */
};

enum job_kind {
	JOB_KIND_INGEST = 1,
	JOB_KIND_QUERY = 2,
	JOB_KIND_REKEY = 3, /* re-seal data_version under new_key as params.target_version */
	/* Confinement probes; the worker accepts them only when built for tests. */
	JOB_KIND_TEST = 100,
};

struct job_header {
	uint32_t version;      /* JOB_PROTOCOL_VERSION */
	uint32_t kind;         /* enum job_kind */
	uint32_t suite;        /* enum keys_suite */
	uint32_t cpu_seconds;  /* RLIMIT_CPU */
	uint64_t memory_bytes; /* RLIMIT_AS: added to what is mapped when the worker confines */
	uint64_t map_bytes;    /* LMDB map size for the store */
	uint32_t data_version; /* store version to write (ingest) or read (query) */
	uint32_t key_version;  /* data key version */
	uint8_t key[JOB_KEY_BYTES];     /* the product's data key; wiped by job_header_clear() */
	uint8_t new_key[JOB_KEY_BYTES]; /* rekey only: the new data key; wiped with key */
	char *store;                    /* path of the product's LMDB environment directory */
	char *product;                  /* product id (binds chunk AAD) */
	char *schema;                   /* product schema, JSON */
	char *params;                   /* kind-specific parameters, JSON */
	/*
	 * The unprivileged user a worker started as root drops to before it
	 * confines itself (never 0).  spawn_send_header() fills them in.
	 */
	uint32_t uid;
	uint32_t gid;
};

/* Write one frame; handles short writes and EINTR.  0 or SL_ERR_IO. */
int job_frame_write(int fd, uint32_t type, const void *payload, size_t len)
    __attribute__((warn_unused_result));

/*
 * Read one frame.  On success *payload is a new buffer (NUL-terminated for
 * convenience; caller frees) of *len bytes.  SL_ERR_PARSE for a length above
 * max or an unknown type, SL_ERR_IO for a short read (peer gone).
 */
int job_frame_read(int fd, uint32_t *type, uint8_t **payload, size_t *len, size_t max)
    __attribute__((warn_unused_result));

/* HEADER payload.  *out is freed (after wiping: it holds the key) with job_wipe_free(). */
int job_header_encode(const struct job_header *h, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));
int job_header_decode(const uint8_t *p, size_t len, struct job_header *h)
    __attribute__((warn_unused_result));
/* Free the strings and wipe the key; h may be zeroed or partially decoded. */
void job_header_clear(struct job_header *h);

/* PROGRESS payload: rows and input bytes consumed so far. */
int job_progress_encode(uint64_t rows, uint64_t bytes, uint8_t out[16]);
int job_progress_decode(const uint8_t *p, size_t len, uint64_t *rows, uint64_t *bytes)
    __attribute__((warn_unused_result));

void job_wipe_free(void *p, size_t len);

#endif
