/*
 * sandbox/reader.h -- what the upload readers share (sandbox/csv.h,
 * sandbox/jsonl.h): where and why a parse failed, and the byte order mark.
 *
 * A reader that fails with SL_ERR_PARSE records the rule that broke and its
 * 1-based line and byte column in a struct reader_fault, so its caller gets
 * the position as numbers; the message for people, recorded through
 * sl_errf(), is the same position and rule as text:
 *     3:17: quote in unquoted field
 */
#ifndef SLUICE_SANDBOX_READER_H
#define SLUICE_SANDBOX_READER_H

#include <stddef.h>
#include <stdint.h>

/* Which rule an upload broke; the readers' headers give each one's message. */
enum reader_error {
	READER_OK = 0,           /* no parse error (yet) */
	READER_ERR_UTF8,         /* invalid UTF-8 sequence */
	READER_ERR_QUOTE,        /* CSV: quote in unquoted field */
	READER_ERR_AFTER_QUOTE,  /* CSV: character after closing quote */
	READER_ERR_CR,           /* CSV: CR not followed by LF */
	READER_ERR_UNTERMINATED, /* CSV: unterminated quoted field */
	READER_ERR_FIELD_LONG,   /* CSV: field longer than the limit */
	READER_ERR_FIELDS,       /* CSV: more fields than the limit */
	READER_ERR_LINE_LONG,    /* line longer than the limit */
	READER_ERR_BLANK,        /* JSON Lines: blank line */
	READER_ERR_JSON,         /* JSON Lines: jansson refused the line */
	READER_ERR_NOT_OBJECT,   /* JSON Lines: a JSON value that is not an object */
	READER_ERR_RECORD_LONG,  /* CSV: a record that quoted newlines made span lines, too long */
};

#define READER_BOM_BYTES 3
#define READER_MESSAGE_MAX 256

/* Where and why parsing stopped. */
struct reader_fault {
	enum reader_error code;
	size_t line, column;              /* 1-based; the column counts bytes */
	uint64_t limit;                   /* the limit a limit rule names; else 0 */
	char message[READER_MESSAGE_MAX]; /* the rule, without the position; never sent */
};

/* Copy buffers start this big and never grow past a limit of at most READER_LIMIT_CAP. */
#define READER_BUF_START 4096
#define READER_LIMIT_CAP (SIZE_MAX / 4)

/*
 * Record a parse error at line:column (and the limit it broke, or 0) in f,
 * and "line:column: message" through sl_errf().  Returns SL_ERR_PARSE.
 */
int reader_fail(struct reader_fault *f, enum reader_error code, size_t line, size_t column,
    uint64_t limit, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * Strip a leading UTF-8 BOM.  The first three bytes of an input pass through
 * bom[] one at a time.  Returns how many bytes of p it took; once it has
 * decided, *replay is set to the number of bytes of bom[] that turned out to
 * be data (0 for a BOM) and *done to 1.
 */
size_t reader_bom_take(uint8_t bom[READER_BOM_BYTES], size_t *nbom, const uint8_t *p, size_t n,
    size_t *replay, int *done);

#endif
