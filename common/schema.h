/*
 * common/schema.h -- a data product's schema (README.md, "Concepts"; examples/ has two).
 *
 * The broker validates a schema when a product is added; the worker gets the
 * same JSON in its job header (trusted, from the catalog) and parses it with
 * the same code to validate every ingested value.
 *
 * Validation is strict: unknown members are errors, so a typo never silently
 * drops a constraint.  Every error names the field path, e.g.
 *     columns[3].type: unknown type "STRNG" (expected INT, DECIMAL(p,s), REAL, TEXT, DATE or BOOL)
 */
#ifndef SLUICE_COMMON_SCHEMA_H
#define SLUICE_COMMON_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SCHEMA_COLUMNS_MAX 1024
#define SCHEMA_DOMAIN_MAX 65536
#define SCHEMA_DECIMAL_PRECISION_MAX 18

enum schema_type {
	SCHEMA_INT,     /* int64 */
	SCHEMA_DECIMAL, /* int64 scaled by 10^scale */
	SCHEMA_REAL,    /* float64 */
	SCHEMA_TEXT,    /* UTF-8 */
	SCHEMA_DATE,    /* days since 1970-01-01 */
	SCHEMA_BOOL,
};

enum schema_class {
	SCHEMA_UNIT,      /* the privacy unit: counted distinct, never output or filtered */
	SCHEMA_DIMENSION, /* filtered and grouped */
	SCHEMA_MEASURE,   /* aggregated only; needs bounds */
	SCHEMA_HIDDEN,    /* never queryable */
};

/*
 * What bounds mean at ingest: values outside are refused ("reject", the
 * default for dimensions) or kept and clamped when aggregated ("clamp", the
 * default for measures, whose bounds are contribution bounds).
 */
enum schema_bounds_mode {
	SCHEMA_BOUNDS_REJECT,
	SCHEMA_BOUNDS_CLAMP,
};

struct schema_column {
	char *name;
	enum schema_type type;
	int precision, scale; /* DECIMAL(p,s) */
	enum schema_class cls;
	int nullable;
	int has_bounds;
	enum schema_bounds_mode bounds_mode;
	/* Bounds in the column's storage unit: int64 (INT, DECIMAL scaled) or double (REAL). */
	int64_t lo, hi;
	double rlo, rhi;
	/* A public domain: strings for TEXT, integers for INT; NULL/0 when none. */
	char **domain_text;
	size_t *domain_len; /* strlen of each domain_text, for the ingest hot path */
	int64_t *domain_int;
	size_t ndomain;
	/* schema_in_domain()'s hash table: domain index + 1 per slot, 0 empty. */
	uint32_t *domain_slots;
	uint32_t domain_mask;
};

struct schema {
	char *name;
	char *title;
	char *category;
	char *description;
	struct schema_column *cols;
	size_t ncols;
	size_t unit; /* index of the unit column */
};

/*
 * Parse and validate a schema document.  On success *out is a new schema the
 * caller frees with schema_free().  SL_ERR_PARSE (not JSON: line:column) or
 * SL_ERR_INVAL (a rule broken), with the message naming the field path.
 */
int schema_parse(const char *json, size_t len, struct schema **out)
    __attribute__((warn_unused_result));

/* The column named name, or NULL. */
const struct schema_column *schema_column(const struct schema *s, const char *name);

/* "INT", "DECIMAL(12,2)", ... into out (at least 32 bytes). */
void schema_type_name(const struct schema_column *c, char *out, size_t outlen);
const char *schema_class_name(enum schema_class cls);

void schema_free(struct schema *s);

/*
 * The domain table's hash: the length and the first and last bytes for
 * text (category names differ there), the value for integers; mixed by a
 * multiply so the table's low bits see all of it.
 */
static inline uint32_t
schema_domain_hash(const struct schema_column *c, const char *s, size_t len, int64_t v)
{
	uint64_t h;

	if (c->type == SCHEMA_TEXT)
		h = len == 0 ? 0 : (uint64_t)(uint8_t)s[0] | (uint64_t)(uint8_t)s[len - 1] << 8 |
		                       (uint64_t)len << 16;
	else
		h = (uint64_t)v;
	h *= 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(h >> 32);
}

/* Whether domain value i of c is the text s of len bytes (TEXT) or v (INT). */
static inline int
schema_domain_is(const struct schema_column *c, size_t i, const char *s, size_t len, int64_t v)
{
	if (c->type != SCHEMA_TEXT)
		return c->domain_int[i] == v;
	return c->domain_len[i] == len && memcmp(c->domain_text[i], s, len) == 0;
}

/*
 * Where a value is in column c's domain (c->ndomain > 0): the text s of len
 * bytes for a TEXT column, v for an INT column.  Its index, or -1 when it is
 * not in the domain.  One hash probe, for the ingest's check of every value;
 * inline, so the sandbox needs no more of this module than the structure.
 */
static inline long
schema_domain_find(const struct schema_column *c, const char *s, size_t len, int64_t v)
{
	uint32_t h = schema_domain_hash(c, s, len, v) & c->domain_mask, slot;

	while ((slot = c->domain_slots[h]) != 0) {
		if (schema_domain_is(c, slot - 1, s, len, v))
			return (long)slot - 1;
		h = (h + 1) & c->domain_mask;
	}
	return -1;
}

static inline int
schema_in_domain(const struct schema_column *c, const char *s, size_t len, int64_t v)
{
	return schema_domain_find(c, s, len, v) >= 0;
}

#endif
