/*
 * common/gen.h -- deterministic synthetic data for the sample products,
 * claims and imaging (common/gen.c says what the rows are like).
 *
 * The same product, rows and seed give the same bytes on every machine.
 * Used by bench/gen and by `sluice demo`.
 */
#ifndef SL_COMMON_GEN_H
#define SL_COMMON_GEN_H

#include <stdint.h>
#include <stdio.h>

#define GEN_SEED_DEFAULT 1

/* Whether product names a sample product ("claims", "imaging"). */
int gen_known(const char *product);

/*
 * rows rows of product to fp, CSV with a header row or (jsonl) one JSON
 * object a line; then fflush(fp).  0, or -1 with errno: EINVAL for an
 * unknown product or rows outside [0, 10^9], ENOMEM, or the write's error.
 */
int gen_write(FILE *fp, const char *product, long long rows, uint64_t seed, int jsonl);

/* The product's schema (JSON, as `sluice product add --schema` reads it). */
int gen_write_schema(FILE *fp, const char *product);

#endif
