/*
 * broker/load.h -- `product load`: stream an upload through a confined worker
 * into a new version of a product (DESIGN.md section 3, "An ingest job").
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
 * Load path (format "csv" or "jsonl") into product name.  Returns 0 with the
 * published version in res, SL_ERR_PARSE when the upload was refused
 * (res->errors lists the first errors), or another error (message recorded).
 * progress: report to stderr as the upload goes.  actor is the audit events'
 * actor: the merchant when its key proved it, else the platform.
 */
int load_product(struct exchange *ex, const char *name, const char *path, const char *format,
    int progress, struct load_result *res, const char *actor) __attribute__((warn_unused_result));

/*
 * `keys rotate-product`: a new data key; the latest published version
 * re-sealed under it by a confined worker as a new version; the old key
 * retired.  All visible at once (product_rotate_commit()) or not at all.
 * res gets the new version and its counts (version 0 when there was none).
 */
int load_rotate_product(struct exchange *ex, const char *name, struct load_result *res)
    __attribute__((warn_unused_result));

void load_result_clear(struct load_result *res);

#endif
