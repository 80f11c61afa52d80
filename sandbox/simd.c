/*
 * sandbox/simd.c -- the one switch for the worker's AVX-512 code paths.
 */
#include "sandbox/simd.h"

static int simd_state = -1; /* -1: not decided yet */

int
simd_avx512(int enable)
{
	if (enable < 0 && simd_state >= 0)
		return simd_state;
#if defined(__x86_64__) && defined(__GNUC__)
	simd_state = enable != 0 && __builtin_cpu_supports("avx512f") &&
	             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
	             __builtin_cpu_supports("avx512vbmi");
#else
	simd_state = 0;
#endif
	return simd_state;
}
