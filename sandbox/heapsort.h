/*
 * sandbox/heapsort.h -- one in-place heapsort for the confined worker.
 *
 * Not qsort(): glibc's qsort asks sysconf(_SC_PHYS_PAGES) (the sysinfo
 * system call) before sorting an array of 1 KiB or more, and the confined
 * worker may not make it (sandbox/confine.c).  HEAPSORT_DEFINE(name, type,
 * KEY) defines static void name(type *a, size_t n), ascending by KEY(x), an
 * expression of an element that compares with < and >.
 */
#ifndef SLUICE_SANDBOX_HEAPSORT_H
#define SLUICE_SANDBOX_HEAPSORT_H

#include <stddef.h>

#define HEAPSORT_DEFINE(name, type, KEY)                                                           \
	static void name##_sift(type *a, size_t root, size_t n)                                    \
	{                                                                                          \
		for (;;) {                                                                         \
			size_t c = 2 * root + 1;                                                   \
			type t;                                                                    \
                                                                                                   \
			if (c >= n)                                                                \
				return;                                                            \
			if (c + 1 < n && KEY(a[c + 1]) > KEY(a[c]))                                \
				c++;                                                               \
			if (!(KEY(a[root]) < KEY(a[c])))                                           \
				return;                                                            \
			t = a[root], a[root] = a[c], a[c] = t;                                     \
			root = c;                                                                  \
		}                                                                                  \
	}                                                                                          \
	static void name(type *a, size_t n)                                                        \
	{                                                                                          \
		size_t i;                                                                          \
		type t;                                                                            \
                                                                                                   \
		for (i = n / 2; i > 0; i--)                                                        \
			name##_sift(a, i - 1, n);                                                  \
		for (i = n; i > 1; i--) {                                                          \
			t = a[0], a[0] = a[i - 1], a[i - 1] = t;                                   \
			name##_sift(a, 0, i - 1);                                                  \
		}                                                                                  \
	}

/* KEY for a plain number */
#define HEAPSORT_SELF(x) (x)

#endif
