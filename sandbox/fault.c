/*
 * sandbox/fault.c -- the latest input fault's place (sandbox/fault.h).
 */
#include <string.h>

#include "common/err.h"
#include "sandbox/fault.h"

/* Each thread of a job notes its own faults; the job's thread takes over a failed one's. */
static _Thread_local struct job_place last;
static _Thread_local int noted;
static _Thread_local uint32_t last_code;

void
fault_save(struct fault_state *s)
{
	s->last = last;
	s->noted = noted;
	s->code = last_code;
}

void
fault_restore(const struct fault_state *s)
{
	last = s->last;
	noted = s->noted;
	last_code = s->code;
}

int
fault_code(int r, uint32_t code)
{
	last_code = code;
	return r;
}

int
fault_note(int r, const struct job_place *place)
{
	last = *place;
	noted = 1;
	return r;
}

const struct job_place *
fault_last(void)
{
	return noted ? &last : NULL;
}

void
fault_clear(void)
{
	memset(&last, 0, sizeof last);
	noted = 0;
	last_code = 0;
}

static uint32_t
code_of(int r)
{
	switch (r) {
	case SL_ERR_NOMEM:
		return JOB_ERR_NOMEM;
	case SL_ERR_IO:
		return JOB_ERR_IO;
	case SL_ERR_AUTH:
		return JOB_ERR_INTEGRITY;
	case SL_ERR_LIMIT:
		return JOB_ERR_LIMIT;
	case SL_ERR_POLICY:
		return JOB_ERR_ABORTED;
	case SL_ERR_VERSION:
		return JOB_ERR_HEADER;
	case SL_ERR_PARSE:
		return JOB_ERR_PROTOCOL;
	default:
		return JOB_ERR_INTERNAL;
	}
}

void
fault_frame(int r, struct job_error_frame *e)
{
	memset(e, 0, sizeof *e);
	e->code = last_code != 0 ? last_code : code_of(r);
	e->total = 1;
	if (noted && (r == SL_ERR_PARSE || r == SL_ERR_LIMIT)) {
		e->code = JOB_ERR_QUERY;
		e->nplaces = 1;
		e->places[0] = last;
	}
}
