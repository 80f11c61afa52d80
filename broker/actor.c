/*
 * broker/actor.c -- who does an action, from the key the caller has proven.
 */
#include <string.h>

#include "broker/actor.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "common/err.h"

int
actor_party(struct exchange *ex, const struct keys_pubkey *caller, struct party *out)
{
	int r;

	memset(out, 0, sizeof *out);
	if ((r = party_find_key(exchange_db(ex), caller, out)) == SL_ERR_NOTFOUND)
		return sl_errf(SL_ERR_POLICY, "not the key of any party of this exchange");
	if (r == 0 && out->revoked != NULL) {
		r = sl_errf(SL_ERR_POLICY, "the key of party %s, revoked on %s: %s", out->name,
		    out->revoked, out->revoke_reason);
		party_clear(out);
	}
	return r;
}

int
actor_as(struct exchange *ex, const struct keys_pubkey *caller, const char *want, const char *what,
    const char **actor)
{
	struct party who;
	int r;

	if (caller == NULL) {
		*actor = EXCHANGE_PLATFORM_NAME;
		return 0;
	}
	if ((r = actor_party(ex, caller, &who)) != 0) {
		if (r == SL_ERR_POLICY)
			r = sl_errf(r, "%s, so not of %s (%s)", sl_err_msg(r), want, what);
		return r;
	}
	if (strcmp(who.name, want) != 0)
		r = sl_errf(
		    SL_ERR_POLICY, "the key of party %s, not of %s (%s)", who.name, want, what);
	else
		*actor = want;
	party_clear(&who);
	return r;
}
