/*
 * sandbox/simd.c -- the one switch for the worker's AVX-512 code paths.
 */
#include "sandbox/simd.h"

/* -1: not decided yet.  Atomic: the scan's threads may be the first to ask, together. */
static int simd_state = -1;

int
simd_avx512(int enable)
{
	int state = __atomic_load_n(&simd_state, __ATOMIC_RELAXED);

	if (enable < 0 && state >= 0)
		return state;
#if defined(__x86_64__) && defined(__GNUC__)
	state = enable != 0 && __builtin_cpu_supports("avx512f") &&
	        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
	        __builtin_cpu_supports("avx512vbmi");
#else
	state = 0;
#endif
	__atomic_store_n(&simd_state, state, __ATOMIC_RELAXED);
	return state;
}
