/*
 * bench/gen.c -- deterministic synthetic data for the two sample products
 * (common/gen.h): the command line around gen_write().
 *
 * Usage:
 *   bench/gen claims|imaging --rows N [--seed S] [--format csv|jsonl] [--out FILE]
 *   bench/gen claims|imaging --schema [--out FILE]
 *
 * It trusts only its command line, which it checks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gen.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: gen claims|imaging --rows N [--seed S] [--format csv|jsonl] [--out FILE]\n"
	    "       gen claims|imaging --schema [--out FILE]\n");
	exit(2);
}

/* Parse a decimal integer in [lo, hi]; 0, or -1 if s is not one. */
static int
parse_ll(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *format = "csv", *path = NULL, *product;
	long long rows = -1, seed = GEN_SEED_DEFAULT;
	FILE *fp = stdout;
	int i, schema = 0, r;

	if (argc < 2 || !gen_known(argv[1]))
		usage();
	product = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--schema") == 0) {
			schema = 1;
		} else if (i + 1 >= argc) {
			usage();
		} else if (strcmp(argv[i], "--rows") == 0) {
			if (parse_ll(argv[++i], 0, 1000000000LL, &rows) != 0) {
				fprintf(stderr,
				    "gen: --rows: expected an integer in [0, 1000000000]\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--seed") == 0) {
			if (parse_ll(argv[++i], 0, INT64_MAX, &seed) != 0) {
				fprintf(stderr, "gen: --seed: expected a non-negative integer\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--format") == 0) {
			format = argv[++i];
			if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0)
				usage();
		} else if (strcmp(argv[i], "--out") == 0) {
			path = argv[++i];
		} else
			usage();
	}
	if (!schema && rows < 0)
		usage();
	if (path != NULL && (fp = fopen(path, "w")) == NULL) {
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
		return 1;
	}
	r = schema ? gen_write_schema(fp, product)
	           : gen_write(fp, product, rows, (uint64_t)seed, strcmp(format, "jsonl") == 0);
	if (r != 0)
		fprintf(stderr, "gen: %s: %s\n", path != NULL ? path : "stdout", strerror(errno));
	if (fp != stdout && fclose(fp) != 0 && r == 0) {
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
		r = -1;
	}
	return r != 0;
}
