/*
 * broker/main.c -- `sluice`, the broker's command line.
 *
 * Reads the global options (-d DIR, --passphrase-file), initialises keys/ and
 * hands over to one subcommand.  The broker is the trusted process: it never
 * parses SQL or uploaded files itself (those go to sluice-worker).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "common/log.h"
#include "config.h"
#include "keys/keys.h"

static int help_run(const struct cli *cli, const struct cli_args *a);

static const struct cli_spec cmd_help[] = {
    {
        .path = "help",
        .summary = "this help, or every command's synopsis",
        .help = "Without options, the same as `sluice --help`.",
        .opts =
            {
                {"synopsis", 0, CLI_FLAG, NULL, "print every command's synopsis, one a line"},
                {"man", 0, CLI_STRING, "PAGE",
                    "print manual page PAGE (sluice, or sluice-COMMAND) in man(7)"},
            },
        .run = help_run,
    },
    {.path = NULL},
};

static const struct cli_group groups[] = {
    {"init", "create a data directory", cmd_init},
    {"party", "add and list parties", cmd_party},
    {"product", "data products", cmd_product},
    {"contract", "usage contracts", cmd_contract},
    {"query", "run an aggregate query under a contract", cmd_query},
    {"ledger", "revenue statements, caps and checks", cmd_ledger},
    {"budget", "a dp contract's privacy budget", cmd_budget},
    {"audit", "the tamper-evident audit log", cmd_audit},
    {"keys", "master key status and rotation", cmd_keys},
    {"serve", "the exchange as an HTTPS JSON API", cmd_serve},
    {"demo", "the whole exchange at work, on throwaway data", cmd_demo},
    {"help", "this help, or every command's synopsis", cmd_help},
    {NULL, NULL, NULL},
};

/* The options before COMMAND. */
static const struct cli_spec global = {
    .path = NULL,
    .opts =
        {
            {"dir", 'd', CLI_STRING, "DIR", "the data directory (default: $SLUICE_DIR)",
                CLI_SHORT_ONLY},
            {"passphrase-file", 0, CLI_STRING, "F",
                "passphrase of a passphrase-protected data directory\n"
                "(default: $SLUICE_PASSPHRASE_FILE)"},
            {"help", 'h', CLI_FLAG, NULL, "this help; `sluice COMMAND --help` for one command"},
            {"version", 0, CLI_FLAG, NULL, "print the version"},
        },
};

static const struct cli_group *
group_named(const char *name)
{
	const struct cli_group *g;

	for (g = groups; g->name != NULL; g++)
		if (strcmp(g->name, name) == 0)
			return g;
	return NULL;
}

static void
usage(FILE *f)
{
	const struct cli_group *g;

	fprintf(f, "Usage: sluice [-d DIR] [--passphrase-file F] COMMAND [ARGS]\n"
	           "\n"
	           "Sluice, an exchange for data elements: data usable but invisible.\n"
	           "\n"
	           "Commands:\n");
	for (g = groups; g->name != NULL; g++)
		cli_group_line(f, g);
	fprintf(f, "\nGlobal options (before COMMAND):\n");
	cli_global_options(f, &global);
	fprintf(f, "\nExit status: 0 ok, 1 refused or failed, 2 usage error.\n");
}

/* The manual's edition: the day its text last changed. */
#define MAN_DATE "2026-12-03"

/* What every page says of the environment and the exit status. */
static const char man_environment[] =
    ".SH ENVIRONMENT\n"
    ".TP\n.B SLUICE_DIR\nthe data directory when \\-d is not given\n"
    ".TP\n.B SLUICE_PASSPHRASE_FILE\nthe passphrase file when \\-\\-passphrase\\-file is not "
    "given\n"
    ".TP\n.B SLUICE_WORKER\nthe worker program, an absolute path (default: sluice\\-worker next "
    "to sluice, else the installed one in PREFIX/libexec/sluice)\n"
    ".TP\n.B SLUICE_WORKER_USER\nthe user a worker started by root runs as (default: "
    "sluice\\-worker, else nobody)\n"
    ".TP\n.B SLUICE_QUERY_RATE\nqueries a contract may submit a minute, 1 to 100000 (default "
    "60)\n"
    ".TP\n.B NO_COLOR\nno colour in sluice demo's walkthrough, even on a terminal\n"
    ".SH EXIT STATUS\n"
    "0 ok, 1 refused or failed, 2 usage error.\n";

static const struct cli_group *group_named(const char *name);

/* Manual page page ("sluice" or "sluice-GROUP") on stdout; usage error if there is none. */
static int
man_page(const char *page)
{
	const struct cli_group *g = NULL;

	if (strcmp(page, "sluice") != 0 &&
	    (strncmp(page, "sluice-", 7) != 0 || (g = group_named(page + 7)) == NULL ||
	        strcmp(g->name, "help") == 0))
		return cli_usage_error(
		    "help", "--man %s: no such page (sluice, or sluice-COMMAND)", page);
	if (g != NULL) {
		cli_man_header(stdout, page, MAN_DATE, PACKAGE_VERSION, g->summary);
		cli_man_group(stdout, g);
		fputs(man_environment, stdout);
		fputs(".SH SEE ALSO\n.BR sluice (1)\n", stdout);
		return CLI_OK;
	}
	cli_man_header(
	    stdout, "sluice", MAN_DATE, PACKAGE_VERSION, "an exchange for data elements");
	fputs(".SH SYNOPSIS\n.B sluice\n[\\-d DIR] [\\-\\-passphrase\\-file F] COMMAND "
	      "[ARGS]\n"
	      ".SH DESCRIPTION\n"
	      "Sluice is an exchange for data elements: data usable but invisible. Merchants "
	      "list data products; the holder, the operator, the merchant and a buyer sign a "
	      "usage contract; the buyer's aggregate queries run in a confined worker over "
	      "encrypted stores, and only aggregates that pass the contract's release rule "
	      "leave. Each release is charged and split, and every action lands in a "
	      "tamper\\-evident audit log.\n"
	      ".PP\nThe commands, each with its own page:\n",
	    stdout);
	for (g = groups; g->name != NULL; g++) {
		if (strcmp(g->name, "help") == 0)
			continue;
		printf(".TP\n.BR sluice\\-%s (1)\n", g->name);
		fputs(g->summary, stdout);
		fputc('\n', stdout);
	}
	fputs(".TP\n.B sluice help\n[\\-\\-synopsis] [\\-\\-man PAGE]: the commands, their "
	      "synopses, or a page of this manual\n",
	    stdout);
	fputs(".SH OPTIONS\nGlobal options come before COMMAND.\n", stdout);
	cli_man_global(stdout, &global);
	fputs(man_environment, stdout);
	fputs(".SH FILES\n"
	      ".TP\n.I DIR/sluice.db\nthe catalog: parties, products, contracts, the ledger, "
	      "budgets and the audit log\n"
	      ".TP\n.I DIR/master.key\nthe master key (mode 0600), unless the directory is "
	      "passphrase\\-protected\n"
	      ".TP\n.I DIR/platform.pub\nthe platform's public key, for offline verification\n"
	      ".TP\n.I DIR/stores/\nthe encrypted store of each product version\n"
	      ".SH SEE ALSO\n",
	    stdout);
	for (g = groups; g->name != NULL; g++)
		if (strcmp(g->name, "help") != 0)
			printf("%s.BR sluice\\-%s (1)", g == groups ? "" : ",\n", g->name);
	fputc('\n', stdout);
	return CLI_OK;
}

static int
help_run(const struct cli *cli, const struct cli_args *a)
{
	const struct cli_group *g;
	const struct cli_spec *s;

	(void)cli;
	if (cli_opt(a, "man") != NULL)
		return man_page(cli_opt(a, "man"));
	if (!cli_flag(a, "synopsis")) {
		usage(stdout);
		return CLI_OK;
	}
	for (g = groups; g->name != NULL; g++)
		for (s = g->specs; s->path != NULL; s++)
			cli_spec_synopsis(stdout, s);
	return CLI_OK;
}

/*
 * The data directory as an absolute path, resolved once at start-up: every
 * path built from it (the catalog, stores/, the paths handed to workers,
 * which need absolute ones) then means the same whatever directory a later
 * step runs in.  A directory that does not resolve (missing, unreadable) is
 * kept as given, so that exchange_open() names it as the user wrote it.
 * Freed at exit.
 */
static char *dir_resolved;

static void
dir_free(void)
{
	free(dir_resolved);
}

static void
dir_resolve(struct cli *cli)
{
	if (cli->dir == NULL || (dir_resolved = realpath(cli->dir, NULL)) == NULL)
		return;
	cli->dir = dir_resolved;
	atexit(dir_free);
}

int
main(int argc, char **argv)
{
	const struct cli_group *g;
	struct cli_args *a = NULL;
	struct cli cli;
	int next;

	sl_log_init("sluice");
	memset(&cli, 0, sizeof(cli));
	if (cli_parse_global(&global, argc, argv, &a, &next) != CLI_OK)
		return CLI_USAGE;
	if (cli_flag(a, "help") || cli_flag(a, "version")) {
		if (cli_flag(a, "help"))
			usage(stdout);
		else
			printf("sluice %s\n", PACKAGE_VERSION);
		cli_args_free(a);
		return CLI_OK;
	}
	cli.dir = getenv("SLUICE_DIR");
	cli.passphrase_file = getenv("SLUICE_PASSPHRASE_FILE");
	if (cli.dir != NULL && cli.dir[0] == '\0')
		cli.dir = NULL;
	if (cli.passphrase_file != NULL && cli.passphrase_file[0] == '\0')
		cli.passphrase_file = NULL;
	if (cli_opt(a, "dir") != NULL)
		cli.dir = cli_opt(a, "dir");
	if (cli_opt(a, "passphrase-file") != NULL)
		cli.passphrase_file = cli_opt(a, "passphrase-file");
	cli_args_free(a);
	if (next >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	dir_resolve(&cli);
	/* Only sluice serve speaks TLS. */
	if (keys_init(strcmp(argv[next], "serve") == 0 ? KEYS_INIT_TLS : 0) != 0) {
		sl_errorx("cannot initialise the crypto libraries");
		return CLI_FAILED;
	}
	for (g = groups; g->name != NULL; g++)
		if (strcmp(g->name, argv[next]) == 0)
			return cli_group_run(&cli, g, argc - next, argv + next);
	return cli_usage_error(NULL, "unknown command '%s'", argv[next]);
}
