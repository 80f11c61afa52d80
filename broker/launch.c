/*
 * broker/launch.c -- building and sending a job's HEADER (broker/launch.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/exchange.h"
#include "broker/launch.h"
#include "broker/product.h"
#include "broker/spawn.h"
#include "common/err.h"
#include "common/log.h"
#include "keys/dek.h"
#include "keys/keys.h"
#include "sandbox/job.h"

_Static_assert(JOB_KEY_BYTES == KEYS_DEK_BYTES, "a job carries data keys");

unsigned
launch_threads_default(void)
{
	const char *env = secure_getenv("SLUICE_THREADS");
	long n = sysconf(_SC_NPROCESSORS_ONLN), v;
	char *end;

	if (env != NULL && *env != '\0') {
		v = strtol(env, &end, 10);
		if (*end == '\0' && v >= 1 && v <= JOB_THREADS_MAX)
			return (unsigned)v;
		sl_warnx("SLUICE_THREADS=%.32s: not a count of 1 to %d; the online cores are used",
		    env, JOB_THREADS_MAX);
	}
	return n < 1 ? 1 : n > JOB_THREADS_MAX ? JOB_THREADS_MAX : (unsigned)n;
}

/*
 * The worker hung up before it had its job: how it ended (killed, crashed)
 * says more than the broken pipe.  SL_ERR_IO either way.
 */
static int
gone(struct spawn *sp)
{
	struct spawn_result res;

	if (spawn_wait(sp, &res) != 0)
		return SL_ERR_IO;
	return sl_errf(SL_ERR_IO, "the worker ended before it had its job (%s: %s)",
	    spawn_outcome_name(res.outcome), res.detail);
}

int
launch_send(struct exchange *ex, struct spawn *sp, const struct launch *l)
{
	struct job_header *h;
	int r;

	if (l->key == NULL || (l->kind == JOB_KIND_REKEY) != (l->new_key != NULL) ||
	    (l->bound_rows > 0) != (l->bound_key != NULL) ||
	    (l->bound_rows > 0 && l->kind != JOB_KIND_QUERY))
		return sl_errf(SL_ERR_INTERNAL, "launch: job kind %u with the wrong keys", l->kind);
	/* The whole header in guarded memory: it holds the keys. */
	if ((h = keys_secret_alloc(sizeof *h)) == NULL)
		return SL_ERR_NOMEM;
	memset(h, 0, sizeof *h);
	h->version = JOB_PROTOCOL_VERSION;
	h->kind = l->kind;
	h->suite = (uint32_t)exchange_suite(ex);
	h->cpu_seconds = l->cpu_seconds;
	h->memory_bytes = l->memory_bytes;
	h->map_bytes = l->map_bytes;
	h->data_version = (uint32_t)l->version;
	h->key_version = (uint32_t)l->key_version;
	memcpy(h->key, keys_dek_bytes(l->key), JOB_KEY_BYTES);
	if (l->new_key != NULL)
		memcpy(h->new_key, keys_dek_bytes(l->new_key), JOB_KEY_BYTES);
	h->bound_rows = l->bound_rows;
	h->threads = l->threads > 0 ? l->threads : 1;
	if (l->bound_key != NULL)
		memcpy(h->bound_key, l->bound_key, JOB_KEY_BYTES);
	/* Borrowed strings: the header is sent before launch_send() returns. */
	h->store = (char *)l->store;
	h->product = l->product->name;
	h->schema = l->product->schema;
	h->params = (char *)(l->params != NULL ? l->params : "{}");
	r = spawn_send_header(sp, h);
	keys_secret_free(h);
	return r == SL_ERR_IO ? gone(sp) : r;
}

int
launch_job(struct exchange *ex, const struct launch *l, uint32_t wall_ms, struct spawn **out)
{
	struct spawn *sp = NULL;
	char *worker = NULL;
	int r;

	if ((r = spawn_worker_path(&worker)) != 0 || (r = spawn_start(worker, wall_ms, &sp)) != 0 ||
	    (r = launch_send(ex, sp, l)) != 0) {
		spawn_free(sp);
		free(worker);
		return r;
	}
	free(worker);
	*out = sp;
	return 0;
}
