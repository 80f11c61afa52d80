/*
 * broker/ledger.c -- postings, caps, statements and the ledger's own check.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/audit.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/ledger.h"
#include "broker/merkle.h"
#include "broker/product.h"
#include "common/err.h"
#include "contracts/contract.h"

#define ADJUSTMENT_ACCOUNT 0

/* ---- the split ------------------------------------------------------------ */

/*
 * amount * bp / 10000 without overflow: amount = q * 10000 + r, so the
 * quotient is q * bp + r * bp / 10000 and the remainder r * bp % 10000.
 */
static void
share_of(int64_t amount, int64_t bp, int64_t *floor_fen, int64_t *rem)
{
	int64_t q = amount / LEDGER_SHARES_TOTAL, r = amount % LEDGER_SHARES_TOTAL;

	*floor_fen = q * bp + r * bp / LEDGER_SHARES_TOTAL;
	*rem = r * bp % LEDGER_SHARES_TOTAL;
}

int
ledger_split(int64_t amount, const int64_t *bp, size_t n, int64_t *out)
{
	int64_t total = 0, given = 0, f, rem;
	size_t i;

	if (amount < 0 || amount > LEDGER_AMOUNT_MAX)
		return sl_errf(SL_ERR_INVAL, "amount %lld fen: out of [0, 2^53]", (long long)amount);
	if (n == 0)
		return sl_errf(SL_ERR_INVAL, "no shares to split %lld fen among", (long long)amount);
	for (i = 0; i < n; i++) {
		if (bp[i] < 0 || bp[i] > LEDGER_SHARES_TOTAL)
			return sl_errf(SL_ERR_INVAL, "share %zu: %lld basis points", i,
			    (long long)bp[i]);
		total += bp[i];
	}
	if (total != LEDGER_SHARES_TOTAL)
		return sl_errf(SL_ERR_INVAL, "shares sum to %lld basis points, not 10000",
		    (long long)total);
	for (i = 0; i < n; i++) {
		share_of(amount, bp[i], &out[i], &rem);
		given += out[i];
	}
	/*
	 * The remainders sum to 10000 times the fen left over, and each is below
	 * 10000, so every fen finds a distinct share with a non-zero remainder.
	 * n is a handful of parties: the quadratic scan is the simple choice.
	 */
	for (; given < amount; given++) {
		size_t best = n;
		int64_t best_rem = -1;

		for (i = 0; i < n; i++) {
			share_of(amount, bp[i], &f, &rem);
			if (out[i] == f && rem > best_rem) {
				best = i;
				best_rem = rem;
			}
		}
		if (best == n)
			return sl_errf(SL_ERR_INTERNAL, "largest remainder: no share left");
		out[best]++;
	}
	return 0;
}

/* ---- posting --------------------------------------------------------------- */

/* The account of party `name`, opened on first use (an account's id is its party's). */
static int
party_account(struct db *db, const char *name, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_stmt(db, "SELECT id FROM parties WHERE name = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	if (r == SQLITE_DONE)
		return sl_errf(SL_ERR_NOTFOUND, "ledger: no party named '%s'", name);
	if (r != SQLITE_ROW)
		return db_fail(db, "find party account");
	if ((r = db_stmt(db, "INSERT OR IGNORE INTO ledger_accounts (id, party) VALUES (?1, ?1)",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, *id);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "open ledger account");
	db_stmt_done(st);
	return r;
}

/* One int64 from a statement with at most int parameters bound in order. */
static int
query_int(struct db *db, const char *sql, const char *what, int64_t *out, int nargs, ...);

/* What the cap still lets the parties earn this month: all of price when there is no cap. */
static int
capped(struct db *db, int64_t product, const char *month, int64_t price, int64_t *to_parties)
{
	sqlite3_stmt *st = NULL;
	int64_t cap, earned = 0;
	int r;

	if ((r = ledger_cap(db, product, &cap)) != 0)
		return r;
	*to_parties = price;
	if (cap < 0)
		return 0;
	if ((r = db_stmt(db,
	         "SELECT coalesce(sum(parties_fen), 0) FROM ledger_transactions"
	         " WHERE product = ? AND month = ?",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, product);
	sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		earned = sqlite3_column_int64(st, 0);
	else
		r = db_fail(db, "sum the month's revenue");
	db_stmt_done(st);
	if (r == 0 && earned < cap && cap - earned < price)
		*to_parties = cap - earned;
	else if (r == 0 && earned >= cap)
		*to_parties = 0;
	return r;
}

static int
insert_posting(struct db *db, int64_t txn, int64_t account, int64_t amount)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_stmt(db, "INSERT INTO ledger_postings (txn, account, amount_fen) VALUES (?, ?, ?)",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, txn);
	sqlite3_bind_int64(st, 2, account);
	sqlite3_bind_int64(st, 3, amount);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "post to the ledger");
	db_stmt_done(st);
	return r;
}

static int
insert_transaction(struct db *db, int64_t txn, const struct contract *c, int64_t product,
    const char *query, const char *time, int64_t price, int64_t adjustment)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_stmt(db,
	         "INSERT INTO ledger_transactions (id, query, contract, product, time, month,"
	         " price_fen, parties_fen, adjustment_fen, sealed)"
	         " VALUES (?1, ?2, ?3, ?4, ?5, substr(?5, 1, 7), ?6, ?7, ?8, ?1)",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, txn);
	sqlite3_bind_text(st, 2, query, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, product);
	sqlite3_bind_text(st, 5, time, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, price);
	sqlite3_bind_int64(st, 7, price - adjustment);
	sqlite3_bind_int64(st, 8, adjustment);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "record a ledger transaction");
	db_stmt_done(st);
	return r;
}

/* The database refuses the seal unless the postings balance (see broker/db.c). */
static int
seal(struct db *db, int64_t txn)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_stmt(db, "INSERT INTO ledger_seals (txn) VALUES (?)", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, txn);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "seal the ledger transaction");
	db_stmt_done(st);
	return r;
}

/* Append {"account": name, "amount_fen": amount} to postings. */
static int
describe(json_t *postings, const char *name, int64_t amount)
{
	return json_array_append_new(postings,
	           json_pack("{s:s, s:I}", "account", name, "amount_fen", (json_int_t)amount)) == 0
	           ? 0
	           : SL_ERR_NOMEM;
}

int
ledger_post(struct db *db, const struct contract *c, int64_t product_id, const char *query,
    const char *time, json_t **details)
{
	const struct contract_terms *t = &c->terms;
	const struct contract_party *buyer = contract_party(c, CONTRACT_BUYER);
	int64_t price = t->price_fen, to_parties, txn, account, *bp = NULL, *split = NULL;
	json_t *postings = json_array();
	char month[8];
	size_t i;
	int r;

	*details = NULL;
	if (postings == NULL || strlen(time) < 7)
		r = postings == NULL ? SL_ERR_NOMEM : sl_errf(SL_ERR_INVAL, "bad time '%s'", time);
	else if (buyer == NULL || t->nshares == 0)
		r = sl_errf(SL_ERR_INTERNAL, "contract %s: no buyer or no shares", c->id);
	else if ((bp = calloc(t->nshares, sizeof *bp)) == NULL ||
	         (split = calloc(t->nshares, sizeof *split)) == NULL)
		r = SL_ERR_NOMEM;
	else
		r = 0;
	if (r != 0)
		goto out;
	memcpy(month, time, 7);
	month[7] = '\0';
	for (i = 0; i < t->nshares; i++)
		bp[i] = t->shares[i].bp;
	if ((r = capped(db, product_id, month, price, &to_parties)) != 0 ||
	    (r = ledger_split(to_parties, bp, t->nshares, split)) != 0 ||
	    (r = query_int(db, "SELECT coalesce(max(id), 0) + 1 FROM ledger_transactions",
	         "number a ledger transaction", &txn, 0)) != 0 ||
	    (r = insert_transaction(db, txn, c, product_id, query, time, price, price - to_parties)) !=
	        0)
		goto out;
	if ((r = party_account(db, buyer->name, &account)) != 0 ||
	    (r = insert_posting(db, txn, account, -price)) != 0 ||
	    (r = describe(postings, buyer->name, -price)) != 0)
		goto out;
	for (i = 0; i < t->nshares; i++)
		if ((r = party_account(db, t->shares[i].party, &account)) != 0 ||
		    (r = insert_posting(db, txn, account, split[i])) != 0 ||
		    (r = describe(postings, t->shares[i].party, split[i])) != 0)
			goto out;
	if (price > to_parties &&
	    ((r = insert_posting(db, txn, ADJUSTMENT_ACCOUNT, price - to_parties)) != 0 ||
	        (r = describe(postings, LEDGER_ADJUSTMENT, price - to_parties)) != 0))
		goto out;
	if ((r = seal(db, txn)) != 0)
		goto out;
	*details = json_pack("{s:I, s:I, s:I, s:O}", "transaction", (json_int_t)txn, "price_fen",
	    (json_int_t)price, "adjustment_fen", (json_int_t)(price - to_parties), "postings", postings);
	if (*details == NULL)
		r = SL_ERR_NOMEM;
out:
	json_decref(postings);
	free(bp);
	free(split);
	return r;
}

static int
query_int(struct db *db, const char *sql, const char *what, int64_t *out, int nargs, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int r, i;

	if ((r = db_stmt(db, sql, &st)) != 0)
		return r;
	va_start(ap, nargs);
	for (i = 1; i <= nargs; i++)
		sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
	va_end(ap);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = db_fail(db, what);
	}
	db_stmt_done(st);
	return r;
}

/* ---- caps ----------------------------------------------------------------- */

int
ledger_set_cap(struct db *db, int64_t product_id, int64_t monthly_fen, const char *by)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (monthly_fen < -1 || monthly_fen > LEDGER_AMOUNT_MAX)
		return sl_errf(SL_ERR_INVAL, "cap %lld fen: out of [0, 2^53]", (long long)monthly_fen);
	if ((r = db_prepare(db,
	         monthly_fen < 0 ? "DELETE FROM ledger_caps WHERE product = ?1"
	                         : "INSERT INTO ledger_caps (product, monthly_fen, set_time, set_by)"
	                           " VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?3)"
	                           " ON CONFLICT (product) DO UPDATE SET monthly_fen = ?2,"
	                           " set_time = excluded.set_time, set_by = ?3",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, product_id);
	if (monthly_fen >= 0) {
		sqlite3_bind_int64(st, 2, monthly_fen);
		sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
	}
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "set the revenue cap");
	sqlite3_finalize(st);
	return r;
}

int
ledger_change_cap(struct exchange *ex, const char *product, int64_t monthly_fen)
{
	struct db *db = exchange_db(ex);
	struct product p;
	int r;

	if ((r = product_find(ex, product, &p)) != 0)
		return r;
	if ((r = db_begin(db)) == 0 &&
	    (r = ledger_set_cap(db, p.id, monthly_fen, EXCHANGE_PLATFORM_NAME)) == 0 &&
	    (r = exchange_audit(ex, EXCHANGE_PLATFORM_NAME,
	         monthly_fen < 0 ? "ledger.cap_removed" : "ledger.cap_set", product,
	         monthly_fen < 0 ? NULL
	                         : json_pack("{s:I}", "monthly_fen", (json_int_t)monthly_fen))) == 0)
		r = db_commit(db);
	db_rollback(db);
	product_clear(&p);
	return r;
}

int
ledger_cap(struct db *db, int64_t product_id, int64_t *monthly_fen)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_stmt(db, "SELECT monthly_fen FROM ledger_caps WHERE product = ?", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, product_id);
	r = sqlite3_step(st);
	*monthly_fen = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	r = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_fail(db, "read the revenue cap");
	db_stmt_done(st);
	return r;
}

/* ---- statements ----------------------------------------------------------- */

/* Sum of an account's postings before from (0 without from). */
static int
opening(struct db *db, int64_t account, const char *from, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	*out = 0;
	if (from == NULL)
		return 0;
	if ((r = db_prepare(db,
	         "SELECT coalesce(sum(p.amount_fen), 0) FROM ledger_postings p"
	         " JOIN ledger_transactions t ON t.id = p.txn WHERE p.account = ? AND t.time < ?",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		r = db_fail(db, "sum the opening balance");
	sqlite3_finalize(st);
	return r;
}

static int
statement(struct db *db, int64_t account, const char *name, const char *role, const char *from,
    const char *until, const struct ledger_sink *sink)
{
	sqlite3_stmt *st = NULL;
	int64_t balance, n = 0;
	int r, rc;

	if ((r = opening(db, account, from, &balance)) != 0 ||
	    (r = sink->open(sink->arg, name, role, balance)) != 0)
		return r;
	if ((r = db_prepare(db,
	         "SELECT t.time, t.contract, t.query, t.id, p.amount_fen, t.adjustment_fen"
	         " FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.txn"
	         " WHERE p.account = ?1 AND (?2 IS NULL OR t.time >= ?2)"
	         " AND (?3 IS NULL OR substr(t.time, 1, length(?3)) <= ?3) ORDER BY t.id",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, until, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_entry e = {
		    .time = (const char *)sqlite3_column_text(st, 0),
		    .contract = (const char *)sqlite3_column_text(st, 1),
		    .query = (const char *)sqlite3_column_text(st, 2),
		    .transaction = sqlite3_column_int64(st, 3),
		    .amount_fen = sqlite3_column_int64(st, 4),
		    .adjustment_fen = sqlite3_column_int64(st, 5),
		};

		balance += e.amount_fen;
		n++;
		if ((r = sink->entry(sink->arg, &e)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_fail(db, "read a statement");
	else
		r = sink->close(sink->arg, balance, n);
out:
	sqlite3_finalize(st);
	return r;
}

int
ledger_statements(struct db *db, const char *account, const char *from, const char *until,
    const struct ledger_sink *sink)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* One party's statement exists even before its first posting. */
	if ((r = db_prepare(db,
	         "SELECT id, name, role FROM parties WHERE ?1 IS NOT NULL AND name = ?1"
	         " UNION ALL SELECT 0, 'adjustment', NULL WHERE ?1 = 'adjustment'"
	         " UNION ALL SELECT * FROM (SELECT a.id, coalesce(p.name, 'adjustment'), p.role"
	         "   FROM ledger_accounts a LEFT JOIN parties p ON p.id = a.party"
	         "   WHERE ?1 IS NULL AND (a.id != 0 OR EXISTS"
	         "     (SELECT 1 FROM ledger_postings WHERE account = 0))"
	         "   ORDER BY a.id = 0, p.name)",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && account != NULL)
		r = sl_errf(SL_ERR_NOTFOUND, "no party named '%s'", account);
	for (; r == 0 && rc == SQLITE_ROW; rc = sqlite3_step(st))
		r = statement(db, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2), from, until, sink);
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(db, "list ledger accounts");
	sqlite3_finalize(st);
	return r;
}

/* ---- verification ---------------------------------------------------------- */

static int
verify_accounts(struct db *db, struct ledger_check *res)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
	         "SELECT coalesce(p.name, 'adjustment'), a.balance_fen,"
	         " (SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings WHERE account = a.id)"
	         " FROM ledger_accounts a LEFT JOIN parties p ON p.id = a.party ORDER BY a.id",
	         &st)) != 0)
		return r;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t balance = sqlite3_column_int64(st, 1), sum = sqlite3_column_int64(st, 2);

		res->accounts++;
		if (balance != sum)
			r = sl_errf(SL_ERR_AUTH,
			    "ledger: account %s has balance %lld fen but its postings sum to %lld",
			    sqlite3_column_text(st, 0), (long long)balance, (long long)sum);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(db, "check ledger accounts");
	sqlite3_finalize(st);
	return r;
}

/* Columns of the transaction check, in the SELECT's order. */
enum { TX_ID, TX_QUERY, TX_PRICE, TX_PARTIES, TX_ADJ, TX_NPOST, TX_SUM, TX_SEALED, TX_QSTATE,
	TX_QCHARGED, TX_QCONTRACT, TX_BUYER, TX_ADJPOST, TX_CREDITS };

static const char *
transaction_fault(sqlite3_stmt *st)
{
	int64_t price = sqlite3_column_int64(st, TX_PRICE);

	if (sqlite3_column_int64(st, TX_NPOST) < 2)
		return "has fewer than two postings";
	if (sqlite3_column_int64(st, TX_SUM) != 0)
		return "does not balance";
	if (!sqlite3_column_int64(st, TX_SEALED))
		return "is not sealed";
	if (sqlite3_column_type(st, TX_QSTATE) == SQLITE_NULL ||
	    strcmp((const char *)sqlite3_column_text(st, TX_QSTATE), "released") != 0)
		return "is for a query that was not released";
	if (!sqlite3_column_int64(st, TX_QCONTRACT))
		return "names another contract than its query";
	if (sqlite3_column_int64(st, TX_QCHARGED) != price)
		return "disagrees with the price charged for its query";
	if (sqlite3_column_type(st, TX_BUYER) == SQLITE_NULL ||
	    sqlite3_column_int64(st, TX_BUYER) != -price)
		return "does not debit the buyer its price";
	if (sqlite3_column_int64(st, TX_ADJPOST) != sqlite3_column_int64(st, TX_ADJ))
		return "disagrees with its adjustment posting";
	if (sqlite3_column_int64(st, TX_CREDITS) != sqlite3_column_int64(st, TX_PARTIES))
		return "disagrees with its parties' credits";
	return NULL;
}

static int
verify_transactions(struct db *db, struct ledger_check *res)
{
	sqlite3_stmt *st = NULL;
	const char *fault;
	int r, rc;

	if ((r = db_prepare(db,
	         "SELECT t.id, t.query, t.price_fen, t.parties_fen, t.adjustment_fen,"
	         " (SELECT count(*) FROM ledger_postings WHERE txn = t.id),"
	         " (SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings WHERE txn = t.id),"
	         " EXISTS (SELECT 1 FROM ledger_seals WHERE txn = t.id),"
	         " q.state, q.charged_fen, q.contract IS t.contract,"
	         " (SELECT amount_fen FROM ledger_postings WHERE txn = t.id AND account = c.buyer),"
	         " (SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings"
	         "   WHERE txn = t.id AND account = 0),"
	         " (SELECT coalesce(sum(amount_fen), 0) FROM ledger_postings"
	         "   WHERE txn = t.id AND account NOT IN (0, c.buyer))"
	         " FROM ledger_transactions t LEFT JOIN queries q ON q.id = t.query"
	         " LEFT JOIN contracts c ON c.id = t.contract ORDER BY t.id",
	         &st)) != 0)
		return r;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		res->transactions++;
		res->postings += sqlite3_column_int64(st, TX_NPOST);
		res->debited_fen += sqlite3_column_int64(st, TX_PRICE);
		res->credited_fen += sqlite3_column_int64(st, TX_PARTIES);
		res->adjusted_fen += sqlite3_column_int64(st, TX_ADJ);
		if ((fault = transaction_fault(st)) != NULL)
			r = sl_errf(SL_ERR_AUTH, "ledger: transaction %lld (query %s) %s",
			    (long long)sqlite3_column_int64(st, TX_ID),
			    sqlite3_column_text(st, TX_QUERY), fault);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_fail(db, "check ledger transactions");
	sqlite3_finalize(st);
	return r;
}

static int
verify_released(struct db *db)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = db_prepare(db,
	         "SELECT id FROM queries q WHERE state = 'released' AND NOT EXISTS"
	         " (SELECT 1 FROM ledger_transactions WHERE query = q.id) ORDER BY submitted LIMIT 1",
	         &st)) != 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = sl_errf(SL_ERR_AUTH, "ledger: released query %s has no ledger transaction",
		    sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		r = db_fail(db, "check released queries");
	sqlite3_finalize(st);
	return r;
}

struct event_walk {
	struct db *db;
	enum keys_suite suite;
	uint8_t *seen; /* by transaction id */
	int64_t max_txn;
	struct ledger_check *res;
	char msg[200]; /* event_fault()'s message when it has numbers in it */
};

/* Whether the posting {"account", "amount_fen"} is in transaction txn. */
static int
posting_matches(struct db *db, int64_t txn, const json_t *p, int *ok)
{
	sqlite3_stmt *st = NULL;
	const char *name = json_string_value(json_object_get(p, "account"));
	const json_t *amount = json_object_get(p, "amount_fen");
	int r, rc;

	*ok = 0;
	if (name == NULL || !json_is_integer(amount))
		return 0;
	if ((r = db_stmt(db,
	         "SELECT amount_fen FROM ledger_postings WHERE txn = ?1 AND account ="
	         " CASE WHEN ?2 = 'adjustment' THEN 0 ELSE (SELECT id FROM parties WHERE name = ?2) END",
	         &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, txn);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ok = sqlite3_column_int64(st, 0) == json_integer_value(amount);
	else if (rc != SQLITE_DONE)
		r = db_fail(db, "match a posting");
	db_stmt_done(st);
	return r;
}

/* What the ledger holds for a query's charge. */
struct charge {
	int64_t txn; /* 0 if none */
	int64_t npostings;
	int64_t price_fen, adjustment_fen;
	int64_t buyer_fen; /* the posting to the contract's buyer; 1 when there is none */
};

/* The transaction of query, its posting count, price and debit of the buyer. */
static int
transaction_of(struct db *db, const char *query, struct charge *c)
{
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	memset(c, 0, sizeof(*c));
	if ((r = db_stmt(db,
	         "SELECT id, (SELECT count(*) FROM ledger_postings WHERE txn = t.id),"
	         " price_fen, adjustment_fen,"
	         " coalesce((SELECT amount_fen FROM ledger_postings WHERE txn = t.id AND account ="
	         "   (SELECT buyer FROM contracts WHERE id = t.contract)), 1)"
	         " FROM ledger_transactions t WHERE query = ?",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, query, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->txn = sqlite3_column_int64(st, 0);
		c->npostings = sqlite3_column_int64(st, 1);
		c->price_fen = sqlite3_column_int64(st, 2);
		c->adjustment_fen = sqlite3_column_int64(st, 3);
		c->buyer_fen = sqlite3_column_int64(st, 4);
	} else if (rc != SQLITE_DONE) {
		r = db_fail(db, "find a query's transaction");
	}
	db_stmt_done(st);
	return r;
}

static const char *
event_fault(struct event_walk *w, const json_t *ev, int64_t *txn)
{
	const char *query = json_string_value(json_object_get(ev, "subject"));
	const json_t *d = json_object_get(ev, "details");
	const json_t *postings = json_object_get(d, "postings"), *p;
	const json_t *charged = json_object_get(d, "charged_fen");
	const json_t *adjusted = json_object_get(d, "adjustment_fen");
	struct charge c;
	int64_t n;
	size_t i;
	int ok;

	if (query == NULL || !json_is_array(postings))
		return "records no postings";
	if (transaction_of(w->db, query, &c) != 0)
		return "could not be matched (catalog error)";
	*txn = c.txn;
	n = c.npostings;
	if (*txn == 0)
		return "has no ledger transaction";
	/*
	 * The charge itself, not only the postings: an event rewritten to say
	 * 1 fen where the transaction took 5000 (or the reverse) is a lie about
	 * what the buyer paid.
	 */
	if (!json_is_integer(charged))
		return "records no charged_fen";
	if (json_integer_value(charged) != c.price_fen ||
	    json_integer_value(charged) != -c.buyer_fen) {
		snprintf(w->msg, sizeof(w->msg),
		    "charged %lld fen, but its ledger transaction %lld has price %lld fen and "
		    "debits the buyer %lld fen",
		    (long long)json_integer_value(charged), (long long)*txn,
		    (long long)c.price_fen, (long long)-c.buyer_fen);
		return w->msg;
	}
	if (!json_is_integer(adjusted) || json_integer_value(adjusted) != c.adjustment_fen)
		return "disagrees with its ledger transaction's adjustment";
	if (json_integer_value(json_object_get(d, "transaction")) != *txn)
		return "names another ledger transaction";
	if (*txn > w->max_txn || w->seen[*txn])
		return "repeats a ledger transaction already released";
	w->seen[*txn] = 1;
	if ((int64_t)json_array_size(postings) != n)
		return "records a different number of postings than its transaction";
	json_array_foreach(postings, i, p)
	{
		if (posting_matches(w->db, *txn, p, &ok) != 0)
			return "could not be matched (catalog error)";
		if (!ok)
			return "records a posting its transaction does not have";
	}
	return NULL;
}

static int
check_event(void *arg, int64_t seq, const char *event, size_t len, const uint8_t leaf[KEYS_HASH_BYTES])
{
	struct event_walk *w = arg;
	uint8_t mine[MERKLE_HASH_BYTES];
	const char *fault;
	json_t *ev;
	int64_t txn = 0;
	int r;

	if ((r = merkle_hash_leaf(w->suite, event, len, mine)) != 0)
		return r;
	if (memcmp(mine, leaf, sizeof mine) != 0)
		return sl_errf(SL_ERR_AUTH, "ledger: audit event %lld does not match its leaf hash",
		    (long long)seq);
	if ((ev = json_loadb(event, len, 0, NULL)) == NULL)
		return sl_errf(SL_ERR_AUTH, "ledger: audit event %lld is not JSON", (long long)seq);
	fault = event_fault(w, ev, &txn);
	if (fault != NULL)
		r = sl_errf(SL_ERR_AUTH, "ledger: audit event %lld (query.released %s) %s",
		    (long long)seq, json_string_value(json_object_get(ev, "subject")), fault);
	json_decref(ev);
	w->res->events++;
	return r;
}

static int
verify_events(struct db *db, enum keys_suite suite, struct ledger_check *res)
{
	struct audit_filter f = {.action = "query.released"};
	struct event_walk w = {.db = db, .suite = suite, .res = res};
	int64_t i;
	int r;

	if ((r = query_int(db, "SELECT coalesce(max(id), 0) FROM ledger_transactions",
	         "number ledger transactions", &w.max_txn, 0)) != 0)
		return r;
	if ((w.seen = calloc((size_t)w.max_txn + 1, 1)) == NULL)
		return SL_ERR_NOMEM;
	r = audit_list(db, &f, check_event, &w);
	if (r == 0 && w.max_txn != res->transactions)
		r = sl_errf(SL_ERR_AUTH, "ledger: %lld transactions numbered up to %lld",
		    (long long)res->transactions, (long long)w.max_txn);
	for (i = 1; r == 0 && i <= w.max_txn; i++)
		if (!w.seen[i])
			r = sl_errf(SL_ERR_AUTH,
			    "ledger: transaction %lld has no query.released audit event", (long long)i);
	free(w.seen);
	return r;
}

int
ledger_verify(struct db *db, enum keys_suite suite, struct ledger_check *res)
{
	int r;

	memset(res, 0, sizeof *res);
	/* One read transaction: every check sees the same snapshot. */
	if ((r = db_exec(db, "BEGIN DEFERRED")) != 0)
		return r;
	if ((r = verify_accounts(db, res)) == 0 && (r = verify_transactions(db, res)) == 0 &&
	    (r = verify_released(db)) == 0)
		r = verify_events(db, suite, res);
	db_rollback(db);
	return r;
}
