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

/* A worker's binary ERROR frame (one without input places) in words. */
static int
worker_words(const uint8_t *payload, size_t len, char *out, size_t outlen)
{
	struct fault_input none = {0};
	struct job_error_frame e;
	int r;

	if ((r = job_error_decode(payload, len, &e)) != 0)
		return r;
	return fault_words(&e, &none, out, outlen);
}

/*
 * The worker's refusal of the upload, e (JOB_ERR_INPUT), as the document
 * load_product() gives: {"errors":[{"line","column","message"}],"total"},
 * each place in words from the broker's own copy of the file, fd, and the
 * product's schema.  SL_ERR_PARSE (message recorded) for a place the file or
 * the schema does not have: the worker's answer is implausible.
 */
static int
refusal_doc(int fd, const struct product *p, const struct job_error_frame *e, json_t **out)
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
	    (r = fault_file_read(fd, e, file)) != 0)
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
 * Send the file in DATA frames, then END, taking the PROGRESS frames that
 * arrive meanwhile.  A final frame that arrives first (the worker's ERROR:
 * it refused the upload) ends the stream: it is left in *type, *payload and
 * *len for the caller, and no END is sent (the permit table allows none
 * after it).  Returns 0 or the first error; on an error from the worker
 * (send or PROGRESS) the caller learns more from spawn_recv()/spawn_wait().
 */
static int
stream_file(struct spawn *sp, int fd, const char *path, struct progress *ps, uint32_t *type,
    uint8_t **payload, size_t *len)
{
	uint8_t *buf = malloc(LOAD_PIECE_BYTES), *p;
	uint32_t t;
	size_t n_p;
	ssize_t n;
	int r = 0;

	if (buf == NULL)
		return SL_ERR_NOMEM;
	ps->t0 = sl_monotonic();
	ps->started = 1;
	for (;;) {
		n = read(fd, buf, LOAD_PIECE_BYTES);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = sl_errf(SL_ERR_IO, "%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0) {
			r = spawn_send(sp, JOB_FRAME_END, NULL, 0);
			break;
		}
		r = spawn_send(sp, JOB_FRAME_DATA, buf, (size_t)n);
		/* Even when the send failed part way: the worker may have read all of it. */
		ps->p.bytes_sent += (uint64_t)n;
		if (r != 0)
			break;
		while ((r = spawn_poll(sp, &t, &p, &n_p)) == 1) {
			if (t != JOB_FRAME_PROGRESS) {
				*type = t;
				*payload = p;
				*len = n_p;
				r = 0;
				goto out;
			}
			r = progress_take(sp, ps, p, n_p);
			free(p);
			if (r != 0)
				goto out;
		}
		if (r != 0)
			break;
	}
out:
	free(buf);
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

int
load_product(struct exchange *ex, const char *name, const char *path, const char *format,
    load_progress_fn progress, void *arg, struct load_result *res, const char *actor)
{
	struct progress ps = {.fn = progress, .arg = arg};
	struct product p;
	struct product_stage stage;
	struct product_counts counts;
	struct launch l = {.kind = JOB_KIND_INGEST,
	    .key_version = PRODUCT_VERSION_KEY,
	    .cpu_seconds = LOAD_CPU_SECONDS,
	    .memory_bytes = LOAD_MEMORY_BYTES};
	struct spawn *sp = NULL;
	struct spawn_result sr;
	struct job_error_frame e;
	struct stat st;
	const char *why = NULL;
	char params[64], msg[256];
	uint8_t *payload = NULL;
	uint32_t type = 0;
	size_t len;
	int fd = -1, r, have_product = 0;

	memset(res, 0, sizeof(*res));
	memset(&stage, 0, sizeof(stage));
	memset(&counts, 0, sizeof(counts));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		r = sl_errf(SL_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = sl_errf(SL_ERR_INVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((r = product_find(ex, name, &p)) != 0)
		goto out;
	have_product = 1;
	if ((l.map_bytes = map_size(&p, (uint64_t)st.st_size)) < (1u << 20)) {
		r = sl_errf(SL_ERR_LIMIT,
		    "%s: product %s has %llu of its %lld bytes (--max-bytes) left, too little for "
		    "a "
		    "load (1 MiB at least); drop a version to make room; nothing loaded",
		    path, p.name, (unsigned long long)l.map_bytes, (long long)p.max_bytes);
		goto out;
	}
	if ((r = product_stage_begin(ex, &p, &stage)) != 0)
		goto out;
	snprintf(params, sizeof(params), "{\"format\":\"%s\"}", format);
	res->version = stage.version;
	l.product = &p;
	l.version = stage.version;
	l.key = stage.dek;
	l.store = stage.dir;
	l.params = params;
	if ((r = launch_job(ex, &l, LOAD_WALL_MS, &sp)) != 0)
		goto out;
	/*
	 * The worker's own refusal comes in its ERROR frame; a send error means
	 * it is gone, and a PROGRESS refused kills it: spawn_wait() tells which.
	 */
	ps.p.size = (uint64_t)st.st_size;
	(void)stream_file(sp, fd, path, &ps, &type, &payload, &len);
	(void)final_frame(sp, &ps, &type, &payload, &len);
	if ((r = spawn_wait(sp, &sr)) != 0)
		goto out;
	if (sr.outcome == SPAWN_FAILED && type == JOB_FRAME_ERROR &&
	    job_error_decode(payload, len, &e) == 0 && e.code == JOB_ERR_INPUT &&
	    (r = refusal_doc(fd, &p, &e, &res->errors)) != 0) {
		if (r != SL_ERR_PARSE)
			goto out;
		why = "implausible answer";
		snprintf(msg, sizeof(msg), "%s", sl_err_msg(r));
	}
	if (res->errors != NULL) {
		product_stage_end(
		    &stage); /* first: on a full disk its space is the audit event's */
		audit_failure(ex, &p, res->version, "product.load_refused",
		    json_pack("{s:I, s:I}", "version", (json_int_t)res->version, "errors",
		        json_integer_value(json_object_get(res->errors, "total"))),
		    actor);
		r = sl_errf(SL_ERR_PARSE, "%s: refused, nothing loaded", path);
		goto out;
	}
	if (why == NULL && sr.outcome == SPAWN_FAILED && type == JOB_FRAME_ERROR &&
	    worker_words(payload, len, msg, sizeof msg) == 0) {
		/* The job could not write the version: the disk, the map, the file size limit. */
		char *where = stage.dir != NULL ? strdup(stage.dir) : NULL;

		product_stage_end(
		    &stage); /* first: on a full disk its space is the audit event's */
		audit_failure(ex, &p, res->version, "product.load_failed",
		    json_pack("{s:I, s:s, s:s}", "version", (json_int_t)res->version, "outcome",
		        "I/O error", "detail", msg),
		    actor);
		r = sl_errf(SL_ERR_IO,
		    "%s: I/O error writing the new version in %s (%s); nothing loaded", path,
		    where != NULL ? where : "its staging directory", msg);
		free(where);
		goto out;
	}
	sl_err_clear();
	if (why != NULL || sr.outcome != SPAWN_OK || type != JOB_FRAME_RESULT ||
	    (r = counts_parse(payload, len, &p, &counts)) != 0) {
		if (why == NULL) {
			why = sr.outcome == SPAWN_OK ? "implausible answer"
			                             : spawn_outcome_name(sr.outcome);
			snprintf(msg, sizeof(msg), "%s",
			    sr.outcome == SPAWN_OK ? sl_err_msg(r) : sr.detail);
		}
		product_stage_end(
		    &stage); /* first: on a full disk its space is the audit event's */
		audit_failure(ex, &p, res->version, "product.load_failed",
		    json_pack("{s:I, s:s, s:s}", "version", (json_int_t)res->version, "outcome",
		        why, "detail", msg),
		    actor);
		r = sl_errf(SL_ERR_POLICY, "%s: the ingest job failed (%s: %s); nothing loaded",
		    path, why, msg);
		goto out;
	}
	res->rows = counts.rows;
	res->chunks = counts.chunks;
	res->bytes = counts.bytes;
	r = product_version_publish(ex, &p, &stage, &counts, actor);
out:
	if (ps.fn != NULL && ps.started) {
		ps.p.done = 1;
		ps.p.ok = r == 0;
		if (ps.p.ok)
			ps.p.rows = (uint64_t)counts.rows;
		ps.p.seconds = sl_monotonic() - ps.t0;
		ps.fn(ps.arg, &ps.p);
	}
	free(payload);
	spawn_free(sp);
	product_stage_end(&stage);
	if (have_product)
		product_clear(&p);
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
	    .params = ptext};
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
		         worker_words(payload, len, msg, sizeof msg) != 0)
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
