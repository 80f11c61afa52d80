/*
 * tests/unit/broker/plan_check_test.c -- the broker's check of a PLAN and
 * its release of a RESULT, fed forged frames: what a compromised worker may
 * send, not only what the honest one does (broker/plan_check.h,
 * broker/release.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "broker/plan_check.h"
#include "broker/release.h"
#include "common/err.h"
#include "common/fn.h"
#include "common/schema.h"
#include "contracts/contract.h"
#include "sandbox/job.h"

enum { C_UID, C_REGION, C_AGE, C_PRICE, C_SCORE, C_NOTE, C_SECRET, C_DAY, NCOLS };

static const char schema_json[] =
    "{\"name\":\"shop\",\"columns\":["
    "{\"name\":\"uid\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"region\",\"type\":\"TEXT\",\"class\":\"dimension\","
    "\"domain\":[\"north\",\"south\"]},"
    "{\"name\":\"age\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[0,120]},"
    "{\"name\":\"price\",\"type\":\"DECIMAL(10,2)\",\"class\":\"measure\",\"bounds\":[0,500]},"
    "{\"name\":\"score\",\"type\":\"REAL\",\"class\":\"measure\",\"bounds\":[-10,10]},"
    "{\"name\":\"note\",\"type\":\"TEXT\",\"class\":\"hidden\"},"
    "{\"name\":\"secret\",\"type\":\"INT\",\"class\":\"dimension\"},"
    "{\"name\":\"day\",\"type\":\"DATE\",\"class\":\"dimension\"}]}";

/* The query text every forged plan claims to answer. */
static const char text[] =
    "SELECT region, BUCKET(age, 10), COUNT(*) AS \"the \"\"n\"\"\", SUM(price) AS total\n"
    "FROM shop WHERE age > 3 GROUP BY region, BUCKET(age, 10) ORDER BY total DESC LIMIT 5";

struct fx {
	struct schema *s;
	struct contract_terms t;
	char *cols[NCOLS];
	/* the plan an honest worker sends for text, to be forged */
	uint32_t reads[4], filters[1];
	struct job_plan_key keys[2];
	struct job_plan_agg aggs[2];
	struct job_plan_output outs[4];
	struct job_plan_order order[1];
	struct job_plan p;
};

static int
setup(void **state)
{
	static char region[] = "region", age[] = "age", price[] = "price", score[] = "score",
	            day[] = "day";
	struct fx *fx = calloc(1, sizeof *fx);

	assert_non_null(fx);
	assert_int_equal(schema_parse(schema_json, strlen(schema_json), &fx->s), 0);
	/* The contract opens region, age, price, score and day, not secret; COUNT, SUM, AVG. */
	fx->cols[0] = region;
	fx->cols[1] = age;
	fx->cols[2] = price;
	fx->cols[3] = score;
	fx->cols[4] = day;
	fx->t.columns = fx->cols;
	fx->t.ncolumns = 5;
	fx->t.aggregates = FN_AGG_BIT(FN_COUNT) | FN_AGG_BIT(FN_SUM) | FN_AGG_BIT(FN_AVG);
	fx->t.mode = CONTRACT_THRESHOLD;
	fx->t.min_group = 3;
	memcpy(fx->reads, (uint32_t[]){C_UID, C_REGION, C_AGE, C_PRICE}, sizeof fx->reads);
	fx->filters[0] = C_AGE;
	fx->keys[0] = (struct job_plan_key){FN_KEY_COLUMN, C_REGION, {0, 0, 0}};
	/* "10" in the SELECT item BUCKET(age, 10): line 1, column 28 */
	fx->keys[1] = (struct job_plan_key){FN_KEY_BUCKET, C_AGE, {1, 28, 2}};
	fx->aggs[0] = (struct job_plan_agg){FN_COUNT, JOB_NO_COLUMN, 0};
	fx->aggs[1] = (struct job_plan_agg){FN_SUM, C_PRICE, 1};
	fx->outs[0] = (struct job_plan_output){0, 0, {0, 0, 0}};
	fx->outs[1] = (struct job_plan_output){0, 1, {0, 0, 0}};
	fx->outs[2] = (struct job_plan_output){1, 0, {1, 45, 11}};
	fx->outs[3] = (struct job_plan_output){1, 1, {1, 72, 5}};
	fx->order[0] = (struct job_plan_order){3, 1};
	fx->p = (struct job_plan){fx->reads, 4, fx->filters, 1, fx->keys, 2, fx->aggs, 2, fx->outs,
	    4, fx->order, 1, 1, 5};
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	schema_free(fx->s);
	free(fx);
	return 0;
}

/* Encode fx's plan as it stands and check it: plan_check()'s code, *cp filled. */
static int
check(struct fx *fx, struct checked_plan *cp)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	assert_int_equal(job_plan_encode(&fx->p, &buf, &len), 0);
	sl_err_clear();
	r = plan_check(buf, len, text, strlen(text), fx->s, &fx->t, cp);
	free(buf);
	return r;
}

/* The plan as forged is refused with code want and a message containing words. */
static void
refused(struct fx *fx, int want, const char *words)
{
	struct checked_plan cp;
	int r = check(fx, &cp);

	/* The broker describes every plan it checked, refused ones too, in its audit. */
	json_decref(plan_check_json(&cp, fx->s));
	checked_plan_clear(&cp);
	if (r != want)
		fail_msg("expected %d (%s), got %d: %s", want, words, r, r ? sl_err_msg(r) : "");
	if (strstr(sl_err_msg(r), words) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", sl_err_msg(r), words);
}

static void
test_honest_plan_named_from_text(void **state)
{
	struct fx *fx = *state;
	struct checked_plan cp;
	json_t *doc, *want;
	char *got;

	assert_int_equal(check(fx, &cp), 0);
	want = json_pack("[s, s, s, s]", "region", "BUCKET(age, 10)", "the \"n\"", "total");
	if (!json_equal(cp.names, want))
		fail_msg("names %s", (got = json_dumps(cp.names, JSON_COMPACT)));
	json_decref(want);
	/* The width is the broker's reading of the text: 10 years. */
	assert_int_equal(cp.keys[1].width, 10);
	doc = plan_check_json(&cp, fx->s);
	got = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(got, "\"keys\":[{\"column\":\"region\",\"fn\":\"column\"},"
	                            "{\"column\":\"age\",\"fn\":\"bucket\",\"width\":10}]"));
	assert_non_null(strstr(got, "\"bounds\":[0,50000]"));
	free(got);
	json_decref(doc);
	checked_plan_clear(&cp);
}

/* A worker that points a name or a width anywhere but a name or a number of the text. */
static void
test_spans_outside_the_text(void **state)
{
	struct fx *fx = *state;

	fx->outs[3].alias = (struct job_span){1, 72, 500}; /* past the end */
	refused(fx, SL_ERR_PARSE, "an alias that is not a name in the query");
	fx->outs[3].alias = (struct job_span){9, 1, 3}; /* no line 9 */
	refused(fx, SL_ERR_PARSE, "an alias that is not a name in the query");
	fx->outs[3].alias = (struct job_span){1, 71, 7}; /* " total\n": not one word */
	refused(fx, SL_ERR_PARSE, "an alias that is not a name in the query");
	fx->outs[3].alias = (struct job_span){1, 72, 5};
	fx->keys[1].width = (struct job_span){1, 1, 6}; /* "SELECT" */
	refused(fx, SL_ERR_PARSE, "a BUCKET width that is not a number of the query");
	fx->keys[1].width = (struct job_span){2, 84, 1}; /* LIMIT's "5": a number, so allowed */
	{
		struct checked_plan cp;

		assert_int_equal(check(fx, &cp), 0);
		assert_int_equal(cp.keys[1].width, 5);
		checked_plan_clear(&cp);
	}
}

static void
test_policy(void **state)
{
	struct fx *fx = *state;

	fx->keys[0].col = C_UID;
	fx->reads[1] = C_UID;
	refused(fx, SL_ERR_POLICY, "column uid is the privacy unit");
	fx->keys[0].col = C_NOTE;
	fx->reads[1] = C_NOTE;
	refused(fx, SL_ERR_POLICY, "column note is hidden");
	fx->keys[0].col = C_SECRET;
	fx->reads[1] = C_SECRET;
	refused(fx, SL_ERR_POLICY, "column secret is not among the contract's columns");
	fx->keys[0].col = C_REGION;
	fx->reads[1] = C_REGION;
	fx->filters[0] = C_PRICE;
	refused(fx, SL_ERR_POLICY, "column price is a measure: it may only be aggregated");
	fx->filters[0] = C_AGE;
	fx->aggs[1].fn = FN_VARIANCE;
	refused(fx, SL_ERR_POLICY, "the contract does not allow VARIANCE");
	fx->aggs[1].fn = FN_MAX;
	fx->t.aggregates |= FN_AGG_BIT(FN_MAX);
	fx->t.mode = CONTRACT_DP; /* even if the terms listed it */
	refused(fx, SL_ERR_POLICY, "MAX is not released in dp mode");
	fx->t.mode = CONTRACT_THRESHOLD;
	fx->aggs[1].fn = FN_SUM;
	fx->aggs[1].clamp = 0;
	refused(fx, SL_ERR_POLICY, "aggregate over price without its clamping bounds");
	fx->aggs[1].clamp = 1;
	fx->reads[1] = C_SCORE; /* read, never used */
	refused(fx, SL_ERR_POLICY, "the plan reads column score without using it");
}

static void
test_malformed(void **state)
{
	struct fx *fx = *state;

	fx->keys[0].col = NCOLS;
	refused(fx, SL_ERR_PARSE, "a column that is not in the schema");
	fx->keys[0].col = C_REGION;
	fx->keys[1].col = C_REGION; /* BUCKET of TEXT */
	refused(fx, SL_ERR_PARSE, "BUCKET over a column that is not numeric");
	fx->keys[1] = (struct job_plan_key){FN_KEY_YEAR, C_AGE, {0, 0, 0}};
	refused(fx, SL_ERR_PARSE, "YEAR or MONTH of a column that is not a DATE");
	fx->keys[1] = (struct job_plan_key){FN_KEY_BUCKET, C_AGE, {1, 28, 2}};
	fx->aggs[1].col = C_REGION;
	fx->aggs[1].clamp = 0;
	refused(fx, SL_ERR_PARSE, "needs a number");
	fx->aggs[1] = (struct job_plan_agg){FN_COUNT, JOB_NO_COLUMN, 1};
	refused(fx, SL_ERR_PARSE, "COUNT(*) with bounds");
}

/*
 * Bytes that are no plan at all: refused, and described as nothing; the
 * description once leaked its half-built arrays here (found by plan_check_fuzz).
 */
static void
test_not_a_plan(void **state)
{
	struct fx *fx = *state;
	static const uint8_t junk[] = {0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
	struct checked_plan cp;

	sl_err_clear();
	assert_int_equal(plan_check(junk, sizeof junk, text, strlen(text), fx->s, &fx->t, &cp),
	    SL_ERR_PARSE);
	assert_null(plan_check_json(&cp, fx->s));
	checked_plan_clear(&cp);
}

/* ---- release ---------------------------------------------------------------- */

/*
 * A RESULT for fx's honest plan: groups of (region, age bucket) with count
 * and SUM(price) in cents, as forged by the test.
 */
struct forged {
	struct job_value keys[8];
	struct job_agg_state aggs[8];
	struct job_group groups[4];
	struct job_result res;
};

static void
forge(struct forged *f, size_t n)
{
	static const char *const reg[] = {"north", "south", "north", "south"};
	size_t g;

	memset(f, 0, sizeof *f);
	for (g = 0; g < n; g++) {
		f->keys[2 * g] = (struct job_value){
		    .type = JOB_VALUE_TEXT, .s = (const uint8_t *)reg[g], .len = 5};
		f->keys[2 * g + 1] =
		    (struct job_value){.type = JOB_VALUE_INT, .i = 10 * (int64_t)g};
		f->aggs[2 * g] = (struct job_agg_state){.n = 4 + g};
		f->aggs[2 * g + 1] = (struct job_agg_state){
		    .n = 4 + g, .value = {.type = JOB_VALUE_INT, .i = 1000 * (int64_t)(g + 1)}};
		f->groups[g] = (struct job_group){f->keys + 2 * g, 4 + g, 4 + g, f->aggs + 2 * g};
	}
	f->res = (struct job_result){100, 2, 2, f->groups, n, NULL, NULL, NULL};
}

/* Release f through the codec for fx's plan: release_apply()'s code and *out. */
static int
release(struct fx *fx, const struct forged *f, struct release_answer *out)
{
	uint32_t fns[2] = {FN_COUNT, FN_SUM};
	struct checked_plan cp;
	struct job_result back;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	assert_int_equal(check(fx, &cp), 0);
	assert_int_equal(job_result_encode(&f->res, fns, &buf, &len), 0);
	assert_int_equal(job_result_decode(buf, len, &cp.p, &back), 0);
	sl_err_clear();
	r = release_apply(&cp, &back, &fx->t, 100, NULL, out);
	job_result_clear(&back);
	free(buf);
	checked_plan_clear(&cp);
	return r;
}

static void
lie(struct fx *fx, struct forged *f, const char *words)
{
	struct release_answer a;
	int r = release(fx, f, &a);

	if (r != SL_ERR_PARSE || strstr(sl_err_msg(r), words) == NULL)
		fail_msg("lie \"%s\": got %d: %s", words, r, sl_err_msg(r));
	assert_null(a.rows);
}

static void
test_release_honest(void **state)
{
	struct fx *fx = *state;
	struct release_answer a;
	struct forged f;
	char *got;

	forge(&f, 3);
	f.groups[0].units = 2; /* under min_group 3: suppressed */
	assert_int_equal(release(fx, &f, &a), 0);
	assert_int_equal(a.suppressed, 1);
	got = json_dumps(a.rows, JSON_COMPACT);
	/* ORDER BY total DESC; price in yuan from cents */
	assert_string_equal(got, "[[\"north\",20,6,30.0],[\"south\",10,5,20.0]]");
	free(got);
	got = json_dumps(a.columns, JSON_COMPACT);
	assert_string_equal(got, "[\"region\",\"BUCKET(age, 10)\",\"the \\\"n\\\"\",\"total\"]");
	free(got);
	release_answer_clear(&a);
}

static void
test_release_lies(void **state)
{
	struct fx *fx = *state;
	struct forged f;

	forge(&f, 2);
	f.keys[2] = f.keys[0];
	f.keys[3] = f.keys[1];
	lie(fx, &f, "a group key appears twice");
	forge(&f, 2);
	f.keys[0].len = 4; /* "nort": not in the domain */
	lie(fx, &f, "not a value its column can hold");
	forge(&f, 2);
	f.keys[1].i = 15; /* not a multiple of the width the text says */
	lie(fx, &f, "not a value its column can hold");
	forge(&f, 2);
	f.keys[1] = (struct job_value){.type = JOB_VALUE_REAL, .r = 10};
	lie(fx, &f, "not a value its column can hold");
	forge(&f, 2);
	f.groups[1].rows = 97; /* 4 + 97 > the version's 100 */
	lie(fx, &f, "more rows than the version");
	forge(&f, 2);
	f.groups[0].units = 5;
	lie(fx, &f, "row or unit count is out of range");
	forge(&f, 2);
	f.aggs[0].n = 3; /* COUNT(*) other than the group's rows */
	lie(fx, &f, "an aggregate is malformed or out of bounds");
	forge(&f, 2);
	f.aggs[1].value.i = 4 * 50000 + 1; /* above n x the bound */
	lie(fx, &f, "an aggregate is malformed or out of bounds");
	forge(&f, 2);
	f.aggs[1].value = (struct job_value){.type = JOB_VALUE_REAL, .r = 1};
	lie(fx, &f, "an aggregate is malformed or out of bounds");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_honest_plan_named_from_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spans_outside_the_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_plan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_honest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_lies, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
