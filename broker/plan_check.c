/*
 * broker/plan_check.c -- checking a worker's PLAN (broker/plan_check.h).
 */
#include <stdlib.h>
#include <string.h>

#include "broker/fault.h"
#include "broker/plan_check.h"
#include "common/err.h"
#include "common/fn.h"
#include "common/schema.h"
#include "contracts/contract.h"

static int
malformed(const char *what)
{
	return sl_errf(SL_ERR_PARSE, "the worker's plan is malformed: %s", what);
}

static int
in_contract(const struct contract_terms *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i], name) == 0)
			return 1;
	return 0;
}

static int
numeric(const struct schema_column *c)
{
	return c->type == SCHEMA_INT || c->type == SCHEMA_DECIMAL || c->type == SCHEMA_REAL;
}

/* Column col, used as use ("grouped", "filtered", "aggregated"), into *c. */
static int
usable(const struct schema *s, const struct contract_terms *t, uint32_t col, const char *use,
    const struct schema_column **c)
{
	if (col >= s->ncols)
		return malformed("a column that is not in the schema");
	*c = &s->cols[col];
	if ((*c)->cls == SCHEMA_UNIT)
		return sl_errf(SL_ERR_POLICY,
		    "column %s is the privacy unit: it is never %s or output", (*c)->name, use);
	if ((*c)->cls == SCHEMA_HIDDEN)
		return sl_errf(
		    SL_ERR_POLICY, "column %s is hidden: no query may use it", (*c)->name);
	if (!in_contract(t, (*c)->name))
		return sl_errf(
		    SL_ERR_POLICY, "column %s is not among the contract's columns", (*c)->name);
	if ((*c)->cls == SCHEMA_MEASURE && strcmp(use, "aggregated") != 0)
		return sl_errf(SL_ERR_POLICY,
		    "column %s is a measure: it may only be aggregated, not %s", (*c)->name, use);
	return 0;
}

/* The bytes of span sp in the text; NULL if they are not all inside it. */
static const char *
spanned(const char *text, size_t len, const struct job_span *sp)
{
	long off = fault_offset(text, len, sp->line, sp->column);

	if (off < 0 || sp->length == 0 || sp->length > len - (size_t)off)
		return NULL;
	return text + off;
}

/*
 * BUCKET's width from the number the text writes, in the column's storage
 * unit: the worker says where the number is, never what it is.
 */
static int
bucket_width(const char *text, size_t len, const struct job_plan_key *k, struct checked_key *ck)
{
	const char *w = spanned(text, len, &k->width);
	uint32_t cs = ck->c->type == SCHEMA_DECIMAL ? (uint32_t)ck->c->scale : 0, i;
	struct fn_decimal d;
	int64_t v;

	if (!numeric(ck->c))
		return malformed("BUCKET over a column that is not numeric");
	if (w == NULL || fn_decimal_scan(w, k->width.length, &d) != 0 || d.neg || d.overflow ||
	    d.mag == 0 || d.mag > INT64_MAX || d.scale > 18)
		return malformed("a BUCKET width that is not a number of the query");
	ck->digits = (int64_t)d.mag;
	ck->scale = d.scale;
	if (ck->c->type == SCHEMA_REAL) {
		ck->rwidth = (double)d.mag;
		for (i = 0; i < d.scale; i++)
			ck->rwidth /= 10;
		return 0;
	}
	v = (int64_t)d.mag;
	for (i = d.scale; i < cs; i++)
		if (__builtin_mul_overflow(v, 10, &v))
			return malformed("a BUCKET width out of range");
	for (i = cs; i < d.scale; i++) {
		if (v % 10 != 0)
			return malformed("a BUCKET width finer than its column");
		v /= 10;
	}
	ck->width = v;
	return 0;
}

static int
check_keys(const char *text, size_t len, const struct schema *s, const struct contract_terms *t,
    struct checked_plan *cp)
{
	size_t i;
	int r;

	for (i = 0; i < cp->p.nkeys; i++) {
		const struct job_plan_key *k = &cp->p.keys[i];
		struct checked_key *ck = &cp->keys[i];

		if ((r = usable(s, t, k->col, "grouped", &ck->c)) != 0)
			return r;
		if ((k->fn == FN_KEY_YEAR || k->fn == FN_KEY_MONTH) && ck->c->type != SCHEMA_DATE)
			return malformed("YEAR or MONTH of a column that is not a DATE");
		if (k->fn == FN_KEY_BUCKET && (r = bucket_width(text, len, k, ck)) != 0)
			return r;
	}
	return 0;
}

static int
check_aggregate(const struct job_plan_agg *a, const struct schema *s,
    const struct contract_terms *t, const struct schema_column **c)
{
	int r;

	*c = NULL;
	if (!(t->aggregates & FN_AGG_BIT(a->fn)))
		return sl_errf(SL_ERR_POLICY, "the contract does not allow %s",
		    a->fn == FN_COUNT_DISTINCT ? "COUNT(DISTINCT)" : fn_aggs[a->fn].name);
	if (t->mode == CONTRACT_DP && !fn_aggs[a->fn].dp)
		return sl_errf(SL_ERR_POLICY, "%s is not released in dp mode", fn_aggs[a->fn].name);
	if (a->fn == FN_COUNT)
		return a->clamp ? malformed("COUNT(*) with bounds") : 0;
	if ((r = usable(s, t, a->col, "aggregated", c)) != 0)
		return r;
	if (fn_aggs[a->fn].numeric && !numeric(*c))
		return malformed("an aggregate that needs a number over a column of another type");
	/* The worker clamps every aggregate over a bounded number to its bounds. */
	if (numeric(*c) && (*c)->has_bounds && !a->clamp && a->fn != FN_COUNT_DISTINCT)
		return sl_errf(
		    SL_ERR_POLICY, "aggregate over %s without its clamping bounds", (*c)->name);
	if (a->clamp && !(numeric(*c) && (*c)->has_bounds))
		return malformed("bounds on a column without bounds");
	return 0;
}

/* Every column read is the unit or one the plan uses. */
static int
check_reads(const struct job_plan *p, const struct schema *s)
{
	size_t i, j;

	for (i = 0; i < p->nreads; i++) {
		uint32_t c = p->reads[i];
		int used = c == s->unit;

		if (c >= s->ncols)
			return malformed("a read of a column that is not in the schema");
		for (j = 0; j < p->nfilters; j++)
			used |= p->filters[j] == c;
		for (j = 0; j < p->nkeys; j++)
			used |= p->keys[j].col == c;
		for (j = 0; j < p->naggs; j++)
			used |= p->aggs[j].col == c;
		if (!used)
			return sl_errf(SL_ERR_POLICY, "the plan reads column %s without using it",
			    s->cols[c].name);
	}
	return 0;
}

/* An AS name as the text writes it: a word, or a quoted name without its quotes. */
static json_t *
alias_name(const char *text, size_t len, const struct job_span *sp)
{
	const char *a = spanned(text, len, sp);
	char *buf;
	size_t i, n = 0;
	json_t *v;

	if (a == NULL)
		return NULL;
	if (a[0] != '"') {
		for (i = 0; i < sp->length; i++)
			if (!(a[i] == '_' || (a[i] >= '0' && a[i] <= '9') ||
			        ((a[i] | 0x20) >= 'a' && (a[i] | 0x20) <= 'z')))
				return NULL;
		return json_stringn(a, sp->length);
	}
	if (sp->length < 3 || a[sp->length - 1] != '"' || (buf = malloc(sp->length)) == NULL)
		return NULL;
	for (i = 1; i + 1 < sp->length; i++) {
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f ||
		    (a[i] == '"' && (i + 2 >= sp->length || a[++i] != '"'))) {
			free(buf);
			return NULL;
		}
		buf[n++] = a[i];
	}
	v = json_stringn(buf, n);
	free(buf);
	return v;
}

/* Output i's name: its alias in the text, or its item written out as fn.h writes it. */
static int
output_name(const char *text, size_t len, const struct checked_plan *cp, size_t i, json_t **out)
{
	const struct job_plan_output *o = &cp->p.outputs[i];
	char *label = NULL;
	int r;

	if (o->alias.length > 0)
		return (*out = alias_name(text, len, &o->alias)) != NULL
		           ? 0
		           : malformed("an alias that is not a name in the query");
	if (o->is_agg)
		r = fn_agg_label(cp->p.aggs[o->index].fn,
		    cp->agg_cols[o->index] != NULL ? cp->agg_cols[o->index]->name : "", &label);
	else
		r = fn_key_label(cp->p.keys[o->index].fn, cp->keys[o->index].c->name,
		    cp->keys[o->index].digits, cp->keys[o->index].scale, &label);
	if (r != 0)
		return r;
	*out = json_string(label);
	free(label);
	return *out != NULL ? 0 : SL_ERR_NOMEM;
}

int
plan_check(const uint8_t *payload, size_t len, const char *text, size_t textlen,
    const struct schema *s, const struct contract_terms *t, struct checked_plan *cp)
{
	const struct schema_column *c;
	json_t *name;
	size_t i;
	int r;

	memset(cp, 0, sizeof(*cp));
	if ((r = job_plan_decode(payload, len, &cp->p)) != 0)
		return r;
	cp->keys = calloc(cp->p.nkeys + 1, sizeof *cp->keys);
	cp->agg_cols = calloc(cp->p.naggs + 1, sizeof *cp->agg_cols);
	if ((cp->names = json_array()) == NULL || cp->keys == NULL || cp->agg_cols == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < cp->p.nfilters; i++)
		if ((r = usable(s, t, cp->p.filters[i], "filtered", &c)) != 0)
			return r;
	if ((r = check_keys(text, textlen, s, t, cp)) != 0)
		return r;
	for (i = 0; i < cp->p.naggs; i++)
		if ((r = check_aggregate(&cp->p.aggs[i], s, t, &cp->agg_cols[i])) != 0)
			return r;
	if ((r = check_reads(&cp->p, s)) != 0)
		return r;
	if (cp->p.limit > INT64_MAX)
		return malformed("a LIMIT out of range");
	for (i = 0; i < cp->p.noutputs; i++) {
		if ((r = output_name(text, textlen, cp, i, &name)) != 0)
			return r;
		if (json_array_append_new(cp->names, name) != 0)
			return SL_ERR_NOMEM;
	}
	return 0;
}

/* Column col by its name, or by its number when the schema has none such. */
static json_t *
column_json(const struct schema *s, uint32_t col)
{
	return col < s->ncols ? json_string(s->cols[col].name) : json_integer((json_int_t)col);
}

static json_t *
columns_json(const struct schema *s, const uint32_t *cols, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, column_json(s, cols[i]));
	return a;
}

static json_t *
keys_json(const struct checked_plan *cp, const struct schema *s)
{
	json_t *keys = json_array();
	size_t i;

	for (i = 0; keys != NULL && i < cp->p.nkeys; i++) {
		const struct checked_key *k = &cp->keys[i];
		json_t *o = json_pack("{s:s, s:o}", "fn", fn_keys[cp->p.keys[i].fn].name, "column",
		    column_json(s, cp->p.keys[i].col));

		/* A width the check did not reach (a refused plan) is not known. */
		if (o != NULL && cp->p.keys[i].fn == FN_KEY_BUCKET && k->digits > 0)
			json_object_set_new(o, "width",
			    k->c->type == SCHEMA_REAL ? json_real(k->rwidth)
			                              : json_integer(k->width));
		json_array_append_new(keys, o);
	}
	return keys;
}

static json_t *
aggs_json(const struct checked_plan *cp, const struct schema *s)
{
	json_t *aggs = json_array();
	size_t i;

	for (i = 0; aggs != NULL && i < cp->p.naggs; i++) {
		const struct job_plan_agg *a = &cp->p.aggs[i];
		const struct schema_column *c = a->col < s->ncols ? &s->cols[a->col] : NULL;
		json_t *o = json_pack("{s:s}", "fn", fn_aggs[a->fn].name);

		if (o != NULL && a->fn != FN_COUNT)
			json_object_set_new(o, "column", column_json(s, a->col));
		if (o != NULL && c != NULL && a->clamp)
			json_object_set_new(o, "bounds",
			    c->type == SCHEMA_REAL
			        ? json_pack("[f, f]", c->rlo, c->rhi)
			        : json_pack("[I, I]", (json_int_t)c->lo, (json_int_t)c->hi));
		json_array_append_new(aggs, o);
	}
	return aggs;
}

json_t *
plan_check_json(const struct checked_plan *cp, const struct schema *s)
{
	json_t *outs, *ord, *doc;
	size_t i;

	if (cp->p.noutputs == 0 || cp->keys == NULL || cp->agg_cols == NULL) /* not decoded */
		return NULL;
	outs = json_array();
	ord = json_array();
	for (i = 0; outs != NULL && i < cp->p.noutputs; i++) {
		json_t *name = json_array_get(cp->names, i);

		json_array_append_new(
		    outs, json_pack("{s:o, s:s, s:I}", "name",
		              name != NULL ? json_incref(name) : json_null(), "kind",
		              cp->p.outputs[i].is_agg ? "aggregate" : "key", "index",
		              (json_int_t)cp->p.outputs[i].index));
	}
	for (i = 0; ord != NULL && i < cp->p.norder; i++)
		json_array_append_new(
		    ord, json_pack("{s:I, s:b}", "output", (json_int_t)cp->p.order[i].output,
		             "desc", (int)cp->p.order[i].desc));
	doc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "product", s->name, "reads",
	    columns_json(s, cp->p.reads, cp->p.nreads), "filter_columns",
	    columns_json(s, cp->p.filters, cp->p.nfilters), "keys", keys_json(cp, s), "aggregates",
	    aggs_json(cp, s), "outputs", outs, "order", ord);
	if (doc != NULL && cp->p.has_limit)
		json_object_set_new(doc, "limit", json_integer((json_int_t)cp->p.limit));
	return doc;
}

void
checked_plan_clear(struct checked_plan *cp)
{
	job_plan_clear(&cp->p);
	free(cp->keys);
	free(cp->agg_cols);
	json_decref(cp->names);
	memset(cp, 0, sizeof(*cp));
}
