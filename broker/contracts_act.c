/*
 * broker/contracts_act.c -- the contract actions (broker/contracts.h): who
 * may ask, then the lifecycle of contracts.c and the documents of
 * contracts/ do it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/actor.h"
#include "broker/contracts.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "broker/product.h"
#include "common/err.h"
#include "keys/sign.h"

int
contracts_act_offer(struct exchange *ex, const struct keys_pubkey *caller,
    const struct contracts_offer_request *req, struct contract **out, const char **field)
{
	const char *actor = EXCHANGE_PLATFORM_NAME;
	struct product p;
	char what[160];
	int r;

	*field = NULL;
	memset(&p, 0, sizeof p);
	if (caller != NULL) {
		if ((r = product_find(ex, req->product, &p)) != 0)
			goto out;
		snprintf(what, sizeof what, "the merchant of product %s", p.name);
		if ((r = actor_as(ex, caller, p.merchant, what, &actor)) != 0) {
			if (r == SL_ERR_POLICY)
				*field = ACTOR_FIELD;
			goto out;
		}
	}
	r = contracts_offer(
	    ex, req->product, req->buyer, req->terms, actor, req->publish, req->arg, out);
	if (r == SL_ERR_INVAL)
		*field = "terms";
out:
	product_clear(&p);
	return r;
}

/* The name of c's party whose key is caller; SL_ERR_POLICY if none. */
static int
contract_party_of(const struct contract *c, const struct keys_pubkey *caller, const char **name)
{
	size_t i;

	*name = NULL;
	for (i = 0; i < c->nparties; i++)
		if (keys_pubkey_equal(caller, c->parties[i].pk))
			*name = c->parties[i].name;
	if (*name == NULL)
		return sl_errf(SL_ERR_POLICY, "not the key of any party of contract %s", c->id);
	return 0;
}

int
contracts_act_revoke(struct exchange *ex, const struct keys_pubkey *caller,
    const struct contracts_revoke_request *req, char **by, const char **field)
{
	const char *who = EXCHANGE_PLATFORM_NAME;
	struct contracts_row row;
	int r;

	*field = NULL;
	*by = NULL;
	if ((r = contracts_find(ex, req->id, &row)) != 0)
		return r;
	if (caller != NULL && (r = contract_party_of(row.c, caller, &who)) != 0)
		*field = ACTOR_FIELD;
	else if ((r = contracts_revoke(ex, req->id, who, req->reason)) == 0 &&
	         (*by = strdup(who)) == NULL)
		r = SL_ERR_NOMEM;
	contracts_row_clear(&row);
	return r;
}

int
contracts_act_verify(const struct contract *c, const struct keys_pubkey *platform, time_t now,
    struct contracts_verdict *out, const char **field)
{
	int r;

	*field = NULL;
	memset(out, 0, sizeof *out);
	if (platform != NULL &&
	    !keys_pubkey_equal(platform, contract_party(c, CONTRACT_PLATFORM)->pk)) {
		*field = "key";
		return sl_errf(SL_ERR_AUTH, "the contract's platform key is not the one given");
	}
	if ((r = contract_verify(c, now, &out->st)) != 0)
		return r;
	out->in_force = out->st.countersigned && !out->st.expired && !out->st.not_yet_valid;
	return 0;
}

int
contracts_act_sign(struct contract *c, const struct keys_identity *id, time_t now,
    enum contract_role *role, struct contracts_verdict *out)
{
	int r;

	memset(out, 0, sizeof *out);
	/* A document that does not verify now is not signed at all. */
	if ((r = contract_verify(c, now, &out->st)) != 0 || (r = contract_sign(c, id, role)) != 0 ||
	    (r = contract_verify(c, now, &out->st)) != 0)
		return r;
	out->in_force = out->st.countersigned && !out->st.expired && !out->st.not_yet_valid;
	return 0;
}

/* Whether party who may see contract c: one of its parties, the platform, an auditor. */
static int
sees(const struct party *who, const struct contract *c)
{
	int i;

	if (strcmp(who->role, "platform") == 0 || strcmp(who->role, "auditor") == 0)
		return 1;
	for (i = 0; i < CONTRACT_ROLES; i++) {
		/* A contract has no holder or operator when its product has none. */
		const struct contract_party *p = contract_party(c, (enum contract_role)i);

		if (p != NULL && strcmp(p->name, who->name) == 0)
			return 1;
	}
	return 0;
}

int
contracts_act_list(struct exchange *ex, const struct keys_pubkey *caller, time_t now, json_t **doc)
{
	struct contracts_row *rows = NULL;
	struct party who = {0};
	json_t *arr = json_array();
	size_t n = 0, i;
	int r;

	*doc = NULL;
	if (arr == NULL)
		return SL_ERR_NOMEM;
	if ((caller != NULL && (r = actor_party(ex, caller, &who)) != 0) ||
	    (r = contracts_list(ex, &rows, &n)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++)
		if (caller == NULL || sees(&who, rows[i].c))
			r = json_array_append_new(arr, contracts_row_json(&rows[i], now, 0)) == 0
			        ? 0
			        : SL_ERR_NOMEM;
	if (r == 0 && (*doc = json_pack("{s:O}", "contracts", arr)) == NULL)
		r = SL_ERR_NOMEM;
out:
	json_decref(arr);
	contracts_list_free(rows, n);
	if (caller != NULL)
		party_clear(&who);
	return r;
}

int
contracts_act_find(struct exchange *ex, const struct keys_pubkey *caller, const char *id,
    struct contracts_row *row)
{
	struct party who = {0};
	int r;

	memset(row, 0, sizeof *row);
	if (caller != NULL && (r = actor_party(ex, caller, &who)) != 0)
		return r;
	if ((r = contracts_find(ex, id, row)) == 0 && caller != NULL && !sees(&who, row->c)) {
		contracts_row_clear(row);
		memset(row, 0, sizeof *row);
		r = sl_errf(SL_ERR_NOTFOUND, "no contract %s", id);
	}
	if (caller != NULL)
		party_clear(&who);
	return r;
}
