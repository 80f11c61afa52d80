/*
 * broker/audit_act.c -- the audit actions (broker/audit.h): who may export
 * the log, the check of an earlier checkpoint, the export's own event and
 * checkpoint; audit_file.c writes the file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/actor.h"
#include "broker/audit.h"
#include "broker/audit_file.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "common/err.h"
#include "keys/sign.h"

/*
 * Check an earlier checkpoint against this exchange: signed by its platform,
 * and its root is the root of our log at that size.
 */
static int
since_check(struct exchange *ex, const struct keys_pubkey *pk, const json_t *cp, const char **field)
{
	uint8_t root[KEYS_HASH_BYTES], ours[KEYS_HASH_BYTES], head[KEYS_HASH_BYTES];
	enum keys_suite suite;
	uint64_t size, n;
	int r;

	sl_err_clear();
	if ((r = audit_checkpoint_verify(cp, pk, &size, root, &suite)) != 0) {
		*field = "since";
		return sl_errf(r, "%s",
		    r == SL_ERR_AUTH ? "not signed by this exchange's platform key"
		                     : sl_err_msg(r));
	}
	if ((r = audit_head(exchange_db(ex), exchange_suite(ex), &n, head)) != 0)
		return r;
	if (size > n) {
		*field = "since";
		return sl_errf(SL_ERR_POLICY, "covers %llu events but this log has only %llu",
		    (unsigned long long)size, (unsigned long long)n);
	}
	if ((r = audit_root_at(exchange_db(ex), exchange_suite(ex), size, ours)) != 0)
		return r;
	if (memcmp(ours, root, KEYS_HASH_BYTES) != 0) {
		*field = "since";
		return sl_errf(SL_ERR_AUTH,
		    "this log's first %llu events do not match the checkpoint: history differs",
		    (unsigned long long)size);
	}
	return 0;
}

/* The export's actor: the platform, or the auditor whose key caller is. */
static int
export_actor(
    struct exchange *ex, const struct keys_pubkey *caller, char **actor, const char **field)
{
	struct party who;
	int r;

	if (caller == NULL)
		return (*actor = strdup(EXCHANGE_PLATFORM_NAME)) != NULL ? 0 : SL_ERR_NOMEM;
	if ((r = actor_party(ex, caller, &who)) == 0) {
		if (strcmp(who.role, "platform") != 0 && strcmp(who.role, "auditor") != 0)
			r = sl_errf(SL_ERR_POLICY,
			    "%s %s may not export the audit log: only the platform and auditors "
			    "may",
			    who.role, who.name);
		else if ((*actor = strdup(who.name)) == NULL)
			r = SL_ERR_NOMEM;
	}
	party_clear(&who);
	if (r == SL_ERR_POLICY)
		*field = ACTOR_FIELD;
	return r;
}

/* The range asked for fits the tree of n events, as the export will sign it. */
static int
range_check(const struct audit_export_request *req, uint64_t n, const char **field)
{
	if (req->from <= n && req->until <= n)
		return 0;
	*field = req->from > n ? "from" : "until";
	return sl_errf(SL_ERR_INVAL, "--%s %llu is beyond the log (events 1..%llu)", *field,
	    (unsigned long long)(req->from > n ? req->from : req->until), (unsigned long long)n);
}

/*
 * Everything that can refuse the export is decided before its event is
 * logged, and the event commits only once the file is written: so a refused
 * or failed export leaves no audit.exported behind.  The file is written in
 * the transaction that records it, since it must hold that very event and
 * the checkpoint signed with it; writers wait for the export meanwhile.
 */
int
audit_act_export(struct exchange *ex, const struct keys_pubkey *caller,
    const struct audit_export_request *req, FILE *out, json_t **checkpoint, const char **field)
{
	struct audit_export w = {0};
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	uint8_t head[KEYS_HASH_BYTES];
	json_t *cp = NULL, *details;
	char *pem = NULL, *actor = NULL;
	size_t pemlen;
	uint64_t n;
	int r;

	*field = NULL;
	*checkpoint = NULL;
	if (req->from != 0 && req->until != 0 && req->from > req->until) {
		*field = "from";
		return sl_errf(SL_ERR_INVAL, "from %llu is after until %llu",
		    (unsigned long long)req->from, (unsigned long long)req->until);
	}
	if (req->since != NULL && req->csv) {
		*field = "since";
		return sl_errf(SL_ERR_INVAL, "a consistency proof needs the jsonl format");
	}
	if ((r = export_actor(ex, caller, &actor, field)) != 0 ||
	    (r = exchange_platform_identity(ex, &id)) != 0 ||
	    (r = keys_identity_pubkey(id, &pk)) != 0 ||
	    (r = keys_pubkey_to_pem(pk, &pem, &pemlen)) != 0)
		goto out;
	if (req->since != NULL && (r = since_check(ex, pk, req->since, field)) != 0)
		goto out;
	if ((r = db_begin(exchange_db(ex))) != 0)
		goto out;
	/* The export covers its own event: the log as it will be, one longer. */
	if ((r = audit_head(exchange_db(ex), exchange_suite(ex), &n, head)) != 0 ||
	    (r = range_check(req, n + 1, field)) != 0)
		goto rollback;
	details = json_pack("{s:s, s:I, s:I, s:b}", "format", req->csv ? "csv" : "jsonl", "from",
	    (json_int_t)req->from, "until", (json_int_t)req->until, "since", req->since != NULL);
	if ((r = exchange_audit(ex, actor, "audit.exported", req->name, details)) != 0 ||
	    (r = audit_checkpoint(exchange_db(ex), exchange_suite(ex), id, exchange_cplog(ex),
	         AUDIT_SIGN_WHOLE, &cp)) != 0)
		goto rollback;
	n = (uint64_t)json_integer_value(
	    json_object_get(json_object_get(cp, "checkpoint"), "tree_size"));
	if ((r = range_check(req, n, field)) != 0)
		goto rollback;
	w.csv = req->csv;
	w.from = req->from;
	w.until = req->until;
	w.checkpoint = cp;
	w.since = req->since;
	w.platform_pem = pem;
	w.progress = req->progress;
	if (json_object_set_new(cp, "type", json_string("checkpoint")) != 0) {
		r = SL_ERR_NOMEM;
		goto rollback;
	}
	if ((r = audit_export_write(exchange_db(ex), exchange_suite(ex), &w, out)) != 0)
		goto rollback;
	if (fflush(out) != 0 || ferror(out)) {
		r = sl_errf(SL_ERR_IO, "write export: %s", strerror(errno));
		goto rollback;
	}
	if ((r = db_commit(exchange_db(ex))) != 0)
		goto rollback;
	*checkpoint = cp;
	cp = NULL;
	goto out;
rollback:
	db_rollback(exchange_db(ex));
out:
	json_decref(cp);
	keys_identity_free(id);
	keys_pubkey_free(pk);
	free(pem);
	free(actor);
	return r;
}

int
audit_act_checkpoint(
    struct exchange *ex, const struct keys_pubkey *caller, json_t **cp, const char **field)
{
	sqlite3_stmt *st = NULL;
	char *actor = NULL;
	int r;

	*cp = NULL;
	*field = NULL;
	if ((r = export_actor(ex, caller, &actor, field)) != 0)
		return r;
	free(actor);
	if ((r = db_prepare(exchange_db(ex),
	         "SELECT document FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1", &st)) !=
	    0)
		return r;
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		*cp = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		r = *cp != NULL ? 0 : sl_errf(SL_ERR_DB, "a stored checkpoint is not JSON");
		/* The shape of an export's FILE.checkpoint.json, which --since reads. */
		if (r == 0 && json_object_set_new(*cp, "type", json_string("checkpoint")) != 0)
			r = SL_ERR_NOMEM;
	} else {
		r = r == SQLITE_DONE ? sl_errf(SL_ERR_NOTFOUND, "no checkpoint is signed yet")
		                     : db_fail(exchange_db(ex), "find checkpoint");
	}
	sqlite3_finalize(st);
	return r;
}
