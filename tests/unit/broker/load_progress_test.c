/*
 * tests/unit/broker/load_progress_test.c -- the broker's check of a worker's
 * PROGRESS claims (broker/load.c progress_take()): a frame that does not
 * decode, counts that go back, or more bytes read than were sent fail the
 * job as a protocol error; honest ones reach the callback, the first at
 * once and then at most LOAD_PROGRESS_HZ a second.  Includes broker/spawn.c
 * and broker/load.c for their static parts; the "worker" is a child that
 * exits when told, as in spawn_poll_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "broker/spawn.c"

#include "broker/load.c"

struct calls {
	int n;
	struct load_progress last;
};

static void
record(void *arg, const struct load_progress *p)
{
	struct calls *c = arg;

	c->n++;
	c->last = *p;
}

/* A handle of an ingest job streaming its input, whose worker waits on quit. */
static struct spawn *
fake_start(int *quit)
{
	struct spawn *sp;
	int qp[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe2(qp, O_CLOEXEC), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		close(qp[1]);
		while (read(qp[0], &c, 1) == -1 && errno == EINTR)
			;
		_exit(0);
	}
	close(qp[0]);
	*quit = qp[1];
	assert_non_null(sp = calloc(1, sizeof(*sp)));
	sp->pid = pid;
	sp->fd = sp->errfd = sp->pidfd = -1;
	sp->wall_ms = 20000;
	sp->deadline = now_ms() + sp->wall_ms;
	sp->kind = JOB_KIND_INGEST;
	sp->st = JOB_ST_INPUT;
	return sp;
}

/*
 * A PROGRESS payload of len bytes claiming (rows, bytes) after ps: 1 when the
 * worker was killed for it, and then spawn_wait() says protocol error.
 */
static int
claim(struct progress *ps, uint64_t rows, uint64_t bytes, size_t len, int *r)
{
	struct spawn_result res;
	struct spawn *sp;
	uint8_t p[17] = {0};
	int quit, killed;

	sp = fake_start(&quit);
	job_progress_encode(rows, bytes, p);
	*r = progress_take(sp, ps, p, len);
	killed = sp->killed == KILL_PROTOCOL;
	close(quit);
	assert_int_equal(spawn_wait(sp, &res), 0);
	if (killed)
		assert_int_equal(res.outcome, SPAWN_PROTOCOL_ERROR);
	spawn_free(sp);
	return killed;
}

static void
test_honest(void **state)
{
	struct calls c = {0};
	struct progress ps = {.fn = record, .arg = &c, .t0 = sl_monotonic()};
	int r;

	ps.p.bytes_sent = ps.p.size = 3 << 20;
	assert_int_equal(claim(&ps, 65536, 1 << 20, 16, &r), 0);
	assert_int_equal(r, 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.last.rows, 65536);
	assert_int_equal(c.last.bytes_read, 1 << 20);
	assert_int_equal(c.last.bytes_sent, 3 << 20);
	assert_false(c.last.done);
	/* The next within 1/LOAD_PROGRESS_HZ s is taken, not shown. */
	assert_int_equal(claim(&ps, 131072, 2 << 20, 16, &r), 0);
	assert_int_equal(r, 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(ps.p.rows, 131072);
	/* Equal counts are no lie: a worker may report twice at the same place. */
	ps.last -= 1.0;
	assert_int_equal(claim(&ps, 131072, 3 << 20, 16, &r), 0);
	assert_int_equal(r, 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.last.bytes_read, 3 << 20);
}

static void
test_lies(void **state)
{
	struct progress ps = {.t0 = sl_monotonic()};
	int r;

	ps.p.rows = 65536;
	ps.p.bytes_read = 1000;
	ps.p.bytes_sent = 2000;
	assert_int_equal(claim(&ps, 65535, 1500, 16, &r), 1);
	assert_int_equal(r, SL_ERR_PARSE);
	assert_non_null(strstr(sl_err_msg(r), "counts went back"));
	assert_int_equal(claim(&ps, 70000, 999, 16, &r), 1);
	assert_int_equal(r, SL_ERR_PARSE);
	assert_int_equal(claim(&ps, 70000, 2001, 16, &r), 1);
	assert_int_equal(r, SL_ERR_PARSE);
	assert_non_null(strstr(sl_err_msg(r), "more bytes than were sent"));
	assert_int_equal(claim(&ps, 70000, 1500, 15, &r), 1);
	assert_int_equal(r, SL_ERR_PARSE);
	assert_non_null(strstr(sl_err_msg(r), "malformed PROGRESS"));
	assert_int_equal(claim(&ps, 70000, 1500, 17, &r), 1);
	assert_int_equal(r, SL_ERR_PARSE);
	/* None of the lies was taken. */
	assert_int_equal(ps.p.rows, 65536);
	assert_int_equal(ps.p.bytes_read, 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_honest),
	    cmocka_unit_test(test_lies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
