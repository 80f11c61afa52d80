/*
 * tests/fuzz/job_fuzz.c -- libFuzzer harness for the job protocol's decoders
 * (sandbox/job.c), which the broker runs on every frame a possibly
 * compromised worker sends and the worker on every frame the broker sends.
 *
 * The first byte picks the frame: HEADER, PROGRESS, GO, ERROR, PLAN, RESULT
 * (a PLAN, its length in the next two bytes, then the RESULT that answers
 * it) or a written-version RESULT; the rest is the payload, in a heap copy of
 * exactly its length so that ASan sees a read past it.  A decoder either
 * refuses (SL_ERR_PARSE, SL_ERR_VERSION, SL_ERR_NOMEM) or accepts, and what
 * it accepts must encode back to the very bytes it was given: the encodings
 * are exact, so a decoder that accepts two spellings of one frame, or reads
 * less than it was given, fails here.
 *
 *   make fuzz && ./tests/fuzz/job_fuzz -max_total_time=60 CORPUS tests/fuzz/corpus/job
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "tests/fuzz/check.h"
#include "sandbox/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
refused(int r)
{
	CHECK(r == SL_ERR_PARSE || r == SL_ERR_VERSION || r == SL_ERR_NOMEM || r == SL_ERR_LIMIT);
}

/* An accepted frame's encoding is the input itself. */
static void
same(const uint8_t *enc, size_t enclen, const uint8_t *p, size_t len)
{
	CHECK(enclen == len && (len == 0 || memcmp(enc, p, len) == 0));
}

static void
header(const uint8_t *p, size_t len)
{
	struct job_header h;
	uint8_t *enc = NULL;
	size_t n = 0;
	int r;

	if ((r = job_header_decode(p, len, &h)) != 0) {
		refused(r);
		return;
	}
	CHECK(h.version == JOB_PROTOCOL_VERSION);
	CHECK(h.threads >= 1 && h.threads <= JOB_THREADS_MAX);
	CHECK(h.store != NULL && h.product != NULL && h.schema != NULL && h.params != NULL);
	if (job_header_encode(&h, &enc, &n) == 0) {
		same(enc, n, p, len);
		job_wipe_free(enc, n);
	}
	job_header_clear(&h);
}

static void
plan_and_result(const uint8_t *p, size_t len)
{
	struct job_plan plan;
	struct job_result res;
	uint8_t *enc = NULL;
	uint32_t *fns;
	size_t n = 0, plen, i;
	int r;

	if (len < 2)
		return;
	plen = (size_t)p[0] << 8 | p[1];
	if (plen > len - 2)
		plen = len - 2;
	if ((r = job_plan_decode(p + 2, plen, &plan)) != 0) {
		refused(r);
		return;
	}
	if (job_plan_encode(&plan, &enc, &n) == 0) {
		same(enc, n, p + 2, plen);
		free(enc);
		enc = NULL;
	}
	if ((r = job_result_decode(p + 2 + plen, len - 2 - plen, &plan, &res)) != 0) {
		refused(r);
	} else {
		CHECK(res.nkeys == plan.nkeys && res.naggs == plan.naggs);
		if ((fns = calloc(plan.naggs + 1, sizeof *fns)) != NULL) {
			for (i = 0; i < plan.naggs; i++)
				fns[i] = plan.aggs[i].fn;
			if (job_result_encode(&res, fns, &enc, &n) == 0) {
				same(enc, n, p + 2 + plen, len - 2 - plen);
				free(enc);
			}
			free(fns);
		}
		job_result_clear(&res);
	}
	job_plan_clear(&plan);
}

static void
small_frames(uint8_t kind, const uint8_t *p, size_t len)
{
	struct job_error_frame e;
	struct job_written w;
	uint8_t out[JOB_WRITTEN_BYTES > 16 ? JOB_WRITTEN_BYTES : 16];
	uint64_t rows, bytes;
	uint32_t cap;
	int r;

	switch (kind) {
	case 1:
		if ((r = job_progress_decode(p, len, &rows, &bytes)) != 0) {
			refused(r);
			return;
		}
		CHECK(job_progress_encode(rows, bytes, out) == 0);
		same(out, 16, p, len);
		return;
	case 2:
		if ((r = job_go_decode(p, len, &cap)) != 0)
			refused(r);
		return;
	case 3:
		if ((r = job_error_decode(p, len, &e)) != 0) {
			refused(r);
			return;
		}
		CHECK(e.nplaces <= JOB_PLACES_MAX);
		return;
	default:
		if ((r = job_written_decode(p, len, &w)) != 0) {
			refused(r);
			return;
		}
		job_written_encode(&w, out);
		same(out, JOB_WRITTEN_BYTES, p, len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	if ((p = malloc(len > 0 ? len : 1)) == NULL)
		return 0;
	memcpy(p, data + 1, len);
	sl_err_clear();
	switch (data[0] % 6) {
	case 0:
		header(p, len);
		break;
	case 1:
		plan_and_result(p, len);
		break;
	default:
		small_frames((uint8_t)(data[0] % 6 - 1), p, len);
	}
	free(p);
	return 0;
}
