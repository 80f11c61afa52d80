/*
 * broker/contracts.c -- recorded contracts: offer, submit, revoke, authorize.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/contracts.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/jcs.h"
#include "common/schema.h"
#include "common/text.h"
#include "contracts/contract.h"
#include "keys/sign.h"

#define CONTRACT_COLUMNS                                                                           \
	"document, state, product, buyer, queries_used, created, activated, revoked, "             \
	"revoked_by, revoke_reason"

/* A party of the product's contracts, by name, which must have role. */
struct offer_party {
	struct party row;
	struct keys_pubkey *pk;
};

static int
load_party(struct exchange *ex, const char *what, const char *name, const char *role,
    struct offer_party *op)
{
	int r;

	sl_err_clear();
	if ((r = party_find(exchange_db(ex), name, &op->row)) != 0)
		return r == SL_ERR_NOTFOUND ? sl_errf(r, "%s %s: no such party", what, name) : r;
	if (strcmp(op->row.role, role) != 0)
		return sl_errf(SL_ERR_POLICY, "%s %s: that party is a %s, not a %s", what, name,
		    op->row.role, role);
	return keys_pubkey_from_der(op->row.public_key, op->row.public_key_len, &op->pk);
}

static char *
strdup_col(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s != NULL ? strdup((const char *)s) : NULL;
}

static int
row_from_stmt(sqlite3_stmt *st, struct contracts_row *out)
{
	const char *doc = (const char *)sqlite3_column_text(st, 0);
	int r;

	memset(out, 0, sizeof *out);
	if ((r = contract_parse(doc, (size_t)sqlite3_column_bytes(st, 0), &out->c)) != 0)
		return sl_errf(r, "recorded contract: %s", sl_err_msg(r));
	out->state = strdup_col(st, 1);
	out->product_id = sqlite3_column_int64(st, 2);
	out->buyer_id = sqlite3_column_int64(st, 3);
	out->queries_used = sqlite3_column_int64(st, 4);
	out->created = strdup_col(st, 5);
	out->activated = strdup_col(st, 6);
	out->revoked = strdup_col(st, 7);
	out->revoked_by = strdup_col(st, 8);
	out->revoke_reason = strdup_col(st, 9);
	if (out->state == NULL || out->created == NULL) {
		contracts_row_clear(out);
		return SL_ERR_NOMEM;
	}
	return 0;
}

void
contracts_row_clear(struct contracts_row *row)
{
	contract_free(row->c);
	free(row->state);
	free(row->created);
	free(row->activated);
	free(row->revoked);
	free(row->revoked_by);
	free(row->revoke_reason);
	memset(row, 0, sizeof *row);
}

void
contracts_list_free(struct contracts_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		contracts_row_clear(&rows[i]);
	free(rows);
}

int
contracts_find(struct exchange *ex, const char *id, struct contracts_row *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_stmt(exchange_db(ex), "SELECT " CONTRACT_COLUMNS " FROM contracts WHERE id = ?",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		r = row_from_stmt(st, out);
	else if (r == SQLITE_DONE)
		r = sl_errf(SL_ERR_NOTFOUND, "no contract %.40s on this exchange", id);
	else
		r = db_fail(exchange_db(ex), "find contract");
	db_stmt_done(st);
	return r;
}

int
contracts_list(struct exchange *ex, struct contracts_row **rows, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct contracts_row *list = NULL, *grown;
	size_t count = 0;
	int r, step;

	if ((r = db_prepare(exchange_db(ex),
	         "SELECT " CONTRACT_COLUMNS " FROM contracts ORDER BY rowid", &st)) != 0)
		return r;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((grown = realloc(list, (count + 1) * sizeof *list)) == NULL) {
			r = SL_ERR_NOMEM;
			break;
		}
		list = grown;
		if ((r = row_from_stmt(st, &list[count])) != 0)
			break;
		count++;
	}
	if (r == 0 && step != SQLITE_DONE)
		r = db_fail(exchange_db(ex), "list contracts");
	sqlite3_finalize(st);
	if (r != 0) {
		contracts_list_free(list, count);
		return r;
	}
	*rows = list;
	*n = count;
	return 0;
}

const char *
contracts_status(const struct contracts_row *row, time_t now)
{
	if (strcmp(row->state, "revoked") != 0 && now >= row->c->terms.valid_until)
		return "expired";
	return row->state;
}

/*
 * Record a new contract as offered, with its audit event, in one transaction;
 * publish(arg, c) runs last before the commit (contracts_offer()).
 */
static int
record_offer(struct exchange *ex, const struct contract *c, int64_t product_id, int64_t buyer_id,
    const char *actor, const char *buyer, int (*publish)(void *, const struct contract *),
    void *arg)
{
	struct db *db = exchange_db(ex);
	char from[SL_TIME_RFC3339_LEN], until[SL_TIME_RFC3339_LEN], now[SL_TIME_RFC3339_LEN];
	char *body = NULL, *doc = NULL;
	sqlite3_stmt *st = NULL;
	size_t blen, dlen;
	int r;

	if ((r = contract_signed_bytes(c, &body, &blen)) != 0 ||
	    (r = jcs_serialize(c->doc, &doc, &dlen)) != 0)
		goto out;
	sl_time_format(c->terms.valid_from, from);
	sl_time_format(c->terms.valid_until, until);
	sl_time_now(now);
	if ((r = db_begin(db)) != 0 ||
	    (r = db_prepare(db,
	         "INSERT INTO contracts (id, product, buyer, body, document, state, valid_from,"
	         " valid_until, query_quota, created) VALUES (?, ?, ?, ?, ?, 'offered', ?, ?, ?, "
	         "?)",
	         &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, product_id);
	sqlite3_bind_int64(st, 3, buyer_id);
	sqlite3_bind_text(st, 4, body, (int)blen, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, doc, (int)dlen, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, until, -1, SQLITE_STATIC);
	if (c->terms.query_quota >= 0)
		sqlite3_bind_int64(st, 8, c->terms.query_quota);
	sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "record contract");
		goto out;
	}
	if ((r = exchange_audit(ex, actor, "contract.offered", c->id,
	         json_pack("{s:s, s:s, s:s, s:I, s:s}", "product", c->product, "buyer", buyer,
	             "purpose", c->terms.purpose, "price_fen", (json_int_t)c->terms.price_fen,
	             "valid_until", until))) != 0)
		goto out;
	if (publish != NULL && (r = publish(arg, c)) != 0)
		goto out;
	r = db_commit(db);
out:
	sqlite3_finalize(st);
	db_rollback(db);
	free(body);
	free(doc);
	return r;
}

/* Load party name of role into slot *n of ps and op. */
static int
add_party(struct exchange *ex, const char *what, const char *name, enum contract_role role,
    struct offer_party *ps, struct contract_offer_party *op, size_t *n)
{
	int r;

	if ((r = load_party(ex, what, name, contract_role_name(role), &ps[*n])) != 0)
		return r;
	op[*n].role = role;
	op[*n].name = name;
	op[*n].pk = ps[*n].pk;
	(*n)++;
	return 0;
}

int
contracts_offer(struct exchange *ex, const char *product, const char *buyer, const json_t *terms,
    const char *actor, int (*publish)(void *arg, const struct contract *c), void *arg,
    struct contract **out)
{
	struct offer_party ps[CONTRACT_ROLES];
	struct contract_offer_party op[CONTRACT_ROLES];
	struct schema *sch = NULL;
	struct contract *c = NULL;
	struct product p;
	size_t i, n = 0, buyer_at;
	int r;

	memset(ps, 0, sizeof ps);
	if ((r = product_find(ex, product, &p)) != 0)
		return r;
	if ((r = schema_parse(p.schema, strlen(p.schema), &sch)) != 0 ||
	    (p.holder != NULL &&
	        (r = add_party(ex, "holder", p.holder, CONTRACT_HOLDER, ps, op, &n)) != 0) ||
	    (p.operator_ != NULL &&
	        (r = add_party(ex, "operator", p.operator_, CONTRACT_OPERATOR, ps, op, &n)) != 0) ||
	    (r = add_party(ex, "merchant", p.merchant, CONTRACT_MERCHANT, ps, op, &n)) != 0)
		goto out;
	buyer_at = n;
	if ((r = add_party(ex, "--buyer", buyer, CONTRACT_BUYER, ps, op, &n)) != 0 ||
	    (r = add_party(
	         ex, "platform", EXCHANGE_PLATFORM_NAME, CONTRACT_PLATFORM, ps, op, &n)) != 0)
		goto out;
	if ((r = contract_offer(terms, sch, p.name, op, n, exchange_suite(ex), time(NULL), &c)) !=
	        0 ||
	    (r = record_offer(ex, c, p.id, ps[buyer_at].row.id, actor, buyer, publish, arg)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	contract_free(c);
	for (i = 0; i < CONTRACT_ROLES; i++) {
		party_clear(&ps[i].row);
		keys_pubkey_free(ps[i].pk);
	}
	schema_free(sch);
	product_clear(&p);
	return r;
}

/* Compare c's signed bytes with the recorded offer's. */
static int
same_offer(struct db *db, const struct contract *c)
{
	sqlite3_stmt *st = NULL;
	char *body = NULL;
	size_t len;
	int r;

	if ((r = contract_signed_bytes(c, &body, &len)) != 0)
		return r;
	if ((r = db_prepare(db, "SELECT body FROM contracts WHERE id = ?", &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_DONE) {
		r = sl_errf(SL_ERR_NOTFOUND,
		    "contract %s was never offered on this exchange (offer it with `sluice "
		    "contract "
		    "offer`)",
		    c->id);
	} else if (r != SQLITE_ROW) {
		r = db_fail(db, "find contract");
	} else if ((size_t)sqlite3_column_bytes(st, 0) != len ||
	           memcmp(sqlite3_column_blob(st, 0), body, len) != 0) {
		r = sl_errf(SL_ERR_POLICY,
		    "contract %s: its terms differ from the ones recorded when it was offered",
		    c->id);
	} else {
		r = 0;
	}
out:
	sqlite3_finalize(st);
	free(body);
	return r;
}

static int
store_state(struct db *db, const struct contract *c, const char *state, int activated)
{
	char now[SL_TIME_RFC3339_LEN], *doc = NULL;
	sqlite3_stmt *st = NULL;
	size_t len;
	int r;

	if ((r = jcs_serialize(c->doc, &doc, &len)) != 0)
		return r;
	sl_time_now(now);
	if ((r = db_prepare(db,
	         "UPDATE contracts SET document = ?, state = ?,"
	         " activated = CASE WHEN ? THEN ? ELSE activated END WHERE id = ?",
	         &st)) == 0) {
		sqlite3_bind_text(st, 1, doc, (int)len, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, activated);
		sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, c->id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = db_fail(db, "update contract");
	}
	sqlite3_finalize(st);
	free(doc);
	return r;
}

/* contract.signed for every party whose signature rec gained over before. */
static int
audit_new_signatures(
    struct exchange *ex, const struct contract *rec, unsigned before, unsigned after)
{
	size_t i;
	int r;

	for (i = 0; i < rec->nparties; i++) {
		const struct contract_party *p = &rec->parties[i];

		if (!(after & ~before & (1u << p->role)))
			continue;
		if ((r = exchange_audit(ex, p->name, "contract.signed", rec->id,
		         json_pack("{s:s, s:s}", "role", contract_role_name(p->role), "fingerprint",
		             p->fingerprint))) != 0)
			return r;
	}
	return 0;
}

/* The platform's countersignature on rec, and its audit event. */
static int
countersign(struct exchange *ex, struct contract *rec)
{
	struct keys_identity *id = NULL;
	enum contract_role role;
	int r;

	if ((r = exchange_platform_identity(ex, &id)) != 0)
		return r;
	r = contract_sign(rec, id, &role);
	keys_identity_free(id);
	if (r == 0 && role != CONTRACT_PLATFORM)
		r = sl_errf(
		    SL_ERR_INTERNAL, "the platform identity is not the contract's platform");
	if (r != 0)
		return r;
	return exchange_audit(ex, EXCHANGE_PLATFORM_NAME, "contract.activated", rec->id,
	    json_pack("{s:s}", "product", rec->product));
}

static int
submit_locked(struct exchange *ex, struct contract *c, struct contracts_submitted *res)
{
	struct db *db = exchange_db(ex);
	struct contract_status before, after, mine;
	struct contracts_row row;
	time_t now = time(NULL);
	const char *state;
	int r;

	if ((r = same_offer(db, c)) != 0)
		return r;
	if ((r = contract_verify(c, now, &mine)) != 0)
		return r;
	if ((r = contracts_find(ex, c->id, &row)) != 0)
		return r;
	if (strcmp(row.state, "revoked") == 0) {
		r = sl_errf(SL_ERR_POLICY, "contract %s was revoked at %s", c->id, row.revoked);
		goto out;
	}
	if ((r = contract_verify(row.c, now, &before)) != 0 ||
	    (r = contract_merge_signatures(row.c, c)) != 0 ||
	    (r = contract_verify(row.c, now, &after)) != 0 ||
	    (r = audit_new_signatures(ex, row.c, before.signed_roles, after.signed_roles)) != 0)
		goto out;
	res->new_roles = after.signed_roles & ~before.signed_roles;
	state = after.countersigned ? "active" : after.complete ? "signed" : "offered";
	if (after.complete && !after.countersigned && !after.expired) {
		if ((r = countersign(ex, row.c)) != 0)
			goto out;
		res->activated = 1;
		state = "active";
	}
	snprintf(res->state, sizeof res->state, "%s", state);
	if ((res->new_roles != 0 || res->activated) &&
	    (r = store_state(db, row.c, state, res->activated)) != 0)
		goto out;
	r = contract_merge_signatures(c, row.c);
out:
	contracts_row_clear(&row);
	return r;
}

int
contracts_submit(struct exchange *ex, struct contract *c, struct contracts_submitted *res)
{
	struct db *db = exchange_db(ex);
	int r;

	memset(res, 0, sizeof *res);
	/* One write transaction: two submissions of the same contract cannot interleave. */
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = submit_locked(ex, c, res)) == 0)
		r = db_commit(db);
	db_rollback(db);
	return r;
}

/* Whether who may revoke c: its merchant, its holder or the platform. */
static int
may_revoke(const struct contract *c, const char *who)
{
	static const enum contract_role roles[] = {
	    CONTRACT_MERCHANT, CONTRACT_HOLDER, CONTRACT_PLATFORM};
	size_t i;

	for (i = 0; i < sizeof roles / sizeof roles[0]; i++) {
		const struct contract_party *p = contract_party(c, roles[i]);

		if (p != NULL && strcmp(p->name, who) == 0)
			return 1;
	}
	return 0;
}

int
contracts_revoke(struct exchange *ex, const char *id, const char *who, const char *reason)
{
	struct db *db = exchange_db(ex);
	struct contracts_row row;
	char now[SL_TIME_RFC3339_LEN];
	sqlite3_stmt *st = NULL;
	int r;

	memset(&row, 0, sizeof row); /* cleared at out: even when no contract was found */
	if (reason == NULL || *reason == '\0' || strlen(reason) > 1000)
		return sl_errf(SL_ERR_INVAL, "a revocation needs a reason of 1 to 1000 bytes");
	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = contracts_find(ex, id, &row)) != 0)
		goto out;
	if (!may_revoke(row.c, who)) {
		r = sl_errf(SL_ERR_POLICY,
		    "%s may not revoke contract %s: only its merchant, holder or the platform may",
		    who, id);
		goto out;
	}
	if (strcmp(row.state, "revoked") == 0) {
		r = sl_errf(SL_ERR_POLICY, "contract %s was already revoked at %s by %s", id,
		    row.revoked, row.revoked_by);
		goto out;
	}
	sl_time_now(now);
	if ((r = db_prepare(db,
	         "UPDATE contracts SET state = 'revoked', revoked = ?, revoked_by = ?,"
	         " revoke_reason = ? WHERE id = ?",
	         &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(db, "revoke contract");
		goto out;
	}
	if ((r = exchange_audit(ex, who, "contract.revoked", id,
	         json_pack("{s:s, s:s}", "reason", reason, "previous_state", row.state))) != 0)
		goto out;
	r = db_commit(db);
out:
	sqlite3_finalize(st);
	db_rollback(db);
	contracts_row_clear(&row);
	return r;
}

/* Why row may not run a query now, as an SL_ERR_POLICY message; 0 if it may. */
static int
refusal(const struct contracts_row *row, time_t now)
{
	const struct contract *c = row->c;
	char when[SL_TIME_RFC3339_LEN];

	if (strcmp(row->state, "revoked") == 0)
		return sl_errf(SL_ERR_POLICY, "contract %s was revoked at %s by %s: %s", c->id,
		    row->revoked, row->revoked_by, row->revoke_reason);
	if (now >= c->terms.valid_until) {
		sl_time_format(c->terms.valid_until, when);
		return sl_errf(SL_ERR_POLICY, "contract %s expired at %s", c->id, when);
	}
	if (strcmp(row->state, "active") != 0)
		return sl_errf(SL_ERR_POLICY,
		    "contract %s is not active (it is %s: not every party has signed)", c->id,
		    row->state);
	if (now < c->terms.valid_from) {
		sl_time_format(c->terms.valid_from, when);
		return sl_errf(SL_ERR_POLICY, "contract %s is not valid before %s", c->id, when);
	}
	if (c->terms.query_quota >= 0 && row->queries_used >= c->terms.query_quota)
		return sl_errf(SL_ERR_POLICY, "contract %s: query quota used up (%lld of %lld)",
		    c->id, (long long)row->queries_used, (long long)c->terms.query_quota);
	return 0;
}

int
contracts_authorize(struct exchange *ex, const char *id, const struct keys_pubkey *buyer,
    time_t now, struct contracts_row *out)
{
	const struct contract_party *b;
	char fp[KEYS_FINGERPRINT_MAX] = "?";
	int r;

	if ((r = contracts_find(ex, id, out)) != 0)
		return r;
	b = contract_party(out->c, CONTRACT_BUYER);
	/* The buyer check comes first: nobody else learns the contract's state. */
	if (b == NULL || !keys_pubkey_equal(b->pk, buyer)) {
		if (keys_pubkey_fingerprint(buyer, fp) != 0)
			snprintf(fp, sizeof fp, "?");
		r = sl_errf(SL_ERR_POLICY, "key %s is not the buyer's key of contract %s", fp, id);
	} else {
		r = refusal(out, now);
	}
	if (r != 0)
		contracts_row_clear(out);
	return r;
}

int
contracts_count_query(struct db *db, const char *id)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = db_stmt(db,
	         "UPDATE contracts SET queries_used = queries_used + 1 WHERE id = ?"
	         " AND state = 'active' AND (query_quota IS NULL OR queries_used < query_quota)",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(db, "count query");
	else if (sqlite3_changes(db_sqlite(db)) != 1)
		r = sl_errf(SL_ERR_POLICY,
		    "contract %s: query quota used up or contract no longer active", id);
	db_stmt_done(st);
	return r;
}

json_t *
contracts_row_json(const struct contracts_row *row, time_t now, int with_document)
{
	const struct contract *c = row->c;
	const struct contract_party *b = contract_party(c, CONTRACT_BUYER);
	struct contract_status st;
	json_t *o, *missing = json_array(), *signers = json_array();
	size_t i;

	if (contract_verify(c, now, &st) != 0)
		memset(&st, 0, sizeof st);
	for (i = 0; i < c->nparties; i++)
		json_array_append_new(
		    (st.signed_roles & (1u << c->parties[i].role)) ? signers : missing,
		    json_string(c->parties[i].name));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s}", "id", c->id, "product",
	    c->product, "buyer", b ? b->name : "", "state", contracts_status(row, now), "purpose",
	    c->terms.purpose, "queries_used", (json_int_t)row->queries_used, "signed_by", signers,
	    "missing", missing, "created", row->created);
	if (o == NULL)
		return NULL;
	if (c->terms.query_quota >= 0)
		json_object_set_new(o, "query_quota", json_integer(c->terms.query_quota));
	if (row->activated)
		json_object_set_new(o, "activated", json_string(row->activated));
	if (row->revoked) {
		json_object_set_new(o, "revoked", json_string(row->revoked));
		json_object_set_new(o, "revoked_by", json_string(row->revoked_by));
		json_object_set_new(o, "revoke_reason", json_string(row->revoke_reason));
	}
	if (with_document)
		json_object_set(o, "document", c->doc);
	return o;
}
