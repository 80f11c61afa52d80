/*
 * sandbox/fault.h -- where an input broke a rule, for the ERROR frame.
 *
 * A worker never sends words of its own to the broker (sandbox/job.h): the
 * parser, the planner and ingest note the rule and the place of the fault
 * they return here, beside the message they record with sl_errf() for the
 * worker's log, and worker.c's ERROR frame carries the note.  The broker
 * writes the words from its own copy of the input.
 */
#ifndef SLUICE_SANDBOX_FAULT_H
#define SLUICE_SANDBOX_FAULT_H

#include <stdint.h>

#include "sandbox/job.h"

/* Note that the input broke rule at place; the latest note wins.  Returns r. */
int fault_note(int r, const struct job_place *place);

/* Note the code that says best what failure r is, when it has no place.  Returns r. */
int fault_code(int r, uint32_t code);

/* The latest note since fault_clear(), or NULL. */
const struct job_place *fault_last(void);

void fault_clear(void);

/* A thread's notes, to hand to another (a scan thread's failure to the job's thread). */
struct fault_state {
	struct job_place last;
	int noted;
	uint32_t code;
};
void fault_save(struct fault_state *s);
void fault_restore(const struct fault_state *s);

/* The ERROR frame for failure r of the job: the note's place when there is one. */
void fault_frame(int r, struct job_error_frame *e);

#endif
