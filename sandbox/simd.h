/*
 * sandbox/simd.h -- the one switch for the worker's AVX-512 code paths.
 *
 * The decoder (sandbox/store_read.c), the range filter (sandbox/exec.c) and the
 * CSV scanner (sandbox/csv.c) each have an AVX-512 path and a scalar path
 * that gives the same result; this decides which runs.
 */
#ifndef SLUICE_SANDBOX_SIMD_H
#define SLUICE_SANDBOX_SIMD_H

/*
 * Whether the AVX-512 paths run: where the CPU has AVX-512 F, BW, VL and
 * VBMI, unless turned off.  enable 0 turns them off, 1 back to automatic,
 * -1 only asks; returns whether they are in use.  Turning them off is for
 * tests and benchmarks of the scalar paths.
 */
int simd_avx512(int enable);

#endif
