/*
 * tests/unit/vectors.c -- loading data-driven test vectors.
 */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/file.h"
#include "tests/unit/vectors.h"

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

void
vec_load(const char *relpath, struct vec_file *out)
{
	const char *root = getenv("top_srcdir");
	char *path, line[1 << 16], *eq;
	size_t len, lineno = 0;
	struct vec_record *cur = NULL;
	FILE *f;

	memset(out, 0, sizeof(*out));
	len = strlen(root != NULL ? root : SL_TEST_DATADIR) + strlen(relpath) + 16;
	path = malloc(len);
	assert_non_null(path);
	if (root != NULL)
		snprintf(path, len, "%s/tests/%s", root, relpath);
	else
		snprintf(path, len, "%s/%s", SL_TEST_DATADIR, relpath);
	out->path = path;
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = trim(line);

		lineno++;
		if (*s == '#')
			continue;
		if (*s == '\0') {
			cur = NULL;
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL)
			fail_msg("%s:%zu: expected 'Field = value'", path, lineno);
		*eq = '\0';
		if (cur == NULL) {
			out->recs = realloc(out->recs, (out->nrecs + 1) * sizeof(*out->recs));
			assert_non_null(out->recs);
			cur = &out->recs[out->nrecs++];
			memset(cur, 0, sizeof(*cur));
			cur->line = lineno;
		}
		cur->fields = realloc(cur->fields, (cur->nfields + 1) * sizeof(*cur->fields));
		assert_non_null(cur->fields);
		cur->fields[cur->nfields].key = strdup(trim(s));
		cur->fields[cur->nfields].value = strdup(trim(eq + 1));
		cur->nfields++;
	}
	fclose(f);
	if (out->nrecs == 0)
		fail_msg("%s: no records", path);
}

void
vec_free(struct vec_file *f)
{
	size_t i, j;

	for (i = 0; i < f->nrecs; i++) {
		for (j = 0; j < f->recs[i].nfields; j++) {
			free(f->recs[i].fields[j].key);
			free(f->recs[i].fields[j].value);
		}
		free(f->recs[i].fields);
	}
	free(f->recs);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

const char *
vec_get(const struct vec_record *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].key, key) == 0)
			return r->fields[i].value;
	return NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *
vec_hex(const struct vec_file *f, const struct vec_record *r, const char *key, size_t *len)
{
	const char *v = vec_get(r, key);
	size_t n, i;
	uint8_t *out;

	if (v == NULL)
		fail_msg("%s:%zu: record has no %s", f->path, r->line, key);
	n = strlen(v);
	if (n % 2 != 0)
		fail_msg("%s:%zu: %s has an odd number of hex digits", f->path, r->line, key);
	out = malloc(n / 2 + 1);
	assert_non_null(out);
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			fail_msg("%s:%zu: %s is not hex", f->path, r->line, key);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

long long
vec_int(const struct vec_file *f, const struct vec_record *r, const char *key, long long dflt)
{
	const char *v = vec_get(r, key);
	char *end;
	long long x;

	if (v == NULL)
		return dflt;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		fail_msg("%s:%zu: %s is not a decimal integer", f->path, r->line, key);
	return x;
}

char *
vec_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *d;
	size_t len;

	if (base == NULL)
		base = "/tmp";
	len = strlen(base) + 32;
	d = malloc(len);
	assert_non_null(d);
	snprintf(d, len, "%s/sluice-test-XXXXXX", base);
	assert_non_null(mkdtemp(d));
	return d;
}

void
vec_rmtree(char *dir)
{
	if (dir == NULL)
		return;
	sl_rmtree(dir);
	free(dir);
}
