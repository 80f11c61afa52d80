/*
 * broker/load.h -- `product load`: stream an upload through a confined worker
 * into a new version of a product (docs/architecture.md, "The ingest path").
 *
 * The broker never parses the upload: it reads the file in pieces and sends
 * them to sluice-worker, which validates, encodes, encrypts and writes the
 * version into the store's write transaction.  On the worker's RESULT the
 * broker publishes the version (catalog row and product.version_published, one
 * transaction).  On anything else nothing becomes visible.
 */
#ifndef SLUICE_BROKER_LOAD_H
#define SLUICE_BROKER_LOAD_H

#include <jansson.h>
#include <stdint.h>

struct exchange;

#define LOAD_PIECE_BYTES (1u << 20)
#define LOAD_CPU_SECONDS 600
#define LOAD_MEMORY_BYTES (1ULL << 30)
#define LOAD_WALL_MS (30u * 60 * 1000)
#define LOAD_SIZE_MAX (1ULL << 40) /* an upload's bytes: the map is sized from them */

struct load_result {
	int64_t version;
	int64_t rows, chunks, bytes;
	/* On refusal: the worker's {"errors":[...], "total":n}, or NULL. */
	json_t *errors;
};

/*
 * How far a load has come, for a progress display.  rows and bytes_read are
 * the worker's claim in its last PROGRESS frame (rows validated, bytes of the
 * upload it consumed), checked by the broker: they never decrease and
 * bytes_read never exceeds bytes_sent.  bytes_sent is what the broker has
 * sent of the file's size bytes; seconds since the upload began.  done: the
 * last call, once the job has ended either way; ok: it ended with the version
 * published, and rows is then the count in the worker's RESULT, which the
 * version publishes.
 */
struct load_progress {
	uint64_t rows, bytes_read, bytes_sent, size;
	double seconds;
	int done, ok;
};

/*
 * Called by load_product() at each PROGRESS frame, at most LOAD_PROGRESS_HZ
 * times a second (the first frame and the last call always), from the
 * thread that called load_product().  p is borrowed for the call.  It must
 * not call back into the exchange.
 */
typedef void (*load_progress_fn)(void *arg, const struct load_progress *p);
#define LOAD_PROGRESS_HZ 5

/*
 * One load, fed piece by piece: what load_product() does with a file, and
 * what the daemon does with the parts of an upload that come in separate
 * requests (broker/upload.h).  One code path for both.
 *
 *     load_begin(ex, &spec, &s)                  stage the version, start its worker
 *     while (... && load_feed(s, buf, n) == 0)  DATA, with the worker's PROGRESS
 *     load_finish(s, ex, &res)                   END, its answer, publish or refuse
 *     (or load_abort(s, ex, why): nothing published, the failure audited)
 *
 * load_finish() and load_abort() free s.  ex may be another handle on the
 * same exchange on each call (the daemon's job threads each have one).
 */
struct load_session; /* opaque */

struct load_spec {
	const char *product;
	const char *format; /* "csv" or "jsonl" */
	unsigned threads;   /* the worker's parser threads; 0: launch_threads_default() */
	uint64_t size;      /* the bytes that will be fed: the version's map is sized for them */
	const char *actor;  /* the audit events' actor */
	const char *label;  /* the upload in messages: its path, or "upload u_..." */
	/*
	 * The broker's copy of the upload, read back for the words of a refusal:
	 * reread_fd, a regular file the caller keeps open until load_finish();
	 * or -1: the session spools what is fed to an unlinked file in the
	 * exchange's directory, encrypted under a key of its own.
	 */
	int reread_fd;
	struct spawn *worker; /* a worker from spawn_start(), the session's; or NULL */
	load_progress_fn progress;
	void *progress_arg;
};

int load_begin(struct exchange *ex, const struct load_spec *spec, struct load_session **out)
    __attribute__((warn_unused_result));

/*
 * Send n bytes (at most LOAD_PIECE_BYTES) to the worker.  0: go on.  1: the
 * job has ended early (the worker refused the upload or went away), nothing
 * was sent and load_finish() says why.  Another error: the spool could not
 * be written; call load_abort().  More than spec->size in all is refused
 * (SL_ERR_LIMIT), as is a piece too large.
 */
int load_feed(struct load_session *s, const void *buf, size_t n) __attribute__((warn_unused_result));

/* How far it has come (the worker's checked claims); borrowed until the next call. */
const struct load_progress *load_session_progress(struct load_session *s);

/* The version being written. */
int64_t load_session_version(const struct load_session *s);

/* End the upload and take the job's answer: as load_product().  Frees s. */
int load_finish(struct load_session *s, struct exchange *ex, struct load_result *res)
    __attribute__((warn_unused_result));

/*
 * End it unpublished: the worker killed, the stage removed, and
 * product.load_failed audited with outcome why ("abandoned", "cancelled").
 * Frees s; s NULL is a no-op.
 */
void load_abort(struct load_session *s, struct exchange *ex, const char *why);

/*
 * Load path (format "csv" or "jsonl") into product name.  Returns 0 with the
 * published version in res, SL_ERR_PARSE when the upload was refused
 * (res->errors lists the first errors), or another error (message recorded).
 * progress, when not NULL, is called with arg as the upload goes (see
 * load_progress_fn).  actor is the audit events' actor: the merchant when
 * its key proved it, else the platform.
 */
int load_product(struct exchange *ex, const char *name, const char *path, const char *format,
    unsigned threads, load_progress_fn progress, void *arg, struct load_result *res,
    const char *actor) __attribute__((warn_unused_result));

/*
 * `keys rotate-product`: a new data key; the latest published version
 * re-sealed under it by a confined worker as a new version; the old key
 * retired.  All visible at once (product_rotate_commit()) or not at all.
 * res gets the new version and its counts (version 0 when there was none).
 * progress, when not NULL, is called as for load_product(): bytes_read is
 * what the worker has re-sealed of the version's size bytes, rows 0 until
 * the last call.
 */
int load_rotate_product(struct exchange *ex, const char *name, load_progress_fn progress, void *arg,
    struct load_result *res) __attribute__((warn_unused_result));

void load_result_clear(struct load_result *res);

/* A published load as `product load --json` prints it: {product, version, rows, chunks, bytes}. */
json_t *load_result_json(const char *product, const struct load_result *res);

#endif
