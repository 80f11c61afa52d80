/*
 * broker/cmd_ledger.c -- `sluice ledger`: statements, the monthly cap, verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/actor.h"
#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "broker/ledger.h"
#include "common/err.h"
#include "common/text.h"
#include "keys/sign.h"

/* ---- statements ----------------------------------------------------------- */

enum format { TEXT, JSON, CSV };

struct printer {
	enum format format;
	const char *account;
	int64_t balance;
	json_t *doc;             /* JSON: ledger_act_statements_json()'s document */
	int header;              /* CSV: the header line is out */
	struct cli_table *table; /* TEXT: every statement, printed at the end in one layout */
};

/*
 * The text shows ids by their first LEDGER_ID_SHOWN characters ("c_" or
 * "q_" and 12 hex digits: 48 bits, unique among any exchange's ids in
 * practice), so that a line fits 100 columns; --json and --csv have them whole.
 */
#define LEDGER_ID_SHOWN 14

/* A line of the statement's table: time or label, contract, query, amount (signed: +0 too), note. */
static int
text_row(struct printer *p, const char *when, const char *contract, const char *query, int sign,
    int64_t amount, const char *note)
{
	char c[LEDGER_ID_SHOWN + 1], q[LEDGER_ID_SHOWN + 1], fen[40];

	snprintf(c, sizeof c, "%s", contract);
	snprintf(q, sizeof q, "%s", query);
	snprintf(fen, sizeof fen, "%s%lld fen", sign && amount >= 0 ? "+" : "", (long long)amount);
	return cli_table_add(p->table, (const char *const[]){when, c, q, fen, note});
}

/* CSV's header line, before the first statement or alone when there is none. */
static void
csv_header(struct printer *p)
{
	printf("account,role,kind,time,contract,query,transaction,amount_fen,balance_fen\n");
	p->header = 1;
}

static int
p_open(void *arg, const char *account, const char *role, int64_t opening)
{
	struct printer *p = arg;
	char head[2 * SL_NAME_MAX + 8]; /* "account (role)" */
	int r;

	p->account = account;
	p->balance = opening;
	switch (p->format) {
	case CSV:
		if (!p->header)
			csv_header(p);
		printf("%s,%s,opening,,,,,,%lld\n", account, role ? role : "", (long long)opening);
		return 0;
	case JSON: /* ledger_act_statements_json() builds it */
		return 0;
	case TEXT:
		snprintf(head, sizeof head, "%s%s%s%s", account, role ? " (" : "", role ? role : "",
		    role ? ")" : "");
		if ((r = cli_table_line(p->table, head)) != 0)
			return r;
		return text_row(p, "opening balance", "", "", 0, opening, "");
	}
	return 0;
}

static int
p_entry(void *arg, const struct ledger_entry *e)
{
	struct printer *p = arg;
	char note[64] = "";

	p->balance += e->amount_fen;
	switch (p->format) {
	case CSV:
		printf("%s,,entry,%s,%s,%s,%lld,%lld,%lld\n", p->account, e->time, e->contract,
		    e->query, (long long)e->transaction, (long long)e->amount_fen,
		    (long long)p->balance);
		return 0;
	case JSON: /* ledger_act_statements_json() builds it */
		return 0;
	case TEXT:
		if (e->adjustment_fen > 0)
			snprintf(note, sizeof note, "(cap: %lld fen to adjustment)",
			    (long long)e->adjustment_fen);
		return text_row(p, e->time, e->contract, e->query, 1, e->amount_fen, note);
	}
	return 0;
}

static int
p_close(void *arg, int64_t closing, int64_t entries)
{
	struct printer *p = arg;
	char note[64];
	int r;

	switch (p->format) {
	case CSV:
		printf("%s,,closing,,,,,,%lld\n", p->account, (long long)closing);
		return 0;
	case JSON: /* ledger_act_statements_json() builds it */
		return 0;
	case TEXT:
		snprintf(note, sizeof note, "(%lld %s)", (long long)entries,
		    entries == 1 ? "entry" : "entries");
		if ((r = text_row(p, "closing balance", "", "", 0, closing, note)) != 0)
			return r;
		return cli_table_line(p->table, "");
	}
	return 0;
}

static int
statement_run(const struct cli *cli, const struct cli_args *a)
{
	struct ledger_statement_request req = {
	    cli_opt(a, "party"), cli_opt(a, "from"), cli_opt(a, "until")};
	const char *ident = cli_opt(a, "identity"), *field = NULL;
	struct printer p = {.format = cli_flag(a, "json") ? JSON : cli_flag(a, "csv") ? CSV : TEXT};
	struct ledger_sink sink = {p_open, p_entry, p_close, &p};
	struct keys_pubkey *caller = NULL;
	struct exchange *ex = NULL;
	int r;

	/* The action checks the period too; here it is a usage error, before any work. */
	if (req.from != NULL && !sl_time_prefix_valid(req.from))
		return cli_usage_error(cli_path(a),
		    "--from '%s': must be an RFC 3339 UTC time such as 2026-11-28T09:00:00Z or a "
		    "prefix of one",
		    req.from);
	if (req.until != NULL && !sl_time_prefix_valid(req.until))
		return cli_usage_error(cli_path(a),
		    "--until '%s': must be an RFC 3339 UTC time such as 2026-11-28T09:00:00Z or a "
		    "prefix of one",
		    req.until);
	if (req.from != NULL && req.until != NULL &&
	    strncmp(req.from, req.until, strlen(req.until)) > 0)
		return cli_usage_error(
		    cli_path(a), "--from %s is after --until %s", req.from, req.until);
	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	if (p.format == TEXT && (p.table = cli_table_new(5, "lllrl", NULL)) == NULL)
		r = SL_ERR_NOMEM;
	else if ((r = cli_caller(ident, &caller)) == 0 &&
	         (r = p.format == JSON
	                  ? ledger_act_statements_json(ex, caller, &req, &p.doc, &field)
	                  : ledger_act_statements(ex, caller, &req, &sink, &field)) != 0)
		r = cli_name_file(r, field, ACTOR_FIELD, ident);
	keys_pubkey_free(caller);
	exchange_close(ex);
	if (r == 0 && p.format == CSV && !p.header)
		csv_header(&p);
	if (r == 0)
		cli_table_print(p.table, stdout, "  ");
	cli_table_free(p.table);
	if (r != 0) {
		json_decref(p.doc);
		return cli_fail_detail(r, field, NULL);
	}
	return p.format == JSON ? cli_print_json(p.doc) : CLI_OK;
}

/* ---- verify and cap -------------------------------------------------------- */

static int
verify_run(const struct cli *cli, const struct cli_args *a)
{
	struct ledger_check c;
	struct exchange *ex = NULL;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	r = ledger_verify(exchange_db(ex), exchange_suite(ex), &c);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (cli_flag(a, "json"))
		return cli_print_json(json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", 1,
		    "accounts", (json_int_t)c.accounts, "transactions", (json_int_t)c.transactions,
		    "postings", (json_int_t)c.postings, "events", (json_int_t)c.events,
		    "debited_fen", (json_int_t)c.debited_fen, "credited_fen",
		    (json_int_t)c.credited_fen, "adjusted_fen", (json_int_t)c.adjusted_fen));
	printf("ledger OK: %lld transactions, %lld postings, %lld accounts, %lld audit events\n"
	       "buyers debited %lld fen = parties credited %lld fen + adjustment %lld fen\n",
	    (long long)c.transactions, (long long)c.postings, (long long)c.accounts,
	    (long long)c.events, (long long)c.debited_fen, (long long)c.credited_fen,
	    (long long)c.adjusted_fen);
	return CLI_OK;
}

static int
cap_run(const struct cli *cli, const struct cli_args *a)
{
	struct ledger_cap_request req = {
	    .product = cli_arg(a, 0),
	    .change = cli_flag(a, "monthly") || cli_flag(a, "none"),
	    .monthly_fen = cli_count(a, "monthly", -1),
	};
	struct exchange *ex = NULL;
	const char *field;
	int64_t cap;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	r = ledger_act_cap(ex, NULL, &req, &cap, &field);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (cli_flag(a, "json"))
		return cli_print_json(json_pack("{s:s, s:o}", "product", req.product, "monthly_fen",
		    cap < 0 ? json_null() : json_integer(cap)));
	if (cap < 0)
		printf("%s: no monthly revenue cap\n", req.product);
	else
		printf("%s: monthly revenue cap %lld fen\n", req.product, (long long)cap);
	return CLI_OK;
}

const struct cli_spec cmd_ledger[] = {
    {
        .path = "ledger",
        .summary = "revenue statements",
        .help = "Statements of the revenue ledger: for each account its opening balance, its\n"
                "entries (time, contract, query, amount in fen: buyers' debits are negative)\n"
                "and its closing balance.  T is an RFC 3339 UTC time or a prefix of one\n"
                "(\"2026-11\"); --from is inclusive, --until includes everything it prefixes.\n"
                "With --identity a party sees only its own statement; the platform and\n"
                "auditors see every account, including adjustment (income above a product's\n"
                "monthly cap).",
        .opts =
            {
                {"party", 0, CLI_STRING, "NAME", "only this account's statement"},
                {"from", 0, CLI_STRING, "T", "entries from T on"},
                {"until", 0, CLI_STRING, "T", "entries up to T"},
                {"json", 0, CLI_FLAG, NULL, "print the result as one JSON document", CLI_EXCL_NEXT},
                {"csv", 0, CLI_FLAG, NULL, "print the entries as CSV"},
                {"identity", 0, CLI_STRING, "FILE.key", "act as the party of this key"},
            },
        .run = statement_run,
    },
    {
        .path = "ledger verify",
        .summary = "recompute and check the ledger",
        .help = "Recompute every account balance from the postings; check that every\n"
                "transaction balances, agrees with its released query and is matched by its\n"
                "query.released audit event; check that every released query was posted once.\n"
                "Exit 1 naming the first disagreement.",
        .opts = {CMD_OPT_JSON},
        .run = verify_run,
    },
    {
        .path = "ledger cap",
        .summary = "a product's monthly revenue cap",
        .help = "Show, set or remove the product's revenue cap per calendar month (UTC), set\n"
                "by the platform.  Income of a month above the cap is posted to the adjustment\n"
                "account instead of the parties (the cost-plus-reasonable-profit rule).",
        .args = {{"PRODUCT"}},
        .opts =
            {
                {"monthly", 0, CLI_COUNT, "FEN", "set the cap", CLI_EXCL_NEXT, 0, LEDGER_AMOUNT_MAX,
                    "a whole number of fen from 0 to 2^53"},
                {"none", 0, CLI_FLAG, NULL, "remove the cap"},
                CMD_OPT_JSON,
            },
        .run = cap_run,
    },
    {.path = NULL},
};
