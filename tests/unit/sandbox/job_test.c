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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_round_trip),
	    cmocka_unit_test(test_header_bad_strings),
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test(test_progress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
