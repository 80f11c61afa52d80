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
 * Load path (format "csv" or "jsonl") into product name.  Returns 0 with the
 * published version in res, SL_ERR_PARSE when the upload was refused
 * (res->errors lists the first errors), or another error (message recorded).
 * progress, when not NULL, is called with arg as the upload goes (see
 * load_progress_fn).  actor is the audit events' actor: the merchant when
 * its key proved it, else the platform.
 */
int load_product(struct exchange *ex, const char *name, const char *path, const char *format,
    load_progress_fn progress, void *arg, struct load_result *res, const char *actor)
    __attribute__((warn_unused_result));

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

#endif
