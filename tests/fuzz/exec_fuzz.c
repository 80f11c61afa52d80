/*
 * tests/fuzz/exec_fuzz.c -- libFuzzer harness for the query path of the
 * worker: sandbox/sql.c, sandbox/plan.c and sandbox/exec.c over a real
 * encrypted store (sandbox/store_write.c, store_read.c).
 *
 * Once per process a product of a column of every kind (an INT unit, a TEXT
 * dimension with a domain and a nullable one, a bounded INT dimension, a
 * nullable DATE, a BOOL, a DECIMAL(10,2), a nullable REAL and a nullable INT
 * measure, some values outside their bounds) is generated as a CSV of
 * EXEC_ROWS rows and loaded by the real ingest job (sandbox/ingest.c, over a
 * socketpair, in-process) into a store in a temporary directory.
 *
 * The first input byte picks the units cap (bits 0-1) and whether the
 * threads are compared (bits 2-3 both set); the rest is the query text, in
 * a heap copy of exactly its length.  As the worker does (sandbox/query.c),
 * it is parsed, planned and run.  A refusal of either step must be
 * SL_ERR_PARSE with a "line:col: " message whose place lies in the text
 * (SL_ERR_LIMIT only for an oversized text), and the ERROR frame the worker
 * would send (sandbox/fault.h) must carry a query rule at a place in the
 * text and a column of the schema, and survive its codec.  An accepted plan
 * must encode and decode as a PLAN, and must run; its answer must be sane
 * (one group without GROUP BY, at most a group per row with it, units at
 * most rows, COUNT(*) the rows, keys of the column's type: MONTH 1..12,
 * BUCKET a multiple of its width, domain values in the domain); its groups'
 * rows must add up to what COUNT(*) alone under the same filter counts,
 * which with the count under NOT of the filter is at most the rows; the
 * answer on two threads must equal the one on one (REAL sums aside, to a
 * relative 1e-9), over a second store of two chunks (BIG_ROWS rows, as a
 * thread scans whole chunks); the capped units must be min(exact, cap) with everything
 * else equal; and the RESULT must encode and decode back equal.
 *
 * Build and run (ASan + UBSan): make fuzz, then
 *   tests/fuzz/exec_fuzz -max_len=4096 -dict=tests/fuzz/exec.dict CORPUS_DIR \
 *       tests/fuzz/corpus/exec
 */
#include <pthread.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"
#include "common/fn.h"
#include "common/schema.h"
#include "keys/keys.h"
#include "sandbox/exec.h"
#include "sandbox/fault.h"
#include "sandbox/ingest.h"
#include "sandbox/job.h"
#include "sandbox/plan.h"
#include "sandbox/sql.h"
#include "sandbox/store.h"
#include "tests/fuzz/check.h"
#include "tests/fuzz/keys_init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EXEC_ROWS 300
/* The store the thread counts are compared on: two chunks (exec_run() runs a thread a chunk
 * at most). */
#define BIG_ROWS (STORE_CHUNK_ROWS + 700)

static const char schema_json[] =
    "{\"name\":\"p\",\"columns\":["
    "{\"name\":\"uid\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"region\",\"type\":\"TEXT\",\"class\":\"dimension\","
    "\"domain\":[\"north\",\"south\",\"east\",\"west\"]},"
    "{\"name\":\"tag\",\"type\":\"TEXT\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"age\",\"type\":\"INT\",\"class\":\"dimension\",\"bounds\":[0,120]},"
    "{\"name\":\"day\",\"type\":\"DATE\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"member\",\"type\":\"BOOL\",\"class\":\"dimension\"},"
    "{\"name\":\"price\",\"type\":\"DECIMAL(10,2)\",\"class\":\"measure\",\"bounds\":[0,500]},"
    "{\"name\":\"score\",\"type\":\"REAL\",\"class\":\"measure\",\"bounds\":[-10,10],"
    "\"nullable\":true},"
    "{\"name\":\"qty\",\"type\":\"INT\",\"class\":\"measure\",\"bounds\":[0,100],"
    "\"nullable\":true}]}";

static const char *const regions[] = {"north", "south", "east", "west"};
static const char *const tags[] = {"web", "app", "\"\"", "b_2b", "\xe7\xbd\x91\xe5\xba\x97", ""};

static struct {
	char dir[64], big[80];
	struct schema *s;
	uint8_t key[STORE_KEY_BYTES];
	struct store *st, *bst;
	struct store_reader *rd[2], *brd[2];
} S;

static uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The upload: a header and rows rows, NULLs and out-of-bounds measures among them. */
static char *
gen_csv(uint64_t rows, size_t *len)
{
	size_t cap = 64 * (rows + 1), n = 0;
	char *csv = malloc(cap);
	uint64_t i, h, h2;

	CHECK(csv != NULL);
	n += (size_t)snprintf(csv, cap, "uid,region,tag,age,day,member,price,score,qty\n");
	for (i = 0; i < rows; i++) {
		char day[16] = "", score[32] = "", qty[24] = "";

		h = splitmix(i);
		h2 = splitmix(i + 77);
		if (h % 10 != 0)
			snprintf(day, sizeof day, "%04d-%02d-%02d", 1965 + (int)(h2 % 70),
			    1 + (int)(h2 >> 8 & 0xff) % 12, 1 + (int)(h2 >> 16 & 0xff) % 28);
		if (i % 9 != 4)
			snprintf(score, sizeof score, "%.2f",
			    i % 23 == 3 ? 25.5
			                : (double)((int64_t)(h2 >> 40) % 2001 - 1000) / 100.0);
		if (i % 11 != 6)
			snprintf(qty, sizeof qty, "%d",
			    i % 43 == 8 ? 250 : (int)(h2 >> 24 & 0xff) % 101);
		n += (size_t)snprintf(csv + n, cap - n,
		    "%" PRIu64 ",%s,%s,%d,%s,%s,%s%d.%02d,%s,%s\n", 1 + h2 % 60, regions[h % 4],
		    tags[(h >> 8) % 6], (int)(h >> 16 & 0xff) % 100, day,
		    h >> 63 ? "true" : "false", i % 37 == 5 ? "-" : "",
		    (int)(h >> 24 & 0xffff) % 600, (int)(h >> 40) % 100, score, qty);
		CHECK(n < cap);
	}
	*len = n;
	return csv;
}

static void
cleanup(void)
{
	store_reader_close(S.rd[0]);
	store_reader_close(S.rd[1]);
	store_reader_close(S.brd[0]);
	store_reader_close(S.brd[1]);
	store_close(S.st);
	store_close(S.bst);
	schema_free(S.s);
	(void)sl_rmtree(S.dir);
}

struct feed {
	int fd;
	const char *p;
	size_t n;
};

/* The broker's side of the ingest: DATA frames of 4 KiB, then END. */
static void *
feed_upload(void *arg)
{
	struct feed *f = arg;
	size_t off;

	for (off = 0; off < f->n; off += 4096)
		CHECK(job_frame_write(f->fd, JOB_FRAME_DATA, f->p + off,
		          f->n - off < 4096 ? f->n - off : 4096) == 0);
	CHECK(job_frame_write(f->fd, JOB_FRAME_END, NULL, 0) == 0);
	return NULL;
}

/* rows rows loaded into dir by the real ingest job, and two readers of them. */
static void
load(const char *dir, uint64_t rows, struct store **st, struct store_reader **rd)
{
	struct store_ident id = {"p", 1, KEYS_SUITE_INTL, S.key, NULL};
	struct job_header h;
	struct ingest *in = NULL;
	struct job_written w;
	struct feed f;
	pthread_t feeder;
	uint8_t *payload;
	size_t plen;
	uint32_t type;
	int sv[2];

	memset(&h, 0, sizeof h);
	h.version = JOB_PROTOCOL_VERSION;
	h.threads = 1;
	h.kind = JOB_KIND_INGEST;
	h.suite = KEYS_SUITE_INTL;
	h.map_bytes = 256 << 20;
	h.data_version = 1;
	memcpy(h.key, S.key, sizeof S.key);
	h.store = (char *)dir;
	h.product = (char *)"p";
	h.schema = (char *)schema_json;
	h.params = (char *)"{\"format\":\"csv\"}";
	f.p = gen_csv(rows, &f.n);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	f.fd = sv[0];
	CHECK(pthread_create(&feeder, NULL, feed_upload, &f) == 0);
	CHECK(ingest_prepare(&h, &in) == 0);
	CHECK(ingest_run(in, sv[1]) == 0);
	ingest_free(in);
	CHECK(pthread_join(feeder, NULL) == 0);
	do {
		CHECK(job_frame_read(sv[0], &type, &payload, &plen, JOB_FRAME_MAX) == 0);
		if (type == JOB_FRAME_PROGRESS)
			free(payload);
	} while (type == JOB_FRAME_PROGRESS);
	CHECK(type == JOB_FRAME_RESULT);
	CHECK(job_written_decode(payload, plen, &w) == 0 && w.rows == rows);
	free(payload);
	close(sv[0]);
	close(sv[1]);
	free((char *)f.p);
	CHECK(store_open(dir, 0, 0, st) == 0);
	CHECK(store_reader_open(*st, &id, S.s, &rd[0]) == 0);
	CHECK(store_reader_open(*st, &id, S.s, &rd[1]) == 0);
	CHECK(store_reader_rows(rd[0]) == rows);
}

/* The product, small, and again big for the threads. */
static void
setup(void)
{
	fuzz_keys_init();
	/* tmpfs when there is one: LMDB syncs its commit. */
	snprintf(S.dir, sizeof S.dir, "%s/exec_fuzz.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	CHECK(mkdtemp(S.dir) != NULL);
	atexit(cleanup);
	keys_random(S.key, sizeof S.key);
	CHECK(schema_parse(schema_json, strlen(schema_json), &S.s) == 0);
	load(S.dir, EXEC_ROWS, &S.st, S.rd);
	snprintf(S.big, sizeof S.big, "%s/big", S.dir);
	CHECK(mkdir(S.big, 0700) == 0);
	load(S.big, BIG_ROWS, &S.bst, S.brd);
	CHECK(store_reader_chunks(S.brd[0]) == 2);
}

/* ---- refusals --------------------------------------------------------------------- */

static void
check_refusal(int r, const char *text, size_t size, uint32_t lines)
{
	const char *msg = sl_err_msg(r);
	const struct job_place *pl;
	struct job_error_frame e, back;
	uint8_t buf[JOB_ERROR_MAX];
	unsigned long line, col;
	size_t elen;
	char *end;

	(void)text;
	if (r == SL_ERR_LIMIT) {
		CHECK(size > SQL_MAX_TEXT);
		return;
	}
	CHECK(r == SL_ERR_PARSE || r == SL_ERR_NOMEM);
	if (r != SL_ERR_PARSE)
		return;
	line = strtoul(msg, &end, 10);
	CHECK(end != msg && *end == ':');
	col = strtoul(end + 1, &end, 10);
	CHECK(*end == ':' && end[1] == ' ' && end[2] != '\0');
	CHECK(line >= 1 && line <= lines && col >= 1 && col <= size + 1);
	/* What the worker sends instead of the words: the same place, a rule, a column. */
	CHECK((pl = fault_last()) != NULL);
	CHECK(pl->line == line && pl->column == col);
	fault_frame(r, &e);
	CHECK(e.code == JOB_ERR_QUERY && e.nplaces >= 1 && e.total >= e.nplaces);
	CHECK(e.places[0].rule != JOB_RULE_NONE && !job_rule_is_ingest(e.places[0].rule));
	CHECK(job_rule_text(e.places[0].rule) != NULL);
	CHECK(e.places[0].field <= S.s->ncols);
	CHECK(job_error_encode(&e, buf, &elen) == 0);
	CHECK(job_error_decode(buf, elen, &back) == 0);
	CHECK(back.code == e.code && back.nplaces == e.nplaces &&
	      memcmp(back.places, e.places, e.nplaces * sizeof e.places[0]) == 0);
}

/* ---- answers ---------------------------------------------------------------------- */

static int
value_cmp(const struct job_value *a, const struct job_value *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	switch (a->type) {
	case JOB_VALUE_INT:
		return a->i < b->i ? -1 : a->i > b->i;
	case JOB_VALUE_REAL:
		return a->r < b->r ? -1 : a->r > b->r;
	case JOB_VALUE_TEXT:
		if (a->len != b->len)
			return a->len < b->len ? -1 : 1;
		return a->len == 0 ? 0 : memcmp(a->s, b->s, a->len);
	default:
		return 0;
	}
}

static size_t sort_nkeys;

static int
group_cmp(const void *x, const void *y)
{
	const struct job_group *a = *(const struct job_group *const *)x;
	const struct job_group *b = *(const struct job_group *const *)y;
	size_t i;
	int c;

	for (i = 0; i < sort_nkeys; i++)
		if ((c = value_cmp(&a->keys[i], &b->keys[i])) != 0)
			return c;
	return 0;
}

/* res's groups in key order (a new array). */
static const struct job_group **
sorted(const struct job_result *res)
{
	const struct job_group **g = calloc(res->ngroups + 1, sizeof(*g));
	size_t i;

	CHECK(g != NULL);
	for (i = 0; i < res->ngroups; i++)
		g[i] = &res->groups[i];
	sort_nkeys = res->nkeys;
	qsort(g, res->ngroups, sizeof(*g), group_cmp);
	return g;
}

static int
real_near(double a, double b)
{
	return a == b || fabs(a - b) <= 1e-9 * (fabs(a) > fabs(b) ? fabs(a) : fabs(b)) + 1e-12;
}

/*
 * Whether a and b (answers of one plan) are equal; with loose, REAL sums and
 * m2 to a relative 1e-9; with units, units too.
 */
static int
result_eq(const struct plan *p, const struct job_result *a, const struct job_result *b, int loose,
    int units)
{
	const struct job_group **ga, **gb;
	size_t g, i;
	int eq = 1;

	if (a->ngroups != b->ngroups || a->nkeys != b->nkeys || a->naggs != b->naggs ||
	    a->rows_scanned != b->rows_scanned)
		return 0;
	ga = sorted(a);
	gb = sorted(b);
	for (g = 0; eq && g < a->ngroups; g++) {
		const struct job_group *x = ga[g], *y = gb[g];

		if (group_cmp(&x, &y) != 0 || x->rows != y->rows ||
		    (units && x->units != y->units)) {
			eq = 0;
			break;
		}
		for (i = 0; i < a->naggs; i++) {
			const struct job_agg_state *s = &x->aggs[i], *t = &y->aggs[i];
			int real = s->value.type == JOB_VALUE_REAL &&
			           t->value.type == JOB_VALUE_REAL && fn_aggs[p->aggs[i].fn].sums;

			if (s->n != t->n || s->sumsq != t->sumsq ||
			    (real && loose
			            ? !real_near(s->value.r, t->value.r) || !real_near(s->m2, t->m2)
			            : value_cmp(&s->value, &t->value) != 0 ||
			                  memcmp(&s->m2, &t->m2, sizeof s->m2) != 0))
				eq = 0;
		}
	}
	free(ga);
	free(gb);
	return eq;
}

static void
check_key_value(const struct plan_key *k, const struct job_value *v)
{
	const struct schema_column *c = &S.s->cols[k->col];

	if (v->type == JOB_VALUE_NULL)
		return;
	switch (k->fn) {
	case FN_KEY_MONTH:
		CHECK(v->type == JOB_VALUE_INT && v->i >= 1 && v->i <= 12);
		return;
	case FN_KEY_YEAR:
		CHECK(v->type == JOB_VALUE_INT && v->i >= 1965 && v->i < 2035);
		return;
	case FN_KEY_BUCKET:
		if (c->type == SCHEMA_REAL)
			CHECK(v->type == JOB_VALUE_REAL && isfinite(v->r));
		else
			CHECK(v->type == JOB_VALUE_INT && k->width > 0 && v->i % k->width == 0);
		return;
	default:
		break;
	}
	switch (c->type) {
	case SCHEMA_REAL:
		CHECK(v->type == JOB_VALUE_REAL);
		break;
	case SCHEMA_TEXT:
		CHECK(v->type == JOB_VALUE_TEXT);
		if (c->ndomain > 0)
			CHECK(schema_in_domain(c, (const char *)v->s, v->len, 0));
		break;
	case SCHEMA_BOOL:
		CHECK(v->type == JOB_VALUE_INT && (v->i == 0 || v->i == 1));
		break;
	default:
		CHECK(v->type == JOB_VALUE_INT);
		if (c->has_bounds && c->bounds_mode == SCHEMA_BOUNDS_REJECT)
			CHECK(v->i >= c->lo && v->i <= c->hi);
	}
}

/* What must hold of any answer of p. */
static void
check_result(const struct plan *p, const struct job_result *res, uint64_t rows)
{
	uint64_t total = 0;
	size_t g, i;

	CHECK(res->nkeys == p->nkeys && res->naggs == p->naggs);
	CHECK(res->rows_scanned == rows);
	if (p->nkeys == 0)
		CHECK(res->ngroups == 1);
	else
		CHECK(res->ngroups <= rows);
	for (g = 0; g < res->ngroups; g++) {
		const struct job_group *gr = &res->groups[g];

		CHECK(gr->units <= gr->rows && (gr->rows == 0 || gr->units >= 1));
		if (p->nkeys > 0)
			CHECK(gr->rows >= 1);
		total += gr->rows;
		for (i = 0; i < p->nkeys; i++)
			check_key_value(&p->keys[i], &gr->keys[i]);
		for (i = 0; i < p->naggs; i++) {
			const struct job_agg_state *a = &gr->aggs[i];

			if (p->aggs[i].fn == FN_COUNT)
				CHECK(a->n == gr->rows);
			else
				CHECK(a->n <= gr->rows);
			if ((p->aggs[i].fn == FN_MIN || p->aggs[i].fn == FN_MAX) && a->n == 0)
				CHECK(a->value.type == JOB_VALUE_NULL);
			if (a->value.type == JOB_VALUE_REAL)
				CHECK(isfinite(a->value.r));
		}
	}
	CHECK(total <= rows);
	/* No two groups of one key. */
	if (res->ngroups > 1) {
		const struct job_group **gs = sorted(res);

		for (g = 1; g < res->ngroups; g++)
			CHECK(group_cmp(&gs[g - 1], &gs[g]) != 0);
		free(gs);
	}
}

/* The RESULT codec: encoded for p and decoded back, the same answer. */
static void
check_codec(const struct plan *p, const struct job_result *res)
{
	uint32_t fns[64];
	uint8_t *pb = NULL, *rb = NULL, *rb2 = NULL;
	size_t plen = 0, rlen = 0, rlen2 = 0, i;
	struct job_plan jp;
	struct job_result back;

	CHECK(p->naggs <= 64);
	for (i = 0; i < p->naggs; i++)
		fns[i] = p->aggs[i].fn;
	CHECK(plan_encode(p, &pb, &plen) == 0);
	CHECK(job_plan_decode(pb, plen, &jp) == 0);
	CHECK(jp.nkeys == p->nkeys && jp.naggs == p->naggs && jp.noutputs == p->noutputs);
	CHECK(job_result_encode(res, fns, &rb, &rlen) == 0);
	CHECK(job_result_decode(rb, rlen, &jp, &back) == 0);
	CHECK(result_eq(p, res, &back, 0, 1));
	/* And the decoded answer encodes to the same bytes. */
	CHECK(job_result_encode(&back, fns, &rb2, &rlen2) == 0);
	CHECK(rlen2 == rlen && memcmp(rb, rb2, rlen) == 0);
	job_result_clear(&back);
	job_plan_clear(&jp);
	free(pb);
	free(rb);
	free(rb2);
}

/* COUNT(*) of the rows cond selects (NULL: every row), by a plan of its own. */
static uint64_t
count_where(const struct sql_query *q, struct sql_cond *cond)
{
	struct sql_item item;
	struct sql_query cq;
	struct plan *p = NULL;
	struct job_result res;
	uint64_t n;

	memset(&item, 0, sizeof item);
	item.is_agg = 1;
	item.agg = FN_COUNT;
	item.name = (char *)"COUNT(*)";
	item.pos = q->items[0].pos;
	memset(&cq, 0, sizeof cq);
	cq.items = &item;
	cq.nitems = 1;
	cq.product = q->product;
	cq.product_pos = q->product_pos;
	cq.where = cond;
	CHECK(plan_build(&cq, S.s, &p) == 0);
	CHECK(exec_run(p, S.rd, 1, 0, NULL, &res) == 0);
	CHECK(res.ngroups == 1 && res.naggs == 1 && res.groups[0].rows == res.groups[0].aggs[0].n);
	n = res.groups[0].rows;
	job_result_clear(&res);
	plan_free(p);
	return n;
}

static void
run_plan(const struct sql_query *q, const struct plan *p, uint8_t knob)
{
	static const uint32_t caps[] = {0, 1, 2, EXEC_UNITS_CAP_MAX + 1};
	struct job_result one, two, capped;
	uint32_t cap = caps[knob & 3];
	uint64_t total = 0, n, m;
	struct sql_cond not_where, *kids[1];
	size_t g;
	int r;

	r = exec_run(p, S.rd, 1, 0, NULL, &one);
	if (r != 0)
		fprintf(stderr, "exec_run: %s\n", sl_err_msg(r));
	CHECK(r == 0);
	check_result(p, &one, EXEC_ROWS);
	check_codec(p, &one);
	for (g = 0; g < one.ngroups; g++)
		total += one.groups[g].rows;
	/* The groups' rows are the rows the filter selects. */
	n = count_where(q, q->where);
	CHECK(total == n);
	if (q->where != NULL) {
		memset(&not_where, 0, sizeof not_where);
		not_where.kind = SQL_COND_NOT;
		kids[0] = q->where;
		not_where.kids = kids;
		not_where.nkids = 1;
		not_where.pos = q->where->pos;
		m = count_where(q, &not_where);
		CHECK(n + m <= EXEC_ROWS);
	} else {
		CHECK(n == EXEC_ROWS);
	}
	/*
	 * Two threads: the same answer.  A thread scans whole chunks, so on
	 * the big store (two chunks), for a quarter of the inputs: a scan
	 * of it costs some 250 of the small one.
	 */
	if ((knob & 0x0c) == 0x0c) {
		struct job_result big;

		CHECK(exec_run(p, S.brd, 1, 0, NULL, &big) == 0);
		check_result(p, &big, BIG_ROWS);
		CHECK(exec_run(p, S.brd, 2, 0, NULL, &two) == 0);
		check_result(p, &two, BIG_ROWS);
		CHECK(result_eq(p, &big, &two, 1, 1));
		job_result_clear(&two);
		job_result_clear(&big);
	}
	/* The units cap: min(exact, cap), nothing else changed. */
	if (cap != 0) {
		const struct job_group **a, **b;

		CHECK(exec_run(p, S.rd, 1, cap, NULL, &capped) == 0);
		check_result(p, &capped, EXEC_ROWS);
		CHECK(result_eq(p, &one, &capped, 0, 0));
		a = sorted(&one);
		b = sorted(&capped);
		for (g = 0; g < one.ngroups; g++) {
			uint64_t want =
			    cap > EXEC_UNITS_CAP_MAX || a[g]->units < cap ? a[g]->units : cap;

			CHECK(b[g]->units == want);
		}
		free(a);
		free(b);
		job_result_clear(&capped);
	}
	job_result_clear(&one);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sql_query *q = NULL;
	struct plan *p = NULL;
	uint32_t lines = 1;
	uint8_t *pb = NULL;
	size_t i, n, plen;
	char *copy;
	int r;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1)
		return 0;
	n = size - 1;
	if ((copy = malloc(n > 0 ? n : 1)) == NULL)
		return 0;
	if (n > 0)
		memcpy(copy, data + 1, n);
	for (i = 0; i < n; i++)
		lines += copy[i] == '\n';
	sl_err_clear();
	fault_clear();
	if ((r = sql_parse(copy, n, &q)) != 0) {
		CHECK(q == NULL);
		check_refusal(r, copy, n, lines);
		free(copy);
		return 0;
	}
	fault_clear();
	sl_err_clear();
	if ((r = plan_build(q, S.s, &p)) != 0) {
		CHECK(p == NULL);
		check_refusal(r, copy, n, lines);
	} else {
		CHECK(p != NULL && p->noutputs == q->nitems && p->norder == q->norder);
		for (i = 0; i < S.s->ncols; i++)
			CHECK(p->reads[i] == 0 || p->reads[i] == 1);
		CHECK(p->reads[0] == 1); /* the unit, always */
		for (i = 0; i < p->naggs; i++)
			CHECK(p->aggs[i].fn == FN_COUNT || p->aggs[i].col < S.s->ncols);
		for (i = 0; i < p->nkeys; i++)
			CHECK(p->keys[i].col < S.s->ncols);
		CHECK(plan_encode(p, &pb, &plen) == 0 && plen > 0);
		free(pb);
		run_plan(q, p, data[0]);
		plan_free(p);
	}
	sql_free(q);
	free(copy);
	return 0;
}
