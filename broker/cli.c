/*
 * broker/cli.c -- what every `sluice` subcommand shares: the parser of the
 * command tables (struct cli_spec), their help and synopsis, and the helpers
 * that open the exchange, read small files and report failures.
 *
 * The parser follows getopt_long()'s conventions, which the commands had
 * before: options and arguments in any order, "--" ends the options, a
 * value in the next argument or after "=", a unique prefix of a long name
 * stands for it.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cli.h"
#include "broker/query.h"
#include "broker/exchange.h"
#include "broker/party.h"
#include "common/err.h"
#include "common/file.h"
#include "keys/sign.h"

#include "common/log.h"

/* A PEM private key is a few hundred bytes. */
#define KEY_FILE_MAX 16384

/* Failures are reported as JSON (cli_json_errors()). */
static int json_errors;

void
cli_json_errors(int on)
{
	json_errors = on;
}

/*
 * Write {"error": {"code": code, "message": msg, "field": field, ...extra}}
 * on stderr, field left out when NULL; extra is stolen.  When even that
 * cannot be built, the message as text, so that the failure is not lost.
 */
static void
error_json_write(const char *code, const char *msg, const char *field, json_t *extra)
{
	json_t *e = json_pack("{s:s, s:s, s:s*}", "code", code, "message", msg, "field", field);
	json_t *doc = NULL;
	char *text = NULL;

	if (e != NULL && (extra == NULL || json_object_update(e, extra) == 0))
		doc = json_pack("{s:O}", "error", e);
	if (doc != NULL)
		text = cli_json_text(doc);
	if (text != NULL)
		fprintf(stderr, "%s\n", text);
	else
		sl_errorx("%s", msg);
	free(text);
	json_decref(doc);
	json_decref(e);
	json_decref(extra);
}

/*
 * Report a usage error of cmd (NULL: the program): msg, then hint (may be
 * NULL) on a line of its own, then the pointer to --help.
 */
static int
usage_report(const char *cmd, const char *msg, const char *hint)
{
	const char *sp = cmd != NULL ? " " : "", *name = cmd != NULL ? cmd : "";
	char help[256];

	if (json_errors) {
		snprintf(help, sizeof help, "sluice%s%s --help", sp, name);
		error_json_write(
		    "usage", msg, NULL, json_pack("{s:s*, s:s}", "hint", hint, "help", help));
	} else {
		fprintf(stderr, "sluice%s%s: %s\n%s%sTry 'sluice%s%s --help'.\n", sp, name, msg,
		    hint != NULL ? hint : "", hint != NULL ? "\n" : "", sp, name);
	}
	return CLI_USAGE;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg = NULL;
	usage_report(cmd, msg != NULL ? msg : "out of memory", NULL);
	free(msg);
	return CLI_USAGE;
}

int
cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
	int r;

	if ((r = sl_file_read(path, max, data, len)) == 0)
		return 0;
	if (r == SL_ERR_NOTFOUND)
		return sl_errf(r, "%s: no such file", path);
	if (r == SL_ERR_LIMIT)
		return sl_errf(r, "%s: larger than %zu bytes", path, max);
	return sl_errf(r, "%s: %s", path, strerror(errno));
}

int
cli_load_identity(const char *path, struct keys_identity **id)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	int r;

	/* A private key, like master.key: a file only its owner can read, and no link. */
	if ((r = sl_file_read_private(path, KEY_FILE_MAX, &pem, &len)) != 0) {
		if (r == SL_ERR_POLICY)
			return r;
		if (r == SL_ERR_NOTFOUND)
			return sl_errf(r, "%s: no such file", path);
		if (r == SL_ERR_LIMIT)
			return sl_errf(r, "%s: larger than %d bytes", path, KEY_FILE_MAX);
		return sl_errf(r, "%s: %s", path, strerror(errno));
	}
	r = keys_identity_from_pem(pem, len, id);
	sl_file_free_secret(pem, len);
	if (r != 0)
		return sl_errf(r, "%s: not a private key written by `sluice party add`", path);
	return 0;
}

int
cli_caller(const char *path, struct keys_pubkey **caller)
{
	struct keys_identity *id = NULL;
	int r;

	*caller = NULL;
	if (path == NULL)
		return 0;
	if ((r = cli_load_identity(path, &id)) != 0)
		return r;
	r = keys_identity_pubkey(id, caller);
	keys_identity_free(id);
	return r;
}

int
cli_name_file(int r, const char *field, const char *want, const char *file)
{
	if (r != 0 && field != NULL && file != NULL && strcmp(field, want) == 0)
		return sl_errf(r, "%s: %s", file, sl_err_msg(r));
	return r;
}

int
cli_fail_detail(int r, const char *field, json_t *extra)
{
	if (json_errors) {
		error_json_write(sl_err_name(r), sl_err_msg(r), field, extra);
		return CLI_FAILED;
	}
	sl_errorx("%s", sl_err_msg(r));
	json_decref(extra);
	return CLI_FAILED;
}

int
cli_fail(int r)
{
	return cli_fail_detail(r, NULL, NULL);
}

int
cli_open(const struct cli *cli, const char *cmd, struct exchange **ex)
{
	int r;

	if (cli->dir == NULL)
		return cli_usage_error(cmd, "no data directory: give -d DIR before the command, "
		                            "or set SLUICE_DIR");
	sl_err_clear();
	if ((r = exchange_open(cli->dir, cli->passphrase_file, ex)) != 0)
		return cli_fail(r);
	return CLI_OK;
}

/* ---- JSON output --------------------------------------------------------------- */

void
cli_real_text(double x, char out[CLI_REAL_TEXT_BYTES])
{
	size_t n;
	int p;

	if (!isfinite(x)) {
		snprintf(out, CLI_REAL_TEXT_BYTES, "%s", isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
		return;
	}
	/* 17 significant digits always read back (IEEE 754 binary64). */
	for (p = 1; p <= 17; p++) {
		snprintf(out, CLI_REAL_TEXT_BYTES, "%.*g", p, x);
		if (strtod(out, NULL) == x)
			break;
	}
	/* At most 24 bytes so far ("-1.2345678901234567e-308"): ".0" fits. */
	if (strpbrk(out, ".e") == NULL && (n = strlen(out)) + 3 <= CLI_REAL_TEXT_BYTES)
		memcpy(out + n, ".0", 3);
}

/*
 * A string as json_dumpf(JSON_ENSURE_ASCII) writes it: '"', '\\' and controls escaped,
 * everything past ASCII as \uXXXX (surrogate pairs above the BMP).  jansson holds
 * only valid UTF-8, so the decoding needs no error path.  Our own because asking
 * jansson per string (a new json_t for each key) was a third of a catalog reply.
 */
static int
json_string_write(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len, *run;
	uint32_t cp;
	int n;

	if (fputc('"', f) == EOF)
		return -1;
	while (p < end) {
		for (run = p; p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\'; p++)
			;
		if (p > run && fwrite(run, 1, (size_t)(p - run), f) != (size_t)(p - run))
			return -1;
		if (p == end)
			break;
		switch (*p) {
		case '"': n = fputs("\\\"", f); break;
		case '\\': n = fputs("\\\\", f); break;
		case '\b': n = fputs("\\b", f); break;
		case '\f': n = fputs("\\f", f); break;
		case '\n': n = fputs("\\n", f); break;
		case '\r': n = fputs("\\r", f); break;
		case '\t': n = fputs("\\t", f); break;
		default:
			if (*p < 0x80) {
				n = fprintf(f, "\\u%04X", *p);
			} else {
				int more = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : 1;

				cp = *p & (0x3f >> more);
				while (more-- > 0 && p + 1 < end)
					cp = (cp << 6) | (*++p & 0x3f);
				if (cp >= 0x10000)
					n = fprintf(f, "\\u%04X\\u%04X", 0xd800 | ((cp - 0x10000) >> 10),
					    0xdc00 | ((cp - 0x10000) & 0x3ff));
				else
					n = fprintf(f, "\\u%04X", cp);
			}
		}
		if (n < 0)
			return -1;
		p++;
	}
	return fputc('"', f) == EOF ? -1 : 0;
}

/* Write a leaf (anything but an object or array) as jansson does. */
static int
json_leaf_write(FILE *f, const json_t *v)
{
	char real[CLI_REAL_TEXT_BYTES];

	switch (json_typeof(v)) {
	case JSON_REAL:
		cli_real_text(json_real_value(v), real);
		return fputs(real, f) == EOF ? -1 : 0;
	case JSON_STRING:
		return json_string_write(f, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0 ? -1 : 0;
	case JSON_TRUE:
		return fputs("true", f) == EOF ? -1 : 0;
	case JSON_FALSE:
		return fputs("false", f) == EOF ? -1 : 0;
	case JSON_NULL:
		return fputs("null", f) == EOF ? -1 : 0;
	default:
		return -1;
	}
}

/* A newline and depth levels of two spaces. */
static int
json_indent_write(FILE *f, int depth)
{
	static const char spaces[] = "                                ";
	size_t want = 2 * (size_t)depth, n;

	/* Not fprintf("%*s"): a format per line was a tenth of a catalog reply. */
	if (putc('\n', f) == EOF)
		return -1;
	for (; want > 0; want -= n) {
		n = want < sizeof spaces - 1 ? want : sizeof spaces - 1;
		if (fwrite(spaces, 1, n, f) != n)
			return -1;
	}
	return 0;
}

/* v at nesting depth (0 for the document), in JSON_INDENT(2)'s layout. */
static int
json_value_write(FILE *f, const json_t *v, int depth)
{
	const char *key;
	json_t *item;
	size_t i, n = 0;

	if (depth >= CLI_JSON_DEPTH_MAX)
		return -1;
	if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			return fputs("[]", f) == EOF ? -1 : 0;
		if (fputc('[', f) == EOF)
			return -1;
		json_array_foreach(v, i, item) {
			if ((i > 0 && fputc(',', f) == EOF) ||
			    json_indent_write(f, depth + 1) != 0 ||
			    json_value_write(f, item, depth + 1) != 0)
				return -1;
		}
		return json_indent_write(f, depth) != 0 || fputc(']', f) == EOF ? -1 : 0;
	}
	if (!json_is_object(v))
		return json_leaf_write(f, v);
	if (json_object_size(v) == 0)
		return fputs("{}", f) == EOF ? -1 : 0;
	if (fputc('{', f) == EOF)
		return -1;
	/* json_object_foreach() keeps the order of insertion, as json_dumpf() does. */
	json_object_foreach((json_t *)v, key, item) {
		if ((n++ > 0 && fputc(',', f) == EOF) || json_indent_write(f, depth + 1) != 0 ||
		    json_string_write(f, key, strlen(key)) != 0 || fputs(": ", f) == EOF ||
		    json_value_write(f, item, depth + 1) != 0)
			return -1;
	}
	return json_indent_write(f, depth) != 0 || fputc('}', f) == EOF ? -1 : 0;
}

char *
cli_json_text(const json_t *doc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	r = json_value_write(f, doc, 0);
	if (fclose(f) != 0 || r != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int
cli_print_json(json_t *doc)
{
	char *text;
	int r;

	if (doc == NULL)
		return cli_fail(SL_ERR_NOMEM);
	text = cli_json_text(doc);
	json_decref(doc);
	if (text == NULL)
		return cli_fail(SL_ERR_NOMEM);
	r = fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0;
	free(text);
	if (r)
		return cli_fail(sl_errf(SL_ERR_IO, "cannot write to standard output"));
	return CLI_OK;
}

int
cli_parse_count(const char *s, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ---- the command tables ------------------------------------------------------ */

enum { CLI_HELP = 3 }; /* parse(): --help was given */

struct cli_value {
	size_t opt;
	const char *val;
};

struct cli_args {
	const struct cli_spec *spec;
	int count[CLI_OPTS_MAX];
	int64_t num[CLI_OPTS_MAX];
	struct cli_value *vals; /* at most one per argument */
	size_t nvals;
	const char **pos;
	size_t npos;
};

static size_t
spec_nopts(const struct cli_spec *spec)
{
	size_t n = 0;

	while (n < CLI_OPTS_MAX && (spec->opts[n].name != NULL || spec->opts[n].letter != 0))
		n++;
	return n;
}

static size_t
spec_nargs(const struct cli_spec *spec)
{
	size_t n = 0;

	while (n < CLI_ARGS_MAX && spec->args[n].name != NULL)
		n++;
	return n;
}

void
cli_args_free(struct cli_args *a)
{
	if (a == NULL)
		return;
	free(a->vals);
	free(a->pos);
	free(a);
}

/* The option's name as the user writes it: "--name", or "-d". */
static void
opt_text(const struct cli_option *o, char *buf, size_t len)
{
	if (o->flags & CLI_SHORT_ONLY)
		snprintf(buf, len, "-%c", o->letter);
	else
		snprintf(buf, len, "--%s", o->name);
}

/*
 * The option whose long name is body[0..len): an exact match, else the one
 * it is a unique prefix of.  Returns its index, nopts for the implicit
 * --help (help nonzero), -1 for none and -2 for several.
 */
static int
find_long(const struct cli_spec *spec, int help, const char *body, size_t len)
{
	size_t n = spec_nopts(spec), i;
	int found = -1;

	for (i = 0; i <= n; i++) {
		const char *name = i < n ? spec->opts[i].name : help ? "help" : NULL;

		if (name == NULL || (i < n && (spec->opts[i].flags & CLI_SHORT_ONLY)))
			continue;
		if (strlen(name) == len && strncmp(name, body, len) == 0)
			return (int)i;
		if (strncmp(name, body, len) == 0)
			found = found == -1 ? (int)i : -2;
	}
	return found;
}

static int
find_short(const struct cli_spec *spec, int help, char c)
{
	size_t n = spec_nopts(spec), i;

	for (i = 0; i < n; i++)
		if (spec->opts[i].letter == c)
			return (int)i;
	return help && c == 'h' ? (int)n : -1;
}

/* "must be a or b" / "must be one of a|b|c" for a CLI_CHOICE option; 0 if val is one. */
static int
choice_check(const char *who, const char *opt, const char *choices, const char *val)
{
	const char *p = choices, *bar;
	size_t len = strlen(val), words = 1;

	for (;;) {
		bar = strchr(p, '|');
		if ((bar != NULL ? (size_t)(bar - p) : strlen(p)) == len &&
		    strncmp(p, val, len) == 0)
			return 0;
		if (bar == NULL)
			break;
		p = bar + 1;
		words++;
	}
	if (words == 2) {
		bar = strchr(choices, '|');
		return cli_usage_error(who, "%s '%s': must be %.*s or %s", opt, val,
		    (int)(bar - choices), choices, bar + 1);
	}
	return cli_usage_error(who, "%s '%s': must be one of %s", opt, val, choices);
}

/*
 * Record value val (NULL for a flag) of option i, checking it against its
 * type.  An option that is not CLI_REPEAT may still be given again: the last
 * value counts, as it did with getopt_long() (scripts rely on it).
 */
static int
take(struct cli_args *a, const char *who, size_t i, const char *val)
{
	const struct cli_option *o = &a->spec->opts[i];
	char name[64];

	opt_text(o, name, sizeof name);
	if (o->type == CLI_CHOICE && choice_check(who, name, o->arg, val) != 0)
		return CLI_USAGE;
	if (o->type == CLI_COUNT &&
	    (cli_parse_count(val, o->max, &a->num[i]) != 0 || a->num[i] < o->min))
		return cli_usage_error(who, "%s '%s': must be %s", name, val, o->what);
	a->count[i]++;
	if (val != NULL)
		a->vals[a->nvals++] = (struct cli_value){i, val};
	return CLI_OK;
}

/*
 * The global options, which only come before the command: "sluice party
 * list -d ex" is a common slip, worth a hint with the right order.
 */
static const char *const global_opts[] = {"-d", "--passphrase-file"};

/*
 * Report the unknown option opt[0..len) ("-x", "--name") of command who;
 * val is what would be its value (the rest of its word or the next
 * argument), or NULL.  When opt is a global option given after a command,
 * the report shows where it goes.  Returns CLI_USAGE.
 */
static int
unknown_option(const char *who, int global, const char *opt, size_t len, const char *val)
{
	char *msg = NULL, *hint = NULL;
	size_t i;
	int r;

	if (asprintf(&msg, "unknown option '%.*s'", (int)len, opt) < 0)
		msg = NULL;
	for (i = 0; !global && who != NULL && i < sizeof global_opts / sizeof global_opts[0]; i++)
		if (strlen(global_opts[i]) == len && strncmp(global_opts[i], opt, len) == 0 &&
		    asprintf(&hint,
		        "global options (-d, --passphrase-file) go before the command: "
		        "sluice %s %s %s",
		        global_opts[i],
		        val != NULL ? val
		        : i == 0    ? "DIR"
		                    : "F",
		        who) < 0)
			hint = NULL;
	r = usage_report(who, msg != NULL ? msg : "out of memory", hint);
	free(msg);
	free(hint);
	return r;
}

/*
 * Parse argv[1..argc) against spec; messages are "sluice WHO: ...".  In
 * global mode parsing stops at the first argument that is not an option
 * (*next is its index) and --help is not implicit.  Returns CLI_OK with *out
 * set, CLI_HELP, or CLI_USAGE (reported).
 */
static int
parse(const struct cli_spec *spec, const char *who, int global, int argc, char **argv,
    struct cli_args **out, int *next)
{
	struct cli_args *a = NULL;
	size_t nopts = spec_nopts(spec), nargs = spec_nargs(spec), i;
	char name[64];
	int k, r = CLI_USAGE, opts_done = 0;

	*out = NULL;
	if ((a = calloc(1, sizeof *a)) == NULL ||
	    (a->vals = calloc((size_t)argc + 1, sizeof *a->vals)) == NULL ||
	    (a->pos = calloc((size_t)argc + 1, sizeof *a->pos)) == NULL) {
		cli_args_free(a);
		return cli_fail(SL_ERR_NOMEM);
	}
	a->spec = spec;
	for (k = 1; k < argc; k++) {
		const char *s = argv[k];

		if (opts_done || s[0] != '-' || s[1] == '\0') {
			if (global)
				break;
			a->pos[a->npos++] = s;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			opts_done = 1;
			if (global) {
				k++;
				break;
			}
			continue;
		}
		if (s[1] == '-') {
			const char *body = s + 2, *eq = strchr(body, '=');
			size_t len = eq != NULL ? (size_t)(eq - body) : strlen(body);
			int o = find_long(spec, !global, body, len);

			if (o == -2) {
				r = cli_usage_error(
				    who, "option '--%.*s' is ambiguous", (int)len, body);
				goto out;
			}
			if (o == -1) {
				r = unknown_option(who, global, s, len + 2,
				    eq != NULL     ? eq + 1
				    : k + 1 < argc ? argv[k + 1]
				                   : NULL);
				goto out;
			}
			if ((size_t)o == nopts) {
				r = CLI_HELP;
				goto out;
			}
			opt_text(&spec->opts[o], name, sizeof name);
			if (spec->opts[o].type == CLI_FLAG && eq != NULL) {
				r = cli_usage_error(who, "option '%s' takes no value", name);
				goto out;
			}
			if (spec->opts[o].type != CLI_FLAG && eq == NULL && k + 1 >= argc) {
				r = cli_usage_error(who, "option '%s' needs a value", name);
				goto out;
			}
			if (take(a, who, (size_t)o,
			        spec->opts[o].type == CLI_FLAG ? NULL
			        : eq != NULL                   ? eq + 1
			                                       : argv[++k]) != CLI_OK)
				goto out;
			continue;
		}
		/* A cluster of short options: -ab, -dDIR, -d DIR. */
		for (s++; *s != '\0'; s++) {
			int o = find_short(spec, !global, *s);

			if (o < 0) {
				char opt[3] = {'-', *s, '\0'};

				r = unknown_option(who, global, opt, 2,
				    s[1] != '\0'   ? s + 1
				    : k + 1 < argc ? argv[k + 1]
				                   : NULL);
				goto out;
			}
			if ((size_t)o == nopts) {
				r = CLI_HELP;
				goto out;
			}
			if (spec->opts[o].type == CLI_FLAG) {
				if (take(a, who, (size_t)o, NULL) != CLI_OK)
					goto out;
				continue;
			}
			if (s[1] == '\0' && k + 1 >= argc) {
				r = cli_usage_error(who, "option '-%c' needs a value", *s);
				goto out;
			}
			if (take(a, who, (size_t)o, s[1] != '\0' ? s + 1 : argv[++k]) != CLI_OK)
				goto out;
			break;
		}
	}
	if (next != NULL)
		*next = k;
	if (!global && a->npos < nargs) {
		const struct cli_positional *p = &spec->args[a->npos];

		r = cli_usage_error(who, "missing %s", p->what != NULL ? p->what : p->name);
		goto out;
	}
	if (!global && a->npos > nargs) {
		r = cli_usage_error(who, "too many arguments (from '%s')", a->pos[nargs]);
		goto out;
	}
	for (i = 0; i < nopts; i++) {
		const struct cli_option *o = &spec->opts[i];

		opt_text(o, name, sizeof name);
		if ((o->flags & CLI_REQUIRED) && a->count[i] == 0) {
			r = cli_usage_error(
			    who, "missing %s%s%s", name, o->arg ? " " : "", o->arg ? o->arg : "");
			goto out;
		}
		if ((o->flags & CLI_EXCL_NEXT) && i + 1 < nopts && a->count[i] > 0 &&
		    a->count[i + 1] > 0) {
			char other[64];

			opt_text(&spec->opts[i + 1], other, sizeof other);
			r = cli_usage_error(who, "%s and %s exclude each other", name, other);
			goto out;
		}
	}
	*out = a;
	a = NULL;
	r = CLI_OK;
out:
	cli_args_free(a);
	return r;
}

int
cli_parse_global(const struct cli_spec *spec, int argc, char **argv, struct cli_args **a, int *next)
{
	return parse(spec, NULL, 1, argc, argv, a, next);
}

/* Whether spec has a --json flag. */
static int
spec_has_json(const struct cli_spec *spec)
{
	size_t n = spec_nopts(spec), i;

	for (i = 0; i < n; i++)
		if (spec->opts[i].name != NULL && strcmp(spec->opts[i].name, "json") == 0 &&
		    spec->opts[i].type == CLI_FLAG)
			return 1;
	return 0;
}

/*
 * Whether an argument before "--" is "--json".  A value that happens to
 * be "--json" (--out --json) counts too: only the form of the errors
 * depends on it.
 */
static int
argv_has_json(int argc, char **argv)
{
	int k;

	for (k = 1; k < argc && strcmp(argv[k], "--") != 0; k++)
		if (strcmp(argv[k], "--json") == 0)
			return 1;
	return 0;
}

int
cli_spec_run(const struct cli *cli, const struct cli_spec *spec, int argc, char **argv)
{
	struct cli_args *a = NULL;
	int r;

	/* Before parsing, so that a usage error of a --json command is JSON too. */
	cli_json_errors(spec_has_json(spec) && argv_has_json(argc, argv));
	if ((r = parse(spec, spec->path, 0, argc, argv, &a, NULL)) == CLI_HELP) {
		cli_spec_usage(stdout, spec);
		return CLI_OK;
	}
	if (r != CLI_OK)
		return r;
	r = spec->run(cli, a);
	cli_args_free(a);
	return r;
}

/* The index of option name in a's spec; a name not in the table is a bug. */
static size_t
opt_index(const struct cli_args *a, const char *name)
{
	size_t n = spec_nopts(a->spec), i;

	for (i = 0; i < n; i++)
		if (a->spec->opts[i].name != NULL && strcmp(a->spec->opts[i].name, name) == 0)
			return i;
	sl_errorx("internal error: `%s` has no option --%s", a->spec->path, name);
	abort();
}

const char *
cli_opt_nth(const struct cli_args *a, const char *name, size_t nth)
{
	size_t o = opt_index(a, name), i;

	for (i = 0; i < a->nvals; i++)
		if (a->vals[i].opt == o && nth-- == 0)
			return a->vals[i].val;
	return NULL;
}

const char *
cli_opt(const struct cli_args *a, const char *name)
{
	size_t o = opt_index(a, name), i;
	const char *v = NULL;

	for (i = 0; i < a->nvals; i++)
		if (a->vals[i].opt == o)
			v = a->vals[i].val;
	return v;
}

int
cli_flag(const struct cli_args *a, const char *name)
{
	return a->count[opt_index(a, name)];
}

int64_t
cli_count(const struct cli_args *a, const char *name, int64_t dflt)
{
	size_t o = opt_index(a, name);

	return a->count[o] > 0 ? a->num[o] : dflt;
}

const char *
cli_arg(const struct cli_args *a, size_t i)
{
	return i < a->npos ? a->pos[i] : NULL;
}

const char *
cli_path(const struct cli_args *a)
{
	return a->spec->path;
}

/* ---- help and synopsis ----------------------------------------------------- */

/* "--name ARG" or "-d DIR", as the synopsis and the option list show it. */
static void
opt_form(const struct cli_option *o, char *buf, size_t len)
{
	char name[64];

	opt_text(o, name, sizeof name);
	snprintf(buf, len, "%s%s%s", name, o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
}

static void
synopsis_opts(FILE *f, const struct cli_spec *spec)
{
	size_t n = spec_nopts(spec), i;
	char form[128];

	for (i = 0; i < n; i++) {
		const struct cli_option *o = &spec->opts[i];

		opt_form(o, form, sizeof form);
		if (o->flags & CLI_REQUIRED) {
			fprintf(f, " %s", form);
			continue;
		}
		fprintf(f, " [%s", form);
		while ((spec->opts[i].flags & CLI_EXCL_NEXT) && i + 1 < n) {
			opt_form(&spec->opts[++i], form, sizeof form);
			fprintf(f, " | %s", form);
		}
		fprintf(f, "]%s", (o->flags & CLI_REPEAT) ? "..." : "");
	}
}

/* The synopsis after "sluice PATH". */
static void
synopsis_tail(FILE *f, const struct cli_spec *spec)
{
	size_t n = spec_nargs(spec), i;

	if (!spec->args_last)
		for (i = 0; i < n; i++)
			fprintf(f, " %s", spec->args[i].name);
	synopsis_opts(f, spec);
	if (spec->args_last)
		for (i = 0; i < n; i++)
			fprintf(f, " %s", spec->args[i].name);
}

void
cli_spec_synopsis(FILE *f, const struct cli_spec *spec)
{
	fprintf(f, "sluice %s", spec->path);
	synopsis_tail(f, spec);
	fputc('\n', f);
}

/* Print text indented by indent columns after each newline. */
static void
print_indented(FILE *f, const char *text, int indent)
{
	const char *nl;

	while ((nl = strchr(text, '\n')) != NULL) {
		fprintf(f, "%.*s\n%*s", (int)(nl - text), text, indent, "");
		text = nl + 1;
	}
	fprintf(f, "%s\n", text);
}

/* The option's column in the option list: "-d DIR", "-x, --name ARG", "--name ARG". */
static void
opt_column(const struct cli_option *o, char *buf, size_t len)
{
	char form[128];

	opt_form(o, form, sizeof form);
	if (o->letter != 0 && !(o->flags & CLI_SHORT_ONLY))
		snprintf(buf, len, "-%c, %s", o->letter, form);
	else
		snprintf(buf, len, "%s", form);
}

/* The option list of a spec, with -h, --help last if help. */
static void
option_list(FILE *f, const struct cli_spec *spec, int help)
{
	size_t n = spec_nopts(spec), i;
	char col[140];
	int w = help ? (int)strlen("-h, --help") : 0;

	for (i = 0; i < n; i++) {
		opt_column(&spec->opts[i], col, sizeof col);
		if ((int)strlen(col) > w)
			w = (int)strlen(col);
	}
	for (i = 0; i < n; i++) {
		opt_column(&spec->opts[i], col, sizeof col);
		fprintf(f, "  %-*s  ", w, col);
		print_indented(f, spec->opts[i].help, w + 4);
	}
	if (help)
		fprintf(f, "  %-*s  this help\n", w, "-h, --help");
}

void
cli_spec_usage(FILE *f, const struct cli_spec *spec)
{
	fprintf(f, "Usage: ");
	cli_spec_synopsis(f, spec);
	if (spec->help != NULL)
		fprintf(f, "\n%s\n", spec->help);
	fprintf(f, "\nOptions:\n");
	option_list(f, spec, 1);
}

/* ---- groups ---------------------------------------------------------------- */

/* The subcommand word of spec in g ("add" of "party add"); "" for g's own spec. */
static const char *
spec_word(const struct cli_group *g, const struct cli_spec *spec)
{
	size_t n = strlen(g->name);

	return spec->path[n] == ' ' ? spec->path + n + 1 : "";
}

void
cli_group_usage(FILE *f, const struct cli_group *g)
{
	const struct cli_spec *s;

	fprintf(f, "Usage:\n");
	for (s = g->specs; s->path != NULL; s++) {
		fprintf(f, "  ");
		cli_spec_synopsis(f, s);
	}
	fprintf(f, "\n");
	for (s = g->specs; s->path != NULL; s++)
		fprintf(
		    f, "  %-16s %s\n", *spec_word(g, s) ? spec_word(g, s) : g->name, s->summary);
}

int
cli_group_run(const struct cli *cli, const struct cli_group *g, int argc, char **argv)
{
	const struct cli_spec *s, *own = NULL;

	for (s = g->specs; s->path != NULL; s++)
		if (*spec_word(g, s) == '\0')
			own = s;
	if (own != NULL && g->specs[1].path == NULL)
		return cli_spec_run(cli, own, argc, argv);
	if (argc < 2 && own == NULL) {
		cli_group_usage(stderr, g);
		return CLI_USAGE;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	                     strcmp(argv[1], "help") == 0)) {
		if (own != NULL) {
			cli_spec_usage(stdout, own);
			fprintf(stdout, "\n");
		}
		cli_group_usage(stdout, g);
		return CLI_OK;
	}
	for (s = g->specs; argc >= 2 && s->path != NULL; s++)
		if (*spec_word(g, s) != '\0' && strcmp(spec_word(g, s), argv[1]) == 0)
			return cli_spec_run(cli, s, argc - 1, argv + 1);
	if (own != NULL)
		return cli_spec_run(cli, own, argc, argv);
	return cli_usage_error(g->name, "unknown subcommand '%s'", argv[1]);
}

void
cli_group_line(FILE *f, const struct cli_group *g)
{
	const struct cli_spec *s;

	fprintf(f, "  %-8s %s", g->name, g->summary);
	if (g->specs[0].path != NULL && g->specs[1].path != NULL) {
		for (s = g->specs; s->path != NULL; s++)
			fprintf(f, "%s%s", s == g->specs ? " (" : " | ",
			    *spec_word(g, s) != '\0' ? spec_word(g, s) : "[OPTIONS]");
		fprintf(f, ")");
	}
	fprintf(f, "\n");
}

void
cli_global_options(FILE *f, const struct cli_spec *spec)
{
	option_list(f, spec, 0);
}

/* ---- manual pages ------------------------------------------------------------ */

/* Text as roff: backslashes and hyphens escaped, a line never starting with . or '. */
static void
man_text(FILE *f, const char *s)
{
	int bol = 1;

	for (; *s != '\0'; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = *s == '\n';
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* A help paragraph: its line breaks joined, so the formatter fills it. */
static void
man_paragraph(FILE *f, const char *s)
{
	const char *nl;

	while ((nl = strchr(s, '\n')) != NULL) {
		char *line = strndup(s, (size_t)(nl - s));

		if (line != NULL) {
			man_text(f, line);
			fputc(nl[1] == ' ' ? '\n' : ' ', f);
			free(line);
		}
		s = nl + 1;
	}
	man_text(f, s);
	fputc('\n', f);
}

static void
man_synopsis(FILE *f, const struct cli_spec *spec, int first)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (m == NULL)
		return;
	cli_spec_synopsis(m, spec);
	fclose(m);
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	if (!first)
		fputs(".PP\n", f);
	man_text(f, buf);
	fputs("\n", f);
	free(buf);
}

/* Each option of spec as a tagged paragraph: "--name ARG" and its help. */
static void
man_options(FILE *f, const struct cli_spec *spec)
{
	size_t n = spec_nopts(spec), i;
	char col[140];

	for (i = 0; i < n; i++) {
		opt_column(&spec->opts[i], col, sizeof col);
		fputs(".TP\n.B ", f);
		man_text(f, col);
		fputc('\n', f);
		man_paragraph(f, spec->opts[i].help);
	}
}

void
cli_man_header(
    FILE *f, const char *page, const char *date, const char *version, const char *summary)
{
	char *up = strdup(page), *p;

	for (p = up; p != NULL && *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	fprintf(f,
	    ".\\\" Made by `sluice help --man`: edit broker/ and run `make man`, not this file.\n");
	fprintf(f, ".TH %s 1 \"%s\" \"sluice %s\" \"Sluice Manual\"\n.SH NAME\n", up ? up : page,
	    date, version);
	man_text(f, page);
	fputs(" \\- ", f);
	man_text(f, summary);
	fputc('\n', f);
	free(up);
}

void
cli_man_group(FILE *f, const struct cli_group *g)
{
	const struct cli_spec *s;

	fputs(".SH SYNOPSIS\n", f);
	for (s = g->specs; s->path != NULL; s++)
		man_synopsis(f, s, s == g->specs);
	fputs(".SH DESCRIPTION\n", f);
	for (s = g->specs; s->path != NULL; s++) {
		fputs(".SS \"", f);
		man_text(f, "sluice ");
		man_text(f, s->path);
		fputs("\"\n", f);
		man_text(f, s->summary);
		fputs(".\n", f);
		if (s->help != NULL) {
			fputs(".PP\n", f);
			man_paragraph(f, s->help);
		}
		if (spec_nopts(s) > 0) {
			fputs(".PP\nOptions:\n", f);
			man_options(f, s);
		}
		fputs(".TP\n.B \\-h, \\-\\-help\nthis help\n", f);
	}
}

void
cli_man_global(FILE *f, const struct cli_spec *global)
{
	man_options(f, global);
}

/* ---- human tables ------------------------------------------------------------ */

struct cli_table {
	size_t ncols, nrows, cap;
	char align[CLI_TABLE_COLS_MAX];
	size_t width[CLI_TABLE_COLS_MAX];
	char **cells;        /* nrows * ncols, each malloc'd */
	unsigned char *lone; /* nrows: the row is a line of its own (cli_table_line()) */
};

void
cli_table_free(struct cli_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->lone);
	free(t);
}

struct cli_table *
cli_table_new(size_t ncols, const char *align, const char *const *headers)
{
	struct cli_table *t;
	size_t j;

	if (ncols == 0 || ncols > CLI_TABLE_COLS_MAX || strlen(align) != ncols ||
	    (t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	t->ncols = ncols;
	memcpy(t->align, align, ncols);
	if (headers != NULL) {
		if (cli_table_add(t, headers) != 0) {
			cli_table_free(t);
			return NULL;
		}
	}
	for (j = 0; j < ncols; j++)
		if (t->align[j] != 'l' && t->align[j] != 'r')
			t->align[j] = 'l';
	return t;
}

/* Add a row; a lone one is cells[0] alone, which no column's width counts. */
static int
table_row_add(struct cli_table *t, const char *const *cells, int lone)
{
	unsigned char *flags;
	size_t j, n;
	char **grown;

	if (t->nrows == t->cap) {
		n = t->cap > 0 ? 2 * t->cap : 16;
		if (n > SIZE_MAX / t->ncols / sizeof *grown ||
		    (grown = realloc(t->cells, n * t->ncols * sizeof *grown)) == NULL)
			return SL_ERR_NOMEM;
		t->cells = grown;
		if ((flags = realloc(t->lone, n)) == NULL)
			return SL_ERR_NOMEM;
		t->lone = flags;
		t->cap = n;
	}
	for (j = 0; j < t->ncols; j++) {
		char *c = strdup(cells[j] != NULL ? cells[j] : "");

		if (c == NULL) {
			while (j-- > 0)
				free(t->cells[t->nrows * t->ncols + j]);
			return SL_ERR_NOMEM;
		}
		t->cells[t->nrows * t->ncols + j] = c;
		if (!lone && strlen(c) > t->width[j])
			t->width[j] = strlen(c);
	}
	t->lone[t->nrows++] = (unsigned char)lone;
	return 0;
}

int
cli_table_add(struct cli_table *t, const char *const *cells)
{
	return table_row_add(t, cells, 0);
}

int
cli_table_line(struct cli_table *t, const char *text)
{
	const char *cells[CLI_TABLE_COLS_MAX] = {text};

	return table_row_add(t, cells, 1);
}

void
cli_table_print(const struct cli_table *t, FILE *f, const char *indent)
{
	size_t i, j;

	for (i = 0; t != NULL && i < t->nrows; i++) {
		size_t end = t->ncols; /* empty cells at the end are left out: no trailing blanks */

		if (t->lone[i]) {
			fprintf(f, "%s\n", t->cells[i * t->ncols]);
			continue;
		}
		while (end > 1 && t->cells[i * t->ncols + end - 1][0] == '\0')
			end--;
		fputs(indent, f);
		for (j = 0; j < end; j++) {
			const char *c = t->cells[i * t->ncols + j];
			int w = (int)t->width[j], last = j + 1 == end;

			/* Headers too are right-aligned over numbers. */
			if (t->align[j] == 'r')
				fprintf(f, "%*s", w, c);
			else if (last)
				fputs(c, f);
			else
				fprintf(f, "%-*s", w, c);
			if (!last)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
}

unsigned
cli_query_rate(void)
{
	const char *v = getenv("SLUICE_QUERY_RATE");
	int64_t n;

	if (v == NULL || cli_parse_count(v, 100000, &n) != 0 || n < 1) {
		if (v != NULL)
			sl_warnx("SLUICE_QUERY_RATE=%s is not 1..100000; using %d a minute", v,
			    QUERY_RATE_DEFAULT);
		return QUERY_RATE_DEFAULT;
	}
	return (unsigned)n;
}

int
cli_table_done(struct cli_table *t, int r)
{
	if (t == NULL || r != 0) {
		cli_table_free(t);
		return cli_fail(SL_ERR_NOMEM);
	}
	cli_table_print(t, stdout, "");
	cli_table_free(t);
	return CLI_OK;
}
