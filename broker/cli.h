/*
 * broker/cli.h -- what every `sluice` subcommand shares.
 *
 * Exit codes are DESIGN.md section 11's: 0 ok, 1 refused or failed, 2 usage.
 * Human text goes to stdout, errors to stderr; with --json a command prints
 * exactly one JSON document on stdout.
 */
#ifndef SLUICE_BROKER_CLI_H
#define SLUICE_BROKER_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct exchange;

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* Global options, read before the subcommand. */
struct cli {
	const char *dir;             /* -d DIR or $SLUICE_DIR; NULL if neither */
	const char *passphrase_file; /* --passphrase-file or $SLUICE_PASSPHRASE_FILE */
};

/* One subcommand: argv[0] is its name. */
struct cli_command {
	const char *name;
	int (*run)(const struct cli *cli, int argc, char **argv);
	const char *synopsis; /* arguments, for usage lines */
	const char *summary;  /* one line */
};

/*
 * Print "sluice CMD: message" and a pointer to --help on stderr; return
 * CLI_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Report the option getopt_long() just refused (argv[optind - 1]) and return
 * CLI_USAGE.  getopt's own messages are off (opterr = 0).
 */
int cli_bad_option(const char *cmd, char **argv);

/* Print the message recorded for failure r (sl_err_msg) and return CLI_FAILED. */
int cli_fail(int r);

/*
 * Open the data directory named by the global options.  Returns CLI_OK and
 * sets *ex, or prints why not and returns CLI_USAGE (no directory given) or
 * CLI_FAILED.
 */
int cli_open(const struct cli *cli, const char *cmd, struct exchange **ex);

/*
 * Read a small input file named on the command line (a schema, a key, a
 * checkpoint) of at most max bytes.  On failure the recorded message names
 * the file and says why ("no such file", "larger than N bytes", errno's text).
 * The caller frees *data with free().
 */
int cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
    __attribute__((warn_unused_result));

/*
 * Load a party's identity from its key file (--identity FILE.key, as written
 * by `party add`); the message names the file.  Like master.key, the file
 * must be a regular file, no symbolic link, that only its owner can read
 * (SL_ERR_POLICY otherwise, the message giving the fix).  Free with
 * keys_identity_free().
 */
struct keys_identity;
int cli_load_identity(const char *path, struct keys_identity **id)
    __attribute__((warn_unused_result));
/*
 * Who does what a party may do for itself (`product add`, `product load`,
 * `contract offer`), for the audit log's actor.  Without --identity (path
 * NULL) it is the platform operator, who holds the data directory: *actor is
 * EXCHANGE_PLATFORM_NAME.  With it, the key in path must be the key of party
 * want, which is then the actor; otherwise SL_ERR_POLICY, the message naming
 * the file, the party whose key it is and want (as "the merchant of
 * product claims": what).  *actor is borrowed: want or a constant.
 */
int cli_actor(struct exchange *ex, const char *path, const char *want, const char *what,
    const char **actor) __attribute__((warn_unused_result));

/* Print doc (stolen) as one JSON document with a newline; CLI_OK or CLI_FAILED. */
int cli_print_json(json_t *doc);

/*
 * Run the subcommand of table named argv[0] (for commands with their own
 * subcommands: `party add`, `keys rotate-master`).  group names the parent
 * for messages.
 */
int cli_dispatch(const struct cli *cli, const char *group, const struct cli_command *table,
    int argc, char **argv);

/* Usage of a command group: its subcommands' synopses and summaries. */
void cli_group_usage(FILE *f, const char *group, const struct cli_command *table);

/* A whole decimal string of 0..max into *out: 0, or -1 (and *out untouched). */
int cli_parse_count(const char *s, int64_t max, int64_t *out) __attribute__((warn_unused_result));

#endif
