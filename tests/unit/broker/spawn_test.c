/*
 * tests/unit/broker/spawn_test.c -- the worker sandbox seen from the broker:
 * spawn tests/sluice-worker-test (sandbox/worker.c with tests/worker/probes.c),
 * have it try, once confined, each thing the sandbox must stop, and check the
 * exact outcome broker/spawn.c reports.  Also: the worker refuses a bad
 * HEADER, the kernel shows Seccomp 2 and NoNewPrivs 1 in the confined
 * worker and, started by root, an unprivileged user with no group and no
 * capability in any set; LMDB writes/reads and every AEAD work inside the
 * allowlist, and no worker behaviour can stop or crash the broker.
 *
 * The worker binary: $SLUICE_TEST_WORKER, else $top_builddir/tests/sluice-worker-test.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/spawn.h"
#include "common/err.h"
#include "sandbox/confine.h"
#include "sandbox/job.h"

#define MIB ((uint64_t)1 << 20)
#define WALL_MS 20000 /* generous: a sanitizer build starts slowly */

static char worker[PATH_MAX];
static char worker_log[PATH_MAX]; /* the workers' standard error (spawn_log_set()) */

/* ---- helpers ------------------------------------------------------------- */

struct run {
	struct spawn_result res;
	uint32_t final;  /* RESULT, ERROR, or 0 */
	uint32_t code;   /* ERROR: its code (enum job_error) */
	char text[1024]; /* RESULT: its payload; ERROR: the code's words */
	int recv_err;    /* the spawn_recv() error that ended reading, or 0 */
};

static void
header_init(struct job_header *h, const char *params)
{
	memset(h, 0, sizeof(*h));
	h->version = JOB_PROTOCOL_VERSION;
	h->threads = 4;
	h->kind = JOB_KIND_TEST;
	h->suite = 1;
	h->cpu_seconds = 30;
	h->memory_bytes = 256 * MIB;
	h->store = (char *)"";
	h->product = (char *)"test-product";
	h->schema = (char *)"{}";
	h->params = (char *)params;
	memset(h->key, 0x5a, sizeof(h->key));
}

/* Read frames until the final one or an error, then reap. */
static void
finish(struct spawn *sp, struct run *out)
{
	uint8_t *p;
	uint32_t type;
	size_t len;
	int r;

	for (;;) {
		if ((r = spawn_recv(sp, &type, &p, &len)) != 0) {
			out->recv_err = r;
			break;
		}
		if (type == JOB_FRAME_RESULT) {
			out->final = type;
			snprintf(out->text, sizeof(out->text), "%s", (const char *)p);
			free(p);
			break;
		}
		if (type == JOB_FRAME_ERROR) {
			struct job_error_frame e;

			/* Codes and places only: a worker's words never come back in a frame. */
			assert_int_equal(job_error_decode(p, len, &e), 0);
			out->final = type;
			out->code = e.code;
			snprintf(out->text, sizeof(out->text), "%s", job_error_text(e.code));
			free(p);
			break;
		}
		free(p);
	}
	assert_int_equal(spawn_wait(sp, &out->res), 0);
}

/* Empty the workers' log, so expect_text() sees only the next worker's words. */
static void
log_reset(void)
{
	int fd = open(worker_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	close(fd);
}

static void
run_header(struct job_header *h, uint32_t wall_ms, struct run *out)
{
	struct spawn *sp = NULL;

	memset(out, 0, sizeof(*out));
	log_reset();
	if (spawn_job(worker, h, wall_ms, &sp) != 0)
		fail_msg("spawn_job: %s", sl_err_msg(SL_ERR_IO));
	finish(sp, out);
	spawn_free(sp);
}

static void
run_probe(const char *params, struct run *out)
{
	struct job_header h;

	header_init(&h, params);
	run_header(&h, WALL_MS, out);
}

static void
expect(const struct run *run, enum spawn_outcome want, int sig)
{
	if (run->res.outcome != want || (sig >= 0 && run->res.signal != sig))
		fail_msg(
		    "outcome \"%s\" (%s; signal %d; final frame: %s), wanted \"%s\" with signal %d",
		    spawn_outcome_name(run->res.outcome), run->res.detail, run->res.signal,
		    run->text, spawn_outcome_name(want), sig);
}

/* The needle in the final RESULT, or (an ERROR's detail) in what the worker logged. */
static void
expect_text(const struct run *run, const char *needle)
{
	char log[8192];
	ssize_t n = 0;
	int fd;

	if (strstr(run->text, needle) != NULL)
		return;
	if ((fd = open(worker_log, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, log, sizeof(log) - 1);
		close(fd);
	}
	log[n > 0 ? n : 0] = '\0';
	if (run->final == JOB_FRAME_ERROR && strstr(log, needle) != NULL)
		return;
	fail_msg("final frame \"%s\" (and the worker's log \"%s\") lack \"%s\"", run->text, log,
	    needle);
}

/* A fresh directory for a store; the caller removes it with rm_store(). */
static void
mk_store(char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/sluice-spawn-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static void
rm_store(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

/* ---- probes the sandbox must stop --------------------------------------- */

static const char *const forbidden[] = {
    "open",
    "write-file",
    "stat",
    "socket",
    "connect",
    "execve",
    "fork",
    "vfork",
    "clone",
    "ptrace",
    /* Threads may be made, but a thread is as confined as the job. */
    "thread-fork",
    "thread-open",
    "thread-execve",
    "thread-clone-newuser",
    "kill",
    "tgkill",
    "mmap-exec",
    "mprotect-exec",
    "madvise-bad",
    "mmap-shared",
    "setuid-root",
#if defined(__x86_64__)
    "int80",
    "x32",
#endif
};

static void
test_forbidden_query(void **state)
{
	struct run run;
	size_t i;

	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		print_message("probe %s\n", forbidden[i]);
		run_probe(forbidden[i], &run);
		expect(&run, SPAWN_SANDBOX_VIOLATION, SIGSYS);
		assert_int_equal(run.final, 0);
	}
}

/* The ingest profile allows more (pwrite, fdatasync, ...), but none of these. */
static void
test_forbidden_ingest(void **state)
{
	struct job_header h;
	char store[PATH_MAX], params[64], probe[PATH_MAX + 8];
	struct run run;
	size_t i;

	mk_store(store, sizeof(store));
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		print_message("probe ingest:%s\n", forbidden[i]);
		snprintf(params, sizeof(params), "ingest:%s", forbidden[i]);
		header_init(&h, params);
		h.store = store;
		h.map_bytes = 64 * MIB;
		run_header(&h, WALL_MS, &run);
		expect(&run, SPAWN_SANDBOX_VIOLATION, SIGSYS);
	}
	/* Landlock would allow a file beneath the store; seccomp still forbids opening it. */
	snprintf(probe, sizeof(probe), "%s/probe", store);
	assert_int_equal(access(probe, F_OK), -1);
	rm_store(store);
}

/* ---- limits -------------------------------------------------------------- */

static void
test_ok(void **state)
{
	struct run run;

	run_probe("ok", &run);
	expect(&run, SPAWN_OK, 0);
	assert_int_equal(run.final, JOB_FRAME_RESULT);
	assert_int_equal(run.res.exit_status, 0);

	/* Threads after confinement: four of them run and are joined. */
	run_probe("threads", &run);
	expect(&run, SPAWN_OK, 0);
	expect_text(&run, "\"threads\":4,\"work\":\"returned\"");
	/* clone3, whose flags a filter cannot see, is answered ENOSYS, not run. */
	run_probe("clone3", &run);
	expect(&run, SPAWN_OK, 0);
	expect_text(&run, "\"clone3\":\"ENOSYS\"");

	/* The one madvise() advice outside a sanitizer build passes the filter. */
	run_probe("madvise-dontneed", &run);
	expect(&run, SPAWN_OK, 0);
	expect_text(&run, "\"madvise\":\"ok\"");
}

static void
test_wall_clock(void **state)
{
	struct job_header h;
	struct run run;

	header_init(&h, "loop");
	run_header(&h, 1000, &run);
	expect(&run, SPAWN_TIME_LIMIT, SIGKILL);
	assert_int_equal(run.recv_err, SL_ERR_LIMIT);
	assert_non_null(strstr(run.res.detail, "wall-clock"));
}

static void
test_cpu_limit(void **state)
{
	struct job_header h;
	struct run run;

	header_init(&h, "loop");
	h.cpu_seconds = 1;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_TIME_LIMIT, SIGXCPU);
	assert_non_null(strstr(run.res.detail, "CPU limit"));
	/*
	 * The kernel sends SIGXCPU on its precise runtime; rusage's utime+stime
	 * are tick-sampled and, on a loaded VM, came out below 900 ms once.
	 */
	if (run.res.cpu_ms < 500)
		fail_msg("SIGXCPU after only %llu ms of CPU", (unsigned long long)run.res.cpu_ms);
}

/* malloc fails under RLIMIT_AS; the worker answers ERROR and exits 3. */
static void
test_memory_limit(void **state)
{
	struct job_header h;
	struct run run;

	header_init(&h, "alloc");
	h.memory_bytes = 64 * MIB;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_MEMORY_LIMIT, 0);
	assert_int_equal(run.final, JOB_FRAME_ERROR);
	expect_text(&run, "out of memory after");
	assert_int_equal(run.res.exit_status, JOB_EXIT_NOMEM);
}

static void
test_abort(void **state)
{
	struct run run;

	run_probe("abort", &run);
	expect(&run, SPAWN_CRASHED, SIGABRT);
	assert_non_null(strstr(run.res.detail, "SIGABRT"));
}

static void
test_segv(void **state)
{
	struct run run;

	run_probe("segv", &run);
	expect(&run, SPAWN_CRASHED, SIGSEGV);
}

/* ---- protocol ------------------------------------------------------------ */

static void
test_garbage(void **state)
{
	struct run run;

	run_probe("garbage", &run);
	assert_int_equal(run.recv_err, SL_ERR_PARSE);
	expect(&run, SPAWN_PROTOCOL_ERROR, -1);
	assert_non_null(strstr(run.res.detail, "unknown frame type"));
}

static void
test_huge_frame(void **state)
{
	struct run run;

	run_probe("huge-frame", &run);
	assert_int_equal(run.recv_err, SL_ERR_PARSE);
	expect(&run, SPAWN_PROTOCOL_ERROR, -1);
	assert_non_null(strstr(run.res.detail, "4294967295 bytes"));
}

/* Send a raw first frame and expect the worker's ERROR. */
static void
run_raw(uint32_t type, const uint8_t *p, size_t len, struct run *out)
{
	struct spawn *sp = NULL;

	memset(out, 0, sizeof(*out));
	log_reset();
	assert_int_equal(spawn_start(worker, WALL_MS, &sp), 0);
	assert_int_equal(spawn_send(sp, type, p, len), 0);
	finish(sp, out);
	spawn_free(sp);
}

static void
test_header_bad_version(void **state)
{
	struct job_header h;
	struct run run;

	header_init(&h, "ok");
	h.version = 9;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_FAILED, 0);
	assert_int_equal(run.final, JOB_FRAME_ERROR);
	{
		char want[64];

		snprintf(want, sizeof want, "protocol version 9, expected %d", JOB_PROTOCOL_VERSION);
		expect_text(&run, want);
	}
	assert_int_equal(run.res.exit_status, JOB_EXIT_FAILED);
}

static void
test_header_trailing_bytes(void **state)
{
	struct job_header h;
	uint8_t *p, *q;
	size_t len;
	struct run run;

	header_init(&h, "ok");
	assert_int_equal(job_header_encode(&h, &p, &len), 0);
	assert_non_null(q = malloc(len + 1));
	memcpy(q, p, len);
	q[len] = 0x00;
	job_wipe_free(p, len);
	run_raw(JOB_FRAME_HEADER, q, len + 1, &run);
	job_wipe_free(q, len + 1);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "job header: malformed");
}

static void
test_header_short(void **state)
{
	static const uint8_t p[6] = {0, 0, 0, JOB_PROTOCOL_VERSION, 0, 0};
	struct run run;

	run_raw(JOB_FRAME_HEADER, p, sizeof(p), &run);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "job header: malformed");
}

static void
test_header_not_first(void **state)
{
	struct spawn *sp = NULL;
	struct job_error_frame e;
	uint8_t *p = NULL;
	uint32_t type;
	size_t len;
	pid_t pid;
	int sv[2], st;

	/* The broker's permit table refuses to send anything before the HEADER... */
	assert_int_equal(spawn_start(worker, WALL_MS, &sp), 0);
	assert_int_equal(spawn_send(sp, JOB_FRAME_DATA, "x", 1), SL_ERR_INVAL);
	spawn_free(sp);

	/* ...and a worker given one anyway, by hand, answers ERROR with the protocol code. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		char *argv[] = {(char *)"sluice-worker", NULL}, *envp[] = {NULL};

		if (dup2(sv[1], JOB_FD) == -1)
			_exit(127);
		execve(worker, argv, envp);
		_exit(127);
	}
	close(sv[1]);
	assert_int_equal(job_frame_write(sv[0], JOB_FRAME_DATA, "x", 1), 0);
	assert_int_equal(job_frame_read(sv[0], &type, &p, &len, JOB_FRAME_MAX), 0);
	assert_int_equal(type, JOB_FRAME_ERROR);
	assert_int_equal(job_error_decode(p, len, &e), 0);
	assert_int_equal(e.code, JOB_ERR_PROTOCOL);
	free(p);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == JOB_EXIT_FAILED);
}

static void
test_header_checks(void **state)
{
	struct job_header h;
	char store[PATH_MAX];
	struct run run;

	header_init(&h, "ok");
	h.kind = 77;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "unknown job kind 77");

	header_init(&h, "ok");
	h.cpu_seconds = 0;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "without a CPU limit");

	header_init(&h, "ok");
	h.memory_bytes = 4096;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "memory limit of 4096 bytes");

	header_init(&h, "no-such-probe");
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "unknown probe");

	/* A query or ingest needs an absolute store path... */
	header_init(&h, "{}");
	h.kind = JOB_KIND_QUERY;
	h.store = (char *)"relative/store";
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "absolute store path");

	/* ...and a query job whose header holds no valid schema fails before reading input. */
	mk_store(store, sizeof(store));
	h.store = store;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "name: required");
	rm_store(store);
}

/* ---- what the kernel sees ------------------------------------------------ */

/* The value after "Name:" in a /proc status or limits text; -1 if absent. */
static long
proc_field(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p != NULL ? strtol(p + strlen(name), NULL, 10) : -1;
}

/* The capability set after "Name:" (hexadecimal); ~0 if absent. */
static unsigned long long
proc_caps(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p != NULL ? strtoull(p + strlen(name), NULL, 16) : ~0ULL;
}

/* The real, effective, saved and file-system ids after "Uid:" or "Gid:" are all want. */
static void
expect_ids(const char *text, const char *name, unsigned long want)
{
	const char *p = strstr(text, name);
	char *end;
	int i;

	if (p == NULL)
		fail_msg("no \"%s\" line in \"%s\"", name, text);
	p += strlen(name);
	for (i = 0; i < 4; i++, p = end) {
		unsigned long id = strtoul(p, &end, 10);

		if (end == p || id != want)
			fail_msg("%s id %d is not %lu: \"%s\"", name, i, want, text);
	}
}

/*
 * The user the broker should have chosen, looked up here independently:
 * $SLUICE_WORKER_USER, else sluice-worker (made by make install), else nobody.
 */
static void
worker_ids(uid_t *uid, gid_t *gid)
{
	const char *name = getenv("SLUICE_WORKER_USER");
	struct passwd *pw;

	if (name != NULL && *name != '\0')
		pw = getpwnam(name);
	else if ((pw = getpwnam("sluice-worker")) == NULL)
		pw = getpwnam("nobody");
	assert_non_null(pw);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
}

/* Started by root: the worker runs as the unprivileged user, with no group and no capability. */
static void
expect_unprivileged(const char *text)
{
	const char *groups;
	uid_t uid;
	gid_t gid;

	worker_ids(&uid, &gid);
	assert_int_not_equal(uid, 0);
	expect_ids(text, "Uid:", (unsigned long)uid);
	expect_ids(text, "Gid:", (unsigned long)gid);
	assert_non_null(groups = strstr(text, "Groups:"));
	groups += strlen("Groups:");
	groups += strspn(groups, " \t");
	if (*groups != '\n')
		fail_msg("supplementary groups left: \"%s\"", text);
	assert_int_equal(proc_caps(text, "CapInh:"), 0);
	assert_int_equal(proc_caps(text, "CapPrm:"), 0);
	assert_int_equal(proc_caps(text, "CapEff:"), 0);
	assert_int_equal(proc_caps(text, "CapBnd:"), 0);
	assert_int_equal(proc_caps(text, "CapAmb:"), 0);
	/*
	 * Started as root, the worker entered its network namespace before the
	 * job, as root, with no user namespace; a worker not started as root
	 * needs one (CLONE_NEWNET alone is refused).
	 */
	if ((proc_field(text, "Missing:") & 1) == 0) {
		assert_int_equal(proc_field(text, "NetnsEarly:"), 1);
		assert_int_equal(proc_field(text, "NetnsUserns:"), 0);
	}
}

static size_t
read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	size_t off = 0;
	int fd;

	assert_true((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	while (off < len - 1 && (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += (size_t)n;
	buf[off] = '\0';
	close(fd);
	return off;
}

static void
test_status(void **state)
{
	struct job_header h;
	struct spawn *sp = NULL;
	char path[64], mine[PATH_MAX], theirs[PATH_MAX], text[8192];
	struct dirent *de;
	uint8_t *p;
	uint32_t type;
	size_t len, n;
	ssize_t k;
	long abi;
	DIR *d;
	struct run run;

	header_init(&h, "status");
	h.cpu_seconds = 7;
	assert_int_equal(spawn_job(worker, &h, WALL_MS, &sp), 0);
	assert_int_equal(spawn_recv(sp, &type, &p, &len), 0);
	assert_int_equal(type, JOB_FRAME_RESULT);
	print_message("%s", (const char *)p);

	/* The kernel's word, read by the worker after confinement. */
	assert_int_equal(proc_field((const char *)p, "Seccomp:"), 2);
	assert_int_equal(proc_field((const char *)p, "NoNewPrivs:"), 1);
	if (geteuid() == 0)
		expect_unprivileged((const char *)p);
	abi =
	    syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */);
	assert_int_equal(proc_field((const char *)p, "Landlock:"), abi > 0 ? abi : 0);
	if (proc_field((const char *)p, "Missing:") != 0)
		print_message("note: confinement incomplete: %s", (const char *)p);

	/* While it waits for END: its namespace, limits, environment and descriptors. */
	if ((proc_field((const char *)p, "Missing:") & 1) == 0) {
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", (long)spawn_pid(sp));
		assert_true((k = readlink(path, theirs, sizeof(theirs) - 1)) > 0);
		theirs[k] = '\0';
		assert_true((k = readlink("/proc/self/ns/net", mine, sizeof(mine) - 1)) > 0);
		mine[k] = '\0';
		assert_string_not_equal(mine, theirs);
	}
	free(p);
	snprintf(path, sizeof(path), "/proc/%ld/limits", (long)spawn_pid(sp));
	read_text(path, text, sizeof(text));
	/* RLIMIT_CPU counts every thread: 7 s for each of the header's 4. */
	assert_int_equal(proc_field(text, "Max cpu time"), 7 * 4);
	assert_int_equal(proc_field(text, "Max processes"), CONFINE_USER_TASKS);
	assert_int_equal(proc_field(text, "Max core file size"), 0);
	assert_int_equal(proc_field(text, "Max open files"), 16);
	assert_int_equal(proc_field(text, "Max file size"), 0);
	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)spawn_pid(sp));
	assert_int_equal(read_text(path, text, sizeof(text)), 0);
	/* 0, 1, 2, JOB_FD, and the probe's /proc/self/status: nothing of the broker's. */
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)spawn_pid(sp));
	assert_non_null(d = opendir(path));
	n = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(strtol(de->d_name, NULL, 10) <= JOB_FD + 1);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 5);

	assert_int_equal(spawn_send(sp, JOB_FRAME_END, NULL, 0), 0);
	memset(&run, 0, sizeof(run));
	run.final = JOB_FRAME_RESULT;
	assert_int_equal(spawn_wait(sp, &run.res), 0);
	expect(&run, SPAWN_OK, 0);
	spawn_free(sp);
}

/* The status probe's report, for a worker the broker starts now. */
static void
status_text(char *text, size_t len)
{
	struct job_header h;
	struct spawn *sp = NULL;
	struct run run;
	uint8_t *p;
	uint32_t type;
	size_t n;

	header_init(&h, "status");
	assert_int_equal(spawn_job(worker, &h, WALL_MS, &sp), 0);
	assert_int_equal(spawn_recv(sp, &type, &p, &n), 0);
	assert_int_equal(type, JOB_FRAME_RESULT);
	snprintf(text, len, "%s", (const char *)p);
	free(p);
	assert_int_equal(spawn_send(sp, JOB_FRAME_END, NULL, 0), 0);
	memset(&run, 0, sizeof(run));
	assert_int_equal(spawn_wait(sp, &run.res), 0);
	expect(&run, SPAWN_OK, 0);
	spawn_free(sp);
}

/*
 * The broker chooses the worker's user ($SLUICE_WORKER_USER, else
 * sluice-worker, else nobody) and never root; the worker refuses a header
 * that names root, whoever sent it.
 */
static void
test_worker_user(void **state)
{
	struct job_header h;
	struct spawn *sp = NULL;
	struct passwd *pw;
	char text[1024];
	uint32_t uid, gid;
	uint8_t *p;
	size_t len;
	struct run run;

	if (geteuid() != 0) {
		/* Not root: the broker cannot change users, so the worker keeps ours. */
		assert_int_equal(spawn_worker_user(&uid, &gid), 0);
		assert_int_equal(uid, getuid());
		assert_int_equal(gid, getgid());
		skip();
	}
	assert_non_null(pw = getpwnam("daemon"));
	assert_int_equal(setenv("SLUICE_WORKER_USER", "daemon", 1), 0);
	assert_int_equal(spawn_worker_user(&uid, &gid), 0);
	assert_int_equal(uid, pw->pw_uid);
	assert_int_equal(gid, pw->pw_gid);
	status_text(text, sizeof(text));
	expect_unprivileged(text);

	assert_int_equal(setenv("SLUICE_WORKER_USER", "root", 1), 0);
	assert_int_equal(spawn_worker_user(&uid, &gid), SL_ERR_INVAL);
	assert_non_null(strstr(sl_err_msg(SL_ERR_INVAL), "never runs as root"));
	header_init(&h, "ok");
	assert_int_equal(spawn_job(worker, &h, WALL_MS, &sp), SL_ERR_INVAL);
	assert_null(sp);

	assert_int_equal(setenv("SLUICE_WORKER_USER", "no-such-user-sluice", 1), 0);
	assert_int_equal(spawn_worker_user(&uid, &gid), SL_ERR_INVAL);
	assert_non_null(strstr(sl_err_msg(SL_ERR_INVAL), "no such user"));
	/* Looked up as the worker starts: that worker is ended and reaped, none is returned. */
	assert_int_equal(spawn_start(worker, WALL_MS, &sp), SL_ERR_INVAL);
	assert_null(sp);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(unsetenv("SLUICE_WORKER_USER"), 0);

	/* A header naming root, sent around spawn_send_header(): refused before the job runs. */
	header_init(&h, "ok");
	h.uid = 0;
	h.gid = 0;
	assert_int_equal(job_header_encode(&h, &p, &len), 0);
	run_raw(JOB_FRAME_HEADER, p, len, &run);
	job_wipe_free(p, len);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "refusing to run a job as uid 0");
	h.uid = 65534; /* a user id alone is not enough: gid 0 is root's group */
	assert_int_equal(job_header_encode(&h, &p, &len), 0);
	run_raw(JOB_FRAME_HEADER, p, len, &run);
	job_wipe_free(p, len);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "refusing to run a job as uid 65534 gid 0");
}

/* ---- what a job needs, confined ------------------------------------------ */

/* LMDB as ingest uses it (write, commit) and as a query does (read), inside the allowlist. */
static void
test_lmdb(void **state)
{
	struct job_header h;
	char store[PATH_MAX];
	struct run run;

	mk_store(store, sizeof(store));
	header_init(&h, "ingest:lmdb-write");
	h.store = store;
	h.map_bytes = 64 * MIB;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_OK, 0);
	expect_text(&run, "written");

	header_init(&h, "lmdb-read");
	h.store = store;
	h.map_bytes = 64 * MIB;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_OK, 0);
	expect_text(&run, "read");
	rm_store(store);
}

static void
test_crypto(void **state)
{
	struct job_header h;
	struct run run;

	run_probe("crypto", &run);
	expect(&run, SPAWN_OK, 0);
	expect_text(&run, "\"crypto\":\"ok\"");

	header_init(&h, "ingest:crypto");
	h.map_bytes = 64 * MIB;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_OK, 0);

	/* The ingest profile bounds file sizes by the map size: none, no confinement. */
	h.map_bytes = 0;
	run_header(&h, WALL_MS, &run);
	expect(&run, SPAWN_FAILED, 0);
	expect_text(&run, "needs a file size limit");
}

/* ---- the broker survives ------------------------------------------------- */

/* A worker that never reads: the broker's send must give up at the deadline, not hang. */
static void
test_send_deadline(void **state)
{
	static uint8_t chunk[1 << 20];
	struct job_header h;
	struct spawn *sp = NULL;
	struct run run;
	int i, r = 0;

	header_init(&h, "loop");
	assert_int_equal(spawn_job(worker, &h, 1000, &sp), 0);
	for (i = 0; i < 64 && r == 0; i++)
		r = spawn_send(sp, JOB_FRAME_DATA, chunk, sizeof(chunk));
	assert_int_equal(r, SL_ERR_LIMIT);
	memset(&run, 0, sizeof(run));
	assert_int_equal(spawn_wait(sp, &run.res), 0);
	expect(&run, SPAWN_TIME_LIMIT, SIGKILL);
	spawn_free(sp);
}

/* A worker that dies while the broker writes: EPIPE, no SIGPIPE. */
static void
test_send_to_dead(void **state)
{
	static uint8_t chunk[1 << 20];
	struct job_header h;
	struct spawn *sp = NULL;
	struct run run;
	int i, r = 0;

	header_init(&h, "socket");
	assert_int_equal(spawn_job(worker, &h, WALL_MS, &sp), 0);
	for (i = 0; i < 64 && r == 0; i++)
		r = spawn_send(sp, JOB_FRAME_DATA, chunk, sizeof(chunk));
	assert_int_equal(r, SL_ERR_IO);
	memset(&run, 0, sizeof(run));
	assert_int_equal(spawn_wait(sp, &run.res), 0);
	expect(&run, SPAWN_SANDBOX_VIOLATION, SIGSYS);
	/* Waiting again gives the same answer. */
	assert_int_equal(spawn_wait(sp, &run.res), 0);
	expect(&run, SPAWN_SANDBOX_VIOLATION, SIGSYS);
	spawn_free(sp);
}

/*
 * The worker refuses the job and exits while the broker still streams (as
 * ingest does on the first bad row): the send fails, but the refusal, sent
 * before, is still read.
 */
static void
test_error_while_streaming(void **state)
{
	static uint8_t chunk[1 << 20];
	struct job_header h;
	struct spawn *sp = NULL;
	struct run run;
	int i, r = 0;

	header_init(&h, "no-such-probe");
	assert_int_equal(spawn_job(worker, &h, WALL_MS, &sp), 0);
	for (i = 0; i < 64 && r == 0; i++)
		r = spawn_send(sp, JOB_FRAME_DATA, chunk, sizeof(chunk));
	assert_int_equal(r, SL_ERR_IO);
	memset(&run, 0, sizeof(run));
	finish(sp, &run);
	spawn_free(sp);
	expect(&run, SPAWN_FAILED, 0);
	assert_int_equal(run.final, JOB_FRAME_ERROR);
	expect_text(&run, "unknown probe");
}

static void
test_spawn_errors(void **state)
{
	struct job_header h;
	struct spawn *sp = NULL;
	uint8_t *p;
	uint32_t type;
	size_t len;

	assert_int_equal(spawn_start("/nonexistent/sluice-worker", WALL_MS, &sp), SL_ERR_IO);
	assert_non_null(strstr(sl_err_msg(SL_ERR_IO), "No such file"));
	assert_null(sp);
	assert_int_equal(spawn_start(worker, 0, &sp), SL_ERR_INVAL);

	header_init(&h, "ok");
	assert_int_equal(spawn_job(worker, &h, WALL_MS, &sp), 0);
	assert_int_equal(spawn_send(sp, JOB_FRAME_RESULT, "x", 1), SL_ERR_INVAL);
	assert_int_equal(spawn_recv(sp, &type, &p, &len), 0);
	free(p);
	/* After the final frame the worker has nothing more to say. */
	assert_int_equal(spawn_recv(sp, &type, &p, &len), SL_ERR_IO);
	spawn_free(sp); /* without spawn_wait(): reaps anyway */
}

static void
test_worker_path(void **state)
{
	char *p = NULL, exe[PATH_MAX], *slash;
	ssize_t n;

	assert_int_equal(setenv("SLUICE_WORKER", "/opt/sluice/libexec/sluice-worker", 1), 0);
	assert_int_equal(spawn_worker_path(&p), 0);
	assert_string_equal(p, "/opt/sluice/libexec/sluice-worker");
	free(p);
	assert_int_equal(setenv("SLUICE_WORKER", "sluice-worker", 1), 0);
	assert_int_equal(spawn_worker_path(&p), SL_ERR_INVAL);
	assert_int_equal(unsetenv("SLUICE_WORKER"), 0);
	assert_int_equal(spawn_worker_path(&p), 0);
	assert_true((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0);
	exe[n] = '\0';
	assert_non_null(slash = strrchr(exe, '/'));
	slash[1] = '\0';
	/* Next to the program when it is there (the build tree), else the installed one. */
	if (access(strcat(exe, "sluice-worker"), X_OK) == 0)
		assert_string_equal(p, exe);
	else
		assert_string_equal(p, SLUICE_PKGLIBEXECDIR "/sluice-worker");
	free(p);
}

static int
setup(void **state)
{
	const char *env = getenv("SLUICE_TEST_WORKER"), *top = getenv("top_builddir");

	if (env != NULL && *env != '\0')
		snprintf(worker, sizeof(worker), "%s", env);
	else
		snprintf(worker, sizeof(worker), "%s/tests/sluice-worker-test",
		    top != NULL && *top != '\0' ? top : ".");
	if (access(worker, X_OK) != 0) {
		fprintf(stderr, "spawn_test: %s: %s (set SLUICE_TEST_WORKER)\n", worker,
		    strerror(errno));
		return -1;
	}
	env = getenv("TMPDIR");
	snprintf(worker_log, sizeof(worker_log), "%s/sluice-spawn-test-%ld.log",
	    env != NULL && *env != '\0' ? env : "/tmp", (long)getpid());
	spawn_log_set(worker_log);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ok),
	    cmocka_unit_test(test_forbidden_query),
	    cmocka_unit_test(test_forbidden_ingest),
	    cmocka_unit_test(test_wall_clock),
	    cmocka_unit_test(test_cpu_limit),
	    cmocka_unit_test(test_memory_limit),
	    cmocka_unit_test(test_abort),
	    cmocka_unit_test(test_segv),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_huge_frame),
	    cmocka_unit_test(test_header_bad_version),
	    cmocka_unit_test(test_header_trailing_bytes),
	    cmocka_unit_test(test_header_short),
	    cmocka_unit_test(test_header_not_first),
	    cmocka_unit_test(test_header_checks),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_worker_user),
	    cmocka_unit_test(test_lmdb),
	    cmocka_unit_test(test_crypto),
	    cmocka_unit_test(test_send_deadline),
	    cmocka_unit_test(test_send_to_dead),
	    cmocka_unit_test(test_error_while_streaming),
	    cmocka_unit_test(test_spawn_errors),
	    cmocka_unit_test(test_worker_path),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
