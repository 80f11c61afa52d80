/*
 * sandbox/confine.h -- how sluice-worker confines itself (docs/architecture.md).
 *
 * One call, confine_apply(), after the worker has read its trusted job header
 * and opened what the job needs (as root, when started as root: the store's
 * files are root's), and before it reads any untrusted byte.  It applies, in
 * this fixed order:
 *
 *   0. an unprivileged user: a worker started as root empties its capability
 *      bounding set, drops its supplementary groups and becomes
 *      o->uid:o->gid (real, effective and saved ids), which the kernel makes
 *      cost it every capability; it checks that setuid(0) then fails;
 *   1. rlimits: CPU seconds, address space, no core dumps, few descriptors, no
 *      new processes, bounded file size;
 *   2. PR_SET_NO_NEW_PRIVS;
 *   3. a new network namespace, where the kernel allows one: entered before
 *      the job by confine_netns_early() when the worker started as root
 *      (root needs no user namespace for it); else now, inside a new user
 *      namespace, since the worker is no longer root, after which every
 *      capability that namespace gave (and its bounding set) is cleared
 *      again, so CapEff, CapPrm, CapInh, CapBnd and CapAmb are all 0;
 *   4. Landlock, where the kernel has it: read-only beneath the store for a
 *      query, read-write beneath it for an ingest, nothing anywhere else;
 *   5. a seccomp allowlist (libseccomp, SCMP_ACT_KILL_PROCESS by default): no
 *      open, socket, connect, exec, fork/clone, ptrace, kill or set*id after
 *      this; mmap/mprotect never with PROT_EXEC, mmap never MAP_SHARED (the
 *      store is mapped before), madvise only with the advice the worker gives.
 *
 * Steps 0, 1, 2 and 5 and the capability clearing are mandatory: if one
 * fails, confine_apply() fails and the worker must not run the job.  Steps 3
 * and 4 depend on the kernel; what it
 * refused is reported in struct confine_report, never silently skipped.  A
 * worker confined by this is killed by SIGSYS on its first system call outside
 * the allowlist, which the broker reports as "sandbox violation".
 *
 * There is no way back: everything applies to the calling process for good.
 * The process must be single-threaded when it calls this.
 */
#ifndef SLUICE_SANDBOX_CONFINE_H
#define SLUICE_SANDBOX_CONFINE_H

#include <stdint.h>
#include <sys/types.h>
#include <sched.h>

/* Which allowlist and which Landlock rights; see the table in confine.c. */
enum confine_profile {
	CONFINE_QUERY = 1,  /* reads a store through an open read transaction */
	CONFINE_INGEST = 2, /* also writes and syncs the already open store files */
};

/* Largest RLIMIT_NOFILE: the job's files are open before confinement. */
#define CONFINE_NOFILE 16

/*
 * The clone flags of glibc's pthread_create, the only clone a confined worker
 * may make: a thread, created after confinement, so it inherits all of it.
 */
#define CONFINE_THREAD_FLAGS                                                                   \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |    \
	    CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)
#define CONFINE_THREADS_MAX 64
/* RLIMIT_NPROC: tasks the worker user may have, over all jobs running at once. */
#define CONFINE_USER_TASKS 4096

struct confine_opts {
	enum confine_profile profile;
	/* RLIMIT_CPU: SIGXCPU after this many CPU seconds, SIGKILL one later.  >= 1. */
	uint32_t cpu_seconds;
	/* Threads the job may run (0 or 1: only its own), at most CONFINE_THREADS_MAX. */
	uint32_t threads;
	/*
	 * Address space the job may add to what is mapped when confine_apply()
	 * runs: RLIMIT_AS is set to the current size plus this.  Relative, so the
	 * store's LMDB map (mapped before confinement and as large as the store)
	 * and a sanitizer's shadow memory (terabytes of reservations) do not
	 * count against the job's working memory.  >= 1 MiB.
	 */
	uint64_t memory_bytes;
	/*
	 * RLIMIT_FSIZE for CONFINE_INGEST: the largest file it may grow (the
	 * store's map size).  A query gets 0: it may grow no file at all.
	 */
	uint64_t fsize_bytes;
	/*
	 * The store directory, the one place Landlock lets the job reach; NULL
	 * for none.  Borrowed.
	 */
	const char *store_path;
	/*
	 * The user to become (job_header.uid and .gid, the broker's choice);
	 * neither may be 0.  A worker not started as root must already be it.
	 */
	uid_t uid;
	gid_t gid;
	/* confine_netns_early() returned 1: step 3 is done. */
	int netns_early;
};

/* Bits of confine_report.missing: layers the kernel did not provide. */
#define CONFINE_NO_NETNS 0x1u    /* no new network namespace (EPERM, no user namespaces) */
#define CONFINE_NO_LANDLOCK 0x2u /* kernel without Landlock, or Landlock disabled */

struct confine_report {
	unsigned int missing; /* CONFINE_NO_* */
	int landlock_abi;     /* Landlock ABI version in force; 0 without Landlock */
	int netns_userns;     /* 1 when the network namespace needed a user namespace */
	int netns_early;      /* 1 when it was entered as root before the job */
};

/*
 * Confine the calling process as described above.  On success returns 0 and
 * fills *rep (which may be NULL).  On failure returns SL_ERR_INVAL for bad
 * options (uid or gid 0 among them), SL_ERR_IO when a mandatory step failed (message recorded with
 * sl_errf() naming the step); the process is then partly confined and must
 * exit without running the job.
 */
int confine_apply(const struct confine_opts *o, struct confine_report *rep)
    __attribute__((warn_unused_result));

/*
 * A worker started as root enters its empty network namespace now, before
 * its job: as root it needs no user namespace, and the namespace's creation
 * (the slowest step of confinement) is then no part of a job's latency when
 * the broker starts the worker ahead.  Returns 1 when it did (pass it as
 * confine_opts.netns_early), 0 when confine_apply() is to do it.
 */
int confine_netns_early(void);

/* The Landlock ABI version of the running kernel; 0 when it has none. */
int confine_landlock_abi(void);

#endif
