/*
 * broker/cmd_query.c -- `sluice query --contract ID --identity BUYER.key "SELECT ..."`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "broker/query.h"
#include "broker/spawn.h"
#include "common/err.h"
#include "common/log.h"
#include "sandbox/job.h"
#include "keys/sign.h"

/* The query text from "-": standard input, at most QUERY_TEXT_MAX + 1 bytes (so too long shows). */
static int
read_stdin(char **text, size_t *len)
{
	size_t cap = QUERY_TEXT_MAX + 2, n = 0;
	char *buf = malloc(cap);
	ssize_t k;

	if (buf == NULL)
		return SL_ERR_NOMEM;
	while (n < cap - 1 && (k = read(STDIN_FILENO, buf + n, cap - 1 - n)) != 0) {
		if (k < 0) {
			free(buf);
			return sl_errf(SL_ERR_IO, "reading the query from standard input failed");
		}
		n += (size_t)k;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/* One value as the table shows it; a real in the shortest form that reads back, as --json has it. */
static char *
cell(const json_t *v)
{
	char real[CLI_REAL_TEXT_BYTES];

	if (json_is_null(v))
		return strdup("NULL");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_real(v)) {
		cli_real_text(json_real_value(v), real);
		return strdup(real);
	}
	return json_dumps(v, JSON_ENCODE_ANY);
}

/*
 * A dp answer's noise in words: "dp (laplace): epsilon 1 spent, 2 left;
 * 95 % of the noise within: units +-37, rows +-9, sum +-45000000".
 */
static void
print_noise(const json_t *rel, const char *indent)
{
	const char *mode = json_string_value(json_object_get(rel, "mode")), *unit;
	const json_t *n;
	size_t i;

	if (mode == NULL || strcmp(mode, "dp") != 0)
		return;
	unit = json_object_get(rel, "rho") != NULL ? "rho" : "epsilon";
	printf("%s(dp, %s: %s %s spent, %s left; 95 %% of the noise within:", indent,
	    json_string_value(json_object_get(rel, "mechanism")), unit,
	    json_string_value(json_object_get(rel, unit)),
	    json_string_value(json_object_get(rel, "budget_remaining")));
	json_array_foreach(json_object_get(rel, "noise"), i, n) {
		const char *col = json_string_value(json_object_get(n, "column"));

		printf("%s %s%s%s +-%lld", i ? "," : "",
		    json_string_value(json_object_get(n, "quantity")), col ? " of " : "",
		    col ? col : "", (long long)json_integer_value(json_object_get(n, "ci95")));
	}
	printf(")\n");
}

void
cmd_query_print(const json_t *answer, int replayed, const char *indent)
{
	const json_t *cols = json_object_get(answer, "columns"),
	             *rows = json_object_get(answer, "rows"),
	             *product = json_object_get(answer, "product"),
	             *version = json_object_get(answer, "version");
	size_t nc = json_array_size(cols), nr = json_array_size(rows), i, j;
	size_t *w = calloc(nc + 1, sizeof *w);
	char **cells = calloc((nr + 1) * (nc + 1), sizeof *cells);

	if (w == NULL || cells == NULL)
		goto out;
	for (j = 0; j < nc; j++) {
		cells[j] = strdup(json_string_value(json_array_get(cols, j)));
		for (i = 0; i < nr; i++)
			cells[(i + 1) * nc + j] = cell(json_array_get(json_array_get(rows, i), j));
	}
	for (i = 0; i <= nr; i++)
		for (j = 0; j < nc; j++)
			if (cells[i * nc + j] != NULL && strlen(cells[i * nc + j]) > w[j])
				w[j] = strlen(cells[i * nc + j]);
	for (i = 0; i <= nr; i++) {
		fputs(indent, stdout);
		for (j = 0; j < nc; j++) {
			const json_t *v =
			    i > 0 ? json_array_get(json_array_get(rows, i - 1), j) : NULL;
			const char *c = cells[i * nc + j] != NULL ? cells[i * nc + j] : "?";

			/* Numbers right-aligned, text left, as psql does. */
			if (json_is_number(v))
				printf("%*s", (int)w[j], c);
			else if (j + 1 < nc)
				printf("%-*s", (int)w[j], c);
			else
				printf("%s", c);
			if (j + 1 < nc)
				printf("  ");
		}
		printf("\n");
		if (i == 0) {
			fputs(indent, stdout);
			for (j = 0; j < nc; j++) {
				size_t k;

				for (k = 0; k < w[j]; k++)
					putchar('-');
				printf(j + 1 < nc ? "  " : "\n");
			}
		}
	}
	printf("%s(%zu row%s", indent, nr, nr == 1 ? "" : "s");
	/* An answer stored before answers named their version has none. */
	if (json_is_string(product) && json_is_integer(version))
		printf(" from %s version %lld", json_string_value(product),
		    (long long)json_integer_value(version));
	printf("; %lld group%s suppressed by the contract's release rule; %s %lld fen)\n",
	    (long long)json_integer_value(json_object_get(answer, "suppressed_groups")),
	    json_integer_value(json_object_get(answer, "suppressed_groups")) == 1 ? "" : "s",
	    replayed ? "a replay, not charged again: the first answer was charged" : "charged",
	    (long long)json_integer_value(json_object_get(answer, "charged_fen")));
	print_noise(json_object_get(answer, "release"), indent);
out:
	for (i = 0; cells != NULL && i < (nr + 1) * nc; i++)
		free(cells[i]);
	free(cells);
	free(w);
}

static int
query_run(const struct cli *cli, const struct cli_args *a)
{
	const char *text_arg = cli_arg(a, 0);
	struct keys_identity *id = NULL;
	struct query_outcome out;
	struct query_request req;
	struct exchange *ex = NULL;
	struct spawn *worker = NULL;
	char *text = NULL;
	size_t len;
	int r;

	sl_err_clear();
	/* First: its start-up overlaps everything below (query_worker_start()). */
	if ((r = query_worker_start(&worker)) != 0)
		return cli_fail(r);
	if ((r = cli_load_identity(cli_opt(a, "identity"), &id)) != 0) {
		spawn_free(worker);
		return cli_fail(r);
	}
	if (strcmp(text_arg, "-") == 0) {
		if ((r = read_stdin(&text, &len)) != 0) {
			spawn_free(worker);
			keys_identity_free(id);
			return cli_fail(r);
		}
	} else if ((text = strdup(text_arg)) != NULL) {
		len = strlen(text);
	}
	if (text == NULL || (r = cli_open(cli, cli_path(a), &ex)) != CLI_OK) {
		spawn_free(worker);
		keys_identity_free(id);
		free(text);
		return text == NULL ? cli_fail(SL_ERR_NOMEM) : r;
	}
	req = (struct query_request){.contract = cli_opt(a, "contract"),
	    .buyer = id,
	    .worker = worker,
	    .request_id = cli_opt(a, "request-id"),
	    .text = text,
	    .len = len,
	    .rate_per_minute = cli_query_rate(),
	    .threads = (unsigned)cli_count(a, "threads", 0)};
	r = query_submit(ex, &req, &out);
	exchange_close(ex);
	keys_identity_free(id);
	free(text);
	if (r != 0)
		return cli_fail(r);
	if (out.answer == NULL) {
		/* A refusal breaks a rule; a failure is the worker's or the broker's. */
		r = sl_errf(strcmp(out.state, "refused") == 0 ? SL_ERR_POLICY : SL_ERR_INTERNAL,
		    "query %s %s: %s", out.id, out.state, out.reason ? out.reason : "?");
		r = cli_fail_detail(
		    r, NULL, json_pack("{s:s, s:s}", "query", out.id, "state", out.state));
		query_outcome_clear(&out);
		return r;
	}
	if (cli_flag(a, "json"))
		r = cli_print_json(json_incref(out.answer));
	else
		cmd_query_print(out.answer, out.replayed, "");
	query_outcome_clear(&out);
	return r;
}

const struct cli_spec cmd_query[] = {
    {
        .path = "query",
        .summary = "run an aggregate query under a contract",
        .help = "Run an aggregate query under an active contract (README.md, \"The query\n"
                "language\"; - reads it from standard input).  Only groups the contract's\n"
                "release rule allows are shown; each released query is charged.  A retry\n"
                "with the same --request-id returns the first answer and is not charged again.",
        .args = {{"\"SELECT ...\" | -", "the query text"}},
        .args_last = 1,
        .opts =
            {
                {"contract", 0, CLI_STRING, "ID", "the contract to query under", CLI_REQUIRED},
                {"identity", 0, CLI_STRING, "BUYER.key", "the buyer's key, which signs the query",
                    CLI_REQUIRED},
                {"request-id", 0, CLI_STRING, "X", "the retry key: the same X, the same answer"},
                {"threads", 0, CLI_COUNT, "N",
                    "the worker's scan threads (default: $SLUICE_THREADS, else the online cores)", 0,
                    1, JOB_THREADS_MAX, "1 to 64"},
                CMD_OPT_JSON,
            },
        .run = query_run,
    },
    {.path = NULL},
};
