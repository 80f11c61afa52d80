/*
 * sandbox/job.c -- frames and their codecs (sandbox/job.h).
 *
 * Both processes link this file, so the two sides of each frame are the
 * same code.  Every length comes from the peer and is checked before use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "sandbox/job.h"

/* Largest string field; paths, product ids, schemas and parameters are small. */
#define JOB_STRING_MAX (1u << 20)

static void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
io_all(int fd, void *buf, size_t len, int writing)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = writing ? write(fd, p, len) : read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return SL_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
job_frame_write(int fd, uint32_t type, const void *payload, size_t len)
{
	uint8_t head[JOB_FRAME_HEAD];
	int r;

	if (len > JOB_FRAME_MAX)
		return SL_ERR_LIMIT;
	be32_put(head, type);
	be32_put(head + 4, (uint32_t)len);
	if ((r = io_all(fd, head, sizeof(head), 1)) != 0)
		return r;
	return len > 0 ? io_all(fd, (void *)payload, len, 1) : 0;
}

int
job_frame_read(int fd, uint32_t *type, uint8_t **payload, size_t *len, size_t max)
{
	uint8_t head[JOB_FRAME_HEAD], *p;
	uint32_t t, n;
	int r;

	if ((r = io_all(fd, head, sizeof(head), 0)) != 0)
		return r;
	t = be32_get(head);
	n = be32_get(head + 4);
	if (t < JOB_FRAME_HEADER || t > JOB_FRAME_ABORT)
		return sl_errf(SL_ERR_PARSE, "job frame: unknown type %u", t);
	if (n > max || n > JOB_FRAME_MAX)
		return sl_errf(SL_ERR_PARSE, "job frame: %u bytes, more than %zu allowed", n, max);
	if ((p = malloc((size_t)n + 1)) == NULL)
		return SL_ERR_NOMEM;
	if ((r = io_all(fd, p, n, 0)) != 0) {
		free(p);
		return r;
	}
	p[n] = '\0';
	*type = t;
	*payload = p;
	*len = n;
	return 0;
}

void
job_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

/* ---- a bounds-checked cursor --------------------------------------------- */

struct wr {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void
wr_bytes(struct wr *w, const void *d, size_t n)
{
	uint8_t *np;

	if (w->err)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;

		while (cap < w->len + n)
			cap *= 2;
		if ((np = malloc(cap)) == NULL) {
			w->err = SL_ERR_NOMEM;
			return;
		}
		/* Copy-and-wipe rather than realloc: the buffer may hold the key. */
		if (w->p != NULL) {
			memcpy(np, w->p, w->len);
			job_wipe_free(w->p, w->cap);
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void
wr_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	wr_bytes(w, b, 4);
}

static void
wr_u64(struct wr *w, uint64_t v)
{
	wr_u32(w, (uint32_t)(v >> 32));
	wr_u32(w, (uint32_t)v);
}

static void
wr_str(struct wr *w, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n > JOB_STRING_MAX) {
		w->err = SL_ERR_LIMIT;
		return;
	}
	wr_u32(w, (uint32_t)n);
	wr_bytes(w, s, n);
}

struct rd {
	const uint8_t *p;
	size_t len, off;
	int err;
};

static const uint8_t *
rd_take(struct rd *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->len - r->off) {
		r->err = SL_ERR_PARSE;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint32_t
rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);

	return p != NULL ? be32_get(p) : 0;
}

static uint64_t
rd_u64(struct rd *r)
{
	uint64_t hi = rd_u32(r);

	return hi << 32 | rd_u32(r);
}

/* A string field: no embedded NUL, at most JOB_STRING_MAX bytes. */
static char *
rd_str(struct rd *r)
{
	uint32_t n = rd_u32(r);
	const uint8_t *p;
	char *s;

	if (n > JOB_STRING_MAX || (p = rd_take(r, n)) == NULL || memchr(p, 0, n) != NULL) {
		r->err = SL_ERR_PARSE;
		return NULL;
	}
	if ((s = malloc((size_t)n + 1)) == NULL) {
		r->err = SL_ERR_NOMEM;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* ---- HEADER -------------------------------------------------------------- */

int
job_header_encode(const struct job_header *h, uint8_t **out, size_t *len)
{
	struct wr w = {0};

	wr_u32(&w, h->version);
	wr_u32(&w, h->kind);
	wr_u32(&w, h->suite);
	wr_u32(&w, h->cpu_seconds);
	wr_u64(&w, h->memory_bytes);
	wr_u64(&w, h->map_bytes);
	wr_u32(&w, h->data_version);
	wr_u32(&w, h->key_version);
	wr_bytes(&w, h->key, JOB_KEY_BYTES);
	wr_bytes(&w, h->new_key, JOB_KEY_BYTES);
	wr_str(&w, h->store);
	wr_str(&w, h->product);
	wr_str(&w, h->schema);
	wr_str(&w, h->params);
	wr_u32(&w, h->uid);
	wr_u32(&w, h->gid);
	if (w.err) {
		job_wipe_free(w.p, w.cap);
		return w.err;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

int
job_header_decode(const uint8_t *p, size_t len, struct job_header *h)
{
	struct rd r = {p, len, 0, 0};
	const uint8_t *key;

	memset(h, 0, sizeof(*h));
	h->version = rd_u32(&r);
	if (!r.err && h->version != JOB_PROTOCOL_VERSION)
		return sl_errf(SL_ERR_VERSION, "job header: protocol version %u, expected %u",
		    h->version, JOB_PROTOCOL_VERSION);
	h->kind = rd_u32(&r);
	h->suite = rd_u32(&r);
	h->cpu_seconds = rd_u32(&r);
	h->memory_bytes = rd_u64(&r);
	h->map_bytes = rd_u64(&r);
	h->data_version = rd_u32(&r);
	h->key_version = rd_u32(&r);
	if ((key = rd_take(&r, JOB_KEY_BYTES)) != NULL)
		memcpy(h->key, key, JOB_KEY_BYTES);
	if ((key = rd_take(&r, JOB_KEY_BYTES)) != NULL)
		memcpy(h->new_key, key, JOB_KEY_BYTES);
	h->store = rd_str(&r);
	h->product = rd_str(&r);
	h->schema = rd_str(&r);
	h->params = rd_str(&r);
	h->uid = rd_u32(&r);
	h->gid = rd_u32(&r);
	if (!r.err && r.off != r.len)
		r.err = SL_ERR_PARSE; /* trailing bytes */
	if (r.err) {
		job_header_clear(h);
		return r.err == SL_ERR_PARSE ? sl_errf(r.err, "job header: malformed") : r.err;
	}
	return 0;
}

void
job_header_clear(struct job_header *h)
{
	free(h->store);
	free(h->product);
	free(h->schema);
	free(h->params);
	explicit_bzero(h, sizeof(*h));
}

/* ---- PROGRESS ------------------------------------------------------------ */

int
job_progress_encode(uint64_t rows, uint64_t bytes, uint8_t out[16])
{
	be32_put(out, (uint32_t)(rows >> 32));
	be32_put(out + 4, (uint32_t)rows);
	be32_put(out + 8, (uint32_t)(bytes >> 32));
	be32_put(out + 12, (uint32_t)bytes);
	return 0;
}

int
job_progress_decode(const uint8_t *p, size_t len, uint64_t *rows, uint64_t *bytes)
{
	struct rd r = {p, len, 0, 0};

	*rows = rd_u64(&r);
	*bytes = rd_u64(&r);
	if (r.err || r.off != r.len)
		return sl_errf(SL_ERR_PARSE, "job frame PROGRESS: malformed");
	return 0;
}
