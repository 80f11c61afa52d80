/*
 * bench/noise_bench.c -- throughput of the exact noise samplers (issue 15).
 *
 *   laplace: discrete Laplace samples/s at scale 10 (epsilon 0.1 at
 *            sensitivity 1);
 *   gauss:   discrete Gaussian samples/s at sigma 10 (sigma^2 = 100).
 *
 * Usage: bench/noise_bench [RUNS]   (default 5)
 * Each run draws until at least 0.5 s have passed; prints every run and the
 * median.  One struct noise_rng serves all of a mechanism's runs, as one
 * would serve all the groups of a release.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/bench.h"
#include "broker/noise.h"
#include "common/err.h"
#include "common/rational.h"
#include "common/text.h"
#include "keys/keys.h"

#define MAX_RUNS 101
#define RUN_SECONDS 0.5
#define BATCH 10000

static void
die(const char *what, int r)
{
	fprintf(stderr, "noise_bench: %s failed: %s\n", what, sl_err_msg(r));
	exit(1);
}

/* Samples per second of one run of at least RUN_SECONDS; *sink keeps the draws live. */
static double
run(struct noise_rng *rng, int gauss, struct rational param, int64_t *sink)
{
	double t0 = sl_monotonic(), t;
	long n = 0;
	int64_t x;
	int i, r;

	do {
		for (i = 0; i < BATCH; i++) {
			r = gauss ? noise_gaussian(rng, param, &x) : noise_laplace(rng, param, &x);
			if (r != 0)
				die(gauss ? "noise_gaussian" : "noise_laplace", r);
			*sink += x;
		}
		n += BATCH;
		t = sl_monotonic() - t0;
	} while (t < RUN_SECONDS);
	return (double)n / t;
}

static void
bench(const char *name, int gauss, struct rational param, int runs)
{
	struct noise_rng *rng;
	double rate[MAX_RUNS];
	int64_t sink = 0;
	int i, r;

	if ((r = noise_rng_new(&rng)) != 0)
		die("noise_rng_new", r);
	printf("%s:", name);
	for (i = 0; i < runs; i++) {
		rate[i] = run(rng, gauss, param, &sink);
		printf(" %.2fM", rate[i] / 1e6);
		fflush(stdout);
	}
	printf(" -> median %.2fM samples/s (sum of draws %lld)\n", bench_median(rate, runs) / 1e6,
	    (long long)sink);
	noise_rng_free(rng);
}

int
main(int argc, char **argv)
{
	struct rational ten, hundred;
	int runs = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5;
	int r;

	if (runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: noise_bench [RUNS (1-%d)]\n", MAX_RUNS);
		return 2;
	}
	if ((r = keys_init(0)) != 0)
		die("keys_init", r);
	if ((r = rational_make(10, 1, &ten)) != 0 || (r = rational_make(100, 1, &hundred)) != 0)
		die("rational_make", r);
	bench("discrete Laplace, scale 10", 0, ten, runs);
	bench("discrete Gaussian, sigma 10", 1, hundred, runs);
	return 0;
}
