/*
 * broker/cmd_ledger.c -- `sluice ledger`: statements, the monthly cap, verify.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "broker/ledger.h"
#include "broker/party.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/text.h"
#include "keys/sign.h"

/* ---- statements ----------------------------------------------------------- */

enum format { TEXT, JSON, CSV };

struct printer {
	enum format format;
	const char *account;
	int64_t balance;
	json_t *doc, *cur; /* JSON: the document and the statement being built */
};

static int
p_open(void *arg, const char *account, const char *role, int64_t opening)
{
	struct printer *p = arg;

	p->account = account;
	p->balance = opening;
	switch (p->format) {
	case JSON:
		p->cur = json_pack("{s:s, s:s?, s:I, s:[]}", "account", account, "role", role,
		    "opening_fen", (json_int_t)opening, "entries");
		return p->cur != NULL &&
		               json_array_append_new(json_object_get(p->doc, "statements"), p->cur) == 0
		           ? 0
		           : SL_ERR_NOMEM;
	case CSV:
		printf("%s,%s,opening,,,,,,%lld\n", account, role ? role : "", (long long)opening);
		return 0;
	case TEXT:
		printf("%s%s%s%s\n", account, role ? " (" : "", role ? role : "", role ? ")" : "");
		printf("  %-20s  %-34s  %-34s  %14lld fen\n", "opening balance", "", "",
		    (long long)opening);
		return 0;
	}
	return 0;
}

static int
p_entry(void *arg, const struct ledger_entry *e)
{
	struct printer *p = arg;
	json_t *o;

	p->balance += e->amount_fen;
	switch (p->format) {
	case JSON:
		o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "time", e->time, "contract", e->contract,
		    "query", e->query, "transaction", (json_int_t)e->transaction, "amount_fen",
		    (json_int_t)e->amount_fen);
		if (o != NULL && e->adjustment_fen > 0 &&
		    json_object_set_new(o, "adjustment_fen", json_integer(e->adjustment_fen)) != 0) {
			json_decref(o);
			o = NULL;
		}
		return o != NULL && json_array_append_new(json_object_get(p->cur, "entries"), o) == 0
		           ? 0
		           : SL_ERR_NOMEM;
	case CSV:
		printf("%s,,entry,%s,%s,%s,%lld,%lld,%lld\n", p->account, e->time, e->contract,
		    e->query, (long long)e->transaction, (long long)e->amount_fen,
		    (long long)p->balance);
		return 0;
	case TEXT:
		printf("  %-20s  %-34s  %-34s  %+14lld fen", e->time, e->contract, e->query,
		    (long long)e->amount_fen);
		if (e->adjustment_fen > 0)
			printf("  (cap: %lld fen to adjustment)", (long long)e->adjustment_fen);
		putchar('\n');
		return 0;
	}
	return 0;
}

static int
p_close(void *arg, int64_t closing, int64_t entries)
{
	struct printer *p = arg;

	switch (p->format) {
	case JSON:
		return json_object_set_new(p->cur, "closing_fen", json_integer(closing)) == 0
		           ? 0
		           : SL_ERR_NOMEM;
	case CSV:
		printf("%s,,closing,,,,,,%lld\n", p->account, (long long)closing);
		return 0;
	case TEXT:
		printf("  %-20s  %-34s  %-34s  %14lld fen  (%lld %s)\n\n", "closing balance", "", "",
		    (long long)closing, (long long)entries, entries == 1 ? "entry" : "entries");
		return 0;
	}
	return 0;
}

/*
 * Whose statements the caller may read: everyone's for the platform and
 * auditors (and for whoever runs the CLI on the data directory without
 * --identity, who holds the platform's keys anyway), a party's own otherwise.
 */
static int
visible(struct exchange *ex, const char *ident, const char **account, char **own)
{
	struct keys_identity *id = NULL;
	struct keys_pubkey *pk = NULL;
	struct party who;
	int r;

	*own = NULL;
	if (ident == NULL)
		return 0;
	if ((r = cli_load_identity(ident, &id)) != 0)
		return r;
	r = keys_identity_pubkey(id, &pk);
	keys_identity_free(id);
	if (r != 0)
		return r;
	r = party_find_key(exchange_db(ex), pk, &who);
	keys_pubkey_free(pk);
	if (r != 0)
		return r == SL_ERR_NOTFOUND ? sl_errf(SL_ERR_POLICY, "%s: not the key of any party", ident)
		                            : r;
	if (strcmp(who.role, "platform") != 0 && strcmp(who.role, "auditor") != 0) {
		if (*account != NULL && strcmp(*account, who.name) != 0)
			r = sl_errf(SL_ERR_POLICY, "%s %s sees only its own statement, not %s's", who.role,
			    who.name, *account);
		else if ((*own = strdup(who.name)) == NULL)
			r = SL_ERR_NOMEM;
		*account = *own;
	}
	party_clear(&who);
	return r;
}

static int
statement_cmd(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"party", required_argument, NULL, 'p'},
	    {"from", required_argument, NULL, 'F'},
	    {"until", required_argument, NULL, 'U'},
	    {"identity", required_argument, NULL, 'i'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *account = NULL, *from = NULL, *until = NULL, *ident = NULL;
	struct printer p = {.format = TEXT};
	struct ledger_sink sink = {p_open, p_entry, p_close, &p};
	struct exchange *ex = NULL;
	char *own = NULL;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			account = optarg;
			break;
		case 'F':
			from = optarg;
			break;
		case 'U':
			until = optarg;
			break;
		case 'i':
			ident = optarg;
			break;
		case 'j':
		case 'c':
			if (p.format != TEXT)
				return cli_usage_error("ledger", "--json and --csv exclude each other");
			p.format = ch == 'j' ? JSON : CSV;
			break;
		case 'h':
			printf("Usage: sluice ledger [--party NAME] [--from T] [--until T] [--json|--csv]\n"
			       "                     [--identity FILE.key]\n"
			       "       sluice ledger verify [--json]\n"
			       "       sluice ledger cap PRODUCT [--monthly FEN | --none] [--json]\n"
			       "\n"
			       "Statements of the revenue ledger: for each account its opening "
			       "balance, its\n"
			       "entries (time, contract, query, amount in fen: buyers' debits are "
			       "negative)\n"
			       "and its closing balance.  T is an RFC 3339 UTC time or a prefix of "
			       "one\n"
			       "(\"2026-11\"); --from is inclusive, --until includes everything it "
			       "prefixes.\n"
			       "With --identity a party sees only its own statement; the platform "
			       "and\n"
			       "auditors see every account, including adjustment (income above a "
			       "product's\n"
			       "monthly cap).\n");
			return CLI_OK;
		default:
			return cli_bad_option("ledger", argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("ledger", "unexpected argument '%s'", argv[optind]);
	if (from != NULL && !sl_time_prefix_valid(from))
		return cli_usage_error("ledger",
		    "--from '%s': must be an RFC 3339 UTC time such as 2026-11-28T09:00:00Z or a "
		    "prefix of one",
		    from);
	if (until != NULL && !sl_time_prefix_valid(until))
		return cli_usage_error("ledger",
		    "--until '%s': must be an RFC 3339 UTC time such as 2026-11-28T09:00:00Z or a "
		    "prefix of one",
		    until);
	if (from != NULL && until != NULL && strncmp(from, until, strlen(until)) > 0)
		return cli_usage_error("ledger", "--from %s is after --until %s", from, until);
	if ((r = cli_open(cli, "ledger", &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	if (p.format == JSON &&
	    (p.doc = json_pack("{s:s?, s:s?, s:[]}", "from", from, "until", until, "statements")) ==
	        NULL)
		r = SL_ERR_NOMEM;
	else if ((r = visible(ex, ident, &account, &own)) == 0) {
		if (p.format == CSV)
			printf("account,role,kind,time,contract,query,transaction,amount_fen,balance_fen\n");
		r = ledger_statements(exchange_db(ex), account, from, until, &sink);
	}
	exchange_close(ex);
	free(own);
	if (r != 0) {
		json_decref(p.doc);
		return cli_fail(r);
	}
	return p.format == JSON ? cli_print_json(p.doc) : CLI_OK;
}

/* ---- verify and cap -------------------------------------------------------- */

static int
verify_cmd(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ledger_check c;
	struct exchange *ex = NULL;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("Usage: sluice ledger verify [--json]\n"
			       "\n"
			       "Recompute every account balance from the postings; check that "
			       "every\n"
			       "transaction balances, agrees with its released query and is matched "
			       "by its\n"
			       "query.released audit event; check that every released query was "
			       "posted once.\n"
			       "Exit 1 naming the first disagreement.\n");
			return CLI_OK;
		default:
			return cli_bad_option("ledger verify", argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("ledger verify", "unexpected argument '%s'", argv[optind]);
	if ((r = cli_open(cli, "ledger verify", &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	r = ledger_verify(exchange_db(ex), exchange_suite(ex), &c);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (json)
		return cli_print_json(json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", 1,
		    "accounts", (json_int_t)c.accounts, "transactions", (json_int_t)c.transactions,
		    "postings", (json_int_t)c.postings, "events", (json_int_t)c.events, "debited_fen",
		    (json_int_t)c.debited_fen, "credited_fen", (json_int_t)c.credited_fen,
		    "adjusted_fen", (json_int_t)c.adjusted_fen));
	printf("ledger OK: %lld transactions, %lld postings, %lld accounts, %lld audit events\n"
	       "buyers debited %lld fen = parties credited %lld fen + adjustment %lld fen\n",
	    (long long)c.transactions, (long long)c.postings, (long long)c.accounts,
	    (long long)c.events, (long long)c.debited_fen, (long long)c.credited_fen,
	    (long long)c.adjusted_fen);
	return CLI_OK;
}

static int
cap_cmd(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"monthly", required_argument, NULL, 'm'},
	    {"none", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *monthly = NULL;
	struct exchange *ex = NULL;
	struct product prod;
	int64_t cap = -1;
	int ch, json = 0, none = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			monthly = optarg;
			break;
		case 'n':
			none = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("Usage: sluice ledger cap PRODUCT [--monthly FEN | --none] [--json]\n"
			       "\n"
			       "Show, set or remove the product's revenue cap per calendar month "
			       "(UTC), set\n"
			       "by the platform.  Income of a month above the cap is posted to the "
			       "adjustment\n"
			       "account instead of the parties (the cost-plus-reasonable-profit "
			       "rule).\n");
			return CLI_OK;
		default:
			return cli_bad_option("ledger cap", argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(
		    "ledger cap", optind >= argc ? "missing PRODUCT" : "too many arguments");
	if (monthly != NULL && none)
		return cli_usage_error("ledger cap", "--monthly and --none exclude each other");
	if (monthly != NULL && cli_parse_count(monthly, LEDGER_AMOUNT_MAX, &cap) != 0)
		return cli_usage_error("ledger cap",
		    "--monthly '%s': must be a whole number of fen from 0 to 2^53", monthly);
	if ((r = cli_open(cli, "ledger cap", &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	if ((monthly != NULL || none) && (r = ledger_change_cap(ex, argv[optind], cap)) != 0)
		goto out;
	if ((r = product_find(ex, argv[optind], &prod)) != 0)
		goto out;
	r = ledger_cap(exchange_db(ex), prod.id, &cap);
	product_clear(&prod);
out:
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (json)
		return cli_print_json(json_pack("{s:s, s:o}", "product", argv[optind], "monthly_fen",
		    cap < 0 ? json_null() : json_integer(cap)));
	if (cap < 0)
		printf("%s: no monthly revenue cap\n", argv[optind]);
	else
		printf("%s: monthly revenue cap %lld fen\n", argv[optind], (long long)cap);
	return CLI_OK;
}

static const struct cli_command ledger_commands[] = {
    {"verify", verify_cmd, "[--json]", "recompute and check the ledger"},
    {"cap", cap_cmd, "PRODUCT [--monthly FEN | --none]", "a product's monthly revenue cap"},
    {NULL, NULL, NULL, NULL},
};

int
cmd_ledger(const struct cli *cli, int argc, char **argv)
{
	size_t i;

	if (argc > 1)
		for (i = 0; ledger_commands[i].name != NULL; i++)
			if (strcmp(argv[1], ledger_commands[i].name) == 0)
				return cli_dispatch(cli, "ledger", ledger_commands, argc, argv);
	return statement_cmd(cli, argc, argv);
}
