/*
 * tests/unit/sandbox/ingest_test.c -- the ingest job in-process over a
 * socketpair (the confinement is tested elsewhere): a good upload becomes a
 * readable version; a bad one reports its first errors by line and column,
 * counts the rest, and writes nothing.  Cases live in tests/unit/sandbox/ingest/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/err.h"
#include "common/file.h"
#include "common/schema.h"
#include "keys/keys.h"
#include "sandbox/ingest.h"
#include "sandbox/job.h"
#include "sandbox/store.h"
#include "tests/unit/store_records.h"
#include "tests/unit/vectors.h"

static const char schema_json[] =
    "{\"name\":\"t\",\"columns\":["
    "{\"name\":\"id\",\"type\":\"INT\",\"class\":\"unit\"},"
    "{\"name\":\"sex\",\"type\":\"TEXT\",\"class\":\"dimension\",\"domain\":[\"F\",\"M\"]},"
    "{\"name\":\"amt\",\"type\":\"DECIMAL(10,2)\",\"class\":\"measure\",\"bounds\":[0,1000]},"
    "{\"name\":\"day\",\"type\":\"DATE\",\"class\":\"dimension\",\"nullable\":true},"
    "{\"name\":\"note\",\"type\":\"TEXT\",\"class\":\"hidden\",\"nullable\":true}]}";

struct fx {
	char *tmp, *store;
	uint8_t key[32];
};

/* The threads every ingest of a test runs on (HEADER threads). */
static unsigned test_threads = 1;

/*
 * Run one ingest of input (fed in pieces of step bytes) in a child process;
 * *type is the last frame's type, *reply the RESULT decoded (zero without one) and
 * *err (if not NULL) the ERROR frame decoded.
 */
static void
run_ingest(struct fx *fx, uint32_t version, const char *format, const char *input, size_t len,
    size_t step, uint32_t *type, struct job_written *reply, struct job_error_frame *err)
{
	struct job_header h;
	struct ingest *in = NULL;
	char params[64];
	int sv[2], status;
	uint8_t *payload;
	size_t plen, off;
	pid_t pid;

	memset(&h, 0, sizeof(h));
	snprintf(params, sizeof(params), "{\"format\":\"%s\"}", format);
	h.version = JOB_PROTOCOL_VERSION;
	h.threads = test_threads;
	h.kind = JOB_KIND_INGEST;
	h.suite = KEYS_SUITE_INTL;
	h.map_bytes = 64 << 20;
	h.data_version = version;
	memcpy(h.key, fx->key, 32);
	h.store = fx->store;
	h.product = (char *)"t";
	h.schema = (char *)schema_json;
	h.params = params;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		if (ingest_prepare(&h, &in) != 0 || ingest_run(in, sv[1]) != 0)
			_exit(3);
		ingest_free(in);
		_exit(0);
	}
	close(sv[1]);
	for (off = 0; off < len; off += step)
		assert_int_equal(job_frame_write(sv[0], JOB_FRAME_DATA, input + off,
		                     len - off < step ? len - off : step),
		    0);
	assert_int_equal(job_frame_write(sv[0], JOB_FRAME_END, NULL, 0), 0);
	do {
		assert_int_equal(job_frame_read(sv[0], type, &payload, &plen, JOB_FRAME_MAX), 0);
		if (*type == JOB_FRAME_PROGRESS)
			free(payload);
	} while (*type == JOB_FRAME_PROGRESS);
	memset(reply, 0, sizeof(*reply));
	if (*type == JOB_FRAME_RESULT) {
		assert_int_equal(job_written_decode(payload, plen, reply), 0);
	} else {
		assert_int_equal(*type, JOB_FRAME_ERROR);
		assert_non_null(err);
		assert_int_equal(job_error_decode(payload, plen, err), 0);
	}
	free(payload);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->tmp = vec_tmpdir();
	fx->store = sl_path_join(fx->tmp, "store");
	assert_int_equal(mkdir(fx->store, 0700), 0);
	keys_random(fx->key, sizeof(fx->key));
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	free(fx->store);
	vec_rmtree(fx->tmp);
	free(fx);
	return 0;
}

/* The rows of version v, as "id|sex|amt|day|note" lines, or NULL if unreadable. */
static char *
read_back(struct fx *fx, uint32_t v)
{
	struct schema *s = NULL;
	struct store *st = NULL;
	struct store_reader *r = NULL;
	struct store_ident id = {"t", v, KEYS_SUITE_INTL, fx->key};
	struct store_vec col[5];
	const char *const *strs[5] = {0};
	const uint32_t *lens[5] = {0};
	uint32_t n, ch, i;
	size_t len = 0;
	char *out = NULL;
	FILE *f = open_memstream(&out, &len);
	int c;

	assert_int_equal(schema_parse(schema_json, strlen(schema_json), &s), 0);
	assert_int_equal(store_open(fx->store, 0, 0, &st), 0);
	if (store_reader_open(st, &id, s, &r) != 0) {
		fclose(f);
		free(out);
		out = NULL;
		f = NULL;
		goto done;
	}
	assert_int_equal(store_read_dict(r, 1, &strs[1], &lens[1], &n), 0);
	assert_int_equal(store_read_dict(r, 4, &strs[4], &lens[4], &n), 0);
	for (ch = 0; ch < store_reader_chunks(r); ch++) {
		/* Read one column at a time: vectors are only valid until the next read. */
		for (i = 0; i < STORE_CHUNK_ROWS; i++) {
			for (c = 0; c < 5; c++) {
				assert_int_equal(store_read_chunk(r, (size_t)c, ch, &col[c]), 0);
				if (i >= col[c].rows)
					goto next;
				if (col[c].nulls != NULL && (col[c].nulls[i / 8] >> (i % 8) & 1))
					fprintf(f, "NULL");
				else if (c == 1 || c == 4)
					fprintf(f, "%.*s", (int)lens[c][col[c].codes[i]],
					    strs[c][col[c].codes[i]]);
				else
					fprintf(f, "%lld", (long long)col[c].ints[i]);
				fprintf(f, c < 4 ? "|" : "\n");
			}
		}
	next:;
	}
done:
	if (f != NULL)
		fclose(f);
	store_reader_close(r);
	store_close(st);
	schema_free(s);
	return out;
}

static void
test_good_csv(void **state)
{
	struct fx *fx = *state;
	static const char csv[] =
	    "\xef\xbb\xbfsex,id,amt,day,note\r\n"
	    "F,1,12.5,2024-02-29,\"a, \"\"quoted\"\" note\nover two lines\"\r\n"
	    "M,-7,0,,\n"
	    "F,3,1000.00,1969-12-31,\"\"\n";
	size_t step;

	for (step = 1; step <= sizeof(csv); step += step < 8 ? 1 : 13) {
		uint32_t type;
		struct job_written reply;
		char *rows;

		run_ingest(fx, 1, "csv", csv, sizeof(csv) - 1, step, &type, &reply, NULL);
		assert_int_equal(reply.rows, 3);
		assert_int_equal(reply.chunks, 5);
		rows = read_back(fx, 1);
		assert_non_null(rows);
		assert_string_equal(rows, "1|F|1250|19782|a, \"quoted\" note\nover two lines\n"
		                          "-7|M|0|NULL|NULL\n"
		                          "3|F|100000|-1|\n");
		free(rows);
	}
}

static void
test_good_jsonl(void **state)
{
	struct fx *fx = *state;
	static const char jl[] =
	    "{\"id\":1,\"sex\":\"F\",\"amt\":12.34,\"day\":\"2024-01-01\",\"note\":null}\n"
	    "{\"id\":2,\"sex\":\"M\",\"amt\":\"7.5\",\"day\":null}\r\n";
	uint32_t type;
	struct job_written reply;
	char *rows;

	static const char reals[] =
	    "{\"id\":1.0,\"sex\":\"F\",\"amt\":1}\n{\"id\":100000.0,\"sex\":\"M\",\"amt\":1}\n"
	    "{\"id\":-2e3,\"sex\":\"M\",\"amt\":1}\n";
	static const char fraction[] = "{\"id\":1.5,\"sex\":\"F\",\"amt\":1}\n";
	struct job_error_frame e;

	run_ingest(fx, 2, "jsonl", jl, sizeof(jl) - 1, 7, &type, &reply, NULL);
	rows = read_back(fx, 2);
	assert_string_equal(rows, "1|F|1234|19723|NULL\n2|M|750|NULL|NULL\n");
	free(rows);
	/* An INT column takes a JSON real that is an integer, whatever its spelling, and only that. */
	run_ingest(fx, 3, "jsonl", reals, sizeof(reals) - 1, 64, &type, &reply, NULL);
	rows = read_back(fx, 3);
	assert_string_equal(
	    rows, "1|F|100|NULL|NULL\n100000|M|100|NULL|NULL\n-2000|M|100|NULL|NULL\n");
	free(rows);
	run_ingest(fx, 4, "jsonl", fraction, sizeof(fraction) - 1, 64, &type, &reply, &e);
	assert_int_equal(type, JOB_FRAME_ERROR);
	assert_int_equal(e.total, 1);
	assert_int_equal(e.places[0].field, 1);
}

/* An empty string as a text column's first value (UBSan once saw NULL + 0 here: ingest_fuzz). */
static void
test_empty_first_text(void **state)
{
	struct fx *fx = *state;
	static const char jl[] = "{\"id\":1,\"sex\":\"F\",\"amt\":0,\"note\":\"\"}\n"
	                         "{\"id\":2,\"sex\":\"M\",\"amt\":1,\"note\":\"\"}\n";
	uint32_t type;
	struct job_written reply;
	char *rows;

	run_ingest(fx, 3, "jsonl", jl, sizeof(jl) - 1, 64, &type, &reply, NULL);
	rows = read_back(fx, 3);
	assert_non_null(rows);
	assert_string_equal(rows, "1|F|0|NULL|\n2|M|100|NULL|\n");
	free(rows);
}

/*
 * Each case of tests/unit/sandbox/ingest/bad.txt holds the format, the
 * input, the count of errors and the first few places of the ERROR frame,
 * each as "line:column:length fFIELD nNUMBER" and the rule's template.
 */
static void
test_bad_inputs(void **state)
{
	struct fx *fx = *state;
	struct job_error_frame *e = malloc(sizeof *e);
	struct vec_file f;
	size_t i, k;

	assert_non_null(e);
	vec_load("unit/sandbox/ingest/bad.txt", &f);
	for (i = 0; i < f.nrecs; i++) {
		const struct vec_record *r = &f.recs[i];
		const char *fmt = vec_get(r, "Format");
		size_t len;
		uint8_t *input = vec_hex(&f, r, "Input", &len);
		uint32_t type;
		struct job_written reply;
		char want[64], *got;

		run_ingest(fx, 9, fmt, (const char *)input, len, 5, &type, &reply, e);
		if (type != JOB_FRAME_ERROR)
			fail_msg("%s:%zu: accepted", f.path, r->line);
		assert_int_equal(e->code, JOB_ERR_INPUT);
		if (e->total != (uint64_t)vec_int(&f, r, "Total", -1))
			fail_msg(
			    "%s:%zu: %llu errors", f.path, r->line, (unsigned long long)e->total);
		/* At most 20 listed, however many there are. */
		assert_int_equal(
		    e->nplaces, e->total < INGEST_ERRORS_MAX ? e->total : INGEST_ERRORS_MAX);
		for (k = 0; k < e->nplaces; k++) {
			const struct job_place *pl = &e->places[k];

			snprintf(want, sizeof(want), "Error%zu", k + 1);
			if (vec_get(r, want) == NULL)
				break;
			assert_true(job_rule_is_ingest(pl->rule));
			assert_int_equal(pl->phrase, JOB_PHRASE_NONE);
			got = NULL;
			assert_true(asprintf(&got, "%u:%u:%u f%u n%llu %s", pl->line, pl->column,
			                pl->length, pl->field, (unsigned long long)pl->number,
			                job_rule_text(pl->rule)) > 0);
			if (strcmp(got, vec_get(r, want)) != 0)
				fail_msg("%s:%zu: error %zu is \"%s\", want \"%s\"", f.path,
				    r->line, k + 1, got, vec_get(r, want));
			free(got);
		}
		if (k == 0)
			fail_msg("%s:%zu: no Error1", f.path, r->line);
		free(input);
		/* Nothing was written. */
		assert_null(read_back(fx, 9));
	}
	vec_free(&f);
	free(e);
}

/* One ingest's outcome, everything the broker gets and the store holds, as text. */
static char *
outcome(struct fx *fx, const char *format, const char *input, size_t len, size_t step)
{
	struct job_error_frame *e = calloc(1, sizeof *e);
	struct job_written reply;
	uint32_t type;
	char *out = NULL, *rows = NULL, *recs = NULL;
	size_t olen = 0, k;
	FILE *f = open_memstream(&out, &olen);

	/* A store of its own: a refused upload must leave nothing, not the last one's version. */
	vec_rmtree(strdup(fx->store)); /* it frees the path it is given */
	assert_int_equal(mkdir(fx->store, 0700), 0);
	run_ingest(fx, 9, format, input, len, step, &type, &reply, e);
	fprintf(f, "frame %u\n", type);
	if (type == JOB_FRAME_RESULT) {
		fprintf(f, "rows %llu chunks %llu bytes %llu\n", (unsigned long long)reply.rows,
		    (unsigned long long)reply.chunks, (unsigned long long)reply.bytes);
		rows = read_back(fx, 9);
		recs = store_records_text(fx->store, "t", 9, KEYS_SUITE_INTL, fx->key, reply.rows);
		fprintf(f, "%s--\n%s", rows, recs);
	} else {
		fprintf(f, "code %u total %llu\n", e->code, (unsigned long long)e->total);
		for (k = 0; k < e->nplaces; k++)
			fprintf(f, "%u:%u:%u r%u f%u n%llu\n", e->places[k].line,
			    e->places[k].column, e->places[k].length, e->places[k].rule,
			    e->places[k].field, (unsigned long long)e->places[k].number);
		assert_null(read_back(fx, 9));
	}
	fclose(f);
	free(rows);
	free(recs);
	free(e);
	return out;
}

/* A CSV upload of n rows, some of them with the faults fault says (1: a bad value every 97 rows). */
static char *
gen_csv(size_t n, int fault, size_t *len)
{
	char *out = NULL;
	size_t i;
	FILE *f = open_memstream(&out, len);

	fprintf(f, "id,sex,amt,day,note\n");
	for (i = 0; i < n; i++) {
		fprintf(f, "%zu,%s,%zu.%02zu,", i, i % 3 ? "F" : "M", i % 1000, i % 100);
		if (fault && i % 97 == 5)
			fprintf(f, "2024-13-01,");
		else if (i % 5 == 0)
			fprintf(f, ",");
		else
			fprintf(f, "2024-%02zu-%02zu,", 1 + i % 12, 1 + i % 28);
		/* Quoted notes with commas, doubled quotes and newlines, across any cut. */
		if (i % 7 == 0)
			fprintf(f, "\"note %zu, \"\"quoted\"\"\nsecond line\"\n", i);
		else if (i % 11 == 0)
			fprintf(f,
			    "\xef\xbb\xbf"
			    "bom-led %zu\n",
			    i);
		else
			fprintf(f, "n%zu\n", i % 400);
	}
	fclose(f);
	return out;
}

/*
 * The same uploads on 2 and 4 threads, cut into blocks of 1, 7, 64 and 4,096
 * bytes (so that blocks end inside quoted fields' lines, at errors and in the
 * last line): the same RESULT, rows and record plaintexts, or the same ERROR
 * frame, as one thread.
 */
static void
test_threads_agree(void **state)
{
	static const size_t blocks[] = {1, 7, 64, 4096};
	static const unsigned counts[] = {2, 4};
	struct fx *fx = *state;
	struct vec_file vf;
	char *gen[3];
	size_t glen[3], i, b, c, ncases;

	gen[0] = gen_csv(3000, 0, &glen[0]);
	gen[1] = gen_csv(3000, 1, &glen[1]);
	gen[2] = gen_csv(300, 0, &glen[2]);
	glen[2] -= 1; /* the last line without its newline */
	vec_load("unit/sandbox/ingest/bad.txt", &vf);
	ncases = vf.nrecs + 3;
	for (i = 0; i < ncases; i++) {
		const char *fmt = "csv", *input;
		uint8_t *hex = NULL;
		size_t len;
		char *one;

		if (i < 3) {
			input = gen[i];
			len = glen[i];
		} else {
			fmt = vec_get(&vf.recs[i - 3], "Format");
			hex = vec_hex(&vf, &vf.recs[i - 3], "Input", &len);
			input = (const char *)hex;
		}
		test_threads = 1;
		one = outcome(fx, fmt, input, len, 4096);
		for (c = 0; c < sizeof counts / sizeof counts[0]; c++) {
			for (b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
				char *many;

				/* Large uploads at the small block sizes only where it is quick. */
				if (i < 2 && blocks[b] == 1)
					continue;
				test_threads = counts[c];
				ingest_block_bytes = blocks[b];
				many = outcome(fx, fmt, input, len, 1000);
				ingest_block_bytes = INGEST_BLOCK_BYTES;
				test_threads = 1;
				if (strcmp(one, many) != 0)
					fail_msg("case %zu (%s), %u threads, blocks of %zu bytes: "
					         "another outcome:\n%.400s\n-- one thread:\n%.400s",
					    i, fmt, counts[c], blocks[b], many, one);
				free(many);
			}
		}
		free(one);
		free(hex);
	}
	vec_free(&vf);
	for (i = 0; i < 3; i++)
		free(gen[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good_csv, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_good_jsonl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_first_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads_agree, setup, teardown),
	};

	if (keys_init(0) != 0)
		return 1;
	/* make check-tsan runs the threaded tests only (Makefile.am TSAN_TESTS). */
	if (getenv("SL_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("SL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
