/*
 * broker/query.c -- submitting a query: contract, worker, plan check, release, record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/actor.h"
#include "broker/budget.h"
#include "broker/contracts.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/dp.h"
#include "broker/fault.h"
#include "broker/keyring.h"
#include "broker/launch.h"
#include "broker/plan_check.h"
#include "broker/ledger.h"
#include "broker/noise.h"
#include "broker/party.h"
#include "broker/product.h"
#include "broker/query.h"
#include "broker/release.h"
#include "broker/spawn.h"
#include "common/err.h"
#include "common/file.h"
#include "common/jcs.h"
#include "common/schema.h"
#include "common/text.h"
#include "contracts/contract.h"
#include "keys/dek.h"
#include "keys/hash.h"
#include "keys/keys.h"
#include "keys/sign.h"

#define QUERY_MEMORY_BYTES (2ULL << 30)
/* Fixed when the worker starts, before the contract is read: past any contract's CPU limit. */
#define QUERY_WALL_MS ((CONTRACT_QUERY_SECONDS_MAX + 60u) * 1000)
/* dp: groups whose noise is drawn while the worker scans */
#define DP_NOISE_POOL 64

/* ---- one run ------------------------------------------------------------- */

struct run {
	struct exchange *ex;
	const struct query_request *req;
	struct query_outcome *out;
	char fingerprint[KEYS_FINGERPRINT_MAX];
	char submitted[SL_TIME_RFC3339_LEN];
	char finished[SL_TIME_RFC3339_LEN];
	json_t *charge; /* released: the ledger transaction, for the audit event */
	uint8_t sig[KEYS_SIG_MAX];
	size_t siglen;
	struct contracts_row row; /* when authorized */
	int authorized;
	const char *actor;
	int64_t version;
	struct checked_plan plan;
	json_t *plan_doc; /* the plan as audited, once decoded */
	/* dp mode: the quantities, and the noise drawn while the worker scans */
	struct dp_query dq;
	int64_t *noise;
	size_t noise_groups;
	struct noise_rng *ex_rng;
	char *reason;
	const char *state;
	const char *fail_action; /* query.refused or query.failed */
	struct spawn *sp;        /* started before the checks, so its start-up overlaps them */
	uint8_t text_hash[KEYS_HASH_BYTES]; /* of the text: a reused request id must match it */
	int takes_request_id;               /* authorized: the row claims (contract, request id) */
};

static void
set_reason(struct run *q, const char *state, const char *msg)
{
	free(q->reason);
	q->reason = strdup(msg);
	q->state = state;
}

static json_t *text_json(const struct query_request *req);
static char *reused_message(const char *request_id);

/* The bytes the buyer signs: the query bound to its contract and request id. */
static int
signed_bytes(const struct query_request *req, char **out, size_t *len)
{
	json_t *o = json_pack("{s:s, s:o, s:s}", "contract", req->contract, "query", text_json(req),
	    "request_id", req->request_id != NULL ? req->request_id : "");
	int r;

	if (o == NULL)
		return SL_ERR_NOMEM;
	r = jcs_serialize(o, out, len);
	json_decref(o);
	return r;
}

static int
sign_text(struct run *q)
{
	struct keys_pubkey *pk = NULL;
	char *msg = NULL;
	size_t len;
	int r;

	if (q->req->buyer == NULL) {
		q->siglen = 0;
		return keys_pubkey_fingerprint(q->req->caller, q->fingerprint);
	}
	if ((r = keys_identity_pubkey(q->req->buyer, &pk)) != 0 ||
	    (r = keys_pubkey_fingerprint(pk, q->fingerprint)) != 0)
		goto out;
	if ((r = signed_bytes(q->req, &msg, &len)) != 0)
		goto out;
	r = keys_identity_sign(q->req->buyer, msg, len, q->sig, &q->siglen);
out:
	free(msg);
	keys_pubkey_free(pk);
	return r;
}

/* The product's newest published version the contract covers. */
static int
pick_version(const struct product *p, const struct contract_terms *t, int64_t *at)
{
	size_t i;

	for (i = p->nversions; i > 0; i--) {
		const struct product_version *v = &p->versions[i - 1];

		if (strcmp(v->state, "published") == 0 && v->version >= t->version_from &&
		    (t->version_until == 0 || v->version <= t->version_until)) {
			*at = (int64_t)(i - 1);
			return 0;
		}
	}
	return sl_errf(
	    SL_ERR_POLICY, "product %s has no published version this contract covers", p->name);
}

/*
 * A worker's ERROR in the broker's words (broker/fault.h): before the plan,
 * a fault in the query text is a refusal; any other, and any during the
 * scan, a failure.  A frame that does not decode, or names a place outside
 * the text, fails the query.
 */
static int
worker_error(
    struct run *q, const uint8_t *payload, size_t len, const struct schema *sch, int scanning)
{
	struct fault_input in = {q->req->text, q->req->len, sch, q->row.c->product};
	struct job_error_frame e;
	char msg[512];
	int r;

	if ((r = job_error_decode(payload, len, &e)) != 0 ||
	    (r = fault_words(&e, &in, msg, sizeof msg)) != 0)
		return r;
	set_reason(q, fault_is_input(e.code) && !scanning ? "refused" : "failed", msg);
	return 0;
}

/*
 * GO, with the threshold as the units cap: a group's units need counting
 * only until release could admit it (docs/query-protocol.md).
 */
static int
go(struct run *q, struct spawn *sp)
{
	const struct contract_terms *t = &q->row.c->terms;
	uint8_t cap[4];
	uint32_t units = t->mode == CONTRACT_THRESHOLD && t->min_group <= UINT32_MAX
	                     ? (uint32_t)t->min_group
	                     : 0;

	return spawn_send(sp, JOB_FRAME_GO, cap, job_go_encode(units, cap));
}

/*
 * Noise for ngroups groups (dp mode), drawn while the worker scans: for
 * every public group, or else for DP_NOISE_POOL and, for an answer of more
 * groups, for the rest after it: a count of groups the answer shows anyway.
 */
static int
draw_noise(struct run *q, size_t ngroups)
{
	int64_t *more;

	if (ngroups <= q->noise_groups)
		return 0;
	if ((more = realloc(q->noise, ngroups * q->dq.nq * sizeof *more)) == NULL)
		return SL_ERR_NOMEM;
	q->noise = more;
	if (dp_draw(q->ex_rng, &q->dq, ngroups - q->noise_groups,
	        q->noise + q->noise_groups * q->dq.nq) != 0)
		return sl_errf(SL_ERR_INTERNAL, "the dp noise could not be drawn");
	q->noise_groups = ngroups;
	return 0;
}

/* Talk to the worker: text, PLAN, GO/ABORT, RESULT.  Sets q->state and q->reason. */
static int
converse(struct run *q, struct spawn *sp, const struct schema *sch, struct job_result *result,
    uint8_t **result_bytes)
{
	uint8_t *payload = NULL;
	uint32_t type = 0;
	size_t len;
	int r, r2;

	if ((r = spawn_send(sp, JOB_FRAME_DATA, q->req->text, q->req->len)) == 0)
		r = spawn_send(sp, JOB_FRAME_END, NULL, 0);
	/*
	 * A worker that refused its store (an integrity failure) sends its ERROR
	 * and exits before it reads the query: a send then fails, and the ERROR
	 * waiting in the socket is still the answer.
	 */
	if ((r2 = spawn_recv(sp, &type, &payload, &len)) != 0)
		return r != 0 ? r : r2;
	if (r != 0 && type != JOB_FRAME_ERROR) {
		free(payload);
		return r;
	}
	/* spawn_recv() admits only PLAN or ERROR here (job_permit()). */
	if (type == JOB_FRAME_ERROR) {
		r = worker_error(q, payload, len, sch, 0);
		free(payload);
		return r;
	}
	sl_err_clear();
	r = plan_check(payload, len, q->req->text, q->req->len, sch, &q->row.c->terms, &q->plan);
	free(payload);
	q->plan_doc = plan_check_json(&q->plan, sch);
	/* dp: what the noise cannot cover is refused before the scan, like the plan */
	if (r == 0 && q->row.c->terms.mode == CONTRACT_DP)
		r = dp_prepare(&q->plan, &q->row.c->terms, &q->dq);
	if (r == SL_ERR_NOMEM)
		return r;
	if (r != 0) {
		set_reason(q, r == SL_ERR_POLICY ? "refused" : "failed", sl_err_msg(r));
		/* The reason is the buyer's to read, not the worker's. */
		if (spawn_send(sp, JOB_FRAME_ABORT, NULL, 0) != 0) {
			/* The worker is gone already; the refusal stands either way. */
		}
		return 0;
	}
	if ((r = go(q, sp)) != 0)
		return r;
	/* The noise is drawn now, while the worker scans: its timing cannot depend on the answer. */
	if (q->row.c->terms.mode == CONTRACT_DP &&
	    (r = draw_noise(q, dp_groups(&q->dq, DP_NOISE_POOL))) != 0)
		return r;
	if ((r = spawn_recv(sp, &type, &payload, &len)) != 0)
		return r;
	/* RESULT, ERROR, or PROGRESS (which a query worker does not send yet). */
	while (r == 0 && type == JOB_FRAME_PROGRESS) {
		free(payload);
		payload = NULL;
		r = spawn_recv(sp, &type, &payload, &len);
	}
	if (r != 0)
		return r;
	if (type == JOB_FRAME_ERROR) {
		r = worker_error(q, payload, len, sch, 1);
		free(payload);
		return r;
	}
	/* TEXT values of the decoded RESULT point into the payload, which result keeps. */
	if ((r = job_result_decode(payload, len, &q->plan.p, result)) != 0) {
		free(payload);
		return r;
	}
	*result_bytes = payload;
	return 0;
}

/* Run the worker on version p->versions[vi]; on success *result is its RESULT (in *bytes). */
static int
run_worker(struct run *q, const struct product *p, size_t vi, const struct schema *sch,
    struct job_result *result, uint8_t **bytes)
{
	const struct product_version *v = &p->versions[vi];
	const struct contract_terms *t = &q->row.c->terms;
	struct keys_dek *dek = NULL;
	struct spawn *sp = q->sp;
	struct spawn_result sr;
	struct launch l;
	char *store = NULL, why[512], params[96], hex[2 * sizeof(v->manifest) + 1];
	uint8_t *bound = NULL;
	int r;

	if (!v->has_manifest) {
		set_reason(q, "failed",
		    "this version was loaded before stores had one environment per version; load "
		    "it again");
		return 0;
	}
	if ((r = product_version_key(q->ex, p, v->version, v->key_version, &dek)) != 0 ||
	    (r = product_version_dir(q->ex, p->name, v->version, &store)) != 0)
		goto out;
	sl_hex_encode(v->manifest, sizeof(v->manifest), hex);
	snprintf(params, sizeof params, "{\"manifest\":\"%s\"}", hex);
	l = (struct launch){.kind = JOB_KIND_QUERY,
	    .product = p,
	    .version = v->version,
	    .key = dek,
	    .key_version = v->key_version,
	    .store = store,
	    .cpu_seconds = t->max_query_seconds,
	    .memory_bytes = QUERY_MEMORY_BYTES,
	    .params = params,
	    .threads = q->req->threads > 0 ? q->req->threads : launch_threads_default()};
	/* dp: each unit's rows are bounded in the worker, chosen under the contract's key */
	if (t->mode == CONTRACT_DP) {
		if ((bound = keys_secret_alloc(KEYS_DEK_BYTES)) == NULL) {
			r = SL_ERR_NOMEM;
			goto out;
		}
		if ((r = keys_dek_derive(dek, "sluice bound", q->row.c->id, bound)) != 0)
			goto out;
		l.bound_rows = (uint32_t)t->max_rows_per_unit;
		l.bound_key = bound;
	}
	/*
	 * SL_ERR_IO: the worker is gone before its header (killed while it
	 * waited, started ahead): its job fails below, as one that died later.
	 */
	if ((r = launch_send(q->ex, sp, &l)) != 0 && r != SL_ERR_IO)
		goto out;
	if (r == 0) {
		sl_err_clear();
		r = converse(q, sp, sch, result, bytes);
	}
	/* A RESULT is the worker's last word: its exit is not waited for (query_outcome.worker). */
	if (r == 0 && *bytes != NULL)
		goto out;
	snprintf(why, sizeof why, "%s", r != 0 ? sl_err_msg(r) : "the worker sent no answer");
	if (spawn_wait(sp, &sr) == 0 && q->state == NULL && (r != 0 || *bytes == NULL) &&
	    r != SL_ERR_NOMEM) {
		/* How the worker ended is the reason: sandbox violation, time limit, protocol. */
		if (sr.outcome != SPAWN_OK && sr.outcome != SPAWN_FAILED)
			snprintf(
			    why, sizeof why, "%s: %s", spawn_outcome_name(sr.outcome), sr.detail);
		set_reason(q, "failed", why);
		r = 0;
	}
out:
	keys_secret_free(bound);
	keys_dek_free(dek);
	free(store);
	return r;
}

/*
 * dp: refuse early, before a worker runs, a query the budget cannot take
 * (record() charges in the release's transaction, which decides), and open
 * the noise source.
 */
static int
budget_fits(struct run *q)
{
	struct budget b;
	int r;

	if ((r = budget_get(exchange_db(q->ex), q->row.c->id, &q->row.c->terms, &b)) != 0 ||
	    (r = budget_check(&b, &q->row.c->terms)) != 0)
		return r;
	return q->ex_rng != NULL ? 0 : noise_rng_new(&q->ex_rng);
}

/* Everything between authorization and release: sets q->state (and answer or reason). */
static int
execute(struct run *q)
{
	struct release_answer rel;
	const struct schema *sch = NULL;
	struct job_result result = {0};
	uint8_t *bytes = NULL;
	struct product p;
	size_t vi = 0;
	int64_t at = 0;
	int r;

	if ((r = product_find(q->ex, q->row.c->product, &p)) != 0)
		return r;
	sl_err_clear();
	if ((r = pick_version(&p, &q->row.c->terms, &at)) != 0) {
		set_reason(q, "refused", sl_err_msg(r));
		r = 0;
		goto out;
	}
	vi = (size_t)at;
	q->version = p.versions[vi].version;
	if (q->row.c->terms.mode == CONTRACT_DP && (r = budget_fits(q)) != 0) {
		if (r != SL_ERR_POLICY)
			goto out;
		set_reason(q, "refused", sl_err_msg(r));
		r = 0;
		goto out;
	}
	if ((r = exchange_schema(q->ex, p.schema, &sch)) != 0 ||
	    (r = run_worker(q, &p, vi, sch, &result, &bytes)) != 0 || q->state != NULL)
		goto out;
	sl_err_clear();
	if (q->row.c->terms.mode == CONTRACT_DP) {
		struct dp_noise dn = {&q->dq, NULL, 0};

		/* Beyond the pool: noise for groups the answer's own size shows. */
		if ((r = draw_noise(q, dp_groups(&q->dq, result.ngroups))) != 0)
			goto out;
		dn.noise = q->noise;
		dn.ngroups = q->noise_groups;
		r = release_apply(
		    &q->plan, &result, &q->row.c->terms, p.versions[vi].rows, &dn, &rel);
	} else {
		r = release_apply(
		    &q->plan, &result, &q->row.c->terms, p.versions[vi].rows, NULL, &rel);
	}
	if (r != 0) {
		set_reason(q, r == SL_ERR_POLICY ? "refused" : "failed", sl_err_msg(r));
		r = 0;
		goto out;
	}
	/* The version read is the broker's choice (pick_version()), never the worker's word. */
	q->out->answer = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:I, s:o, s:I}", "query_id",
	    q->out->id, "contract", q->row.c->id, "product", p.name, "version",
	    (json_int_t)q->version, "columns", rel.columns, "rows", rel.rows, "suppressed_groups",
	    (json_int_t)rel.suppressed, "release", rel.release, "charged_fen",
	    (json_int_t)q->row.c->terms.price_fen);
	r = q->out->answer != NULL ? 0 : SL_ERR_NOMEM;
	q->state = "released";
out:
	job_result_clear(&result);
	free(bytes);
	product_clear(&p);
	return r;
}

/* ---- recording ----------------------------------------------------------- */

/*
 * The stored outcome of (contract, request id), if there is one: 1 found
 * (out filled, replayed), 0 not, 2 found for another query text (out
 * untouched).  Only for an authorized caller: the answer is the buyer's.
 */
static int
stored(struct exchange *ex, const struct run *q, struct query_outcome *out)
{
	const struct query_request *req = q->req;
	sqlite3_stmt *st = NULL;
	int r;

	if (req->request_id == NULL)
		return 0;
	if ((r = db_stmt(exchange_db(ex),
	         "SELECT id, state, answer, reason, text_hash FROM queries"
	         " WHERE contract = ? AND request_id = ?",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, req->contract, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->request_id, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *answer = (const char *)sqlite3_column_text(st, 2);
		const char *reason = (const char *)sqlite3_column_text(st, 3);

		if (sqlite3_column_bytes(st, 4) != KEYS_HASH_BYTES ||
		    memcmp(sqlite3_column_blob(st, 4), q->text_hash, KEYS_HASH_BYTES) != 0) {
			r = 2;
			goto out;
		}
		snprintf(out->id, sizeof out->id, "%s", sqlite3_column_text(st, 0));
		snprintf(out->state, sizeof out->state, "%s", sqlite3_column_text(st, 1));
		out->answer = answer != NULL ? json_loads(answer, 0, NULL) : NULL;
		out->reason = reason != NULL ? strdup(reason) : NULL;
		out->replayed = 1;
		r = 1;
	} else {
		r = r == SQLITE_DONE ? 0 : db_fail(exchange_db(ex), "find query");
	}
out:
	db_stmt_done(st);
	return r;
}

/* A replay: audited in its own transaction, then the stored outcome is the answer. */
static int
audit_replay(struct run *q, const char *original)
{
	struct db *db = exchange_db(q->ex);
	int r;

	if ((r = db_begin(db)) != 0)
		return r;
	if ((r = exchange_audit(q->ex, q->actor, "query.replayed", original,
	         json_pack("{s:s, s:s, s:s}", "contract", q->req->contract, "request_id",
	             q->req->request_id, "buyer_fingerprint", q->fingerprint))) == 0)
		r = db_commit(db);
	db_rollback(db);
	return r;
}

/*
 * The per-contract rate: every submission the contract's buyer made in the
 * last minute counts, whatever its outcome, so refused and failed queries
 * cannot be sent for free.  In the catalog, not in memory: several brokers
 * share it.  The limit is reached when the submission `limit` places back
 * (queries.seq) was made in the last minute: two index lookups, whatever the
 * rate a contract allows.
 */
static int
rate_check(struct run *q)
{
	sqlite3_stmt *st = NULL;
	char since[SL_TIME_RFC3339_LEN], msg[160];
	time_t t = time(NULL) - 60;
	struct tm tm;
	int r, e;

	gmtime_r(&t, &tm);
	strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((r = db_stmt(exchange_db(q->ex),
	         "SELECT submitted > ?3 FROM queries WHERE contract = ?1 AND seq ="
	         " (SELECT max(seq) FROM queries WHERE contract = ?1) - ?2 + 1",
	         &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, q->req->contract, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, q->req->rate_per_minute);
	sqlite3_bind_text(st, 3, since, -1, SQLITE_STATIC);
	if ((e = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0) {
		snprintf(msg, sizeof msg,
		    "contract %s: %u queries in the last minute; the limit is %u a minute",
		    q->req->contract, q->req->rate_per_minute, q->req->rate_per_minute);
		set_reason(q, "refused", msg);
		/* Transient: the retry after the minute must run, not replay this. */
		q->takes_request_id = 0;
	} else if (e != SQLITE_ROW && e != SQLITE_DONE) {
		r = db_fail(exchange_db(q->ex), "look up the rate limit's earlier submission");
	}
	db_stmt_done(st);
	return r;
}

static json_t *
text_json(const struct query_request *req)
{
	json_t *s = json_stringn(req->text, req->len);
	char *hex;

	if (s != NULL)
		return s;
	/* Not UTF-8: keep the bytes anyway, the audit log must say what was sent. */
	if ((hex = malloc(2 * req->len + 1)) == NULL)
		return NULL;
	sl_hex_encode((const uint8_t *)req->text, req->len, hex);
	s = json_pack("{s:s}", "hex", hex);
	free(hex);
	return s;
}

static int
audit_events(struct run *q)
{
	char sig[2 * KEYS_SIG_MAX + 1];
	struct exchange *ex = q->ex;
	const char *id = q->out->id;
	int r;

	sl_hex_encode(q->sig, q->siglen, sig);
	if ((r = exchange_audit(ex, q->actor, "query.submitted", id,
	         json_pack("{s:s, s:o, s:s, s:s, s:s?}", "contract", q->req->contract, "text",
	             text_json(q->req), "signature", sig, "buyer_fingerprint", q->fingerprint,
	             "request_id", q->req->request_id))) != 0)
		return r;
	if (q->plan_doc != NULL &&
	    (r = exchange_audit(ex, q->actor, "query.planned", id,
	         json_pack("{s:s, s:I, s:O}", "contract", q->req->contract, "version",
	             (json_int_t)q->version, "plan", q->plan_doc))) != 0)
		return r;
	if (strcmp(q->state, "released") == 0)
		return exchange_audit(ex, q->actor, "query.released", id,
		    json_pack("{s:s, s:I, s:I, s:O, s:O, s:O, s:O}", "contract", q->req->contract,
		        "rows",
		        (json_int_t)json_array_size(json_object_get(q->out->answer, "rows")),
		        "suppressed_groups",
		        json_integer_value(json_object_get(q->out->answer, "suppressed_groups")),
		        "charged_fen", json_object_get(q->out->answer, "charged_fen"),
		        "transaction", json_object_get(q->charge, "transaction"), "adjustment_fen",
		        json_object_get(q->charge, "adjustment_fen"), "postings",
		        json_object_get(q->charge, "postings")));
	return exchange_audit(ex, q->actor,
	    strcmp(q->state, "refused") == 0 ? "query.refused" : "query.failed", id,
	    json_pack("{s:s, s:s}", "contract", q->req->contract, "reason", q->reason));
}

static int
insert_row(struct run *q)
{
	struct db *db = exchange_db(q->ex);
	char *answer = NULL;
	sqlite3_stmt *st = NULL;
	int released = strcmp(q->state, "released") == 0, r;

	if (released && (answer = json_dumps(q->out->answer, JSON_COMPACT)) == NULL)
		return SL_ERR_NOMEM;
	if ((r = db_stmt(db,
	         "INSERT INTO queries (id, contract, request_id, buyer_fingerprint, text, "
	         "signature,"
	         " state, version, answer, reason, charged_fen, submitted, finished, text_hash, "
	         "seq)"
	         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	         " (SELECT coalesce(max(seq), 0) + 1 FROM queries WHERE contract = ?2))",
	         &st)) == 0) {
		sqlite3_bind_text(st, 1, q->out->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, q->req->contract, -1, SQLITE_STATIC);
		/* Only the buyer's own submissions hold a request id: nobody else's can block it. */
		if (q->req->request_id != NULL && q->takes_request_id)
			sqlite3_bind_text(st, 3, q->req->request_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, q->fingerprint, -1, SQLITE_STATIC);
		/* A refused query's text is kept once: in its query.submitted event. */
		if (strcmp(q->state, "refused") == 0)
			sqlite3_bind_text(st, 5, "", 0, SQLITE_STATIC);
		else
			sqlite3_bind_text(st, 5, q->req->text, (int)q->req->len, SQLITE_STATIC);
		sqlite3_bind_blob(st, 6, q->sig, (int)q->siglen, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, q->state, -1, SQLITE_STATIC);
		if (q->version > 0)
			sqlite3_bind_int64(st, 8, q->version);
		if (answer != NULL)
			sqlite3_bind_text(st, 9, answer, -1, SQLITE_STATIC);
		if (q->reason != NULL)
			sqlite3_bind_text(st, 10, q->reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, released ? q->row.c->terms.price_fen : 0);
		sqlite3_bind_text(st, 12, q->submitted, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 13, q->finished, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 14, q->text_hash, KEYS_HASH_BYTES, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = db_fail(db, "record query");
	}
	db_stmt_done(st);
	free(answer);
	return r;
}

/*
 * dp: charge the release to the budget.  When another process took the last
 * of it meanwhile, the query is refused instead, and nothing is charged.
 * The answer says what this query spent and what is left.
 */
static int
charge_budget(struct run *q)
{
	json_t *rel = json_object_get(q->out->answer, "release");
	char spent[RATIONAL_TEXT_BYTES], left[RATIONAL_TEXT_BYTES];
	struct budget b;
	int r;

	sl_err_clear();
	r = budget_charge(
	    exchange_db(q->ex), q->row.c->id, &q->row.c->terms, q->out->id, q->finished, &b);
	if (r == SL_ERR_POLICY) {
		json_decref(q->out->answer);
		q->out->answer = NULL;
		set_reason(q, "refused", sl_err_msg(r));
		return 0;
	}
	if (r != 0)
		return r;
	if (rational_format(b.spent, spent) < 0 || rational_format(b.remaining, left) < 0 ||
	    json_object_set_new(rel, "budget_spent", json_string(spent)) != 0 ||
	    json_object_set_new(rel, "budget_remaining", json_string(left)) != 0)
		return SL_ERR_NOMEM;
	return 0;
}

/*
 * The one transaction: a retry that lost the race finds the winner's answer;
 * a release counts against the quota (which another process may have used
 * up meanwhile: then the query is refused, not released).
 */
static int
record(struct run *q)
{
	struct db *db = exchange_db(q->ex);
	json_t *mine = q->out->answer;
	int r;

	q->out->answer = NULL;
	if ((r = db_begin(db)) != 0) {
		q->out->answer = mine;
		return r;
	}
	if (q->takes_request_id && (r = stored(q->ex, q, q->out)) != 0) {
		if (r == 2) { /* the winner sent another text under this request id */
			q->takes_request_id = 0;
			json_decref(mine);
			mine = NULL;
			free(q->reason);
			q->state = "refused";
			r = (q->reason = reused_message(q->req->request_id)) != NULL ? 0
			                                                             : SL_ERR_NOMEM;
			if (r != 0)
				goto out;
		} else {
			json_decref(mine);
			goto out;
		}
	}
	q->out->answer = mine;
	/* A failed query counts against the quota too (it is not charged). */
	if ((strcmp(q->state, "released") == 0 || strcmp(q->state, "failed") == 0) &&
	    (r = contracts_count_query(db, q->req->contract)) != 0) {
		if (strcmp(q->state, "released") == 0) {
			json_decref(q->out->answer);
			q->out->answer = NULL;
			set_reason(q, "refused", sl_err_msg(r));
		}
		r = 0;
	}
	sl_time_now(q->finished);
	/* dp: the charge is made here, in the release's transaction, or the release is refused. */
	if (strcmp(q->state, "released") == 0 && q->row.c->terms.mode == CONTRACT_DP &&
	    (r = charge_budget(q)) != 0)
		goto out;
	if ((r = insert_row(q)) != 0)
		goto out;
	if (strcmp(q->state, "released") == 0 && (r = ledger_post(db, q->row.c, q->row.product_id,
	                                              q->out->id, q->finished, &q->charge)) != 0)
		goto out;
	if ((r = audit_events(q)) != 0)
		goto out;
	r = db_commit(db);
out:
	db_rollback(db);
	return r < 0 ? r : 0;
}

static char *
reused_message(const char *request_id)
{
	char msg[QUERY_REQUEST_ID_MAX + 64];

	snprintf(msg, sizeof msg, "request id %s was used for another query", request_id);
	return strdup(msg);
}

/* A revoked party's key is refused as any other that may not query (q->state "refused"). */
static int
revoked_check(struct run *q, const struct keys_pubkey *pk)
{
	struct party p;
	char msg[400];
	int r;

	if ((r = party_find_key(exchange_db(q->ex), pk, &p)) == SL_ERR_NOTFOUND)
		return 0;
	if (r != 0)
		return r;
	if (p.revoked != NULL) {
		snprintf(msg, sizeof msg, "party %s was revoked on %s: %s", p.name, p.revoked,
		    p.revoke_reason);
		set_reason(q, "refused", msg);
	}
	party_clear(&p);
	return 0;
}

/* Authorize, run and release; sets q->state.  Errors are the catalog's, not the query's. */
static int
run(struct run *q)
{
	struct keys_pubkey *pk = NULL;
	int r;

	if (q->req->buyer != NULL && (r = keys_identity_pubkey(q->req->buyer, &pk)) != 0)
		return r;
	sl_err_clear();
	if ((r = revoked_check(q, pk != NULL ? pk : q->req->caller)) != 0 || q->state != NULL) {
		keys_pubkey_free(pk);
		return r;
	}
	r = contracts_authorize(
	    q->ex, q->req->contract, pk != NULL ? pk : q->req->caller, time(NULL), &q->row);
	keys_pubkey_free(pk);
	if (r == SL_ERR_POLICY || r == SL_ERR_NOTFOUND) {
		set_reason(q, "refused", sl_err_msg(r));
		return 0;
	}
	if (r != 0)
		return r;
	q->authorized = 1;
	q->actor = contract_party(q->row.c, CONTRACT_BUYER)->name;
	q->takes_request_id = 1;
	/* Authorized first, then the retry: a stored answer goes to its own buyer only. */
	if ((r = stored(q->ex, q, q->out)) == 1)
		return audit_replay(q, q->out->id);
	if (r == 2) {
		q->takes_request_id = 0;
		free(q->reason);
		q->state = "refused";
		return (q->reason = reused_message(q->req->request_id)) != NULL ? 0 : SL_ERR_NOMEM;
	}
	if (r != 0 || (r = rate_check(q)) != 0 || q->state != NULL)
		return r;
	return execute(q);
}

int
query_worker_start(struct spawn **out)
{
	char *worker = NULL;
	int r;

	*out = NULL;
	if ((r = spawn_worker_path(&worker)) == 0)
		r = spawn_start(worker, QUERY_WALL_MS, out);
	free(worker);
	return r;
}

int
query_submit(struct exchange *ex, const struct query_request *req, struct query_outcome *out)
{
	struct run q;
	uint8_t raw[16];
	int r;

	memset(out, 0, sizeof *out);
	memset(&q, 0, sizeof q);
	q.sp = req->worker; /* ours from here on, whatever happens */
	if (req->request_id != NULL &&
	    (*req->request_id == '\0' || strlen(req->request_id) > QUERY_REQUEST_ID_MAX)) {
		r = sl_errf(SL_ERR_INVAL, "a request id is 1 to %d bytes", QUERY_REQUEST_ID_MAX);
		goto done;
	}
	/* Decided before anything is signed, spawned or logged: no text of this size can run. */
	if (req->len > QUERY_TEXT_MAX) {
		r = sl_errf(SL_ERR_LIMIT, "query text is %zu bytes; the limit is %u", req->len,
		    QUERY_TEXT_MAX);
		goto done;
	}
	q.ex = ex;
	q.req = req;
	q.out = out;
	q.actor = "unknown";
	sl_time_now(q.submitted);
	if ((r = keys_hash(exchange_suite(ex), req->text, req->len, q.text_hash)) != 0)
		goto done;
	keys_random(raw, sizeof raw);
	memcpy(out->id, "q_", 2);
	sl_hex_encode(raw, sizeof raw, out->id + 2);
	/*
	 * The worker starts now and gets its HEADER (the key, the store) only
	 * once the query is authorized, so that its exec and library start-up
	 * overlap the signature and the checks.  A refused query's worker is
	 * killed unused.
	 */
	if (q.sp != NULL)
		spawn_rearm(q.sp, QUERY_WALL_MS);
	else if ((r = query_worker_start(&q.sp)) != 0)
		goto done;
	if ((r = sign_text(&q)) != 0)
		goto done;
	if (q.actor == NULL || strcmp(q.actor, "unknown") == 0)
		q.actor = q.fingerprint;
	if ((r = run(&q)) != 0 || out->replayed)
		goto done;
	if ((r = record(&q)) != 0)
		goto done;
	if (!out->replayed) {
		snprintf(out->state, sizeof out->state, "%s", q.state);
		if (q.reason != NULL && (out->reason = strdup(q.reason)) == NULL)
			r = SL_ERR_NOMEM;
	}
done:
	if (r != 0) {
		json_decref(out->answer);
		out->answer = NULL;
		spawn_free(q.sp);
	} else {
		out->worker = q.sp;
	}
	free(q.reason);
	checked_plan_clear(&q.plan);
	json_decref(q.plan_doc);
	dp_query_clear(&q.dq);
	free(q.noise);
	noise_rng_free(q.ex_rng);
	json_decref(q.charge);
	if (q.authorized)
		contracts_row_clear(&q.row);
	return r;
}

void
query_outcome_clear(struct query_outcome *out)
{
	json_decref(out->answer);
	free(out->reason);
	spawn_free(out->worker);
	memset(out, 0, sizeof *out);
}

/* ---- a stored outcome ---------------------------------------------------- */

/* Whether party who may read the queries of contract id: its buyer, the platform, an auditor. */
static int
may_read(struct exchange *ex, const struct party *who, const char *contract)
{
	struct contracts_row row;
	int r, ok;

	if (strcmp(who->role, "platform") == 0 || strcmp(who->role, "auditor") == 0)
		return 1;
	if ((r = contracts_find(ex, contract, &row)) != 0)
		return r == SL_ERR_NOTFOUND ? 0 : r;
	ok = strcmp(contract_party(row.c, CONTRACT_BUYER)->name, who->name) == 0;
	contracts_row_clear(&row);
	return ok;
}

int
query_act_list(struct exchange *ex, const struct keys_pubkey *caller, const char *contract,
    json_t **doc)
{
	struct party who = {0};
	sqlite3_stmt *st = NULL;
	json_t *list = NULL;
	char last[128] = "";
	int r, rc = SQLITE_DONE, ok = 0, buyer;

	*doc = NULL;
	if ((r = actor_party(ex, caller, &who)) != 0)
		return r;
	buyer = strcmp(who.role, "buyer") == 0;
	if ((list = json_array()) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	/* Newest first; a contract's readability is looked up once per run of its queries. */
	if ((r = db_prepare(exchange_db(ex),
	         "SELECT id, contract, state, charged_fen, submitted, text FROM queries"
	         " WHERE ?1 IS NULL OR contract = ?1 ORDER BY submitted DESC, id",
	         &st)) != 0)
		goto out;
	if (contract != NULL)
		sqlite3_bind_text(st, 1, contract, -1, SQLITE_STATIC);
	while (json_array_size(list) < QUERY_LIST_MAX && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(st, 1);

		if (strcmp(c, last) != 0) {
			if ((ok = may_read(ex, &who, c)) < 0) {
				r = ok;
				goto out;
			}
			snprintf(last, sizeof last, "%s", c);
		}
		if (!ok)
			continue;
		if (json_array_append_new(list,
		        json_pack("{s:s, s:s, s:s, s:I, s:s, s:s*}", "query_id",
		            sqlite3_column_text(st, 0), "contract", c, "state",
		            sqlite3_column_text(st, 2), "charged_fen",
		            (json_int_t)sqlite3_column_int64(st, 3), "submitted",
		            sqlite3_column_text(st, 4), "sql",
		            buyer ? (const char *)sqlite3_column_text(st, 5) : NULL)) != 0) {
			r = SL_ERR_NOMEM;
			goto out;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_fail(exchange_db(ex), "list queries");
	else if ((*doc = json_pack("{s:O}", "queries", list)) == NULL)
		r = SL_ERR_NOMEM;
out:
	json_decref(list);
	sqlite3_finalize(st);
	party_clear(&who);
	return r;
}

int
query_act_show(struct exchange *ex, const struct keys_pubkey *caller, const char *id, json_t **doc)
{
	struct party who = {0};
	sqlite3_stmt *st = NULL;
	json_t *o = NULL;
	int r;

	*doc = NULL;
	if (caller != NULL && (r = actor_party(ex, caller, &who)) != 0)
		return r;
	if ((r = db_prepare(exchange_db(ex),
	         "SELECT contract, state, answer, reason, submitted, finished FROM queries"
	         " WHERE id = ?",
	         &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) != SQLITE_ROW) {
		r = r == SQLITE_DONE ? SL_ERR_NOTFOUND : db_fail(exchange_db(ex), "find query");
		goto notfound;
	}
	if (caller != NULL &&
	    (r = may_read(ex, &who, (const char *)sqlite3_column_text(st, 0))) != 1) {
		r = r == 0 ? SL_ERR_NOTFOUND : r;
		goto notfound;
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "query_id", id, "contract",
	    sqlite3_column_text(st, 0), "state", sqlite3_column_text(st, 1), "submitted",
	    sqlite3_column_text(st, 4), "finished", sqlite3_column_text(st, 5));
	if (o == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	if (sqlite3_column_type(st, 2) != SQLITE_NULL)
		r = json_object_set_new(
		    o, "answer", json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL));
	else
		r = json_object_set_new(o, "reason",
		    json_string(sqlite3_column_type(st, 3) != SQLITE_NULL
		                    ? (const char *)sqlite3_column_text(st, 3)
		                    : ""));
	if (r != 0) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	*doc = o;
	o = NULL;
	goto out;
notfound:
	if (r == SL_ERR_NOTFOUND)
		r = sl_errf(SL_ERR_NOTFOUND, "no query %s", id);
out:
	json_decref(o);
	sqlite3_finalize(st);
	if (caller != NULL)
		party_clear(&who);
	return r;
}
