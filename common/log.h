/*
 * common/log.h -- messages for people, on standard error.
 *
 * Every message is prefixed with the program name ("sluice: ").  Callers put
 * the detail in the text: the input, the place and the rule broken.  Nothing
 * secret is ever passed here: key bytes, passphrases and plaintext rows stay
 * out of messages by construction (keys/ never formats a key).
 */
#ifndef SLUICE_COMMON_LOG_H
#define SLUICE_COMMON_LOG_H

/* Set the prefix; name is borrowed and must outlive all logging. */
void sl_log_init(const char *name);

/* "prog: message\n" on stderr. */
void sl_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: message: strerror(errno)\n" on stderr; errno is read on entry. */
void sl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: warning: message\n" on stderr. */
void sl_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
