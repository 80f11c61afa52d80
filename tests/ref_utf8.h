/*
 * tests/ref_utf8.h -- the tests' own UTF-8 decoder, written apart from the
 * validators they check (sandbox/csv.c's range tables, common/jcs.c's
 * utf8_seq_len()): it decodes each code point the slow way and checks it
 * against RFC 3629 (no overlong form, no surrogate, nothing past U+10FFFF).
 * For the unit tests and the fuzz harnesses, which include it directly.
 */
#ifndef SLUICE_TESTS_REF_UTF8_H
#define SLUICE_TESTS_REF_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the UTF-8 sequence at s[i] (i < n) with its code point in *cp; 0 if none. */
static inline size_t
ref_utf8_next(const uint8_t *s, size_t n, size_t i, uint32_t *cp)
{
	size_t len, k;
	uint32_t c;

	if (s[i] < 0x80) {
		*cp = s[i];
		return 1;
	}
	if ((s[i] & 0xe0) == 0xc0) {
		len = 2;
		c = s[i] & 0x1fu;
	} else if ((s[i] & 0xf0) == 0xe0) {
		len = 3;
		c = s[i] & 0x0fu;
	} else if ((s[i] & 0xf8) == 0xf0) {
		len = 4;
		c = s[i] & 0x07u;
	} else {
		return 0;
	}
	if (n - i < len)
		return 0;
	for (k = 1; k < len; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i + k] & 0x3fu);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Whether s[0 .. n-1] is valid UTF-8. */
static inline int
ref_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		if ((len = ref_utf8_next(s, n, i, &cp)) == 0)
			return 0;
		i += len;
	}
	return 1;
}

#endif
