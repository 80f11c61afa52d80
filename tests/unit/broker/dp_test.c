/*
 * tests/unit/broker/dp_test.c -- the dp release mode's noise (broker/dp.h):
 * its calibration from the terms and the bounds, what dp mode refuses, the
 * distribution of released values, a differencing pair, partition
 * selection, and the release step with noise.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker/dp.h"
#include "broker/noise.h"
#include "broker/plan_check.h"
#include "broker/release.h"
#include "common/err.h"
#include "common/fn.h"
#include "common/schema.h"
#include "contracts/contract.h"
#include "keys/keys.h"
#include "sandbox/job.h"

enum { C_UID, C_REGION, C_AGE, C_PRICE, C_QTY, C_TIER, NCOLS };

static const char schema_json[] =
    "{\"name\":\"shop\",\"columns\":["
    "{\"name\":\"uid\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"region\",\"type\":\"TEXT\",\"class\":\"dimension\","
    "\"domain\":[\"north\",\"south\"]},"
    "{\"name\":\"age\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[0,120]},"
    "{\"name\":\"price\",\"type\":\"DECIMAL(10,2)\",\"class\":\"measure\",\"bounds\":[0,500]},"
    "{\"name\":\"qty\",\"type\":\"INT\",\"class\":\"measure\",\"bounds\":[0,10]},"
    "{\"name\":\"tier\",\"type\":\"INT\",\"class\":\"dimension\",\"nullable\":true,"
    "\"domain\":[1,2]}]}";

/* Age has no declared domain: its groups go through partition selection. */
static const char text[] = "SELECT age, COUNT(*), SUM(qty), AVG(price) FROM shop GROUP BY age";
/* Region and tier have public domains: 2 x 3 groups (tier may be NULL). */
static const char public_text[] =
    "SELECT region, tier, COUNT(*), SUM(qty), AVG(price) FROM shop GROUP BY region, tier";

struct fx {
	struct schema *s;
	struct contract_terms t;
	char *cols[NCOLS];
	uint32_t reads[5];
	struct job_plan_key keys[2];
	struct job_plan_agg aggs[3];
	struct job_plan_output outs[5];
	struct job_plan p;
	struct checked_plan cp;
	struct noise_rng *rng;
};

/* The fixture for a query grouped by age, or with public, by region and tier. */
static int
setup_query(void **state, int public)
{
	static char region[] = "region", price[] = "price", qty[] = "qty", age[] = "age",
	            tier[] = "tier";
	struct fx *fx = calloc(1, sizeof *fx);
	const char *q = public ? public_text : text;
	size_t nk = public ? 2 : 1, i;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_non_null(fx);
	assert_int_equal(keys_init(0), 0);
	assert_int_equal(noise_rng_new(&fx->rng), 0);
	assert_int_equal(schema_parse(schema_json, strlen(schema_json), &fx->s), 0);
	fx->cols[0] = region;
	fx->cols[1] = price;
	fx->cols[2] = qty;
	fx->cols[3] = age;
	fx->cols[4] = tier;
	fx->t.columns = fx->cols;
	fx->t.ncolumns = 5;
	fx->t.aggregates = ~0u;
	fx->t.mode = CONTRACT_DP;
	fx->t.mechanism = CONTRACT_LAPLACE;
	fx->t.budget_total = (struct rational){10, 1};
	fx->t.budget_per_query = (struct rational){1, 1};
	fx->t.delta = (struct rational){1, 1000000};
	fx->t.max_rows_per_unit = 1;
	memcpy(fx->reads, (uint32_t[]){C_UID, public ? C_REGION : C_AGE, C_PRICE, C_QTY, C_TIER},
	    sizeof fx->reads);
	fx->keys[0] = (struct job_plan_key){FN_KEY_COLUMN, public ? C_REGION : C_AGE, {0, 0, 0}};
	fx->keys[1] = (struct job_plan_key){FN_KEY_COLUMN, C_TIER, {0, 0, 0}};
	fx->aggs[0] = (struct job_plan_agg){FN_COUNT, JOB_NO_COLUMN, 0};
	fx->aggs[1] = (struct job_plan_agg){FN_SUM, C_QTY, 1};
	fx->aggs[2] = (struct job_plan_agg){FN_AVG, C_PRICE, 1};
	for (i = 0; i < nk; i++)
		fx->outs[i] = (struct job_plan_output){0, (uint32_t)i, {0, 0, 0}};
	for (i = 0; i < 3; i++)
		fx->outs[nk + i] = (struct job_plan_output){1, (uint32_t)i, {0, 0, 0}};
	fx->p = (struct job_plan){fx->reads, public ? 5 : 4, NULL, 0, fx->keys, nk, fx->aggs, 3,
	    fx->outs, nk + 3, NULL, 0, 0, 0};
	assert_int_equal(job_plan_encode(&fx->p, &buf, &len), 0);
	assert_int_equal(plan_check(buf, len, q, strlen(q), fx->s, &fx->t, &fx->cp), 0);
	free(buf);
	*state = fx;
	return 0;
}

static int
setup(void **state)
{
	return setup_query(state, 0);
}

static int
setup_public(void **state)
{
	return setup_query(state, 1);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	checked_plan_clear(&fx->cp);
	noise_rng_free(fx->rng);
	schema_free(fx->s);
	free(fx);
	return 0;
}

static void
test_calibration(void **state)
{
	struct fx *fx = *state;
	struct dp_query dq;

	assert_int_equal(dp_prepare(&fx->cp, &fx->t, &dq), 0);
	/* units, rows, SUM(qty), AVG(price): epsilon 1 split four ways */
	assert_int_equal(dq.nq, 4);
	assert_int_equal(dq.share.num, 1);
	assert_int_equal(dq.share.den, 4);
	assert_int_equal(dq.q[1].kind, DP_ROWS);
	assert_int_equal(dq.q[1].scale.num, 4); /* sensitivity 1 / (1/4) */
	assert_int_equal(dq.q[1].scale.den, 1);
	/* qty in [0, 10]: shifted to 5, sensitivity 5, scale 20 */
	assert_int_equal(dq.q[2].kind, DP_SUM);
	assert_int_equal(dq.q[2].mid, 5);
	assert_int_equal(dq.q[2].sensitivity, 5);
	assert_int_equal(dq.q[2].scale.num, 20);
	/* price in [0, 500] yuan is [0, 50000] fen: sensitivity 25000, scale 100000 */
	assert_int_equal(dq.q[3].sensitivity, 25000);
	assert_int_equal(dq.q[3].scale.num, 100000);
	/* tau = 1 + 4 ln(1 / 2e-6) = 53.5, so 54 */
	assert_int_equal(dq.tau, 54);
	dp_query_clear(&dq);
	/* Five rows a unit: five times the sensitivity */
	fx->t.max_rows_per_unit = 5;
	assert_int_equal(dp_prepare(&fx->cp, &fx->t, &dq), 0);
	assert_int_equal(dq.q[1].scale.num, 20);
	dp_query_clear(&dq);
	/* Gaussian: sigma^2 = 1 / (2 * 1/4) = 2 for the rows */
	fx->t.max_rows_per_unit = 1;
	fx->t.mechanism = CONTRACT_GAUSSIAN;
	assert_int_equal(dp_prepare(&fx->cp, &fx->t, &dq), 0);
	assert_int_equal(dq.gaussian, 1);
	assert_int_equal(dq.q[1].scale.num, 2);
	assert_int_equal(dq.q[1].scale.den, 1);
	assert_true(dq.tau > 1);
	dp_query_clear(&dq);
}

static void
test_refused(void **state)
{
	struct fx *fx = *state;
	struct dp_query dq;
	int r;

	fx->cp.p.aggs[1].fn = FN_MAX;
	sl_err_clear();
	r = dp_prepare(&fx->cp, &fx->t, &dq);
	assert_int_equal(r, SL_ERR_POLICY);
	assert_non_null(strstr(sl_err_msg(r), "MAX(qty) is not released in dp mode"));
	fx->cp.p.aggs[2].fn = FN_MIN;
	fx->cp.p.aggs[1].fn = FN_SUM;
	sl_err_clear();
	r = dp_prepare(&fx->cp, &fx->t, &dq);
	assert_int_equal(r, SL_ERR_POLICY);
	assert_non_null(strstr(sl_err_msg(r), "MIN(price) is not released in dp mode"));
	fx->cp.p.aggs[2].fn = FN_AVG;
	/* ten rows of price's squares (10 x 25,000^2 fen^2) are beyond the Gaussian's reach */
	fx->cp.p.aggs[2].fn = FN_VARIANCE;
	fx->t.mechanism = CONTRACT_GAUSSIAN;
	fx->t.max_rows_per_unit = 10;
	sl_err_clear();
	r = dp_prepare(&fx->cp, &fx->t, &dq);
	assert_int_equal(r, SL_ERR_POLICY);
	assert_non_null(strstr(sl_err_msg(r), "VARIANCE(price): its bounds are too wide"));
	fx->t.mechanism = CONTRACT_LAPLACE;
	fx->t.max_rows_per_unit = 1;
	fx->cp.p.aggs[2].fn = FN_AVG;
}

/* One group of rows rows and units units, SUM(qty) = sum over n rows, AVG(price) over n. */
static void
group_of(struct job_group *g, struct job_value *key, struct job_agg_state *aggs, int64_t rows,
    int64_t sum)
{
	*key = (struct job_value){.type = JOB_VALUE_INT, .i = 40};
	aggs[0] = (struct job_agg_state){.n = (uint64_t)rows};
	aggs[1] =
	    (struct job_agg_state){.n = (uint64_t)rows, .value = {.type = JOB_VALUE_INT, .i = sum}};
	aggs[2] = (struct job_agg_state){
	    .n = (uint64_t)rows, .value = {.type = JOB_VALUE_INT, .i = 25000 * rows}};
	*g = (struct job_group){key, (uint64_t)rows, (uint64_t)rows, aggs};
}

/* The released COUNT(*) of one group of rows rows, n times: into out[0..n). */
static void
released_counts(struct fx *fx, int64_t rows, int64_t *out, size_t n)
{
	struct dp_query dq;
	struct job_group g;
	struct job_value key;
	struct job_agg_state aggs[3];
	int64_t noise[4];
	size_t i;

	assert_int_equal(dp_prepare(&fx->cp, &fx->t, &dq), 0);
	group_of(&g, &key, aggs, rows, 5 * rows);
	for (i = 0; i < n; i++) {
		struct dp_noise dn = {&dq, noise, 1};
		json_t *v;

		assert_int_equal(dp_draw(fx->rng, &dq, 1, noise), 0);
		v = dp_value(&dn, 0, &g, FN_COUNT, 0, NULL);
		out[i] = json_integer_value(v);
		json_decref(v);
	}
	dp_query_clear(&dq);
}

static void
test_distribution(void **state)
{
	struct fx *fx = *state;
	enum { N = 20000 };
	int64_t *a = calloc(N, sizeof *a);
	double mean = 0, var = 0;
	size_t i;

	assert_non_null(a);
	released_counts(fx, 1000, a, N);
	for (i = 0; i < N; i++)
		mean += (double)a[i] / N;
	for (i = 0; i < N; i++)
		var += ((double)a[i] - mean) * ((double)a[i] - mean) / (N - 1);
	/* Laplace at scale 4: variance 2 r / (1 - r)^2, r = e^(-1/4): about 31.5 */
	if (fabs(mean - 1000) > 4 * sqrt(31.5 / N) || fabs(var - 31.5) > 0.1 * 31.5)
		fail_msg(
		    "released COUNT: mean %.3f (want 1000), variance %.2f (want 31.5)", mean, var);
	free(a);
}

/*
 * The differencing pair: one member more or less moves COUNT by one, and
 * what is released for the two data sets is within e^epsilon of each other
 * at every value seen often enough to tell (epsilon = the rows' share, 1/4).
 */
static void
test_differencing(void **state)
{
	struct fx *fx = *state;
	enum { N = 200000, LO = 990, HI = 1012 };
	int64_t *a = calloc(N, sizeof *a), *b = calloc(N, sizeof *b);
	double ca[HI - LO] = {0}, cb[HI - LO] = {0}, worst = 0;
	size_t i;

	assert_non_null(a);
	assert_non_null(b);
	released_counts(fx, 1000, a, N);
	released_counts(fx, 1001, b, N);
	for (i = 0; i < N; i++) {
		if (a[i] >= LO && a[i] < HI)
			ca[a[i] - LO]++;
		if (b[i] >= LO && b[i] < HI)
			cb[b[i] - LO]++;
	}
	for (i = 0; i < HI - LO; i++) {
		double ratio;

		if (ca[i] < 2000 || cb[i] < 2000)
			continue;
		ratio = ca[i] > cb[i] ? ca[i] / cb[i] : cb[i] / ca[i];
		if (ratio > worst)
			worst = ratio;
	}
	/* e^(1/4) = 1.284; sampling error at 2,000 draws a bin is under 10 % */
	if (worst > 1.284 * 1.1 || worst < 1.1)
		fail_msg(
		    "the pair's probability ratio reaches %.3f; the scale allows 1.284", worst);
	free(a);
	free(b);
}

/* A group of one unit is released about as often as delta allows; a large one always. */
static void
test_partition_selection(void **state)
{
	struct fx *fx = *state;
	struct dp_query dq;
	struct job_group small, large;
	struct job_value k1, k2;
	struct job_agg_state a1[3], a2[3];
	int64_t noise[4];
	int released_small = 0, released_large = 0, i;

	assert_int_equal(dp_prepare(&fx->cp, &fx->t, &dq), 0);
	group_of(&small, &k1, a1, 1, 5);
	group_of(&large, &k2, a2, 1000, 5000);
	for (i = 0; i < 20000; i++) {
		struct dp_noise dn = {&dq, noise, 1};

		assert_int_equal(dp_draw(fx->rng, &dq, 1, noise), 0);
		released_small += dp_admit(&dn, 0, &small);
		released_large += dp_admit(&dn, 0, &large);
	}
	/* P(1 + Lap(4) >= 54) is about 1e-6: 20,000 tries release it at most once in a blue moon */
	assert_true(released_small <= 1);
	assert_int_equal(released_large, 20000);
	dp_query_clear(&dq);
}

static void
test_release_with_noise(void **state)
{
	struct fx *fx = *state;
	struct dp_query dq;
	struct job_group g[2];
	struct job_value k[2];
	struct job_agg_state a[6];
	struct job_result res;
	struct release_answer out;
	int64_t noise[8] = {0};
	struct dp_noise dn = {&dq, noise, 2};
	char *got;
	int r;

	assert_int_equal(dp_prepare(&fx->cp, &fx->t, &dq), 0);
	group_of(&g[0], &k[0], a, 1000, 5500);
	group_of(&g[1], &k[1], a + 3, 3, 15);
	k[1].i = 41;
	res = (struct job_result){2000, 1, 3, g, 2, NULL, NULL, NULL};
	/* noise: units +0, rows +7, SUM(qty) -3, AVG(price) +0 */
	noise[1] = 7;
	noise[2] = -3;
	assert_int_equal(release_apply(&fx->cp, &res, &fx->t, 2000, &dn, &out), 0);
	assert_int_equal(out.suppressed, 1); /* age 41 has 3 units, below tau */
	got = json_dumps(out.rows, JSON_COMPACT);
	/*
	 * COUNT 1007; SUM = (5500 - 5 * 1000) - 3 + 5 * 1007 = 5532; every price is the
	 * midpoint 25000 fen, so the shifted sum is 0 and AVG is 250.00 yuan exactly.
	 */
	assert_string_equal(got, "[[40,1007,5532,250.0]]");
	free(got);
	got = json_dumps(out.release, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(got, "\"mechanism\":\"laplace\""));
	assert_non_null(strstr(got, "\"epsilon\":\"1\""));
	assert_non_null(strstr(got, "\"tau\":54"));
	free(got);
	release_answer_clear(&out);
	/* A worker that did not bound: 1,000 rows from 500 units at one row a unit. */
	g[0].units = 500;
	sl_err_clear();
	r = release_apply(&fx->cp, &res, &fx->t, 2000, &dn, &out);
	assert_int_equal(r, SL_ERR_PARSE);
	assert_non_null(strstr(sl_err_msg(r), "more rows than the contribution bound"));
	g[0].units = 1000;
	/* Without its noise, a dp contract's release is refused. */
	assert_int_equal(release_apply(&fx->cp, &res, &fx->t, 2000, NULL, &out), SL_ERR_INTERNAL);
	dp_query_clear(&dq);
}

/* VARIANCE and STDDEV from the noisy count, shifted sum and shifted sum of squares. */
static void
test_variance(void **state)
{
	struct fx *fx = *state;
	struct dp_query dq;
	struct job_group g;
	struct job_value key;
	struct job_agg_state aggs[3];
	int64_t noise[5] = {0};
	struct dp_noise dn = {&dq, noise, 1};
	const struct schema_column *qty = &fx->s->cols[C_QTY];
	json_t *v;

	fx->cp.p.aggs[1].fn = FN_VARIANCE;
	assert_int_equal(dp_prepare(&fx->cp, &fx->t, &dq), 0);
	/* units, rows, sum and squares of qty, sum of price: epsilon 1 five ways */
	assert_int_equal(dq.nq, 5);
	assert_int_equal(dq.q[2].kind, DP_SUM);
	assert_int_equal(dq.q[3].kind, DP_SUMSQ);
	assert_int_equal(dq.q[3].sensitivity, 25); /* half 5, squared */
	assert_int_equal(dq.q[3].scale.num, 125);
	/* qty 0, 10, 0, 10: sum 20, squares 200; shifted to 5, s1 = 0 and s2 = 100 */
	group_of(&g, &key, aggs, 4, 20);
	aggs[1].sumsq = 200;
	v = dp_value(&dn, 0, &g, FN_VARIANCE, 1, qty);
	assert_true(fabs(json_real_value(v) - 100.0 / 3) < 1e-9);
	json_decref(v);
	v = dp_value(&dn, 0, &g, FN_STDDEV, 1, qty);
	assert_true(fabs(json_real_value(v) - sqrt(100.0 / 3)) < 1e-9);
	json_decref(v);
	/* Noise that would put it past what values in [0, 10] can spread: 25 * 4 / 3 */
	noise[3] = 1000;
	v = dp_value(&dn, 0, &g, FN_VARIANCE, 1, qty);
	assert_true(fabs(json_real_value(v) - 100.0 / 3) < 1e-9);
	json_decref(v);
	noise[3] = -1000; /* below 0: 0 */
	v = dp_value(&dn, 0, &g, FN_VARIANCE, 1, qty);
	assert_true(json_real_value(v) == 0);
	json_decref(v);
	noise[1] = -3; /* a noisy count of 1: no variance */
	v = dp_value(&dn, 0, &g, FN_VARIANCE, 1, qty);
	assert_true(json_is_null(v));
	json_decref(v);
	/* The released spread is unbiased around the truth over many draws. */
	{
		enum { N = 4000 };
		double mean = 0;
		int i;

		group_of(&g, &key, aggs, 1000, 5000);
		aggs[1].sumsq = 500 * 100; /* half the rows 10, half 0: variance about 25 */
		for (i = 0; i < N; i++) {
			assert_int_equal(dp_draw(fx->rng, &dq, 1, noise), 0);
			v = dp_value(&dn, 0, &g, FN_VARIANCE, 1, qty);
			mean += json_real_value(v) / N;
			json_decref(v);
		}
		if (fabs(mean - 25025.0 / 999 * 999 / 1000) > 0.5)
			fail_msg("released VARIANCE averages %.3f, want about 25", mean);
	}
	dp_query_clear(&dq);
}

/* Public domains: every group of region x tier, empty ones too, and no tau. */
static void
test_public_groups(void **state)
{
	struct fx *fx = *state;
	struct dp_query dq;
	struct job_group g;
	struct job_value k[2];
	struct job_agg_state a[3];
	struct job_result res;
	struct release_answer out;
	int64_t noise[6 * 3] = {0};
	struct dp_noise dn = {&dq, noise, 6};
	char *got;
	int i, r;

	assert_int_equal(dp_prepare(&fx->cp, &fx->t, &dq), 0);
	assert_int_equal(dq.public_groups, 6);
	assert_int_equal(dq.nq, 3); /* rows, SUM(qty), AVG(price): no unit count */
	assert_int_equal(dq.share.den, 3);
	assert_int_equal(dq.tau, 0);
	assert_int_equal(dp_groups(&dq, 1), 6);
	/* one unit in (north, 2): released like every other group */
	group_of(&g, k, a, 1, 5);
	g.keys = k;
	k[0] = (struct job_value){.type = JOB_VALUE_TEXT, .s = (const uint8_t *)"north", .len = 5};
	k[1] = (struct job_value){.type = JOB_VALUE_INT, .i = 2};
	res = (struct job_result){2000, 2, 3, &g, 1, NULL, NULL, NULL};
	assert_int_equal(release_apply(&fx->cp, &res, &fx->t, 2000, &dn, &out), 0);
	assert_int_equal(out.suppressed, 0);
	got = json_dumps(out.rows, JSON_COMPACT);
	assert_string_equal(got, "[[\"north\",1,0,0,null],[\"north\",2,1,5,250.0],"
	                         "[\"north\",null,0,0,null],[\"south\",1,0,0,null],"
	                         "[\"south\",2,0,0,null],[\"south\",null,0,0,null]]");
	free(got);
	got = json_dumps(out.release, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(got, "\"groups\":\"public\""));
	assert_non_null(strstr(got, "\"public_groups\":6"));
	assert_null(strstr(got, "\"tau\""));
	free(got);
	release_answer_clear(&out);
	/* With noise drawn, all six are there every time. */
	for (i = 0; i < 200; i++) {
		assert_int_equal(dp_draw(fx->rng, &dq, 6, noise), 0);
		assert_int_equal(release_apply(&fx->cp, &res, &fx->t, 2000, &dn, &out), 0);
		assert_int_equal(json_array_size(out.rows), 6);
		release_answer_clear(&out);
	}
	/* A worker's key outside the domain is an implausible answer. */
	k[1].i = 3;
	sl_err_clear();
	r = release_apply(&fx->cp, &res, &fx->t, 2000, &dn, &out);
	assert_int_equal(r, SL_ERR_PARSE);
	/* Noise for fewer than the public groups is the broker's own error. */
	k[1].i = 2;
	dn.ngroups = 5;
	assert_int_equal(release_apply(&fx->cp, &res, &fx->t, 2000, &dn, &out), SL_ERR_INTERNAL);
	dp_query_clear(&dq);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_calibration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_distribution, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_differencing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partition_selection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_with_noise, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_variance, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_public_groups, setup_public, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
