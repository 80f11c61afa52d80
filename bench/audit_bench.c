/*
 * bench/audit_bench.c -- audit log throughput (issue 3's targets).
 *
 *   append: events/s into the SQLite-backed log, 1000 events per transaction
 *           as a busy broker would commit them (target >= 50,000/s);
 *   verify: seconds to verify an export of N events offline (target <= 3 s
 *           for 1,000,000).
 *
 * Usage: bench/audit_bench [EVENTS] [RUNS]   (defaults 1000000 and 3)
 * Prints each run and the median.  Runs in a temporary directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "broker/audit.h"
#include "broker/audit_file.h"
#include "broker/db.h"
#include "broker/exchange.h"
#include "common/file.h"
#include "common/text.h"
#include "keys/keys.h"
#include "keys/sign.h"

#define BATCH 1000

static void
die(const char *what, int r)
{
	fprintf(stderr, "audit_bench: %s failed (%d)\n", what, r);
	exit(1);
}

/* Append n events like a query release would record. */
static double
append(struct exchange *ex, long n)
{
	char subject[32];
	double t0 = sl_monotonic();
	long i;
	int r;

	for (i = 0; i < n; i++) {
		if (i % BATCH == 0 && (r = db_begin(exchange_db(ex))) != 0)
			die("begin", r);
		snprintf(subject, sizeof(subject), "q_%08ld", i);
		if ((r = exchange_audit(ex, "acme-buyer", "query.released", subject,
		         json_pack("{s:s, s:i, s:i, s:s}", "contract", "c_0001", "rows", 12,
		             "suppressed_groups", 2, "sql",
		             "SELECT region, COUNT(*) FROM claims GROUP BY region"))) != 0)
			die("append", r);
		if ((i % BATCH == BATCH - 1 || i == n - 1) && (r = db_commit(exchange_db(ex))) != 0)
			die("commit", r);
	}
	return sl_monotonic() - t0;
}

int
main(int argc, char **argv)
{
	long events = argc > 1 ? atol(argv[1]) : 1000000;
	int runs = argc > 2 ? atoi(argv[2]) : 3, i, r;
	char tmpl[] = "/tmp/sluice-bench-XXXXXX", *dir, *path;
	struct exchange_created info;
	struct exchange *ex = NULL;
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	struct audit_verify_result res;
	struct audit_export opts = {0};
	double rates[16], verifies[16], t;
	json_t *cp = NULL;
	char *pem = NULL;
	size_t pemlen;
	long per_run = events / runs;
	FILE *f;

	if (runs < 1 || runs > 16 || events < runs)
		die("arguments", 0);
	if (keys_init(0) != 0 || mkdtemp(tmpl) == NULL)
		die("setup", 0);
	dir = sl_path_join(tmpl, "x");
	path = sl_path_join(tmpl, "export.jsonl");
	if ((r = exchange_create(dir, KEYS_SUITE_INTL, NULL, &info)) != 0 ||
	    (r = exchange_open(dir, NULL, &ex)) != 0)
		die("create", r);
	printf("append: %d runs of %ld events, %d per transaction\n", runs, per_run, BATCH);
	for (i = 0; i < runs; i++) {
		t = append(ex, per_run);
		rates[i] = (double)per_run / t;
		printf("  run %d: %.0f events/s\n", i + 1, rates[i]);
	}
	printf("append median: %.0f events/s (target >= 50000)\n", bench_median(rates, runs));

	if ((r = exchange_platform_identity(ex, &id)) != 0 ||
	    (r = keys_identity_pubkey(id, &pk)) != 0 ||
	    (r = keys_pubkey_to_pem(pk, &pem, &pemlen)) != 0 ||
	    (r = db_begin(exchange_db(ex))) != 0 ||
	    (r = audit_checkpoint(exchange_db(ex), KEYS_SUITE_INTL, id, exchange_cplog(ex),
	         AUDIT_SIGN_WHOLE, &cp)) != 0 ||
	    (r = db_commit(exchange_db(ex))) != 0)
		die("checkpoint", r);
	opts.checkpoint = cp;
	opts.platform_pem = pem;
	if ((f = fopen(path, "w")) == NULL)
		die("open export", 0);
	t = sl_monotonic();
	if ((r = audit_export_write(exchange_db(ex), KEYS_SUITE_INTL, &opts, f)) != 0)
		die("export", r);
	fclose(f);
	printf("export of %ld events: %.2f s\n", per_run * runs + 1, sl_monotonic() - t);
	for (i = 0; i < runs; i++) {
		t = sl_monotonic();
		if ((r = audit_verify_file(path, pk, NULL, &res)) != 0) {
			fprintf(stderr, "verify: %s\n", res.reason);
			die("verify", r);
		}
		verifies[i] = sl_monotonic() - t;
		printf("  verify run %d: %.2f s (%llu events)\n", i + 1, verifies[i],
		    (unsigned long long)res.tree_size);
	}
	printf("verify median: %.2f s for %llu events (target <= 3 s for 1000000)\n",
	    bench_median(verifies, runs), (unsigned long long)res.tree_size);
	json_decref(cp);
	free(pem);
	keys_pubkey_free(pk);
	keys_identity_free(id);
	exchange_close(ex);
	if (getenv("AUDIT_BENCH_KEEP") != NULL)
		fprintf(stderr, "kept %s\n", path);
	else
		sl_rmtree(tmpl);
	free(dir);
	free(path);
	return 0;
}
