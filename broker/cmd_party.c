/*
 * broker/cmd_party.c -- `sluice party add | list`.
 */
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
	return json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s*}", "name", p->name, "role", p->role,
	    "fingerprint", p->fingerprint, "created", p->created, "revoked", p->revoked,
	    "revoke_reason", p->revoke_reason);
}

static int
party_add_run(const struct cli *cli, const struct cli_args *a)
{
	const char *out = cli_opt(a, "out");
	struct exchange *ex = NULL;
	struct party p;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	if ((r = enrol_party(ex, cli_arg(a, 0), cli_opt(a, "role"), out, &p)) != 0) {
		exchange_close(ex);
		return cli_fail(r);
	}
	exchange_close(ex);
	if (cli_flag(a, "json")) {
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
party_list_run(const struct cli *cli, const struct cli_args *a)
{
	struct exchange *ex = NULL;
	struct party *list = NULL;
	json_t *arr;
	size_t n = 0, i;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	r = party_list(exchange_db(ex), &list, &n);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (cli_flag(a, "json")) {
		if ((arr = json_array()) == NULL) {
			party_list_free(list, n);
			return cli_fail(SL_ERR_NOMEM);
		}
		for (i = 0; i < n; i++)
			json_array_append_new(arr, party_json(&list[i]));
		party_list_free(list, n);
		return cli_print_json(json_pack("{s:o}", "parties", arr));
	}
	static const char *const head[] = {"NAME", "ROLE", "CREATED", "FINGERPRINT", "REVOKED"};
	size_t revoked = 0;

	for (i = 0; i < n; i++)
		revoked += list[i].revoked != NULL;
	/* The column is there once a party is revoked. */
	struct cli_table *t =
	    cli_table_new(revoked > 0 ? 5 : 4, revoked > 0 ? "lllll" : "llll", head);

	for (i = 0; t != NULL && r == 0 && i < n; i++)
		r = cli_table_add(
		    t, (const char *const[]){list[i].name, list[i].role, list[i].created,
		           list[i].fingerprint, list[i].revoked != NULL ? list[i].revoked : ""});
	party_list_free(list, n);
	return cli_table_done(t, r);
}

static int
party_revoke_run(const struct cli *cli, const struct cli_args *a)
{
	const char *name = cli_arg(a, 0), *reason = cli_opt(a, "reason");
	struct exchange *ex = NULL;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	r = party_revoke(ex, name, reason, EXCHANGE_PLATFORM_NAME);
	exchange_close(ex);
	if (r != 0)
		return cli_fail_detail(r, r == SL_ERR_INVAL ? "reason" : NULL, NULL);
	if (cli_flag(a, "json"))
		return cli_print_json(json_pack(
		    "{s:s, s:s, s:s}", "party", name, "state", "revoked", "reason", reason));
	printf("Revoked party %s: its key is no caller's from now on\n", name);
	return CLI_OK;
}

const struct cli_spec cmd_party[] = {
    {
        .path = "party add",
        .summary = "add a party with a new identity",
        .help = "Add a party with a new identity key pair.  Writes FILE.key (private\n"
                "key, PKCS#8 PEM, mode 0600), FILE.pub (public key, PEM) and FILE.crt\n"
                "(client certificate from the platform CA, CN=NAME, OU=ROLE).",
        .args = {{"NAME"}},
        .opts =
            {
                {"role", 0, CLI_CHOICE, PARTY_ROLES, "the party's role", CLI_REQUIRED},
                {"out", 0, CLI_STRING, "FILE.key",
                    "where to write the private key (and FILE.pub, FILE.crt)", CLI_REQUIRED},
                CMD_OPT_JSON,
            },
        .run = party_add_run,
    },
    {
        .path = "party list",
        .summary = "list the parties",
        .help = "List parties: name, role, key fingerprint, creation time.",
        .opts = {CMD_OPT_JSON},
        .run = party_list_run,
    },
    {
        .path = "party revoke",
        .summary = "end a party's access",
        .help = "End a party's access, for good: from now on its key is refused by every\n"
                "command that takes --identity, its queries are refused, and `sluice\n"
                "serve` answers its client certificate 401.  Its past actions, contracts\n"
                "and statements stay as they are.  Audited as party.revoked.",
        .args = {{"NAME"}},
        .opts =
            {
                {"reason", 0, CLI_STRING, "TEXT", "why, for the audit log", CLI_REQUIRED},
                CMD_OPT_JSON,
            },
        .run = party_revoke_run,
    },
    {.path = NULL},
};
