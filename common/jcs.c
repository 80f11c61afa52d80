/*
 * common/jcs.c -- RFC 8785 canonical JSON (interim: integers and strings).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/jcs.h"

struct sb {
	char *p;
	size_t len, cap;
	int err;
};

static void
sb_put(struct sb *b, const char *s, size_t n)
{
	char *np;

	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->err = SL_ERR_NOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sb *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	sb_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			sb_put(b, esc, 2);
		} else if (c < 0x20) {
			const char *e = c == '\b'   ? "\\b"
			                : c == '\t' ? "\\t"
			                : c == '\n' ? "\\n"
			                : c == '\f' ? "\\f"
			                : c == '\r' ? "\\r"
			                            : NULL;
			if (e != NULL) {
				sb_put(b, e, 2);
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				sb_put(b, esc, 6);
			}
		} else {
			sb_put(b, (const char *)&s[i], 1);
		}
	}
	sb_put(b, "\"", 1);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
emit(struct sb *b, const json_t *v, int depth)
{
	char num[32];

	if (depth > 64) {
		b->err = SL_ERR_LIMIT;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n + 1, sizeof(*keys));
		const char *k;
		json_t *x;

		if (keys == NULL) {
			b->err = SL_ERR_NOMEM;
			return;
		}
		json_object_foreach((json_t *)v, k, x) keys[i++] = k;
		qsort(keys, n, sizeof(*keys), key_cmp);
		sb_put(b, "{", 1);
		for (i = 0; i < n; i++) {
			if (i > 0)
				sb_put(b, ",", 1);
			sb_str(b, keys[i], strlen(keys[i]));
			sb_put(b, ":", 1);
			emit(b, json_object_get(v, keys[i]), depth + 1);
		}
		sb_put(b, "}", 1);
		free(keys);
		break;
	}
	case JSON_ARRAY: {
		size_t i;

		sb_put(b, "[", 1);
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				sb_put(b, ",", 1);
			emit(b, json_array_get(v, i), depth + 1);
		}
		sb_put(b, "]", 1);
		break;
	}
	case JSON_STRING:
		sb_str(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		sb_put(b, num, strlen(num));
		break;
	case JSON_REAL:
		b->err = SL_ERR_INVAL; /* XXX interim */
		break;
	case JSON_TRUE:
		sb_put(b, "true", 4);
		break;
	case JSON_FALSE:
		sb_put(b, "false", 5);
		break;
	case JSON_NULL:
		sb_put(b, "null", 4);
		break;
	}
}

int
jcs_serialize(const json_t *v, char **out, size_t *len)
{
	struct sb b = {0};

	emit(&b, v, 0);
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
