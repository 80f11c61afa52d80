/*
 * broker/budget.c -- a dp contract's privacy budget (broker/budget.h).
 */
#include <sqlite3.h>
#include <string.h>

#include "broker/budget.h"
#include "broker/db.h"
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
budget_charge(struct db *db, const char *contract, const struct contract_terms *t,
    const char *query, const char *time, struct budget *after)
{
	char need[RATIONAL_TEXT_BYTES], left[RATIONAL_TEXT_BYTES], all[RATIONAL_TEXT_BYTES];
	struct budget b;
	sqlite3_stmt *st;
	int r;

	if ((r = budget_get(db, contract, t, &b)) != 0)
		return r;
	if (rational_cmp(b.per_query, b.remaining) > 0) {
		if (rational_format(b.per_query, need) < 0 ||
		    rational_format(b.remaining, left) < 0 || rational_format(b.total, all) < 0)
			return SL_ERR_INTERNAL;
		return sl_errf(SL_ERR_POLICY,
		    "the privacy budget is spent: needs %s = %s; %s of %s left", unit_of(t), need,
		    left, all);
	}
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
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I}", "mechanism",
	    t->mechanism == CONTRACT_GAUSSIAN ? "gaussian" : "laplace", "unit", unit_of(t), "total",
	    rational_json(b->total), "per_query", rational_json(b->per_query), "spent",
	    rational_json(b->spent), "remaining", rational_json(b->remaining), "queries",
	    (json_int_t)b->queries);
}
