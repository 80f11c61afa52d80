/*
 * broker/ledger.h -- the revenue ledger.
 *
 * Double entry in integer fen.  Each released query posts one transaction,
 * in the SQLite transaction that records the release and its audit event:
 * the buyer is debited the contract's price, and the price is credited to
 * the parties that share it, split by the largest-remainder method, so the
 * credits sum exactly to the debit.  A free (public_welfare) contract posts
 * a zero transaction, so free use is still on the books.  When a product
 * has a monthly revenue cap, the part of a price above what the cap still
 * allows this calendar month (UTC) goes to the adjustment account instead.
 *
 * The database enforces balance (see the ledger migration in broker/db.c);
 * ledger_verify() recomputes everything and matches it with the audit log.
 *
 * Owns the tables ledger_accounts, ledger_transactions, ledger_postings,
 * ledger_seals and ledger_caps.
 */
#ifndef SLUICE_BROKER_LEDGER_H
#define SLUICE_BROKER_LEDGER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/suite.h"

struct db;
struct contract;

#define LEDGER_SHARES_TOTAL 10000 /* basis points */
#define LEDGER_ADJUSTMENT "adjustment"
#define LEDGER_AMOUNT_MAX 9007199254740992LL /* 2^53, as CONTRACT_INT_MAX */

/*
 * Split amount (0..LEDGER_AMOUNT_MAX) among n shares of bp[i] basis points
 * (summing to LEDGER_SHARES_TOTAL): out[i] is floor(amount * bp[i] / 10000),
 * and the fen left over go one each to the largest remainders, earlier
 * shares first on ties.  The out[i] sum to amount and each is within one
 * fen of its exact value.  SL_ERR_INVAL for arguments out of range.
 */
int ledger_split(int64_t amount, const int64_t *bp, size_t n, int64_t *out)
    __attribute__((warn_unused_result));

/*
 * Post the charge for released query `query` under contract c, of product
 * product_id, at time (RFC 3339), in the caller's open write transaction.
 * On success *details (caller decrefs) describes the transaction for the
 * query.released audit event:
 *     {"transaction": N, "price_fen": P, "adjustment_fen": A,
 *      "postings": [{"account": NAME, "amount_fen": F}, ...]}
 * with the buyer's debit first, then the shares in party order, then the
 * adjustment account's credit when A > 0.
 */
int ledger_post(struct db *db, const struct contract *c, int64_t product_id, const char *query,
    const char *time, json_t **details) __attribute__((warn_unused_result));

/* Set (monthly_fen >= 0) or remove (-1) product_id's monthly revenue cap, in the caller's transaction. */
int ledger_set_cap(struct db *db, int64_t product_id, int64_t monthly_fen, const char *by)
    __attribute__((warn_unused_result));

/*
 * As ledger_set_cap() for the product named product, by the platform, in
 * its own transaction with its audit event (ledger.cap_set or
 * ledger.cap_removed).
 */
struct exchange;
int ledger_change_cap(struct exchange *ex, const char *product, int64_t monthly_fen)
    __attribute__((warn_unused_result));

/* The product's cap, or -1 when it has none. */
int ledger_cap(struct db *db, int64_t product_id, int64_t *monthly_fen)
    __attribute__((warn_unused_result));

/* One line of a statement. */
struct ledger_entry {
	const char *time;
	const char *contract;
	const char *query;
	int64_t transaction;
	int64_t amount_fen;
	int64_t adjustment_fen; /* the transaction's, for parties' entries: what the cap took */
};

/* Receives statements, account by account; a non-zero return stops the walk and is returned. */
struct ledger_sink {
	int (*open)(void *arg, const char *account, const char *role, int64_t opening_fen);
	int (*entry)(void *arg, const struct ledger_entry *e);
	int (*close)(void *arg, int64_t closing_fen, int64_t entries);
	void *arg;
};

/*
 * Statements between from (inclusive) and until (inclusive; an RFC 3339
 * time or a prefix of one, such as "2026-11"), either NULL for no bound:
 * of the account `account` (a party name or LEDGER_ADJUSTMENT), or of every
 * account with postings when account is NULL (parties by name, adjustment
 * last).  SL_ERR_NOTFOUND for an unknown party.
 */
int ledger_statements(struct db *db, const char *account, const char *from, const char *until,
    const struct ledger_sink *sink) __attribute__((warn_unused_result));

struct ledger_check {
	int64_t accounts, transactions, postings, events;
	int64_t debited_fen, credited_fen, adjusted_fen;
};

/*
 * Recompute every account balance from the postings, check that every
 * transaction balances, is sealed, agrees with its released query and is
 * matched by exactly one query.released audit event (whose leaf hash is
 * recomputed with suite) with the same postings, whose charged_fen is the
 * transaction's price and the buyer's debit and whose adjustment_fen is the
 * transaction's, and that every released
 * query has exactly one transaction.  0, or SL_ERR_AUTH naming the first
 * disagreement.
 */
int ledger_verify(struct db *db, enum keys_suite suite, struct ledger_check *res)
    __attribute__((warn_unused_result));

/* ---- actions: what a party asks (broker/actor.h) ------------------------------
 *
 * The caller's proven key (NULL: the platform), a request, the result; on
 * failure *field is the request's field at fault (ACTOR_FIELD for the
 * caller), else NULL.  ledger_verify() is already the action `ledger verify`.
 */
struct keys_pubkey;

struct ledger_statement_request {
	const char *account;      /* NULL: every account the caller may see */
	const char *from, *until; /* RFC 3339 times or prefixes; NULL: no bound */
};

/*
 * `ledger`: the statements of ledger_statements() into sink.  The platform
 * and auditors see every account; any other party only its own (account
 * NULL or its name, else SL_ERR_POLICY).  SL_ERR_INVAL for a bad period
 * (*field "from" or "until").
 */
int ledger_act_statements(struct exchange *ex, const struct keys_pubkey *caller,
    const struct ledger_statement_request *req, const struct ledger_sink *sink, const char **field)
    __attribute__((warn_unused_result));

/*
 * ledger_act_statements() as one document, the one `ledger --json` prints
 * and GET /v1/ledger answers: {"from", "until", "statements": [{"account",
 * "role", "opening_fen", "entries": [{"time", "contract", "query",
 * "transaction", "amount_fen", "adjustment_fen"?}], "closing_fen"}]}.
 */
int ledger_act_statements_json(struct exchange *ex, const struct keys_pubkey *caller,
    const struct ledger_statement_request *req, json_t **doc, const char **field)
    __attribute__((warn_unused_result));

struct ledger_cap_request {
	const char *product;
	int change;          /* set or remove the cap; 0: only read it */
	int64_t monthly_fen; /* when change: the new cap, or -1 for none */
};

/*
 * `ledger cap`: ledger_change_cap() when req->change (by the platform only),
 * then the product's cap in *monthly_fen (-1: none).
 */
int ledger_act_cap(struct exchange *ex, const struct keys_pubkey *caller,
    const struct ledger_cap_request *req, int64_t *monthly_fen, const char **field)
    __attribute__((warn_unused_result));

#endif
