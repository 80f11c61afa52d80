/*
 * keys/suite.c -- names of the crypto suites.
 */
#include <string.h>

#include "common/err.h"
#include "keys/suite.h"

const char *
keys_suite_name(enum keys_suite suite)
{
	switch (suite) {
	case KEYS_SUITE_INTL:
		return "intl";
	case KEYS_SUITE_GM:
		return "gm";
	}
	return NULL;
}

int
keys_suite_parse(const char *name, enum keys_suite *out)
{
	if (strcmp(name, "intl") == 0)
		*out = KEYS_SUITE_INTL;
	else if (strcmp(name, "gm") == 0)
		*out = KEYS_SUITE_GM;
	else
		return SL_ERR_INVAL;
	return 0;
}
