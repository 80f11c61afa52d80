/*
 * broker/cmd_demo.c -- `sluice demo`: the whole mission on a throwaway exchange.
 *
 * Every step runs this same binary as a reader would from a shell (the
 * command is printed first, so it can be repeated by hand), reads what the
 * step printed with --json where it checks an outcome, and says what just
 * happened.  A step whose outcome is not what the walkthrough says fails
 * the demo (exit 1), so the demo is also an end-to-end check.
 *
 * The data are generated (common/gen.h) with one member planted: the only
 * one aged 95 with a chapter XV diagnosis among Cixi's 2019 claims, whom the
 * differencing pair (docs/privacy.md) isolates in threshold mode and cannot
 * in dp mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "common/err.h"
#include "common/file.h"
#include "common/gen.h"
#include "common/log.h"
#include "common/text.h"

extern char **environ;

/* The planted member's claim (fen) and the pair that isolates it. */
#define DEMO_MEMBER_FEN 123456
#define DEMO_PAIR_A "SELECT SUM(claim_fen) FROM claims WHERE region = 'cixi' AND year = 2019"
#define DEMO_PAIR_B DEMO_PAIR_A " AND NOT (age = 95 AND dx_chapter = 'XV')"
/* What one step may print: the demo reads it whole. */
#define DEMO_OUTPUT_MAX (64u << 20)

struct demo {
	char exe[PATH_MAX]; /* this binary */
	char *work;         /* keys, terms, data, exports */
	char *ex;           /* the exchange's data directory, under work */
	char **env;         /* ours without SLUICE_DIR and SLUICE_PASSPHRASE_FILE */
	int color;
	int step, failed;
	/* the last command's */
	int status;
	char *out, *err;
	json_t *doc; /* its stdout as JSON, when it ran with --json */
};

/* ---- printing ------------------------------------------------------------ */

static const char *
sgr(const struct demo *d, const char *code)
{
	return d->color ? code : "";
}

static void
heading(struct demo *d, const char *title)
{
	printf("\n%s%d. %s%s\n", sgr(d, "\033[1m"), ++d->step, title, sgr(d, "\033[0m"));
}

/* A line or two on what just happened and why. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("   ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* A check of what the walkthrough claims; a false one fails the demo. */
static int expect(struct demo *d, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
expect(struct demo *d, int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("   %s%s%s ", sgr(d, ok ? "\033[32m" : "\033[31m"),
	    ok ? "ok" : "NOT AS SHOWN:", sgr(d, "\033[0m"));
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (!ok)
		d->failed++;
	return ok;
}

/* One shell word: as is when it is safe, else single-quoted. */
static void
put_word(const char *w)
{
	const char *p;

	if (*w != '\0' && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "0123456789_./=:,@%+-") == strlen(w)) {
		fputs(w, stdout);
		return;
	}
	if (strpbrk(w, "\"$`\\!") == NULL) {
		printf("\"%s\"", w);
		return;
	}
	putchar('\'');
	for (p = w; *p != '\0'; p++)
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	putchar('\'');
}

/* A word of a shown command: a path under the work directory as "$D/...". */
static void
put_arg(const struct demo *d, const char *w)
{
	size_t n = strlen(d->work);

	if (strncmp(w, d->work, n) == 0 && (w[n] == '/' || w[n] == '\0') &&
	    strpbrk(w + n, "\"$`\\!") == NULL) {
		printf("\"$D%s\"", w + n);
		return;
	}
	put_word(w);
}

/* Output a step printed, indented under it. */
static void
show(const char *text)
{
	const char *p = text, *nl;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		printf("     %.*s\n", nl != NULL ? (int)(nl - p) : (int)strlen(p), p);
		p = nl != NULL ? nl + 1 : NULL;
	}
}

/* ---- running a step ------------------------------------------------------ */

static void
last_clear(struct demo *d)
{
	free(d->out);
	free(d->err);
	json_decref(d->doc);
	d->out = d->err = NULL;
	d->doc = NULL;
}

static char *
slurp(const char *path)
{
	uint8_t *b = NULL;
	size_t n = 0;

	if (sl_file_read(path, DEMO_OUTPUT_MAX, &b, &n) != 0)
		return strdup("");
	return (char *)b; /* sl_file_read() ends it with a NUL */
}

/*
 * Run `sluice [-d EXCHANGE] ARGS...` (argv ends at NULL), printing it first
 * without its --json (what a reader types for the human form).  Sets
 * status, out, err and, with --json, doc.  Returns the exit status, or -1
 * if it could not be run.
 */
static int
run_v(struct demo *d, int with_dir, const char *const *args)
{
	const char *argv[64];
	char *outp = sl_path_join(d->work, ".out"), *errp = sl_path_join(d->work, ".err");
	posix_spawn_file_actions_t fa;
	size_t n = 0, i;
	int json = 0, st;
	pid_t pid;

	last_clear(d);
	d->status = -1;
	argv[n++] = "sluice";
	if (with_dir) {
		argv[n++] = "-d";
		argv[n++] = d->ex;
	}
	for (i = 0; args[i] != NULL && n < 63; i++) {
		argv[n++] = args[i];
		json |= strcmp(args[i], "--json") == 0;
	}
	argv[n] = NULL;
	printf("   %s$ ", sgr(d, "\033[2m"));
	for (i = 0; i < n; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (i > 0)
			putchar(' ');
		put_arg(d, argv[i]);
	}
	printf("%s\n", sgr(d, "\033[0m"));
	fflush(stdout);
	if (outp == NULL || errp == NULL || posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (posix_spawn(&pid, d->exe, &fa, NULL, (char *const *)argv, d->env) == 0 &&
	    waitpid(pid, &st, 0) == pid)
		d->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	posix_spawn_file_actions_destroy(&fa);
	d->out = slurp(outp);
	d->err = slurp(errp);
	if (json && d->status == 0)
		d->doc = json_loads(d->out, 0, NULL);
out:
	free(outp);
	free(errp);
	return d->status;
}

#define RUN(d, ...) run_v((d), 1, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_NODIR(d, ...) run_v((d), 0, (const char *const[]){__VA_ARGS__, NULL})

/* A path under the work directory; the demo's own strings, freed at the end. */
static char *paths[64];
static size_t npaths;

static const char *
path(struct demo *d, const char *name)
{
	char *p = sl_path_join(d->work, name);

	if (p == NULL || npaths == sizeof paths / sizeof *paths) {
		free(p);
		return "/nonexistent";
	}
	return paths[npaths++] = p;
}

static const char *
key(struct demo *d, const char *party)
{
	char name[64];

	snprintf(name, sizeof name, "%s.key", party);
	return path(d, name);
}

/* A step that must succeed; its failure is shown with what it printed. */
static int
ok_step(struct demo *d, const char *what)
{
	if (d->status == 0)
		return 1;
	expect(d, 0, "%s: exit %d", what, d->status);
	show(d->err);
	return 0;
}

/* ---- the data ------------------------------------------------------------ */

/* rows generated rows of product (CSV, or jsonl), or with rows < 0 its schema, into name. */
static int
write_data(struct demo *d, const char *name, const char *product, long long rows, int jsonl)
{
	FILE *fp = fopen(path(d, name), "w");
	int r;

	if (fp == NULL)
		return -1;
	r = rows < 0 ? gen_write_schema(fp, product) : gen_write(fp, product, rows, 1, jsonl);
	if (r == 0 && rows >= 0 && strcmp(product, "claims") == 0)
		/* the member the differencing pair isolates (generated ids have 8 digits) */
		r = fprintf(fp,
		        "5,95,F,cixi,urban_employee,XV,%d,100000,3,2019,2019-06-01,Demo Member\n",
		        DEMO_MEMBER_FEN) < 0;
	return fclose(fp) != 0 || r != 0 ? -1 : 0;
}

static int
write_terms(struct demo *d, const char *name, const char *json)
{
	return sl_file_write_replace(path(d, name), 0600, json, strlen(json));
}

/* ---- the steps ----------------------------------------------------------- */

static const char *const parties[][2] = {{"city-health-bureau", "holder"},
    {"ningbo-data-ops", "operator"}, {"acme-merchant", "merchant"}, {"pacific-insurance", "buyer"},
    {"deepsight-ai", "buyer"}, {"audit-office", "auditor"}};

static void
step_exchange(struct demo *d)
{
	size_t i;

	heading(d, "An exchange and its parties");
	RUN_NODIR(d, "init", d->ex);
	if (!ok_step(d, "init"))
		return;
	for (i = 0; i < sizeof parties / sizeof *parties; i++) {
		RUN(d, "party", "add", parties[i][0], "--role", parties[i][1], "--out",
		    key(d, parties[i][0]));
		if (!ok_step(d, "party add"))
			return;
	}
	RUN(d, "party", "list");
	show(d->out);
	say("init made the platform's signing key; each party holds its own key and signs");
	say("with it. The holder owns the public data, the operator runs it under licence.");
}

static void
step_products(struct demo *d, long long rows)
{
	char line[160];

	heading(d, "Two data products, encrypted at rest");
	if (write_data(d, "claims.schema.json", "claims", -1, 0) != 0 ||
	    write_data(d, "claims.csv", "claims", rows, 0) != 0 ||
	    write_data(d, "imaging.schema.json", "imaging", -1, 0) != 0 ||
	    write_data(d, "imaging.jsonl", "imaging", rows, 1) != 0) {
		expect(d, 0, "the sample data could not be written: %s", strerror(errno));
		return;
	}
	snprintf(line, sizeof line,
	    "%lld synthetic claims and %lld imaging studies, as `bench/gen claims --rows %lld`",
	    rows, rows, rows);
	say("%s", line);
	say("writes them, with one member planted in claims.csv (step 7).");
	RUN(d, "product", "add", "claims", "--schema", path(d, "claims.schema.json"), "--merchant",
	    "acme-merchant", "--holder", "city-health-bureau", "--operator", "ningbo-data-ops");
	if (!ok_step(d, "product add claims"))
		return;
	RUN(d, "product", "load", "claims", path(d, "claims.csv"));
	if (!ok_step(d, "product load claims"))
		return;
	RUN(d, "product", "add", "imaging", "--schema", path(d, "imaging.schema.json"),
	    "--merchant", "acme-merchant", "--holder", "city-health-bureau", "--operator",
	    "ningbo-data-ops");
	if (!ok_step(d, "product add imaging"))
		return;
	RUN(d, "product", "load", "imaging", path(d, "imaging.jsonl"), "--format", "jsonl");
	if (!ok_step(d, "product load imaging"))
		return;
	RUN(d, "product", "list");
	show(d->out);
	say("A worker process parsed each file in a sandbox and wrote it to an LMDB store");
	say("under the product's own data key; the broker never held a plaintext row.");
}

/* Offer, four signatures, submit; the contract's id in out (NULL on failure). */
static char *
contract(struct demo *d, const char *terms, const char *product, const char *buyer)
{
	char cname[64];
	const char *c,
	    *signers[4] = {"city-health-bureau", "ningbo-data-ops", "acme-merchant", buyer};
	size_t i;
	const char *id;

	snprintf(cname, sizeof cname, "%s-%s.contract.json", buyer, product);
	c = path(d, cname);
	RUN(d, "contract", "offer", "--product", product, "--buyer", buyer, "--terms",
	    path(d, terms), "--out", c);
	if (!ok_step(d, "contract offer"))
		return NULL;
	for (i = 0; i < 4; i++) {
		RUN_NODIR(d, "contract", "sign", c, "--identity", key(d, signers[i]));
		if (!ok_step(d, "contract sign"))
			return NULL;
	}
	RUN(d, "contract", "submit", c, "--json");
	if (!ok_step(d, "contract submit"))
		return NULL;
	id = json_string_value(json_object_get(d->doc, "id"));
	return id != NULL ? strdup(id) : NULL;
}

struct contracts {
	char *insurer, *imaging, *welfare;
};

static const char insurer_terms[] =
    "{\"purpose\": \"insurance_product_research\", \"valid_from\": \"2026-01-01T00:00:00Z\",\n"
    " \"valid_until\": \"2036-01-01T00:00:00Z\",\n"
    " \"columns\": [\"age\", \"sex\", \"region\", \"dx_chapter\", \"claim_fen\", \"year\"],\n"
    " \"aggregates\": [\"COUNT\", \"SUM\", \"AVG\"],\n"
    " \"release\": {\"mode\": \"threshold\", \"min_group\": 10},\n"
    " \"query_quota\": 1000, \"price_fen\": 5000,\n"
    " \"revenue_shares\": {\"city-health-bureau\": 4000, \"ningbo-data-ops\": 3000,\n"
    "                    \"acme-merchant\": 2000, \"platform\": 1000}}\n";
static const char imaging_terms[] =
    "{\"purpose\": \"ai_model_evaluation\", \"valid_from\": \"2026-01-01T00:00:00Z\",\n"
    " \"valid_until\": \"2036-01-01T00:00:00Z\",\n"
    " \"columns\": [\"age_band\", \"sex\", \"modality\", \"body_part\", \"ai_finding\"],\n"
    " \"aggregates\": [\"COUNT\"],\n"
    " \"release\": {\"mode\": \"dp\", \"mechanism\": \"laplace\", \"epsilon_total\": \"3\",\n"
    "             \"epsilon_per_query\": \"1\"},\n"
    " \"query_quota\": 1000, \"price_fen\": 2000,\n"
    " \"revenue_shares\": {\"city-health-bureau\": 4000, \"ningbo-data-ops\": 3000,\n"
    "                    \"acme-merchant\": 2000, \"platform\": 1000}}\n";
static const char welfare_terms[] =
    "{\"purpose\": \"public_welfare\", \"valid_from\": \"2026-01-01T00:00:00Z\",\n"
    " \"valid_until\": \"2036-01-01T00:00:00Z\",\n"
    " \"columns\": [\"age\", \"sex\", \"region\", \"dx_chapter\", \"claim_fen\", \"year\"],\n"
    " \"aggregates\": [\"COUNT\", \"SUM\", \"AVG\"],\n"
    " \"release\": {\"mode\": \"dp\", \"mechanism\": \"laplace\", \"epsilon_total\": \"10\",\n"
    "             \"epsilon_per_query\": \"1\"},\n"
    " \"query_quota\": 1000, \"price_fen\": 0,\n"
    " \"revenue_shares\": {\"city-health-bureau\": 4000, \"ningbo-data-ops\": 3000,\n"
    "                    \"acme-merchant\": 2000, \"platform\": 1000}}\n";

static void
step_contracts(struct demo *d, struct contracts *c)
{
	heading(d, "Three contracts, signed by holder, operator, merchant and buyer");
	if (write_terms(d, "insurer.terms.json", insurer_terms) != 0 ||
	    write_terms(d, "imaging.terms.json", imaging_terms) != 0 ||
	    write_terms(d, "welfare.terms.json", welfare_terms) != 0) {
		expect(d, 0, "the terms could not be written");
		return;
	}
	say("pacific-insurance: claims in threshold mode (groups of 10 members or more), 50 yuan a "
	    "query");
	if ((c->insurer = contract(d, "insurer.terms.json", "claims", "pacific-insurance")) == NULL)
		return;
	say("deepsight-ai: imaging in dp mode, epsilon 1 a query out of 3, 20 yuan a query");
	if ((c->imaging = contract(d, "imaging.terms.json", "imaging", "deepsight-ai")) == NULL)
		return;
	say("deepsight-ai: claims for public welfare research, dp mode, free of charge");
	if ((c->welfare = contract(d, "welfare.terms.json", "claims", "deepsight-ai")) == NULL)
		return;
	RUN(d, "contract", "list");
	show(d->out);
	say("(The terms are in \"$D/*.terms.json\".)");
	say("The platform countersigned each once all four parties had; the terms bind every");
	say("query: columns, aggregates, the release rule, the price and its split.");
}

/* A query under contract c by buyer; prints its table, or its refusal.  The exit status. */
static int
query(struct demo *d, const char *c, const char *buyer, const char *text)
{
	RUN(d, "query", "--contract", c, "--identity", key(d, buyer), "--json", text);
	if (d->status == 0 && d->doc != NULL)
		cmd_query_print(d->doc, 0, "     ");
	else if (d->status == 0)
		expect(d, 0, "the answer is not JSON");
	else
		show(d->err);
	return d->status;
}

static long long
suppressed(const struct demo *d)
{
	return (long long)json_integer_value(json_object_get(d->doc, "suppressed_groups"));
}

static size_t
nrows(const struct demo *d)
{
	return json_array_size(json_object_get(d->doc, "rows"));
}

/* The answer's single value (a one-row, one-column answer), as a number. */
static double
value(const struct demo *d)
{
	return json_number_value(
	    json_array_get(json_array_get(json_object_get(d->doc, "rows"), 0), 0));
}

static void
step_threshold(struct demo *d, const struct contracts *c)
{
	heading(d, "A released table");
	if (query(d, c->insurer, "pacific-insurance",
	        "SELECT region, COUNT(*), AVG(claim_fen) FROM claims GROUP BY region ORDER BY "
	        "region") == 0)
		expect(d, nrows(d) == 10 && suppressed(d) == 0,
		    "all 10 regions released, each with thousands of members behind it");
	say("The worker scanned the encrypted store; the broker checked every group against");
	say("the contract's rule before anything left, then charged and audited the query.");

	heading(d, "Small groups held back");
	if (query(d, c->insurer, "pacific-insurance",
	        "SELECT age, COUNT(*) FROM claims WHERE region = 'cixi' AND age >= 85 GROUP BY age "
	        "ORDER BY age") == 0)
		expect(d, suppressed(d) > 0, "%lld ages with fewer than 10 members were suppressed",
		    suppressed(d));
	say("The answer says how many groups were held back, never which.");

	heading(d, "Questions the contract does not allow");
	if (query(d, c->insurer, "pacific-insurance",
	        "SELECT member_id, COUNT(*) FROM claims GROUP BY member_id") == 1)
		expect(d, strstr(d->err, "refused") != NULL,
		    "the privacy unit is never grouped or shown");
	else
		expect(d, 0, "grouping by the privacy unit was not refused");
	if (query(d, c->insurer, "pacific-insurance",
	        "SELECT plan, COUNT(*) FROM claims GROUP BY plan") == 1)
		expect(d, strstr(d->err, "refused") != NULL,
		    "a column outside the contract is refused");
	else
		expect(d, 0, "a column outside the contract was not refused");
	if (query(d, c->insurer, "pacific-insurance",
	        "SELECT COUNT(*) FROM claims WHERE claim_fen > 1000000") == 1)
		expect(d, strstr(d->err, "refused") != NULL,
		    "a measure in WHERE is refused: it would single out the claims above it");
	else
		expect(d, 0, "a measure in WHERE was not refused");
	say("Refusals are checked on the worker's plan before any row is read, are not charged,");
	say("and are audited with their reason.");
}

/* The pair's two answers under contract c: a and b, 0 if both were released. */
static int
pair(struct demo *d, const char *c, const char *buyer, double *a, double *b, json_t **rel)
{
	if (query(d, c, buyer, DEMO_PAIR_A) != 0)
		return -1;
	*a = value(d);
	if (rel != NULL)
		*rel = json_incref(json_object_get(d->doc, "release"));
	if (query(d, c, buyer, DEMO_PAIR_B) != 0)
		return -1;
	*b = value(d);
	return 0;
}

/* The 95 % half-width of a released SUM: its sum's noise plus mid times the count's. */
static double
sum_halfwidth(const json_t *rel)
{
	const json_t *n;
	double rows = 0, sum = 0;
	size_t i;

	json_array_foreach(json_object_get(rel, "noise"), i, n) {
		const char *q = json_string_value(json_object_get(n, "quantity"));
		double hw = (double)json_integer_value(json_object_get(n, "ci95"));

		if (q != NULL && strcmp(q, "rows") == 0)
			rows = hw;
		else if (q != NULL && strcmp(q, "sum") == 0)
			sum = hw;
	}
	return sum + 5000000.0 * rows; /* claim_fen's midpoint: bounds [0, 10^7] */
}

static void
step_pairs(struct demo *d, const struct contracts *c)
{
	double a, b, hw;
	json_t *rel = NULL;

	heading(d, "Two queries, one member: threshold mode gives them away");
	say("One member is the only one aged 95 with a chapter XV diagnosis in Cixi in 2019.");
	if (pair(d, c->insurer, "pacific-insurance", &a, &b, NULL) == 0)
		expect(d, llround(a - b) == DEMO_MEMBER_FEN,
		    "A - B = %.0f fen: exactly that member's claim, though both answers passed",
		    a - b);
	else
		expect(d, 0, "the pair was not released in threshold mode");
	say("Both groups have thousands of members, so min_group cannot stop this: it is");
	say("arithmetic on two legitimate answers. That is what dp mode is for.");

	heading(d, "The same two queries in dp mode");
	if (pair(d, c->welfare, "deepsight-ai", &a, &b, &rel) == 0) {
		hw = sum_halfwidth(rel);
		expect(d,
		    llround(a - b) != DEMO_MEMBER_FEN && fabs(a - b - DEMO_MEMBER_FEN) <= 4 * hw,
		    "A - B = %.0f fen: noise of +-%.0f an answer, which hides a claim of %d", a - b,
		    hw, DEMO_MEMBER_FEN);
	} else {
		expect(d, 0, "the pair was not released in dp mode");
	}
	json_decref(rel);
	say("Each answer carries noise of a stated scale, so whether the member is in the data");
	say("changes the odds of any answer by at most e^epsilon (docs/privacy.md). The sums");
	say("are of one claim a member: the contract bounds each member's rows (max_rows_per_unit "
	    "1).");
}

static void
step_budget(struct demo *d, const struct contracts *c)
{
	static const char *const texts[] = {
	    "SELECT modality, COUNT(*) FROM imaging GROUP BY modality",
	    "SELECT ai_finding, COUNT(*) FROM imaging GROUP BY ai_finding",
	    "SELECT sex, COUNT(*) FROM imaging WHERE ai_finding = 'nodule' GROUP BY sex",
	};
	size_t i;

	heading(d, "A privacy budget runs out");
	for (i = 0; i < 3; i++)
		if (query(d, c->imaging, "deepsight-ai", texts[i]) != 0)
			expect(d, 0, "dp query %zu was not released", i + 1);
	if (query(d, c->imaging, "deepsight-ai",
	        "SELECT body_part, COUNT(*) FROM imaging GROUP BY body_part") == 1)
		expect(d, strstr(d->err, "privacy budget is spent") != NULL,
		    "the fourth query is refused: epsilon 3 of 3 is spent");
	else
		expect(d, 0, "the fourth dp query was not refused");
	RUN(d, "budget", "--contract", c->imaging);
	show(d->out);
	say("The budget lives in the catalog and is charged in the release's transaction, so");
	say("no restart, retry or second process can spend it twice.");
}

static void
step_ledger(struct demo *d)
{
	heading(d, "Who was paid");
	RUN(d, "ledger", "--party", "city-health-bureau");
	show(d->out);
	RUN(d, "ledger", "--party", "platform");
	show(d->out);
	RUN(d, "ledger", "verify", "--json");
	if (ok_step(d, "ledger verify"))
		expect(d,
		    json_is_true(json_object_get(d->doc, "ok")) &&
		        json_integer_value(json_object_get(d->doc, "transactions")) > 0,
		    "the ledger balances: every charge is split to the fen, debits equal credits");
	say("Each released query was charged once and split by the contract's shares;");
	say("refused and free (public welfare) queries cost nothing.");
}

/* A copy of the export with one event's text changed: which line it edited, 0 if none. */
static int
tamper(struct demo *d, const char *from, const char *to)
{
	uint8_t *b = NULL;
	size_t n = 0;
	char *p, *q;
	int line = 1, r;

	if (sl_file_read(from, DEMO_OUTPUT_MAX, &b, &n) != 0)
		return 0;
	/* the first released query's charge: 5000 fen becomes 500 */
	if ((p = strstr((char *)b, "\"charged_fen\":5000")) == NULL) {
		free(b);
		return 0;
	}
	for (q = (char *)b; q < p; q++)
		line += *q == '\n';
	memmove(p + 17, p + 18, n - (size_t)(p + 18 - (char *)b));
	r = sl_file_write_replace(to, 0600, b, n - 1);
	free(b);
	return r == 0 ? line : 0;
}

static void
step_audit(struct demo *d)
{
	char platform_pub[PATH_MAX], seq[32];
	int line;

	heading(d, "The audit log, verified offline");
	snprintf(platform_pub, sizeof platform_pub, "%s/platform.pub", d->ex);
	RUN(d, "audit", "export", "--out", path(d, "audit.jsonl"));
	if (!ok_step(d, "audit export"))
		return;
	show(d->out);
	RUN_NODIR(d, "audit", "verify", path(d, "audit.jsonl"), "--key", platform_pub);
	show(d->out);
	expect(d, d->status == 0, "every event is in the signed Merkle tree (RFC 6962)");
	if ((line = tamper(d, path(d, "audit.jsonl"), path(d, "tampered.jsonl"))) == 0) {
		expect(d, 0, "no charge of 5000 fen to tamper with in the export");
		return;
	}
	say("Now a copy with one charge edited (line %d: 5000 fen made 500):", line);
	RUN_NODIR(d, "audit", "verify", path(d, "tampered.jsonl"), "--key", platform_pub);
	show(d->out);
	show(d->err);
	/* the header is line 1, so the event on line k has seq k - 1 */
	snprintf(seq, sizeof seq, "event seq %d:", line - 1);
	expect(d, d->status == 1 && (strstr(d->out, seq) != NULL || strstr(d->err, seq) != NULL),
	    "the verifier refuses the copy and names the edited event, seq %d", line - 1);
}

/* ---- set-up and the command ---------------------------------------------- */

/* Our environment without what would send a step to another exchange. */
static char **
child_env(void)
{
	size_t n = 0, i, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 1, sizeof *env)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "SLUICE_DIR=", 11) != 0 &&
		    strncmp(environ[i], "SLUICE_PASSPHRASE_FILE=", 23) != 0)
			env[k++] = environ[i];
	return env;
}

/* The work directory: DIR (created, and empty), or a new temporary one. */
static char *
work_dir(const char *dir)
{
	const char *tmp = getenv("TMPDIR");
	char *p;

	if (dir != NULL) {
		if (mkdir(dir, 0700) != 0) {
			sl_errf(SL_ERR_IO, "--dir %s: %s%s", dir, strerror(errno),
			    errno == EEXIST ? " (the demo makes a new directory)" : "");
			return NULL;
		}
		return realpath(dir, NULL);
	}
	if (asprintf(&p, "%s/sluice-demo.XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp") < 0)
		return NULL;
	if (mkdtemp(p) == NULL) {
		sl_errf(SL_ERR_IO, "%s: %s", p, strerror(errno));
		free(p);
		return NULL;
	}
	return p;
}

static int
demo_run(const struct cli *cli, const struct cli_args *a)
{
	struct demo d;
	struct contracts c = {0};
	long long rows = cli_count(a, "rows", 200000);
	const char *dir = cli_opt(a, "dir");
	double t0 = sl_monotonic();
	ssize_t n;
	size_t i;
	int keep = cli_flag(a, "keep") || dir != NULL;

	(void)cli;
	memset(&d, 0, sizeof d);
	d.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	sl_err_clear();
	if ((n = readlink("/proc/self/exe", d.exe, sizeof d.exe - 1)) <= 0)
		return cli_fail(sl_errf(SL_ERR_IO, "/proc/self/exe: %s", strerror(errno)));
	d.exe[n] = '\0';
	if ((d.work = work_dir(dir)) == NULL)
		return cli_fail(SL_ERR_IO);
	if ((d.ex = sl_path_join(d.work, "exchange")) == NULL || (d.env = child_env()) == NULL) {
		free(d.work);
		free(d.ex);
		return cli_fail(SL_ERR_NOMEM);
	}
	printf("Sluice demo: a throwaway exchange in D=%s\n", d.work);
	printf("Each step shows the commands that do it%s.\n",
	    keep ? "; repeat them with D set as above" : " (--keep keeps D to repeat them)");
	step_exchange(&d);
	if (d.failed == 0)
		step_products(&d, rows);
	if (d.failed == 0)
		step_contracts(&d, &c);
	if (d.failed == 0) {
		step_threshold(&d, &c);
		step_pairs(&d, &c);
		step_budget(&d, &c);
		step_ledger(&d);
		step_audit(&d);
	}
	printf("\n%s%s%s in %.1f s: %d step%s, %s.\n", sgr(&d, "\033[1m"),
	    d.failed == 0 ? "Done" : "FAILED", sgr(&d, "\033[0m"), sl_monotonic() - t0, d.step,
	    d.step == 1 ? "" : "s",
	    d.failed == 0 ? "all behaved as shown" : "some did not behave as shown");
	if (keep)
		printf("The exchange is kept: sluice -d %s party list\n", d.ex);
	else if (sl_rmtree(d.work) != 0)
		sl_warnx("could not remove %s", d.work);
	last_clear(&d);
	for (i = 0; i < npaths; i++)
		free(paths[i]);
	npaths = 0;
	free(c.insurer);
	free(c.imaging);
	free(c.welfare);
	free(d.env);
	free(d.ex);
	free(d.work);
	return d.failed == 0 ? CLI_OK : CLI_FAILED;
}

const struct cli_spec cmd_demo[] = {
    {
        .path = "demo",
        .summary = "the whole exchange at work, on throwaway data",
        .help = "Build a throwaway exchange (a temporary directory, removed at the end unless\n"
                "--keep or --dir) with a health bureau, an operator, a merchant, two buyers and\n"
                "an auditor; list generated claims and imaging products; sign three contracts;\n"
                "then release, suppress and refuse queries, run the differencing pair in\n"
                "threshold and dp mode, spend a privacy budget, show the ledgers, and verify\n"
                "the audit log and a tampered copy.  Each step prints its command.  Exits 1 if\n"
                "any step did not behave as shown.",
        .opts =
            {
                {"dir", 0, CLI_STRING, "DIR", "build it in DIR (a new directory), and keep it"},
                {"keep", 0, CLI_FLAG, NULL, "keep the temporary directory"},
                {"rows", 0, CLI_COUNT, "N", "rows of each product (default 200000)", 0, 20000,
                    10000000, "20000 to 10000000"},
            },
        .run = demo_run,
    },
    {.path = NULL},
};
