/*
 * broker/cmd_product.c -- `sluice product add | list | show | load | drop-version`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/actor.h"
#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "broker/load.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/file.h"
#include "common/schema.h"
#include "keys/sign.h"
#include "sandbox/job.h"

#define SCHEMA_FILE_MAX (4u << 20)

static int
product_add_run(const struct cli *cli, const struct cli_args *a)
{
	const char *schema = cli_opt(a, "schema"), *ident = cli_opt(a, "identity"), *field = NULL;
	struct product_add_request req = {
	    .name = cli_arg(a, 0),
	    .merchant = cli_opt(a, "merchant"),
	    .holder = cli_opt(a, "holder"),
	    .operator_ = cli_opt(a, "operator"),
	    .max_bytes = cli_count(a, "max-bytes", 0),
	};
	struct keys_pubkey *caller = NULL;
	struct exchange *ex = NULL;
	uint8_t *text = NULL;
	struct product p;
	int r;

	if ((r = cli_read_file(schema, SCHEMA_FILE_MAX, &text, &req.schema_len)) != 0)
		return cli_fail(r);
	req.schema = (const char *)text;
	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK) {
		free(text);
		return r;
	}
	sl_err_clear();
	if ((r = cli_caller(ident, &caller)) == 0 &&
	    (r = product_act_add(ex, caller, &req, &p, &field)) != 0)
		r = cli_name_file(
		    cli_name_file(r, field, ACTOR_FIELD, ident), field, "schema", schema);
	free(text);
	keys_pubkey_free(caller);
	exchange_close(ex);
	if (r != 0)
		return cli_fail_detail(r, field, NULL);
	if (cli_flag(a, "json"))
		r = cli_print_json(product_json(&p, 0));
	else
		printf("Added product %s (merchant %s%s%s%s%s)\n", p.name, p.merchant,
		    p.holder ? ", holder " : "", p.holder ? p.holder : "",
		    p.operator_ ? ", operator " : "", p.operator_ ? p.operator_ : "");
	product_clear(&p);
	return r;
}

static int
product_list_run(const struct cli *cli, const struct cli_args *a)
{
	struct exchange *ex = NULL;
	struct product *list = NULL;
	size_t n = 0, i;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	if (cli_flag(a, "json")) {
		json_t *doc = NULL;

		r = product_catalog_json(ex, &doc);
		exchange_close(ex);
		return r != 0 ? cli_fail(r) : cli_print_json(doc);
	}
	r = product_list(ex, &list, &n);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	static const char *const head[] = {"NAME", "MERCHANT", "VERSIONS", "CREATED"};
	struct cli_table *t = cli_table_new(4, "llrl", head);
	char nv[24];

	for (i = 0; t != NULL && r == 0 && i < n; i++) {
		snprintf(nv, sizeof nv, "%zu", list[i].nversions);
		r = cli_table_add(
		    t, (const char *const[]){list[i].name, list[i].merchant, nv, list[i].created});
	}
	product_list_free(list, n);
	return cli_table_done(t, r);
}

static void
show_human(const struct product *p)
{
	struct schema *s = NULL;
	char type[32];
	size_t i;

	printf("product:  %s\nmerchant: %s\nholder:   %s\noperator: %s\ncreated:  %s\n", p->name,
	    p->merchant, p->holder ? p->holder : "-", p->operator_ ? p->operator_ : "-",
	    p->created);
	if (p->max_bytes > 0)
		printf("limit:    %lld bytes\n", (long long)p->max_bytes);
	if (schema_parse(p->schema, strlen(p->schema), &s) == 0) {
		if (s->title != NULL)
			printf("title:    %s\n", s->title);
		static const char *const head[] = {"COLUMN", "TYPE", "CLASS", "CONSTRAINTS"};
		struct cli_table *t = cli_table_new(4, "llll", head);

		for (i = 0; t != NULL && i < s->ncols; i++) {
			const struct schema_column *c = &s->cols[i];
			char lo[CLI_REAL_TEXT_BYTES], hi[CLI_REAL_TEXT_BYTES], cons[160];
			int n = 0;

			schema_type_name(c, type, sizeof(type));
			cons[0] = '\0';
			if (c->has_bounds && c->type == SCHEMA_REAL) {
				cli_real_text(c->rlo, lo);
				cli_real_text(c->rhi, hi);
				n = snprintf(cons, sizeof cons, " bounds [%s, %s]", lo, hi);
			} else if (c->has_bounds) {
				n = snprintf(cons, sizeof cons, " bounds [%lld, %lld]%s",
				    (long long)c->lo, (long long)c->hi,
				    c->type == SCHEMA_DECIMAL ? " (scaled)" : "");
			}
			if (n >= 0 && (size_t)n < sizeof cons && c->ndomain > 0)
				n += snprintf(cons + n, sizeof cons - (size_t)n, " domain of %zu",
				    c->ndomain);
			if (n >= 0 && (size_t)n < sizeof cons && c->nullable)
				snprintf(cons + n, sizeof cons - (size_t)n, " nullable");
			if (cli_table_add(
			        t, (const char *const[]){c->name, type, schema_class_name(c->cls),
			               cons[0] != '\0' ? cons + 1 : ""}) != 0) {
				cli_table_free(t);
				t = NULL;
			}
		}
		printf("\n");
		cli_table_print(t, stdout, "");
		cli_table_free(t);
		schema_free(s);
	}
	printf("\n%-8s %-8s %12s %8s %14s %-10s %s\n", "VERSION", "KEY", "ROWS", "CHUNKS", "BYTES",
	    "STATE", "CREATED");
	for (i = 0; i < p->nversions; i++) {
		const struct product_version *v = &p->versions[i];

		printf("%-8lld %-8lld %12lld %8lld %14lld %-10s %s\n", (long long)v->version,
		    (long long)v->key_version, (long long)v->rows, (long long)v->chunks,
		    (long long)v->bytes, v->state, v->created);
	}
	if (p->nversions == 0)
		printf("(no versions loaded yet)\n");
}

static int
product_show_run(const struct cli *cli, const struct cli_args *a)
{
	struct exchange *ex = NULL;
	struct product p;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	r = product_find(ex, cli_arg(a, 0), &p);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (cli_flag(a, "json"))
		r = cli_print_json(product_json(&p, 1));
	else
		show_human(&p);
	product_clear(&p);
	return r;
}

static int
product_drop_run(const struct cli *cli, const struct cli_args *a)
{
	struct product_drop_request req = {.name = cli_arg(a, 0)};
	const char *vs = cli_arg(a, 1), *field;
	struct exchange *ex = NULL;
	int r;

	if (cli_parse_count(vs, INT64_MAX, &req.version) != 0 || req.version < 1)
		return cli_usage_error(cli_path(a), "VERSION '%s': must be a number >= 1", vs);
	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	r = product_act_drop(ex, NULL, &req, &field);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (cli_flag(a, "json"))
		return cli_print_json(json_pack("{s:s, s:I, s:s}", "product", req.name, "version",
		    (json_int_t)req.version, "state", "dropped"));
	printf("Dropped version %lld of %s\n", (long long)req.version, req.name);
	return CLI_OK;
}

/* csv or jsonl from the file name; NULL if it does not say. */
static const char *
format_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot == NULL)
		return NULL;
	if (strcmp(dot, ".csv") == 0)
		return "csv";
	if (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0)
		return "jsonl";
	return NULL;
}

void
cmd_progress_display(void *arg, const struct load_progress *p)
{
	struct cmd_progress *d = arg;
	double mb = (double)p->bytes_read / 1e6;

	if (p->done && p->ok) {
		fprintf(stderr, "\r%s: %llu rows, %.1f MB in %.2f s%20s\n", d->what,
		    (unsigned long long)p->rows, (double)p->bytes_sent / 1e6, p->seconds, "");
		d->shown = 0;
		return;
	}
	if (p->done) {
		/* The errors that follow start on their own line. */
		if (d->shown)
			fputc('\n', stderr);
		d->shown = 0;
		return;
	}
	fprintf(stderr, "\r%s: ", d->what);
	if (p->rows > 0)
		fprintf(stderr, "%llu rows  ", (unsigned long long)p->rows);
	fprintf(stderr, "%5.1f%%  %7.1f MB  %6.1f MB/s",
	    p->size > 0 ? 100.0 * (double)p->bytes_read / (double)p->size : 100.0, mb,
	    p->seconds > 0 ? mb / p->seconds : 0.0);
	d->shown = 1;
}

static int
product_load_run(const struct cli *cli, const struct cli_args *a)
{
	const char *name = cli_arg(a, 0), *file = cli_arg(a, 1), *field = NULL;
	const char *format = cli_opt(a, "format"), *ident = cli_opt(a, "identity");
	int json = cli_flag(a, "json"), r;
	struct keys_pubkey *caller = NULL;
	struct product_load_request req;
	struct exchange *ex = NULL;
	struct cmd_progress display = {.what = file};
	struct load_result res;
	json_t *errs;
	size_t i;

	if (format == NULL && (format = format_of(file)) == NULL)
		return cli_usage_error(cli_path(a),
		    "%s: cannot tell the format from the name; give --format csv|jsonl", file);
	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	memset(&res, 0, sizeof res);
	req = (struct product_load_request){.name = name,
	    .path = file,
	    .format = format,
	    .threads = (unsigned)cli_count(a, "threads", 0)};
	if (!json && isatty(STDERR_FILENO)) {
		req.progress = cmd_progress_display;
		req.progress_arg = &display;
	}
	if ((r = cli_caller(ident, &caller)) == 0 &&
	    (r = product_act_load(ex, caller, &req, &res, &field)) != 0)
		r = cli_name_file(r, field, ACTOR_FIELD, ident);
	keys_pubkey_free(caller);
	exchange_close(ex);
	if (r == SL_ERR_PARSE && res.errors != NULL && json) {
		/* The report carries the errors, as the worker listed them, and their total. */
		r = cli_fail_detail(r, NULL, json_incref(res.errors));
		load_result_clear(&res);
		return r;
	}
	if (r == SL_ERR_PARSE && res.errors != NULL) {
		errs = json_object_get(res.errors, "errors");
		for (i = 0; i < json_array_size(errs); i++) {
			json_t *e = json_array_get(errs, i);
			long long line = json_integer_value(json_object_get(e, "line"));
			long long col = json_integer_value(json_object_get(e, "column"));

			if (line > 0)
				fprintf(stderr, "%s:%lld:%lld: %s\n", file, line, col,
				    json_string_value(json_object_get(e, "message")));
			else
				fprintf(stderr, "%s: %s\n", file,
				    json_string_value(json_object_get(e, "message")));
		}
		if (json_integer_value(json_object_get(res.errors, "total")) > (json_int_t)i)
			fprintf(stderr, "%s: ... and %lld more errors\n", file,
			    (long long)json_integer_value(json_object_get(res.errors, "total")) -
			        (long long)i);
		load_result_clear(&res);
		return cli_fail(r);
	}
	if (r != 0) {
		load_result_clear(&res);
		return cli_fail_detail(r, field, NULL);
	}
	if (json)
		r = cli_print_json(load_result_json(name, &res));
	else
		printf(
		    "Loaded %lld rows into %s version %lld (%lld chunks, %lld bytes encrypted)\n",
		    (long long)res.rows, name, (long long)res.version, (long long)res.chunks,
		    (long long)res.bytes);
	load_result_clear(&res);
	return r;
}

const struct cli_spec cmd_product[] = {
    {
        .path = "product add",
        .summary = "list a data product",
        .help = "List a data product: validate its schema (examples/ has two), give it\n"
                "its own data key and encrypted store.  The parties must exist with the\n"
                "roles merchant, holder and operator.  The audit log names the merchant\n"
                "as the actor when --identity is its key, else the platform.",
        .args = {{"NAME"}},
        .opts =
            {
                {"schema", 0, CLI_STRING, "SCHEMA.json", "the product's schema", CLI_REQUIRED},
                {"merchant", 0, CLI_STRING, "NAME", "the merchant who lists it", CLI_REQUIRED},
                {"holder", 0, CLI_STRING, "NAME", "the public data holder"},
                {"operator", 0, CLI_STRING, "NAME", "the authorized operator"},
                {"identity", 0, CLI_STRING, "MERCHANT.key", "act as the merchant, by its key"},
                {"max-bytes", 0, CLI_COUNT, "N",
                    "limit the sealed bytes its published versions may hold", 0, 1, INT64_MAX,
                    "a number of bytes >= 1"},
                CMD_OPT_JSON,
            },
        .run = product_add_run,
    },
    {
        .path = "product list",
        .summary = "list the products",
        .opts = {CMD_OPT_JSON},
        .run = product_list_run,
    },
    {
        .path = "product show",
        .summary = "a product's schema, parties and versions",
        .help = "The product's schema, parties, data key version and versions with\n"
                "their row counts, chunk counts and sizes.",
        .args = {{"NAME"}},
        .opts = {CMD_OPT_JSON},
        .run = product_show_run,
    },
    {
        .path = "product load",
        .summary = "load a new version",
        .help = "Load FILE as a new version of the product.  A confined worker validates\n"
                "every value against the schema, encrypts and writes the version; it\n"
                "becomes visible only if every row is valid.  Otherwise the first 20\n"
                "errors are listed by line and column and nothing changes.  The format\n"
                "comes from the file name (.csv, .jsonl) unless given.  The audit log\n"
                "names the merchant as the actor when --identity is its key, else the\n"
                "platform.  On a terminal, without --json, a line shows the rows the\n"
                "worker has validated and how much of the file it has read.",
        .args = {{"NAME"}, {"FILE"}},
        .opts =
            {
                {"format", 0, CLI_CHOICE, "csv|jsonl", "the file's format"},
                {"identity", 0, CLI_STRING, "MERCHANT.key", "act as the merchant, by its key"},
                {"threads", 0, CLI_COUNT, "N",
                    "the worker's parser threads (default: $SLUICE_THREADS, else the online "
                    "cores)",
                    0, 1, JOB_THREADS_MAX, "1 to 64"},
                CMD_OPT_JSON,
            },
        .run = product_load_run,
    },
    {
        .path = "product drop-version",
        .summary = "retire a version",
        .help = "Retire a version: queries no longer read it.  Audited.",
        .args = {{"NAME"}, {"VERSION"}},
        .opts = {CMD_OPT_JSON},
        .run = product_drop_run,
    },
    {.path = NULL},
};
