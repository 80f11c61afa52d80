/*
 * broker/spawn.h -- starting one sluice-worker for one job, talking to it,
 * and saying how it ended (docs/architecture.md).
 *
 * The worker is started with fork+exec, so it inherits no memory of the
 * broker: an empty environment, argv = { "sluice-worker" }, standard input
 * and output on /dev/null, standard error on a pipe that the broker relays to
 * its own standard error (prefixed, and at most SPAWN_STDERR_MAX bytes per
 * worker), and its end of a socketpair on JOB_FD.  No other descriptor.
 *
 * Everything the worker sends is untrusted: frames are checked for type and
 * length before anything is allocated, a bad one kills the worker, and no
 * call here aborts or raises SIGPIPE because of what a worker did.  Every
 * call that waits honours the job's wall-clock deadline, fixed when the
 * worker starts; at the deadline the worker is killed (SIGKILL).
 *
 * Typical use:
 *
 *     spawn_job(path, &h, wall_ms, &sp)             fork+exec, send HEADER
 *                                                   (the broker's jobs: launch_job()
 *                                                   in broker/launch.h)
 *     spawn_send(sp, JOB_FRAME_DATA, ...) ...       the input, then END
 *     spawn_poll(sp, &type, &p, &n)                 between DATA frames: PROGRESS
 *                                                   that has arrived, if any
 *     spawn_recv(sp, &type, &p, &n)                 a query: PLAN or ERROR
 *     spawn_send(sp, JOB_FRAME_GO, ...)             a query: GO or ABORT
 *     spawn_recv(sp, &type, &p, &n) ...             PROGRESS*, RESULT or ERROR
 *     spawn_wait(sp, &res)                          reap and classify
 *     spawn_free(sp)
 *
 * The broker must not set SIGCHLD to SIG_IGN (children would be reaped
 * behind its back); nothing here changes signal dispositions.
 */
#ifndef SLUICE_BROKER_SPAWN_H
#define SLUICE_BROKER_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/job.h"

/* The worker's standard error logged per job; the rest is read and dropped. */
#define SPAWN_STDERR_MAX (64u << 10)

/*
 * Log workers' standard error to the file at path (created 0600 and opened
 * for appending at the first line a worker writes), or drop it with NULL,
 * the default.  path is copied.
 */
void spawn_log_set(const char *path);

enum spawn_outcome {
	SPAWN_OK = 0,            /* exited 0 after a RESULT frame */
	SPAWN_FAILED,            /* the job failed: an ERROR frame, or a non-zero exit */
	SPAWN_SANDBOX_VIOLATION, /* killed by SIGSYS: a system call outside the allowlist */
	SPAWN_TIME_LIMIT,        /* wall-clock deadline (we killed it) or RLIMIT_CPU */
	SPAWN_MEMORY_LIMIT,      /* an allocation failed under RLIMIT_AS (exit status 3) */
	SPAWN_PROTOCOL_ERROR,    /* sent bytes that are not a valid frame at that point */
	SPAWN_FILE_LIMIT,        /* SIGXFSZ: a file grew past RLIMIT_FSIZE (a resource limit) */
	SPAWN_CRASHED,           /* killed by another signal */
};

struct spawn_result {
	enum spawn_outcome outcome;
	int exit_status; /* WEXITSTATUS, or -1 when killed by a signal */
	int signal;      /* the terminating signal, or 0 */
	uint64_t cpu_ms; /* user + system CPU time the worker used */
	uint64_t maxrss_kib;
	/* For people and the audit log, e.g. "killed by SIGSYS: a system call outside the allowlist". */
	char detail[256];
};

struct spawn; /* opaque: one running (or reaped) worker */

/*
 * The worker binary: $SLUICE_WORKER when set (it must be an absolute path),
 * else "sluice-worker" in the directory of /proc/self/exe when it is there
 * (the build tree), else the installed one in SLUICE_PKGLIBEXECDIR (the
 * configured $(pkglibexecdir)).  On success *out is
 * a new string the caller frees with free().  SL_ERR_INVAL for a relative
 * $SLUICE_WORKER, SL_ERR_IO when /proc/self/exe cannot be read.
 */
int spawn_worker_path(char **out) __attribute__((warn_unused_result));

/*
 * Start worker_path with nothing but its job socket, and fix the deadline at
 * wall_ms milliseconds from now (>= 1).  Sends nothing.  On success *out is
 * a new handle, freed with spawn_free().  SL_ERR_IO when the worker cannot be
 * started; the message says why (execve's error included), or
 * spawn_worker_user()'s error.
 */
int spawn_start(const char *worker_path, uint32_t wall_ms, struct spawn **out)
    __attribute__((warn_unused_result));

/*
 * Fix the deadline anew, wall_ms (>= 1) milliseconds from now: for a worker
 * started ahead of its job (sluice serve's pre-started workers), whose job
 * begins when it is taken, not when it was started.
 */
void spawn_rearm(struct spawn *sp, uint32_t wall_ms);

/*
 * The user a worker runs as, the broker's decision.  A broker running as
 * root names an unprivileged user: $SLUICE_WORKER_USER when set, else
 * "sluice-worker" (make install creates it), else "nobody".  Any other broker
 * cannot change users, so its workers keep its own ids.  SL_ERR_INVAL for a
 * $SLUICE_WORKER_USER that does not exist and for a user with uid or gid 0;
 * SL_ERR_IO when neither default user exists.
 */
int spawn_worker_user(uint32_t *uid, uint32_t *gid) __attribute__((warn_unused_result));

/*
 * Send h as the HEADER frame to a worker from spawn_start(), after setting
 * h->uid and h->gid to spawn_worker_user()'s answer when it was started.
 * The encoded header holds the data key; it is wiped as soon as it is sent
 * (h is the caller's to wipe: broker/launch.c keeps it in guarded memory).
 * h->cpu_seconds is kept to tell a CPU-limit SIGKILL from another.
 */
int spawn_send_header(struct spawn *sp, struct job_header *h) __attribute__((warn_unused_result));

/*
 * spawn_start(), then send h as the HEADER frame.  The encoded header holds
 * the data key; it is wiped as soon as it is sent.  h->cpu_seconds is kept to
 * tell a CPU-limit SIGKILL from another.  On failure no worker is left
 * running and *out is untouched.
 */
int spawn_job(const char *worker_path, struct job_header *h, uint32_t wall_ms, struct spawn **out)
    __attribute__((warn_unused_result));

/* The worker's pid, for logs (and tests that look at /proc). */
pid_t spawn_pid(const struct spawn *sp);

/*
 * Send one frame to the worker: HEADER, DATA, END, GO or ABORT, where the
 * job's permit table (job_permit() in sandbox/job.h, for the kind the HEADER
 * named) allows it.  While the worker does not read, its frames are
 * buffered so that neither side blocks the other.  Returns 0; SL_ERR_INVAL
 * for a frame the table does not permit now or a payload above
 * JOB_FRAME_MAX; SL_ERR_IO when the worker is gone (see spawn_wait() for
 * why); SL_ERR_LIMIT at the deadline (the worker is killed).
 */
int spawn_send(struct spawn *sp, uint32_t type, const void *payload, size_t len)
    __attribute__((warn_unused_result));

/*
 * Receive the worker's next frame: PLAN, PROGRESS, RESULT or ERROR, as the
 * permit table allows at this point of the job (so a caller that has sent
 * END to a query worker gets PLAN or ERROR, and nothing else).  On success
 * *payload is a new buffer of *len bytes, NUL-terminated for convenience,
 * which the caller frees with free().  RESULT and ERROR are final: any byte
 * after them is a protocol error.
 *
 * Returns SL_ERR_PARSE for anything else the worker sent (an unknown type, a
 * frame the table does not permit now, a length above JOB_FRAME_MAX, a
 * frame after the final one): the worker is killed at once and
 * spawn_wait() reports SPAWN_PROTOCOL_ERROR.  SL_ERR_IO when the worker
 * closed its end (it exited or was killed: ask spawn_wait()).  SL_ERR_LIMIT
 * at the deadline.  SL_ERR_NOMEM.  Messages are recorded with sl_errf().
 */
int spawn_recv(struct spawn *sp, uint32_t *type, uint8_t **payload, size_t *len)
    __attribute__((warn_unused_result));

/*
 * spawn_recv() without waiting: take the worker's next frame if all of it has
 * already arrived (buffered by spawn_send() while it sent, or readable now).
 * Returns 1 with the frame, as spawn_recv() gives it; 0 when no whole frame
 * is there yet (or the worker closed its end: spawn_recv() then says so);
 * <0 as spawn_recv(): the same permit-table check, so a frame out of order,
 * oversized or unknown is refused here too (SL_ERR_PARSE, the worker killed).
 * For a caller that streams input and reads PROGRESS as it goes; when it
 * returns a final frame (ERROR, or a test's RESULT), the table permits no
 * more input.
 */
int spawn_poll(struct spawn *sp, uint32_t *type, uint8_t **payload, size_t *len)
    __attribute__((warn_unused_result));

/*
 * The caller found a frame the table permits but whose payload is wrong (it
 * does not decode, or claims what cannot be): kill the worker as for any
 * protocol error, so spawn_wait() reports SPAWN_PROTOCOL_ERROR with why
 * (copied).  Returns SL_ERR_PARSE, its message recorded.
 */
int spawn_refuse(struct spawn *sp, const char *why) __attribute__((warn_unused_result));

/*
 * Close the broker's sending side, wait (until the deadline) for the worker
 * to exit, reap it and classify how it ended into *res:
 *
 *   1. we killed it for a protocol error          SPAWN_PROTOCOL_ERROR
 *   2. we killed it at the wall-clock deadline    SPAWN_TIME_LIMIT
 *   3. SIGSYS                                     SPAWN_SANDBOX_VIOLATION
 *   4. SIGXCPU, or a SIGKILL we did not send
 *      after cpu_seconds of CPU time              SPAWN_TIME_LIMIT
 *   5. SIGXFSZ                                    SPAWN_FILE_LIMIT
 *      any other signal                           SPAWN_CRASHED, named; for
 *      SIGSEGV, SIGBUS and SIGABRT the detail says an allocation failure
 *      under the memory limit may end that way -- the broker cannot tell
 *   6. bytes left unread (a frame after RESULT or ERROR, or cut short)
 *                                                 SPAWN_PROTOCOL_ERROR
 *   7. exit status 3                              SPAWN_MEMORY_LIMIT
 *   8. exit status 0 after RESULT                 SPAWN_OK
 *      exit status 0 after ERROR, or non-zero     SPAWN_FAILED
 *      exit status 0 with no final frame read     SPAWN_PROTOCOL_ERROR
 *
 * Frames the caller did not read count as unread bytes (6).  Returns 0, or
 * SL_ERR_IO if waitpid() itself failed.  May be called again: it then gives
 * the same result.
 */
int spawn_wait(struct spawn *sp, struct spawn_result *res) __attribute__((warn_unused_result));

/* "ok", "failed", "sandbox violation", "time limit", ...; static storage. */
const char *spawn_outcome_name(enum spawn_outcome o);

/* Kill the worker if it still runs, reap it, close everything.  sp may be NULL. */
void spawn_free(struct spawn *sp);

#endif
