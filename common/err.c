/*
 * common/err.c -- texts for the error codes of common/err.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

/*
 * Long enough for a path, a place and a rule; longer messages are cut.  One
 * per thread: the daemon's job threads each report their own failure.
 */
static _Thread_local char err_msg[1024];

const char *
sl_strerror(int r)
{
	switch (r) {
	case SL_OK:
		return "success";
	case SL_ERR_NOMEM:
		return "out of memory";
	case SL_ERR_IO:
		return "input/output error";
	case SL_ERR_PARSE:
		return "malformed input";
	case SL_ERR_AUTH:
		return "authentication failed";
	case SL_ERR_POLICY:
		return "refused by policy";
	case SL_ERR_INVAL:
		return "invalid argument";
	case SL_ERR_EXISTS:
		return "already exists";
	case SL_ERR_NOTFOUND:
		return "not found";
	case SL_ERR_DB:
		return "database error";
	case SL_ERR_CRYPTO:
		return "crypto library error";
	case SL_ERR_VERSION:
		return "unsupported format version";
	case SL_ERR_LIMIT:
		return "size limit exceeded";
	case SL_ERR_INTERNAL:
		return "internal error";
	}
	return "unknown error";
}

const char *
sl_err_name(int r)
{
	switch (r) {
	case SL_OK:
		return "ok";
	case SL_ERR_NOMEM:
		return "nomem";
	case SL_ERR_IO:
		return "io";
	case SL_ERR_PARSE:
		return "parse";
	case SL_ERR_AUTH:
		return "auth";
	case SL_ERR_POLICY:
		return "policy";
	case SL_ERR_INVAL:
		return "inval";
	case SL_ERR_EXISTS:
		return "exists";
	case SL_ERR_NOTFOUND:
		return "notfound";
	case SL_ERR_DB:
		return "db";
	case SL_ERR_CRYPTO:
		return "crypto";
	case SL_ERR_VERSION:
		return "version";
	case SL_ERR_LIMIT:
		return "limit";
	case SL_ERR_INTERNAL:
		return "internal";
	}
	return "unknown";
}

int
sl_errf(int code, const char *fmt, ...)
{
	char msg[sizeof(err_msg)];
	va_list ap;

	/* Format aside first: the arguments may include sl_err_msg() itself. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(err_msg, msg, sizeof(err_msg));
	return code;
}

const char *
sl_err_msg(int r)
{
	return err_msg[0] != '\0' ? err_msg : sl_strerror(r);
}

void
sl_err_clear(void)
{
	err_msg[0] = '\0';
}
