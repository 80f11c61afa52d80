/*
 * broker/upload.h -- the daemon's uploads: a product load over HTTPS in parts.
 *
 * libevent's HTTP server reads a request's body whole before its handler
 * runs, so an upload cannot stream in one request without the broker holding
 * all of it.  It comes instead as a resumable upload in the manner of tus and
 * of S3's multipart uploads: one request opens it (and starts its ingest
 * worker), each part is one request of at most UPLOAD_PART_MAX bytes at the
 * offset the upload has reached, and a last one completes it.  The parts go
 * straight to the worker (broker/load.h's session, the CLI's code path);
 * the broker keeps only an encrypted spool, for the line:column words of a
 * refusal.  An upload belongs to the party that opened it: to anyone else it
 * does not exist.  One left idle (UPLOAD_IDLE_S, `serve --upload-idle`) is
 * abandoned.
 *
 * Daemon only: the registry is process-wide and locked; each call may come
 * from any thread, with that thread's handle on the exchange.
 */
#ifndef SLUICE_BROKER_UPLOAD_H
#define SLUICE_BROKER_UPLOAD_H

#include <jansson.h>
#include <stdint.h>

#include "broker/load.h"
#include "common/text.h"

struct exchange;
struct keys_pubkey;
struct spawn;

#define UPLOAD_PART_MAX LOAD_PIECE_BYTES
#define UPLOAD_IDLE_S 600
#define UPLOADS_MAX 8       /* open at once, in the daemon */
#define UPLOADS_PER_PARTY 2 /* of them, by one party */
#define UPLOAD_ID_MAX 40

/* A refusal that is the upload's state, not the request's form: HTTP 409. */
#define UPLOAD_CONFLICT 1
/* Too many uploads open: HTTP 429. */
#define UPLOAD_BUSY 2

/*
 * Open an upload of size bytes in format into product, for party (whose key
 * is caller; it must be the product's merchant).  worker, a worker started
 * ahead or NULL, is the upload's from here on.  *doc: the upload's state
 * (upload_status()).  UPLOAD_BUSY when UPLOADS_MAX or UPLOADS_PER_PARTY are
 * open; product_act_load_begin()'s errors and *field otherwise.
 */
int upload_open(struct exchange *ex, const struct keys_pubkey *caller, const char *party,
    const char *product, const char *format, uint64_t size, struct spawn *worker, json_t **doc,
    const char **field) __attribute__((warn_unused_result));

/*
 * The part of n bytes at offset of upload id: 0 and *doc the upload's state.
 * UPLOAD_CONFLICT when offset is not what the upload has received (*doc
 * then says what it has), or another request of it is under way;
 * SL_ERR_LIMIT when it goes past the size announced.  The upload goes on
 * after these.  When the worker refused the upload (or failed), it is over:
 * ended gets the product's name, and the return and res are load_finish()'s
 * (SL_ERR_PARSE with res->errors for a refusal).  ended is "" otherwise.
 */
int upload_part(struct exchange *ex, const char *party, const char *id, uint64_t offset,
    const void *buf, size_t n, json_t **doc, struct load_result *res,
    char ended[SL_NAME_MAX + 1]) __attribute__((warn_unused_result));

/*
 * End upload id and publish its version: ended gets the product's name, and
 * the return and res are load_finish()'s.  UPLOAD_CONFLICT (ended "", *doc
 * its state; it goes on) while it has not received the size announced.
 */
int upload_complete(struct exchange *ex, const char *party, const char *id,
    struct load_result *res, json_t **doc, char ended[SL_NAME_MAX + 1])
    __attribute__((warn_unused_result));

/* Its state: {"upload","product","version","format","size","received","rows","expires_in"}. */
int upload_status(const char *party, const char *id, json_t **doc)
    __attribute__((warn_unused_result));

/* End it unpublished (audited as cancelled). */
int upload_cancel(struct exchange *ex, const char *party, const char *id)
    __attribute__((warn_unused_result));

/* Seconds an upload may stay idle (default UPLOAD_IDLE_S). */
void upload_set_idle(unsigned seconds);

/* Abandon the uploads idle too long; all of them when all is set (shutdown). */
void upload_sweep(struct exchange *ex, int all);

/* How many are open. */
unsigned upload_count(void);

#endif
