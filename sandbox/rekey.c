/*
 * sandbox/rekey.c -- re-sealing a version under a new data key.
 *
 * Trusts: the job header (both keys come from it).  Holds: both data keys.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sandbox/rekey.h"
#include "sandbox/store.h"

struct rekey {
	const struct job_header *h;
	struct store *src; /* the published version, read-only */
	struct store *dst; /* h->store: the new version's staging directory */
	uint32_t target;
	unsigned threads; /* the header's, made only after confinement (rekey_run()) */
};

int
rekey_prepare(const struct job_header *h, struct rekey **out)
{
	struct rekey *k;
	json_t *params;
	const char *source;
	json_int_t t;
	int r;

	if ((params = json_loads(h->params, 0, NULL)) == NULL ||
	    !json_is_integer(json_object_get(params, "target_version")) ||
	    (t = json_integer_value(json_object_get(params, "target_version"))) < 1 ||
	    t > UINT32_MAX || (uint32_t)t == h->data_version ||
	    (source = json_string_value(json_object_get(params, "source"))) == NULL ||
	    source[0] != '/') {
		json_decref(params);
		return sl_errf(SL_ERR_PARSE,
		    "rekey: job parameters lack a valid target_version and absolute source");
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		json_decref(params);
		return SL_ERR_NOMEM;
	}
	k->h = h;
	k->target = (uint32_t)t;
	k->threads = h->threads >= 1 && h->threads <= JOB_THREADS_MAX ? h->threads : 1;
	if ((r = store_open(source, 0, 0, &k->src)) != 0 ||
	    (r = store_open(h->store, 1, h->map_bytes, &k->dst)) != 0) {
		json_decref(params);
		rekey_free(k);
		return r;
	}
	json_decref(params);
	*out = k;
	return 0;
}

/* A store_progress_fn: the sealed bytes so far, to the broker (rows: none to count). */
static int
report(void *arg, uint64_t bytes)
{
	uint8_t prog[16];

	job_progress_encode(0, bytes, prog);
	return job_frame_write(*(const int *)arg, JOB_FRAME_PROGRESS, prog, sizeof prog);
}

int
rekey_run(struct rekey *k, int fd)
{
	struct store_ident from = {
	    k->h->product, k->h->data_version, (enum keys_suite)k->h->suite, k->h->key};
	struct store_ident to = {
	    k->h->product, k->target, (enum keys_suite)k->h->suite, k->h->new_key};
	struct store_stats stats;
	uint8_t res[JOB_WRITTEN_BYTES];
	uint8_t *payload = NULL;
	uint32_t type;
	size_t len;
	int r;

	/* The broker sends END only: there is no input to this job. */
	if ((r = job_frame_read(fd, &type, &payload, &len, 0)) != 0)
		return r;
	free(payload);
	if (type != JOB_FRAME_END)
		return sl_errf(SL_ERR_PARSE, "rekey: unexpected frame %u", type);
	sl_err_clear();
	if ((r = store_rekey(k->src, k->dst, &from, &to, k->threads, report, &fd, &stats)) != 0)
		return r; /* the worker's ERROR frame says how it failed */
	store_stats_result(&stats, res);
	return job_frame_write(fd, JOB_FRAME_RESULT, res, sizeof(res));
}

void
rekey_free(struct rekey *k)
{
	if (k == NULL)
		return;
	store_close(k->src);
	store_close(k->dst);
	free(k);
}
