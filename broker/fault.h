/*
 * broker/fault.h -- a worker's ERROR frame in words (sandbox/job.h).
 *
 * A worker sends a code and places, never text: it may be compromised, and
 * words it chose would reach the party that asked.  The broker writes the
 * message from the job's error tables and from its own copy of the input
 * (the buyer's query text, or the merchant's uploaded file), checking that
 * every place lies inside it.
 */
#ifndef SLUICE_BROKER_FAULT_H
#define SLUICE_BROKER_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "sandbox/job.h"

struct schema;

/* Bytes of a file a place may quote: a token's characters, quoted and with "" doubled. */
#define FAULT_QUOTE_BYTES 128

/* What a file holds at one place of an ERROR, read by fault_file_read(). */
struct fault_span {
	int found;         /* the file has the place's line */
	uint64_t start;    /* file offset of that line's first byte (past a BOM on line 1) */
	uint64_t line_len; /* its bytes, the LF that ends it not counted */
	size_t n;          /* bytes of b: the place's, up to FAULT_QUOTE_BYTES, within the line */
	uint8_t b[FAULT_QUOTE_BYTES];
};

/* An uploaded file where the places of an ERROR point (an ingest's input). */
struct fault_file {
	size_t nplaces;
	struct fault_span spans[JOB_PLACES_MAX];
};

/* What the words of a place may draw on; any field may be NULL/0. */
struct fault_input {
	const char *text; /* the input the places point into: the query text */
	size_t len;
	const struct schema *schema; /* %C, %K, %H, %B, %F */
	const char *product;         /* %R */
	/*
	 * Instead of text: the uploaded file, whose places are an ingest's
	 * (line, byte column, length within the line), by fault_file_read().
	 */
	const struct fault_file *file;
};

/*
 * The broker's own copy of an upload, read back: n bytes at offset off into
 * buf, fewer only at its end; -1 with errno on failure.  A file the merchant
 * named (the CLI) or the daemon's encrypted spool of the parts it received.
 */
typedef long (*fault_pread_fn)(void *ctx, uint8_t *buf, size_t n, uint64_t off);

/* A fault_pread_fn for a regular file: ctx points to its descriptor. */
long fault_pread_fd(void *ctx, uint8_t *buf, size_t n, uint64_t off);

/*
 * Find each place of e in the upload read by rd(ctx, ...) from its start in
 * one pass up to the last line a place names, and keep the few bytes each
 * place may quote.  Lines are counted at LF and a UTF-8 BOM before line 1 is
 * skipped, as the readers do (sandbox/reader.h).  SL_ERR_IO (message
 * recorded) if it cannot be read.
 */
int fault_file_read(fault_pread_fn rd, void *ctx, const struct job_error_frame *e,
    struct fault_file *out) __attribute__((warn_unused_result));

/*
 * The words of place i of e into buf, without its position.  SL_ERR_PARSE
 * (message recorded) when the place is not inside the input, names a
 * column the schema lacks (or none where its rule needs one), or has a rule
 * of the other input's kind: the worker lied, and the job fails rather than
 * quote it.
 */
int fault_place_words(const struct job_error_frame *e, size_t i, const struct fault_input *in,
    char *buf, size_t buflen) __attribute__((warn_unused_result));

/*
 * The message for e into buf: its first place as "line:column: rule", or
 * the code's words when it has none.  SL_ERR_PARSE as fault_place_words().
 */
int fault_words(const struct job_error_frame *e, const struct fault_input *in, char *buf,
    size_t buflen) __attribute__((warn_unused_result));

/* The byte offset of (line, column) in text; column counts UTF-8 characters.  -1: outside. */
long fault_offset(const char *text, size_t len, uint32_t line, uint32_t column);

/* Whether code blames the input (a refusal) rather than the job (a failure). */
int fault_is_input(uint32_t code);

#endif
