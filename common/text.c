/*
 * common/text.c -- names, times and hex.
 */
#include <string.h>
#include <time.h>

#include "common/text.h"

int
sl_name_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > SL_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '-' || c == '_'))
			continue;
		return 0;
	}
	return 1;
}

void
sl_time_format(time_t t, char out[SL_TIME_RFC3339_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, SL_TIME_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
sl_time_now(char out[SL_TIME_RFC3339_LEN])
{
	sl_time_format(time(NULL), out);
}

void
sl_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Hex digit values, -1 for anything else. */
static const signed char hex_value[256] = {
    ['0'] = 1,
    ['1'] = 2,
    ['2'] = 3,
    ['3'] = 4,
    ['4'] = 5,
    ['5'] = 6,
    ['6'] = 7,
    ['7'] = 8,
    ['8'] = 9,
    ['9'] = 10,
    ['a'] = 11,
    ['b'] = 12,
    ['c'] = 13,
    ['d'] = 14,
    ['e'] = 15,
    ['f'] = 16,
    ['A'] = 11,
    ['B'] = 12,
    ['C'] = 13,
    ['D'] = 14,
    ['E'] = 15,
    ['F'] = 16,
};

int
sl_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
	size_t i;

	if (hexlen != 2 * outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		/* Stored off by one so that 0 means "not a hex digit". */
		int hi = hex_value[(unsigned char)hex[2 * i]] - 1;
		int lo = hex_value[(unsigned char)hex[2 * i + 1]] - 1;

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
