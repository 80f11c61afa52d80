/*
 * tests/worker/probes.c -- what tests/sluice-worker-test adds to sluice-worker
 * (sandbox/worker.c): the job kind JOB_KIND_TEST, whose probe, named by the
 * header's params, tries after confinement what the sandbox must stop
 * (tests/unit/broker/spawn_test.c says what the broker must see for each),
 * and a compromised query worker for tests/integration/hostile.sh.
 *
 * Linked only into tests/sluice-worker-test, through worker_test_kinds()
 * (sandbox/worker.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <jansson.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "keys/aead.h"
#include "keys/keys.h"
#include "sandbox/confine.h"
#include "sandbox/job.h"
#include "sandbox/plan.h"
#include "sandbox/query.h"
#include "sandbox/worker.h"

/* ---- a compromised query worker ------------------------------------------------ */

/*
 * Room for extra more groups in res, each group's keys and states moved
 * along; the new ones are copies of group 0.
 */
static void
test_grow(struct job_result *res, size_t extra)
{
	size_t n = res->ngroups + extra, g, i;
	struct job_group *groups = calloc(n, sizeof *groups);
	struct job_value *keys = calloc(n * res->nkeys + 1, sizeof *keys);
	struct job_agg_state *aggs = calloc(n * res->naggs + 1, sizeof *aggs);

	if (groups == NULL || keys == NULL || aggs == NULL)
		abort();
	for (g = 0; g < n; g++) {
		const struct job_group *from = &res->groups[g < res->ngroups ? g : 0];

		groups[g] = *from;
		groups[g].keys = keys + g * res->nkeys;
		groups[g].aggs = aggs + g * res->naggs;
		for (i = 0; i < res->nkeys; i++)
			groups[g].keys[i] = from->keys[i];
		for (i = 0; i < res->naggs; i++)
			groups[g].aggs[i] = from->aggs[i];
	}
	free(res->groups);
	free(res->key_pool);
	free(res->agg_pool);
	res->groups = groups;
	res->key_pool = keys;
	res->agg_pool = aggs;
	res->ngroups = n;
}

/*
 * A compromised query worker, for tests/integration/hostile.sh: a query whose
 * LIMIT is 9001..9007 is answered with a lie of that kind after an honest
 * scan.  The broker must refuse every one (broker/release.c).  LIMIT 9101
 * and above runs one of abuse_probes[] instead (test_abuse()).
 */
static int test_abuse(const struct job_header *h, int fd, long limit);

/* Spin for about 3 s (no system call: clock_gettime is the vDSO's), then let the worker exit. */
static void
test_linger(void)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while (t.tv_sec - t0.tv_sec < 3);
}

static int
test_tamper(const struct job_header *h, int fd, const struct plan *plan, struct job_result *res)
{
	static const char domain_lie[] = "X",
	                  hex_key[] =
	                      "8f3a1c0de5b2a94c7d6e0f1b2a3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";
	static char flood[4096];
	struct job_group *g0;
	size_t i;

	if (!plan->has_limit)
		return 0;
	if (plan->limit > 9100 && plan->limit < 9200)
		return test_abuse(h, fd, (long)plan->limit);
	if (res->ngroups == 0)
		return 0;
	switch (plan->limit) {
	case 9001: /* the same group twice, the copy small enough to fit the version's rows */
		test_grow(res, 1);
		g0 = &res->groups[res->ngroups - 1];
		g0->rows = 0;
		g0->units = 0;
		g0->aggs[0].n = 0;
		break;
	case 9007: /* the same group 1,000 times */
		test_grow(res, 999);
		break;
	case 9002: /* a key outside the column's declared domain */
		res->groups[0].keys[0] = (struct job_value){
		    .type = JOB_VALUE_TEXT, .s = (const uint8_t *)domain_lie, .len = 1};
		break;
	case 9003: /* a "data key" in hex as a group key */
		res->groups[0].keys[0] = (struct job_value){.type = JOB_VALUE_TEXT,
		    .s = (const uint8_t *)hex_key,
		    .len = (uint32_t)strlen(hex_key)};
		break;
	case 9004: /* more rows than the version holds */
		res->groups[0].rows = 4999;
		res->groups[0].aggs[0].n = 4999;
		break;
	case 9005: /* units above rows */
		res->groups[0].units = res->groups[0].rows + 1;
		break;
	case 9008: /* an honest answer, then seconds of CPU before the worker exits */
		worker_job_done = test_linger;
		break;
	case 9006: /* a flood of "secrets" on standard error, then an honest answer */
		memset(flood, 'K', sizeof(flood) - 1);
		memcpy(flood, "LEAKED-DATA-KEY ", 16);
		flood[sizeof(flood) - 2] = '\n';
		for (i = 0; i < 256; i++)
			(void)!write(STDERR_FILENO, flood, sizeof(flood) - 1);
		break;
	}
	return 0;
}

/* ---- confinement probes ------------------------------------------------------ */

#define TEST_ALLOC_STEP ((size_t)4 << 20)
#define TEST_LMDB_ROWS 2000
#define TEST_LMDB_VALUE 4000

struct test_job;

struct test_probe {
	const char *name;
	int (*prepare)(struct test_job *t); /* before confinement; may be NULL */
	int (*run)(struct test_job *t, int fd);
	/* t_open_path() only: the file, relative to the job's store unless absolute, and how */
	const char *path;
	int flags;
};

struct test_job {
	const struct test_probe *p;
	const struct job_header *h;
	int fd; /* opened before confinement: /proc/self/status, or a socket */
	pid_t ppid;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
};

/* The probe's name: params, after an optional "ingest:" that selects the ingest profile. */
static const char *
test_word(const struct job_header *h)
{
	return strncmp(h->params, "ingest:", 7) == 0 ? h->params + 7 : h->params;
}

static enum confine_profile
test_profile(const struct job_header *h)
{
	return strncmp(h->params, "ingest:", 7) == 0 ? CONFINE_INGEST : CONFINE_QUERY;
}

/*
 * Set while a probe runs inside a query (test_abuse()): its answer then goes
 * to standard error, which the broker keeps in worker.log, and the job fails,
 * so tests/security/sandbox.sh reads there whether a call was refused or
 * came back.
 */
static int abuse_mode;

static int
reply(int fd, uint32_t type, const char *text)
{
	if (abuse_mode) {
		fprintf(stderr, "probe answered: %s\n", text);
		return sl_errf(SL_ERR_INTERNAL, "test probe answered %s", text);
	}
	return job_frame_write(fd, type, text, strlen(text));
}

/* A forbidden call came back: say so, so the broker sees "ok" and the test fails. */
static int
escaped(int fd, const char *what, long rc)
{
	char text[160];
	int e = errno;

	if (abuse_mode && rc == -1) {
		fprintf(stderr, "probe refused: %s: %s\n", what, strerror(e));
		return sl_errf(SL_ERR_INTERNAL, "test probe %s refused: %s", what, strerror(e));
	}
	if (abuse_mode)
		fprintf(stderr, "probe ESCAPED: %s returned %ld\n", what, rc);
	snprintf(text, sizeof(text), "{\"escaped\":\"%s\",\"rc\":%ld,\"errno\":%d}", what, rc, e);
	return reply(fd, JOB_FRAME_RESULT, text);
}

static int
t_ok(struct test_job *t, int fd)
{
	return reply(fd, JOB_FRAME_RESULT, "{\"ok\":true}");
}

static int
t_open(struct test_job *t, int fd)
{
	return escaped(fd, "open", open("/etc/hostname", O_RDONLY | O_CLOEXEC));
}

static int
t_write_file(struct test_job *t, int fd)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/probe",
	    t->h->store[0] != '\0' ? t->h->store : "/tmp/sluice-worker");
	return escaped(
	    fd, "write-file", open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
}

static int
t_stat(struct test_job *t, int fd)
{
	struct stat st;

	return escaped(fd, "stat", stat("/etc/passwd", &st));
}

static int
t_socket(struct test_job *t, int fd)
{
	return escaped(fd, "socket", socket(AF_INET, SOCK_STREAM, 0));
}

static int
t_connect_prepare(struct test_job *t)
{
	if ((t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return sl_errf(SL_ERR_IO, "test: socket: %s", strerror(errno));
	return 0;
}

static int
t_connect(struct test_job *t, int fd)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/nonexistent/sluice");
	return escaped(fd, "connect", connect(t->fd, (struct sockaddr *)&sun, sizeof(sun)));
}

static int
t_execve(struct test_job *t, int fd)
{
	char *const argv[] = {(char *)"true", NULL};
	char *const envp[] = {NULL};

	return escaped(fd, "execve", execve("/bin/true", argv, envp));
}

static int
t_fork(struct test_job *t, int fd)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	return escaped(fd, "fork", p);
}

static int
t_vfork(struct test_job *t, int fd)
{
	pid_t p = vfork();

	if (p == 0)
		_exit(0);
	return escaped(fd, "vfork", p);
}

static int
t_clone(struct test_job *t, int fd)
{
	long p = syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, NULL, NULL, 0UL);

	if (p == 0)
		_exit(0);
	return escaped(fd, "clone", p);
}

/* clone3 is answered ENOSYS (glibc then uses clone): a refusal, not an escape. */
static int
t_clone3_enosys(struct test_job *t, int fd)
{
	uint64_t args[8] = {0};
	long p;

	args[0] = CONFINE_THREAD_FLAGS;
	if ((p = syscall(SYS_clone3, args, sizeof(args))) == 0)
		_exit(0);
	if (p == -1 && errno == ENOSYS)
		return reply(fd, JOB_FRAME_RESULT, "{\"clone3\":\"ENOSYS\"}");
	return escaped(fd, "clone3", p);
}

/* ---- threads, after confinement ---- */

struct test_thread {
	void *(*fn)(void *);
	uint64_t sum;
};

static void *
th_work(void *arg)
{
	struct test_thread *w = arg;
	uint64_t i;
	void *p = malloc(1 << 20), *small[64], *big[32];

	/* Memory, a futex (the join) and time: what a scan thread needs. */
	for (i = 0; i < 1000000; i++)
		w->sum += i ^ (uint64_t)(uintptr_t)p;
	free(p);
	/*
	 * Small blocks and a large one given back: in an arena of the thread's
	 * own, the heap would shrink, and glibc would open
	 * /proc/sys/vm/overcommit_memory to ask whether it may.
	 */
	for (i = 0; i < 64; i++)
		small[i] = malloc(32 + i);
	for (i = 0; i < 64; i++)
		free(small[i]);
	for (i = 0; i < 32; i++)
		if ((big[i] = malloc(100000)) != NULL)
			memset(big[i], 1, 100000);
	for (i = 32; i > 0; i--)
		free(big[i - 1]);
	return NULL;
}

static void *
th_fork(void *arg)
{
	(void)arg;
	if (fork() == 0)
		_exit(0);
	return NULL;
}

static void *
th_open(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)open("/etc/hostname", O_RDONLY | O_CLOEXEC);
}

static void *
th_execve(void *arg)
{
	static char prog[] = "/bin/true";
	char *const argv[] = {prog, NULL};

	(void)arg;
	execve(prog, argv, NULL);
	return NULL;
}

/* A clone that asks for a thread and a new user namespace. */
static void *
th_clone_newuser(void *arg)
{
	(void)arg;
	return (void *)syscall(SYS_clone, (unsigned long)(CONFINE_THREAD_FLAGS | CLONE_NEWUSER), 0UL,
	    NULL, NULL, 0UL);
}

/* Run fn on 4 threads and join them; "ok" only if every one ran and came back. */
static int
threads_run(int fd, void *(*fn)(void *), const char *what)
{
	pthread_t th[4];
	struct test_thread w[4];
	char text[160];
	int i, rc, made = 0;

	for (i = 0; i < 4; i++) {
		w[i] = (struct test_thread){fn, 0};
		if ((rc = pthread_create(&th[i], NULL, fn, &w[i])) != 0)
			break;
		made++;
	}
	for (i = 0; i < made; i++)
		pthread_join(th[i], NULL);
	if (made < 4) {
		snprintf(text, sizeof text, "{\"threads\":%d,\"error\":\"%s\"}", made, strerror(rc));
		return reply(fd, JOB_FRAME_RESULT, text);
	}
	snprintf(text, sizeof text, "{\"threads\":4,\"%s\":\"returned\"}", what);
	return reply(fd, JOB_FRAME_RESULT, text);
}

static int
t_threads(struct test_job *t, int fd)
{
	return threads_run(fd, th_work, "work");
}

static int
t_thread_fork(struct test_job *t, int fd)
{
	return threads_run(fd, th_fork, "fork");
}

static int
t_thread_open(struct test_job *t, int fd)
{
	return threads_run(fd, th_open, "open");
}

static int
t_thread_execve(struct test_job *t, int fd)
{
	return threads_run(fd, th_execve, "execve");
}

static int
t_thread_clone_newuser(struct test_job *t, int fd)
{
	return threads_run(fd, th_clone_newuser, "clone");
}

static int
t_ptrace(struct test_job *t, int fd)
{
	return escaped(fd, "ptrace", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int
t_kill(struct test_job *t, int fd)
{
	/* Signal 0 to init: only asks whether it exists, should the filter fail. */
	return escaped(fd, "kill", kill(1, 0));
}

static int
t_tgkill_prepare(struct test_job *t)
{
	t->ppid = getppid();
	return 0;
}

static int
t_tgkill(struct test_job *t, int fd)
{
	/* SIGABRT is allowed to this process only; the broker (the test) must not get it. */
	return escaped(fd, "tgkill", syscall(SYS_tgkill, t->ppid, t->ppid, SIGABRT));
}

static int
t_mmap_exec(struct test_job *t, int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return escaped(fd, "mmap-exec", p == MAP_FAILED ? -1 : 0);
}

static int
t_mprotect_exec(struct test_job *t, int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return sl_errf(SL_ERR_IO, "test: mmap: %s", strerror(errno));
	return escaped(fd, "mprotect-exec", mprotect(p, 4096, PROT_READ | PROT_EXEC));
}

/* An advice the worker never gives: the filter allows madvise() only with those it does. */
static int
t_madvise_bad(struct test_job *t, int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return sl_errf(SL_ERR_IO, "test: mmap: %s", strerror(errno));
	return escaped(fd, "madvise-bad", madvise(p, 4096, MADV_DONTFORK));
}

/* The advice glibc's free() and the sanitizers give: must still work. */
static int
t_madvise_dontneed(struct test_job *t, int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return sl_errf(SL_ERR_IO, "test: mmap: %s", strerror(errno));
	if (madvise(p, 4096, MADV_DONTNEED) == -1)
		return sl_errf(SL_ERR_IO, "test: madvise: %s", strerror(errno));
	return reply(fd, JOB_FRAME_RESULT, "{\"madvise\":\"ok\"}");
}

/* Shared memory: nothing after confinement needs it (the store is mapped before). */
static int
t_mmap_shared(struct test_job *t, int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return escaped(fd, "mmap-shared", p == MAP_FAILED ? -1 : 0);
}

/* Back to root: forbidden by the filter, and refused by the kernel once the worker dropped it. */
static int
t_setuid_root(struct test_job *t, int fd)
{
	return escaped(fd, "setuid-root", syscall(SYS_setuid, 0));
}

static int
t_int80(struct test_job *t, int fd)
{
#if defined(__x86_64__)
	long rc;

	/* getpid (20) through the i386 entry point: another architecture to the filter. */
	__asm__ volatile("int $0x80"
	                 : "=a"(rc)
	                 : "a"(20L)
	                 : "rcx", "r8", "r9", "r10", "r11", "memory");
	return escaped(fd, "int80", rc);
#else
	return reply(fd, JOB_FRAME_RESULT, "{\"skipped\":\"not x86_64\"}");
#endif
}

static int
t_x32(struct test_job *t, int fd)
{
#if defined(__x86_64__)
	/* getpid with __X32_SYSCALL_BIT: the x32 ABI. */
	return escaped(fd, "x32", syscall(0x40000000L | SYS_getpid));
#else
	return reply(fd, JOB_FRAME_RESULT, "{\"skipped\":\"not x86_64\"}");
#endif
}

static int
t_loop(struct test_job *t, int fd)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
	return 0;
}

/* Allocate and touch memory until malloc fails; RLIMIT_AS must make it fail. */
static int
t_alloc(struct test_job *t, int fd)
{
	void *head = NULL, *p;
	size_t mib = 0;

	while ((p = malloc(TEST_ALLOC_STEP)) != NULL) {
		memset(p, 0xa5, TEST_ALLOC_STEP);
		*(void **)p = head;
		head = p;
		mib += TEST_ALLOC_STEP >> 20;
		if (mib >= ((size_t)1 << 20)) /* a TiB: there is no limit */
			return escaped(fd, "alloc", (long)mib);
	}
	while (head != NULL) {
		p = *(void **)head;
		free(head);
		head = p;
	}
	return sl_errf(SL_ERR_NOMEM, "test: out of memory after %zu MiB", mib);
}

static int
t_abort(struct test_job *t, int fd)
{
	abort();
}

/* A store to a PROT_NONE page: a plain SIGSEGV, not a null dereference UBSan would report. */
static int
t_segv(struct test_job *t, int fd)
{
	volatile int *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return sl_errf(SL_ERR_IO, "test: mmap: %s", strerror(errno));
	*p = 1;
	return escaped(fd, "segv", 0);
}

static int
t_garbage(struct test_job *t, int fd)
{
	static const char junk[] = "GARBAGE! this is not a frame";

	if (write(fd, junk, sizeof(junk) - 1) != (ssize_t)(sizeof(junk) - 1))
		return SL_ERR_IO;
	return 0;
}

static int
t_huge_frame(struct test_job *t, int fd)
{
	/* A RESULT frame claiming 4 GiB - 1 bytes, and none of them. */
	static const uint8_t head[JOB_FRAME_HEAD] = {
	    0, 0, 0, JOB_FRAME_RESULT, 0xff, 0xff, 0xff, 0xff};

	if (write(fd, head, sizeof(head)) != (ssize_t)sizeof(head))
		return SL_ERR_IO;
	return 0;
}

static int
t_status_prepare(struct test_job *t)
{
	if ((t->fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) == -1)
		return sl_errf(SL_ERR_IO, "test: /proc/self/status: %s", strerror(errno));
	return 0;
}

/*
 * The kernel's view of this process, confined: /proc/self/status (opened
 * before, read now: procfs writes it at read time) lines Seccomp,
 * NoNewPrivs, the ids and the capability sets, and the confinement report.
 * Opened as root, before the privilege drop, the file still reads after it
 * (the process is then no longer dumpable), and shows ids as root's
 * namespace sees them, not as the worker's user namespace does.  Then wait for END, so the broker
 * can look at /proc/<pid> while the worker still runs.
 */
static int
t_status(struct test_job *t, int fd)
{
	static const char *const keep[] = {"Seccomp:", "NoNewPrivs:", "Uid:", "Gid:", "Groups:",
	    "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
	char status[8192], text[1024], *line, *next;
	size_t i;
	size_t off = 0;
	ssize_t n;
	uint8_t *payload;
	uint32_t type;
	size_t len;
	int r;

	while ((n = read(t->fd, status + off, sizeof(status) - 1 - off)) > 0)
		off += (size_t)n;
	status[off] = '\0';
	off = (size_t)snprintf(text, sizeof(text),
	    "Landlock:\t%d\nMissing:\t%#x\nNetnsUserns:\t%d\nNetnsEarly:\t%d\n",
	    worker_confinement()->landlock_abi, worker_confinement()->missing,
	    worker_confinement()->netns_userns, worker_confinement()->netns_early);
	for (line = status; *line != '\0' && off < sizeof(text); line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (strncmp(line, keep[i], strlen(keep[i])) == 0 && off < sizeof(text))
				off +=
				    (size_t)snprintf(text + off, sizeof(text) - off, "%s\n", line);
	}
	if ((r = reply(fd, JOB_FRAME_RESULT, text)) != 0)
		return r;
	if ((r = job_frame_read(fd, &type, &payload, &len, JOB_FRAME_MAX)) != 0)
		return r;
	free(payload);
	return 0;
}

static int
lmdb_fail(int rc, const char *what)
{
	return sl_errf(
	    rc == ENOMEM ? SL_ERR_NOMEM : SL_ERR_IO, "test: %s: %s", what, mdb_strerror(rc));
}

/* Open the store as ingest does (write) or as a query does (read transaction). */
static int
lmdb_prepare(struct test_job *t, int writable)
{
	int rc;

	if ((rc = mdb_env_create(&t->env)) != 0)
		return lmdb_fail(rc, "mdb_env_create");
	if ((rc = mdb_env_set_mapsize(t->env, (size_t)t->h->map_bytes)) != 0 ||
	    (rc = mdb_env_open(t->env, t->h->store, writable ? 0 : MDB_RDONLY, 0600)) != 0 ||
	    (rc = mdb_txn_begin(t->env, NULL, writable ? 0 : MDB_RDONLY, &t->txn)) != 0 ||
	    (rc = mdb_dbi_open(t->txn, NULL, 0, &t->dbi)) != 0)
		return lmdb_fail(rc, t->h->store);
	return 0;
}

static int
t_lmdb_write_prepare(struct test_job *t)
{
	return lmdb_prepare(t, 1);
}

static int
t_lmdb_read_prepare(struct test_job *t)
{
	return lmdb_prepare(t, 0);
}

static void
lmdb_key(char kb[16], MDB_val *k, int i)
{
	snprintf(kb, 16, "%012d", i);
	k->mv_data = kb;
	k->mv_size = 12;
}

/* Confined: put, commit (write and sync the pages, then the meta page), close. */
static int
t_lmdb_write(struct test_job *t, int fd)
{
	static char value[TEST_LMDB_VALUE];
	char kb[16];
	MDB_val k, v;
	int i, rc;

	memset(value, 'v', sizeof(value));
	for (i = 0; i < TEST_LMDB_ROWS; i++) {
		lmdb_key(kb, &k, i);
		v.mv_data = value;
		v.mv_size = sizeof(value);
		if ((rc = mdb_put(t->txn, t->dbi, &k, &v, 0)) != 0)
			return lmdb_fail(rc, "mdb_put");
	}
	rc = mdb_txn_commit(t->txn);
	t->txn = NULL;
	if (rc != 0)
		return lmdb_fail(rc, "mdb_txn_commit");
	mdb_env_close(t->env);
	t->env = NULL;
	return reply(fd, JOB_FRAME_RESULT, "{\"lmdb\":\"written\"}");
}

/* Confined: read every record through the read transaction begun before, then close. */
static int
t_lmdb_read(struct test_job *t, int fd)
{
	char kb[16];
	MDB_val k, v;
	int i, rc;

	for (i = 0; i < TEST_LMDB_ROWS; i++) {
		lmdb_key(kb, &k, i);
		if ((rc = mdb_get(t->txn, t->dbi, &k, &v)) != 0)
			return lmdb_fail(rc, "mdb_get");
		if (v.mv_size != TEST_LMDB_VALUE || ((const char *)v.mv_data)[0] != 'v')
			return sl_errf(SL_ERR_PARSE, "test: record %d differs", i);
	}
	mdb_txn_abort(t->txn);
	t->txn = NULL;
	mdb_env_close(t->env);
	t->env = NULL;
	return reply(fd, JOB_FRAME_RESULT, "{\"lmdb\":\"read\"}");
}

/* Confined: seal and open with every AEAD (OpenSSL fetches its ciphers now, not before). */
static int
t_crypto(struct test_job *t, int fd)
{
	static const enum keys_aead algs[] = {
	    KEYS_AEAD_AES256GCM, KEYS_AEAD_XCHACHA20POLY1305, KEYS_AEAD_SM4CTR_HMACSM3};
	static const enum keys_suite suites[] = {KEYS_SUITE_INTL, KEYS_SUITE_INTL, KEYS_SUITE_GM};
	static const char pt[] = "a row of plaintext";
	uint8_t key[KEYS_AEAD_KEY_BYTES], sealed[sizeof(pt) + KEYS_AEAD_OVERHEAD_MAX];
	uint8_t opened[sizeof(sealed)];
	size_t i, slen, olen;
	int r;

	keys_random(key, sizeof(key));
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		slen = keys_aead_sealed_len(algs[i], sizeof(pt));
		if ((r = keys_aead_seal(algs[i], key, "aad", 3, pt, sizeof(pt), sealed)) != 0 ||
		    (r = keys_aead_open(suites[i], key, "aad", 3, sealed, slen, opened, &olen)) !=
		        0)
			return sl_errf(r, "test: AEAD %d: %s", (int)algs[i], sl_err_msg(r));
		if (olen != sizeof(pt) || memcmp(opened, pt, olen) != 0)
			return sl_errf(
			    SL_ERR_INTERNAL, "test: AEAD %d: round trip differs", (int)algs[i]);
	}
	keys_wipe(key, sizeof(key));
	return reply(fd, JOB_FRAME_RESULT, "{\"crypto\":\"ok\"}");
}

/* ---- what a compromised query worker tries (tests/security/sandbox.sh) ---- */

/*
 * Open the probe's file; a relative path is taken from the job's store,
 * DIR/stores/PRODUCT/VERSION, so "../../../sluice.db" is the catalog.
 */
static int
t_open_path(struct test_job *t, int fd)
{
	char path[4096];

	if (t->p->path[0] == '/')
		snprintf(path, sizeof(path), "%s", t->p->path);
	else
		snprintf(path, sizeof(path), "%s/%s", t->h->store, t->p->path);
	return escaped(fd, t->p->name, open(path, t->p->flags | O_CLOEXEC));
}

static int
t_kill_group(struct test_job *t, int fd)
{
	/* Every process of its group, the broker's too if it shared one. */
	return escaped(fd, "kill-group", kill(0, SIGKILL));
}

static int
t_kill_all(struct test_job *t, int fd)
{
	return escaped(fd, "kill-all", kill(-1, SIGKILL));
}

static int
t_capset(struct test_job *t, int fd)
{
	/* _LINUX_CAPABILITY_VERSION_3, this process, every capability. */
	uint32_t head[2] = {0x20080522, 0}, data[6] = {~0u, ~0u, ~0u, ~0u, ~0u, ~0u};

	return escaped(fd, "capset", syscall(SYS_capset, head, data));
}

static int
t_setresuid(struct test_job *t, int fd)
{
	return escaped(fd, "setresuid", syscall(SYS_setresuid, 0, 0, 0));
}

static int
t_keyctl(struct test_job *t, int fd)
{
	/* KEYCTL_GET_KEYRING_ID of the session keyring (-3): where a key could be parked. */
	return escaped(fd, "keyctl", syscall(SYS_keyctl, 0L, -3L, 0L));
}

static int
t_io_uring(struct test_job *t, int fd)
{
	uint8_t params[120] = {0}; /* struct io_uring_params */

	return escaped(fd, "io_uring_setup", syscall(SYS_io_uring_setup, 4L, params));
}

static int
t_userfaultfd(struct test_job *t, int fd)
{
	return escaped(fd, "userfaultfd", syscall(SYS_userfaultfd, (long)O_CLOEXEC));
}

static int
t_perf_event_open(struct test_job *t, int fd)
{
	uint32_t attr[32] = {0}; /* struct perf_event_attr: type 0 (hardware), size */

	attr[1] = sizeof(attr);
	return escaped(fd, "perf_event_open", syscall(SYS_perf_event_open, attr, 0L, -1L, -1L, 0L));
}

static int
t_bpf(struct test_job *t, int fd)
{
	uint8_t attr[128] = {0};

	/* BPF_MAP_CREATE with nothing in it. */
	return escaped(fd, "bpf", syscall(SYS_bpf, 0L, attr, (long)sizeof(attr)));
}

static int
t_unshare(struct test_job *t, int fd)
{
	return escaped(fd, "unshare", syscall(SYS_unshare, (long)(CLONE_NEWUSER | CLONE_NEWNET)));
}

static int
t_mount(struct test_job *t, int fd)
{
	return escaped(fd, "mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0L, NULL));
}

static int
t_memfd(struct test_job *t, int fd)
{
	/* The first step of running code from memory (fexecve of a memfd). */
	return escaped(fd, "memfd_create", syscall(SYS_memfd_create, "x", 0L));
}

static int
t_socketpair(struct test_job *t, int fd)
{
	int sv[2];

	return escaped(fd, "socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
}

static int
t_mmap_huge(struct test_job *t, int fd)
{
	/* A TiB of address space, not touched: RLIMIT_AS must refuse it. */
	void *p = mmap(NULL, (size_t)1 << 40, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return escaped(fd, "mmap-huge", p == MAP_FAILED ? -1 : 0);
}

static int
t_stderr_flood(struct test_job *t, int fd)
{
	static char line[4096];
	size_t i;

	memset(line, 'K', sizeof(line));
	memcpy(line, "LEAKED-ROW ", 11);
	line[sizeof(line) - 1] = '\n';
	for (i = 0; i < 16384; i++) /* 64 MiB */
		if (write(STDERR_FILENO, line, sizeof(line)) != (ssize_t)sizeof(line))
			break;
	return sl_errf(SL_ERR_INTERNAL, "test probe: flooded standard error");
}

static int
t_lie_frame(struct test_job *t, int fd)
{
	/* A RESULT frame of the right size whose contents are not a result. */
	static const char junk[] = "{\"rows\":[[\"every\",\"row\"]]}";
	int r = job_frame_write(fd, JOB_FRAME_RESULT, junk, sizeof(junk) - 1);

	if (abuse_mode && r == 0) /* it alone, as the job's final frame */
		_exit(0);
	return r;
}

static int
t_frame_unknown(struct test_job *t, int fd)
{
	return job_frame_write(fd, 77, "x", 1);
}

static const struct test_probe test_probes[] = {
    {"ok", NULL, t_ok},
    {"open", NULL, t_open},
    {"write-file", NULL, t_write_file},
    {"stat", NULL, t_stat},
    {"socket", NULL, t_socket},
    {"connect", t_connect_prepare, t_connect},
    {"execve", NULL, t_execve},
    {"fork", NULL, t_fork},
    {"vfork", NULL, t_vfork},
    {"clone", NULL, t_clone},
    {"clone3", NULL, t_clone3_enosys},
    {"threads", NULL, t_threads},
    {"thread-fork", NULL, t_thread_fork},
    {"thread-open", NULL, t_thread_open},
    {"thread-execve", NULL, t_thread_execve},
    {"thread-clone-newuser", NULL, t_thread_clone_newuser},
    {"ptrace", NULL, t_ptrace},
    {"kill", NULL, t_kill},
    {"tgkill", t_tgkill_prepare, t_tgkill},
    {"mmap-exec", NULL, t_mmap_exec},
    {"mprotect-exec", NULL, t_mprotect_exec},
    {"madvise-bad", NULL, t_madvise_bad},
    {"madvise-dontneed", NULL, t_madvise_dontneed},
    {"mmap-shared", NULL, t_mmap_shared},
    {"setuid-root", NULL, t_setuid_root},
    {"int80", NULL, t_int80},
    {"x32", NULL, t_x32},
    {"loop", NULL, t_loop},
    {"alloc", NULL, t_alloc},
    {"abort", NULL, t_abort},
    {"segv", NULL, t_segv},
    {"garbage", NULL, t_garbage},
    {"huge-frame", NULL, t_huge_frame},
    {"status", t_status_prepare, t_status},
    {"lmdb-write", t_lmdb_write_prepare, t_lmdb_write},
    {"lmdb-read", t_lmdb_read_prepare, t_lmdb_read},
    {"crypto", NULL, t_crypto},
    {"open-db", NULL, t_open_path, "../../../sluice.db", O_RDWR},
    {"open-master-key", NULL, t_open_path, "../../../master.key", O_RDONLY},
    {"open-tls-key", NULL, t_open_path, "../../../tls/server.key", O_RDONLY},
    {"open-other-store", NULL, t_open_path, "../../imaging/1/data.mdb", O_RDONLY},
    {"open-worker-log", NULL, t_open_path, "../../../worker.log", O_WRONLY | O_APPEND},
    {"open-own-store-write", NULL, t_open_path, "data.mdb", O_RDWR},
    {"open-shadow", NULL, t_open_path, "/etc/shadow", O_RDONLY},
    {"proc-self-maps", NULL, t_open_path, "/proc/self/maps", O_RDONLY},
    {"proc-1-environ", NULL, t_open_path, "/proc/1/environ", O_RDONLY},
    {"proc-self-mem", NULL, t_open_path, "/proc/self/mem", O_RDWR},
    {"kill-group", NULL, t_kill_group},
    {"kill-all", NULL, t_kill_all},
    {"capset", NULL, t_capset},
    {"setresuid", NULL, t_setresuid},
    {"keyctl", NULL, t_keyctl},
    {"io_uring", NULL, t_io_uring},
    {"userfaultfd", NULL, t_userfaultfd},
    {"perf_event_open", NULL, t_perf_event_open},
    {"bpf", NULL, t_bpf},
    {"unshare", NULL, t_unshare},
    {"mount", NULL, t_mount},
    {"memfd", NULL, t_memfd},
    {"socketpair", NULL, t_socketpair},
    {"mmap-huge", NULL, t_mmap_huge},
    {"stderr-flood", NULL, t_stderr_flood},
    {"lie-frame", NULL, t_lie_frame},
    {"frame-unknown", NULL, t_frame_unknown},
};

/*
 * The probes a query may run after its scan, by LIMIT: 9101 is the first,
 * and tests/security/sandbox.sh names them in this order.  Those with a
 * prepare step are left out (the query job has its own).
 */
static const char *const abuse_probes[] = {"open", "write-file", "stat", "open-db",
    "open-master-key", "open-tls-key", "open-other-store", "open-worker-log",
    "open-own-store-write", "open-shadow", "proc-self-maps", "proc-1-environ", "proc-self-mem",
    "socket", "socketpair", "execve", "memfd", "fork", "vfork", "clone", "clone3", "thread-fork",
    "thread-open", "thread-execve", "thread-clone-newuser", "ptrace", "kill", "kill-group",
    "kill-all", "setuid-root", "setresuid", "capset", "unshare", "mount", "keyctl", "io_uring",
    "userfaultfd", "perf_event_open", "bpf", "mmap-exec", "mprotect-exec", "mmap-shared",
    "madvise-bad", "int80", "x32", "mmap-huge", "alloc", "loop", "abort", "segv", "garbage",
    "huge-frame", "lie-frame", "frame-unknown", "stderr-flood"};

static int
test_abuse(const struct job_header *h, int fd, long limit)
{
	size_t k = (size_t)(limit - 9101), i;
	struct test_job t = {.h = h, .fd = -1};

	if (k >= sizeof(abuse_probes) / sizeof(abuse_probes[0]))
		return sl_errf(SL_ERR_INVAL, "test: no abuse probe for LIMIT %ld", limit);
	for (i = 0; i < sizeof(test_probes) / sizeof(test_probes[0]); i++)
		if (strcmp(test_probes[i].name, abuse_probes[k]) == 0) {
			t.p = &test_probes[i];
			abuse_mode = 1;
			return t.p->run(&t, fd);
		}
	return sl_errf(SL_ERR_INTERNAL, "test: abuse probe %s is not a probe", abuse_probes[k]);
}

static void
test_release(void *state)
{
	struct test_job *t = state;

	if (t == NULL)
		return;
	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	if (t->env != NULL)
		mdb_env_close(t->env);
	if (t->fd != -1)
		close(t->fd);
	free(t);
}

static int
test_prepare(const struct job_header *h, void **state)
{
	const char *word = test_word(h);
	struct test_job *t;
	size_t i;
	int r;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return SL_ERR_NOMEM;
	t->h = h;
	t->fd = -1;
	for (i = 0; i < sizeof(test_probes) / sizeof(test_probes[0]); i++)
		if (strcmp(test_probes[i].name, word) == 0)
			t->p = &test_probes[i];
	if (t->p == NULL) {
		test_release(t);
		return sl_errf(SL_ERR_INVAL, "test: unknown probe \"%.64s\"", word);
	}
	if (t->p->prepare != NULL && (r = t->p->prepare(t)) != 0) {
		test_release(t);
		return r;
	}
	*state = t;
	return 0;
}

static int
test_run(void *state, int fd)
{
	struct test_job *t = state;

	return t->p->run(t, fd);
}

static const struct worker_kind test_kinds[] = {
    /* Its profile is chosen by the probe: see test_profile(). */
    {JOB_KIND_TEST, "test", CONFINE_QUERY, 0, test_prepare, test_run, test_release, test_profile},
};

const struct worker_kind *
worker_test_kinds(size_t *n)
{
	query_result_tamper = test_tamper;
	*n = sizeof(test_kinds) / sizeof(test_kinds[0]);
	return test_kinds;
}
