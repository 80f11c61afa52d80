/*
 * broker/cli.h -- what every `sluice` subcommand shares.
 *
 * Exit codes are docs/sluice.1: 0 ok, 1 refused or failed, 2 usage.
 * Human text goes to stdout, errors to stderr; with --json a command prints
 * exactly one JSON document on stdout.
 */
#ifndef SLUICE_BROKER_CLI_H
#define SLUICE_BROKER_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct exchange;

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* Global options, read before the subcommand. */
struct cli {
	const char *dir;             /* -d DIR or $SLUICE_DIR; NULL if neither */
	const char *passphrase_file; /* --passphrase-file or $SLUICE_PASSPHRASE_FILE */
};

/* ---- the command table ------------------------------------------------------
 *
 * Every command is one static struct cli_spec: its path ("contract offer"),
 * its positional arguments, its options and its texts.  From the table alone
 * come the parsing, each command's and group's --help, the global synopsis
 * (`sluice help --synopsis`) and the usage errors, which name the option or
 * argument at fault and exit CLI_USAGE.
 */

#define CLI_OPTS_MAX 16 /* options of one command, besides --help */
#define CLI_ARGS_MAX 3  /* positional arguments of one command */

enum cli_opt_type {
	CLI_STRING, /* any value, given as --name VALUE or --name=VALUE */
	CLI_FLAG,   /* no value */
	CLI_CHOICE, /* one of the words of arg, which is "a|b|c" */
	CLI_COUNT,  /* a whole decimal number of min..max */
};

enum {
	CLI_REQUIRED = 1 << 0,   /* "missing --name ARG" without it */
	CLI_REPEAT = 1 << 1,     /* each value counts (else only the last one) */
	CLI_EXCL_NEXT = 1 << 2,  /* excludes the option that follows it in the table */
	CLI_SHORT_ONLY = 1 << 3, /* only as -letter; name is for the table's users */
};

struct cli_option {
	const char *name; /* long name, without "--" */
	char letter;      /* short letter, or 0 */
	enum cli_opt_type type;
	const char *arg;  /* the value's name in the synopsis (NULL for a flag) */
	const char *help; /* one line; a newline starts an indented second line */
	unsigned flags;
	int64_t min, max; /* CLI_COUNT only */
	const char *what; /* CLI_COUNT only: "must be WHAT" when out of range */
};

struct cli_positional {
	const char *name; /* in the synopsis: "NAME", "C.json" */
	const char *what; /* in "missing WHAT"; NULL: name */
};

struct cli_args;

struct cli_spec {
	const char *path;    /* "init", "contract offer" */
	const char *summary; /* one line, for the group's listing */
	const char *help;    /* the paragraph of `--help` after the usage line */
	struct cli_positional args[CLI_ARGS_MAX]; /* each required, in order */
	struct cli_option opts[CLI_OPTS_MAX];     /* ends at the first without a name */
	int args_last; /* the synopsis puts the arguments after the options */
	int (*run)(const struct cli *cli, const struct cli_args *a);
};

/*
 * A top-level command: either one spec whose path is the group's name
 * (`init`, `query`), or subcommands, and then optionally a spec run when the
 * first argument names none of them (`ledger [--party NAME]`).  specs ends
 * at an entry with a NULL path.
 */
struct cli_group {
	const char *name;
	const char *summary;
	const struct cli_spec *specs;
};

/*
 * Parse argv (argv[0] is the command's last word) against spec and run it.
 * --help or -h anywhere before a usage error prints the command's help on
 * stdout and returns CLI_OK.  A usage error (unknown option, missing value
 * or argument, a value out of its domain, excluded options together) is reported
 * on stderr naming the option and returns CLI_USAGE without running.
 */
int cli_spec_run(const struct cli *cli, const struct cli_spec *spec, int argc, char **argv);

/*
 * Run the command of group named by argv[0]'s successor (argv[0] is the
 * group's name): the subcommand, the group's own spec, or its --help.
 */
int cli_group_run(const struct cli *cli, const struct cli_group *g, int argc, char **argv);

/* The group's usage: each command's synopsis, then each summary. */
void cli_group_usage(FILE *f, const struct cli_group *g);

/*
 * The global help's line for g: its name, its summary and its
 * subcommands.
 */
void cli_group_line(FILE *f, const struct cli_group *g);

/* The option list of the global options (no implicit --help). */
void cli_global_options(FILE *f, const struct cli_spec *spec);

/*
 * Manual pages in man(7), made from the same tables as --help so the two
 * never differ (`sluice help --man`): the title and NAME line of page
 * ("sluice-product"); a group's SYNOPSIS and DESCRIPTION, every command with
 * its help and every option; the global options as tagged paragraphs.
 */
void cli_man_header(
    FILE *f, const char *page, const char *date, const char *version, const char *summary);
void cli_man_group(FILE *f, const struct cli_group *g);
void cli_man_global(FILE *f, const struct cli_spec *global);

/* One line "sluice PATH ARGS OPTIONS" for spec, with a newline. */
void cli_spec_synopsis(FILE *f, const struct cli_spec *spec);

/* The command's help: usage line, paragraph and a line per option. */
void cli_spec_usage(FILE *f, const struct cli_spec *spec);

/*
 * Parse argv against the global options (spec->args unused): parsing stops
 * at the first argument that is not an option, the command's name, whose
 * index is *next.  CLI_OK with *a set (free with cli_args_free()), or
 * CLI_USAGE after reporting as "sluice: ...".  --help is left to the caller,
 * as a flag.
 */
int cli_parse_global(const struct cli_spec *spec, int argc, char **argv, struct cli_args **a,
    int *next) __attribute__((warn_unused_result));

void cli_args_free(struct cli_args *a);

/*
 * The parsed values.  name must be an option of the spec (or the program
 * aborts: a typo in a table's user, not input).  cli_opt(): the value, NULL
 * if not given; cli_opt_nth(): the i-th of a CLI_REPEAT option, NULL past the
 * last; cli_flag(): how many times it was given; cli_count(): the number of
 * a CLI_COUNT option, dflt if not given; cli_arg(): the i-th positional
 * argument.  Strings are borrowed from argv.
 */
const char *cli_opt(const struct cli_args *a, const char *name);
const char *cli_opt_nth(const struct cli_args *a, const char *name, size_t i);
int cli_flag(const struct cli_args *a, const char *name);
int64_t cli_count(const struct cli_args *a, const char *name, int64_t dflt);
const char *cli_arg(const struct cli_args *a, size_t i);

/* The path of the command being run, for messages ("contract offer"). */
const char *cli_path(const struct cli_args *a);

/*
 * Print "sluice CMD: message" and a pointer to --help on stderr; return
 * CLI_USAGE.  cmd NULL is the program itself ("sluice: message").  With
 * JSON errors on, the report is {"error": {"code": "usage", "message": ...,
 * "help": "sluice CMD --help"}} instead.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print the message recorded for failure r (sl_err_msg) and return CLI_FAILED. */
int cli_fail(int r);

/*
 * cli_fail() with what is known of the place: field (may be NULL) is the
 * input at fault as the action names it ("terms", "identity"), and extra
 * (stolen, may be NULL) an object whose members the JSON report carries as
 * well ({"query": ID}, a load's "errors").  The text report is the message
 * alone.  Returns CLI_FAILED.
 */
int cli_fail_detail(int r, const char *field, json_t *extra);

/*
 * Whether failures are reported as JSON: one object on stderr,
 * {"error": {"code": sl_err_name(r), "message": ..., "field": ...}}, the
 * exit codes unchanged.  cli_spec_run() turns it on for a command given
 * --json (even when parsing it then fails), so every command's failures
 * follow without each one asking.
 */
void cli_json_errors(int on);

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
 * The caller of an action (broker/actor.h) from --identity FILE.key: the
 * public key of the identity in path, or NULL if path is NULL.  Free with
 * keys_pubkey_free().
 */
struct keys_pubkey;
int cli_caller(const char *path, struct keys_pubkey **caller) __attribute__((warn_unused_result));

/*
 * An action's failure r names the input at fault: when field is want, put
 * "file: " before the recorded message.  Returns r.
 */
int cli_name_file(int r, const char *field, const char *want, const char *file);

/*
 * Print doc (stolen) as one JSON document with a newline, as cli_json_text()
 * writes it; CLI_OK or CLI_FAILED.
 */
int cli_print_json(json_t *doc);

/* Room for cli_real_text(): a sign, 17 digits, a point, "e-308" and a NUL. */
#define CLI_REAL_TEXT_BYTES 32

/*
 * x as the shortest "%.Pg" (P = 1..17) that strtod() reads back as the same
 * double, with ".0" added when that has neither a point nor an exponent, so
 * it stays a JSON real: 196035.79, 2.0, -0.0, 1e+300, 5e-324.  NaN and the
 * infinities, which JSON has no form for (jansson never holds them), come out
 * as "nan" and "inf".
 */
void cli_real_text(double x, char out[CLI_REAL_TEXT_BYTES]);

/*
 * doc as jansson's JSON_INDENT(2) | JSON_ENSURE_ASCII writes it (the same
 * layout and key order), but every real as cli_real_text() gives it rather
 * than jansson's "%.17g".  Returns a string the caller frees with free(), or
 * NULL when out of memory or doc nests deeper than CLI_JSON_DEPTH_MAX.
 */
#define CLI_JSON_DEPTH_MAX 64
char *cli_json_text(const json_t *doc);

/* ---- human tables ------------------------------------------------------------
 *
 * A table's columns are as wide as their widest cell, header included, so
 * that long names (city-health-bureau, pacific-insurance) keep it aligned:
 * rows are collected, then printed at once.  Columns are two spaces apart;
 * the last one is not padded.
 */
struct cli_table; /* opaque */

/*
 * A table of ncols (at most CLI_TABLE_COLS_MAX) columns under headers
 * (NULL: no header line); align holds a letter per column, 'l' or 'r'
 * (numbers right-aligned, as psql does).  NULL when out of memory.  Free
 * with cli_table_free().
 */
#define CLI_TABLE_COLS_MAX 16
struct cli_table *cli_table_new(size_t ncols, const char *align, const char *const *headers);

/* Add a row of ncols cells (copied; NULL is empty).  0 or SL_ERR_NOMEM. */
int cli_table_add(struct cli_table *t, const char *const *cells)
    __attribute__((warn_unused_result));

/*
 * Add a line of its own between the rows, printed as text is, without the
 * indent (a heading: "acme-merchant (merchant)").  0 or SL_ERR_NOMEM.
 */
int cli_table_line(struct cli_table *t, const char *text) __attribute__((warn_unused_result));

/*
 * Print the header and the rows, each line after indent, without trailing
 * blanks; t may be NULL (nothing printed).
 */
void cli_table_print(const struct cli_table *t, FILE *f, const char *indent);

/* t may be NULL. */
void cli_table_free(struct cli_table *t);

/*
 * A command's table, built: printed on stdout and freed when t is whole
 * (t not NULL, r 0 from its cli_table_add() calls), else freed and the
 * failure reported (out of memory).  The command's exit code.
 */
int cli_table_done(struct cli_table *t, int r);

/* A whole decimal string of 0..max into *out: 0, or -1 (and *out untouched). */
int cli_parse_count(const char *s, int64_t max, int64_t *out) __attribute__((warn_unused_result));

/*
 * The broker's query rate, for the CLI and the daemon alike: a contract's
 * submissions a minute, $SLUICE_QUERY_RATE (1..100000) when set and valid
 * (else a warning), QUERY_RATE_DEFAULT otherwise.
 */
unsigned cli_query_rate(void);

#endif
