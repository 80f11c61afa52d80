/*
 * broker/cmd_init.c -- `sluice init DIR [--suite intl|gm] [--passphrase-file F]`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "common/err.h"
#include "keys/suite.h"

static void
init_usage(FILE *f)
{
	fprintf(f, "Usage: sluice init DIR [--suite intl|gm] [--passphrase-file F] [--json]\n"
	           "\n"
	           "Create a data directory: the catalog (sluice.db), the master key, the\n"
	           "platform identity (public key in DIR/platform.pub), the platform CA and a\n"
	           "TLS server certificate for localhost.  DIR must not exist or be empty.\n"
	           "\n"
	           "  --suite intl|gm       crypto suite: intl (AES-GCM, Ed25519, SHA-256, the\n"
	           "                        default) or gm (SM4, SM2, SM3)\n"
	           "  --passphrase-file F   derive the master key from the passphrase in F\n"
	           "                        (Argon2id) instead of writing DIR/master.key\n"
	           "  --json                print the result as JSON\n");
}

int
cmd_init(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"suite", required_argument, NULL, 's'},
	    {"passphrase-file", required_argument, NULL, 'P'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct exchange_created info;
	enum keys_suite suite = KEYS_SUITE_INTL;
	const char *pass = cli->passphrase_file;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (keys_suite_parse(optarg, &suite) != 0)
				return cli_usage_error(
				    "init", "--suite '%s': must be intl or gm", optarg);
			break;
		case 'P':
			pass = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			init_usage(stdout);
			return CLI_OK;
		default:
			return cli_bad_option("init", argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(
		    "init", optind >= argc ? "missing DIR" : "too many arguments");
	if ((r = exchange_create(argv[optind], suite, pass, &info)) != 0)
		return cli_fail(r);
	if (json)
		return cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "dir", argv[optind],
		    "suite", keys_suite_name(info.suite), "master_key",
		    pass != NULL ? "passphrase" : "file", "platform_fingerprint",
		    info.platform_fingerprint));
	printf("Created data directory %s (suite %s, master key %s)\n"
	       "Platform key %s, public key in %s/platform.pub\n",
	    argv[optind], keys_suite_name(info.suite),
	    pass != NULL ? "from passphrase" : "in master.key", info.platform_fingerprint,
	    argv[optind]);
	return CLI_OK;
}
