/*
 * sandbox/plan.c -- resolving a query against the product schema.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/schema.h"
#include "sandbox/fault.h"
#include "sandbox/heapsort.h"
#include "sandbox/plan.h"
#include "sandbox/value.h"
static int
is_numeric(enum schema_type t)
{
	return t == SCHEMA_INT || t == SCHEMA_DECIMAL || t == SCHEMA_REAL;
}

/* Note the rule the query broke at pos, about schema column col (or none: SIZE_MAX). */
static int
plan_fault(int r, struct sql_pos pos, uint32_t rule, uint32_t phrase, size_t col)
{
	struct job_place at = {
	    pos.line, pos.col, 0, rule, phrase, col == SIZE_MAX ? 0 : (uint32_t)col + 1, 0};

	return fault_note(r, &at);
}

static int
column(const struct plan *p, const char *name, struct sql_pos pos, size_t *col)
{
	const struct schema_column *c = schema_column(p->s, name);

	if (c == NULL)
		return plan_fault(sl_errf(SL_ERR_PARSE, "%u:%u: product %s has no column \"%.64s\"",
		                      pos.line, pos.col, p->s->name, name),
		    pos, JOB_RULE_NO_COLUMN, 0, SIZE_MAX);
	*col = (size_t)(c - p->s->cols);
	p->reads[*col] = 1;
	return 0;
}

/*
 * A literal in the storage unit of integer-stored column c: *exact when it is
 * representable, else *floor is the largest representable value below it.
 */
struct ival {
	int64_t v;
	int exact;
};

static int
literal_int(
    const struct schema_column *c, size_t col, const struct sql_literal *l, struct ival *out)
{
	uint32_t cs = c->type == SCHEMA_DECIMAL ? (uint32_t)c->scale : 0, ls;
	int64_t i = l->i, d, q;

	switch (c->type) {
	case SCHEMA_DATE:
		if (l->type == SQL_LIT_DATE) {
			*out = (struct ival){l->i, 1};
			return 0;
		}
		if (l->type == SQL_LIT_STRING) {
			int y, m, dd;
			char tail;
			int64_t days;

			if (sscanf(l->s, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) == 3 &&
			    l->len == 10 && value_days(y, m, dd, &days) == 0) {
				*out = (struct ival){days, 1};
				return 0;
			}
		}
		break;
	case SCHEMA_BOOL:
		if (l->type == SQL_LIT_BOOL) {
			*out = (struct ival){l->i, 1};
			return 0;
		}
		break;
	default:
		if (l->type != SQL_LIT_INT && l->type != SQL_LIT_DECIMAL)
			break;
		ls = l->type == SQL_LIT_DECIMAL ? l->scale : 0;
		if (ls <= cs) {
			if (__builtin_mul_overflow(i, fn_pow10(cs - ls), &out->v)) {
				out->v = i < 0 ? INT64_MIN : INT64_MAX;
				out->exact = 0;
				/* Below every value: floor must be one less than INT64_MIN; use MIN, empty ranges follow. */
				return 0;
			}
			out->exact = 1;
			return 0;
		}
		d = fn_pow10(ls - cs);
		q = i / d;
		if (i % d != 0 && i < 0)
			q--;
		out->v = q;
		out->exact = i % d == 0;
		return 0;
	}
	return plan_fault(
	    sl_errf(SL_ERR_PARSE, "%u:%u: column %s is %s; this literal is not of that type",
	        l->pos.line, l->pos.col, c->name,
	        c->type == SCHEMA_DATE   ? "DATE (write DATE 'YYYY-MM-DD')"
	        : c->type == SCHEMA_BOOL ? "BOOL (write TRUE or FALSE)"
	                                 : "numeric"),
	    l->pos, JOB_RULE_LITERAL_TYPE, 0, col);
}

static int
literal_real(const struct schema_column *c, size_t col, const struct sql_literal *l, double *out)
{
	if (l->type == SQL_LIT_INT) {
		*out = (double)l->i;
		return 0;
	}
	if (l->type == SQL_LIT_DECIMAL) {
		*out = (double)l->i / (double)fn_pow10(l->scale);
		return 0;
	}
	return plan_fault(
	    sl_errf(SL_ERR_PARSE, "%u:%u: column %s is REAL; this literal is not a number",
	        l->pos.line, l->pos.col, c->name),
	    l->pos, JOB_RULE_LITERAL_NUMBER, 0, col);
}

static struct plan_cond *
cond_new(enum plan_leaf kind, size_t col)
{
	struct plan_cond *pc = calloc(1, sizeof *pc);

	if (pc != NULL) {
		pc->kind = kind;
		pc->col = col;
		pc->lo = INT64_MIN;
		pc->hi = INT64_MAX;
		pc->rlo = -INFINITY;
		pc->rhi = INFINITY;
	}
	return pc;
}

static void
cond_free(struct plan_cond *pc)
{
	size_t i;

	if (pc == NULL)
		return;
	for (i = 0; i < pc->nkids; i++)
		cond_free(pc->kids[i]);
	free(pc->kids);
	free(pc->ints);
	free(pc->reals);
	if (pc->own_text != NULL)
		free(pc->own_text->lits); /* shallow copies: the strings are the query's */
	free(pc->own_text);
	free(pc);
}

/* Lowest representable value >= the literal. */
static int64_t
ceil_of(struct ival v)
{
	if (v.exact)
		return v.v;
	return v.v == INT64_MAX ? INT64_MAX : v.v + 1;
}

static void
range_cmp(struct plan_cond *pc, enum sql_cmp op, struct ival v)
{
	switch (op) {
	case SQL_NE:
		pc->negated = 1;
		/* fall through */
	case SQL_EQ:
		if (v.exact)
			pc->lo = pc->hi = v.v;
		else
			pc->lo = 1, pc->hi = 0;
		break;
	case SQL_LT: /* v < L: v <= L - 1 when exact, else v <= floor(L) */
		if (v.exact && v.v == INT64_MIN)
			pc->lo = 1, pc->hi = 0;
		else
			pc->hi = v.exact ? v.v - 1 : v.v;
		break;
	case SQL_LE:
		pc->hi = v.v;
		break;
	case SQL_GT:
		if (v.v == INT64_MAX)
			pc->lo = 1, pc->hi = 0;
		else
			pc->lo = v.v + 1;
		break;
	case SQL_GE:
		pc->lo = ceil_of(v);
		break;
	}
}

static void
rrange_cmp(struct plan_cond *pc, enum sql_cmp op, double x)
{
	switch (op) {
	case SQL_NE:
		pc->negated = 1;
		/* fall through */
	case SQL_EQ:
		pc->rlo = pc->rhi = x;
		break;
	case SQL_LT:
		pc->rhi = x, pc->hi_open = 1;
		break;
	case SQL_LE:
		pc->rhi = x;
		break;
	case SQL_GT:
		pc->rlo = x, pc->lo_open = 1;
		break;
	case SQL_GE:
		pc->rlo = x;
		break;
	}
}

/* INT sets and REAL sets (finite: from INT or DECIMAL literals), sorted in the worker. */
HEAPSORT_DEFINE(sort_i64, int64_t, HEAPSORT_SELF)
HEAPSORT_DEFINE(sort_f64, double, HEAPSORT_SELF)

static int
leaf_set(struct plan_cond *pc, const struct schema_column *c, const struct sql_cond *sc)
{
	size_t i, n = 0;
	struct ival v;
	int r;

	if (c->type == SCHEMA_REAL) {
		pc->kind = PLAN_RSET;
		if ((pc->reals = calloc(sc->nlits, sizeof(double))) == NULL)
			return SL_ERR_NOMEM;
		for (i = 0; i < sc->nlits; i++)
			if ((r = literal_real(c, pc->col, &sc->lits[i], &pc->reals[i])) != 0)
				return r;
		/* Sorted and unique, for the executor's binary search; -0.0 == 0.0 is one. */
		sort_f64(pc->reals, sc->nlits);
		for (i = 0, pc->n = 0; i < sc->nlits; i++)
			if (pc->n == 0 || pc->reals[pc->n - 1] != pc->reals[i])
				pc->reals[pc->n++] = pc->reals[i];
		return 0;
	}
	pc->kind = PLAN_SET;
	if ((pc->ints = calloc(sc->nlits, sizeof(int64_t))) == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < sc->nlits; i++) {
		if ((r = literal_int(c, pc->col, &sc->lits[i], &v)) != 0)
			return r;
		if (v.exact) /* a value the column cannot hold matches nothing */
			pc->ints[n++] = v.v;
	}
	sort_i64(pc->ints, n);
	for (i = 0, pc->n = 0; i < n; i++)
		if (pc->n == 0 || pc->ints[pc->n - 1] != pc->ints[i])
			pc->ints[pc->n++] = pc->ints[i];
	return 0;
}

static int
leaf_between(struct plan_cond *pc, const struct schema_column *c, const struct sql_cond *sc)
{
	struct ival a, b;
	int r;

	pc->negated = sc->negated;
	if (c->type == SCHEMA_REAL) {
		pc->kind = PLAN_RRANGE;
		if ((r = literal_real(c, pc->col, &sc->lits[0], &pc->rlo)) != 0 ||
		    (r = literal_real(c, pc->col, &sc->lits[1], &pc->rhi)) != 0)
			return r;
		return 0;
	}
	if ((r = literal_int(c, pc->col, &sc->lits[0], &a)) != 0 ||
	    (r = literal_int(c, pc->col, &sc->lits[1], &b)) != 0)
		return r;
	pc->lo = ceil_of(a);
	pc->hi = b.v;
	if (!a.exact && a.v == INT64_MAX)
		pc->lo = 1, pc->hi = 0;
	return 0;
}

static int
leaf(const struct plan *p, const struct sql_cond *sc, struct plan_cond **out)
{
	const struct schema_column *c;
	struct plan_cond *pc;
	struct ival v;
	size_t col;
	double x;
	int r;

	if ((r = column(p, sc->column, sc->pos, &col)) != 0)
		return r;
	c = &p->s->cols[col];
	if ((pc = cond_new(PLAN_RANGE, col)) == NULL)
		return SL_ERR_NOMEM;
	*out = pc;
	if (sc->kind == SQL_COND_NULL) {
		pc->kind = PLAN_ISNULL;
		pc->negated = sc->negated;
		return 0;
	}
	if (c->type == SCHEMA_TEXT) {
		pc->kind = PLAN_TEXT;
		pc->text = sc;
		for (size_t i = 0; i < sc->nlits; i++)
			if (sc->lits[i].type != SQL_LIT_STRING)
				return plan_fault(
				    sl_errf(SL_ERR_PARSE,
				        "%u:%u: column %s is TEXT; compare it with a 'string'",
				        sc->lits[i].pos.line, sc->lits[i].pos.col, c->name),
				    sc->lits[i].pos, JOB_RULE_LITERAL_TEXT, 0, pc->col);
		return 0;
	}
	if (sc->kind == SQL_COND_LIKE)
		return plan_fault(
		    sl_errf(SL_ERR_PARSE, "%u:%u: LIKE needs a TEXT column; %s is not one",
		        sc->pos.line, sc->pos.col, c->name),
		    sc->pos, JOB_RULE_NEEDS_TEXT, JOB_PHRASE_LIKE, pc->col);
	if (sc->kind == SQL_COND_IN) {
		pc->negated = sc->negated;
		return leaf_set(pc, c, sc);
	}
	if (sc->kind == SQL_COND_BETWEEN)
		return leaf_between(pc, c, sc);
	if (c->type == SCHEMA_REAL) {
		pc->kind = PLAN_RRANGE;
		if ((r = literal_real(c, pc->col, &sc->lits[0], &x)) != 0)
			return r;
		rrange_cmp(pc, sc->cmp, x);
		return 0;
	}
	if ((r = literal_int(c, pc->col, &sc->lits[0], &v)) != 0)
		return r;
	range_cmp(pc, sc->cmp, v);
	return 0;
}

static int cond(const struct plan *p, const struct sql_cond *sc, struct plan_cond **out);

/* An OR's kid that may join a set: `x = literal` or `x IN (...)`, not NOT IN. */
static int
is_equality(const struct sql_cond *sc)
{
	return (sc->kind == SQL_COND_CMP && sc->cmp == SQL_EQ) ||
	       (sc->kind == SQL_COND_IN && !sc->negated);
}

/* The literals an equality kid adds to the set: its IN list, or its one literal. */
static size_t
equality_nlits(const struct sql_cond *sc)
{
	return sc->kind == SQL_COND_IN ? sc->nlits : 1;
}

/*
 * The set leaf for the equality kids of disj (an OR) on column col (ncol of them, the
 * first at kids[first]): an IN of all their literals, built as leaf() builds
 * any IN, so every literal is checked and converted as it would have been.
 * A TEXT column's IN is kept as the leaf's own_text.
 */
static int
or_set(const struct plan *p, const struct sql_cond *disj, const size_t *cols, size_t col,
    size_t first, struct plan_cond **out)
{
	struct sql_cond *in;
	size_t i, k, n = 0;
	int r;

	for (i = first; i < disj->nkids; i++)
		if (cols[i] == col)
			n += equality_nlits(disj->kids[i]);
	if ((in = calloc(1, sizeof *in)) == NULL ||
	    (in->lits = calloc(n, sizeof *in->lits)) == NULL) {
		free(in);
		return SL_ERR_NOMEM;
	}
	in->kind = SQL_COND_IN;
	in->column = disj->kids[first]->column;
	in->pos = disj->kids[first]->pos;
	for (i = first; i < disj->nkids; i++) {
		if (cols[i] != col)
			continue;
		for (k = 0; k < equality_nlits(disj->kids[i]); k++)
			in->lits[in->nlits++] = disj->kids[i]->lits[k];
	}
	*out = NULL;
	r = leaf(p, in, out);
	if (*out != NULL && (*out)->kind == PLAN_TEXT) {
		(*out)->own_text = in;
		return r;
	}
	free(in->lits);
	free(in);
	return r;
}

/*
 * An OR node, its equality kids on one column merged into a set (plan.h:
 * plan_build()).  cols[i] is kid i's column for an equality kid whose column
 * exists, else ncols: that kid is planned on its own, so an unknown column is
 * reported where it is.
 */
static int
or_cond(const struct plan *p, const struct sql_cond *sc, struct plan_cond *pc)
{
	const size_t ncols = p->s->ncols;
	const struct schema_column *c;
	size_t *cols = NULL, *count = NULL, i;
	uint8_t *done = NULL;
	int r = SL_ERR_NOMEM;

	if ((cols = calloc(sc->nkids, sizeof *cols)) == NULL ||
	    (count = calloc(ncols, sizeof *count)) == NULL || (done = calloc(ncols, 1)) == NULL)
		goto out;
	for (i = 0; i < sc->nkids; i++) {
		cols[i] = ncols;
		if (is_equality(sc->kids[i]) &&
		    (c = schema_column(p->s, sc->kids[i]->column)) != NULL) {
			cols[i] = (size_t)(c - p->s->cols);
			count[cols[i]]++;
		}
	}
	for (i = 0; i < sc->nkids; i++) {
		if (cols[i] < ncols && count[cols[i]] >= 2) {
			if (done[cols[i]])
				continue;
			done[cols[i]] = 1;
			r = or_set(p, sc, cols, cols[i], i, &pc->kids[pc->nkids]);
		} else {
			r = cond(p, sc->kids[i], &pc->kids[pc->nkids]);
		}
		if (pc->kids[pc->nkids] != NULL)
			pc->nkids++;
		if (r != 0)
			goto out;
	}
	r = 0;
out:
	free(cols);
	free(count);
	free(done);
	return r;
}

/* Depth is bounded by the parser (SQL_MAX_DEPTH), so recursion here is too. */
static int
cond(const struct plan *p, const struct sql_cond *sc, struct plan_cond **out)
{
	struct plan_cond *pc;
	size_t i;
	int r;

	*out = NULL;
	if (sc->kind != SQL_COND_AND && sc->kind != SQL_COND_OR && sc->kind != SQL_COND_NOT)
		return leaf(p, sc, out);
	pc = cond_new(sc->kind == SQL_COND_AND  ? PLAN_AND
	              : sc->kind == SQL_COND_OR ? PLAN_OR
	                                        : PLAN_NOT,
	    0);
	if (pc == NULL)
		return SL_ERR_NOMEM;
	*out = pc;
	if ((pc->kids = calloc(sc->nkids, sizeof *pc->kids)) == NULL)
		return SL_ERR_NOMEM;
	if (pc->kind == PLAN_OR) {
		if ((r = or_cond(p, sc, pc)) != 0)
			return r;
		/* Every kid merged into one set: the OR is that set. */
		if (pc->nkids == 1) {
			*out = pc->kids[0];
			pc->nkids = 0;
			cond_free(pc);
		}
		return 0;
	}
	for (i = 0; i < sc->nkids; i++) {
		r = cond(p, sc->kids[i], &pc->kids[i]);
		pc->nkids = i + 1;
		if (r != 0)
			return r;
	}
	return 0;
}

static int
key(const struct plan *p, const struct sql_key *k, struct plan_key *out)
{
	const struct schema_column *c;
	struct ival w;
	int r;

	if ((r = column(p, k->column, k->pos, &out->col)) != 0)
		return r;
	c = &p->s->cols[out->col];
	out->fn = k->fn;
	out->width_pos = k->width.pos;
	out->width_len = k->width.toklen;
	if ((k->fn == FN_KEY_YEAR || k->fn == FN_KEY_MONTH) && c->type != SCHEMA_DATE)
		return plan_fault(
		    sl_errf(SL_ERR_PARSE, "%u:%u: %s needs a DATE column; %s is not one",
		        k->pos.line, k->pos.col, k->fn == FN_KEY_YEAR ? "YEAR" : "MONTH", c->name),
		    k->pos, JOB_RULE_NEEDS_DATE,
		    k->fn == FN_KEY_YEAR ? JOB_PHRASE_YEAR : JOB_PHRASE_MONTH, out->col);
	if (k->fn != FN_KEY_BUCKET)
		return 0;
	if (!is_numeric(c->type))
		return plan_fault(
		    sl_errf(SL_ERR_PARSE, "%u:%u: BUCKET needs a numeric column; %s is not one",
		        k->pos.line, k->pos.col, c->name),
		    k->pos, JOB_RULE_NEEDS_NUMERIC, JOB_PHRASE_BUCKET, out->col);
	if (c->type == SCHEMA_REAL)
		return literal_real(c, out->col, &k->width, &out->rwidth);
	if ((r = literal_int(c, out->col, &k->width, &w)) != 0)
		return r;
	if (!w.exact || w.v <= 0)
		return plan_fault(
		    sl_errf(SL_ERR_PARSE,
		        "%u:%u: BUCKET width must be a positive multiple of the unit of "
		        "column %s",
		        k->width.pos.line, k->width.pos.col, c->name),
		    k->width.pos, JOB_RULE_BUCKET_MULTIPLE, 0, out->col);
	out->width = w.v;
	return 0;
}

static int
same_key(const struct plan_key *a, const struct plan_key *b)
{
	return a->fn == b->fn && a->col == b->col && a->width == b->width && a->rwidth == b->rwidth;
}

static int
aggregate(const struct plan *p, const struct sql_item *it, struct plan_agg *out)
{
	const struct schema_column *c;
	int r;

	out->fn = it->agg;
	if (it->agg == FN_COUNT)
		return 0;
	if ((r = column(p, it->agg_column, it->pos, &out->col)) != 0)
		return r;
	c = &p->s->cols[out->col];
	if (it->agg != FN_COUNT_DISTINCT && it->agg != FN_MIN && it->agg != FN_MAX &&
	    !is_numeric(c->type))
		return plan_fault(
		    sl_errf(SL_ERR_PARSE, "%u:%u: %s needs a numeric column; %s is %s",
		        it->pos.line, it->pos.col, fn_aggs[it->agg].call, c->name,
		        c->type == SCHEMA_TEXT   ? "TEXT"
		        : c->type == SCHEMA_DATE ? "DATE"
		                                 : "BOOL"),
		    it->pos, JOB_RULE_NEEDS_NUMERIC, job_phrase_find(fn_aggs[it->agg].call),
		    out->col);
	out->clamp = c->has_bounds && is_numeric(c->type);
	return 0;
}

static int
outputs(struct plan *p)
{
	const struct sql_query *q = p->q;
	struct plan_key k;
	size_t i, j;
	int r;

	for (i = 0; i < q->nitems; i++) {
		const struct sql_item *it = &q->items[i];
		struct plan_output *o = &p->outputs[p->noutputs++];

		o->name = it->name;
		o->item = it;
		o->is_agg = it->is_agg;
		if (it->is_agg) {
			if ((r = aggregate(p, it, &p->aggs[p->naggs])) != 0)
				return r;
			o->index = p->naggs++;
			continue;
		}
		memset(&k, 0, sizeof k);
		if ((r = key(p, &it->key, &k)) != 0)
			return r;
		for (j = 0; j < p->nkeys && !same_key(&k, &p->keys[j]); j++)
			;
		if (j == p->nkeys)
			return plan_fault(sl_errf(SL_ERR_PARSE,
			                      "%u:%u: %s is neither an aggregate nor in GROUP BY",
			                      it->pos.line, it->pos.col, it->name),
			    it->pos, JOB_RULE_GROUP_MISSING, 0, SIZE_MAX);
		o->index = j;
		/* The name the buyer sees writes the width as the first item that selects it. */
		if (!p->keys[j].named) {
			p->keys[j].named = 1;
			p->keys[j].width_pos = k.width_pos;
			p->keys[j].width_len = k.width_len;
		}
	}
	return 0;
}

static int
order(struct plan *p)
{
	const struct sql_query *q = p->q;
	size_t i, j;

	/* As in SQL, two output columns may share a name; only a reference to it is ambiguous. */
	for (i = 0; i < q->norder; i++) {
		const struct sql_order *ob = &q->order[i];
		size_t found = p->noutputs;

		for (j = 0; j < p->noutputs; j++) {
			if (strcmp(p->outputs[j].name, ob->name) != 0)
				continue;
			if (found != p->noutputs)
				return plan_fault(
				    sl_errf(SL_ERR_PARSE,
				        "%u:%u: ORDER BY %.64s: two output columns have "
				        "that name",
				        ob->pos.line, ob->pos.col, ob->name),
				    ob->pos, JOB_RULE_ORDER_AMBIGUOUS, 0, SIZE_MAX);
			found = j;
		}
		if (found == p->noutputs)
			return plan_fault(
			    sl_errf(SL_ERR_PARSE,
			        "%u:%u: ORDER BY %.64s: no output column of that name",
			        ob->pos.line, ob->pos.col, ob->name),
			    ob->pos, JOB_RULE_ORDER_NAME, 0, SIZE_MAX);
		p->order[i].output = found;
		p->order[i].desc = q->order[i].desc;
		p->norder = i + 1;
	}
	return 0;
}

static int
build(struct plan *p)
{
	const struct sql_query *q = p->q;
	size_t i;
	int r;

	if (strcmp(q->product, p->s->name) != 0)
		return plan_fault(
		    sl_errf(SL_ERR_PARSE, "%u:%u: the contract is for product %s, not \"%.64s\"",
		        q->product_pos.line, q->product_pos.col, p->s->name, q->product),
		    q->product_pos, JOB_RULE_OTHER_PRODUCT, 0, SIZE_MAX);
	p->reads = calloc(p->s->ncols, 1);
	p->keys = calloc(q->ngroup + 1, sizeof *p->keys);
	p->aggs = calloc(q->nitems, sizeof *p->aggs);
	p->outputs = calloc(q->nitems, sizeof *p->outputs);
	p->order = calloc(q->norder + 1, sizeof *p->order);
	if (p->reads == NULL || p->keys == NULL || p->aggs == NULL || p->outputs == NULL ||
	    p->order == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < q->ngroup; i++) {
		if ((r = key(p, &q->group[i], &p->keys[i])) != 0)
			return r;
		p->nkeys = i + 1;
	}
	if (q->where != NULL && (r = cond(p, q->where, &p->where)) != 0)
		return r;
	if ((r = outputs(p)) != 0 || (r = order(p)) != 0)
		return r;
	p->unit_named = p->reads[p->s->unit];
	p->reads[p->s->unit] = 1;
	p->has_limit = q->has_limit;
	p->limit = q->limit;
	return 0;
}

int
plan_build(const struct sql_query *q, const struct schema *s, struct plan **out)
{
	struct plan *p = calloc(1, sizeof *p);
	int r;

	if (p == NULL)
		return SL_ERR_NOMEM;
	p->q = q;
	p->s = s;
	if ((r = build(p)) != 0) {
		plan_free(p);
		return r;
	}
	*out = p;
	return 0;
}

void
plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	cond_free(p->where);
	free(p->reads);
	free(p->keys);
	free(p->aggs);
	free(p->outputs);
	free(p->order);
	free(p);
}

/* ---- the PLAN frame ------------------------------------------------------- */

/* Columns the filter tests, once each, into cols. */
static void
filter_columns(const struct plan_cond *pc, uint8_t *seen, uint32_t *cols, size_t *n)
{
	size_t i;

	if (pc->kind == PLAN_AND || pc->kind == PLAN_OR || pc->kind == PLAN_NOT) {
		for (i = 0; i < pc->nkids; i++)
			filter_columns(pc->kids[i], seen, cols, n);
		return;
	}
	if (!seen[pc->col]) {
		seen[pc->col] = 1;
		cols[(*n)++] = (uint32_t)pc->col;
	}
}

static struct job_span
span(struct sql_pos pos, uint32_t len)
{
	return (struct job_span){pos.line, pos.col, len};
}

static void
plan_describe(const struct plan *p, struct job_plan *j, uint8_t *seen)
{
	size_t i;

	for (i = 0; i < p->s->ncols; i++)
		if (p->reads[i])
			j->reads[j->nreads++] = (uint32_t)i;
	if (p->where != NULL)
		filter_columns(p->where, seen, j->filters, &j->nfilters);
	for (i = 0; i < p->nkeys; i++) {
		j->keys[i].fn = p->keys[i].fn;
		j->keys[i].col = (uint32_t)p->keys[i].col;
		if (p->keys[i].fn == FN_KEY_BUCKET)
			j->keys[i].width = span(p->keys[i].width_pos, p->keys[i].width_len);
	}
	j->nkeys = p->nkeys;
	for (i = 0; i < p->naggs; i++) {
		j->aggs[i].fn = p->aggs[i].fn;
		j->aggs[i].col =
		    p->aggs[i].fn == FN_COUNT ? JOB_NO_COLUMN : (uint32_t)p->aggs[i].col;
		j->aggs[i].clamp = (uint32_t)p->aggs[i].clamp;
	}
	j->naggs = p->naggs;
	for (i = 0; i < p->noutputs; i++) {
		const struct sql_item *it = p->outputs[i].item;

		j->outputs[i].is_agg = (uint32_t)p->outputs[i].is_agg;
		j->outputs[i].index = (uint32_t)p->outputs[i].index;
		if (it->alias != NULL)
			j->outputs[i].alias = span(it->alias_pos, it->alias_len);
	}
	j->noutputs = p->noutputs;
	for (i = 0; i < p->norder; i++) {
		j->order[i].output = (uint32_t)p->order[i].output;
		j->order[i].desc = (uint32_t)p->order[i].desc;
	}
	j->norder = p->norder;
	j->has_limit = (uint32_t)p->has_limit;
	j->limit = p->limit;
}

int
plan_encode(const struct plan *p, uint8_t **out, size_t *len)
{
	struct job_plan j = {0};
	uint8_t *seen = calloc(p->s->ncols + 1, 1);
	int r = SL_ERR_NOMEM;

	j.reads = calloc(p->s->ncols + 1, sizeof *j.reads);
	j.filters = calloc(p->s->ncols + 1, sizeof *j.filters);
	j.keys = calloc(p->nkeys + 1, sizeof *j.keys);
	j.aggs = calloc(p->naggs + 1, sizeof *j.aggs);
	j.outputs = calloc(p->noutputs + 1, sizeof *j.outputs);
	j.order = calloc(p->norder + 1, sizeof *j.order);
	if (seen != NULL && j.reads != NULL && j.filters != NULL && j.keys != NULL &&
	    j.aggs != NULL && j.outputs != NULL && j.order != NULL) {
		plan_describe(p, &j, seen);
		r = job_plan_encode(&j, out, len);
	}
	free(seen);
	job_plan_clear(&j);
	return r;
}
