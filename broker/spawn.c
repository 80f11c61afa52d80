/*
 * broker/spawn.c -- one sluice-worker per job: fork+exec, frames over the
 * socketpair with a wall-clock deadline, and the classification of how the
 * worker ended (broker/spawn.h).
 *
 * Trusts: the worker path and the job header it is given.  Untrusted: every
 * byte the worker sends, on the socket or on its standard error; lengths are
 * checked before they size anything, and nothing the worker does can make
 * the broker abort, block past the deadline, or take SIGPIPE.  Holds: the
 * encoded job header (with the data key) only while sending it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/spawn.h"
#include "common/err.h"
#include "common/text.h"

/* Received bytes kept while the caller is not reading: one largest frame. */
#define IN_MAX ((size_t)JOB_FRAME_HEAD + JOB_FRAME_MAX)
#define READ_STEP ((size_t)64 << 10)
/* Without pidfd_open(), how often spawn_wait() polls for the worker's exit. */
#define REAP_POLL_MS 10

enum spawn_kill { KILL_NONE, KILL_DEADLINE, KILL_PROTOCOL };

struct spawn {
	pid_t pid;
	int fd;            /* our end of the socketpair, O_NONBLOCK */
	int errfd;         /* read end of the worker's standard error, O_NONBLOCK; -1 at EOF */
	int pidfd;         /* -1 when the kernel has no pidfd_open() */
	uint64_t deadline; /* CLOCK_MONOTONIC milliseconds */
	uint32_t wall_ms;
	uint32_t cpu_seconds; /* from the header; 0 when unknown */
	uint32_t uid, gid;    /* spawn_worker_user()'s answer when the worker was started */

	/* Bytes received and not yet returned as frames. */
	uint8_t *in;
	size_t inlen, incap;
	uint64_t dropped_in; /* bytes read and thrown away by spawn_wait() */
	int in_eof;
	uint32_t final;    /* JOB_FRAME_RESULT or JOB_FRAME_ERROR once returned, else 0 */
	uint32_t kind;     /* from the HEADER sent: which permit rows apply */
	enum job_state st; /* where the conversation is (job_permit()) */

	enum spawn_kill killed;
	char why[160]; /* the protocol error */

	int reaped;
	int status;
	struct rusage ru;
	struct spawn_result res;

	/* The relay of the worker's standard error. */
	char line[512];
	size_t linelen;
	size_t relayed;
	int relay_cut;
};

/* ---- small helpers ------------------------------------------------------- */

static uint64_t
now_ms(void)
{
	return (uint64_t)(sl_monotonic() * 1000);
}

/* Milliseconds to the deadline, as a poll() timeout; 0 once it has passed. */
static int
remaining_ms(const struct spawn *sp)
{
	uint64_t now = now_ms();

	if (now >= sp->deadline)
		return 0;
	return sp->deadline - now > INT_MAX ? INT_MAX : (int)(sp->deadline - now);
}

/* "SIGSYS", or "signal 42" for one without a name; in buf. */
static const char *
signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev != NULL)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

/* ---- the worker's standard error ----------------------------------------- */

/* Where workers' diagnostics go (spawn_log_set()): NULL, dropped; opened at the first line. */
static char *spawn_log_path;
static int spawn_log_fd = -1;

void
spawn_log_set(const char *path)
{
	if (spawn_log_fd != -1)
		close(spawn_log_fd);
	spawn_log_fd = -1;
	free(spawn_log_path);
	spawn_log_path = path != NULL ? strdup(path) : NULL;
}

static int
log_fd(void)
{
	if (spawn_log_fd == -1 && spawn_log_path != NULL)
		spawn_log_fd = open(
		    spawn_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	return spawn_log_fd;
}

/*
 * One line of the worker's standard error into the broker's worker log,
 * prefixed with its pid, control characters replaced: the text is the
 * worker's, and a compromised worker must not forge log lines or drive a
 * terminal.  Never onto the caller's standard error: a compromised worker
 * could write rows or its key there.  At most SPAWN_STDERR_MAX bytes per
 * worker; past that, one note and silence.
 */
static void
relay_line(struct spawn *sp)
{
	char out[sizeof(sp->line) + 48];
	size_t i;
	int n;

	if (sp->linelen == 0)
		return;
	if (sp->relayed + sp->linelen > SPAWN_STDERR_MAX) {
		if (!sp->relay_cut) {
			n = snprintf(out, sizeof(out),
			    "sluice-worker[%ld]: (further output dropped)\n", (long)sp->pid);
			if (log_fd() != -1)
				(void)!write(spawn_log_fd, out, (size_t)n);
			sp->relay_cut = 1;
		}
		sp->linelen = 0;
		return;
	}
	sp->relayed += sp->linelen;
	for (i = 0; i < sp->linelen; i++) {
		unsigned char c = (unsigned char)sp->line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			sp->line[i] = '?';
	}
	n = snprintf(out, sizeof(out), "sluice-worker[%ld]: %.*s\n", (long)sp->pid,
	    (int)sp->linelen, sp->line);
	if (n > 0 && log_fd() != -1)
		(void)!write(
		    spawn_log_fd, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
	sp->linelen = 0;
}

/* Read what the worker wrote to its standard error, without blocking. */
static void
relay_stderr(struct spawn *sp)
{
	char buf[4096];
	ssize_t n, i;

	while (sp->errfd != -1) {
		n = read(sp->errfd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			relay_line(sp);
			close(sp->errfd);
			sp->errfd = -1;
			return;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				relay_line(sp);
				continue;
			}
			sp->line[sp->linelen++] = buf[i];
			if (sp->linelen == sizeof(sp->line))
				relay_line(sp);
		}
	}
}

/* ---- killing and reaping ------------------------------------------------- */

/* SIGKILL the worker, remembering the first reason.  Safe until it is reaped. */
static void
kill_worker(struct spawn *sp, enum spawn_kill why)
{
	if (sp->reaped || sp->killed != KILL_NONE)
		return;
	/* Not reaped yet, so the pid cannot have been reused. */
	(void)kill(sp->pid, SIGKILL);
	sp->killed = why;
}

/* Reap the worker if it has exited (or wait for it with block).  1 reaped, 0 not yet, <0 error. */
static int
reap(struct spawn *sp, int block)
{
	pid_t p;

	if (sp->reaped)
		return 1;
	do
		p = wait4(sp->pid, &sp->status, block ? 0 : WNOHANG, &sp->ru);
	while (p == -1 && errno == EINTR);
	if (p == -1)
		return sl_errf(
		    SL_ERR_IO, "worker %ld: waitpid: %s", (long)sp->pid, strerror(errno));
	if (p == 0)
		return 0;
	sp->reaped = 1;
	if (sp->pidfd != -1) {
		close(sp->pidfd);
		sp->pidfd = -1;
	}
	return 1;
}

/* The deadline has passed: kill the worker unless it already ended on its own. */
static int
deadline_passed(struct spawn *sp)
{
	if (reap(sp, 0) == 0)
		kill_worker(sp, KILL_DEADLINE);
	return sl_errf(SL_ERR_LIMIT, "worker %ld: wall-clock limit of %u ms reached", (long)sp->pid,
	    sp->wall_ms);
}

/* The worker sent something that is not a frame it may send: kill it. */
static int protocol_error(struct spawn *sp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
protocol_error(struct spawn *sp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sp->why, sizeof(sp->why), fmt, ap);
	va_end(ap);
	kill_worker(sp, KILL_PROTOCOL);
	return sl_errf(SL_ERR_PARSE, "worker %ld: %s", (long)sp->pid, sp->why);
}

/* ---- the socket ---------------------------------------------------------- */

/* Make room for need bytes in the input buffer (need <= IN_MAX). */
static int
in_reserve(struct spawn *sp, size_t need)
{
	uint8_t *p;
	size_t cap;

	if (need <= sp->incap)
		return 0;
	cap = sp->incap ? sp->incap : READ_STEP;
	while (cap < need)
		cap *= 2;
	if (cap > IN_MAX)
		cap = IN_MAX;
	if ((p = realloc(sp->in, cap)) == NULL)
		return SL_ERR_NOMEM;
	sp->in = p;
	sp->incap = cap;
	return 0;
}

/* Read what the socket has into the input buffer, without blocking. */
static int
sock_read(struct spawn *sp)
{
	size_t want = sp->inlen + READ_STEP > IN_MAX ? IN_MAX : sp->inlen + READ_STEP;
	ssize_t n;
	int r;

	if ((r = in_reserve(sp, want)) != 0)
		return r;
	if (sp->inlen == sp->incap)
		return 0;
	do
		n = recv(sp->fd, sp->in + sp->inlen, sp->incap - sp->inlen, MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		sp->inlen += (size_t)n;
	else if (n == 0 || errno != EAGAIN)
		sp->in_eof = 1; /* closed, or reset: the worker is gone either way */
	return 0;
}

/*
 * Wait until the socket is ready for sock_events (POLLIN is asked only while
 * the input buffer has room), relaying standard error meanwhile.  *rev gets
 * the socket's revents.  SL_ERR_LIMIT at the deadline.
 */
static int
wait_sock(struct spawn *sp, short sock_events, short *rev)
{
	struct pollfd pfd[2];
	nfds_t n;
	int rc, ms;

	if (sp->in_eof || sp->inlen == IN_MAX)
		sock_events &= (short)~POLLIN;
	for (;;) {
		if ((ms = remaining_ms(sp)) == 0)
			return deadline_passed(sp);
		pfd[0].fd = sp->fd;
		pfd[0].events = sock_events;
		pfd[0].revents = 0;
		n = 1;
		if (sp->errfd != -1) {
			pfd[1].fd = sp->errfd;
			pfd[1].events = POLLIN;
			pfd[1].revents = 0;
			n = 2;
		}
		rc = poll(pfd, n, ms);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return sl_errf(
			    SL_ERR_IO, "worker %ld: poll: %s", (long)sp->pid, strerror(errno));
		if (n == 2 && pfd[1].revents != 0)
			relay_stderr(sp);
		if (pfd[0].revents != 0) {
			*rev = pfd[0].revents;
			return 0;
		}
	}
}

/* Send len bytes, reading the worker's frames meanwhile so neither side can block the other. */
static int
send_all(struct spawn *sp, const uint8_t *p, size_t len)
{
	ssize_t n;
	short rev;
	int r;

	while (len > 0) {
		n = send(sp->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			return sl_errf(
			    SL_ERR_IO, "worker %ld: gone (%s)", (long)sp->pid, strerror(errno));
		if ((r = wait_sock(sp, POLLOUT | POLLIN, &rev)) != 0)
			return r;
		if ((rev & POLLIN) != 0 && (r = sock_read(sp)) != 0)
			return r;
	}
	return 0;
}

/* ---- the API ------------------------------------------------------------- */

int
spawn_worker_path(char **out)
{
	char exe[PATH_MAX], *slash, *p;
	const char *env = secure_getenv("SLUICE_WORKER");
	size_t len;
	ssize_t n;

	if (env != NULL && *env != '\0') {
		if (env[0] != '/')
			return sl_errf(SL_ERR_INVAL, "SLUICE_WORKER=%s: not an absolute path", env);
		if ((*out = strdup(env)) == NULL)
			return SL_ERR_NOMEM;
		return 0;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe))) == -1)
		return sl_errf(SL_ERR_IO, "/proc/self/exe: %s", strerror(errno));
	if ((size_t)n == sizeof(exe))
		return sl_errf(SL_ERR_IO, "/proc/self/exe: path too long");
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return sl_errf(SL_ERR_IO, "/proc/self/exe: %s: not an absolute path", exe);
	slash[1] = '\0';
	len = strlen(exe) + sizeof("sluice-worker");
	if ((p = malloc(len)) == NULL)
		return SL_ERR_NOMEM;
	snprintf(p, len, "%ssluice-worker", exe);
	/* Next to sluice (the build tree), else where `make install` put it. */
	if (access(p, X_OK) != 0) {
		free(p);
		if ((p = strdup(SLUICE_PKGLIBEXECDIR "/sluice-worker")) == NULL)
			return SL_ERR_NOMEM;
	}
	*out = p;
	return 0;
}

/* Close descriptors from first (<= keep) up, except keep; close_range() where the kernel has it. */
static void
close_from(int first, int keep, int maxfd)
{
	int fd;

	if ((keep == first || close_range((unsigned)first, (unsigned)keep - 1, 0) == 0) &&
	    close_range((unsigned)keep + 1, ~0u, 0) == 0)
		return;
	for (fd = first; fd <= maxfd; fd++)
		if (fd != keep)
			(void)close(fd);
}

/*
 * In the vforked child, before exec: only system calls, no writes to memory
 * but its own stack frame (and errno).  Moves
 * the descriptors it keeps above JOB_FD, then places them: 0 and 1 on
 * /dev/null, 2 on the stderr pipe, JOB_FD on the socket; closes the rest.
 * Signal dispositions go back to default and the mask is emptied (an ignored
 * SIGXCPU or SIGPIPE would survive exec).  On failure the errno goes up the
 * exec pipe, which exec would have closed.
 */
static void __attribute__((noreturn))
child_exec(const char *path, int sock, int errw, int execw, int nullfd, int maxfd)
{
	char *const argv[] = {(char *)"sluice-worker", NULL};
	char *const envp[] = {NULL};
	struct sigaction sa;
	sigset_t none;
	int e, sig;

	if ((sock = fcntl(sock, F_DUPFD_CLOEXEC, JOB_FD + 1)) == -1 ||
	    (errw = fcntl(errw, F_DUPFD_CLOEXEC, JOB_FD + 1)) == -1 ||
	    (nullfd = fcntl(nullfd, F_DUPFD_CLOEXEC, JOB_FD + 1)) == -1 ||
	    (execw = fcntl(execw, F_DUPFD_CLOEXEC, JOB_FD + 1)) == -1)
		goto fail;
	if (dup2(nullfd, STDIN_FILENO) == -1 || dup2(nullfd, STDOUT_FILENO) == -1 ||
	    dup2(errw, STDERR_FILENO) == -1 || dup2(sock, JOB_FD) == -1)
		goto fail;
	close_from(JOB_FD + 1, execw, maxfd);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, envp);
fail:
	e = errno;
	(void)!write(execw, &e, sizeof(e));
	_exit(127);
}

/* Its own frame: after vfork the parent touches nothing the child may have clobbered. */
static pid_t __attribute__((noinline))
vfork_exec(const char *path, int sock, int errw, int execw, int nullfd, int maxfd)
{
	pid_t pid = vfork();

	if (pid == 0)
		child_exec(path, sock, errw, execw, nullfd, maxfd);
	return pid;
}

void
spawn_rearm(struct spawn *sp, uint32_t wall_ms)
{
	sp->wall_ms = wall_ms > 0 ? wall_ms : 1;
	sp->deadline = now_ms() + sp->wall_ms;
}

int
spawn_start(const char *worker_path, uint32_t wall_ms, struct spawn **out)
{
	struct spawn *sp = NULL;
	struct rlimit nofile;
	int sv[2] = {-1, -1}, ep[2] = {-1, -1}, xp[2] = {-1, -1}, nullfd = -1;
	int maxfd = 1024, e = 0, r;
	sigset_t all, mask;
	ssize_t n;
	pid_t pid;

	if (wall_ms == 0)
		return sl_errf(SL_ERR_INVAL, "worker: a wall-clock limit of 0 ms");
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return SL_ERR_NOMEM;
	sp->fd = sp->errfd = sp->pidfd = -1;
	sp->pid = -1;
	sp->wall_ms = wall_ms;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
	    nofile.rlim_cur < INT_MAX)
		maxfd = (int)nofile.rlim_cur - 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pipe2(ep, O_CLOEXEC) == -1 || pipe2(xp, O_CLOEXEC) == -1 ||
	    (nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		r = sl_errf(
		    SL_ERR_IO, "worker: cannot set up its descriptors: %s", strerror(errno));
		goto fail;
	}
	/*
	 * vfork: the child borrows this process's memory until execve, so no page
	 * tables are copied and no page faults copy-on-write afterwards (fork
	 * cost a query about half a millisecond).  child_exec() only makes
	 * system calls.  Every signal stays blocked until it has reset their
	 * dispositions, so no handler of ours runs in the child on our memory.
	 */
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &mask);
	pid = vfork_exec(worker_path, sv[1], ep[1], xp[1], nullfd, maxfd);
	e = errno;
	(void)sigprocmask(SIG_SETMASK, &mask, NULL);
	if (pid == -1) {
		r = sl_errf(SL_ERR_IO, "worker: vfork: %s", strerror(e));
		goto fail;
	}
	sp->pid = pid;
	sp->deadline = now_ms() + wall_ms;
	close(sv[1]);
	close(ep[1]);
	close(xp[1]);
	close(nullfd);
	sv[1] = ep[1] = xp[1] = nullfd = -1;
	sp->fd = sv[0];
	sp->errfd = ep[0];
	sv[0] = ep[0] = -1;
	/*
	 * The user is looked up now, while the worker starts, not at the
	 * HEADER: the lookup (NSS: /etc/passwd and whatever else nsswitch.conf
	 * names) is then no part of a job's latency.
	 */
	if ((r = spawn_worker_user(&sp->uid, &sp->gid)) != 0)
		goto fail;

	/* EOF on the exec pipe: execve() succeeded.  An int: it failed, with that errno. */
	e = 0;
	do
		n = read(xp[0], &e, sizeof(e));
	while (n == -1 && errno == EINTR);
	close(xp[0]);
	xp[0] = -1;
	if (n != 0) {
		r = sl_errf(SL_ERR_IO, "worker: cannot execute %s: %s", worker_path,
		    n == (ssize_t)sizeof(e) ? strerror(e) : "the child failed before exec");
		goto fail;
	}
	if (fcntl(sp->fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(sp->errfd, F_SETFL, O_NONBLOCK) == -1) {
		r = sl_errf(SL_ERR_IO, "worker: fcntl: %s", strerror(errno));
		goto fail;
	}
#ifdef SYS_pidfd_open
	/* Close-on-exec by default; -1 (ENOSYS) on kernels before 5.3: wait_exit() then polls. */
	sp->pidfd = (int)syscall(SYS_pidfd_open, sp->pid, 0);
#endif
	*out = sp;
	return 0;
fail:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (ep[0] != -1)
		close(ep[0]);
	if (ep[1] != -1)
		close(ep[1]);
	if (xp[0] != -1)
		close(xp[0]);
	if (xp[1] != -1)
		close(xp[1]);
	if (nullfd != -1)
		close(nullfd);
	spawn_free(sp);
	return r;
}

/* getpwnam_r(): job threads start workers side by side, and getpwnam()'s answer is shared. */
static int
user_find(const char *name, char **buf, size_t *cap, struct passwd *pw)
{
	struct passwd *found = NULL;
	int e;

	while ((e = getpwnam_r(name, pw, *buf, *cap, &found)) == ERANGE) {
		char *grown;

		if (*cap >= (1u << 20) || (grown = realloc(*buf, *cap * 2)) == NULL)
			return sl_errf(
			    SL_ERR_NOMEM, "worker: user %s: its entry is too large", name);
		*buf = grown;
		*cap *= 2;
	}
	if (e != 0)
		return sl_errf(SL_ERR_IO, "worker: looking up user %s: %s", name, strerror(e));
	return found != NULL ? 0 : SL_ERR_NOTFOUND;
}

int
spawn_worker_user(uint32_t *uid, uint32_t *gid)
{
	const char *name = secure_getenv("SLUICE_WORKER_USER");
	struct passwd pw;
	size_t cap = 1024;
	char *buf;
	int r;

	if (geteuid() != 0) {
		*uid = (uint32_t)getuid();
		*gid = (uint32_t)getgid();
		return 0;
	}
	if ((buf = malloc(cap)) == NULL)
		return SL_ERR_NOMEM;
	/* Looked up for every worker, so a user created while the broker runs is used. */
	if (name != NULL && *name != '\0') {
		if ((r = user_find(name, &buf, &cap, &pw)) == SL_ERR_NOTFOUND)
			r = sl_errf(SL_ERR_INVAL, "SLUICE_WORKER_USER=%s: no such user", name);
	} else if ((r = user_find("sluice-worker", &buf, &cap, &pw)) == SL_ERR_NOTFOUND &&
	           (r = user_find("nobody", &buf, &cap, &pw)) == SL_ERR_NOTFOUND) {
		r = sl_errf(SL_ERR_IO, "worker: neither user sluice-worker nor nobody exists "
		                       "(make install creates sluice-worker)");
	}
	if (r == 0 && (pw.pw_uid == 0 || pw.pw_gid == 0))
		r = sl_errf(SL_ERR_INVAL,
		    "worker user %s has uid %lu and gid %lu: "
		    "a worker never runs as root",
		    pw.pw_name, (unsigned long)pw.pw_uid, (unsigned long)pw.pw_gid);
	if (r == 0) {
		*uid = (uint32_t)pw.pw_uid;
		*gid = (uint32_t)pw.pw_gid;
	}
	free(buf);
	return r;
}

int
spawn_send_header(struct spawn *sp, struct job_header *h)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	h->uid = sp->uid;
	h->gid = sp->gid;
	if ((r = job_header_encode(h, &buf, &len)) != 0)
		return sl_errf(r, "worker: cannot encode the job header: %s", sl_err_msg(r));
	sp->cpu_seconds = h->cpu_seconds;
	r = spawn_send(sp, JOB_FRAME_HEADER, buf, len);
	job_wipe_free(buf, len);
	return r;
}

int
spawn_job(const char *worker_path, struct job_header *h, uint32_t wall_ms, struct spawn **out)
{
	struct spawn *sp = NULL;
	int r;

	if ((r = spawn_start(worker_path, wall_ms, &sp)) != 0 ||
	    (r = spawn_send_header(sp, h)) != 0) {
		spawn_free(sp);
		return r;
	}
	*out = sp;
	return 0;
}

pid_t
spawn_pid(const struct spawn *sp)
{
	return sp->pid;
}

int
spawn_send(struct spawn *sp, uint32_t type, const void *payload, size_t len)
{
	uint8_t head[JOB_FRAME_HEAD];
	uint32_t kind = type == JOB_FRAME_HEADER ? job_header_kind(payload, len) : sp->kind;
	int next = job_permit(kind, sp->st, JOB_FROM_BROKER, type), r;

	if (next < 0)
		return sl_errf(SL_ERR_INVAL, "worker: the broker may not send %s %s",
		    job_frame_name(type) != NULL ? job_frame_name(type) : "this frame",
		    sp->st == JOB_ST_START ? "first" : "at this point of the job");
	if (len > JOB_FRAME_MAX)
		return sl_errf(
		    SL_ERR_INVAL, "worker: a frame of %zu bytes, more than %u", len, JOB_FRAME_MAX);
	if (sp->killed != KILL_NONE || sp->reaped)
		return sl_errf(SL_ERR_IO, "worker %ld: already stopped", (long)sp->pid);
	job_frame_head_put(head, type, (uint32_t)len);
	sp->kind = kind;
	sp->st = (enum job_state)next;
	if ((r = send_all(sp, head, sizeof(head))) != 0)
		return r;
	return len > 0 ? send_all(sp, payload, len) : 0;
}

/*
 * Take the next frame from what has arrived: 1 with it (in *payload, a new
 * buffer), 0 when it has not all arrived yet, <0 for a protocol error (the
 * worker is killed) or SL_ERR_NOMEM.  The head is checked against the permit
 * table as soon as it is here, before the payload sizes anything.  Shared by
 * spawn_recv() and spawn_poll(), so order is enforced in one place.
 */
static int
take_frame(struct spawn *sp, uint32_t *type, uint8_t **payload, size_t *len)
{
	uint32_t t, n;
	uint8_t *p;
	int r, next;

	if (sp->killed != KILL_NONE)
		return sl_errf(sp->killed == KILL_PROTOCOL ? SL_ERR_PARSE : SL_ERR_LIMIT,
		    "worker %ld: stopped: %s", (long)sp->pid,
		    sp->killed == KILL_PROTOCOL ? sp->why : "wall-clock limit");
	if (sp->inlen < JOB_FRAME_HEAD) {
		if (sp->final != 0 && sp->inlen > 0)
			return protocol_error(
			    sp, "bytes after the final %s frame", job_frame_name(sp->final));
		return 0;
	}
	if (sp->final != 0)
		return protocol_error(
		    sp, "bytes after the final %s frame", job_frame_name(sp->final));
	if (job_frame_head_get(sp->in, &t, &n) != 0)
		return protocol_error(sp, "%s", sl_err_msg(SL_ERR_PARSE));
	if ((next = job_permit(sp->kind, sp->st, JOB_FROM_WORKER, t)) < 0)
		return protocol_error(sp, "a %s frame out of order (or one only the broker sends)",
		    job_frame_name(t));
	if (sp->inlen < JOB_FRAME_HEAD + (size_t)n) {
		if ((r = in_reserve(sp, JOB_FRAME_HEAD + (size_t)n)) != 0)
			return r;
		return 0;
	}
	if ((p = malloc((size_t)n + 1)) == NULL)
		return SL_ERR_NOMEM;
	memcpy(p, sp->in + JOB_FRAME_HEAD, n);
	p[n] = '\0';
	sp->inlen -= JOB_FRAME_HEAD + (size_t)n;
	memmove(sp->in, sp->in + JOB_FRAME_HEAD + n, sp->inlen);
	sp->st = (enum job_state)next;
	if (sp->st == JOB_ST_DONE)
		sp->final = t;
	*type = t;
	*payload = p;
	*len = n;
	return 1;
}

int
spawn_recv(struct spawn *sp, uint32_t *type, uint8_t **payload, size_t *len)
{
	short rev;
	int r;

	for (;;) {
		if ((r = take_frame(sp, type, payload, len)) != 0)
			return r < 0 ? r : 0;
		if (sp->in_eof)
			return sl_errf(SL_ERR_IO, "worker %ld: closed the job socket%s",
			    (long)sp->pid, sp->inlen > 0 ? " in the middle of a frame" : "");
		if ((r = wait_sock(sp, POLLIN, &rev)) != 0)
			return r;
		if ((r = sock_read(sp)) != 0)
			return r;
	}
}

int
spawn_poll(struct spawn *sp, uint32_t *type, uint8_t **payload, size_t *len)
{
	size_t before;
	int r;

	/* What spawn_send() buffered first; then whatever else is there, without waiting. */
	do {
		if ((r = take_frame(sp, type, payload, len)) != 0)
			return r;
		if (sp->in_eof)
			return 0;
		relay_stderr(sp);
		before = sp->inlen;
		if ((r = sock_read(sp)) != 0)
			return r;
	} while (sp->inlen > before);
	return 0;
}

int
spawn_refuse(struct spawn *sp, const char *why)
{
	return protocol_error(sp, "%s", why);
}

/* Read and count what the worker still sends, without keeping it. */
static void
drain_socket(struct spawn *sp)
{
	uint8_t buf[4096];
	ssize_t n;

	while (!sp->in_eof) {
		n = recv(sp->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			sp->in_eof = 1;
			return;
		}
		sp->dropped_in += (uint64_t)n;
	}
}

/* Wait for the worker to end, draining its socket and stderr; kill it at the deadline. */
static int
wait_exit(struct spawn *sp)
{
	struct pollfd pfd[3];
	nfds_t n;
	int r, ms;

	while ((r = reap(sp, 0)) == 0) {
		if ((ms = remaining_ms(sp)) == 0) {
			kill_worker(sp, KILL_DEADLINE);
			return reap(sp, 1) < 0 ? SL_ERR_IO : 0;
		}
		n = 0;
		if (sp->pidfd != -1) {
			pfd[n].fd = sp->pidfd;
			pfd[n++].events = POLLIN;
		} else if (ms > REAP_POLL_MS) {
			ms = REAP_POLL_MS;
		}
		if (!sp->in_eof) {
			pfd[n].fd = sp->fd;
			pfd[n++].events = POLLIN;
		}
		if (sp->errfd != -1) {
			pfd[n].fd = sp->errfd;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, n, ms) == -1 && errno != EINTR)
			return sl_errf(
			    SL_ERR_IO, "worker %ld: poll: %s", (long)sp->pid, strerror(errno));
		drain_socket(sp);
		relay_stderr(sp);
	}
	return r < 0 ? r : 0;
}

static void
classify(struct spawn *sp, struct spawn_result *res)
{
	char sname[32];
	uint64_t unread = sp->inlen + sp->dropped_in;
	int sig = WIFSIGNALED(sp->status) ? WTERMSIG(sp->status) : 0;
	int st = WIFEXITED(sp->status) ? WEXITSTATUS(sp->status) : -1;

	memset(res, 0, sizeof(*res));
	res->exit_status = st;
	res->signal = sig;
	res->cpu_ms =
	    (uint64_t)sp->ru.ru_utime.tv_sec * 1000 + (uint64_t)sp->ru.ru_utime.tv_usec / 1000 +
	    (uint64_t)sp->ru.ru_stime.tv_sec * 1000 + (uint64_t)sp->ru.ru_stime.tv_usec / 1000;
	res->maxrss_kib = sp->ru.ru_maxrss > 0 ? (uint64_t)sp->ru.ru_maxrss : 0;

#define DETAIL(...) snprintf(res->detail, sizeof(res->detail), __VA_ARGS__)
	if (sp->killed == KILL_PROTOCOL) {
		res->outcome = SPAWN_PROTOCOL_ERROR;
		DETAIL("%s", sp->why);
	} else if (sp->killed == KILL_DEADLINE) {
		res->outcome = SPAWN_TIME_LIMIT;
		DETAIL("wall-clock limit of %u ms reached; killed", sp->wall_ms);
	} else if (sig == SIGSYS) {
		res->outcome = SPAWN_SANDBOX_VIOLATION;
		DETAIL("killed by SIGSYS: a system call outside the allowlist");
	} else if (sig == SIGXCPU) {
		res->outcome = SPAWN_TIME_LIMIT;
		DETAIL("CPU limit of %u s reached (SIGXCPU)", sp->cpu_seconds);
	} else if (sig == SIGKILL && sp->cpu_seconds > 0 &&
	           res->cpu_ms >= (uint64_t)sp->cpu_seconds * 1000) {
		res->outcome = SPAWN_TIME_LIMIT;
		DETAIL("CPU limit of %u s reached (SIGKILL at the hard limit)", sp->cpu_seconds);
	} else if (sig == SIGXFSZ) {
		res->outcome = SPAWN_FILE_LIMIT;
		DETAIL("file size limit reached (SIGXFSZ): the store may grow no further");
	} else if (sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT) {
		res->outcome = SPAWN_CRASHED;
		DETAIL("killed by %s (an allocation failure under the memory limit can end "
		       "this way; peak RSS %llu KiB)",
		    signal_name(sig, sname, sizeof(sname)), (unsigned long long)res->maxrss_kib);
	} else if (sig != 0) {
		res->outcome = SPAWN_CRASHED;
		DETAIL("killed by %s%s", signal_name(sig, sname, sizeof(sname)),
		    sig == SIGKILL ? ", not sent by the broker (the OOM killer?)" : "");
	} else if (unread > 0) {
		res->outcome = SPAWN_PROTOCOL_ERROR;
		DETAIL("%llu bytes %s", (unsigned long long)unread,
		    sp->final != 0 ? "after the final frame" : "not read as frames");
	} else if (st == JOB_EXIT_NOMEM) {
		res->outcome = SPAWN_MEMORY_LIMIT;
		DETAIL("an allocation failed (exit status %d)", st);
	} else if (st == 0 && sp->final == JOB_FRAME_RESULT) {
		res->outcome = SPAWN_OK;
		DETAIL("exited 0 after RESULT");
	} else if (st == 0 && sp->final == JOB_FRAME_ERROR) {
		res->outcome = SPAWN_FAILED;
		DETAIL("the job failed (ERROR frame)");
	} else if (st == 0) {
		res->outcome = SPAWN_PROTOCOL_ERROR;
		DETAIL("exited 0 without a RESULT or ERROR frame");
	} else {
		res->outcome = SPAWN_FAILED;
		DETAIL("exited with status %d%s", st,
		    sp->final == JOB_FRAME_ERROR ? " after an ERROR frame" : "");
	}
#undef DETAIL
}

int
spawn_wait(struct spawn *sp, struct spawn_result *res)
{
	int r;

	if (!sp->reaped) {
		(void)shutdown(sp->fd, SHUT_WR);
		if ((r = wait_exit(sp)) != 0)
			return r;
		/* It has exited: its ends are closed, so this reads to EOF without waiting. */
		drain_socket(sp);
		relay_stderr(sp);
		classify(sp, &sp->res);
	}
	*res = sp->res;
	return 0;
}

const char *
spawn_outcome_name(enum spawn_outcome o)
{
	switch (o) {
	case SPAWN_OK:
		return "ok";
	case SPAWN_FAILED:
		return "failed";
	case SPAWN_SANDBOX_VIOLATION:
		return "sandbox violation";
	case SPAWN_TIME_LIMIT:
		return "time limit";
	case SPAWN_MEMORY_LIMIT:
		return "memory limit";
	case SPAWN_PROTOCOL_ERROR:
		return "protocol error";
	case SPAWN_FILE_LIMIT:
		return "file size limit";
	case SPAWN_CRASHED:
		return "crashed";
	}
	return "unknown";
}

void
spawn_free(struct spawn *sp)
{
	if (sp == NULL)
		return;
	if (sp->pid > 0 && !sp->reaped) {
		kill_worker(sp, KILL_DEADLINE);
		(void)reap(sp, 1);
	}
	if (sp->fd != -1)
		close(sp->fd);
	if (sp->errfd != -1) {
		relay_stderr(sp);
		if (sp->errfd != -1)
			close(sp->errfd);
	}
	if (sp->pidfd != -1)
		close(sp->pidfd);
	if (sp->in != NULL) {
		explicit_bzero(sp->in, sp->incap);
		free(sp->in);
	}
	free(sp);
}
