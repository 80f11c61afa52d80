/*
 * sandbox/worker.c -- sluice-worker, the confined process that touches
 * plaintext rows and untrusted bytes (docs/architecture.md, sandbox/worker.h).
 *
 * The broker starts it with fork+exec, one job per process, and speaks the
 * protocol of sandbox/job.h over a socketpair on JOB_FD.  Trusts: the HEADER
 * frame (the broker wrote it from its catalog).  Untrusted: every later byte
 * on JOB_FD, read only after confine_apply().  Holds: the product's data key
 * (in the decoded header), wiped before exit.
 *
 * tests/sluice-worker-test is this file linked with tests/worker/probes.c,
 * which adds the job kind JOB_KIND_TEST through worker_test_kinds()
 * (sandbox/worker.h); sluice-worker has no such kind.
 */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "keys/aead.h"
#include "keys/keys.h"
#include "sandbox/confine.h"
#include "sandbox/fault.h"
#include "sandbox/ingest.h"
#include "sandbox/job.h"
#include "sandbox/query.h"
#include "sandbox/rekey.h"
#include "sandbox/worker.h"
#ifdef SL_SANITIZERS
#include <sanitizer/common_interface_defs.h>
#endif

/* The smallest memory budget a header may ask for (see confine_opts.memory_bytes). */
#define WORKER_MEMORY_MIN (1u << 20)

#ifdef SL_SANITIZERS
/*
 * The worker starts with an empty environment, so ASAN_OPTIONS cannot reach
 * it; these are its options.  Under seccomp: no leak check at exit (LSan
 * stops the world with clone and ptrace), no external symbolizer (fork and
 * exec), and no SEGV handler (its report reads /proc).  malloc returns NULL
 * under RLIMIT_AS, as glibc's does, so the memory limit ends a job the same
 * way in both builds.
 */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0:allocator_may_return_null=1:handle_segv=0:symbolize=0";
}
#endif

/* How the worker ended up confined; reported by the "status" test probe. */
static struct confine_report worker_confined;

const struct confine_report *
worker_confinement(void)
{
	return &worker_confined;
}

/* ---- answering the broker ------------------------------------------------ */

/*
 * ERROR: the code and, for a fault in the input, its place (sandbox/fault.h);
 * never words.  The words go to standard error, which the broker logs for
 * its operators and never shows the party that asked.  code 0: as r says.
 */
static void
send_error(int r, uint32_t code)
{
	struct job_error_frame e;
	uint8_t buf[JOB_ERROR_MAX];
	size_t len = 0;

	sl_warnx("job failed: %s", sl_err_msg(r));
	fault_frame(r, &e);
	if (code != 0)
		e.code = code;
	if (job_error_encode(&e, buf, &len) != 0 ||
	    job_frame_write(JOB_FD, JOB_FRAME_ERROR, buf, len) != 0) {
		/* The broker is gone; the exit status is all it will see. */
	}
}

/*
 * Lazy initialisations that would otherwise run after confinement and reach
 * for a file, found by running confined jobs under strace: jansson seeds its
 * hash tables from /dev/urandom at the first object, OpenSSL reads
 * openssl.cnf and fetches a cipher at its first use.  Run them before the
 * job: seed jansson, and seal a few bytes once with every AEAD of suite (an
 * algorithm that fails here fails the same way in the job, which reports it).
 * XXX: the OpenSSL half belongs in keys_init().
 */
static void
warm_libraries(enum keys_suite suite)
{
	static const enum keys_aead algs[] = {
	    KEYS_AEAD_AES256GCM, KEYS_AEAD_XCHACHA20POLY1305, KEYS_AEAD_SM4CTR_HMACSM3};
	uint8_t key[KEYS_AEAD_KEY_BYTES], out[16 + KEYS_AEAD_OVERHEAD_MAX];
	size_t i;

	json_object_seed(0);
	memset(key, 0, sizeof(key));
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (keys_aead_in_suite(suite, algs[i]) &&
		    keys_aead_seal(algs[i], key, "", 0, "warm", 4, out) != 0) {
			/* reported by the job, if it needs this algorithm */
		}
}

/* ---- job kinds ----------------------------------------------------------- */

static int
ingest_prepare_kind(const struct job_header *h, void **state)
{
	struct ingest *in = NULL;
	int r;

	if ((r = ingest_prepare(h, &in)) == 0)
		*state = in;
	return r;
}

static int
ingest_run_kind(void *state, int fd)
{
	return ingest_run(state, fd);
}

static void
ingest_release_kind(void *state)
{
	ingest_free(state);
}

static int
query_prepare_kind(const struct job_header *h, void **state)
{
	struct query *q = NULL;
	int r;

	if ((r = query_prepare(h, &q)) == 0)
		*state = q;
	return r;
}

static int
query_run_kind(void *state, int fd)
{
	return query_run(state, fd);
}

static void
query_release_kind(void *state)
{
	query_free(state);
}

static int
rekey_prepare_kind(const struct job_header *h, void **state)
{
	struct rekey *k = NULL;
	int r;

	if ((r = rekey_prepare(h, &k)) == 0)
		*state = k;
	return r;
}

static int
rekey_run_kind(void *state, int fd)
{
	return rekey_run(state, fd);
}

static void
rekey_release_kind(void *state)
{
	rekey_free(state);
}

static const struct worker_kind worker_kinds[] = {
    {JOB_KIND_INGEST, "ingest", CONFINE_INGEST, 1, ingest_prepare_kind, ingest_run_kind,
        ingest_release_kind},
    {JOB_KIND_QUERY, "query", CONFINE_QUERY, 1, query_prepare_kind, query_run_kind,
        query_release_kind},
    {JOB_KIND_REKEY, "rekey", CONFINE_INGEST, 1, rekey_prepare_kind, rekey_run_kind,
        rekey_release_kind},
};

/* A test build's extra kinds (worker_test_kinds()); none in sluice-worker. */
static const struct worker_kind *test_kinds;
static size_t ntest_kinds;

/* The kind of header h: one of worker_kinds[] or of test_kinds[], else NULL. */
static const struct worker_kind *
kind_find(const struct job_header *h)
{
	size_t i;

	for (i = 0; i < sizeof(worker_kinds) / sizeof(worker_kinds[0]); i++)
		if (worker_kinds[i].kind == h->kind)
			return &worker_kinds[i];
	for (i = 0; i < ntest_kinds; i++)
		if (test_kinds[i].kind == h->kind)
			return &test_kinds[i];
	return NULL;
}

/* The header is trusted, but checked: a broker bug must not become a weaker sandbox. */
static int
header_check(const struct job_header *h, const struct worker_kind **out, uint32_t *code)
{
	const struct worker_kind *k = kind_find(h);

	if (k == NULL) {
		*code = JOB_ERR_UNSUPPORTED;
		return sl_errf(SL_ERR_INVAL, "job header: unknown job kind %u", h->kind);
	}
	if (h->cpu_seconds == 0)
		return sl_errf(SL_ERR_INVAL, "job header: %s job without a CPU limit", k->name);
	if (h->memory_bytes < WORKER_MEMORY_MIN)
		return sl_errf(SL_ERR_INVAL, "job header: %s job with a memory limit of %llu bytes",
		    k->name, (unsigned long long)h->memory_bytes);
	if (k->need_store && h->store[0] != '/')
		return sl_errf(
		    SL_ERR_INVAL, "job header: %s job without an absolute store path", k->name);
	if (k->profile == CONFINE_INGEST && h->map_bytes == 0)
		return sl_errf(SL_ERR_INVAL, "job header: %s job without a map size", k->name);
	*out = k;
	return 0;
}

/* ---- the one job --------------------------------------------------------- */

void (*worker_job_done)(void);

int
worker_main(void)
{
	const struct worker_kind *k = NULL;
	struct job_header h;
	struct confine_opts co;
	struct stat st;
	uint8_t *payload = NULL;
	void *state = NULL;
	size_t len = 0;
	uint32_t type, code = 0;
	int r, status, netns_early;

	memset(&h, 0, sizeof(h));
	sl_log_init("sluice-worker");
	if (worker_test_kinds != NULL)
		test_kinds = worker_test_kinds(&ntest_kinds);
	if (fstat(JOB_FD, &st) == -1 || !S_ISSOCK(st.st_mode)) {
		sl_errorx("started by sluice for one job, with its socket on descriptor %d; "
		          "it is not run by hand",
		    JOB_FD);
		return JOB_EXIT_USAGE;
	}

	/*
	 * The libraries first: the broker may start the worker before it has
	 * the job ready (a query, while it checks the contract), and this is
	 * the part of the start-up that needs no job.
	 */
	if ((r = keys_init(0)) != 0) {
		r = sl_errf(r, "job: cannot initialise the crypto libraries");
		goto fail;
	}
	/*
	 * The intl suite's before the job (its AES-GCM fetch builds OpenSSL's
	 * cipher table, the costly part), the job's own after the HEADER: a
	 * worker of the intl suite does not build the MAC and digest tables
	 * that the gm suite's SM4-CTR + HMAC-SM3 needs.
	 */
	warm_libraries(KEYS_SUITE_INTL);
	netns_early = confine_netns_early();

	/* Trusted: the HEADER frame, from the broker. */
	if ((r = job_frame_read(JOB_FD, &type, &payload, &len, JOB_FRAME_MAX)) != 0)
		goto fail;
	if (type != JOB_FRAME_HEADER) {
		r = sl_errf(SL_ERR_PARSE, "job: the first frame is of type %u, not HEADER", type);
		code = JOB_ERR_PROTOCOL;
		goto fail;
	}
	r = job_header_decode(payload, len, &h);
	job_wipe_free(payload, len); /* it held the data key */
	payload = NULL;
	if (r != 0 || (r = header_check(&h, &k, &code)) != 0) {
		if (code == 0)
			code = r == SL_ERR_NOMEM ? JOB_ERR_NOMEM : JOB_ERR_HEADER;
		goto fail;
	}
	warm_libraries((enum keys_suite)h.suite);

	/* Everything the job needs from the file system and the libraries, before confinement. */
	if ((r = k->prepare(&h, &state)) != 0)
		goto fail;

#ifdef SL_SANITIZERS
	/* Let ASan and UBSan cache what their reports read from /proc (binary name, mappings). */
	__sanitizer_sandbox_on_notify(NULL);
#endif
	/*
	 * One malloc arena for every thread.  glibc gives a thread an arena of its
	 * own on an mmap'd heap, and when such a heap shrinks it reads
	 * /proc/sys/vm/overcommit_memory (and with many arenas /sys for the CPU
	 * count): confined, that open kills the job.  The main arena grows and
	 * shrinks with brk alone.  The scan allocates per chunk, not per row, so
	 * its lock is not contended.
	 */
	mallopt(M_ARENA_MAX, 1);
	memset(&co, 0, sizeof(co));
	co.profile = k->profile_of != NULL ? k->profile_of(&h) : k->profile;
	co.cpu_seconds = h.cpu_seconds;
	co.threads = h.threads;
	co.memory_bytes = h.memory_bytes;
	co.fsize_bytes = h.map_bytes;
	co.store_path = h.store[0] != '\0' ? h.store : NULL;
	co.uid = (uid_t)h.uid; /* the broker's choice; confine_apply() refuses root */
	co.gid = (gid_t)h.gid;
	co.netns_early = netns_early;
	if ((r = confine_apply(&co, &worker_confined)) != 0)
		goto fail;
	if (worker_confined.missing & CONFINE_NO_NETNS)
		sl_warnx("confined without a network namespace (the kernel refused one)");
	if (worker_confined.missing & CONFINE_NO_LANDLOCK)
		sl_warnx("confined without Landlock (the kernel has none)");

	/* Untrusted from here on: every byte read from JOB_FD. */
	if ((r = k->run(state, JOB_FD)) != 0)
		goto fail;
	status = JOB_EXIT_OK;
	goto out;
fail:
	send_error(r, code);
	status = r == SL_ERR_NOMEM ? JOB_EXIT_NOMEM : JOB_EXIT_FAILED;
out:
	if (k != NULL && state != NULL)
		k->release(state);
	job_wipe_free(payload, len);
	job_header_clear(&h);
	if (worker_job_done != NULL)
		worker_job_done();
	return status;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf(
		    "sluice-worker %s (job protocol %d)\n", PACKAGE_VERSION, JOB_PROTOCOL_VERSION);
		return 0;
	}
	/*
	 * _exit: atexit handlers of the libraries (OpenSSL's cleanup, ASan's)
	 * might make system calls outside the allowlist.  worker_main() has
	 * already released what it held; nothing is buffered on stdio.
	 */
	_exit(worker_main());
}
