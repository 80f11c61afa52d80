/*
 * tests/fuzz/check.h -- the harnesses' assertion: a failed property is a
 * crash libFuzzer records, with the place it failed.
 */
#ifndef SLUICE_TESTS_FUZZ_CHECK_H
#define SLUICE_TESTS_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
