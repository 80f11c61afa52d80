/*
 * broker/cmd_budget.c -- `sluice budget`: a dp contract's privacy budget.
 */
#include <stdio.h>

#include "broker/actor.h"
#include "broker/budget.h"
#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "common/err.h"
#include "keys/sign.h"

static void
print_budget(const char *id, const json_t *doc)
{
	const json_t *h = json_object_get(doc, "history"), *e, *ed;
	const char *unit = json_string_value(json_object_get(doc, "unit"));
	size_t i;

	printf(
	    "Contract:   %s (dp, %s)\n", id, json_string_value(json_object_get(doc, "mechanism")));
	printf("Budget:     %s = %s in all, %s per query\n", unit,
	    json_string_value(json_object_get(doc, "total")),
	    json_string_value(json_object_get(doc, "per_query")));
	printf("Spent:      %s by %lld queries\n", json_string_value(json_object_get(doc, "spent")),
	    (long long)json_integer_value(json_object_get(doc, "queries")));
	printf("Remaining:  %s\n", json_string_value(json_object_get(doc, "remaining")));
	if ((ed = json_object_get(doc, "epsilon_delta")) != NULL)
		printf("As (e, d):  the spend so far is (%.4g, %s)-DP\n",
		    json_real_value(json_object_get(ed, "epsilon")),
		    json_string_value(json_object_get(ed, "delta")));
	if (json_array_size(h) > 0)
		printf("\n%-20s  %-34s  %s\n", "TIME", "QUERY", "COST");
	json_array_foreach(h, i, e) {
		printf("%-20s  %-34s  %s\n", json_string_value(json_object_get(e, "time")),
		    json_string_value(json_object_get(e, "query")),
		    json_string_value(json_object_get(e, "cost")));
	}
}

static int
budget_run(const struct cli *cli, const struct cli_args *a)
{
	const char *id = cli_opt(a, "contract"), *ident = cli_opt(a, "identity"), *field = NULL;
	struct keys_pubkey *caller = NULL;
	struct exchange *ex = NULL;
	json_t *doc = NULL;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	if ((r = cli_caller(ident, &caller)) == 0 &&
	    (r = budget_act_show(ex, caller, id, &doc, &field)) != 0)
		r = cli_name_file(r, field, ACTOR_FIELD, ident);
	keys_pubkey_free(caller);
	exchange_close(ex);
	if (r != 0)
		return cli_fail_detail(r, field, NULL);
	if (cli_flag(a, "json"))
		return cli_print_json(doc);
	print_budget(id, doc);
	json_decref(doc);
	return CLI_OK;
}

const struct cli_spec cmd_budget[] = {
    {
        .path = "budget",
        .summary = "a dp contract's privacy budget",
        .help = "The privacy budget of a contract in dp mode: epsilon (laplace) or rho\n"
                "(gaussian) in all and per query, what the released queries have spent, what\n"
                "remains, and each charge.  Budgets are exact rationals (\"0.1\" is 1/10).\n"
                "With --identity a party sees only the budgets of its own contracts; the\n"
                "platform and auditors see every one.",
        .opts =
            {
                {"contract", 0, CLI_STRING, "ID", "the contract", CLI_REQUIRED},
                CMD_OPT_JSON,
                {"identity", 0, CLI_STRING, "FILE.key", "act as the party of this key"},
            },
        .run = budget_run,
    },
    {.path = NULL},
};
