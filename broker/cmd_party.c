/*
 * broker/cmd_party.c -- `sluice party add | list`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/enrol.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "common/err.h"

static json_t *
party_json(const struct party *p)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "name", p->name, "role", p->role, "fingerprint",
	    p->fingerprint, "created", p->created);
}

static int
party_add(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"out", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct exchange *ex = NULL;
	struct party p;
	const char *role = NULL, *out = NULL;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			role = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			printf(
			    "Usage: sluice party add NAME --role %s --out FILE.key [--json]\n"
			    "\n"
			    "Add a party with a new identity key pair.  Writes FILE.key (private\n"
			    "key, PKCS#8 PEM, mode 0600), FILE.pub (public key, PEM) and FILE.crt\n"
			    "(client certificate from the platform CA, CN=NAME, OU=ROLE).\n",
			    PARTY_ROLES);
			return CLI_OK;
		default:
			return cli_bad_option("party add", argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(
		    "party add", optind >= argc ? "missing NAME" : "too many arguments");
	if (role == NULL)
		return cli_usage_error("party add", "missing --role %s", PARTY_ROLES);
	if (!party_role_valid(role))
		return cli_usage_error(
		    "party add", "--role '%s': must be one of %s", role, PARTY_ROLES);
	if (out == NULL)
		return cli_usage_error("party add", "missing --out FILE.key");
	if ((r = cli_open(cli, "party add", &ex)) != CLI_OK)
		return r;
	if ((r = enrol_party(ex, argv[optind], role, out, &p)) != 0) {
		exchange_close(ex);
		return cli_fail(r);
	}
	exchange_close(ex);
	if (json) {
		r = cli_print_json(party_json(&p));
	} else {
		printf("Added party %s (%s), key %s\nWrote %s and its .pub and .crt\n", p.name,
		    p.role, p.fingerprint, out);
		r = CLI_OK;
	}
	party_clear(&p);
	return r;
}

static int
party_ls(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct exchange *ex = NULL;
	struct party *list = NULL;
	json_t *arr;
	size_t n = 0, i;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("Usage: sluice party list [--json]\n\n"
			       "List parties: name, role, key fingerprint, creation time.\n");
			return CLI_OK;
		default:
			return cli_bad_option("party list", argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("party list", "too many arguments");
	if ((r = cli_open(cli, "party list", &ex)) != CLI_OK)
		return r;
	r = party_list(exchange_db(ex), &list, &n);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (json) {
		if ((arr = json_array()) == NULL) {
			party_list_free(list, n);
			return cli_fail(SL_ERR_NOMEM);
		}
		for (i = 0; i < n; i++)
			json_array_append_new(arr, party_json(&list[i]));
		party_list_free(list, n);
		return cli_print_json(json_pack("{s:o}", "parties", arr));
	}
	printf("%-24s %-9s %-20s %s\n", "NAME", "ROLE", "CREATED", "FINGERPRINT");
	for (i = 0; i < n; i++)
		printf("%-24s %-9s %-20s %s\n", list[i].name, list[i].role, list[i].created,
		    list[i].fingerprint);
	party_list_free(list, n);
	return CLI_OK;
}

static const struct cli_command party_commands[] = {
    {"add", party_add, "NAME --role " PARTY_ROLES " --out FILE.key [--json]",
        "add a party with a new identity"},
    {"list", party_ls, "[--json]", "list the parties"},
    {NULL, NULL, NULL, NULL},
};

int
cmd_party(const struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "party", party_commands, argc, argv);
}
