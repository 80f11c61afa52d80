/*
 * sandbox/jsonl.h -- the push parser for uploaded JSON Lines.
 *
 * Fed like the CSV reader (sandbox/csv.h): pieces of any size give the same
 * records, positions and error.  Everything fed is untrusted.  Positions are
 * 1-based line:column, the column counting bytes; a leading UTF-8 BOM is not
 * counted.  After SL_ERR_PARSE, jsonl_fault() gives the rule and its
 * position as numbers (sandbox/reader.h), and the message recorded through
 * sl_errf() is "line:column: rule".  After any non-zero return from a feed or
 * finish call the reader is spent: later calls return the same value.
 *
 * A callback must not call back into the reader it was called from.
 */
#ifndef SLUICE_SANDBOX_JSONL_H
#define SLUICE_SANDBOX_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sandbox/reader.h"

#define JSONL_LINE_MAX_DEFAULT ((size_t)16 << 20) /* 16 MiB */

struct jsonl_reader; /* opaque */

/*
 * Called once per line, in order, with the line's number and its object.
 * obj is borrowed: the reader releases it when the callback returns, so a
 * callback that keeps it takes its own reference with json_incref().  Return
 * 0 to go on; any other value stops parsing and is returned.
 */
typedef int (*jsonl_record_fn)(void *arg, size_t line, json_t *obj);

/*
 * A reader whose lines hold at most line_max bytes, not counting the LF or
 * CRLF that ends them (0 for the default).  Returns NULL when out of memory.
 * Caller frees with jsonl_free().
 */
struct jsonl_reader *jsonl_new(size_t line_max) __attribute__((warn_unused_result));

/*
 * As csv_mid_file(): r's input starts at a line in the middle of a file, so
 * a BOM there is data.  Call before any feed.
 */
void jsonl_mid_file(struct jsonl_reader *r);

/*
 * Parse the next n bytes of the input, calling fn for each line they
 * complete.  As with csv_feed(), p is not used after the call returns, a
 * leading UTF-8 BOM is skipped and messages are "line:column: text" with a
 * byte column.  The rules:
 *  1. Each line is one JSON object, parsed by jansson with duplicate keys
 *     refused: jansson's own message (READER_ERR_JSON), at jansson's position, which is the
 *     last byte it read, or for bad UTF-8 the first byte of the sequence
 *     (e.g. "duplicate object key near '\"a\"'", "unable to decode byte
 *     0xff").  jansson checks UTF-8 and limits nesting depth.  Another JSON
 *     value: "expected a JSON object, got an array" (or a string, ...;
 *     READER_ERR_NOT_OBJECT).
 *  2. An empty or all-blank line: "blank line" (READER_ERR_BLANK), except the empty line after
 *     the final newline, which is no line at all.
 *  3. "line longer than N bytes" (READER_ERR_LINE_LONG), at the byte past
 *     the limit.
 * Returns 0, the callback's non-zero value, SL_ERR_PARSE, SL_ERR_NOMEM, or
 * SL_ERR_INVAL after jsonl_finish().
 */
int jsonl_feed(struct jsonl_reader *r, const uint8_t *p, size_t n, jsonl_record_fn fn, void *arg)
    __attribute__((warn_unused_result));

/*
 * Mark the end of the input and parse a last line that had no final newline.
 * Callers tell an empty input by jsonl_records() == 0.  Feeding after this
 * returns SL_ERR_INVAL.
 */
int jsonl_finish(struct jsonl_reader *r, jsonl_record_fn fn, void *arg)
    __attribute__((warn_unused_result));

/* Objects handed to the callback so far. */
uint64_t jsonl_records(const struct jsonl_reader *r);

/* Why parsing stopped, after SL_ERR_PARSE from r; NULL otherwise.  Borrowed from r. */
const struct reader_fault *jsonl_fault(const struct jsonl_reader *r);

/* Free r and everything it holds.  r may be NULL. */
void jsonl_free(struct jsonl_reader *r);

#endif
