/*
 * common/schema.c -- parsing and validating product schemas.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/schema.h"
#include "common/text.h"

static const char *const type_names[] = {"INT", "DECIMAL", "REAL", "TEXT", "DATE", "BOOL"};
static const char *const class_names[] = {"unit", "dimension", "measure", "hidden"};

const char *
schema_class_name(enum schema_class cls)
{
	return (unsigned)cls < 4 ? class_names[cls] : "?";
}

void
schema_type_name(const struct schema_column *c, char *out, size_t outlen)
{
	if (c->type == SCHEMA_DECIMAL)
		snprintf(out, outlen, "DECIMAL(%d,%d)", c->precision, c->scale);
	else
		snprintf(out, outlen, "%s", type_names[c->type]);
}

/* Column names: 1-64 of [a-z0-9_], not starting with a digit (usable in SQL unquoted). */
static int
column_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* Refuse members other than the allowed ones; path names the object. */
static int
only_members(const json_t *o, const char *path, const char *const *allowed)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)o, k, v)
	{
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return sl_errf(
			    SL_ERR_INVAL, "%s%s%s: unknown field", path, *path ? "." : "", k);
	}
	return 0;
}

/* Up to two decimal digits at *pp, advancing it; -1 if there are none. */
static int
small_number(const char **pp)
{
	const char *p = *pp;
	int v = 0, n = 0;

	while (*p >= '0' && *p <= '9' && n < 3) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	*pp = p;
	return n == 0 || n > 2 ? -1 : v;
}

/* "DECIMAL(p,s)" exactly; 0 on a match. */
static int
decimal_type(const char *t, int *p, int *s)
{
	if (strncmp(t, "DECIMAL(", 8) != 0)
		return -1;
	t += 8;
	if ((*p = small_number(&t)) < 0 || *t++ != ',' || (*s = small_number(&t)) < 0 ||
	    strcmp(t, ")") != 0)
		return -1;
	return 0;
}

static int
parse_type(const char *t, struct schema_column *c, const char *path)
{
	int p, s;
	size_t i;

	if (decimal_type(t, &p, &s) == 0) {
		if (p < 1 || p > SCHEMA_DECIMAL_PRECISION_MAX || s < 0 || s > p)
			return sl_errf(SL_ERR_INVAL,
			    "%s.type: %s: need 1 <= precision <= %d and 0 <= scale <= precision",
			    path, t, SCHEMA_DECIMAL_PRECISION_MAX);
		c->type = SCHEMA_DECIMAL;
		c->precision = p;
		c->scale = s;
		return 0;
	}
	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (i != SCHEMA_DECIMAL && strcmp(t, type_names[i]) == 0) {
			c->type = (enum schema_type)i;
			return 0;
		}
	}
	return sl_errf(SL_ERR_INVAL,
	    "%s.type: unknown type \"%s\" (expected INT, DECIMAL(p,s), REAL, TEXT, DATE or BOOL)",
	    path, t);
}

/* A bound as the column stores it; 0 or an error naming path. */
static int
parse_bound(const json_t *v, struct schema_column *c, const char *path, int64_t *iv, double *rv)
{
	double d, scaled;
	int i;

	if (!json_is_number(v))
		return sl_errf(SL_ERR_INVAL, "%s: must be a number", path);
	d = json_number_value(v);
	*rv = d;
	if (c->type == SCHEMA_REAL)
		return isfinite(d) ? 0 : sl_errf(SL_ERR_INVAL, "%s: must be finite", path);
	if (c->type == SCHEMA_INT) {
		if (!json_is_integer(v))
			return sl_errf(
			    SL_ERR_INVAL, "%s: must be an integer for an INT column", path);
		*iv = json_integer_value(v);
		return 0;
	}
	/* DECIMAL: scale exactly; refuse digits beyond the scale. */
	scaled = d;
	for (i = 0; i < c->scale; i++)
		scaled *= 10;
	if (!isfinite(scaled) || fabs(scaled) > 9.0e15 || scaled != floor(scaled))
		return sl_errf(SL_ERR_INVAL, "%s: %g does not fit DECIMAL(%d,%d)", path, d,
		    c->precision, c->scale);
	*iv = (int64_t)scaled;
	return 0;
}

static int
parse_bounds(const json_t *b, struct schema_column *c, const char *path)
{
	char p[96];
	int r;

	if (c->type != SCHEMA_INT && c->type != SCHEMA_DECIMAL && c->type != SCHEMA_REAL)
		return sl_errf(SL_ERR_INVAL, "%s.bounds: only numeric columns have bounds", path);
	if (!json_is_array(b) || json_array_size(b) != 2)
		return sl_errf(SL_ERR_INVAL, "%s.bounds: must be [lo, hi]", path);
	snprintf(p, sizeof(p), "%s.bounds[0]", path);
	if ((r = parse_bound(json_array_get(b, 0), c, p, &c->lo, &c->rlo)) != 0)
		return r;
	snprintf(p, sizeof(p), "%s.bounds[1]", path);
	if ((r = parse_bound(json_array_get(b, 1), c, p, &c->hi, &c->rhi)) != 0)
		return r;
	if (c->type == SCHEMA_REAL ? c->rlo > c->rhi : c->lo > c->hi)
		return sl_errf(SL_ERR_INVAL, "%s.bounds: lo is greater than hi", path);
	c->has_bounds = 1;
	return 0;
}

/* The table behind schema_in_domain(), at most half full; refuses duplicates. */
static int
domain_index(struct schema_column *c, const char *path)
{
	uint32_t size = 2, h, slot;
	size_t i;

	while (size < 2 * c->ndomain)
		size *= 2;
	if ((c->domain_slots = calloc(size, sizeof(uint32_t))) == NULL)
		return SL_ERR_NOMEM;
	c->domain_mask = size - 1;
	for (i = 0; i < c->ndomain; i++) {
		const char *s = c->type == SCHEMA_TEXT ? c->domain_text[i] : NULL;
		size_t len = c->type == SCHEMA_TEXT ? c->domain_len[i] : 0;
		int64_t v = c->type == SCHEMA_TEXT ? 0 : c->domain_int[i];

		for (h = schema_domain_hash(c, s, len, v) & c->domain_mask;
		     (slot = c->domain_slots[h]) != 0; h = (h + 1) & c->domain_mask)
			if (schema_domain_is(c, slot - 1, s, len, v))
				return sl_errf(SL_ERR_INVAL, "%s.domain[%zu]: duplicate of domain[%u]",
				    path, i, slot - 1);
		c->domain_slots[h] = (uint32_t)i + 1;
	}
	return 0;
}

static int
parse_domain(const json_t *d, struct schema_column *c, const char *path)
{
	size_t i, n;

	if (!json_is_array(d) || (n = json_array_size(d)) == 0 || n > SCHEMA_DOMAIN_MAX)
		return sl_errf(SL_ERR_INVAL, "%s.domain: must be a list of 1 to %d values", path,
		    SCHEMA_DOMAIN_MAX);
	if (c->type == SCHEMA_TEXT) {
		if ((c->domain_text = calloc(n, sizeof(char *))) == NULL ||
		    (c->domain_len = calloc(n, sizeof(size_t))) == NULL)
			return SL_ERR_NOMEM;
	} else if (c->type == SCHEMA_INT) {
		if ((c->domain_int = calloc(n, sizeof(int64_t))) == NULL)
			return SL_ERR_NOMEM;
	} else {
		return sl_errf(
		    SL_ERR_INVAL, "%s.domain: only TEXT and INT columns have a domain", path);
	}
	c->ndomain = n;
	for (i = 0; i < n; i++) {
		const json_t *v = json_array_get(d, i);

		if (c->type == SCHEMA_TEXT) {
			if (!json_is_string(v))
				return sl_errf(
				    SL_ERR_INVAL, "%s.domain[%zu]: must be a string", path, i);
			if ((c->domain_text[i] = strdup(json_string_value(v))) == NULL)
				return SL_ERR_NOMEM;
			c->domain_len[i] = strlen(c->domain_text[i]);
		} else {
			if (!json_is_integer(v))
				return sl_errf(
				    SL_ERR_INVAL, "%s.domain[%zu]: must be an integer", path, i);
			c->domain_int[i] = json_integer_value(v);
		}
	}
	return domain_index(c, path);
}

static int
parse_column(const json_t *o, struct schema_column *c, const char *path)
{
	static const char *const allowed[] = {"name", "type", "class", "bounds", "bounds_mode",
	    "domain", "nullable", "description", NULL};
	const json_t *name = json_object_get(o, "name"), *type = json_object_get(o, "type");
	const json_t *cls = json_object_get(o, "class"), *nul = json_object_get(o, "nullable");
	const json_t *b = json_object_get(o, "bounds"), *bm = json_object_get(o, "bounds_mode");
	const json_t *dom = json_object_get(o, "domain"), *desc = json_object_get(o, "description");
	size_t i;
	int r;

	if (!json_is_object(o))
		return sl_errf(SL_ERR_INVAL, "%s: must be an object", path);
	if ((r = only_members(o, path, allowed)) != 0)
		return r;
	if (!json_is_string(name))
		return sl_errf(SL_ERR_INVAL, "%s.name: required, a string", path);
	if (!column_name_valid(json_string_value(name)))
		return sl_errf(SL_ERR_INVAL,
		    "%s.name: \"%s\" must be 1-64 characters of a-z, 0-9 and '_', not starting "
		    "with a "
		    "digit",
		    path, json_string_value(name));
	if ((c->name = strdup(json_string_value(name))) == NULL)
		return SL_ERR_NOMEM;
	if (!json_is_string(type))
		return sl_errf(SL_ERR_INVAL, "%s.type: required, a string", path);
	if ((r = parse_type(json_string_value(type), c, path)) != 0)
		return r;
	if (!json_is_string(cls))
		return sl_errf(
		    SL_ERR_INVAL, "%s.class: required: unit, dimension, measure or hidden", path);
	for (i = 0; i < 4; i++)
		if (strcmp(json_string_value(cls), class_names[i]) == 0)
			break;
	if (i == 4)
		return sl_errf(SL_ERR_INVAL,
		    "%s.class: unknown class \"%s\" (expected unit, dimension, measure or hidden)",
		    path, json_string_value(cls));
	c->cls = (enum schema_class)i;
	if (nul != NULL && !json_is_boolean(nul))
		return sl_errf(SL_ERR_INVAL, "%s.nullable: must be true or false", path);
	c->nullable = json_is_true(nul);
	if (desc != NULL && !json_is_string(desc))
		return sl_errf(SL_ERR_INVAL, "%s.description: must be a string", path);
	if (b != NULL && (r = parse_bounds(b, c, path)) != 0)
		return r;
	if (dom != NULL && (r = parse_domain(dom, c, path)) != 0)
		return r;
	c->bounds_mode = c->cls == SCHEMA_MEASURE ? SCHEMA_BOUNDS_CLAMP : SCHEMA_BOUNDS_REJECT;
	if (bm != NULL) {
		if (b == NULL)
			return sl_errf(SL_ERR_INVAL, "%s.bounds_mode: given without bounds", path);
		if (json_is_string(bm) && strcmp(json_string_value(bm), "reject") == 0)
			c->bounds_mode = SCHEMA_BOUNDS_REJECT;
		else if (json_is_string(bm) && strcmp(json_string_value(bm), "clamp") == 0)
			c->bounds_mode = SCHEMA_BOUNDS_CLAMP;
		else
			return sl_errf(
			    SL_ERR_INVAL, "%s.bounds_mode: must be \"reject\" or \"clamp\"", path);
	}
	/* Class rules. */
	if (c->cls == SCHEMA_MEASURE) {
		if (c->type != SCHEMA_INT && c->type != SCHEMA_DECIMAL && c->type != SCHEMA_REAL)
			return sl_errf(
			    SL_ERR_INVAL, "%s: a measure must be INT, DECIMAL or REAL", path);
		if (!c->has_bounds)
			return sl_errf(SL_ERR_INVAL,
			    "%s.bounds: a measure needs bounds [lo, hi] (they bound each row's "
			    "contribution to SUM, AVG and differential privacy)",
			    path);
	}
	if (c->cls == SCHEMA_UNIT) {
		if (c->type != SCHEMA_INT && c->type != SCHEMA_TEXT)
			return sl_errf(
			    SL_ERR_INVAL, "%s: the unit column must be INT or TEXT", path);
		if (c->nullable)
			return sl_errf(
			    SL_ERR_INVAL, "%s.nullable: the unit column cannot be null", path);
	}
	return 0;
}

int
schema_parse(const char *json, size_t len, struct schema **out)
{
	static const char *const allowed[] = {
	    "name", "title", "category", "description", "columns", NULL};
	static const char *const texts[] = {"title", "category", "description"};
	struct schema *s = NULL;
	json_error_t e;
	json_t *doc, *cols, *name;
	char path[48];
	size_t i, j, units = 0;
	int r;

	if ((doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return sl_errf(SL_ERR_PARSE, "%d:%d: %s", e.line, e.column, e.text);
	if (!json_is_object(doc)) {
		r = sl_errf(SL_ERR_INVAL, "the schema must be a JSON object");
		goto out;
	}
	if ((r = only_members(doc, "", allowed)) != 0)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	name = json_object_get(doc, "name");
	if (!json_is_string(name) || !sl_name_valid(json_string_value(name))) {
		r = sl_errf(SL_ERR_INVAL, "name: required, %s", SL_NAME_RULE);
		goto out;
	}
	if ((s->name = strdup(json_string_value(name))) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < 3; i++) {
		const json_t *v = json_object_get(doc, texts[i]);
		char **dst = i == 0 ? &s->title : i == 1 ? &s->category : &s->description;

		if (v == NULL)
			continue;
		if (!json_is_string(v)) {
			r = sl_errf(SL_ERR_INVAL, "%s: must be a string", texts[i]);
			goto out;
		}
		if ((*dst = strdup(json_string_value(v))) == NULL) {
			r = SL_ERR_NOMEM;
			goto out;
		}
	}
	cols = json_object_get(doc, "columns");
	if (!json_is_array(cols) || json_array_size(cols) == 0 ||
	    json_array_size(cols) > SCHEMA_COLUMNS_MAX) {
		r = sl_errf(SL_ERR_INVAL, "columns: required, a list of 1 to %d columns",
		    SCHEMA_COLUMNS_MAX);
		goto out;
	}
	s->ncols = json_array_size(cols);
	if ((s->cols = calloc(s->ncols, sizeof(*s->cols))) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < s->ncols; i++) {
		snprintf(path, sizeof(path), "columns[%zu]", i);
		if ((r = parse_column(json_array_get(cols, i), &s->cols[i], path)) != 0)
			goto out;
		for (j = 0; j < i; j++) {
			if (strcmp(s->cols[i].name, s->cols[j].name) == 0) {
				r = sl_errf(SL_ERR_INVAL, "%s.name: \"%s\" duplicates columns[%zu]",
				    path, s->cols[i].name, j);
				goto out;
			}
		}
		if (s->cols[i].cls == SCHEMA_UNIT) {
			if (units++ > 0) {
				r = sl_errf(SL_ERR_INVAL,
				    "%s.class: a second unit column (columns[%zu] is the unit)",
				    path, s->unit);
				goto out;
			}
			s->unit = i;
		}
	}
	if (units == 0) {
		r = sl_errf(SL_ERR_INVAL,
		    "columns: no unit column (one column must have class "
		    "\"unit\": the privacy unit, e.g. a member or patient id)");
		goto out;
	}
	*out = s;
	s = NULL;
	r = 0;
out:
	schema_free(s);
	json_decref(doc);
	return r;
}

const struct schema_column *
schema_column(const struct schema *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->ncols; i++)
		if (strcmp(s->cols[i].name, name) == 0)
			return &s->cols[i];
	return NULL;
}

void
schema_free(struct schema *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncols; i++) {
		struct schema_column *c = &s->cols[i];

		free(c->name);
		for (j = 0; c->domain_text != NULL && j < c->ndomain; j++)
			free(c->domain_text[j]);
		free(c->domain_text);
		free(c->domain_len);
		free(c->domain_slots);
		free(c->domain_int);
	}
	free(s->cols);
	free(s->name);
	free(s->title);
	free(s->category);
	free(s->description);
	free(s);
}
