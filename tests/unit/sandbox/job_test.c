/*
 * tests/unit/sandbox/job_test.c -- the job protocol: the HEADER codec round
 * trips; every truncation, trailing bytes, a bad version, an embedded NUL and
 * an oversized string are refused; frames with unknown types or lengths over
 * the limit are refused before their payload is read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/fn.h"
#include "sandbox/job.h"

static void
fill(struct job_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = JOB_PROTOCOL_VERSION;
	h->threads = 2;
	h->kind = JOB_KIND_INGEST;
	h->suite = 2;
	h->cpu_seconds = 60;
	h->memory_bytes = (uint64_t)3 << 32;
	h->map_bytes = (uint64_t)1 << 40;
	h->data_version = 7;
	h->key_version = 3;
	memset(h->key, 0xab, sizeof(h->key));
	memset(h->new_key, 0xcd, sizeof(h->new_key));
	h->bound_rows = 5;
	memset(h->bound_key, 0xef, sizeof(h->bound_key));
	h->store = (char *)"/x/stores/claims";
	h->product = (char *)"claims";
	h->schema = (char *)"{\"name\":\"claims\"}";
	h->params = (char *)"{\"format\":\"csv\"}";
	h->uid = 65534;
	h->gid = 0x12345678;
}

static void
test_header_round_trip(void **state)
{
	struct job_header h, d;
	uint8_t *buf = NULL;
	size_t len, i;

	fill(&h);
	assert_int_equal(job_header_encode(&h, &buf, &len), 0);
	assert_int_equal(job_header_decode(buf, len, &d), 0);
	assert_int_equal(d.kind, h.kind);
	assert_int_equal(d.memory_bytes, h.memory_bytes);
	assert_int_equal(d.map_bytes, h.map_bytes);
	assert_int_equal(d.data_version, 7);
	assert_memory_equal(d.key, h.key, sizeof(h.key));
	assert_memory_equal(d.new_key, h.new_key, sizeof(h.new_key));
	assert_int_equal(d.bound_rows, 5);
	assert_memory_equal(d.bound_key, h.bound_key, sizeof(h.bound_key));
	assert_string_equal(d.store, h.store);
	assert_string_equal(d.params, h.params);
	assert_int_equal(d.uid, 65534);
	assert_int_equal(d.gid, 0x12345678);
	assert_int_equal(d.threads, 2);
	job_header_clear(&d);
	/* The thread count is the header's last field, big-endian: 0 and too many are refused. */
	buf[len - 1] = 0;
	assert_int_equal(job_header_decode(buf, len, &d), SL_ERR_PARSE);
	buf[len - 1] = JOB_THREADS_MAX + 1;
	assert_int_equal(job_header_decode(buf, len, &d), SL_ERR_PARSE);
	buf[len - 1] = JOB_THREADS_MAX;
	assert_int_equal(job_header_decode(buf, len, &d), 0);
	assert_int_equal(d.threads, JOB_THREADS_MAX);
	job_header_clear(&d);
	buf[len - 1] = 2;
	/* Every truncation fails, as do trailing bytes. */
	for (i = 0; i < len; i++)
		assert_int_not_equal(job_header_decode(buf, i, &d), 0);
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	assert_int_equal(job_header_decode(buf, len + 1, &d), SL_ERR_PARSE);
	/* Another protocol version. */
	buf[3] ^= 0x40;
	assert_int_equal(job_header_decode(buf, len, &d), SL_ERR_VERSION);
	job_wipe_free(buf, len + 1);
}

static void
test_header_bad_strings(void **state)
{
	struct job_header h, d;
	uint8_t *buf = NULL, *p;
	size_t len;

	fill(&h);
	assert_int_equal(job_header_encode(&h, &buf, &len), 0);
	/* A NUL inside the product name. */
	p = memmem(buf, len, "claims", 6);
	p = memmem(p + 6, len - (size_t)(p + 6 - buf), "claims", 6);
	assert_non_null(p);
	p[2] = 0;
	assert_int_equal(job_header_decode(buf, len, &d), SL_ERR_PARSE);
	job_wipe_free(buf, len);
	/* A string length pointing past the end. */
	assert_int_equal(job_header_encode(&h, &buf, &len), 0);
	p = (uint8_t *)memmem(buf, len, "/x/stores", 9) - 4;
	p[0] = 0x7f;
	assert_int_equal(job_header_decode(buf, len, &d), SL_ERR_PARSE);
	job_wipe_free(buf, len);
}

static void
test_frames(void **state)
{
	uint8_t *payload = NULL, raw[16];
	uint32_t type;
	size_t len;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(job_frame_write(sv[0], JOB_FRAME_DATA, "abc", 3), 0);
	assert_int_equal(job_frame_read(sv[1], &type, &payload, &len, 16), 0);
	assert_int_equal(type, JOB_FRAME_DATA);
	assert_int_equal(len, 3);
	assert_memory_equal(payload, "abc", 3);
	free(payload);
	/* Over the caller's limit: refused from the header alone. */
	assert_int_equal(job_frame_write(sv[0], JOB_FRAME_DATA, "0123456789", 10), 0);
	assert_int_equal(job_frame_read(sv[1], &type, &payload, &len, 4), SL_ERR_PARSE);
	assert_int_equal(read(sv[1], raw, 10), 10);
	/* A claimed 4 GiB frame and an unknown type. */
	memcpy(raw, "\x00\x00\x00\x02\xff\xff\xff\xff", 8);
	assert_int_equal(write(sv[0], raw, 8), 8);
	assert_int_equal(job_frame_read(sv[1], &type, &payload, &len, JOB_FRAME_MAX), SL_ERR_PARSE);
	memcpy(raw, "\x00\x00\x00\x63\x00\x00\x00\x00", 8);
	assert_int_equal(write(sv[0], raw, 8), 8);
	assert_int_equal(job_frame_read(sv[1], &type, &payload, &len, JOB_FRAME_MAX), SL_ERR_PARSE);
	/* A short frame: the peer goes away mid-payload. */
	memcpy(raw, "\x00\x00\x00\x02\x00\x00\x00\x09", 8);
	assert_int_equal(write(sv[0], raw, 8), 8);
	assert_int_equal(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	assert_int_equal(job_frame_read(sv[1], &type, &payload, &len, JOB_FRAME_MAX), SL_ERR_IO);
	close(sv[1]);
	assert_int_equal(job_frame_write(-1, JOB_FRAME_DATA, "x", 1), SL_ERR_IO);
	assert_int_equal(
	    job_frame_write(0, JOB_FRAME_DATA, "x", (size_t)JOB_FRAME_MAX + 1), SL_ERR_LIMIT);
}

static void
test_progress(void **state)
{
	uint8_t b[16];
	uint64_t rows, bytes;

	assert_int_equal(job_progress_encode(123456789012ULL, 42, b), 0);
	assert_int_equal(job_progress_decode(b, 16, &rows, &bytes), 0);
	assert_int_equal(rows, 123456789012ULL);
	assert_int_equal(bytes, 42);
	assert_int_equal(job_progress_decode(b, 15, &rows, &bytes), SL_ERR_PARSE);
	assert_int_equal(job_progress_decode(b, 17, &rows, &bytes), SL_ERR_PARSE);
}

/* ---- GO, ERROR, the frame head ------------------------------------------- */

static void
test_go(void **state)
{
	uint8_t b[4];
	uint32_t cap = 1;

	(void)state;
	assert_int_equal(job_go_encode(0, b), 0);
	assert_int_equal(job_go_decode(b, 0, &cap), 0);
	assert_int_equal(cap, 0);
	assert_int_equal(job_go_encode(70000, b), 4);
	assert_int_equal(job_go_decode(b, 4, &cap), 0);
	assert_int_equal(cap, 70000);
	/* Any other length is malformed. */
	assert_int_equal(job_go_decode(b, 3, &cap), SL_ERR_PARSE);
	assert_int_equal(job_go_decode(b, 5, &cap), SL_ERR_PARSE);
}

static void
error_fill(struct job_error_frame *e, size_t n)
{
	size_t i;

	memset(e, 0, sizeof *e);
	e->code = JOB_ERR_INPUT;
	e->total = 1000;
	e->nplaces = n;
	for (i = 0; i < n; i++)
		e->places[i] = (struct job_place){(uint32_t)i + 1, 7, 3, JOB_RULE_EXPECTED,
		    JOB_PHRASE_COLUMN, (uint32_t)i, UINT64_MAX - i};
}

static void
test_error_round_trip(void **state)
{
	struct job_error_frame e, d;
	uint8_t buf[JOB_ERROR_MAX + 1]; /* one more, for the trailing byte */
	size_t len, n, cut;

	(void)state;
	for (n = 0; n <= JOB_PLACES_MAX; n += 25) {
		error_fill(&e, n);
		assert_int_equal(job_error_encode(&e, buf, &len), 0);
		assert_true(len <= JOB_ERROR_MAX);
		assert_int_equal(job_error_decode(buf, len, &d), 0);
		assert_int_equal(d.code, e.code);
		assert_int_equal(d.total, e.total);
		assert_int_equal(d.nplaces, n);
		assert_memory_equal(d.places, e.places, n * sizeof e.places[0]);
		/* Every truncation, and a trailing byte, is malformed. */
		for (cut = 0; cut < len; cut++)
			assert_int_equal(job_error_decode(buf, cut, &d), SL_ERR_PARSE);
		buf[len] = 0;
		assert_int_equal(job_error_decode(buf, len + 1, &d), SL_ERR_PARSE);
	}
	/* The encoder refuses what the decoder would. */
	error_fill(&e, 1);
	e.total = 0;
	assert_int_equal(job_error_encode(&e, buf, &len), SL_ERR_INVAL);
}

/* A worker can only pick from the tables: unknown codes, rules and phrases are refused. */
static void
test_error_tables(void **state)
{
	struct job_error_frame e, d;
	uint8_t buf[JOB_ERROR_MAX];
	size_t len;
	uint32_t i;

	(void)state;
	for (i = 1; i <= JOB_ERR_MAX_; i++)
		assert_non_null(job_error_text(i));
	for (i = 1; i <= JOB_RULE_MAX_; i++)
		assert_true(job_rule_text(i) != NULL && job_rule_text(i)[0] != '\0');
	for (i = 1; i <= JOB_PHRASE_MAX_; i++) {
		assert_true(job_phrase_text(i) != NULL && job_phrase_text(i)[0] != '\0');
		assert_int_equal(job_phrase_find(job_phrase_text(i)), i);
	}
	assert_null(job_error_text(0));
	assert_null(job_error_text(JOB_ERR_MAX_ + 1));
	assert_null(job_rule_text(JOB_RULE_MAX_ + 1));
	assert_null(job_phrase_text(JOB_PHRASE_MAX_ + 1));
	assert_int_equal(job_phrase_find("free text of the worker's"), JOB_PHRASE_NONE);

	error_fill(&e, 1);
	e.code = JOB_ERR_MAX_ + 1;
	assert_int_equal(job_error_encode(&e, buf, &len), 0);
	assert_int_equal(job_error_decode(buf, len, &d), SL_ERR_PARSE);
	error_fill(&e, 1);
	e.places[0].rule = JOB_RULE_MAX_ + 1;
	assert_int_equal(job_error_encode(&e, buf, &len), 0);
	assert_int_equal(job_error_decode(buf, len, &d), SL_ERR_PARSE);
	error_fill(&e, 1);
	e.places[0].phrase = 0xffffffffu;
	assert_int_equal(job_error_encode(&e, buf, &len), 0);
	assert_int_equal(job_error_decode(buf, len, &d), SL_ERR_PARSE);
	/* More places than the frame may carry. */
	error_fill(&e, 1);
	assert_int_equal(job_error_encode(&e, buf, &len), 0);
	buf[12] = 0, buf[13] = 0, buf[14] = 0, buf[15] = JOB_PLACES_MAX + 1;
	assert_int_equal(job_error_decode(buf, len, &d), SL_ERR_PARSE);
}

static void
test_frame_head(void **state)
{
	uint8_t head[JOB_FRAME_HEAD];
	uint32_t t, n;

	(void)state;
	for (t = JOB_FRAME_HEADER; t <= JOB_FRAME_ABORT; t++) {
		assert_non_null(job_frame_name(t));
		job_frame_head_put(head, t, JOB_FRAME_MAX);
		assert_int_equal(job_frame_head_get(head, &t, &n), 0);
		assert_int_equal(n, JOB_FRAME_MAX);
	}
	job_frame_head_put(head, 0, 1);
	assert_int_equal(job_frame_head_get(head, &t, &n), SL_ERR_PARSE);
	job_frame_head_put(head, JOB_FRAME_ABORT + 1, 1);
	assert_int_equal(job_frame_head_get(head, &t, &n), SL_ERR_PARSE);
	job_frame_head_put(head, JOB_FRAME_DATA, JOB_FRAME_MAX + 1);
	assert_int_equal(job_frame_head_get(head, &t, &n), SL_ERR_PARSE);
}

/* ---- the permit table ---------------------------------------------------- */

struct step {
	enum job_side side;
	uint32_t type;
};

/* Walk steps from START; the state reached, or -1 at the first frame not permitted. */
static int
walk(uint32_t kind, const struct step *steps, size_t n)
{
	int st = JOB_ST_START;
	size_t i;

	for (i = 0; i < n && st >= 0; i++)
		st = job_permit(kind, (enum job_state)st, steps[i].side, steps[i].type);
	return st;
}

#define B JOB_FROM_BROKER
#define W JOB_FROM_WORKER

static void
test_permit_honest(void **state)
{
	const struct step query[] = {{B, JOB_FRAME_HEADER}, {B, JOB_FRAME_DATA},
	    {B, JOB_FRAME_DATA}, {B, JOB_FRAME_END}, {W, JOB_FRAME_PLAN}, {B, JOB_FRAME_GO},
	    {W, JOB_FRAME_PROGRESS}, {W, JOB_FRAME_RESULT}};
	const struct step refused[] = {{B, JOB_FRAME_HEADER}, {B, JOB_FRAME_DATA},
	    {B, JOB_FRAME_END}, {W, JOB_FRAME_PLAN}, {B, JOB_FRAME_ABORT}, {W, JOB_FRAME_ERROR}};
	const struct step syntax[] = {
	    {B, JOB_FRAME_HEADER}, {B, JOB_FRAME_DATA}, {B, JOB_FRAME_END}, {W, JOB_FRAME_ERROR}};
	const struct step ingest[] = {{B, JOB_FRAME_HEADER}, {B, JOB_FRAME_DATA},
	    {W, JOB_FRAME_PROGRESS}, {B, JOB_FRAME_DATA}, {B, JOB_FRAME_END},
	    {W, JOB_FRAME_PROGRESS}, {W, JOB_FRAME_RESULT}};
	const struct step rekey[] = {
	    {B, JOB_FRAME_HEADER}, {B, JOB_FRAME_END}, {W, JOB_FRAME_RESULT}};
	const struct step bad_header[] = {{B, JOB_FRAME_HEADER}, {W, JOB_FRAME_ERROR}};

	(void)state;
	assert_int_equal(walk(JOB_KIND_QUERY, query, 8), JOB_ST_DONE);
	assert_int_equal(walk(JOB_KIND_QUERY, refused, 6), JOB_ST_DONE);
	assert_int_equal(walk(JOB_KIND_QUERY, syntax, 4), JOB_ST_DONE);
	assert_int_equal(walk(JOB_KIND_INGEST, ingest, 7), JOB_ST_DONE);
	assert_int_equal(walk(JOB_KIND_REKEY, rekey, 3), JOB_ST_DONE);
	assert_int_equal(walk(JOB_KIND_INGEST, bad_header, 2), JOB_ST_DONE);
	assert_int_equal(walk(JOB_KIND_QUERY, bad_header, 2), JOB_ST_DONE);
}

/*
 * From every state an honest query passes through, every frame type from
 * either side that the honest run does not send next is refused.
 */
static void
test_permit_out_of_order(void **state)
{
	static const struct {
		uint32_t kind;
		enum job_state st;
		struct step ok[4];
		size_t nok;
	} states[] = {
	    {JOB_KIND_QUERY, JOB_ST_START, {{B, JOB_FRAME_HEADER}}, 1},
	    {JOB_KIND_QUERY, JOB_ST_INPUT,
	        {{B, JOB_FRAME_DATA}, {B, JOB_FRAME_END}, {W, JOB_FRAME_ERROR}}, 3},
	    {JOB_KIND_QUERY, JOB_ST_PLAN, {{W, JOB_FRAME_PLAN}, {W, JOB_FRAME_ERROR}}, 2},
	    {JOB_KIND_QUERY, JOB_ST_VERDICT, {{B, JOB_FRAME_GO}, {B, JOB_FRAME_ABORT}}, 2},
	    {JOB_KIND_QUERY, JOB_ST_RUN,
	        {{W, JOB_FRAME_PROGRESS}, {W, JOB_FRAME_RESULT}, {W, JOB_FRAME_ERROR}}, 3},
	    {JOB_KIND_QUERY, JOB_ST_ABORTED, {{W, JOB_FRAME_ERROR}}, 1},
	    {JOB_KIND_QUERY, JOB_ST_DONE, {{0, 0}}, 0},
	    {JOB_KIND_INGEST, JOB_ST_INPUT,
	        {{B, JOB_FRAME_DATA}, {B, JOB_FRAME_END}, {W, JOB_FRAME_ERROR},
	            {W, JOB_FRAME_PROGRESS}},
	        4},
	    {JOB_KIND_INGEST, JOB_ST_DONE, {{0, 0}}, 0},
	    {JOB_KIND_REKEY, JOB_ST_INPUT, {{B, JOB_FRAME_END}, {W, JOB_FRAME_ERROR}}, 2},
	};
	size_t i, k;
	uint32_t t;
	int side, ok;

	(void)state;
	for (i = 0; i < sizeof states / sizeof states[0]; i++)
		for (side = B; side <= W; side++)
			for (t = 0; t <= JOB_FRAME_ABORT + 1; t++) {
				for (ok = 0, k = 0; k < states[i].nok; k++)
					ok |= states[i].ok[k].side == (enum job_side)side &&
					      states[i].ok[k].type == t;
				if ((job_permit(states[i].kind, states[i].st, (enum job_side)side,
				         t) >= 0) != ok)
					fail_msg("kind %u, state %d: %s frame %u %s",
					    states[i].kind, (int)states[i].st,
					    side == B ? "broker" : "worker", t,
					    ok ? "refused" : "permitted");
			}
	/* No worker frame is ever permitted before the HEADER, nor a second HEADER. */
	for (t = 0; t <= JOB_FRAME_ABORT + 1; t++)
		assert_int_equal(job_permit(JOB_KIND_QUERY, JOB_ST_START, W, t), -1);
	assert_int_equal(job_permit(JOB_KIND_QUERY, JOB_ST_INPUT, B, JOB_FRAME_HEADER), -1);
}

/* ---- PLAN and RESULT ------------------------------------------------------ */

static uint32_t sample_reads[] = {0, 2, 3}, sample_filters[] = {3};
static struct job_plan_key sample_keys[] = {
    {FN_KEY_COLUMN, 2, {0, 0, 0}}, {FN_KEY_BUCKET, 3, {1, 40, 2}}};
static struct job_plan_agg sample_aggs[] = {
    {FN_COUNT, JOB_NO_COLUMN, 0}, {FN_SUM, 4, 1}, {FN_VARIANCE, 4, 1}, {FN_MAX, 2, 0}};
static struct job_plan_output sample_outputs[] = {
    {0, 0, {0, 0, 0}}, {1, 1, {1, 20, 3}}, {0, 1, {0, 0, 0}}, {1, 0, {0, 0, 0}}};
static struct job_plan_order sample_order[] = {{1, 1}, {0, 0}};

static struct job_plan
sample_plan(void)
{
	return (struct job_plan){sample_reads, 3, sample_filters, 1, sample_keys, 2, sample_aggs, 4,
	    sample_outputs, 4, sample_order, 2, 1, 10};
}

static void
plan_bytes(const struct job_plan *p, uint8_t **buf, size_t *len)
{
	assert_int_equal(job_plan_encode(p, buf, len), 0);
}

static void
test_plan_round_trip(void **state)
{
	struct job_plan p = sample_plan(), back;
	uint8_t *buf;
	size_t len, i;

	(void)state;
	plan_bytes(&p, &buf, &len);
	assert_int_equal(job_plan_decode(buf, len, &back), 0);
	assert_int_equal(back.nreads, 3);
	assert_memory_equal(back.reads, sample_reads, sizeof sample_reads);
	assert_int_equal(back.nfilters, 1);
	assert_int_equal(back.filters[0], 3);
	assert_int_equal(back.nkeys, 2);
	assert_memory_equal(back.keys, sample_keys, sizeof sample_keys);
	assert_int_equal(back.naggs, 4);
	assert_memory_equal(back.aggs, sample_aggs, sizeof sample_aggs);
	assert_int_equal(back.noutputs, 4);
	assert_memory_equal(back.outputs, sample_outputs, sizeof sample_outputs);
	assert_int_equal(back.norder, 2);
	assert_memory_equal(back.order, sample_order, sizeof sample_order);
	assert_int_equal(back.has_limit, 1);
	assert_int_equal(back.limit, 10);
	job_plan_clear(&back);
	/* Every cut is refused, and so is one byte more. */
	for (i = 0; i < len; i++)
		assert_int_equal(job_plan_decode(buf, i, &back), SL_ERR_PARSE);
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	assert_int_equal(job_plan_decode(buf, len + 1, &back), SL_ERR_PARSE);
	free(buf);
}

/* A plan that breaks one rule of the frame's shape: the decoder refuses it. */
static void
test_plan_malformed(void **state)
{
	struct job_plan p, back;
	struct job_plan_key keys[2];
	struct job_plan_agg aggs[4];
	struct job_plan_output outs[4];
	struct job_plan_order ord[2];
	uint8_t *buf;
	size_t len;
	int k;

	(void)state;
	for (k = 0; k < 12; k++) {
		p = sample_plan();
		memcpy(keys, sample_keys, sizeof keys);
		memcpy(aggs, sample_aggs, sizeof aggs);
		memcpy(outs, sample_outputs, sizeof outs);
		memcpy(ord, sample_order, sizeof ord);
		p.keys = keys;
		p.aggs = aggs;
		p.outputs = outs;
		p.order = ord;
		switch (k) {
		case 0:
			keys[0].fn = FN_KEY_N_;
			break; /* no such key function */
		case 1:
			keys[1].width.length = 0;
			break; /* BUCKET without its width */
		case 2:
			keys[0].width = (struct job_span){1, 1, 1};
			break; /* a width on a column */
		case 3:
			aggs[0].fn = FN_AGG_N_;
			break; /* no such aggregate */
		case 4:
			aggs[0].col = 1;
			break; /* COUNT(*) of a column */
		case 5:
			aggs[1].col = JOB_NO_COLUMN;
			break; /* SUM of nothing */
		case 6:
			aggs[1].clamp = 2;
			break; /* a flag that is not one */
		case 7:
			outs[1].index = 4;
			break; /* an aggregate that is not there */
		case 8:
			outs[0].index = 2;
			break; /* a key that is not there */
		case 9:
			ord[0].output = 4;
			break; /* ORDER BY no output */
		case 10:
			p.noutputs = 0;
			p.norder = 0;
			break; /* no output at all */
		case 11:
			p.has_limit = 7;
			break;
		}
		plan_bytes(&p, &buf, &len);
		if (job_plan_decode(buf, len, &back) != SL_ERR_PARSE)
			fail_msg("malformed plan %d decoded", k);
		free(buf);
	}
}

/* A list count far above what the payload holds is refused before anything is allocated. */
static void
test_plan_lying_count(void **state)
{
	uint8_t buf[8] = {0x00, 0x00, 0x10, 0x00, 0, 0, 0, 0}; /* 4096 reads in 4 bytes */
	struct job_plan back;

	(void)state;
	assert_int_equal(job_plan_decode(buf, sizeof buf, &back), SL_ERR_PARSE);
	buf[1] = 0x01; /* 65,536 + 4096: above JOB_PLAN_LIST_MAX */
	assert_int_equal(job_plan_decode(buf, sizeof buf, &back), SL_ERR_PARSE);
}

static void
test_result_round_trip(void **state)
{
	struct job_plan p = sample_plan();
	static const char text[] = "cixi";
	struct job_value keys[4] = {
	    {.type = JOB_VALUE_TEXT, .s = (const uint8_t *)text, .len = 4},
	    {.type = JOB_VALUE_INT, .i = -40},
	    {.type = JOB_VALUE_NULL},
	    {.type = JOB_VALUE_REAL, .r = 2.5},
	};
	struct job_agg_state aggs[8] = {
	    {.n = 7},
	    {.n = 7, .value = {.type = JOB_VALUE_INT, .i = -123456789012345}},
	    {.n = 7, .value = {.type = JOB_VALUE_INT, .i = 5}, .sumsq = (__int128)1 << 100},
	    {.n = 7, .value = {.type = JOB_VALUE_TEXT, .s = (const uint8_t *)text, .len = 3}},
	    {.n = 0},
	    {.n = 0, .value = {.type = JOB_VALUE_REAL, .r = -0.5}},
	    {.n = 2, .value = {.type = JOB_VALUE_REAL, .r = 1.0}, .m2 = 0.25},
	    {.n = 0, .value = {.type = JOB_VALUE_NULL}},
	};
	struct job_group groups[2] = {{keys, 9, 3, aggs}, {keys + 2, 0, 0, aggs + 4}};
	struct job_result res = {12345, 2, 4, groups, 2, NULL, NULL, NULL}, back;
	uint32_t fns[4] = {FN_COUNT, FN_SUM, FN_VARIANCE, FN_MAX};
	uint8_t *buf;
	size_t len, i;

	(void)state;
	assert_int_equal(job_result_encode(&res, fns, &buf, &len), 0);
	assert_int_equal(job_result_decode(buf, len, &p, &back), 0);
	assert_int_equal(back.rows_scanned, 12345);
	assert_int_equal(back.ngroups, 2);
	assert_int_equal(back.groups[0].rows, 9);
	assert_int_equal(back.groups[0].units, 3);
	assert_int_equal(back.groups[0].keys[0].type, JOB_VALUE_TEXT);
	assert_memory_equal(back.groups[0].keys[0].s, "cixi", 4);
	assert_int_equal(back.groups[0].keys[1].i, -40);
	assert_int_equal(back.groups[1].keys[0].type, JOB_VALUE_NULL);
	assert_true(back.groups[1].keys[1].r == 2.5);
	assert_int_equal(back.groups[0].aggs[0].n, 7);
	assert_int_equal(back.groups[0].aggs[1].value.i, -123456789012345);
	assert_true(back.groups[0].aggs[2].sumsq == (__int128)1 << 100);
	assert_int_equal(back.groups[0].aggs[3].value.len, 3);
	assert_true(back.groups[1].aggs[2].m2 == 0.25);
	assert_int_equal(back.groups[1].aggs[3].value.type, JOB_VALUE_NULL);
	job_result_clear(&back);
	for (i = 0; i < len; i++)
		assert_int_equal(job_result_decode(buf, i, &p, &back), SL_ERR_PARSE);
	/* For a plan with other aggregates, the same bytes do not decode. */
	p.naggs = 3;
	assert_int_equal(job_result_decode(buf, len, &p, &back), SL_ERR_PARSE);
	free(buf);
	/* A VARIANCE whose sum is text has no square sum to send: refused. */
	aggs[2].value =
	    (struct job_value){.type = JOB_VALUE_TEXT, .s = (const uint8_t *)text, .len = 1};
	p.naggs = 4;
	assert_int_equal(job_result_encode(&res, fns, &buf, &len), 0);
	assert_int_equal(job_result_decode(buf, len, &p, &back), SL_ERR_PARSE);
	free(buf);
	/* An unknown value type. */
	aggs[2].value.type = JOB_VALUE_INT;
	keys[1].type = 9;
	assert_int_equal(job_result_encode(&res, fns, &buf, &len), 0);
	assert_int_equal(job_result_decode(buf, len, &p, &back), SL_ERR_PARSE);
	free(buf);
}

static void
test_written(void **state)
{
	struct job_written w = {5000, 10, 123456, {0}}, back;
	uint8_t buf[JOB_WRITTEN_BYTES + 1] = {0};
	size_t i;

	(void)state;
	for (i = 0; i < JOB_DIGEST_BYTES; i++)
		w.manifest[i] = (uint8_t)(i * 7);
	job_written_encode(&w, buf);
	assert_int_equal(job_written_decode(buf, JOB_WRITTEN_BYTES, &back), 0);
	assert_memory_equal(&back, &w, sizeof w);
	assert_int_equal(job_written_decode(buf, JOB_WRITTEN_BYTES - 1, &back), SL_ERR_PARSE);
	assert_int_equal(job_written_decode(buf, JOB_WRITTEN_BYTES + 1, &back), SL_ERR_PARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_round_trip),
	    cmocka_unit_test(test_header_bad_strings),
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test(test_progress),
	    cmocka_unit_test(test_go),
	    cmocka_unit_test(test_error_round_trip),
	    cmocka_unit_test(test_error_tables),
	    cmocka_unit_test(test_frame_head),
	    cmocka_unit_test(test_permit_honest),
	    cmocka_unit_test(test_permit_out_of_order),
	    cmocka_unit_test(test_plan_round_trip),
	    cmocka_unit_test(test_plan_malformed),
	    cmocka_unit_test(test_plan_lying_count),
	    cmocka_unit_test(test_result_round_trip),
	    cmocka_unit_test(test_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
