/*
 * sandbox/reader.c -- what the upload readers share (sandbox/reader.h).
 *
 * Runs in the confined ingest worker on untrusted bytes.
 */
#include <stdarg.h>
#include <stdio.h>

#include "common/err.h"
#include "sandbox/reader.h"

static const uint8_t bom_bytes[READER_BOM_BYTES] = {0xef, 0xbb, 0xbf};

int
reader_fail(struct reader_fault *f, enum reader_error code, size_t line, size_t column,
    uint64_t limit, const char *fmt, ...)
{
	va_list ap;

	f->code = code;
	f->line = line;
	f->column = column;
	f->limit = limit;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	return sl_errf(SL_ERR_PARSE, "%zu:%zu: %s", line, column, f->message);
}

size_t
reader_bom_take(uint8_t bom[READER_BOM_BYTES], size_t *nbom, const uint8_t *p, size_t n,
    size_t *replay, int *done)
{
	size_t i;

	*replay = 0;
	*done = 0;
	for (i = 0; i < n;) {
		bom[*nbom] = p[i++];
		if (bom[*nbom] != bom_bytes[*nbom]) {
			*replay = ++*nbom;
			*done = 1;
			break;
		}
		if (++*nbom == sizeof(bom_bytes)) {
			*done = 1;
			break;
		}
	}
	return i;
}
