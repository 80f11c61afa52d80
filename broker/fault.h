/*
 * broker/fault.h -- a worker's ERROR frame in words (sandbox/job.h).
 *
 * A worker sends a code and places, never text: it may be compromised, and
 * words it chose would reach the party that asked.  The broker writes the
 * message from the job's error tables and from its own copy of the input
 * (the buyer's query text), checking that every place lies inside it.
 */
#ifndef SLUICE_BROKER_FAULT_H
#define SLUICE_BROKER_FAULT_H

#include <stddef.h>

#include "sandbox/job.h"

struct schema;

/* What the words of a place may draw on; any field may be NULL/0. */
struct fault_input {
	const char *text; /* the input the places point into */
	size_t len;
	const struct schema *schema; /* %C, %K, %H */
	const char *product;         /* %R */
};

/*
 * The message for e into buf: its first place as "line:column: rule", or
 * the code's words when it has none.  SL_ERR_PARSE (message recorded) when a
 * place is outside the input or names a column the schema lacks: the
 * worker lied, and the job fails rather than quote it.
 */
int fault_words(const struct job_error_frame *e, const struct fault_input *in, char *buf,
    size_t buflen) __attribute__((warn_unused_result));

/* Whether code blames the input (a refusal) rather than the job (a failure). */
int fault_is_input(uint32_t code);

#endif
