/*
 * common/text.h -- names, times and hex as Sluice writes them.
 */
#ifndef SLUICE_COMMON_TEXT_H
#define SLUICE_COMMON_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "YYYY-MM-DDTHH:MM:SSZ" and its NUL. */
#define SL_TIME_RFC3339_LEN 21
#define SL_NAME_MAX 64

/*
 * Whether s is a valid name for a party or product: 1 to SL_NAME_MAX bytes of
 * lowercase ASCII letters, digits, '-' and '_', starting with a letter or digit.
 * Returns 1 or 0.  The rule keeps names safe in paths, AAD and certificates.
 */
int sl_name_valid(const char *s);

/* The rule sl_name_valid() applies, in words, for error messages. */
#define SL_NAME_RULE "1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit"

/* Format t as RFC 3339 UTC with second precision into out. */
void sl_time_format(time_t t, char out[SL_TIME_RFC3339_LEN]);

/*
 * Parse exactly the form sl_time_format() writes ("2026-01-01T00:00:00Z": UTC,
 * second precision, a real calendar date and time of day) into *out.
 * Returns 0, or -1 for anything else.
 */
int sl_time_parse(const char *s, time_t *out);
/*
 * Whether s is a non-empty prefix of sl_time_format()'s form of at least the
 * year ("2026", "2026-11", "2026-11-28T09"), as time filters take.
 */
int sl_time_prefix_valid(const char *s);
/* Seconds on the monotonic clock: for durations, deadlines and rates. */
double sl_monotonic(void);

/* The current time, formatted as sl_time_format() does. */
void sl_time_now(char out[SL_TIME_RFC3339_LEN]);

/* Lowercase hex of len bytes into out, which holds 2 * len + 1 bytes. */
void sl_hex_encode(const uint8_t *in, size_t len, char *out);

/*
 * Decode exactly 2 * outlen hex digits (either case) at hex into out.
 * Returns 0, or -1 if hexlen is not 2 * outlen or a digit is not hex.
 */
int sl_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen);

#endif
