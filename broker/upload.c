/*
 * broker/upload.c -- the daemon's open uploads (broker/upload.h).
 *
 * An entry is taken (busy) for the length of one request, so that two
 * requests of one upload never feed its worker at once and the sweeper
 * never abandons one under way; the registry's lock is never held while a
 * worker is fed or waited for.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/exchange.h"
#include "broker/load.h"
#include "broker/product.h"
#include "broker/spawn.h"
#include "broker/upload.h"
#include "common/err.h"
#include "common/text.h"
#include "keys/keys.h"

struct upload {
	struct upload *next;
	char id[UPLOAD_ID_MAX];
	char *party, *product, *format;
	uint64_t size;
	int64_t version;
	struct load_session *s;
	/* What the last request left, for status while another runs. */
	uint64_t received, rows;
	double last; /* sl_monotonic() at the end of the last request */
	int busy;
};

static struct {
	pthread_mutex_t mu;
	struct upload *head;
	unsigned n;
	unsigned idle_s;
} U = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, UPLOAD_IDLE_S};

void
upload_set_idle(unsigned seconds)
{
	pthread_mutex_lock(&U.mu);
	U.idle_s = seconds > 0 ? seconds : 1;
	pthread_mutex_unlock(&U.mu);
}

unsigned
upload_count(void)
{
	unsigned n;

	pthread_mutex_lock(&U.mu);
	n = U.n;
	pthread_mutex_unlock(&U.mu);
	return n;
}

static void
entry_free(struct upload *u)
{
	if (u == NULL)
		return;
	free(u->party);
	free(u->product);
	free(u->format);
	free(u);
}

/* Under U.mu: unlink u. */
static void
unlink_locked(struct upload *u)
{
	struct upload **pp;

	for (pp = &U.head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			U.n--;
			return;
		}
	}
}

/* Under U.mu: the state of u. */
static json_t *
status_locked(const struct upload *u)
{
	double idle = sl_monotonic() - u->last, left = (double)U.idle_s - idle;

	return json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:I}", "upload", u->id,
	    "product", u->product, "version", (json_int_t)u->version, "format", u->format, "size",
	    (json_int_t)u->size, "received", (json_int_t)u->received, "rows", (json_int_t)u->rows,
	    "part_max", (json_int_t)UPLOAD_PART_MAX, "expires_in",
	    (json_int_t)(u->busy ? (double)U.idle_s : left < 0 ? 0 : left));
}

/* Under U.mu: upload id of party, opened (its worker started), or NULL: another party's is none. */
static struct upload *
find_locked(const char *party, const char *id)
{
	struct upload *u;

	for (u = U.head; u != NULL; u = u->next)
		if (strcmp(u->id, id) == 0 && strcmp(u->party, party) == 0)
			return u->s != NULL ? u : NULL;
	return NULL;
}

/*
 * Upload id of party, taken for one request.  To another party it does not
 * exist; one taken by another request is UPLOAD_CONFLICT.
 */
static int
take(const char *party, const char *id, struct upload **out)
{
	struct upload *u;
	int r = 0;

	*out = NULL;
	pthread_mutex_lock(&U.mu);
	if ((u = find_locked(party, id)) == NULL)
		r = sl_errf(SL_ERR_NOTFOUND, "no upload %s", id);
	else if (u->busy)
		r = sl_errf(UPLOAD_CONFLICT, "upload %s: another request of it is under way", id);
	else
		u->busy = 1;
	pthread_mutex_unlock(&U.mu);
	if (r == 0)
		*out = u;
	return r;
}

/* The end of a request of u: kept for the next (its state as doc, if asked), or removed. */
static void
release(struct upload *u, int keep, json_t **doc)
{
	pthread_mutex_lock(&U.mu);
	if (keep) {
		const struct load_progress *p = load_session_progress(u->s);

		u->received = p->bytes_sent;
		u->rows = p->rows;
		u->last = sl_monotonic();
		u->busy = 0;
		if (doc != NULL)
			*doc = status_locked(u);
	} else {
		unlink_locked(u);
	}
	pthread_mutex_unlock(&U.mu);
	if (!keep)
		entry_free(u);
}

int
upload_open(struct exchange *ex, const struct keys_pubkey *caller, const char *party,
    const char *product, const char *format, uint64_t size, struct spawn *worker, json_t **doc,
    const char **field)
{
	struct load_spec spec = {
	    .product = product, .format = format, .size = size, .reread_fd = -1, .worker = worker};
	struct upload *u, *v;
	unsigned mine = 0;
	uint8_t raw[16];
	char label[UPLOAD_ID_MAX + 16];
	int r;

	*doc = NULL;
	/* The caller first: what the registry holds is no business of anyone else's. */
	if ((r = product_act_may_load(ex, caller, product, field)) != 0) {
		spawn_free(worker);
		return r;
	}
	if ((u = calloc(1, sizeof *u)) == NULL || (u->party = strdup(party)) == NULL ||
	    (u->product = strdup(product)) == NULL || (u->format = strdup(format)) == NULL) {
		entry_free(u);
		spawn_free(worker);
		return SL_ERR_NOMEM;
	}
	keys_random(raw, sizeof raw);
	memcpy(u->id, "u_", 2);
	sl_hex_encode(raw, sizeof raw, u->id + 2);
	u->size = size;
	u->busy = 1; /* a place held while its worker starts; nobody knows its id yet */
	pthread_mutex_lock(&U.mu);
	for (v = U.head; v != NULL; v = v->next)
		mine += strcmp(v->party, party) == 0;
	for (v = U.head; v != NULL && strcmp(v->product, product) != 0; v = v->next)
		;
	if (U.n >= UPLOADS_MAX || mine >= UPLOADS_PER_PARTY)
		r = sl_errf(UPLOAD_BUSY, "%u uploads are open%s; complete or cancel one first",
		    U.n >= UPLOADS_MAX ? U.n : mine, U.n >= UPLOADS_MAX ? "" : " of yours");
	else if (v != NULL && strcmp(v->party, party) == 0)
		/* Both would write its next version: one at a time.  (Only its merchant learns.) */
		r = sl_errf(UPLOAD_CONFLICT, "product %s has an upload open, %s", product, v->id);
	else
		r = 0;
	if (r != 0) {
		pthread_mutex_unlock(&U.mu);
		entry_free(u);
		spawn_free(worker);
		return r;
	}
	u->next = U.head;
	U.head = u;
	U.n++;
	pthread_mutex_unlock(&U.mu);

	snprintf(label, sizeof label, "upload %s", u->id);
	spec.label = label;
	if ((r = product_act_load_begin(ex, caller, &spec, &u->s, field)) != 0) {
		release(u, 0, NULL);
		return r;
	}
	u->version = load_session_version(u->s);
	release(u, 1, doc);
	if (*doc == NULL)
		return SL_ERR_NOMEM; /* it stays open: the sweeper or a cancel ends it */
	return 0;
}

/* The end of u, published or not: load_finish()'s answer, the entry gone. */
static int
finish(struct exchange *ex, struct upload *u, struct load_result *res, char ended[SL_NAME_MAX + 1])
{
	int r;

	snprintf(ended, SL_NAME_MAX + 1, "%s", u->product);
	r = load_finish(u->s, ex, res);
	u->s = NULL;
	release(u, 0, NULL);
	return r;
}

int
upload_part(struct exchange *ex, const char *party, const char *id, uint64_t offset,
    const void *buf, size_t n, json_t **doc, struct load_result *res,
    char ended[SL_NAME_MAX + 1])
{
	struct upload *u;
	uint64_t received;
	int r;

	*doc = NULL;
	ended[0] = '\0';
	memset(res, 0, sizeof *res);
	if ((r = take(party, id, &u)) != 0)
		return r;
	received = load_session_progress(u->s)->bytes_sent;
	if (offset != received) {
		r = sl_errf(UPLOAD_CONFLICT,
		    "upload %s has received %llu bytes; a part at offset %llu does not follow them",
		    id, (unsigned long long)received, (unsigned long long)offset);
		release(u, 1, doc);
		return r;
	}
	if ((r = load_feed(u->s, buf, n)) == 0) {
		release(u, 1, doc);
		return 0;
	}
	if (r == 1)
		return finish(ex, u, res, ended); /* the worker ended the job: refused or failed */
	if (r == SL_ERR_LIMIT) {
		/* Beyond the size announced: this part is refused, the upload goes on. */
		release(u, 1, NULL);
		return r;
	}
	/* The spool could not be written: the upload cannot go on. */
	snprintf(ended, SL_NAME_MAX + 1, "%s", u->product);
	load_abort(u->s, ex, "I/O error");
	u->s = NULL;
	release(u, 0, NULL);
	return r;
}

int
upload_complete(struct exchange *ex, const char *party, const char *id, struct load_result *res,
    json_t **doc, char ended[SL_NAME_MAX + 1])
{
	const struct load_progress *p;
	struct upload *u;
	int r;

	*doc = NULL;
	ended[0] = '\0';
	memset(res, 0, sizeof *res);
	if ((r = take(party, id, &u)) != 0)
		return r;
	p = load_session_progress(u->s);
	if (p->bytes_sent != u->size) {
		r = sl_errf(UPLOAD_CONFLICT, "upload %s has received %llu of its %llu bytes", id,
		    (unsigned long long)p->bytes_sent, (unsigned long long)u->size);
		release(u, 1, doc);
		return r;
	}
	return finish(ex, u, res, ended);
}

int
upload_status(const char *party, const char *id, json_t **doc)
{
	struct upload *u;
	int r = 0;

	*doc = NULL;
	pthread_mutex_lock(&U.mu);
	if ((u = find_locked(party, id)) == NULL)
		r = sl_errf(SL_ERR_NOTFOUND, "no upload %s", id);
	else if ((*doc = status_locked(u)) == NULL)
		r = SL_ERR_NOMEM;
	pthread_mutex_unlock(&U.mu);
	return r;
}

int
upload_cancel(struct exchange *ex, const char *party, const char *id)
{
	struct upload *u;
	int r;

	if ((r = take(party, id, &u)) != 0)
		return r;
	load_abort(u->s, ex, "cancelled");
	u->s = NULL;
	release(u, 0, NULL);
	return 0;
}

void
upload_sweep(struct exchange *ex, int all)
{
	struct upload *gone = NULL, *u, *next;
	double now = sl_monotonic();

	pthread_mutex_lock(&U.mu);
	for (u = U.head; u != NULL; u = next) {
		next = u->next;
		if (u->busy || u->s == NULL || (!all && now - u->last <= (double)U.idle_s))
			continue;
		unlink_locked(u);
		u->next = gone;
		gone = u;
	}
	pthread_mutex_unlock(&U.mu);
	for (u = gone; u != NULL; u = next) {
		next = u->next;
		load_abort(u->s, ex, all ? "server stopped" : "abandoned");
		entry_free(u);
	}
}
