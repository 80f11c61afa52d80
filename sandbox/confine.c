/*
 * sandbox/confine.c -- rlimits, no_new_privs, network namespace, Landlock and
 * seccomp for sluice-worker (sandbox/confine.h).
 *
 * Trusts: its options, which come from the broker's job header.  Holds
 * nothing.  Runs once per worker, single-threaded, before the first untrusted
 * byte is read; every step only ever removes rights.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "sandbox/confine.h"

/* ---- 0. an unprivileged user -------------------------------------------- */

/*
 * Empty the capability bounding set: no later execve (forbidden anyway) and
 * no file capability can bring a capability back.  Only what is still in the
 * set is dropped, since dropping needs CAP_SETPCAP: a process that has already
 * lost it can only check that the set is empty.
 */
static int
caps_bounding_clear(void)
{
	int cap, in;

	for (cap = 0;; cap++) {
		if ((in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) == -1) {
			if (errno == EINVAL)
				return 0; /* past CAP_LAST_CAP of the running kernel */
			return sl_errf(
			    SL_ERR_IO, "confine: PR_CAPBSET_READ %d: %s", cap, strerror(errno));
		}
		if (in == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			return sl_errf(
			    SL_ERR_IO, "confine: PR_CAPBSET_DROP %d: %s", cap, strerror(errno));
	}
}

/*
 * No capability in any set: bounding, ambient, then effective, permitted and
 * inheritable with capset() (the raw call: no libcap for three words).
 * Lowering needs no privilege.  Checked with capget() afterwards.
 */
static int
caps_clear(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	size_t i;
	int r;

	if ((r = caps_bounding_clear()) != 0)
		return r;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 && errno != EINVAL)
		return sl_errf(SL_ERR_IO, "confine: PR_CAP_AMBIENT_CLEAR_ALL: %s", strerror(errno));
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) == -1)
		return sl_errf(SL_ERR_IO, "confine: capset: %s", strerror(errno));
	if (syscall(SYS_capget, &hdr, data) == -1)
		return sl_errf(SL_ERR_IO, "confine: capget: %s", strerror(errno));
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective != 0 || data[i].permitted != 0 || data[i].inheritable != 0)
			return sl_errf(SL_ERR_IO, "confine: capabilities left after capset");
	return 0;
}

/*
 * Become o->uid:o->gid for good.  A worker started as root (any of its user
 * ids 0) empties its bounding set while it still may, drops every
 * supplementary group, then sets all three group ids and all three user ids;
 * the kernel clears the permitted and effective sets when the last user id
 * leaves 0.  Any other worker cannot change users: the broker then sent its
 * own ids, and setting them is a no-op that still proves it.  Checked after:
 * the ids stuck, no group is left, and setuid(0) fails.
 */
static int
drop_user(const struct confine_opts *o)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	int root;

	if (getresuid(&ruid, &euid, &suid) == -1)
		return sl_errf(SL_ERR_IO, "confine: getresuid: %s", strerror(errno));
	root = ruid == 0 || euid == 0 || suid == 0;
	if (root) {
		int r;

		if ((r = caps_bounding_clear()) != 0)
			return r;
		if (setgroups(0, NULL) == -1)
			return sl_errf(SL_ERR_IO, "confine: setgroups: %s", strerror(errno));
	}
	if (setresgid(o->gid, o->gid, o->gid) == -1)
		return sl_errf(SL_ERR_IO, "confine: setresgid %lu: %s", (unsigned long)o->gid,
		    strerror(errno));
	if (setresuid(o->uid, o->uid, o->uid) == -1)
		return sl_errf(SL_ERR_IO, "confine: setresuid %lu: %s", (unsigned long)o->uid,
		    strerror(errno));

	if (getresuid(&ruid, &euid, &suid) == -1 || getresgid(&rgid, &egid, &sgid) == -1)
		return sl_errf(SL_ERR_IO, "confine: getresuid/getresgid: %s", strerror(errno));
	if (ruid != o->uid || euid != o->uid || suid != o->uid || rgid != o->gid ||
	    egid != o->gid || sgid != o->gid)
		return sl_errf(SL_ERR_IO, "confine: ids did not change to %lu:%lu",
		    (unsigned long)o->uid, (unsigned long)o->gid);
	if (root && getgroups(0, NULL) != 0)
		return sl_errf(SL_ERR_IO, "confine: supplementary groups left");
	/* Should it work, the process is root again: confine_apply() fails, the worker exits. */
	if (syscall(SYS_setuid, 0) != -1)
		return sl_errf(SL_ERR_IO, "confine: setuid(0) succeeded after the drop");
	return 0;
}

/* ---- 1. rlimits ---------------------------------------------------------- */

/*
 * Set a limit, never above the hard limit already in force: the broker's own
 * limits stay an upper bound, and lowering needs no privilege.
 */
static int
limit_set(int resource, const char *name, rlim_t soft, rlim_t hard)
{
	struct rlimit cur, rl;

	if (getrlimit(resource, &cur) == -1)
		return sl_errf(SL_ERR_IO, "confine: getrlimit %s: %s", name, strerror(errno));
	if (cur.rlim_max != RLIM_INFINITY && hard > cur.rlim_max)
		hard = cur.rlim_max;
	rl.rlim_cur = soft < hard ? soft : hard;
	rl.rlim_max = hard;
	if (setrlimit(resource, &rl) == -1)
		return sl_errf(SL_ERR_IO, "confine: setrlimit %s: %s", name, strerror(errno));
	return 0;
}

/* Bytes of address space mapped now (VmSize), from /proc/self/statm. */
static int
mapped_bytes(uint64_t *out)
{
	char buf[128], *end;
	unsigned long long pages;
	long pagesize = sysconf(_SC_PAGESIZE);
	ssize_t n;
	int fd, r = 0;

	if ((fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) == -1)
		return sl_errf(SL_ERR_IO, "confine: /proc/self/statm: %s", strerror(errno));
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n == -1 && errno == EINTR);
	if (n <= 0 || pagesize <= 0) {
		r = sl_errf(SL_ERR_IO, "confine: /proc/self/statm: cannot read");
		goto out;
	}
	buf[n] = '\0';
	errno = 0;
	pages = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf || *end != ' ' ||
	    __builtin_mul_overflow(pages, (unsigned long long)pagesize, &pages)) {
		r = sl_errf(SL_ERR_IO, "confine: /proc/self/statm: unexpected contents");
		goto out;
	}
	*out = pages;
out:
	close(fd);
	return r;
}

static int
apply_rlimits(const struct confine_opts *o)
{
	uint64_t mapped = 0, as;
	rlim_t cpu, fsize, nproc;
	int r;

	if ((r = mapped_bytes(&mapped)) != 0)
		return r;
	if (__builtin_add_overflow(mapped, o->memory_bytes, &as) || as >= RLIM_INFINITY)
		as = RLIM_INFINITY - 1;
	fsize = o->profile == CONFINE_INGEST ? (rlim_t)o->fsize_bytes : 0;

	/*
	 * SIGXCPU at the soft limit (its default action ends the process), SIGKILL a second later.
	 * RLIMIT_CPU counts every thread's time: the limit is for all of them.
	 */
	cpu = (rlim_t)o->cpu_seconds * (o->threads > 1 ? o->threads : 1);
	nproc = CONFINE_USER_TASKS;
	if ((r = limit_set(RLIMIT_CPU, "RLIMIT_CPU", cpu, cpu + 1)) != 0 ||
	    (r = limit_set(RLIMIT_AS, "RLIMIT_AS", as, as)) != 0 ||
	    (r = limit_set(RLIMIT_CORE, "RLIMIT_CORE", 0, 0)) != 0 ||
	    (r = limit_set(RLIMIT_NOFILE, "RLIMIT_NOFILE", CONFINE_NOFILE, CONFINE_NOFILE)) != 0 ||
	    /*
	     * Threads count as tasks of the worker's user, in every job at once
	     * (the kernel counts per user, not per process): a bound on what all
	     * workers together, a compromised one included, can make, not a
	     * job's thread count.  A job that meets it runs on fewer threads.
	     * A new process is refused by seccomp whatever this says.
	     */
	    (r = limit_set(RLIMIT_NPROC, "RLIMIT_NPROC", nproc, nproc)) != 0 ||
	    (r = limit_set(RLIMIT_FSIZE, "RLIMIT_FSIZE", fsize, fsize)) != 0)
		return r;
	return 0;
}

/* ---- 3. network namespace ------------------------------------------------ */

/*
 * An empty network namespace: no interface but a loopback that is down.  The
 * worker has dropped root by now, so it needs a user namespace to own it; a
 * process that still has CAP_SYS_ADMIN (not started as root, but given the
 * capability) can do with CLONE_NEWNET alone.  Kernels that forbid
 * unprivileged user namespaces refuse both: that is reported, not fatal,
 * since seccomp already forbids socket() and Landlock (ABI >= 4) TCP.
 *
 * A new user namespace gives its first process every capability in it, and
 * a full bounding set: caps_clear() takes them away again right after.
 */
static void
enter_netns(const struct confine_opts *o, struct confine_report *rep)
{
	if (o->netns_early) {
		rep->netns_early = 1;
		return;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
		rep->netns_userns = 1;
		return;
	}
	if (unshare(CLONE_NEWNET) == 0)
		return;
	rep->missing |= CONFINE_NO_NETNS;
}

int
confine_netns_early(void)
{
	if (geteuid() != 0)
		return 0;
	return unshare(CLONE_NEWNET) == 0;
}

/* ---- 4. Landlock --------------------------------------------------------- */

/*
 * Debian 12's <linux/landlock.h> stops at ABI 2; the later rights are fixed
 * numbers in the kernel's UAPI, so they are named here.
 */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13) /* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#define LL_NET_BIND_TCP (1ULL << 0)        /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)     /* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)        /* ABI 6 */

/* struct landlock_ruleset_attr as of ABI 6; its size tells the kernel which fields we use. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_FS_WRITE                                                                                \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_FILE |                          \
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_TRUNCATE)

int
confine_landlock_abi(void)
{
#ifdef SYS_landlock_create_ruleset
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi > 0 ? (int)abi : 0;
#else
	return 0;
#endif
}

/*
 * Handle every right the kernel knows (so all of them are denied unless a
 * rule grants them), and grant the store directory's rights beneath it.
 * Rights of ABIs newer than this file are not handled: seccomp covers them.
 */
static int
apply_landlock(const struct confine_opts *o, int dfd, struct confine_report *rep)
{
#ifdef SYS_landlock_create_ruleset
	struct ll_ruleset_attr attr;
	struct landlock_path_beneath_attr pb;
	size_t attr_size = sizeof(attr.handled_access_fs);
	int abi, rfd = -1, r = 0;

	if ((abi = confine_landlock_abi()) <= 0) {
		rep->missing |= CONFINE_NO_LANDLOCK;
		return 0;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LANDLOCK_ACCESS_FS_REFER - 1; /* the 13 rights of ABI 1 */
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		attr_size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 5)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	if ((rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0)) == -1) {
		r = sl_errf(SL_ERR_IO, "confine: landlock_create_ruleset (ABI %d): %s", abi,
		    strerror(errno));
		goto out;
	}
	if (dfd != -1) {
		memset(&pb, 0, sizeof(pb));
		pb.allowed_access = LL_FS_READ;
		if (o->profile == CONFINE_INGEST)
			pb.allowed_access |= LL_FS_WRITE;
		pb.allowed_access &= attr.handled_access_fs;
		pb.parent_fd = dfd;
		if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1) {
			r = sl_errf(SL_ERR_IO, "confine: landlock_add_rule %s: %s", o->store_path,
			    strerror(errno));
			goto out;
		}
	}
	if (syscall(SYS_landlock_restrict_self, rfd, 0) == -1) {
		r = sl_errf(SL_ERR_IO, "confine: landlock_restrict_self: %s", strerror(errno));
		goto out;
	}
	rep->landlock_abi = abi;
out:
	if (rfd != -1)
		close(rfd);
	return r;
#else
	(void)o;
	(void)dfd;
	rep->missing |= CONFINE_NO_LANDLOCK;
	return 0;
#endif
}

/* ---- 5. seccomp ---------------------------------------------------------- */

#define P_QUERY (1u << CONFINE_QUERY)
#define P_INGEST (1u << CONFINE_INGEST)
#define P_BOTH (P_QUERY | P_INGEST)

/*
 * The allowlist.  Everything not here kills the process (SIGSYS), as does a
 * system call of another architecture (int 0x80, x32).  Descriptors are all
 * open before this point, so nothing here can name a file, a socket or a
 * process other than itself.  The LMDB lines come from strace of a program
 * that opens an environment and begins a transaction, then -- the part the
 * worker does confined -- puts or gets, commits and closes (LMDB 0.9.24,
 * Debian 12), including a transaction large enough to spill pages before
 * commit.  The probes lmdb-write, lmdb-read and crypto of
 * tests/unit/broker/spawn_test check them again on every build.
 *
 * A sanitizer build (SL_SANITIZERS) adds one line, marked; the rest of what
 * the ASan/UBSan runtime needs is covered once the worker has called
 * __sanitizer_sandbox_on_notify() before confinement.
 *
 * Deliberately absent: open/openat/openat2, stat family (glibc's fstat() is
 * newfstatat(fd, "", AT_EMPTY_PATH), and a filter cannot see that the path is
 * empty, so allowing it would allow stat() of any path), socket/connect and
 * all other socket calls, execve/execveat, fork/vfork, clone but for a thread
 * (below), clone3 (answered ENOSYS, so glibc falls back to clone), ptrace,
 * kill and signals to others, fcntl (LMDB takes its locks before
 * confinement), ftruncate/msync (only LMDB's MDB_WRITEMAP uses them),
 * mlock/munlock, prctl, setrlimit/prlimit64, unshare/setns, landlock_*,
 * seccomp, bpf, io_uring_*, userfaultfd, perf_event_open, keyctl, and every
 * set*id and capset call.
 *
 * mmap, mprotect, madvise, tgkill and clone are allowed only with some
 * arguments: see apply_seccomp().
 */
struct allow {
	int nr;
	unsigned int profiles;
};

static const struct allow allowlist[] = {
    /* Frames on JOB_FD, messages on stderr. */
    {SCMP_SYS(read), P_BOTH},
    {SCMP_SYS(write), P_BOTH},
    /* Closing the store (mdb_env_close) and other descriptors at the end. */
    {SCMP_SYS(close), P_BOTH},
    /* malloc (glibc and ASan), LMDB's env close; mmap/mprotect below, without PROT_EXEC. */
    {SCMP_SYS(brk), P_BOTH},
    {SCMP_SYS(munmap), P_BOTH},
    {SCMP_SYS(mremap), P_BOTH},
    /* pthread mutexes: a contended unlock of LMDB's shared writer mutex wakes a waiter. */
    {SCMP_SYS(futex), P_BOTH},
    /* Time, when the vDSO cannot answer. */
    {SCMP_SYS(clock_gettime), P_BOTH},
    {SCMP_SYS(gettimeofday), P_BOTH},
    /* Randomness (libsodium randombytes, OpenSSL's DRBG): nonces of sealed chunks. */
    {SCMP_SYS(getrandom), P_BOTH},
    /* mdb_env_close() asks getpid() to release its reader slot; abort() too (below). */
    {SCMP_SYS(getpid), P_BOTH},
    /* abort(): raise(SIGABRT) blocks signals, asks its tid, tgkill()s itself (below). */
    {SCMP_SYS(gettid), P_BOTH},
    {SCMP_SYS(rt_sigprocmask), P_BOTH},
    /* Returning from a signal handler (ASan installs some). */
    {SCMP_SYS(rt_sigreturn), P_BOTH},
    /* A thread's start (glibc's pthread_create: its robust futex list, rseq) and end. */
    {SCMP_SYS(set_robust_list), P_BOTH},
    {SCMP_SYS(rseq), P_BOTH},
    {SCMP_SYS(sched_yield), P_BOTH},
    /* The end. */
    {SCMP_SYS(exit), P_BOTH},
    {SCMP_SYS(exit_group), P_BOTH},
    /* LMDB writes a single page, and the meta page (O_DSYNC descriptor), with pwrite. */
    {SCMP_SYS(pwrite64), P_INGEST},
    /* LMDB writes runs of pages with lseek + writev (Debian builds it without pwritev). */
    {SCMP_SYS(lseek), P_INGEST},
    {SCMP_SYS(writev), P_INGEST},
    /* LMDB syncs the data file at commit (fdatasync on kernels >= 3.6). */
    {SCMP_SYS(fdatasync), P_INGEST},
#ifdef SL_SANITIZERS
    /* --enable-sanitizers only: the ASan runtime asks sigaltstack(NULL, &old) at _exit, abort. */
    {SCMP_SYS(sigaltstack), P_BOTH},
    /* --enable-sanitizers only: a new thread's ASan start reads its own CPU mask. */
    {SCMP_SYS(sched_getaffinity), P_BOTH},
#endif
};

/*
 * The madvise() advice the worker gives once confined.  Not MADV_DONTFORK,
 * MADV_MERGEABLE (KSM: a timing channel to other processes' pages),
 * MADV_REMOVE, MADV_HWPOISON, MADV_PAGEOUT or any other.
 */
static const int advice[] = {
    /*
     * Returning memory: glibc's free() for a heap other than the main arena
     * and malloc_trim(), ASan when it releases shadow.  None seen confined
     * in today's single-threaded jobs; kept because killing a job for
     * giving back its own pages would be a bug, not a defence.
     */
    MADV_DONTNEED,
#ifdef SL_SANITIZERS
    /* --enable-sanitizers only: ASan marks each new allocator region (strace). */
    MADV_NOHUGEPAGE,
    MADV_DONTDUMP,
#endif
};

static int
rule_add(scmp_filter_ctx ctx, int nr, unsigned int n, const struct scmp_arg_cmp *args)
{
	int rc;

	if ((rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, args)) != 0) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		sl_errf(SL_ERR_IO, "confine: seccomp rule for %s: %s", name != NULL ? name : "?",
		    strerror(-rc));
		free(name);
		return SL_ERR_IO;
	}
	return 0;
}

static int
apply_seccomp(const struct confine_opts *o)
{
	scmp_filter_ctx ctx;
	struct scmp_arg_cmp mem[2], adv, self[2], thread;
	unsigned int want = 1u << o->profile;
	size_t i;
	int rc, r = 0;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return sl_errf(SL_ERR_IO, "confine: seccomp_init failed (kernel without "
		                          "SECCOMP_RET_KILL_PROCESS?)");
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) != 0) {
		r = sl_errf(SL_ERR_IO, "confine: seccomp bad-arch action: %s", strerror(-rc));
		goto out;
	}
	for (i = 0; i < sizeof(allowlist) / sizeof(allowlist[0]); i++) {
		if ((allowlist[i].profiles & want) != 0 &&
		    (r = rule_add(ctx, allowlist[i].nr, 0, NULL)) != 0)
			goto out;
	}
	/*
	 * Memory for malloc, never executable: no code can be added.  Private
	 * only: the store is mapped MAP_SHARED when it is opened, before this,
	 * and strace of query, ingest and rekey workers (both builds) shows no
	 * mmap after it but MAP_PRIVATE|MAP_ANONYMOUS (with MAP_FIXED and
	 * MAP_NORESERVE under ASan).  So MAP_SHARED, MAP_SHARED_VALIDATE and any
	 * other mapping type are refused outright, on any descriptor.  The two
	 * comparisons of one rule must both hold.
	 */
	mem[0] = SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	mem[1] = SCMP_A3_64(SCMP_CMP_MASKED_EQ, MAP_TYPE, MAP_PRIVATE);
	if ((r = rule_add(ctx, SCMP_SYS(mmap), 2, mem)) != 0 ||
	    (r = rule_add(ctx, SCMP_SYS(mprotect), 1, mem)) != 0)
		goto out;
	/* madvise: one rule per advice, any of which allows the call. */
	for (i = 0; i < sizeof(advice) / sizeof(advice[0]); i++) {
		adv = SCMP_A2_32(SCMP_CMP_EQ, (uint32_t)advice[i]);
		if ((r = rule_add(ctx, SCMP_SYS(madvise), 1, &adv)) != 0)
			goto out;
	}
	/* abort() only: SIGABRT to this very process. */
	self[0] = SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)getpid());
	self[1] = SCMP_A2_32(SCMP_CMP_EQ, SIGABRT);
	if ((r = rule_add(ctx, SCMP_SYS(tgkill), 2, self)) != 0)
		goto out;
	/*
	 * Threads, as Chromium's renderer allows them (RestrictCloneToThreads):
	 * clone with exactly the flags glibc's pthread_create passes, so a new
	 * task shares this one's memory, files, signal handlers and, being
	 * created after confinement, its filters, namespaces and Landlock
	 * domain.  A clone without CLONE_THREAD (a new process) or with any
	 * other flag (CLONE_NEWUSER, CLONE_VFORK, ...) matches no rule and kills
	 * the job.  clone3 passes its flags in memory, which a filter cannot
	 * read: it is answered ENOSYS, on which glibc falls back to clone.
	 */
	thread = SCMP_A0_64(SCMP_CMP_EQ, CONFINE_THREAD_FLAGS);
	if ((r = rule_add(ctx, SCMP_SYS(clone), 1, &thread)) != 0)
		goto out;
	/*
	 * glibc's first pthread_create installs the handlers of its own two
	 * real-time signals (SIGCANCEL and SIGSETXID, the first two of the
	 * kernel's, which glibc hides from SIGRTMIN); no other handler may be.
	 */
	for (i = 0; i < 2; i++) {
		adv = SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)(__SIGRTMIN + i));
		if ((r = rule_add(ctx, SCMP_SYS(rt_sigaction), 1, &adv)) != 0)
			goto out;
	}
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) != 0) {
		r = sl_errf(SL_ERR_IO, "confine: seccomp rule for clone3: %s", strerror(-rc));
		goto out;
	}
	if ((rc = seccomp_load(ctx)) != 0)
		r = sl_errf(SL_ERR_IO, "confine: seccomp_load: %s", strerror(-rc));
out:
	seccomp_release(ctx);
	return r;
}

/* ---- the sequence -------------------------------------------------------- */

int
confine_apply(const struct confine_opts *o, struct confine_report *rep)
{
	struct confine_report dummy;
	int dfd = -1, r;

	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	if (o->profile != CONFINE_QUERY && o->profile != CONFINE_INGEST)
		return sl_errf(SL_ERR_INVAL, "confine: unknown profile %d", (int)o->profile);
	if (o->cpu_seconds < 1 || o->memory_bytes < (1u << 20))
		return sl_errf(SL_ERR_INVAL, "confine: limits too small (%u CPU s, %llu bytes)",
		    o->cpu_seconds, (unsigned long long)o->memory_bytes);
	if (o->profile == CONFINE_INGEST && o->fsize_bytes == 0)
		return sl_errf(SL_ERR_INVAL, "confine: an ingest needs a file size limit");
	if (o->uid == 0 || o->gid == 0)
		return sl_errf(SL_ERR_INVAL, "confine: refusing to run a job as uid %lu gid %lu",
		    (unsigned long)o->uid, (unsigned long)o->gid);

	/*
	 * Landlock's rule names the store by a descriptor, opened now: stores
	 * live beneath a directory only root may enter, which the worker cannot
	 * look up once it has dropped to its user.  O_PATH: it reads nothing.
	 */
	if (o->store_path != NULL &&
	    (dfd = open(o->store_path, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = sl_errf(SL_ERR_IO, "confine: %s: %s", o->store_path, strerror(errno));
		goto out;
	}
	if ((r = drop_user(o)) != 0 || (r = apply_rlimits(o)) != 0)
		goto out;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		r = sl_errf(SL_ERR_IO, "confine: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		goto out;
	}
	enter_netns(o, rep);
	if ((r = caps_clear()) != 0 || (r = apply_landlock(o, dfd, rep)) != 0)
		goto out;
	r = apply_seccomp(o);
out:
	if (dfd != -1)
		close(dfd);
	return r;
}
