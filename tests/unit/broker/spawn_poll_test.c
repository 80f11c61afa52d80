/*
 * tests/unit/broker/spawn_poll_test.c -- spawn_poll() against a fake worker:
 * the test writes the worker's bytes by hand on the other end of a
 * socketpair, so every case is exact (a frame cut in two, one out of order
 * for the job's kind, one too long).  The "worker" is a child that exits 0
 * when the test closes its pipe (or is killed first), so kill_worker() and
 * spawn_wait() act as on a real one.  Includes broker/spawn.c for the handle's fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "broker/spawn.c"

struct fake {
	struct spawn *sp;
	int w;    /* the worker's end */
	int quit; /* closed: the child exits 0 */
};

/* A handle in state st of a job of kind, its "worker" a child that waits. */
static void
fake_start(struct fake *f, uint32_t kind, enum job_state st)
{
	int sv[2], qp[2];
	char c;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(qp, O_CLOEXEC), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		close(sv[0]);
		close(sv[1]);
		close(qp[1]);
		while (read(qp[0], &c, 1) == -1 && errno == EINTR)
			;
		_exit(0);
	}
	close(qp[0]);
	f->quit = qp[1];
	assert_non_null(f->sp = calloc(1, sizeof(*f->sp)));
	f->sp->pid = pid;
	f->sp->fd = sv[0];
	f->sp->errfd = f->sp->pidfd = -1;
	f->sp->wall_ms = 20000;
	f->sp->deadline = now_ms() + f->sp->wall_ms;
	f->sp->kind = kind;
	f->sp->st = st;
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	f->w = sv[1];
}

static void
fake_write(struct fake *f, const void *p, size_t len)
{
	assert_int_equal(write(f->w, p, len), (ssize_t)len);
}

static void
fake_progress(struct fake *f, uint64_t rows, uint64_t bytes)
{
	uint8_t p[16];

	job_progress_encode(rows, bytes, p);
	assert_int_equal(job_frame_write(f->w, JOB_FRAME_PROGRESS, p, sizeof(p)), 0);
}

static void
fake_end(struct fake *f, enum spawn_outcome want)
{
	struct spawn_result res;

	close(f->w);
	close(f->quit);
	assert_int_equal(spawn_wait(f->sp, &res), 0);
	if (res.outcome != want)
		fail_msg("outcome %s (%s), wanted %s", spawn_outcome_name(res.outcome), res.detail,
		    spawn_outcome_name(want));
	spawn_free(f->sp);
}

/* Nothing there: 0.  A whole PROGRESS: 1, decoded as sent.  Half a frame: 0 until the rest. */
static void
test_poll_progress(void **state)
{
	uint8_t *p, head[JOB_FRAME_HEAD], body[16];
	uint64_t rows, bytes;
	uint32_t type;
	size_t len;
	struct fake f;

	fake_start(&f, JOB_KIND_INGEST, JOB_ST_INPUT);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 0);

	fake_progress(&f, 65536, 1234567);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 1);
	assert_int_equal(type, JOB_FRAME_PROGRESS);
	assert_int_equal(job_progress_decode(p, len, &rows, &bytes), 0);
	assert_int_equal(rows, 65536);
	assert_int_equal(bytes, 1234567);
	free(p);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 0);

	job_frame_head_put(head, JOB_FRAME_PROGRESS, sizeof(body));
	job_progress_encode(131072, 2345678, body);
	fake_write(&f, head, sizeof(head));
	fake_write(&f, body, 5);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 0);
	fake_write(&f, body + 5, sizeof(body) - 5);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 1);
	assert_int_equal(job_progress_decode(p, len, &rows, &bytes), 0);
	assert_int_equal(rows, 131072);
	free(p);

	/* The final ERROR is a frame like any other; after it, nothing. */
	assert_int_equal(job_frame_write(f.w, JOB_FRAME_ERROR, "\0\0\0\1", 4), 0);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 1);
	assert_int_equal(type, JOB_FRAME_ERROR);
	free(p);
	fake_end(&f, SPAWN_FAILED); /* exited 0 after ERROR */
}

/* A PROGRESS that a query worker may not send before its PLAN is refused by the permit table. */
static void
test_poll_out_of_order(void **state)
{
	uint8_t *p = NULL;
	uint32_t type;
	size_t len;
	struct fake f;

	fake_start(&f, JOB_KIND_QUERY, JOB_ST_PLAN);
	fake_progress(&f, 1, 1);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), SL_ERR_PARSE);
	assert_null(p);
	assert_int_equal(f.sp->killed, KILL_PROTOCOL);
	assert_non_null(strstr(f.sp->why, "PROGRESS frame out of order"));
	/* And stays refused. */
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), SL_ERR_PARSE);
	fake_end(&f, SPAWN_PROTOCOL_ERROR);
}

/* A PROGRESS after the final frame, even a whole one. */
static void
test_poll_after_final(void **state)
{
	uint8_t *p = NULL;
	uint32_t type;
	size_t len;
	struct fake f;

	fake_start(&f, JOB_KIND_INGEST, JOB_ST_RUN);
	assert_int_equal(job_frame_write(f.w, JOB_FRAME_RESULT, "{}", 2), 0);
	fake_progress(&f, 1, 1);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 1);
	assert_int_equal(type, JOB_FRAME_RESULT);
	free(p);
	p = NULL;
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), SL_ERR_PARSE);
	assert_null(p);
	assert_non_null(strstr(f.sp->why, "after the final RESULT"));
	fake_end(&f, SPAWN_PROTOCOL_ERROR);
}

/* A head claiming more than JOB_FRAME_MAX: refused from the head, before any payload. */
static void
test_poll_oversized(void **state)
{
	uint8_t *p = NULL,
	        head[JOB_FRAME_HEAD] = {0, 0, 0, JOB_FRAME_PROGRESS, 0xff, 0xff, 0xff, 0xff};
	uint32_t type;
	size_t len;
	struct fake f;

	fake_start(&f, JOB_KIND_INGEST, JOB_ST_INPUT);
	fake_write(&f, head, sizeof(head));
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), SL_ERR_PARSE);
	assert_null(p);
	assert_true(f.sp->incap <= IN_MAX);
	fake_end(&f, SPAWN_PROTOCOL_ERROR);
}

/*
 * Truncated: a PROGRESS of 8 bytes arrives whole (the frame is well formed)
 * but does not decode; the caller refuses it with spawn_refuse().  One cut
 * off by the worker's exit is bytes not read as frames.
 */
static void
test_poll_truncated(void **state)
{
	uint8_t *p = NULL, head[JOB_FRAME_HEAD];
	uint64_t rows, bytes;
	uint32_t type;
	size_t len;
	struct fake f;

	fake_start(&f, JOB_KIND_INGEST, JOB_ST_INPUT);
	assert_int_equal(job_frame_write(f.w, JOB_FRAME_PROGRESS, "\0\0\0\0\0\0\0\1", 8), 0);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 1);
	assert_int_equal(len, 8);
	assert_int_equal(job_progress_decode(p, len, &rows, &bytes), SL_ERR_PARSE);
	free(p);
	assert_int_equal(spawn_refuse(f.sp, "a malformed PROGRESS frame"), SL_ERR_PARSE);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), SL_ERR_PARSE);
	fake_end(&f, SPAWN_PROTOCOL_ERROR);

	fake_start(&f, JOB_KIND_INGEST, JOB_ST_INPUT);
	job_frame_head_put(head, JOB_FRAME_PROGRESS, 16);
	fake_write(&f, head, sizeof(head));
	fake_write(&f, "\0\0\0", 3);
	close(f.w);
	f.w = -1;
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 0);
	assert_int_equal(spawn_poll(f.sp, &type, &p, &len), 0);
	assert_int_equal(spawn_recv(f.sp, &type, &p, &len), SL_ERR_IO);
	assert_non_null(strstr(sl_err_msg(SL_ERR_IO), "in the middle of a frame"));
	fake_end(&f, SPAWN_PROTOCOL_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_poll_progress),
	    cmocka_unit_test(test_poll_out_of_order),
	    cmocka_unit_test(test_poll_after_final),
	    cmocka_unit_test(test_poll_oversized),
	    cmocka_unit_test(test_poll_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
