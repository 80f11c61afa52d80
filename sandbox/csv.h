/*
 * sandbox/csv.h -- the push parser for uploaded CSV (RFC 4180); JSON Lines
 * is sandbox/jsonl.h, what the two share sandbox/reader.h.
 *
 * The ingest worker reads the upload from a socket in pieces of any size; it
 * feeds each piece to a reader, which hands back every complete record
 * through a callback.  Any split of the same bytes (one feed, 1 byte at a
 * time, anything between) gives the same records, the same positions and
 * the same error.  Everything fed is untrusted: every byte is checked, and no
 * input sizes a buffer beyond the configured limits.
 *
 * Positions in messages and in struct csv_field are 1-based line:column,
 * where the column counts bytes, not characters, and a byte order mark at
 * the start of the input is not counted.  Lines end at LF; CRLF and LF may
 * be mixed.
 *
 * Errors are returned as SL_ERR_PARSE (malformed or over a limit) or
 * SL_ERR_NOMEM.  After SL_ERR_PARSE, csv_fault() gives the rule and its
 * line and column as numbers, and the message for people recorded through
 * sl_errf() starts with "line:column: " and names the rule, e.g.
 *     3:17: quote in unquoted field
 * so the caller can prefix the upload's name.  After any non-zero return
 * from a feed or finish call the reader is spent: later calls return the same
 * value without parsing.
 *
 * A callback must not call back into the reader it was called from.
 */
#ifndef SLUICE_SANDBOX_CSV_H
#define SLUICE_SANDBOX_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "sandbox/reader.h"

#define CSV_FIELD_MAX_DEFAULT ((size_t)1 << 20) /* 1 MiB */
#define CSV_FIELDS_MAX_DEFAULT ((size_t)4096)
#define CSV_LINE_MAX_DEFAULT ((size_t)16 << 20) /* 16 MiB */

struct csv_reader; /* opaque */

/* Limits on one record; a member left 0 takes its default. */
struct csv_limits {
	size_t field_max;  /* bytes of one field's value, after unquoting */
	size_t fields_max; /* fields in one record */
	/*
	 * Bytes of one record, from its first byte up to (not including) the LF
	 * or CRLF that ends it; embedded newlines of quoted fields count.  For
	 * the usual one-line record this is the line length.  The reader never
	 * buffers more than this, whatever the input.
	 */
	size_t line_max;
};

/* One field of a record.  All borrowed: valid until the callback returns. */
struct csv_field {
	/*
	 * The value, unquoted: len bytes of valid UTF-8, not NUL-terminated
	 * (and it may hold NUL, which UTF-8 allows); never NULL.
	 */
	const char *p;
	size_t len;
	/*
	 * Where the field starts: its first byte, its opening quote if quoted,
	 * or for an empty unquoted field the ',' or newline that ends it.
	 */
	size_t line, col;
	int quoted; /* 1 if written in quotes, so "" can be told from an empty field */
};

/*
 * Called once per record, in order.  line is the line its first byte is on;
 * fields[0 .. nfields-1] are its fields (nfields >= 1: an empty line in the
 * middle of the input is one empty field).  Return 0 to go on; any other
 * value stops parsing and is returned by the csv_feed() or csv_finish() call.
 */
typedef int (*csv_record_fn)(
    void *arg, size_t line, size_t nfields, const struct csv_field *fields);

/* What a reader has seen. */
struct csv_stats {
	uint64_t bytes;   /* bytes fed, a BOM included */
	uint64_t records; /* records handed to the callback */
	/*
	 * The most bytes of copy buffer ever held, to join a record split across
	 * feeds or to undouble quotes: at most line_max.
	 */
	size_t held_max;
};

/*
 * A reader with the limits lim (NULL for all defaults).  Returns NULL when out
 * of memory.  Caller frees with csv_free().
 */
struct csv_reader *csv_new(const struct csv_limits *lim) __attribute__((warn_unused_result));

/*
 * Parse the next n bytes of the input (p may be NULL when n is 0), calling fn
 * for each record they complete.  Bytes of a record that is not complete yet
 * are copied, so p is not used after the call returns.  Returns 0, the
 * callback's non-zero value, SL_ERR_PARSE, SL_ERR_NOMEM, or SL_ERR_INVAL
 * after csv_finish().
 *
 * The rules, each with its message (and its enum reader_error):
 *  1. Every byte is valid UTF-8 (no overlong forms, surrogates, code points
 *     above U+10FFFF or truncated sequences): "invalid UTF-8 sequence at
 *     byte 0xNN" (READER_ERR_UTF8), placed at the first byte of the bad
 *     sequence.  A UTF-8 BOM as the very first bytes is skipped.
 *  2. A field is quoted only if '"' is its first byte.  A '"' elsewhere in an
 *     unquoted field: "quote in unquoted field" (READER_ERR_QUOTE).
 *  3. In a quoted field, "" stands for one '"', and ',', CR and LF are data.
 *     After the closing quote only ',', CRLF, LF or the end may follow:
 *     "character after closing quote" (READER_ERR_AFTER_QUOTE).
 *  4. Outside quotes a CR must be followed by LF: "CR not followed by LF"
 *     (READER_ERR_CR).
 *  5. The input ends inside quotes: "unterminated quoted field"
 *     (READER_ERR_UNTERMINATED), placed at the opening quote (reported by
 *     csv_finish()).
 *  6. Limits: "field longer than N bytes" (READER_ERR_FIELD_LONG) at the
 *     byte past the limit; "more than N fields" (READER_ERR_FIELDS) at the
 *     ',' that would start one too many; "line longer than N bytes"
 *     (READER_ERR_LINE_LONG; or "record longer than N bytes",
 *     READER_ERR_RECORD_LONG, when quoted newlines made it span lines) at the
 *     byte past the limit.  The fault's limit is N.
 * Errors are found in stream order: the first byte at which a rule fails
 * decides (for rule 1, the byte at which the sequence stops being valid,
 * though the message names its first byte).  When several fail at one byte,
 * the earlier is reported of: rule 1, the line limit, the field limit, the
 * rest.
 */
int csv_feed(struct csv_reader *r, const uint8_t *p, size_t n, csv_record_fn fn, void *arg)
    __attribute__((warn_unused_result));

/*
 * Mark the end of the input: hand out the last record if it had no final
 * newline, or fail as rule 5 or 1 (a truncated sequence) says.  An empty
 * final line (the input ends with a newline) is not a record, so an empty
 * input gives no record at all: callers tell that case by
 * csv_stats().records == 0.  Feeding after this returns SL_ERR_INVAL.
 */
int csv_finish(struct csv_reader *r, csv_record_fn fn, void *arg)
    __attribute__((warn_unused_result));

/*
 * The input r will be fed is not the start of a file but a record's start
 * in the middle of one (a block of a parallel ingest): a BOM there is data,
 * and positions count lines from 1 at that record.  Call before any feed.
 */
int csv_mid_file(struct csv_reader *r) __attribute__((warn_unused_result));

/* Counts so far; may be called at any time. */
void csv_stats(const struct csv_reader *r, struct csv_stats *out);

/* Why parsing stopped, after SL_ERR_PARSE from r; NULL otherwise.  Borrowed from r. */
const struct reader_fault *csv_fault(const struct csv_reader *r);

/* Free r and everything it holds.  r may be NULL. */
void csv_free(struct csv_reader *r);

#endif
