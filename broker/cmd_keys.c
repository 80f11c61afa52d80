/*
 * broker/cmd_keys.c -- `sluice keys status | rotate-master`.
 *
 * Prints facts about keys (source, versions, counts), never key bytes.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

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
keys_status(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct keyring_status st;
	struct exchange *ex = NULL;
	struct keys_master *mk;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("Usage: sluice keys status [--json]\n\n"
			       "Load the master key, unwrap every wrapped key with it, and report\n"
			       "the master key's source and version and the number of wrapped "
			       "keys.\n");
			return CLI_OK;
		default:
			return cli_bad_option("keys status", argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("keys status", "too many arguments");
	if ((r = cli_open(cli, "keys status", &ex)) != CLI_OK)
		return r;
	if ((r = exchange_master(ex, &mk)) != 0 ||
	    (r = keyring_status(exchange_db(ex), mk, &st)) != 0) {
		exchange_close(ex);
		return cli_fail(r);
	}
	exchange_close(ex);
	if (json)
		return cli_print_json(status_json(&st, 1));
	printf("master key: %s, version %lld, changed %s\n"
	       "wrapped keys: %lld data keys, %lld other secrets; all unwrap\n",
	    st.source == KEYRING_SOURCE_FILE ? "file master.key" : "from passphrase",
	    (long long)st.version, st.changed, (long long)st.deks, (long long)st.secrets);
	return CLI_OK;
}

static int
keys_rotate_master(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"new-passphrase-file", required_argument, NULL, 'N'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct keyring_status st;
	struct exchange *ex = NULL;
	struct keys_master *mk;
	const char *newpass = NULL;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'N':
			newpass = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			printf(
			    "Usage: sluice keys rotate-master [--new-passphrase-file F] [--json]\n"
			    "\n"
			    "Replace the master key and rewrap every data key and secret under it\n"
			    "in one transaction; no data is re-encrypted.  A file master key is\n"
			    "replaced by a new random one; a passphrase one by the key derived\n"
			    "from the passphrase in F (with a new salt).  If interrupted, the old\n"
			    "master key stays valid.\n");
			return CLI_OK;
		default:
			return cli_bad_option("keys rotate-master", argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("keys rotate-master", "too many arguments");
	if ((r = cli_open(cli, "keys rotate-master", &ex)) != CLI_OK)
		return r;
	if ((r = exchange_rotate_master(ex, newpass)) != 0 || (r = exchange_master(ex, &mk)) != 0 ||
	    (r = keyring_status(exchange_db(ex), mk, &st)) != 0)
		goto fail;
	exchange_close(ex);
	if (json)
		return cli_print_json(status_json(&st, 1));
	printf("master key rotated to version %lld; %lld data keys and %lld secrets rewrapped\n",
	    (long long)st.version, (long long)st.deks, (long long)st.secrets);
	return CLI_OK;
fail:
	exchange_close(ex);
	return cli_fail(r);
}

static int
keys_rotate_product(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct exchange *ex = NULL;
	struct load_result res;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			printf(
			    "Usage: sluice keys rotate-product NAME [--json]\n"
			    "\n"
			    "Give the product a new data key: a confined worker re-encrypts the\n"
			    "latest version under it as a new version, and the old key is retired\n"
			    "(versions sealed under it stay readable until dropped).  Audited.\n");
			return CLI_OK;
		default:
			return cli_bad_option("keys rotate-product", argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(
		    "keys rotate-product", optind >= argc ? "missing NAME" : "too many arguments");
	if ((r = cli_open(cli, "keys rotate-product", &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	r = load_rotate_product(ex, argv[optind], &res);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (json)
		return cli_print_json(json_pack("{s:s, s:I, s:I, s:I}", "product", argv[optind],
		    "version", (json_int_t)res.version, "rows", (json_int_t)res.rows, "chunks",
		    (json_int_t)res.chunks));
	if (res.version > 0)
		printf("Rotated the data key of %s: version %lld re-encrypted under the new key "
		       "(%lld rows)\n",
		    argv[optind], (long long)res.version, (long long)res.rows);
	else
		printf("Rotated the data key of %s (no versions to re-encrypt)\n", argv[optind]);
	return CLI_OK;
}

static const struct cli_command keys_commands[] = {
    {"status", keys_status, "[--json]", "master key source and version; check every wrapped key"},
    {"rotate-product", keys_rotate_product, "NAME [--json]",
        "re-encrypt a product under a new data key"},
    {"rotate-master", keys_rotate_master, "[--new-passphrase-file F] [--json]",
        "rewrap every key under a new master key"},
    {NULL, NULL, NULL, NULL},
};

int
cmd_keys(const struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "keys", keys_commands, argc, argv);
}
