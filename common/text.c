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

/* Read n decimal digits at s; -1 if any is not a digit. */
static int
digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
sl_time_parse(const char *s, time_t *out)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec;
	struct tm tm;

	if (strlen(s) != SL_TIME_RFC3339_LEN - 1 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return -1;
	y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
	tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
	*out = timegm(&tm);
	return 0;
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

int
sl_time_prefix_valid(const char *s)
{
	static const char form[] = "0000-00-00T00:00:00Z";
	size_t i, len = strlen(s);
	static const struct {
		size_t at;
		int lo, hi;
	} fields[] = {{5, 1, 12}, {8, 1, 31}, {11, 0, 23}, {14, 0, 59}, {17, 0, 60}};
	time_t t;

	if (len < 4 || len > sizeof form - 1)
		return 0;
	for (i = 0; i < len; i++)
		if (form[i] == '0' ? s[i] < '0' || s[i] > '9' : s[i] != form[i])
			return 0;
	/* Each complete field in its range; a whole time must be a real one. */
	for (i = 0; i < sizeof fields / sizeof fields[0] && fields[i].at + 2 <= len; i++) {
		int v = (s[fields[i].at] - '0') * 10 + (s[fields[i].at + 1] - '0');

		if (v < fields[i].lo || v > fields[i].hi)
			return 0;
	}
	return len < sizeof form - 1 || sl_time_parse(s, &t) == 0;
}

double
sl_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
