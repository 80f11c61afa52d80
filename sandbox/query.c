/*
 * sandbox/query.c -- the query job: text in, plan out, raw aggregates out.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/schema.h"
#include "common/text.h"
#include "sandbox/exec.h"
#include "sandbox/fault.h"
#include "sandbox/plan.h"
#include "sandbox/query.h"
#include "sandbox/sql.h"
#include "sandbox/store.h"

struct query {
	struct schema *schema;
	struct store *store;
	/* One read transaction per thread, all of the published version (its digest checked). */
	struct store_reader *readers[JOB_THREADS_MAX];
	unsigned nreaders;
	struct exec_bound bound; /* the HEADER's; its key wiped by query_free() */
	const struct job_header *h; /* borrowed, for query_result_tamper only */
};

_Static_assert(EXEC_BOUND_KEY_BYTES == JOB_KEY_BYTES, "the bound key is the HEADER's");

/* params {"manifest": hex}: the digest the catalog recorded when the version was published. */
static int
manifest_param(const char *params, uint8_t out[STORE_DIGEST_BYTES])
{
	json_t *p = json_loads(params, 0, NULL);
	const char *hex = json_string_value(json_object_get(p, "manifest"));
	int r = 0;

	if (hex == NULL || sl_hex_decode(hex, strlen(hex), out, STORE_DIGEST_BYTES) != 0)
		r = sl_errf(
		    SL_ERR_PARSE, "query: job parameters lack the version's manifest digest");
	json_decref(p);
	return r;
}

int
query_prepare(const struct job_header *h, struct query **out)
{
	uint8_t digest[STORE_DIGEST_BYTES];
	struct store_ident id = {
	    h->product, h->data_version, (enum keys_suite)h->suite, h->key, digest};
	struct query *q = calloc(1, sizeof *q);
	unsigned t, want = h->threads >= 1 && h->threads <= JOB_THREADS_MAX ? h->threads : 1;
	int r;

	if (q == NULL)
		return SL_ERR_NOMEM;
	q->h = h;
	q->bound.rows = h->bound_rows;
	memcpy(q->bound.key, h->bound_key, sizeof q->bound.key);
	if ((r = schema_parse(h->schema, strlen(h->schema), &q->schema)) != 0 ||
	    (r = manifest_param(h->params, digest)) != 0 ||
	    (r = store_open(h->store, 0, 0, &q->store)) != 0) {
		query_free(q);
		return r;
	}
	/*
	 * Before confinement, like everything the job opens; the threads come
	 * after it.  No more readers than chunks: exec_run() gives each thread
	 * chunks of its own, so a small version needs one.
	 */
	for (t = 0; t < want && (t == 0 || t < store_reader_chunks(q->readers[0])); t++) {
		if ((r = store_reader_open(q->store, &id, q->schema, &q->readers[t])) != 0) {
			query_free(q);
			return r;
		}
		q->nreaders++;
	}
	*out = q;
	return 0;
}

void
query_free(struct query *q)
{
	if (q == NULL)
		return;
	while (q->nreaders > 0)
		store_reader_close(q->readers[--q->nreaders]);
	store_close(q->store);
	schema_free(q->schema);
	sodium_memzero(&q->bound, sizeof q->bound);
	free(q);
}

/* The query text: DATA frames up to END, at most SQL_MAX_TEXT bytes in all. */
static int
read_text(int fd, char **text, size_t *len)
{
	uint8_t *payload = NULL;
	char *buf = NULL, *grown;
	size_t n = 0, plen;
	uint32_t type;
	int r;

	for (;;) {
		if ((r = job_frame_read(fd, &type, &payload, &plen, SQL_MAX_TEXT)) != 0)
			break;
		if (type == JOB_FRAME_END) {
			free(payload);
			*text = buf != NULL ? buf : strdup("");
			*len = n;
			return *text != NULL ? 0 : SL_ERR_NOMEM;
		}
		if (type != JOB_FRAME_DATA) {
			r = sl_errf(SL_ERR_PARSE, "query: unexpected frame %u before END", type);
			break;
		}
		if (n + plen > SQL_MAX_TEXT) {
			struct job_place at = {.rule = JOB_RULE_TOO_LONG, .number = SQL_MAX_TEXT};

			r = fault_note(
			    sl_errf(SL_ERR_LIMIT, "query text is more than %u bytes", SQL_MAX_TEXT),
			    &at);
			break;
		}
		if ((grown = realloc(buf, n + plen + 1)) == NULL) {
			r = SL_ERR_NOMEM;
			break;
		}
		buf = grown;
		memcpy(buf + n, payload, plen);
		n += plen;
		buf[n] = '\0';
		free(payload);
		payload = NULL;
	}
	free(payload);
	free(buf);
	return r;
}

/*
 * The broker's verdict on the plan: 0 for GO, with the units cap it carries
 * (none: 0), or SL_ERR_POLICY for ABORT.
 */
static int
verdict(int fd, uint32_t *units_cap)
{
	uint8_t *payload = NULL;
	uint32_t type;
	size_t len;
	int r;

	*units_cap = 0;
	if ((r = job_frame_read(fd, &type, &payload, &len, JOB_FRAME_MAX)) != 0)
		return r;
	if (type == JOB_FRAME_GO)
		r = job_go_decode(payload, len, units_cap);
	else if (type == JOB_FRAME_ABORT)
		r = sl_errf(SL_ERR_POLICY, "query: the broker refused the plan");
	else
		r = sl_errf(SL_ERR_PARSE, "query: unexpected frame %u after PLAN", type);
	free(payload);
	return r;
}

int (*query_result_tamper)(
    const struct job_header *h, int fd, const struct plan *plan, struct job_result *result);

/* A frame the worker encoded (r: how that went), sent and freed. */
static int
send_encoded(int fd, uint32_t type, int r, uint8_t *buf, size_t len)
{
	if (r == 0)
		r = job_frame_write(fd, type, buf, len);
	free(buf);
	return r;
}

static int
send_plan(int fd, const struct plan *plan)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = plan_encode(plan, &buf, &len);

	return send_encoded(fd, JOB_FRAME_PLAN, r, buf, len);
}

/* The RESULT frame: each aggregate's state is laid out by its function. */
static int
send_result(int fd, const struct plan *plan, const struct job_result *res)
{
	uint32_t *fns = calloc(plan->naggs + 1, sizeof *fns);
	uint8_t *buf = NULL;
	size_t i, len = 0;
	int r;

	if (fns == NULL)
		return SL_ERR_NOMEM;
	for (i = 0; i < plan->naggs; i++)
		fns[i] = plan->aggs[i].fn;
	r = job_result_encode(res, fns, &buf, &len);
	free(fns);
	return send_encoded(fd, JOB_FRAME_RESULT, r, buf, len);
}

int
query_run(struct query *q, int fd)
{
	struct sql_query *ast = NULL;
	struct plan *plan = NULL;
	struct job_result result = {0};
	char *text = NULL;
	size_t len = 0;
	uint32_t units_cap;
	int r;

	if ((r = read_text(fd, &text, &len)) != 0)
		return r;
	if ((r = sql_parse(text, len, &ast)) != 0 || (r = plan_build(ast, q->schema, &plan)) != 0 ||
	    (r = send_plan(fd, plan)) != 0 || (r = verdict(fd, &units_cap)) != 0 ||
	    (r = exec_run(plan, q->readers, q->nreaders, units_cap, &q->bound, &result)) != 0)
		goto out;
	if (query_result_tamper == NULL || (r = query_result_tamper(q->h, fd, plan, &result)) == 0)
		r = send_result(fd, plan, &result);
out:
	job_result_clear(&result);
	plan_free(plan);
	sql_free(ast);
	free(text);
	return r;
}
