/*
 * broker/cmd_init.c -- `sluice init DIR [--suite intl|gm] [--passphrase-file F]`.
 */
#include <stdio.h>
#include <string.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "common/err.h"
#include "keys/suite.h"

static int
init_run(const struct cli *cli, const struct cli_args *a)
{
	struct exchange_created info;
	enum keys_suite suite = KEYS_SUITE_INTL;
	const char *dir = cli_arg(a, 0), *pass = cli->passphrase_file;
	int r;

	if (cli_opt(a, "suite") != NULL && keys_suite_parse(cli_opt(a, "suite"), &suite) != 0)
		return cli_fail(SL_ERR_INTERNAL); /* the table allows only the suites */
	if (cli_opt(a, "passphrase-file") != NULL)
		pass = cli_opt(a, "passphrase-file");
	if ((r = exchange_create(dir, suite, pass, &info)) != 0)
		return cli_fail(r);
	if (cli_flag(a, "json"))
		return cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "dir", dir, "suite",
		    keys_suite_name(info.suite), "master_key", pass != NULL ? "passphrase" : "file",
		    "platform_fingerprint", info.platform_fingerprint));
	printf("Created data directory %s (suite %s, master key %s)\n"
	       "Platform key %s, public key in %s/platform.pub\n",
	    dir, keys_suite_name(info.suite), pass != NULL ? "from passphrase" : "in master.key",
	    info.platform_fingerprint, dir);
	return CLI_OK;
}

const struct cli_spec cmd_init[] = {
    {
        .path = "init",
        .summary = "create a data directory",
        .help = "Create a data directory: the catalog (sluice.db), the master key, the\n"
                "platform identity (public key in DIR/platform.pub), the platform CA and a\n"
                "TLS server certificate for localhost.  DIR must not exist or be empty.",
        .args = {{"DIR"}},
        .opts =
            {
                {"suite", 0, CLI_CHOICE, "intl|gm",
                    "crypto suite: intl (AES-GCM, Ed25519, SHA-256, the\n"
                    "default) or gm (SM4, SM2, SM3)"},
                {"passphrase-file", 0, CLI_STRING, "F",
                    "derive the master key from the passphrase in F\n"
                    "(Argon2id) instead of writing DIR/master.key"},
                CMD_OPT_JSON,
            },
        .run = init_run,
    },
    {.path = NULL},
};
