/*
 * broker/load.c -- the broker side of an ingest job.
 *
 * Holds the product's data key only to hand it to the worker in the job
 * header; spawn_job() wipes the encoded header as soon as it is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/db.h"
#include "broker/exchange.h"
#include "broker/keyring.h"
#include "broker/load.h"
#include "broker/product.h"
#include "broker/spawn.h"
#include "common/err.h"
#include "common/file.h"
#include "keys/dek.h"
#include "keys/keys.h"
#include "keys/master.h"
#include "sandbox/job.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The store may grow by about the upload's size; give the map generous room. */
static uint64_t
map_size(const char *store, uint64_t upload)
{
	char *data = sl_path_join(store, "data.mdb");
	struct stat st;
	uint64_t have = 0;

	if (data != NULL && stat(data, &st) == 0)
		have = (uint64_t)st.st_size;
	free(data);
	return have + 2 * upload + (64ULL << 20);
}

void
load_result_clear(struct load_result *res)
{
	json_decref(res->errors);
	memset(res, 0, sizeof(*res));
}

/* Send the file in DATA frames, then END. */
static int
stream_file(struct spawn *sp, int fd, const char *path, uint64_t size, int progress)
{
	uint8_t *buf = malloc(LOAD_PIECE_BYTES);
	uint64_t sent = 0;
	double t0 = now_s(), last = 0;
	ssize_t n;
	int r = 0;

	if (buf == NULL)
		return SL_ERR_NOMEM;
	for (;;) {
		n = read(fd, buf, LOAD_PIECE_BYTES);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = sl_errf(SL_ERR_IO, "%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0) {
			r = spawn_send(sp, JOB_FRAME_END, NULL, 0);
			break;
		}
		if ((r = spawn_send(sp, JOB_FRAME_DATA, buf, (size_t)n)) != 0)
			break;
		sent += (uint64_t)n;
		if (progress && now_s() - last > 0.2) {
			double el = now_s() - t0;

			last = now_s();
			fprintf(stderr, "\r%s: %5.1f%%  %7.1f MB  %6.1f MB/s", path,
			    size ? 100.0 * (double)sent / (double)size : 100.0, (double)sent / 1e6,
			    el > 0 ? (double)sent / 1e6 / el : 0.0);
		}
	}
	if (progress)
		fprintf(stderr, "\r%s: sent %.1f MB in %.2f s%20s\n", path, (double)sent / 1e6,
		    now_s() - t0, "");
	free(buf);
	return r;
}

/*
 * Record a load that did not publish: refused (the upload was invalid) or
 * failed (the job died).  Only counts and the outcome: never a value from
 * the upload.  Its own transaction; a failure here does not hide the first.
 */
static void
audit_failure(struct exchange *ex, const struct product *p, int64_t version, const char *action,
    json_t *details, const char *actor)
{
	char subject[PRODUCT_SUBJECT_MAX];
	int saved;

	product_subject(p, version, subject);
	saved = db_begin(exchange_db(ex));
	if (saved == 0 && exchange_audit(ex, actor, action, subject, details) == 0 &&
	    db_commit(exchange_db(ex)) == 0)
		return;
	db_rollback(exchange_db(ex));
}

int
load_product(struct exchange *ex, const char *name, const char *path, const char *format,
    int progress, struct load_result *res, const char *actor)
{
	struct product p;
	struct job_header h;
	struct keys_master *mk;
	struct keys_dek *dek = NULL;
	struct spawn *sp = NULL;
	struct spawn_result sr;
	struct stat st;
	char *worker = NULL, *stores = NULL, *store = NULL, params[64];
	uint8_t *payload = NULL;
	uint32_t type = 0;
	size_t len;
	int fd = -1, r, have_product = 0;
	json_t *doc = NULL;

	memset(res, 0, sizeof(*res));
	memset(&h, 0, sizeof(h));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		r = sl_errf(SL_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = sl_errf(SL_ERR_INVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((r = product_find(ex, name, &p)) != 0)
		goto out;
	have_product = 1;
	if ((r = exchange_master(ex, &mk)) != 0 ||
	    (r = keyring_dek_get(exchange_db(ex), mk, name, (uint32_t)p.key_version, &dek)) != 0 ||
	    (r = spawn_worker_path(&worker)) != 0)
		goto out;
	if ((stores = sl_path_join(exchange_dir(ex), "stores")) == NULL ||
	    (store = sl_path_join(stores, name)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	snprintf(params, sizeof(params), "{\"format\":\"%s\"}", format);
	res->version = product_version_next(&p);
	h.version = JOB_PROTOCOL_VERSION;
	h.kind = JOB_KIND_INGEST;
	h.suite = (uint32_t)exchange_suite(ex);
	h.cpu_seconds = LOAD_CPU_SECONDS;
	h.memory_bytes = LOAD_MEMORY_BYTES;
	h.map_bytes = map_size(store, (uint64_t)st.st_size);
	h.data_version = (uint32_t)res->version;
	h.key_version = (uint32_t)p.key_version;
	memcpy(h.key, keys_dek_bytes(dek), JOB_KEY_BYTES);
	h.store = store;
	h.product = p.name;
	h.schema = p.schema;
	h.params = params;
	r = spawn_job(worker, &h, LOAD_WALL_MS, &sp);
	keys_wipe(h.key, sizeof(h.key));
	if (r != 0)
		goto out;
	/* The worker's own refusal comes in its ERROR frame; a send error means it is gone. */
	(void)stream_file(sp, fd, path, (uint64_t)st.st_size, progress);
	while ((r = spawn_recv(sp, &type, &payload, &len)) == 0 && type == JOB_FRAME_PROGRESS) {
		free(payload);
		payload = NULL;
	}
	if (r == 0)
		doc = json_loadb((const char *)payload, len, 0, NULL);
	if ((r = spawn_wait(sp, &sr)) != 0)
		goto out;
	if (sr.outcome == SPAWN_FAILED && type == JOB_FRAME_ERROR && doc != NULL) {
		res->errors = doc;
		doc = NULL;
		audit_failure(ex, &p, res->version, "product.load_refused",
		    json_pack("{s:I, s:I}", "version", (json_int_t)res->version, "errors",
		        json_integer_value(json_object_get(res->errors, "total"))),
		    actor);
		r = sl_errf(SL_ERR_PARSE, "%s: refused, nothing loaded", path);
		goto out;
	}
	if (sr.outcome != SPAWN_OK || type != JOB_FRAME_RESULT || doc == NULL) {
		audit_failure(ex, &p, res->version, "product.load_failed",
		    json_pack("{s:I, s:s, s:s}", "version", (json_int_t)res->version, "outcome",
		        spawn_outcome_name(sr.outcome), "detail", sr.detail),
		    actor);
		r = sl_errf(SL_ERR_POLICY, "%s: the ingest job failed (%s: %s); nothing loaded",
		    path, spawn_outcome_name(sr.outcome), sr.detail);
		goto out;
	}
	res->rows = json_integer_value(json_object_get(doc, "rows"));
	res->chunks = json_integer_value(json_object_get(doc, "chunks"));
	res->bytes = json_integer_value(json_object_get(doc, "bytes"));
	r = product_version_publish(
	    ex, &p, res->version, res->rows, res->chunks, res->bytes, actor);
out:
	free(payload);
	json_decref(doc);
	spawn_free(sp);
	keys_dek_free(dek);
	if (have_product)
		product_clear(&p);
	free(worker);
	free(stores);
	free(store);
	if (fd != -1)
		close(fd);
	return r;
}

int
load_rotate_product(struct exchange *ex, const char *name, struct load_result *res)
{
	struct product p;
	struct job_header h;
	struct keys_master *mk;
	struct keys_dek *old = NULL, *new = NULL;
	struct spawn *sp = NULL;
	struct spawn_result sr;
	char *worker = NULL, *stores = NULL, *store = NULL, params[64];
	uint8_t *payload = NULL;
	uint32_t type = 0;
	size_t len, i;
	int64_t from = 0;
	json_t *doc = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&h, 0, sizeof(h));
	if ((r = product_find(ex, name, &p)) != 0)
		return r;
	for (i = p.nversions; i > 0; i--)
		if (strcmp(p.versions[i - 1].state, "published") == 0)
			break;
	if (i > 0)
		from = p.versions[i - 1].version;
	if ((r = exchange_master(ex, &mk)) != 0 ||
	    (r = keyring_dek_get(exchange_db(ex), mk, name, (uint32_t)p.key_version, &old)) != 0 ||
	    (r = keys_dek_generate(exchange_suite(ex), &new)) != 0)
		goto out;
	if (from == 0) /* nothing to re-seal: only the key changes */
		goto commit;
	if ((r = spawn_worker_path(&worker)) != 0)
		goto out;
	if ((stores = sl_path_join(exchange_dir(ex), "stores")) == NULL ||
	    (store = sl_path_join(stores, name)) == NULL) {
		r = SL_ERR_NOMEM;
		goto out;
	}
	res->version = product_version_next(&p);
	snprintf(params, sizeof(params), "{\"target_version\":%lld}", (long long)res->version);
	h.version = JOB_PROTOCOL_VERSION;
	h.kind = JOB_KIND_REKEY;
	h.suite = (uint32_t)exchange_suite(ex);
	h.cpu_seconds = LOAD_CPU_SECONDS;
	h.memory_bytes = LOAD_MEMORY_BYTES;
	h.map_bytes = map_size(store, (uint64_t)p.versions[i - 1].bytes);
	h.data_version = (uint32_t)from;
	h.key_version = (uint32_t)p.key_version;
	memcpy(h.key, keys_dek_bytes(old), JOB_KEY_BYTES);
	memcpy(h.new_key, keys_dek_bytes(new), JOB_KEY_BYTES);
	h.store = store;
	h.product = p.name;
	h.schema = p.schema;
	h.params = params;
	r = spawn_job(worker, &h, LOAD_WALL_MS, &sp);
	keys_wipe(h.key, sizeof(h.key));
	keys_wipe(h.new_key, sizeof(h.new_key));
	if (r != 0 || (r = spawn_send(sp, JOB_FRAME_END, NULL, 0)) != 0)
		goto out;
	if ((r = spawn_recv(sp, &type, &payload, &len)) == 0)
		doc = json_loadb((const char *)payload, len, 0, NULL);
	if ((r = spawn_wait(sp, &sr)) != 0)
		goto out;
	if (sr.outcome != SPAWN_OK || type != JOB_FRAME_RESULT || doc == NULL) {
		const char *msg = json_string_value(
		    json_object_get(json_array_get(json_object_get(doc, "errors"), 0), "message"));

		r = sl_errf(SL_ERR_POLICY, "%s: key rotation failed (%s: %s); nothing changed",
		    name, spawn_outcome_name(sr.outcome), msg != NULL ? msg : sr.detail);
		goto out;
	}
	res->rows = json_integer_value(json_object_get(doc, "rows"));
	res->chunks = json_integer_value(json_object_get(doc, "chunks"));
	res->bytes = json_integer_value(json_object_get(doc, "bytes"));
commit:
	r = product_rotate_commit(
	    ex, &p, mk, new, from, res->version, res->rows, res->chunks, res->bytes);
out:
	free(payload);
	json_decref(doc);
	spawn_free(sp);
	keys_dek_free(old);
	keys_dek_free(new);
	product_clear(&p);
	free(worker);
	free(stores);
	free(store);
	return r;
}
