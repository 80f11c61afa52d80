/*
 * broker/cmd_contract.c -- `sluice contract offer | sign | submit | verify | list | show | revoke`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/actor.h"
#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/contracts.h"
#include "broker/exchange.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/file.h"
#include "common/text.h"
#include "contracts/contract.h"
#include "keys/sign.h"

#define TERMS_FILE_MAX (1u << 20)
#define CONTRACT_FILE_MODE 0644

/* Parse a contract file; the message names it. */
static int
read_contract(const char *path, struct contract **c)
{
	uint8_t *text = NULL;
	size_t len;
	int r;

	if ((r = cli_read_file(path, CONTRACT_TEXT_MAX, &text, &len)) != 0)
		return r;
	r = contract_parse((const char *)text, len, c);
	free(text);
	return r != 0 ? sl_errf(r, "%s: %s", path, sl_err_msg(r)) : 0;
}

static int
write_contract(const char *path, const struct contract *c, int replace)
{
	char *text = NULL;
	size_t len;
	int r;

	if ((r = contract_to_text(c, &text, &len)) != 0)
		return r;
	r = replace ? sl_file_write_replace(path, CONTRACT_FILE_MODE, text, len)
	            : sl_file_write_new(path, CONTRACT_FILE_MODE, text, len);
	free(text);
	if (r == SL_ERR_EXISTS)
		return sl_errf(r, "%s: already exists; choose another --out", path);
	if (r == SL_ERR_IO) /* the file helpers keep errno: say what failed */
		return sl_errf(r, "%s: cannot write: %s", path, strerror(errno));
	return r != 0 ? sl_errf(r, "%s: cannot write: %s", path, sl_err_msg(r)) : 0;
}

static json_t *
read_terms(const char *path)
{
	uint8_t *text = NULL;
	json_error_t e;
	json_t *terms;
	size_t len;
	int r;

	if ((r = cli_read_file(path, TERMS_FILE_MAX, &text, &len)) != 0)
		return NULL;
	terms = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &e);
	free(text);
	if (terms == NULL)
		sl_errf(SL_ERR_PARSE, "%s:%d:%d: %s", path, e.line, e.column, e.text);
	return terms;
}

/* `contract offer --out`: the file is written inside the catalog transaction. */
struct offer_out {
	const char *path;
	int written; /* the file is there: remove it if the commit fails */
	int failed;  /* writing it failed: nothing was recorded */
};

/* contracts_offer()'s publish hook. */
static int
offer_write(void *arg, const struct contract *c)
{
	struct offer_out *o = arg;
	struct stat sb;
	int r;

	if ((r = write_contract(o->path, c, 0)) != 0) {
		o->failed = 1;
		/*
		 * sl_file_write_new() can fail after linking the file into place
		 * (its directory's fsync): then the file is ours, to remove.
		 * SL_ERR_EXISTS is someone else's file, created since the check.
		 */
		if (r != SL_ERR_EXISTS && lstat(o->path, &sb) == 0)
			o->written = 1;
		return r;
	}
	o->written = 1;
	return 0;
}

static int
offer_run(const struct cli *cli, const struct cli_args *a)
{
	const char *product = cli_opt(a, "product"), *buyer = cli_opt(a, "buyer");
	const char *terms_path = cli_opt(a, "terms"), *out = cli_opt(a, "out");
	const char *ident = cli_opt(a, "identity"), *field = NULL;
	struct contracts_offer_request req;
	struct keys_pubkey *caller = NULL;
	struct exchange *ex = NULL;
	struct contract *c = NULL;
	struct offer_out oo;
	struct stat sb;
	json_t *terms;
	int r;

	/* Refuse before recording anything: the offer must be writable. */
	if (lstat(out, &sb) == 0)
		return cli_fail(
		    sl_errf(SL_ERR_EXISTS, "%s: already exists; choose another --out", out));
	if ((terms = read_terms(terms_path)) == NULL)
		return cli_fail(SL_ERR_PARSE);
	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK) {
		json_decref(terms);
		return r;
	}
	sl_err_clear();
	/*
	 * The file is written (whole or not at all) before the offer commits, and
	 * removed if the commit fails: a failed offer leaves neither a catalog
	 * row nor a file.  A crash between the two leaves at most a file that
	 * `contract submit` refuses as never offered.
	 */
	memset(&oo, 0, sizeof oo);
	oo.path = out;
	req = (struct contracts_offer_request){product, buyer, terms, offer_write, &oo};
	if ((r = cli_caller(ident, &caller)) == 0 &&
	    (r = contracts_act_offer(ex, caller, &req, &c, &field)) != 0)
		r = cli_name_file(r, field, ACTOR_FIELD, ident);
	keys_pubkey_free(caller);
	json_decref(terms);
	exchange_close(ex);
	if (r != 0) {
		if (oo.written && unlink(out) == 0)
			(void)sl_fsync_parent(out);
		if (oo.failed)
			r = sl_errf(r, "%s; nothing was offered", sl_err_msg(r));
		else
			r = cli_name_file(r, field, "terms", terms_path);
		return cli_fail_detail(r, field, NULL);
	}
	if (cli_flag(a, "json"))
		r = cli_print_json(
		    json_pack("{s:s, s:s, s:s}", "id", c->id, "state", "offered", "file", out));
	else
		printf("Offered contract %s for %s to %s; written to %s\n", c->id, c->product,
		    buyer, out);
	contract_free(c);
	return r;
}

static int
sign_run(const struct cli *cli, const struct cli_args *a)
{
	const char *file = cli_arg(a, 0);
	struct contracts_verdict v;
	struct keys_identity *id = NULL;
	struct contract *c = NULL;
	enum contract_role role;
	char missing[512];
	int r;

	(void)cli;
	sl_err_clear();
	if ((r = read_contract(file, &c)) != 0 ||
	    (r = cli_load_identity(cli_opt(a, "identity"), &id)) != 0 ||
	    (r = contracts_act_sign(c, id, time(NULL), &role, &v)) != 0 ||
	    (r = write_contract(file, c, 1)) != 0) {
		keys_identity_free(id);
		contract_free(c);
		return cli_fail(r);
	}
	contract_roles_text(
	    c, v.st.missing_roles & ~(1u << CONTRACT_PLATFORM), missing, sizeof missing);
	if (cli_flag(a, "json")) {
		r = cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", c->id, "party",
		    contract_party(c, role)->name, "role", contract_role_name(role), "missing",
		    missing, "complete", *missing == '\0'));
		keys_identity_free(id);
		contract_free(c);
		return r;
	}
	printf("Signed contract %s as %s (%s)\n", c->id, contract_party(c, role)->name,
	    contract_role_name(role));
	if (*missing)
		printf("Still to sign: %s\n", missing);
	else
		printf("Every party has signed; `sluice contract submit %s` has the platform "
		       "countersign\n",
		    file);
	keys_identity_free(id);
	contract_free(c);
	return CLI_OK;
}

static int
submit_run(const struct cli *cli, const struct cli_args *a)
{
	const char *file = cli_arg(a, 0);
	struct contracts_submitted res;
	struct exchange *ex = NULL;
	struct contract *c = NULL;
	char roles[512];
	int r;

	sl_err_clear();
	if ((r = read_contract(file, &c)) != 0)
		return cli_fail(r);
	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK) {
		contract_free(c);
		return r;
	}
	r = contracts_submit(ex, c, &res);
	exchange_close(ex);
	if (r == 0)
		r = write_contract(file, c, 1);
	if (r != 0) {
		contract_free(c);
		return cli_fail(r);
	}
	contract_roles_text(c, res.new_roles, roles, sizeof roles);
	if (cli_flag(a, "json")) {
		r = cli_print_json(json_pack("{s:s, s:s, s:b}", "id", c->id, "state", res.state,
		    "activated", res.activated));
	} else {
		printf("Contract %s: %s%s%s\n", c->id, res.state,
		    *roles ? "; new signatures: " : "", roles);
		if (res.activated)
			printf("The platform countersigned; queries may run under it now\n");
	}
	contract_free(c);
	return r;
}

static void
print_verdict(const struct contract *c, const struct contract_status *st)
{
	char signed_[512], missing[512], from[SL_TIME_RFC3339_LEN], until[SL_TIME_RFC3339_LEN];

	contract_roles_text(c, st->signed_roles, signed_, sizeof signed_);
	contract_roles_text(c, st->missing_roles, missing, sizeof missing);
	sl_time_format(c->terms.valid_from, from);
	sl_time_format(c->terms.valid_until, until);
	printf("Contract %s for product %s\n", c->id, c->product);
	printf("Signed by:  %s\n", *signed_ ? signed_ : "nobody");
	printf("Missing:    %s\n", *missing ? missing : "nobody");
	printf("Valid:      %s to %s%s\n", from, until,
	    st->expired         ? " (expired)"
	    : st->not_yet_valid ? " (not yet valid)"
	                        : "");
}

static int
verify_run(const struct cli *cli, const struct cli_args *a)
{
	const char *file = cli_arg(a, 0), *keyfile = cli_opt(a, "key"), *field;
	struct keys_pubkey *platform = NULL;
	struct contracts_verdict v;
	struct contract *c = NULL;
	uint8_t *pem = NULL;
	size_t len;
	int r;

	(void)cli;
	sl_err_clear();
	if ((r = read_contract(file, &c)) != 0)
		return cli_fail(r);
	if (keyfile != NULL && ((r = cli_read_file(keyfile, 16384, &pem, &len)) != 0 ||
	                           (r = keys_pubkey_from_pem(pem, len, &platform)) != 0)) {
		if (r == SL_ERR_PARSE)
			sl_errf(r, "%s: not a public key", keyfile);
		free(pem);
		contract_free(c);
		return cli_fail(r);
	}
	free(pem);
	r = contracts_act_verify(c, platform, time(NULL), &v, &field);
	keys_pubkey_free(platform);
	if (r != 0) {
		if (field != NULL && strcmp(field, "key") == 0)
			r = sl_errf(r, "%s: the contract's platform key is not the one in %s", file,
			    keyfile);
		else
			r = sl_errf(r, "%s: %s", file, sl_err_msg(r));
		contract_free(c);
		return cli_fail(r);
	}
	if (cli_flag(a, "json")) {
		json_t *missing = json_array();
		size_t i;

		for (i = 0; i < c->nparties; i++)
			if (v.st.missing_roles & (1u << c->parties[i].role))
				json_array_append_new(missing, json_string(c->parties[i].name));
		r = cli_print_json(json_pack("{s:s, s:b, s:o, s:b, s:b}", "id", c->id, "valid",
		    v.in_force, "missing", missing, "expired", v.st.expired, "not_yet_valid",
		    v.st.not_yet_valid));
	} else {
		print_verdict(c, &v.st);
		printf("%s\n", v.in_force ? "OK: every signature verifies; the contract is in force"
		               : !v.st.countersigned ? "INCOMPLETE: signatures are missing"
		               : v.st.expired        ? "EXPIRED"
		                                     : "NOT YET VALID");
	}
	contract_free(c);
	return r != CLI_OK ? r : v.in_force ? CLI_OK : CLI_FAILED;
}

static int
list_run(const struct cli *cli, const struct cli_args *a)
{
	struct contracts_row *rows = NULL;
	struct exchange *ex = NULL;
	time_t now = time(NULL);
	size_t n = 0, i;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	if (cli_flag(a, "json")) {
		json_t *doc = NULL;

		r = contracts_act_list(ex, NULL, now, &doc);
		exchange_close(ex);
		return r != 0 ? cli_fail(r) : cli_print_json(doc);
	}
	r = contracts_list(ex, &rows, &n);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	{
		static const char *const head[] = {"ID", "PRODUCT", "BUYER", "STATE", "QUERIES"};
		struct cli_table *t = cli_table_new(5, "lllll", head);

		for (i = 0; t != NULL && r == 0 && i < n; i++) {
			const struct contract *c = rows[i].c;
			char queries[64];

			if (c->terms.query_quota >= 0)
				snprintf(queries, sizeof queries, "%lld of %lld",
				    (long long)rows[i].queries_used,
				    (long long)c->terms.query_quota);
			else
				snprintf(queries, sizeof queries, "%lld",
				    (long long)rows[i].queries_used);
			r = cli_table_add(t, (const char *const[]){c->id, c->product,
			                         contract_party(c, CONTRACT_BUYER)->name,
			                         contracts_status(&rows[i], now), queries});
		}
		r = cli_table_done(t, r);
	}
	contracts_list_free(rows, n);
	return r;
}

/* "Release:    dp (laplace), epsilon 10 in all, 1 per query, delta 1e-6, 1 row per unit" */
static void
release_dp_line(const struct contract_terms *t)
{
	char total[RATIONAL_TEXT_BYTES], per[RATIONAL_TEXT_BYTES], delta[RATIONAL_TEXT_BYTES];

	if (rational_format(t->budget_total, total) < 0 ||
	    rational_format(t->budget_per_query, per) < 0 || rational_format(t->delta, delta) < 0)
		return;
	printf("Release:    dp (%s), %s %s in all, %s per query, delta %s, %lld row%s per unit\n",
	    t->mechanism == CONTRACT_LAPLACE ? "laplace" : "gaussian",
	    t->mechanism == CONTRACT_LAPLACE ? "epsilon" : "rho", total, per, delta,
	    (long long)t->max_rows_per_unit, t->max_rows_per_unit == 1 ? "" : "s");
}

static int
show_run(const struct cli *cli, const struct cli_args *a)
{
	struct contracts_row row;
	struct contract_status st;
	struct exchange *ex = NULL;
	time_t now = time(NULL);
	char *text = NULL;
	size_t len;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	r = contracts_act_find(ex, NULL, cli_arg(a, 0), &row);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (cli_flag(a, "document")) {
		if ((r = contract_to_text(row.c, &text, &len)) == 0)
			fwrite(text, 1, len, stdout);
		free(text);
		r = r != 0 ? cli_fail(r) : CLI_OK;
	} else if (cli_flag(a, "json")) {
		r = cli_print_json(contracts_row_json(&row, now, 1));
	} else if ((r = contract_verify(row.c, now, &st)) != 0) {
		r = cli_fail(r);
	} else {
		const struct contract_terms *t = &row.c->terms;

		print_verdict(row.c, &st);
		printf("State:      %s\n", contracts_status(&row, now));
		printf("Purpose:    %s\n", t->purpose);
		printf("Price:      %lld fen per released query\n", (long long)t->price_fen);
		printf("Queries:    %lld", (long long)row.queries_used);
		if (t->query_quota >= 0)
			printf(" of %lld", (long long)t->query_quota);
		printf("\n");
		if (t->mode == CONTRACT_THRESHOLD)
			printf("Release:    threshold, min_group %lld\n", (long long)t->min_group);
		else
			release_dp_line(t);
		if (row.revoked)
			printf("Revoked:    %s by %s: %s\n", row.revoked, row.revoked_by,
			    row.revoke_reason);
	}
	contracts_row_clear(&row);
	return r;
}

static int
revoke_run(const struct cli *cli, const struct cli_args *a)
{
	const char *ident = cli_opt(a, "identity"), *field = NULL;
	struct contracts_revoke_request req = {cli_arg(a, 0), cli_opt(a, "reason")};
	struct keys_pubkey *caller = NULL;
	struct exchange *ex = NULL;
	char *by = NULL;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	if ((r = cli_caller(ident, &caller)) == 0 &&
	    (r = contracts_act_revoke(ex, caller, &req, &by, &field)) != 0)
		r = cli_name_file(r, field, ACTOR_FIELD, ident);
	keys_pubkey_free(caller);
	exchange_close(ex);
	if (r != 0)
		return cli_fail_detail(r, field, NULL);
	if (cli_flag(a, "json"))
		r = cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "id", req.id, "state",
		    "revoked", "by", by, "reason", req.reason));
	else
		printf("Revoked contract %s (by %s)\n", req.id, by);
	free(by);
	return r;
}

const struct cli_spec cmd_contract[] = {
    {
        .path = "contract offer",
        .summary = "write an unsigned contract",
        .help = "Check the terms against the product and write an unsigned contract between\n"
                "the product's holder, operator and merchant, the buyer and the platform.\n"
                "Each party then signs it with `sluice contract sign`.  The audit log names\n"
                "the merchant as the actor when --identity is its key, else the platform.",
        .opts =
            {
                {"product", 0, CLI_STRING, "NAME", "the product", CLI_REQUIRED},
                {"buyer", 0, CLI_STRING, "NAME", "the buyer", CLI_REQUIRED},
                {"terms", 0, CLI_STRING, "TERMS.json", "the terms (purpose, price, release)",
                    CLI_REQUIRED},
                {"out", 0, CLI_STRING, "C.json", "where to write the contract (a new file)",
                    CLI_REQUIRED},
                {"identity", 0, CLI_STRING, "MERCHANT.key", "act as the merchant, by its key"},
                CMD_OPT_JSON,
            },
        .run = offer_run,
    },
    {
        .path = "contract sign",
        .summary = "add your signature (offline)",
        .help = "Add your signature to the contract in C.json (offline: no data directory).\n"
                "The key must be one of the contract's parties; the signature covers the\n"
                "canonical form (RFC 8785) of every term.",
        .args = {{"C.json"}},
        .opts =
            {
                {"identity", 0, CLI_STRING, "FILE.key", "your key, as `party add` wrote it",
                    CLI_REQUIRED},
                CMD_OPT_JSON,
            },
        .run = sign_run,
    },
    {
        .path = "contract submit",
        .summary = "record signatures; the platform countersigns when complete",
        .help = "Record the signatures in C.json.  Once the holder, operator, merchant and\n"
                "buyer have all signed, the platform countersigns and the contract is active;\n"
                "C.json is then rewritten with every signature, for offline verification.",
        .args = {{"C.json"}},
        .opts = {CMD_OPT_JSON},
        .run = submit_run,
    },
    {
        .path = "contract verify",
        .summary = "check a contract offline",
        .help = "Check a contract offline: its form, every signature over its canonical\n"
                "form, which parties are missing and its validity dates.  With --key the\n"
                "platform's key must be that one (DIR/platform.pub of the exchange).\n"
                "Exit 0 only for a complete contract, countersigned and valid now.",
        .args = {{"C.json"}},
        .opts =
            {
                {"key", 0, CLI_STRING, "PLATFORM.pub", "the platform key to trust"},
                CMD_OPT_JSON,
            },
        .run = verify_run,
    },
    {
        .path = "contract list",
        .summary = "recorded contracts",
        .opts = {CMD_OPT_JSON},
        .run = list_run,
    },
    {
        .path = "contract show",
        .summary = "one contract",
        .help = "A recorded contract's state, signatures and use; --document prints the\n"
                "signed document itself (as `contract verify` reads it).",
        .args = {{"ID"}},
        .opts =
            {
                CMD_OPT_JSON,
                {"document", 0, CLI_FLAG, NULL, "print the signed contract document"},
            },
        .run = show_run,
    },
    {
        .path = "contract revoke",
        .summary = "stop a contract",
        .help = "Revoke a contract: no query runs under it again.  The contract's merchant or\n"
                "holder revokes with --identity; without it the platform does.",
        .args = {{"ID"}},
        .opts =
            {
                {"reason", 0, CLI_STRING, "TEXT", "why, for the audit log", CLI_REQUIRED},
                {"identity", 0, CLI_STRING, "FILE.key", "act as the merchant or holder"},
                CMD_OPT_JSON,
            },
        .run = revoke_run,
    },
    {.path = NULL},
};
