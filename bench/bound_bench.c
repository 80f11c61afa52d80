/*
 * bench/bound_bench.c -- issue 15: what the contribution bound costs the scan.
 *
 * Writes ROWS claims-like rows (member_id, age, region, claim_fen, paid_fen;
 * units repeat with the 1/sqrt(rank) skew of bench/gen, ROWS / 5 of them)
 * into an encrypted store under a temporary directory, then runs Q1
 *
 *   SELECT region, COUNT(*), AVG(claim_fen), SUM(paid_fen) FROM claims
 *   WHERE age BETWEEN 40 AND 65 GROUP BY region
 *
 * through exec_run() RUNS times each without a bound and with bounds of 1
 * and 5 rows per unit, in alternation, and prints every run and the
 * medians.  The executor alone: no worker, no broker, no release.
 *
 * Usage: bench/bound_bench [ROWS] [RUNS]   (build: sh bench/bound_bench.sh)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bench.h"
#include "common/err.h"
#include "common/schema.h"
#include "common/text.h"
#include "keys/keys.h"
#include "sandbox/exec.h"
#include "sandbox/plan.h"
#include "sandbox/sql.h"
#include "sandbox/store.h"

#define RUNS_MAX 101

static const char schema_json[] =
    "{\"name\":\"claims\",\"columns\":["
    "{\"name\":\"member_id\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"age\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[0,120]},"
    "{\"name\":\"region\",\"type\":\"TEXT\",\"class\":\"dimension\"},"
    "{\"name\":\"claim_fen\",\"type\":\"INT\",\"class\":\"measure\",\"bounds\":[0,10000000]},"
    "{\"name\":\"paid_fen\",\"type\":\"INT\",\"class\":\"measure\",\"bounds\":[0,10000000]}]}";

static const char q1[] = "SELECT region, COUNT(*), AVG(claim_fen), SUM(paid_fen) FROM claims "
                         "WHERE age BETWEEN 40 AND 65 GROUP BY region";

static const char *const regions[] = {"haishu", "jiangbei", "beilun", "zhenhai", "yinzhou",
    "fenghua", "yuyao", "cixi", "xiangshan", "ninghai"};

static uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void
die(const char *what, int r)
{
	fprintf(stderr, "bound_bench: %s: %s\n", what, sl_err_msg(r));
	exit(1);
}

static void
load(const char *dir, const struct schema *s, const uint8_t *key, uint64_t rows)
{
	struct store_ident id = {"claims", 1, KEYS_SUITE_INTL, key};
	uint64_t units = rows / 5 + 1, i;
	struct store *st = NULL;
	struct store_writer *w = NULL;
	struct store_stats stats;
	int r;

	if ((r = store_open(dir, 1, (size_t)4 << 30, &st)) != 0 ||
	    (r = store_writer_begin(st, &id, s, &w)) != 0)
		die("store", r);
	for (i = 0; i < rows; i++) {
		uint64_t h = splitmix(i), u = splitmix(i ^ 0x5eed);
		double x = (double)(u >> 11) / 9007199254740992.0;
		/* density of rank k falls as 1/sqrt(k): k = units * x^2 */
		int64_t member = 1 + (int64_t)((double)units * x * x);
		uint64_t m = splitmix((uint64_t)member); /* a member's age and region stay fixed */
		const char *rg = regions[m % 10];
		int64_t claim = (int64_t)(h % 2000000), paid = claim / 10 * (int64_t)(h >> 60);

		r = store_put_int(w, 0, member);
		r |= store_put_int(w, 1, (int64_t)(m >> 8) % 100);
		r |= store_put_text(w, 2, rg, strlen(rg));
		r |= store_put_int(w, 3, claim);
		r |= store_put_int(w, 4, paid > 10000000 ? 10000000 : paid);
		if (r != 0 || (r = store_row_end(w)) != 0)
			die("put", r);
	}
	if ((r = store_writer_commit(w, &stats)) != 0)
		die("commit", r);
	store_close(st);
}

/*
 * One run of Q1 on a reader of its own, as a worker has (a reader keeps the
 * chunks it opened for the bound's second pass): ms, and the rows that
 * entered the answer.
 */
static double
run(const struct plan *p, struct store *st, const struct store_ident *id,
    const struct exec_bound *b, uint64_t *kept)
{
	struct store_reader *rd = NULL;
	struct job_result res;
	double t0 = sl_monotonic(), t1;
	size_t g;
	int r;

	if ((r = store_reader_open(st, id, p->s, &rd)) != 0)
		die("store_reader_open", r);
	if ((r = exec_run(p, &rd, 1, 0, b, &res)) != 0)
		die("exec_run", r);
	store_reader_close(rd);
	t1 = sl_monotonic();
	*kept = 0;
	for (g = 0; g < res.ngroups; g++)
		*kept += res.groups[g].rows;
	job_result_clear(&res);
	return (t1 - t0) * 1000;
}

int
main(int argc, char **argv)
{
	static const uint32_t bounds[] = {0, 1, 5};
	uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000, kept[3] = {0};
	int runs = argc > 2 ? atoi(argv[2]) : 7, i, k, r;
	double ms[3][RUNS_MAX];
	char tmpl[] = "/tmp/sluice-boundbench.XXXXXX", cmd[128];
	uint8_t key[STORE_KEY_BYTES];
	struct schema *s = NULL;
	struct sql_query *q = NULL;
	struct plan *p = NULL;
	struct store *st = NULL;
	struct store_ident id = {"claims", 1, KEYS_SUITE_INTL, key};
	struct exec_bound b[3];
	double t0;

	if (rows < 1 || runs < 1 || runs > RUNS_MAX || mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "usage: bound_bench [ROWS] [RUNS (1..%d)]\n", RUNS_MAX);
		return 2;
	}
	keys_random(key, sizeof(key));
	for (k = 0; k < 3; k++) {
		b[k].rows = bounds[k];
		keys_random(b[k].key, sizeof(b[k].key));
	}
	if ((r = schema_parse(schema_json, strlen(schema_json), &s)) != 0)
		die("schema", r);
	t0 = sl_monotonic();
	load(tmpl, s, key, rows);
	printf("loaded %llu rows in %.0f ms\n", (unsigned long long)rows,
	    (sl_monotonic() - t0) * 1000);
	if ((r = sql_parse(q1, strlen(q1), &q)) != 0 || (r = plan_build(q, s, &p)) != 0 ||
	    (r = store_open(tmpl, 0, 0, &st)) != 0)
		die("open", r);
	for (i = 0; i < runs; i++) {
		for (k = 0; k < 3; k++)
			ms[k][i] = run(p, st, &id, &b[k], &kept[k]);
		printf("run %d: no bound %.1f ms, bound 1 %.1f ms, bound 5 %.1f ms\n", i + 1,
		    ms[0][i], ms[1][i], ms[2][i]);
	}
	for (k = 0; k < 3; k++)
		printf("Q1 over %llu rows, bound %u: median %.1f ms (%llu rows in the answer)\n",
		    (unsigned long long)rows, bounds[k], bench_median(ms[k], runs),
		    (unsigned long long)kept[k]);
	store_close(st);
	plan_free(p);
	sql_free(q);
	schema_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	return system(cmd) == 0 ? 0 : 1;
}
