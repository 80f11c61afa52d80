/*
 * broker/main.c -- `sluice`, the broker's command line.
 *
 * Reads the global options (-d DIR, --passphrase-file), initialises keys/ and
 * hands over to one subcommand.  The broker is the trusted process: it never
 * parses SQL or uploaded files itself (those go to sluice-worker).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "common/log.h"
#include "config.h"
#include "keys/keys.h"

static const struct cli_command commands[] = {
    {"init", cmd_init, "DIR [--suite intl|gm] [--passphrase-file F]", "create a data directory"},
    {"party", cmd_party, "add NAME --role ROLE --out FILE.key | list", "add and list parties"},
    {"product", cmd_product, "add NAME --schema F --merchant M | list | show NAME",
        "data products"},
    {"contract", cmd_contract, "offer | sign | submit | verify | list | show | revoke",
        "usage contracts"},
    {"query", cmd_query, "--contract ID --identity BUYER.key \"SELECT ...\"",
        "run an aggregate query under a contract"},
    {"ledger", cmd_ledger, "[--party NAME] [--from T] [--until T] | verify | cap PRODUCT",
        "revenue statements, caps and checks"},
    {"audit", cmd_audit, "export | verify FILE | show", "the tamper-evident audit log"},
    {"keys", cmd_keys, "status | rotate-master [--new-passphrase-file F]",
        "master key status and rotation"},
    {NULL, NULL, NULL, NULL},
};

static void
usage(FILE *f)
{
	const struct cli_command *c;

	fprintf(f, "Usage: sluice [-d DIR] [--passphrase-file F] COMMAND [ARGS]\n"
	           "\n"
	           "Sluice, an exchange for data elements: data usable but invisible.\n"
	           "\n"
	           "Commands:\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-8s %-56s %s\n", c->name, c->synopsis, c->summary);
	fprintf(f, "\n"
	           "Global options (before COMMAND):\n"
	           "  -d DIR                the data directory (default: $SLUICE_DIR)\n"
	           "  --passphrase-file F   passphrase of a passphrase-protected data directory\n"
	           "                        (default: $SLUICE_PASSPHRASE_FILE)\n"
	           "  -h, --help            this help; `sluice COMMAND --help` for one command\n"
	           "  --version             print the version\n"
	           "\n"
	           "Exit status: 0 ok, 1 refused or failed, 2 usage error.\n");
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
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"passphrase-file", required_argument, NULL, 'P'},
	    {NULL, 0, NULL, 0},
	};
	const struct cli_command *c;
	struct cli cli;
	int ch;

	sl_log_init("sluice");
	memset(&cli, 0, sizeof(cli));
	cli.dir = getenv("SLUICE_DIR");
	cli.passphrase_file = getenv("SLUICE_PASSPHRASE_FILE");
	if (cli.dir != NULL && cli.dir[0] == '\0')
		cli.dir = NULL;
	if (cli.passphrase_file != NULL && cli.passphrase_file[0] == '\0')
		cli.passphrase_file = NULL;
	opterr = 0; /* commands report unknown options themselves, by name */
	/* "+": stop at the command name; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+:d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			cli.dir = optarg;
			break;
		case 'P':
			cli.passphrase_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("sluice %s\n", PACKAGE_VERSION);
			return CLI_OK;
		case ':':
			fprintf(stderr, "sluice: option '%s' needs a value\nTry 'sluice --help'.\n",
			    argv[optind - 1]);
			return CLI_USAGE;
		default:
			fprintf(stderr, "sluice: unknown option '%s'\nTry 'sluice --help'.\n",
			    argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	dir_resolve(&cli);
	if (keys_init() != 0) {
		sl_errorx("cannot initialise the crypto libraries");
		return CLI_FAILED;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	for (c = commands; c->name != NULL; c++) {
		if (strcmp(c->name, argv[0]) == 0) {
			optind = 0; /* reset getopt for the command's own options */
			return c->run(&cli, argc, argv);
		}
	}
	fprintf(stderr, "sluice: unknown command '%s'\nTry 'sluice --help'.\n", argv[0]);
	return CLI_USAGE;
}
