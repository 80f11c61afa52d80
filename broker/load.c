/*
 * broker/load.c -- the broker side of an ingest job.
 *
 * Holds the product's data key only to hand it to the worker in the job
 * header; spawn_job() wipes the encoded header as soon as it is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/fault.h"
#include "broker/keyring.h"
#include "broker/launch.h"
#include "broker/load.h"
#include "broker/product.h"
#include "broker/spawn.h"
#include "common/err.h"
#include "common/file.h"
#include "common/schema.h"
#include "common/text.h"
#include "keys/aead.h"
#include "keys/dek.h"
#include "keys/keys.h"
#include "keys/master.h"
#include "sandbox/job.h"

/*
 * A version's environment is about as large as its sealed bytes; give its
 * map room for the upload and LMDB's own pages, within what the product's
 * size limit leaves.  0 when the limit leaves no room at all.
 */
static uint64_t
map_size(const struct product *p, uint64_t upload)
{
	uint64_t want = 2 * upload + (64ULL << 20), used = 0;
	size_t i;

	if (p->max_bytes <= 0)
		return want;
	for (i = 0; i < p->nversions; i++)
		if (strcmp(p->versions[i].state, "published") == 0)
			used += (uint64_t)p->versions[i].bytes;
	if (used >= (uint64_t)p->max_bytes)
		return 0;
	return want < (uint64_t)p->max_bytes - used ? want : (uint64_t)p->max_bytes - used;
}

/*
 * What a worker that wrote a version claims: checked as far as the broker
 * can before the version is published (the worker may be compromised).
 */
static int
counts_parse(const uint8_t *payload, size_t len, const struct product *p, struct product_counts *c)
{
	struct job_written w;
	struct schema *sch = NULL;
	int64_t want;
	int r;

	if ((r = job_written_decode(payload, len, &w)) != 0)
		return r;
	if ((r = schema_parse(p->schema, strlen(p->schema), &sch)) != 0)
		return r;
	want = (int64_t)sch->ncols * (int64_t)((w.rows + JOB_CHUNK_ROWS - 1) / JOB_CHUNK_ROWS);
	schema_free(sch);
	if (w.rows > INT64_MAX / 2 || w.chunks != (uint64_t)want || w.bytes > INT64_MAX)
		return sl_errf(SL_ERR_PARSE, "implausible answer: the worker's counts do not fit "
		                             "the version it was to write");
	c->rows = (int64_t)w.rows;
	c->chunks = (int64_t)w.chunks;
	c->bytes = (int64_t)w.bytes;
	_Static_assert(sizeof(c->manifest) == JOB_DIGEST_BYTES, "a manifest digest has one size");
	memcpy(c->manifest, w.manifest, sizeof(c->manifest));
	return 0;
}

/* Less room than this left where a job's write failed: the disk is full. */
#define DISK_FULL_BYTES (1u << 20)

/* A worker's binary ERROR frame (one without input places) in words. */
static int
worker_words(const uint8_t *payload, size_t len, const char *dir, char *out, size_t outlen)
{
	struct fault_input none = {0};
	struct job_error_frame e;
	struct statvfs sv;
	int r;

	if ((r = job_error_decode(payload, len, &e)) != 0)
		return r;
	/*
	 * LMDB reports a write cut short by a full disk as EIO, so the worker
	 * can only say I/O error; the broker can look at the disk, and says so.
	 */
	if (e.code == JOB_ERR_IO && dir != NULL && statvfs(dir, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < DISK_FULL_BYTES)
		e.code = JOB_ERR_DISK_FULL;
	return fault_words(&e, &none, out, outlen);
}

/*
 * The worker's refusal of the upload, e (JOB_ERR_INPUT), as the document
 * load_product() gives: {"errors":[{"line","column","message"}],"total"},
 * each place in words from the broker's own copy of the upload (read by rd), and the
 * product's schema.  SL_ERR_PARSE (message recorded) for a place the file or
 * the schema does not have: the worker's answer is implausible.
 */
static int
refusal_doc(fault_pread_fn rd, void *ctx, const struct product *p, const struct job_error_frame *e,
    json_t **out)
{
	struct fault_input in = {0};
	struct fault_file *file = NULL;
	struct schema *sch = NULL;
	json_t *errs = NULL;
	char msg[512];
	size_t i;
	int r;

	*out = NULL;
	if (e->nplaces == 0)
		return sl_errf(SL_ERR_PARSE, "the worker refused the upload without saying where");
	if ((file = malloc(sizeof *file)) == NULL || (errs = json_array()) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if ((r = schema_parse(p->schema, strlen(p->schema), &sch)) != 0 ||
	    (r = fault_file_read(rd, ctx, e, file)) != 0)
		goto out;
	in.schema = sch;
	in.product = p->name;
	in.file = file;
	for (i = 0; i < e->nplaces; i++) {
		if ((r = fault_place_words(e, i, &in, msg, sizeof msg)) != 0)
			goto out;
		if (json_array_append_new(errs,
		        json_pack("{s:I, s:I, s:s}", "line", (json_int_t)e->places[i].line,
		            "column", (json_int_t)e->places[i].column, "message", msg)) != 0) {
			r = SL_ERR_NOMEM;
			goto out;
		}
	}
	if ((*out = json_pack("{s:O, s:I}", "errors", errs, "total", (json_int_t)e->total)) == NULL)
		r = SL_ERR_NOMEM;
out:
	json_decref(errs);
	schema_free(sch);
	free(file);
	return r;
}

/* Printable ASCII of at most 200 bytes of a worker's message, for people. */
static void
clean(const char *m, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; m != NULL && m[i] != '\0' && i + 1 < outlen && i < 200; i++)
		out[i] = m[i] >= 0x20 && m[i] < 0x7f ? m[i] : '?';
	out[i] = '\0';
}

json_t *
load_result_json(const char *product, const struct load_result *res)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I}", "product", product, "version",
	    (json_int_t)res->version, "rows", (json_int_t)res->rows, "chunks",
	    (json_int_t)res->chunks, "bytes", (json_int_t)res->bytes);
}

void
load_result_clear(struct load_result *res)
{
	json_decref(res->errors);
	memset(res, 0, sizeof(*res));
}

/* A load's progress: the worker's last checked claim, and when it was last reported. */
struct progress {
	load_progress_fn fn;
	void *arg;
	uint64_t rows_max; /* the most rows a claim may count; 0: no bound known */
	struct load_progress p;
	double t0, last;
	int started, reported;
};

/*
 * One PROGRESS frame from the worker.  The worker may be compromised, so its
 * claim is checked before anyone sees it: rows and bytes never decrease, and
 * it cannot have consumed more than the broker sent (bytes_sent only grows,
 * so what was sent when the frame is read bounds what the worker had when it
 * wrote it).  A claim that fails is a protocol error, not merely ignored: an
 * honest worker never makes one, and one that lies about its counts is not
 * to be trusted with the version either, so the job fails as for any frame
 * that does not decode.  Reported to ps->fn when it is the first, or
 * 1/LOAD_PROGRESS_HZ s after the last report.
 */
static int
progress_take(struct spawn *sp, struct progress *ps, const uint8_t *payload, size_t len)
{
	uint64_t rows, bytes;
	double t;

	if (job_progress_decode(payload, len, &rows, &bytes) != 0)
		return spawn_refuse(sp, "a malformed PROGRESS frame");
	if (rows < ps->p.rows || bytes < ps->p.bytes_read)
		return spawn_refuse(sp, "a PROGRESS frame whose counts went back");
	if (ps->rows_max > 0 && rows > ps->rows_max)
		return spawn_refuse(sp, "a PROGRESS frame claiming more rows than there are");
	if (bytes > ps->p.bytes_sent)
		return spawn_refuse(sp, "a PROGRESS frame claiming more bytes than were sent");
	ps->p.rows = rows;
	ps->p.bytes_read = bytes;
	if (ps->fn == NULL)
		return 0;
	t = sl_monotonic() - ps->t0;
	if (ps->reported && t - ps->last < 1.0 / LOAD_PROGRESS_HZ)
		return 0;
	ps->reported = 1;
	ps->last = t;
	ps->p.seconds = t;
	ps->fn(ps->arg, &ps->p);
	return 0;
}

/*
 * The job's final frame into *type, *payload and *len (unless *payload holds
 * it already), taking the PROGRESS frames before it.  *type is 0 when there
 * is none: the worker went away, or a PROGRESS claim was refused (which
 * kills it); spawn_wait() then says how it ended.
 */
static int
final_frame(struct spawn *sp, struct progress *ps, uint32_t *type, uint8_t **payload, size_t *len)
{
	int r = 0;

	while (*payload == NULL && (r = spawn_recv(sp, type, payload, len)) == 0 &&
	       *type == JOB_FRAME_PROGRESS) {
		r = progress_take(sp, ps, *payload, *len);
		free(*payload);
		*payload = NULL;
		if (r != 0)
			break;
	}
	if (r != 0)
		*type = 0;
	return r;
}

/*
 * Record a load that did not publish: refused (the upload was invalid) or
 * failed (the job died).  Only counts and the outcome: never a value from
 * the upload.  Its own transaction; a failure here does not hide the first.
 */
static void
audit_failure(struct exchange *ex, const struct product *p, int64_t version, const char *action,
    json_t *details, const char *actor)
{
	char subject[PRODUCT_SUBJECT_MAX];
	int saved;

	product_subject(p, version, subject);
	saved = db_begin(exchange_db(ex));
	if (saved == 0 && exchange_audit(ex, actor, action, subject, details) == 0 &&
	    db_commit(exchange_db(ex)) == 0)
		return;
	db_rollback(exchange_db(ex));
}

struct load_session {
	struct product p;
	int have_product;
	struct product_stage stage;
	struct spawn *sp;
	struct progress ps;
	char *actor, *label;
	uint64_t size;
	int reread_fd; /* the caller's file, or -1 */
	int spool;     /* or our spool of what was fed, encrypted; -1 */
	uint8_t *spool_key;
	/* The job's final frame when it came before END: the worker's refusal. */
	uint32_t type;
	uint8_t *payload;
	size_t len;
	int ended; /* the final frame came, or the worker is gone: no more DATA */
};

/* A fault_pread_fn for the spool: the bytes decrypted as they are read. */
static long
spool_pread(void *ctx, uint8_t *buf, size_t n, uint64_t off)
{
	struct load_session *s = ctx;
	long got = fault_pread_fd(&s->spool, buf, n, off);

	if (got > 0)
		keys_scratch_xor(s->spool_key, off, buf, (size_t)got);
	return got;
}

/* An unlinked file in the exchange's directory, never named: the spool. */
static int
spool_open(struct exchange *ex, struct load_session *s)
{
	char *tmpl;
	int fd;

	if ((s->spool_key = keys_secret_alloc(KEYS_SCRATCH_KEY_BYTES)) == NULL)
		return SL_ERR_NOMEM;
	keys_random(s->spool_key, KEYS_SCRATCH_KEY_BYTES);
	fd = open(exchange_dir(ex), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* A file system without O_TMPFILE: a named file, unlinked at once. */
		if ((tmpl = sl_path_join(exchange_dir(ex), ".upload.XXXXXX")) == NULL)
			return SL_ERR_NOMEM;
		if ((fd = mkostemp(tmpl, O_CLOEXEC)) != -1)
			(void)unlink(tmpl);
		free(tmpl);
	}
	if (fd == -1)
		return sl_errf(SL_ERR_IO, "%s: cannot make the upload's spool: %s", exchange_dir(ex),
		    strerror(errno));
	s->spool = fd;
	return 0;
}

/* Append n bytes of the upload to the spool, encrypted. */
static int
spool_write(struct load_session *s, const uint8_t *buf, size_t n)
{
	uint64_t off = s->ps.p.bytes_sent;
	uint8_t *c = malloc(n > 0 ? n : 1);
	size_t done = 0;
	ssize_t k;

	if (c == NULL)
		return SL_ERR_NOMEM;
	memcpy(c, buf, n);
	keys_scratch_xor(s->spool_key, off, c, n);
	while (done < n) {
		k = pwrite(s->spool, c + done, n - done, (off_t)(off + done));
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1) {
			free(c);
			return sl_errf(SL_ERR_IO, "%s: cannot spool the upload: %s", s->label,
			    strerror(errno));
		}
		done += (size_t)k;
	}
	free(c);
	return 0;
}

static void
session_free(struct load_session *s)
{
	if (s == NULL)
		return;
	free(s->payload);
	spawn_free(s->sp);
	product_stage_end(&s->stage);
	if (s->have_product)
		product_clear(&s->p);
	if (s->spool != -1)
		close(s->spool);
	keys_secret_free(s->spool_key);
	free(s->actor);
	free(s->label);
	free(s);
}

int
load_begin(struct exchange *ex, const struct load_spec *spec, struct load_session **out)
{
	struct launch l = {.kind = JOB_KIND_INGEST,
	    .key_version = PRODUCT_VERSION_KEY,
	    .cpu_seconds = LOAD_CPU_SECONDS,
	    .memory_bytes = LOAD_MEMORY_BYTES};
	struct load_session *s;
	struct spawn *sp = spec->worker;
	char params[64];
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		spawn_free(sp);
		return SL_ERR_NOMEM;
	}
	s->spool = -1;
	s->reread_fd = spec->reread_fd;
	s->size = spec->size;
	s->ps.fn = spec->progress;
	s->ps.arg = spec->progress_arg;
	s->ps.p.size = spec->size;
	if ((s->actor = strdup(spec->actor)) == NULL || (s->label = strdup(spec->label)) == NULL) {
		r = SL_ERR_NOMEM;
		goto fail;
	}
	if (spec->size > LOAD_SIZE_MAX) {
		r = sl_errf(SL_ERR_LIMIT, "%s: %llu bytes; a load takes at most %llu", s->label,
		    (unsigned long long)spec->size, LOAD_SIZE_MAX);
		goto fail;
	}
	if ((r = product_find(ex, spec->product, &s->p)) != 0)
		goto fail;
	s->have_product = 1;
	if ((l.map_bytes = map_size(&s->p, spec->size)) < (1u << 20)) {
		r = sl_errf(SL_ERR_LIMIT,
		    "%s: product %s has %llu of its %lld bytes (--max-bytes) left, too little for "
		    "a load (1 MiB at least); drop a version to make room; nothing loaded",
		    s->label, s->p.name, (unsigned long long)l.map_bytes, (long long)s->p.max_bytes);
		goto fail;
	}
	if (s->reread_fd == -1 && (r = spool_open(ex, s)) != 0)
		goto fail;
	if ((r = product_stage_begin(ex, &s->p, &s->stage)) != 0)
		goto fail;
	snprintf(params, sizeof(params), "{\"format\":\"%s\"}", spec->format);
	l.product = &s->p;
	l.version = s->stage.version;
	l.key = s->stage.dek;
	l.store = s->stage.dir;
	l.params = params;
	l.threads = spec->threads > 0 ? spec->threads : launch_threads_default();
	if (sp != NULL) {
		/* Started ahead with an idle deadline: the job's own starts now. */
		spawn_rearm(sp, LOAD_WALL_MS);
		if ((r = launch_send(ex, sp, &l)) != 0)
			goto fail;
		s->sp = sp;
		sp = NULL;
	} else if ((r = launch_job(ex, &l, LOAD_WALL_MS, &s->sp)) != 0) {
		goto fail;
	}
	s->ps.t0 = sl_monotonic();
	s->ps.started = 1;
	*out = s;
	return 0;
fail:
	spawn_free(sp);
	session_free(s);
	return r;
}

int
load_feed(struct load_session *s, const void *buf, size_t n)
{
	uint8_t *p;
	uint32_t t;
	size_t n_p;
	int r;

	if (s->ended)
		return 1;
	if (n > LOAD_PIECE_BYTES || n > s->size - s->ps.p.bytes_sent)
		return sl_errf(SL_ERR_LIMIT, "%s: %zu bytes more than the %llu announced", s->label,
		    n, (unsigned long long)s->size);
	if (n == 0)
		return 0;
	if (s->spool != -1 && (r = spool_write(s, buf, n)) != 0)
		return r;
	r = spawn_send(s->sp, JOB_FRAME_DATA, buf, n);
	/* Even when the send failed part way: the worker may have read all of it. */
	s->ps.p.bytes_sent += n;
	if (r != 0) {
		/* It is gone; load_finish() learns how from spawn_wait(). */
		s->ended = 1;
		return 1;
	}
	while ((r = spawn_poll(s->sp, &t, &p, &n_p)) == 1) {
		if (t != JOB_FRAME_PROGRESS) {
			/* Its final frame before END: the permit table allows no END after it. */
			s->type = t;
			s->payload = p;
			s->len = n_p;
			s->ended = 1;
			return 1;
		}
		r = progress_take(s->sp, &s->ps, p, n_p);
		free(p);
		if (r != 0)
			break;
	}
	if (r != 0) {
		s->ended = 1;
		return 1;
	}
	return 0;
}

const struct load_progress *
load_session_progress(struct load_session *s)
{
	s->ps.p.seconds = sl_monotonic() - s->ps.t0;
	return &s->ps.p;
}

int64_t
load_session_version(const struct load_session *s)
{
	return s->stage.version;
}

void
load_abort(struct load_session *s, struct exchange *ex, const char *why)
{
	if (s == NULL)
		return;
	spawn_free(s->sp);
	s->sp = NULL;
	product_stage_end(&s->stage); /* first: on a full disk its space is the audit event's */
	audit_failure(ex, &s->p, s->stage.version, "product.load_failed",
	    json_pack("{s:I, s:s, s:s}", "version", (json_int_t)s->stage.version, "outcome", why,
	        "detail", "the upload did not end"),
	    s->actor);
	session_free(s);
}

/* The worker's refusal of the upload in words, read back from the broker's copy. */
static int
session_refusal(struct load_session *s, const struct job_error_frame *e, json_t **out)
{
	if (s->reread_fd != -1)
		return refusal_doc(fault_pread_fd, &s->reread_fd, &s->p, e, out);
	return refusal_doc(spool_pread, s, &s->p, e, out);
}

int
load_finish(struct load_session *s, struct exchange *ex, struct load_result *res)
{
	struct product_counts counts;
	struct spawn_result sr;
	struct job_error_frame e;
	const char *why = NULL;
	char msg[256];
	int r;

	memset(res, 0, sizeof(*res));
	memset(&counts, 0, sizeof(counts));
	res->version = s->stage.version;
	if (!s->ended && s->ps.p.bytes_sent != s->size) {
		r = sl_errf(SL_ERR_INVAL, "%s: %llu of the %llu bytes announced were sent",
		    s->label, (unsigned long long)s->ps.p.bytes_sent, (unsigned long long)s->size);
		load_abort(s, ex, "incomplete");
		return r;
	}
	/*
	 * The worker's own refusal comes in its ERROR frame; a send error means
	 * it is gone, and a PROGRESS refused kills it: spawn_wait() tells which.
	 */
	if (!s->ended && spawn_send(s->sp, JOB_FRAME_END, NULL, 0) != 0)
		s->ended = 1; /* gone: spawn_wait() says how */
	(void)final_frame(s->sp, &s->ps, &s->type, &s->payload, &s->len);
	if ((r = spawn_wait(s->sp, &sr)) != 0)
		goto out;
	if (sr.outcome == SPAWN_FAILED && s->type == JOB_FRAME_ERROR &&
	    job_error_decode(s->payload, s->len, &e) == 0 && e.code == JOB_ERR_INPUT &&
	    (r = session_refusal(s, &e, &res->errors)) != 0) {
		if (r != SL_ERR_PARSE)
			goto out;
		why = "implausible answer";
		snprintf(msg, sizeof(msg), "%s", sl_err_msg(r));
	}
	if (res->errors != NULL) {
		product_stage_end(&s->stage); /* first: on a full disk its space is the audit event's */
		audit_failure(ex, &s->p, res->version, "product.load_refused",
		    json_pack("{s:I, s:I}", "version", (json_int_t)res->version, "errors",
		        json_integer_value(json_object_get(res->errors, "total"))),
		    s->actor);
		r = sl_errf(SL_ERR_PARSE, "%s: refused, nothing loaded", s->label);
		goto out;
	}
	if (why == NULL && sr.outcome == SPAWN_FAILED && s->type == JOB_FRAME_ERROR &&
	    worker_words(s->payload, s->len, s->stage.dir, msg, sizeof msg) == 0) {
		/* The job could not write the version: the disk, the map, the file size limit. */
		char *where = s->stage.dir != NULL ? strdup(s->stage.dir) : NULL;

		product_stage_end(&s->stage);
		audit_failure(ex, &s->p, res->version, "product.load_failed",
		    json_pack("{s:I, s:s, s:s}", "version", (json_int_t)res->version, "outcome",
		        "I/O error", "detail", msg),
		    s->actor);
		r = sl_errf(SL_ERR_IO,
		    "%s: I/O error writing the new version in %s (%s); nothing loaded", s->label,
		    where != NULL ? where : "its staging directory", msg);
		free(where);
		goto out;
	}
	sl_err_clear();
	if (why != NULL || sr.outcome != SPAWN_OK || s->type != JOB_FRAME_RESULT ||
	    (r = counts_parse(s->payload, s->len, &s->p, &counts)) != 0) {
		if (why == NULL) {
			why = sr.outcome == SPAWN_OK ? "implausible answer"
			                             : spawn_outcome_name(sr.outcome);
			snprintf(msg, sizeof(msg), "%s",
			    sr.outcome == SPAWN_OK ? sl_err_msg(r) : sr.detail);
		}
		product_stage_end(&s->stage);
		audit_failure(ex, &s->p, res->version, "product.load_failed",
		    json_pack("{s:I, s:s, s:s}", "version", (json_int_t)res->version, "outcome",
		        why, "detail", msg),
		    s->actor);
		r = sl_errf(SL_ERR_POLICY, "%s: the ingest job failed (%s: %s); nothing loaded",
		    s->label, why, msg);
		goto out;
	}
	res->rows = counts.rows;
	res->chunks = counts.chunks;
	res->bytes = counts.bytes;
	r = product_version_publish(ex, &s->p, &s->stage, &counts, s->actor);
out:
	if (s->ps.fn != NULL && s->ps.started) {
		s->ps.p.done = 1;
		s->ps.p.ok = r == 0;
		if (s->ps.p.ok)
			s->ps.p.rows = (uint64_t)counts.rows;
		s->ps.p.seconds = sl_monotonic() - s->ps.t0;
		s->ps.fn(s->ps.arg, &s->ps.p);
	}
	session_free(s);
	return r;
}

int
load_product(struct exchange *ex, const char *name, const char *path, const char *format,
    unsigned threads, load_progress_fn progress, void *arg, struct load_result *res,
    const char *actor)
{
	struct load_spec spec = {.product = name,
	    .format = format,
	    .threads = threads,
	    .actor = actor,
	    .label = path,
	    .progress = progress,
	    .progress_arg = arg};
	struct load_session *s = NULL;
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t n;
	int fd, r;

	memset(res, 0, sizeof(*res));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		r = sl_errf(SL_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = sl_errf(SL_ERR_INVAL, "%s: not a regular file", path);
		goto out;
	}
	spec.size = (uint64_t)st.st_size;
	spec.reread_fd = fd;
	if ((buf = malloc(LOAD_PIECE_BYTES)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if ((r = load_begin(ex, &spec, &s)) != 0)
		goto out;
	res->version = load_session_version(s);
	for (;;) {
		/* At most what was announced: a file that grows is read as it was at the start. */
		size_t want = spec.size - load_session_progress(s)->bytes_sent;

		if (want > LOAD_PIECE_BYTES)
			want = LOAD_PIECE_BYTES;
		if (want == 0)
			break;
		n = read(fd, buf, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n == 0 ? sl_errf(SL_ERR_IO, "%s: the file shrank while it was read", path)
			           : sl_errf(SL_ERR_IO, "%s: %s", path, strerror(errno));
			load_abort(s, ex, "I/O error");
			s = NULL;
			goto out;
		}
		if ((r = load_feed(s, buf, (size_t)n)) == 1)
			break; /* the job ended early: load_finish() tells how */
		if (r != 0) {
			load_abort(s, ex, "I/O error");
			goto out;
		}
	}
	r = load_finish(s, ex, res);
out:
	free(buf);
	if (fd != -1)
		close(fd);
	return r;
}

int
load_rotate_product(struct exchange *ex, const char *name, load_progress_fn progress, void *arg,
    struct load_result *res)
{
	struct progress ps = {.fn = progress, .arg = arg};
	struct product p;
	struct product_stage stage;
	struct product_counts counts;
	struct launch l;
	struct keys_dek *old = NULL;
	struct spawn *sp = NULL;
	struct spawn_result sr;
	char *source = NULL, *ptext = NULL;
	const struct product_version *v = NULL;
	uint8_t *payload = NULL;
	uint32_t type = 0;
	size_t len, i;
	json_t *params = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&stage, 0, sizeof(stage));
	if ((r = product_find(ex, name, &p)) != 0)
		return r;
	for (i = p.nversions; i > 0 && v == NULL; i--)
		if (strcmp(p.versions[i - 1].state, "published") == 0)
			v = &p.versions[i - 1];
	if (v == NULL) {
		r = sl_errf(SL_ERR_POLICY,
		    "%s has no published version: there is no data key to rotate", name);
		goto out;
	}
	if ((r = product_version_key(ex, &p, v->version, v->key_version, &old)) != 0 ||
	    (r = product_version_dir(ex, p.name, v->version, &source)) != 0 ||
	    (r = product_stage_begin(ex, &p, &stage)) != 0)
		goto out;
	res->version = stage.version;
	if ((params = json_pack("{s:I, s:s}", "target_version", (json_int_t)stage.version, "source",
	         source)) == NULL ||
	    (ptext = json_dumps(params, JSON_COMPACT)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	/* The source version is read through its own key; the worker writes under the new one. */
	l = (struct launch){.kind = JOB_KIND_REKEY,
	    .product = &p,
	    .version = v->version,
	    .key = old,
	    .key_version = v->key_version,
	    .new_key = stage.dek,
	    .store = stage.dir,
	    .cpu_seconds = LOAD_CPU_SECONDS,
	    .memory_bytes = LOAD_MEMORY_BYTES,
	    .map_bytes = 2 * (uint64_t)v->bytes + (64ULL << 20),
	    .params = ptext,
	    .threads = launch_threads_default()};
	if ((r = launch_job(ex, &l, LOAD_WALL_MS, &sp)) != 0 ||
	    (r = spawn_send(sp, JOB_FRAME_END, NULL, 0)) != 0)
		goto out;
	/* What the worker re-sealed can be no more than the version holds. */
	ps.p.bytes_sent = ps.p.size = v->bytes;
	ps.rows_max = v->rows;
	ps.t0 = sl_monotonic();
	(void)final_frame(sp, &ps, &type, &payload, &len);
	if ((r = spawn_wait(sp, &sr)) != 0)
		goto out;
	sl_err_clear();
	if (sr.outcome != SPAWN_OK || type != JOB_FRAME_RESULT ||
	    (r = counts_parse(payload, len, &p, &counts)) != 0 || counts.rows != v->rows) {
		char msg[256];

		if (sr.outcome == SPAWN_OK)
			clean(r != 0 ? sl_err_msg(r) : "implausible answer", msg, sizeof(msg));
		else if (type != JOB_FRAME_ERROR ||
		         worker_words(payload, len, stage.dir, msg, sizeof msg) != 0)
			clean(sr.detail, msg, sizeof(msg));
		r = sl_errf(SL_ERR_POLICY, "%s: key rotation failed (%s: %s); nothing changed",
		    name, spawn_outcome_name(sr.outcome), msg);
		goto out;
	}
	res->rows = counts.rows;
	res->chunks = counts.chunks;
	res->bytes = counts.bytes;
	r = product_rotate_commit(ex, &p, &stage, v->version, &counts);
	ps.p.rows = counts.rows;
	ps.p.ok = r == 0;
out:
	if (progress != NULL && ps.p.bytes_sent > 0) {
		ps.p.done = 1;
		ps.p.seconds = sl_monotonic() - ps.t0;
		progress(arg, &ps.p);
	}
	free(payload);
	json_decref(params);
	free(ptext);
	spawn_free(sp);
	keys_dek_free(old);
	product_stage_end(&stage);
	product_clear(&p);
	free(source);
	return r;
}
