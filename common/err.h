/*
 * common/err.h -- the one error space of Sluice.
 *
 * Every fallible function returns 0 on success or one of these negative codes.
 * A raw errno is never returned.  Crypto failures are always SL_ERR_AUTH with
 * no further detail, so a failure is no oracle; messages meant for people carry
 * the detail (what, where, which rule) and are reported with sl_error().
 */
#ifndef SLUICE_COMMON_ERR_H
#define SLUICE_COMMON_ERR_H

enum sl_err {
	SL_OK = 0,
	SL_ERR_NOMEM = -1,     /* allocation failed */
	SL_ERR_IO = -2,        /* a system call on a file or socket failed */
	SL_ERR_PARSE = -3,     /* malformed input */
	SL_ERR_AUTH = -4,      /* authentication, decryption or signature check failed */
	SL_ERR_POLICY = -5,    /* refused by a rule (permissions, contract, role) */
	SL_ERR_INVAL = -6,     /* an argument out of its domain */
	SL_ERR_EXISTS = -7,    /* the thing to create is already there */
	SL_ERR_NOTFOUND = -8,  /* the thing named is not there */
	SL_ERR_DB = -9,        /* the catalog database failed */
	SL_ERR_CRYPTO = -10,   /* a crypto library call failed for a reason other than auth */
	SL_ERR_VERSION = -11,  /* data written by a newer or unknown format version */
	SL_ERR_LIMIT = -12,    /* a size or count limit was exceeded */
	SL_ERR_INTERNAL = -13, /* a "cannot happen" branch was taken */
};

/* Text for an error code; never NULL, static storage. */
const char *sl_strerror(int r);

/*
 * The code's name for programs, its enum name without "SL_ERR_" in lower
 * case ("notfound" for SL_ERR_NOTFOUND, "ok", "unknown" for none of them);
 * never NULL, static storage.  Machine-readable error reports carry it, so
 * it never changes for a code.
 */
const char *sl_err_name(int r);

/*
 * Record a message for people about the failure being returned, and return
 * code, so a callee can say what was wrong and where:
 *     return sl_errf(SL_ERR_PARSE, "%s:%zu: expected a hex digit", path, line);
 * The message replaces any earlier one, and may quote it to add context:
 *     sl_errf(r, "%s: %s", path, sl_err_msg(r));
 * Never pass secrets.
 */
int sl_errf(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The message recorded for the last failure, or sl_strerror(r) when none was
 * recorded since the last sl_err_clear().  Borrowed; valid until the next
 * sl_errf() or sl_err_clear().
 */
const char *sl_err_msg(int r);

/* Forget the recorded message. */
void sl_err_clear(void);

#endif
