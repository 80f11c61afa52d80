/*
 * broker/commands.h -- the command tables of `sluice`.
 *
 * Each is the table of one top-level command (broker/cli.h, struct
 * cli_spec), ending at an entry with a NULL path; main.c groups them.
 */
#ifndef SLUICE_BROKER_COMMANDS_H
#define SLUICE_BROKER_COMMANDS_H

#include "broker/cli.h"

/* The option every command that prints a result has. */
#define CMD_OPT_JSON                                                                               \
	{                                                                                          \
		"json", 0, CLI_FLAG, NULL, "print the result as one JSON document"                 \
	}

extern const struct cli_spec cmd_init[];
extern const struct cli_spec cmd_party[];
extern const struct cli_spec cmd_audit[];
extern const struct cli_spec cmd_product[];
extern const struct cli_spec cmd_contract[];
extern const struct cli_spec cmd_query[];
extern const struct cli_spec cmd_keys[];
extern const struct cli_spec cmd_ledger[];
extern const struct cli_spec cmd_budget[];
extern const struct cli_spec cmd_demo[];
extern const struct cli_spec cmd_serve[];

/*
 * A query's answer (the document of `query --json`) as `sluice query`
 * prints it: an aligned table, what was suppressed and charged, and in dp
 * mode the noise; each line after indent.  replayed: the answer of a
 * retried request id.
 */
void cmd_query_print(const json_t *answer, int replayed, const char *indent);

/*
 * A load_progress_fn (broker/load.h) for a terminal: a line on stderr
 * overwritten in place (rows, percentage, MB, MB/s), then the totals.  arg
 * is a struct cmd_progress naming the work.
 */
struct load_progress;
struct cmd_progress {
	const char *what; /* "claims.csv" */
	int shown;        /* a line without its newline is on the terminal */
};
void cmd_progress_display(void *arg, const struct load_progress *p);

#endif
