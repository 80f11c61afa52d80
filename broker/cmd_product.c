/*
 * broker/cmd_product.c -- `sluice product add | list | show`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "broker/load.h"
#include "broker/product.h"
#include "common/err.h"
#include "common/file.h"
#include "common/schema.h"

#define SCHEMA_FILE_MAX (4u << 20)

/*
 * The actor of `product load` NAME: with --identity, the product's merchant,
 * proven by its key; without, the platform (cli_actor()).  *p holds the
 * product that *actor may point into; the caller clears it with
 * product_clear().
 */
static int
product_actor(
    struct exchange *ex, const char *name, const char *ident, struct product *p, const char **actor)
{
	char what[160];
	int r;

	memset(p, 0, sizeof *p);
	if (ident == NULL)
		return cli_actor(ex, NULL, NULL, NULL, actor);
	if ((r = product_find(ex, name, p)) != 0)
		return r;
	snprintf(what, sizeof what, "the merchant of product %s", p->name);
	return cli_actor(ex, ident, p->merchant, what, actor);
}

static int
product_add_cmd(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"schema", required_argument, NULL, 's'},
	    {"merchant", required_argument, NULL, 'm'},
	    {"holder", required_argument, NULL, 'H'},
	    {"operator", required_argument, NULL, 'o'},
	    {"identity", required_argument, NULL, 'i'},
	    {"max-bytes", required_argument, NULL, 'M'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *schema = NULL, *merchant = NULL, *holder = NULL, *op = NULL, *ident = NULL;
	const char *actor;
	int64_t max_bytes = 0;
	struct exchange *ex = NULL;
	struct product p;
	uint8_t *text = NULL;
	size_t len = 0;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			schema = optarg;
			break;
		case 'm':
			merchant = optarg;
			break;
		case 'H':
			holder = optarg;
			break;
		case 'o':
			op = optarg;
			break;
		case 'i':
			ident = optarg;
			break;
		case 'M':
			if (cli_parse_count(optarg, INT64_MAX, &max_bytes) != 0 || max_bytes < 1)
				return cli_usage_error(
				    "product add", "--max-bytes takes a number of bytes >= 1");
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			printf(
			    "Usage: sluice product add NAME --schema SCHEMA.json --merchant NAME\n"
			    "                          [--holder NAME] [--operator NAME]\n"
			    "                          [--identity MERCHANT.key] [--max-bytes N] "
			    "[--json]\n"
			    "\n"
			    "List a data product: validate its schema (DESIGN.md appendix), give "
			    "it\n"
			    "its own data key and encrypted store.  The parties must exist with "
			    "the\n"
			    "roles merchant, holder and operator.  The audit log names the "
			    "merchant\n"
			    "as the actor when --identity is its key, else the platform.  "
			    "--max-bytes\n"
			    "limits the sealed bytes its published versions may hold.\n");
			return CLI_OK;
		default:
			return cli_bad_option("product add", argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(
		    "product add", optind >= argc ? "missing NAME" : "too many arguments");
	if (schema == NULL)
		return cli_usage_error("product add", "missing --schema SCHEMA.json");
	if (merchant == NULL)
		return cli_usage_error("product add", "missing --merchant NAME");
	if ((r = cli_read_file(schema, SCHEMA_FILE_MAX, &text, &len)) != 0)
		return cli_fail(r);
	if ((r = cli_open(cli, "product add", &ex)) != CLI_OK) {
		free(text);
		return r;
	}
	sl_err_clear();
	if ((r = cli_actor(ex, ident, merchant, "the product's --merchant", &actor)) != 0) {
		free(text);
		exchange_close(ex);
		return cli_fail(r);
	}
	r = product_add(
	    ex, argv[optind], (const char *)text, len, merchant, holder, op, actor, max_bytes);
	free(text);
	if (r != 0) {
		/* Schema errors name a field path; say which file it is in. */
		if (r == SL_ERR_INVAL || r == SL_ERR_PARSE)
			r = sl_errf(r, "%s: %s", schema, sl_err_msg(r));
		exchange_close(ex);
		return cli_fail(r);
	}
	if ((r = product_find(ex, argv[optind], &p)) != 0) {
		exchange_close(ex);
		return cli_fail(r);
	}
	exchange_close(ex);
	if (json)
		r = cli_print_json(product_json(&p, 0));
	else
		printf("Added product %s (merchant %s%s%s%s%s)\n", p.name, p.merchant,
		    p.holder ? ", holder " : "", p.holder ? p.holder : "",
		    p.operator_ ? ", operator " : "", p.operator_ ? p.operator_ : "");
	product_clear(&p);
	return r;
}

static int
product_list_cmd(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct exchange *ex = NULL;
	struct product *list = NULL;
	json_t *arr;
	size_t n = 0, i;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("Usage: sluice product list [--json]\n");
			return CLI_OK;
		default:
			return cli_bad_option("product list", argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("product list", "too many arguments");
	if ((r = cli_open(cli, "product list", &ex)) != CLI_OK)
		return r;
	r = product_list(ex, &list, &n);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (json) {
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++)
			json_array_append_new(arr, product_json(&list[i], 0));
		product_list_free(list, n);
		return cli_print_json(json_pack("{s:o}", "products", arr));
	}
	printf("%-20s %-20s %-9s %s\n", "NAME", "MERCHANT", "VERSIONS", "CREATED");
	for (i = 0; i < n; i++)
		printf("%-20s %-20s %-9zu %s\n", list[i].name, list[i].merchant, list[i].nversions,
		    list[i].created);
	product_list_free(list, n);
	return CLI_OK;
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
		printf("\n%-20s %-15s %-10s %s\n", "COLUMN", "TYPE", "CLASS", "CONSTRAINTS");
		for (i = 0; i < s->ncols; i++) {
			const struct schema_column *c = &s->cols[i];

			schema_type_name(c, type, sizeof(type));
			printf("%-20s %-15s %-10s", c->name, type, schema_class_name(c->cls));
			if (c->has_bounds && c->type == SCHEMA_REAL)
				printf(" bounds [%g, %g]", c->rlo, c->rhi);
			else if (c->has_bounds)
				printf(" bounds [%lld, %lld]%s", (long long)c->lo, (long long)c->hi,
				    c->type == SCHEMA_DECIMAL ? " (scaled)" : "");
			if (c->ndomain > 0)
				printf(" domain of %zu", c->ndomain);
			if (c->nullable)
				printf(" nullable");
			printf("\n");
		}
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
product_show_cmd(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct exchange *ex = NULL;
	struct product p;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("Usage: sluice product show NAME [--json]\n\n"
			       "The product's schema, parties, data key version and versions with\n"
			       "their row counts, chunk counts and sizes.\n");
			return CLI_OK;
		default:
			return cli_bad_option("product show", argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(
		    "product show", optind >= argc ? "missing NAME" : "too many arguments");
	if ((r = cli_open(cli, "product show", &ex)) != CLI_OK)
		return r;
	r = product_find(ex, argv[optind], &p);
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	if (json)
		r = cli_print_json(product_json(&p, 1));
	else
		show_human(&p);
	product_clear(&p);
	return r;
}

static int
product_drop_cmd(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct exchange *ex = NULL;
	struct product p;
	long long v;
	char *end;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			printf("Usage: sluice product drop-version NAME VERSION\n\n"
			       "Retire a version: queries no longer read it.  Audited.\n");
			return CLI_OK;
		default:
			return cli_bad_option("product drop-version", argv);
		}
	}
	if (optind + 2 != argc)
		return cli_usage_error("product drop-version", "need NAME and VERSION");
	errno = 0;
	v = strtoll(argv[optind + 1], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[optind + 1] || v < 1)
		return cli_usage_error("product drop-version",
		    "VERSION '%s': must be a number >= 1", argv[optind + 1]);
	if ((r = cli_open(cli, "product drop-version", &ex)) != CLI_OK)
		return r;
	if ((r = product_find(ex, argv[optind], &p)) == 0) {
		r = product_version_drop(ex, &p, v, p.merchant);
		product_clear(&p);
	}
	exchange_close(ex);
	if (r != 0)
		return cli_fail(r);
	printf("Dropped version %lld of %s\n", v, argv[optind]);
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

static int
product_load_cmd(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"identity", required_argument, NULL, 'i'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct exchange *ex = NULL;
	struct load_result res;
	struct product p;
	const char *format = NULL, *file, *ident = NULL, *actor;
	json_t *errs;
	size_t i;
	int ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "csv") != 0 && strcmp(optarg, "jsonl") != 0)
				return cli_usage_error(
				    "product load", "--format '%s': must be csv or jsonl", optarg);
			format = optarg;
			break;
		case 'i':
			ident = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			printf(
			    "Usage: sluice product load NAME FILE [--format csv|jsonl]\n"
			    "                           [--identity MERCHANT.key] [--json]\n"
			    "\n"
			    "Load FILE as a new version of the product.  A confined worker "
			    "validates\n"
			    "every value against the schema, encrypts and writes the version; it\n"
			    "becomes visible only if every row is valid.  Otherwise the first 20\n"
			    "errors are listed by line and column and nothing changes.  The "
			    "format\n"
			    "comes from the file name (.csv, .jsonl) unless given.  The audit log\n"
			    "names the merchant as the actor when --identity is its key, else the\n"
			    "platform.\n");
			return CLI_OK;
		default:
			return cli_bad_option("product load", argv);
		}
	}
	if (optind + 2 != argc)
		return cli_usage_error("product load", "need NAME and FILE");
	file = argv[optind + 1];
	if (format == NULL && (format = format_of(file)) == NULL)
		return cli_usage_error("product load",
		    "%s: cannot tell the format from the name; give --format csv|jsonl", file);
	if ((r = cli_open(cli, "product load", &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	memset(&res, 0, sizeof res);
	if ((r = product_actor(ex, argv[optind], ident, &p, &actor)) == 0)
		r = load_product(
		    ex, argv[optind], file, format, !json && isatty(STDERR_FILENO), &res, actor);
	product_clear(&p);
	exchange_close(ex);
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
		if (json)
			(void)cli_print_json(json_incref(res.errors));
		load_result_clear(&res);
		return cli_fail(r);
	}
	if (r != 0) {
		load_result_clear(&res);
		return cli_fail(r);
	}
	if (json)
		r = cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:I}", "product", argv[optind],
		    "version", (json_int_t)res.version, "rows", (json_int_t)res.rows, "chunks",
		    (json_int_t)res.chunks, "bytes", (json_int_t)res.bytes));
	else
		printf(
		    "Loaded %lld rows into %s version %lld (%lld chunks, %lld bytes encrypted)\n",
		    (long long)res.rows, argv[optind], (long long)res.version,
		    (long long)res.chunks, (long long)res.bytes);
	load_result_clear(&res);
	return r;
}

static const struct cli_command product_commands[] = {
    {"add", product_add_cmd,
        "NAME --schema SCHEMA.json --merchant NAME [--holder NAME] [--operator NAME]",
        "list a data product"},
    {"list", product_list_cmd, "[--json]", "list the products"},
    {"show", product_show_cmd, "NAME [--json]", "a product's schema, parties and versions"},
    {"load", product_load_cmd, "NAME FILE [--format csv|jsonl]", "load a new version"},
    {"drop-version", product_drop_cmd, "NAME VERSION", "retire a version"},
    {NULL, NULL, NULL, NULL},
};

int
cmd_product(const struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "product", product_commands, argc, argv);
}
