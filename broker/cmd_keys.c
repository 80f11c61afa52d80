/*
 * broker/cmd_keys.c -- `sluice keys status | rotate-master`.
 *
 * Prints facts about keys (source, versions, counts), never key bytes.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "broker/keyring.h"
#include "broker/load.h"
#include "common/err.h"

static json_t *
status_json(const struct keyring_status *st, int verified)
{
	return json_pack("{s:s, s:I, s:s, s:I, s:I, s:b}", "source",
	    st->source == KEYRING_SOURCE_FILE ? "file" : "passphrase", "version",
	    (json_int_t)st->version, "changed", st->changed, "data_keys", (json_int_t)st->deks,
	    "secrets", (json_int_t)st->secrets, "verified", verified);
}

static int
keys_status_run(const struct cli *cli, const struct cli_args *a)
{
	struct keyring_status st;
	struct exchange *ex = NULL;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	r = keyring_act_status(ex, &st);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (cli_flag(a, "json"))
		return cli_print_json(status_json(&st, 1));
	printf("master key: %s, version %lld, changed %s\n"
	       "wrapped keys: %lld data keys, %lld other secrets; all unwrap\n",
	    st.source == KEYRING_SOURCE_FILE ? "file master.key" : "from passphrase",
	    (long long)st.version, st.changed, (long long)st.deks, (long long)st.secrets);
	return CLI_OK;
}

static int
keys_rotate_master_run(const struct cli *cli, const struct cli_args *a)
{
	struct keyring_status st;
	struct exchange *ex = NULL;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	r = keyring_act_rotate_master(ex, cli_opt(a, "new-passphrase-file"), &st);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (cli_flag(a, "json"))
		return cli_print_json(status_json(&st, 1));
	printf("master key rotated to version %lld; %lld data keys and %lld secrets rewrapped\n",
	    (long long)st.version, (long long)st.deks, (long long)st.secrets);
	return CLI_OK;
}

static int
keys_rotate_product_run(const struct cli *cli, const struct cli_args *a)
{
	const char *name = cli_arg(a, 0);
	struct cmd_progress display = {.what = name};
	int show = !cli_flag(a, "json") && isatty(STDERR_FILENO);
	struct exchange *ex = NULL;
	struct load_result res;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	r = load_rotate_product(ex, name, show ? cmd_progress_display : NULL, &display, &res);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (cli_flag(a, "json"))
		return cli_print_json(json_pack("{s:s, s:I, s:I, s:I}", "product", name, "version",
		    (json_int_t)res.version, "rows", (json_int_t)res.rows, "chunks",
		    (json_int_t)res.chunks));
	if (res.version > 0)
		printf("Rotated the data key of %s: version %lld re-encrypted under the new key "
		       "(%lld rows)\n",
		    name, (long long)res.version, (long long)res.rows);
	else
		printf("Rotated the data key of %s (no versions to re-encrypt)\n", name);
	return CLI_OK;
}

const struct cli_spec cmd_keys[] = {
    {
        .path = "keys status",
        .summary = "master key source and version; check every wrapped key",
        .help = "Load the master key, unwrap every wrapped key with it, and report\n"
                "the master key's source and version and the number of wrapped keys.",
        .opts = {CMD_OPT_JSON},
        .run = keys_status_run,
    },
    {
        .path = "keys rotate-product",
        .summary = "re-encrypt a product under a new data key",
        .help = "Give the product a new data key: a confined worker re-encrypts the\n"
                "latest version under it as a new version, and the old key is retired\n"
                "(versions sealed under it stay readable until dropped).  Audited.",
        .args = {{"NAME"}},
        .opts = {CMD_OPT_JSON},
        .run = keys_rotate_product_run,
    },
    {
        .path = "keys rotate-master",
        .summary = "rewrap every key under a new master key",
        .help = "Replace the master key and rewrap every data key and secret under it\n"
                "in one transaction; no data is re-encrypted.  A file master key is\n"
                "replaced by a new random one; a passphrase one by the key derived\n"
                "from the passphrase in F (with a new salt).  If interrupted, the old\n"
                "master key stays valid.",
        .opts =
            {
                {"new-passphrase-file", 0, CLI_STRING, "F",
                    "the new passphrase, for a passphrase master key"},
                CMD_OPT_JSON,
            },
        .run = keys_rotate_master_run,
    },
    {.path = NULL},
};
