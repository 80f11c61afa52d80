/*
 * broker/ledger_act.c -- the ledger actions (broker/ledger.h): who may see
 * which statements and change a cap; ledger.c does the rest.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/actor.h"
#include "broker/exchange.h"
#include "broker/ledger.h"
#include "broker/party.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/text.h"

/* The period of a statement: two valid times, from not after until. */
static int
period_check(const struct ledger_statement_request *req, const char **field)
{
	static const char rule[] =
	    "must be an RFC 3339 UTC time such as 2026-11-28T09:00:00Z or a prefix of one";

	if (req->from != NULL && !sl_time_prefix_valid(req->from)) {
		*field = "from";
		return sl_errf(SL_ERR_INVAL, "from '%s': %s", req->from, rule);
	}
	if (req->until != NULL && !sl_time_prefix_valid(req->until)) {
		*field = "until";
		return sl_errf(SL_ERR_INVAL, "until '%s': %s", req->until, rule);
	}
	if (req->from != NULL && req->until != NULL &&
	    strncmp(req->from, req->until, strlen(req->until)) > 0) {
		*field = "from";
		return sl_errf(SL_ERR_INVAL, "from %s is after until %s", req->from, req->until);
	}
	return 0;
}

/*
 * Whose statements caller may read: everyone's for the platform and
 * auditors (and for the operator of the data directory, caller NULL, who
 * holds the platform's keys anyway), a party's own otherwise.  *account is
 * the one to show (NULL: all), *own what the caller frees.
 */
static int
visible(struct exchange *ex, const struct keys_pubkey *caller, const char **account, char **own,
    const char **field)
{
	struct party who;
	int r;

	*own = NULL;
	if (caller == NULL)
		return 0;
	if ((r = actor_party(ex, caller, &who)) != 0) {
		if (r == SL_ERR_POLICY)
			*field = ACTOR_FIELD;
		return r;
	}
	if (strcmp(who.role, "platform") != 0 && strcmp(who.role, "auditor") != 0) {
		if (*account != NULL && strcmp(*account, who.name) != 0)
			r = sl_errf(SL_ERR_POLICY, "%s %s sees only its own statement, not %s's",
			    who.role, who.name, *account);
		else if ((*own = strdup(who.name)) == NULL)
			r = SL_ERR_NOMEM;
		*account = *own;
	}
	party_clear(&who);
	return r;
}

int
ledger_act_statements(struct exchange *ex, const struct keys_pubkey *caller,
    const struct ledger_statement_request *req, const struct ledger_sink *sink, const char **field)
{
	const char *account = req->account;
	char *own = NULL;
	int r;

	*field = NULL;
	if ((r = period_check(req, field)) != 0 ||
	    (r = visible(ex, caller, &account, &own, field)) != 0)
		goto out;
	r = ledger_statements(exchange_db(ex), account, req->from, req->until, sink);
out:
	free(own);
	return r;
}

int
ledger_act_cap(struct exchange *ex, const struct keys_pubkey *caller,
    const struct ledger_cap_request *req, int64_t *monthly_fen, const char **field)
{
	struct product prod;
	struct party who;
	int r;

	*field = NULL;
	if (req->change && caller != NULL) {
		/* A cap is the platform's to set (broker/ledger.h). */
		if ((r = actor_party(ex, caller, &who)) == 0 && strcmp(who.role, "platform") != 0)
			r = sl_errf(SL_ERR_POLICY,
			    "%s %s may not set a revenue cap: only the platform may", who.role,
			    who.name);
		party_clear(&who); /* actor_party() left it clear on failure */
		if (r == SL_ERR_POLICY)
			*field = ACTOR_FIELD;
		if (r != 0)
			return r;
	}
	if (req->change && (r = ledger_change_cap(ex, req->product, req->monthly_fen)) != 0)
		return r;
	if ((r = product_find(ex, req->product, &prod)) != 0)
		return r;
	r = ledger_cap(exchange_db(ex), prod.id, monthly_fen);
	product_clear(&prod);
	return r;
}

/* ---- the statements as one document ----------------------------------------- */

struct doc_sink {
	json_t *doc, *cur; /* the document and the statement being built */
};

static int
doc_open(void *arg, const char *account, const char *role, int64_t opening)
{
	struct doc_sink *d = arg;

	d->cur = json_pack("{s:s, s:s?, s:I, s:[]}", "account", account, "role", role,
	    "opening_fen", (json_int_t)opening, "entries");
	return d->cur != NULL &&
	               json_array_append_new(json_object_get(d->doc, "statements"), d->cur) == 0
	           ? 0
	           : SL_ERR_NOMEM;
}

static int
doc_entry(void *arg, const struct ledger_entry *e)
{
	struct doc_sink *d = arg;
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "time", e->time, "contract", e->contract,
	    "query", e->query, "transaction", (json_int_t)e->transaction, "amount_fen",
	    (json_int_t)e->amount_fen);

	if (o != NULL && e->adjustment_fen > 0 &&
	    json_object_set_new(o, "adjustment_fen", json_integer(e->adjustment_fen)) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o != NULL && json_array_append_new(json_object_get(d->cur, "entries"), o) == 0
	           ? 0
	           : SL_ERR_NOMEM;
}

static int
doc_close(void *arg, int64_t closing, int64_t entries)
{
	struct doc_sink *d = arg;

	(void)entries;
	return json_object_set_new(d->cur, "closing_fen", json_integer(closing)) == 0
	           ? 0
	           : SL_ERR_NOMEM;
}

int
ledger_act_statements_json(struct exchange *ex, const struct keys_pubkey *caller,
    const struct ledger_statement_request *req, json_t **doc, const char **field)
{
	struct doc_sink d = {0};
	struct ledger_sink sink = {doc_open, doc_entry, doc_close, &d};
	int r;

	*doc = NULL;
	*field = NULL;
	if ((d.doc = json_pack("{s:s?, s:s?, s:[]}", "from", req->from, "until", req->until,
	         "statements")) == NULL)
		return SL_ERR_NOMEM;
	if ((r = ledger_act_statements(ex, caller, req, &sink, field)) != 0) {
		json_decref(d.doc);
		return r;
	}
	*doc = d.doc;
	return 0;
}
