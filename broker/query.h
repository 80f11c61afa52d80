/*
 * broker/query.h -- a buyer's query from submission to release (docs/architecture.md,
 * "The query path"; docs/privacy.md).
 *
 * The broker never parses the SQL text.  It checks the contract
 * (broker/contracts.h), starts a worker on the product's current version,
 * sends it the text, checks the PLAN the worker answers against the schema
 * and the contract (GO or ABORT), and passes the worker's raw aggregates
 * through disclosure control (broker/release.h).  The outcome -- released,
 * refused or failed -- is recorded with its audit events (query.submitted,
 * query.planned, then query.released, query.refused or query.failed), the
 * quota count and the charge in one SQLite transaction.
 *
 * Owns the table queries.
 */
#ifndef SLUICE_BROKER_QUERY_H
#define SLUICE_BROKER_QUERY_H

#include <jansson.h>
#include <stddef.h>

struct exchange;
struct keys_identity;
struct keys_pubkey;
struct spawn;
struct schema;
struct contract_terms;

#define QUERY_TEXT_MAX (1u << 20)
#define QUERY_REQUEST_ID_MAX 128
#define QUERY_ID_LEN 34 /* "q_" and 32 hex digits */

/* A contract's submissions a minute, unless the broker is set otherwise ($SLUICE_QUERY_RATE). */
#define QUERY_RATE_DEFAULT 60

struct query_request {
	const char *contract;
	const struct keys_identity *buyer; /* signs the text (the CLI) */
	/*
	 * Or, buyer NULL: the key the caller proved some other way (the daemon:
	 * its client certificate), and the text is recorded unsigned, the
	 * submission attributed to that key.
	 */
	const struct keys_pubkey *caller;
	struct spawn *worker;   /* a worker started ahead, taken over (freed); NULL: start one */
	const char *request_id; /* NULL: none */
	const char *text;
	size_t len;
	unsigned
	    rate_per_minute; /* submissions a contract may make a minute (QUERY_RATE_DEFAULT) */
	unsigned threads;    /* the worker's scan threads; 0: launch_threads_default() */
};

struct query_outcome {
	char id[QUERY_ID_LEN + 1];
	char state[16]; /* released | refused | failed */
	json_t *answer; /* released: docs/sluice.1 document */
	char *reason;   /* refused or failed: why */
	int replayed;   /* the stored outcome of an earlier submission with this request id */
	/*
	 * The worker, which may still be ending after its RESULT: the answer does
	 * not wait for its exit.  query_outcome_clear() kills and reaps it; a
	 * caller may take it (and spawn_free() it) once the answer is on its way.
	 */
	struct spawn *worker;
};

/*
 * Start a query's worker ahead of its query: executed and initialising, sent
 * nothing (no key, no store) until query_submit() has authorized the query.
 * The CLI starts it before it loads the identity and opens the exchange, so
 * that the worker's start-up overlaps them; pass it as query_request.worker.
 */
int query_worker_start(struct spawn **out) __attribute__((warn_unused_result));

/*
 * Run one query.  Returns 0 when the outcome is recorded (whatever it is),
 * or an error when it could not be (the catalog failed): then nothing was
 * recorded or charged.  Free out with query_outcome_clear().
 */
int query_submit(struct exchange *ex, const struct query_request *req, struct query_outcome *out)
    __attribute__((warn_unused_result));

void query_outcome_clear(struct query_outcome *out);

/*
 * The stored outcome of query id, for the buyer of its contract (caller's
 * key) or the platform and auditors (caller NULL is the platform).  Anyone
 * else gets SL_ERR_NOTFOUND, as for an id that does not exist: whether
 * another buyer's query exists is not theirs to learn.  *doc is
 * {"query_id", "contract", "state", "answer" | "reason", "submitted", "finished"}.
 */
int query_act_show(struct exchange *ex, const struct keys_pubkey *caller, const char *id,
    json_t **doc) __attribute__((warn_unused_result));

#define QUERY_LIST_MAX 200

/*
 * The newest QUERY_LIST_MAX queries the caller may read (as
 * query_act_show()), of contract only when it is not NULL: *doc is
 * {"queries": [{"query_id", "contract", "state", "charged_fen", "submitted",
 * "sql"}]}, newest first.  The text is the buyer's own; it is left out for
 * the platform and auditors, who read outcomes, not what a buyer asked.
 */
int query_act_list(struct exchange *ex, const struct keys_pubkey *caller, const char *contract,
    json_t **doc) __attribute__((warn_unused_result));

#endif
