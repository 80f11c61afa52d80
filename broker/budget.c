/*
 * broker/budget.c -- a dp contract's privacy budget (broker/budget.h).
 */
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "broker/actor.h"
#include "broker/budget.h"
#include "broker/contracts.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "common/err.h"
#include "contracts/contract.h"

static const char *
unit_of(const struct contract_terms *t)
{
	return t->mechanism == CONTRACT_GAUSSIAN ? "rho" : "epsilon";
}

int
budget_get(struct db *db, const char *contract, const struct contract_terms *t, struct budget *out)
{
	sqlite3_stmt *st;
	struct rational cost;
	int r, s;

	if (t->mode != CONTRACT_DP)
		return sl_errf(
		    SL_ERR_INVAL, "contract %s is not in dp mode: it has no budget", contract);
	memset(out, 0, sizeof(*out));
	out->total = t->budget_total;
	out->per_query = t->budget_per_query;
	out->spent = (struct rational){0, 1};
	if ((r = db_stmt(
	         db, "SELECT cost_num, cost_den FROM dp_charges WHERE contract = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, contract, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (rational_make(
		        sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), &cost) != 0 ||
		    rational_add(out->spent, cost, &out->spent) != 0) {
			db_stmt_done(st);
			return sl_errf(SL_ERR_LIMIT,
			    "contract %s: its spend does not fit a rational", contract);
		}
		out->queries++;
	}
	db_stmt_done(st);
	if (s != SQLITE_DONE)
		return db_fail(db, "read the dp budget");
	if (rational_sub(out->total, out->spent, &out->remaining) != 0)
		return SL_ERR_LIMIT;
	return 0;
}

int
budget_check(const struct budget *b, const struct contract_terms *t)
{
	char need[RATIONAL_TEXT_BYTES], left[RATIONAL_TEXT_BYTES], all[RATIONAL_TEXT_BYTES];

	if (rational_cmp(b->per_query, b->remaining) <= 0)
		return 0;
	if (rational_format(b->per_query, need) < 0 || rational_format(b->remaining, left) < 0 ||
	    rational_format(b->total, all) < 0)
		return SL_ERR_INTERNAL;
	return sl_errf(SL_ERR_POLICY, "the privacy budget is spent: needs %s = %s; %s of %s left",
	    unit_of(t), need, left, all);
}

int
budget_charge(struct db *db, const char *contract, const struct contract_terms *t,
    const char *query, const char *time, struct budget *after)
{
	struct budget b;
	sqlite3_stmt *st;
	int r;

	if ((r = budget_get(db, contract, t, &b)) != 0 || (r = budget_check(&b, t)) != 0)
		return r;
	if ((r = db_stmt(db,
	         "INSERT INTO dp_charges (query, contract, cost_num, cost_den, time)"
	         " VALUES (?, ?, ?, ?, ?)",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, query, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, contract, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, b.per_query.num);
	sqlite3_bind_int64(st, 4, b.per_query.den);
	sqlite3_bind_text(st, 5, time, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "charge the dp budget");
	db_stmt_done(st);
	if (r != 0)
		return r;
	if (after != NULL) {
		*after = b;
		after->queries++;
		if (rational_add(b.spent, b.per_query, &after->spent) != 0 ||
		    rational_sub(b.remaining, b.per_query, &after->remaining) != 0)
			return SL_ERR_LIMIT;
	}
	return 0;
}

static json_t *
rational_json(struct rational r)
{
	char text[RATIONAL_TEXT_BYTES];

	return rational_format(r, text) < 0 ? NULL : json_string(text);
}

json_t *
budget_json(const struct budget *b, const struct contract_terms *t)
{
	json_t *doc = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I}", "mechanism",
	    t->mechanism == CONTRACT_GAUSSIAN ? "gaussian" : "laplace", "unit", unit_of(t), "total",
	    rational_json(b->total), "per_query", rational_json(b->per_query), "spent",
	    rational_json(b->spent), "remaining", rational_json(b->remaining), "queries",
	    (json_int_t)b->queries);
	long double rho = rational_to_ld(b->spent), delta = rational_to_ld(t->delta);

	/*
	 * rho-zCDP implies (rho + 2 sqrt(rho ln(1/delta)), delta)-DP (Bun and
	 * Steinke 2016, proposition 1.3): a description, never a budget.
	 */
	if (doc != NULL && t->mechanism == CONTRACT_GAUSSIAN &&
	    json_object_set_new(doc, "epsilon_delta",
	        json_pack("{s:f, s:o}", "epsilon", (double)(rho + 2 * sqrtl(rho * logl(1 / delta))),
	            "delta", rational_json(t->delta))) != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Whether party may read contract c's budget: one of its parties, the platform, an auditor. */
static int
may_see(const struct contract *c, const struct party *p)
{
	size_t i;

	if (strcmp(p->role, "platform") == 0 || strcmp(p->role, "auditor") == 0)
		return 1;
	for (i = 0; i < c->nparties; i++)
		if (strcmp(c->parties[i].name, p->name) == 0)
			return 1;
	return 0;
}

static int
history_of(struct db *db, const char *id, json_t **out)
{
	json_t *a = json_array();
	sqlite3_stmt *st;
	struct rational cost;
	char text[RATIONAL_TEXT_BYTES];
	int r, s;

	if (a == NULL)
		return SL_ERR_NOMEM;
	if ((r = db_stmt(db,
	         "SELECT query, time, cost_num, cost_den FROM dp_charges WHERE contract = ?"
	         " ORDER BY time, query",
	         &st)) != 0) {
		json_decref(a);
		return r;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		if (rational_make(
		        sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3), &cost) != 0 ||
		    rational_format(cost, text) < 0 ||
		    json_array_append_new(
		        a, json_pack("{s:s, s:s, s:s}", "query",
		               (const char *)sqlite3_column_text(st, 0), "time",
		               (const char *)sqlite3_column_text(st, 1), "cost", text)) != 0)
			break;
	db_stmt_done(st);
	if (s != SQLITE_DONE) {
		json_decref(a);
		return s == SQLITE_ROW ? SL_ERR_NOMEM : db_fail(db, "read the dp charges");
	}
	*out = a;
	return 0;
}

int
budget_act_show(struct exchange *ex, const struct keys_pubkey *caller, const char *id, json_t **doc,
    const char **field)
{
	struct contracts_row row;
	struct budget b;
	json_t *history = NULL;
	struct party p;
	int r, known = caller != NULL;

	*doc = NULL;
	/* Who asks comes first: a key no party holds learns nothing, not even whether id exists. */
	if (known && (r = actor_party(ex, caller, &p)) != 0) {
		*field = ACTOR_FIELD;
		return r;
	}
	if ((r = contracts_find(ex, id, &row)) != 0)
		goto out;
	if (known && !may_see(row.c, &p)) {
		r = sl_errf(SL_ERR_POLICY,
		    "%s is not a party of contract %s: its budget is not theirs to see", p.name, id);
		*field = ACTOR_FIELD;
	}
	if (r == 0 && (r = budget_get(exchange_db(ex), id, &row.c->terms, &b)) == 0 &&
	    (r = history_of(exchange_db(ex), id, &history)) == 0) {
		if ((*doc = budget_json(&b, &row.c->terms)) == NULL ||
		    json_object_set_new(*doc, "contract", json_string(id)) != 0 ||
		    json_object_set_new(*doc, "history", history) != 0) {
			if (*doc == NULL)
				json_decref(history);
			json_decref(*doc);
			*doc = NULL;
			r = SL_ERR_NOMEM;
		}
	}
	contracts_row_clear(&row);
out:
	if (known)
		party_clear(&p);
	return r;
}
