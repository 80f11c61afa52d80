/*
 * common/jcs.h -- RFC 8785 JSON Canonicalization Scheme over jansson values.
 */
#ifndef SLUICE_COMMON_JCS_H
#define SLUICE_COMMON_JCS_H

#include <jansson.h>
#include <stddef.h>

/*
 * The canonical UTF-8 bytes of v in a new NUL-terminated buffer (caller
 * frees with free(); *len excludes the NUL).  SL_ERR_INVAL for NaN/Infinity
 * or invalid UTF-8, SL_ERR_LIMIT past 64 levels of nesting.
 */
int jcs_serialize(const json_t *v, char **out, size_t *len) __attribute__((warn_unused_result));

#endif
