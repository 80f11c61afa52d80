/*
 * tests/fuzz/plan_check_fuzz.c -- libFuzzer harness for the broker's side of
 * a query: its check of a worker's PLAN against the schema and the contract
 * (broker/plan_check.c), the dp preparation of the checked plan
 * (broker/dp.c), and the release of the worker's RESULT (job_result_decode()
 * and broker/release.c).  The worker is confined but not trusted: every byte
 * of both frames may be a compromised worker's.
 *
 * The first byte picks the product (examples' claims or imaging schema) and
 * the contract's release mode (threshold, dp laplace, dp gaussian: every
 * column and aggregate the mode allows); then come the buyer's query text
 * (two bytes of length, big-endian, then the text), the PLAN payload (two
 * bytes of length, then the payload) and the RESULT payload (the rest), each
 * in a heap copy of exactly its length.
 *
 * plan_check() refuses with SL_ERR_PARSE, SL_ERR_POLICY, SL_ERR_VERSION or
 * SL_ERR_LIMIT and a recorded message; plan_check_json() of what it checked,
 * refused or not, is what the audit records, so it must be canonicalisable
 * (RFC 8785).  An accepted plan uses no unit, hidden or uncontracted column,
 * groups by no measure, and uses only aggregates the contract allows; each
 * output has a non-empty name.  A dp plan goes through dp_prepare() (refused
 * with SL_ERR_POLICY and a message) and is released with zero noise.  The
 * RESULT is decoded for the plan and released: a refusal is SL_ERR_PARSE,
 * POLICY or LIMIT with a message; an answer has the plan's names as its
 * columns, rows of one value each, canonicalisable, and as many rows as the
 * release rule admits (every group but the suppressed ones, a dp query over
 * public domains every public group, then LIMIT).
 *
 *   make fuzz && ./tests/fuzz/plan_check_fuzz -max_total_time=60 CORPUS tests/fuzz/corpus/plan_check
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker/dp.h"
#include "broker/plan_check.h"
#include "broker/release.h"
#include "common/err.h"
#include "common/fn.h"
#include "common/jcs.h"
#include "common/schema.h"
#include "tests/fuzz/check.h"
#include "contracts/contract.h"
#include "sandbox/job.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VERSION_ROWS 1000000

/* examples/claims.schema.json and imaging.schema.json without their prose. */
static const char claims_schema[] =
    "{\"name\":\"claims\",\"columns\":["
    "{\"name\":\"member_id\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"age\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[0,120]},"
    "{\"name\":\"sex\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"F\",\"M\"]},"
    "{\"name\":\"region\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"haishu\","
    "\"jiangbei\",\"beilun\",\"zhenhai\",\"yinzhou\",\"fenghua\",\"yuyao\",\"cixi\","
    "\"xiangshan\",\"ninghai\"]},"
    "{\"name\":\"plan\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"urban_employee\","
    "\"urban_rural_resident\",\"huimin_bao\",\"critical_illness\",\"supplementary_medical\","
    "\"long_term_care\"]},"
    "{\"name\":\"dx_chapter\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"I\",\"II\","
    "\"III\",\"IV\",\"V\",\"VI\",\"VII\",\"VIII\",\"IX\",\"X\",\"XI\",\"XII\",\"XIII\",\"XIV\","
    "\"XV\",\"XVI\",\"XVII\",\"XVIII\",\"XIX\",\"XXI\"]},"
    "{\"name\":\"claim_fen\",\"type\":\"INT\",\"class\":\"measure\",\"bounds\":[0,10000000]},"
    "{\"name\":\"paid_fen\",\"type\":\"INT\",\"class\":\"measure\",\"bounds\":[0,10000000]},"
    "{\"name\":\"inpatient_days\",\"type\":\"INT\",\"class\":\"measure\",\"bounds\":[0,365]},"
    "{\"name\":\"year\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[2019,2025],"
    "\"domain\":[2019,2020,2021,2022,2023,2024,2025]},"
    "{\"name\":\"admitted\",\"type\":\"DATE\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"name\",\"type\":\"TEXT\",\"class\":\"hidden\"}]}";
static const char imaging_schema[] =
    "{\"name\":\"imaging\",\"columns\":["
    "{\"name\":\"patient_id\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"age_band\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"0-9\","
    "\"10-19\",\"20-29\",\"30-39\",\"40-49\",\"50-59\",\"60-69\",\"70-79\",\"80+\"]},"
    "{\"name\":\"sex\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"F\",\"M\"]},"
    "{\"name\":\"modality\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"CT\",\"MR\","
    "\"XR\",\"US\",\"PET\",\"MG\"]},"
    "{\"name\":\"body_part\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"head\","
    "\"neck\",\"chest\",\"abdomen\",\"pelvis\",\"spine\",\"shoulder\",\"knee\",\"hand\",\"foot\","
    "\"breast\",\"whole_body\"]},"
    "{\"name\":\"ai_finding\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"normal\","
    "\"nodule\",\"fracture\",\"hemorrhage\",\"mass\",\"other\"]},"
    "{\"name\":\"confidence\",\"type\":\"REAL\",\"class\":\"measure\",\"bounds\":[0,1]},"
    "{\"name\":\"hospital\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"NB01\","
    "\"NB02\",\"NB03\",\"NB04\",\"NB05\",\"NB06\",\"NB07\",\"NB08\"]},"
    "{\"name\":\"study_date\",\"type\":\"DATE\",\"class\":\"dimension\"}]}";

/* The contract's columns (all but the unit and hidden ones), then its release. */
static const char *const columns[] = {
    "[\"age\",\"sex\",\"region\",\"plan\",\"dx_chapter\",\"claim_fen\",\"paid_fen\","
    "\"inpatient_days\",\"year\",\"admitted\"]",
    "[\"age_band\",\"sex\",\"modality\",\"body_part\",\"ai_finding\",\"confidence\","
    "\"hospital\",\"study_date\"]"};
static const char *const releases[] = {
    "\"aggregates\":[\"COUNT\",\"COUNT_DISTINCT\",\"SUM\",\"AVG\",\"STDDEV\",\"VARIANCE\","
    "\"MIN\",\"MAX\"],\"release\":{\"mode\":\"threshold\",\"min_group\":10}",
    "\"aggregates\":[\"COUNT\",\"COUNT_DISTINCT\",\"SUM\",\"AVG\",\"STDDEV\",\"VARIANCE\"],"
    "\"release\":{\"mode\":\"dp\",\"mechanism\":\"laplace\",\"epsilon_total\":10,"
    "\"epsilon_per_query\":1,\"max_rows_per_unit\":2}",
    "\"aggregates\":[\"COUNT\",\"COUNT_DISTINCT\",\"SUM\",\"AVG\",\"STDDEV\",\"VARIANCE\"],"
    "\"release\":{\"mode\":\"dp\",\"mechanism\":\"gaussian\",\"rho_total\":\"1\","
    "\"rho_per_query\":\"0.1\",\"delta\":\"1e-7\"}"};

static struct schema *schemas[2];
static struct contract_terms terms[2][3];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *texts[2] = {claims_schema, imaging_schema};
	char buf[1024];
	size_t i, k;
	json_t *j;

	(void)argc;
	(void)argv;
	for (i = 0; i < 2; i++) {
		CHECK(schema_parse(texts[i], strlen(texts[i]), &schemas[i]) == 0);
		for (k = 0; k < 3; k++) {
			snprintf(buf, sizeof buf,
			    "{\"purpose\":\"fuzz\",\"valid_from\":\"2026-01-01T00:00:00Z\","
			    "\"valid_until\":\"2036-01-01T00:00:00Z\",\"columns\":%s,%s,"
			    "\"price_fen\":0,\"revenue_shares\":{\"platform\":10000}}",
			    columns[i], releases[k]);
			CHECK((j = json_loads(buf, 0, NULL)) != NULL);
			CHECK(contract_terms_parse(j, &terms[i][k]) == 0);
			json_decref(j);
		}
	}
	return 0;
}

/* r is one of the codes allowed, with a message recorded (NOMEM may have none). */
static void
refused(int r, int a, int b, int c, int d)
{
	CHECK(r == a || r == b || r == c || r == d || r == SL_ERR_NOMEM);
	CHECK(r == SL_ERR_NOMEM || sl_err_msg(r) != sl_strerror(r));
}

static int
in_contract(const struct contract_terms *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i], name) == 0)
			return 1;
	return 0;
}

/* v has an RFC 8785 form: no NaN, no infinity, valid UTF-8 (what the audit log hashes). */
static void
canonical(const json_t *v)
{
	char *s = NULL;
	size_t n = 0;
	int r;

	if ((r = jcs_serialize(v, &s, &n)) != SL_ERR_NOMEM)
		CHECK(r == 0);
	free(s);
}

static void
audited(const struct checked_plan *cp, const struct schema *s)
{
	json_t *doc;

	doc = plan_check_json(cp, s);
	/* A plan that did not decode is described as nothing (it once leaked). */
	if (cp->p.noutputs == 0 || cp->keys == NULL || cp->agg_cols == NULL) {
		CHECK(doc == NULL);
		return;
	}
	CHECK(doc != NULL);
	canonical(doc);
	json_decref(doc);
}

static void
plan_accepted(const struct checked_plan *cp, const struct schema *s, const struct contract_terms *t)
{
	size_t i;

	CHECK(json_array_size(cp->names) == cp->p.noutputs);
	for (i = 0; i < cp->p.noutputs; i++) {
		const json_t *n = json_array_get(cp->names, i);

		CHECK(json_is_string(n) && json_string_length(n) > 0);
		CHECK(
		    cp->p.outputs[i].index < (cp->p.outputs[i].is_agg ? cp->p.naggs : cp->p.nkeys));
	}
	for (i = 0; i < cp->p.nkeys; i++) {
		const struct schema_column *c = cp->keys[i].c;

		CHECK(c != NULL && c == &s->cols[cp->p.keys[i].col]);
		CHECK(c->cls == SCHEMA_DIMENSION && in_contract(t, c->name));
		CHECK(cp->p.keys[i].fn != FN_KEY_BUCKET || cp->keys[i].digits > 0);
	}
	for (i = 0; i < cp->p.naggs; i++) {
		const struct schema_column *c = cp->agg_cols[i];

		CHECK(t->aggregates & FN_AGG_BIT(cp->p.aggs[i].fn));
		CHECK((c == NULL) == (cp->p.aggs[i].fn == FN_COUNT));
		CHECK(c == NULL || (c->cls != SCHEMA_UNIT && c->cls != SCHEMA_HIDDEN &&
		                       in_contract(t, c->name)));
	}
	for (i = 0; i < cp->p.nfilters; i++) {
		const struct schema_column *c = &s->cols[cp->p.filters[i]];

		CHECK(cp->p.filters[i] < s->ncols && c->cls == SCHEMA_DIMENSION);
		CHECK(in_contract(t, c->name));
	}
	for (i = 0; i < cp->p.nreads; i++)
		CHECK(cp->p.reads[i] < s->ncols && s->cols[cp->p.reads[i]].cls != SCHEMA_HIDDEN);
}

static void
released(const struct checked_plan *cp, const struct job_result *res,
    const struct contract_terms *t, const struct dp_noise *dn, const struct release_answer *a)
{
	size_t i, admitted = 0, want;

	CHECK(json_equal(a->columns, cp->names));
	CHECK(json_is_array(a->rows) && json_is_object(a->release));
	for (i = 0; i < json_array_size(a->rows); i++) {
		const json_t *row = json_array_get(a->rows, i);

		CHECK(json_is_array(row) && json_array_size(row) == cp->p.noutputs);
	}
	canonical(a->rows);
	canonical(a->release);
	CHECK(a->suppressed >= 0 && (size_t)a->suppressed <= res->ngroups);
	if (dn != NULL && dn->dq->public_groups > 0) {
		CHECK(a->suppressed == 0);
		want = dn->dq->public_groups;
	} else {
		for (i = 0; i < res->ngroups; i++)
			admitted += dn != NULL ? dp_admit(dn, i, &res->groups[i])
			                       : res->groups[i].units >= (uint64_t)t->min_group;
		CHECK(admitted + (size_t)a->suppressed == res->ngroups);
		want = admitted;
	}
	if (cp->p.has_limit && cp->p.limit < want)
		want = (size_t)cp->p.limit;
	CHECK(json_array_size(a->rows) == want);
}

static void
release(const struct checked_plan *cp, const uint8_t *p, size_t len, const struct contract_terms *t,
    const struct dp_noise *dn)
{
	struct release_answer a;
	struct job_result res;
	int r;

	sl_err_clear();
	if ((r = job_result_decode(p, len, &cp->p, &res)) != 0) {
		refused(r, SL_ERR_PARSE, SL_ERR_LIMIT, SL_ERR_LIMIT, SL_ERR_LIMIT);
		return;
	}
	sl_err_clear();
	if ((r = release_apply(cp, &res, t, VERSION_ROWS, dn, &a)) != 0) {
		refused(r, SL_ERR_PARSE, SL_ERR_POLICY, SL_ERR_LIMIT, SL_ERR_LIMIT);
	} else {
		released(cp, &res, t, dn, &a);
		release_answer_clear(&a);
	}
	job_result_clear(&res);
}

/* The dp step: prepared like the broker does, released with zero noise. */
static void
dp(const struct checked_plan *cp, const uint8_t *p, size_t len, const struct contract_terms *t)
{
	struct dp_query dq;
	struct dp_noise dn;
	struct job_result peek;
	size_t n;
	int64_t *noise;
	int r;

	sl_err_clear();
	memset(&dq, 0, sizeof dq);
	if ((r = dp_prepare(cp, t, &dq)) != 0) {
		refused(r, SL_ERR_POLICY, SL_ERR_LIMIT, SL_ERR_INVAL, SL_ERR_INVAL);
		dp_query_clear(&dq);
		return;
	}
	CHECK(dq.nq >= 1);
	/* Noise for as many groups as the RESULT shows, or every public group. */
	n = 0;
	if (job_result_decode(p, len, &cp->p, &peek) == 0) {
		n = peek.ngroups;
		job_result_clear(&peek);
	}
	n = dp_groups(&dq, n);
	if ((noise = calloc(n * dq.nq + 1, sizeof *noise)) != NULL) {
		dn.dq = &dq;
		dn.noise = noise;
		dn.ngroups = n;
		release(cp, p, len, t, &dn);
		free(noise);
	}
	dp_query_clear(&dq);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct contract_terms *t;
	const struct schema *s;
	struct checked_plan cp;
	char *text = NULL;
	uint8_t *plan = NULL, *result = NULL;
	size_t tlen, plen, rlen, at;
	int r;

	if (size < 5)
		return 0;
	s = schemas[(data[0] / 3) % 2];
	t = &terms[(data[0] / 3) % 2][data[0] % 3];
	tlen = (size_t)data[1] << 8 | data[2];
	if (tlen > size - 5)
		tlen = size - 5;
	at = 3 + tlen;
	plen = (size_t)data[at] << 8 | data[at + 1];
	at += 2;
	if (plen > size - at)
		plen = size - at;
	rlen = size - at - plen;
	if ((text = malloc(tlen + 1)) == NULL || (plan = malloc(plen + 1)) == NULL ||
	    (result = malloc(rlen + 1)) == NULL)
		goto out;
	memcpy(text, data + 3, tlen);
	memcpy(plan, data + at, plen);
	memcpy(result, data + at + plen, rlen);
	sl_err_clear();
	r = plan_check(plan, plen, text, tlen, s, t, &cp);
	audited(&cp, s);
	if (r != 0) {
		refused(r, SL_ERR_PARSE, SL_ERR_POLICY, SL_ERR_VERSION, SL_ERR_LIMIT);
	} else {
		plan_accepted(&cp, s, t);
		if (t->mode == CONTRACT_DP)
			dp(&cp, result, rlen, t);
		else
			release(&cp, result, rlen, t, NULL);
	}
	checked_plan_clear(&cp);
out:
	free(result);
	free(plan);
	free(text);
	return 0;
}
