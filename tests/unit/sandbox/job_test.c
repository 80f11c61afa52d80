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
#include "sandbox/job.h"

static void
fill(struct job_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = JOB_PROTOCOL_VERSION;
	h->kind = JOB_KIND_INGEST;
	h->suite = 2;
	h->cpu_seconds = 60;
	h->memory_bytes = (uint64_t)3 << 32;
	h->map_bytes = (uint64_t)1 << 40;
	h->data_version = 7;
	h->key_version = 3;
	memset(h->key, 0xab, sizeof(h->key));
	memset(h->new_key, 0xcd, sizeof(h->new_key));
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
	assert_string_equal(d.store, h.store);
	assert_string_equal(d.params, h.params);
	assert_int_equal(d.uid, 65534);
	assert_int_equal(d.gid, 0x12345678);
	job_header_clear(&d);
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
	const struct step syntax[] = {{B, JOB_FRAME_HEADER}, {B, JOB_FRAME_DATA},
	    {B, JOB_FRAME_END}, {W, JOB_FRAME_ERROR}};
	const struct step ingest[] = {{B, JOB_FRAME_HEADER}, {B, JOB_FRAME_DATA},
	    {W, JOB_FRAME_PROGRESS}, {B, JOB_FRAME_DATA}, {B, JOB_FRAME_END},
	    {W, JOB_FRAME_PROGRESS}, {W, JOB_FRAME_RESULT}};
	const struct step rekey[] = {{B, JOB_FRAME_HEADER}, {B, JOB_FRAME_END},
	    {W, JOB_FRAME_RESULT}};
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
	    {JOB_KIND_QUERY, JOB_ST_INPUT, {{B, JOB_FRAME_DATA}, {B, JOB_FRAME_END}, {W, JOB_FRAME_ERROR}}, 3},
	    {JOB_KIND_QUERY, JOB_ST_PLAN, {{W, JOB_FRAME_PLAN}, {W, JOB_FRAME_ERROR}}, 2},
	    {JOB_KIND_QUERY, JOB_ST_VERDICT, {{B, JOB_FRAME_GO}, {B, JOB_FRAME_ABORT}}, 2},
	    {JOB_KIND_QUERY, JOB_ST_RUN, {{W, JOB_FRAME_PROGRESS}, {W, JOB_FRAME_RESULT}, {W, JOB_FRAME_ERROR}}, 3},
	    {JOB_KIND_QUERY, JOB_ST_ABORTED, {{W, JOB_FRAME_ERROR}}, 1},
	    {JOB_KIND_QUERY, JOB_ST_DONE, {{0, 0}}, 0},
	    {JOB_KIND_INGEST, JOB_ST_INPUT, {{B, JOB_FRAME_DATA}, {B, JOB_FRAME_END}, {W, JOB_FRAME_ERROR}, {W, JOB_FRAME_PROGRESS}}, 4},
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
					fail_msg("kind %u, state %d: %s frame %u %s", states[i].kind,
					    (int)states[i].st, side == B ? "broker" : "worker", t,
					    ok ? "refused" : "permitted");
			}
	/* No worker frame is ever permitted before the HEADER, nor a second HEADER. */
	for (t = 0; t <= JOB_FRAME_ABORT + 1; t++)
		assert_int_equal(job_permit(JOB_KIND_QUERY, JOB_ST_START, W, t), -1);
	assert_int_equal(job_permit(JOB_KIND_QUERY, JOB_ST_INPUT, B, JOB_FRAME_HEADER), -1);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
