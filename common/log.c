/*
 * common/log.c -- messages for people, on standard error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

static const char *log_name = "sluice";

void
sl_log_init(const char *name)
{
	log_name = name;
}

static void
log_v(const char *kind, const char *fmt, va_list ap, int errnum)
{
	fprintf(stderr, "%s: %s", log_name, kind);
	vfprintf(stderr, fmt, ap);
	if (errnum != 0)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void
sl_errorx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v("", fmt, ap, 0);
	va_end(ap);
}

void
sl_error(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	log_v("", fmt, ap, errnum);
	va_end(ap);
}

void
sl_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v("warning: ", fmt, ap, 0);
	va_end(ap);
}
