/*
 * broker/cmd_audit.c -- `sluice audit export | verify | show`.
 *
 * verify runs with no data directory: it trusts only the platform key it is
 * given (or, saying so, the one in the file's header).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/actor.h"
#include "broker/audit.h"
#include "broker/audit_file.h"
#include "broker/cli.h"
#include "broker/commands.h"
#include "broker/exchange.h"
#include "common/err.h"
#include "common/file.h"
#include "common/text.h"
#include "keys/sign.h"

#define CHECKPOINT_SUFFIX ".checkpoint.json"
#define SMALL_FILE_MAX (1u << 20)

/* Read a JSON document from a small file; the message names the file and place. */
static int
load_json(const char *path, json_t **out)
{
	json_error_t e;
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if ((r = cli_read_file(path, SMALL_FILE_MAX, &data, &len)) != 0)
		return r;
	*out = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &e);
	free(data);
	if (*out == NULL)
		return sl_errf(SL_ERR_PARSE, "%s:%d:%d: %s", path, e.line, e.column, e.text);
	return 0;
}

static int
load_pubkey(const char *path, struct keys_pubkey **out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if ((r = cli_read_file(path, SMALL_FILE_MAX, &data, &len)) != 0)
		return r;
	r = keys_pubkey_from_pem(data, len, out);
	free(data);
	if (r != 0)
		return sl_errf(r, "%s: not an Ed25519 or SM2 public key (PEM)", path);
	return 0;
}

/* Write a JSON document to path, replacing it atomically. */
static int
save_json(const char *path, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	int r;

	if (text == NULL)
		return SL_ERR_NOMEM;
	r = sl_file_write_replace(path, 0644, text, strlen(text));
	free(text);
	if (r != 0)
		return sl_errf(r, "%s: %s", path, strerror(errno));
	return 0;
}

/*
 * The export is written to a file that has no name until it is whole
 * (sl_pending, common/file.h): export_close() with r 0 names it out, any
 * other r, or a crash, leaves nothing.
 */
static int
export_open(const char *out, struct sl_pending *pf, FILE **f)
{
	int fd = -1, saved;

	*f = NULL;
	if (sl_pending_open(out, 0644, pf) != 0)
		return sl_errf(SL_ERR_IO, "%s: %s", out, strerror(errno));
	if ((fd = dup(pf->fd)) == -1 || (*f = fdopen(fd, "w")) == NULL) {
		saved = errno;
		if (fd != -1)
			close(fd);
		sl_pending_close(pf);
		return sl_errf(SL_ERR_IO, "%s: %s", out, strerror(saved));
	}
	return 0;
}

static int
export_close(FILE *f, struct sl_pending *pf, const char *out, int r)
{
	if (fflush(f) != 0 && r == 0)
		r = sl_errf(SL_ERR_IO, "%s: %s", out, strerror(errno));
	if (fclose(f) != 0 && r == 0)
		r = sl_errf(SL_ERR_IO, "%s: %s", out, strerror(errno));
	if (r == 0 && sl_pending_commit(pf, 1) != 0)
		r = sl_errf(SL_ERR_IO, "%s: %s", out, strerror(errno));
	sl_pending_close(pf);
	return r;
}

static int
audit_export_run(const struct cli *cli, const struct cli_args *a)
{
	const char *out = cli_opt(a, "out"), *since_path = cli_opt(a, "since"), *field = NULL;
	struct audit_export_request req = {
	    .csv = cli_opt(a, "format") != NULL && strcmp(cli_opt(a, "format"), "csv") == 0,
	    .from = (uint64_t)cli_count(a, "from", 0),
	    .until = (uint64_t)cli_count(a, "until", 0),
	    .progress = isatty(STDERR_FILENO),
	};
	struct exchange *xc = NULL;
	json_t *since = NULL, *cp = NULL;
	char *cppath = NULL, *base = NULL;
	struct sl_pending pf;
	FILE *f = NULL;
	uint64_t n;
	int r;

	if (req.from != 0 && req.until != 0 && req.from > req.until)
		return cli_usage_error(cli_path(a), "--from %llu is after --until %llu",
		    (unsigned long long)req.from, (unsigned long long)req.until);
	if (since_path != NULL && req.csv)
		return cli_usage_error(cli_path(a), "--since needs the jsonl format");
	if ((r = cli_open(cli, cli_path(a), &xc)) != CLI_OK)
		return r;
	if (since_path != NULL && (r = load_json(since_path, &since)) != 0)
		goto fail;
	req.since = since;
	if ((base = strdup(out)) == NULL ||
	    (cppath = malloc(strlen(out) + sizeof(CHECKPOINT_SUFFIX))) == NULL) {
		r = SL_ERR_NOMEM;
		goto fail;
	}
	snprintf(cppath, strlen(out) + sizeof(CHECKPOINT_SUFFIX), "%s%s", out, CHECKPOINT_SUFFIX);
	req.name = basename(base);
	if ((r = export_open(out, &pf, &f)) != 0)
		goto fail;
	r = audit_act_export(xc, NULL, &req, f, &cp, &field);
	r = export_close(f, &pf, out, cli_name_file(r, field, "since", since_path));
	if (r != 0 || (r = save_json(cppath, cp)) != 0)
		goto fail;
	n = (uint64_t)json_integer_value(
	    json_object_get(json_object_get(cp, "checkpoint"), "tree_size"));
	if (cli_flag(a, "json"))
		r = cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:O}", "out", out, "format",
		    req.csv ? "csv" : "jsonl", "checkpoint_file", cppath, "tree_size",
		    (json_int_t)n, "checkpoint", cp));
	else
		printf("Exported %llu events to %s (%s); checkpoint of tree size %llu in %s\n",
		    (unsigned long long)((req.until ? req.until : n) - (req.from ? req.from : 1) +
		                         1),
		    out, req.csv ? "csv" : "jsonl", (unsigned long long)n, cppath);
	goto done;
fail:
	r = cli_fail(r);
done:
	json_decref(since);
	json_decref(cp);
	free(cppath);
	free(base);
	exchange_close(xc);
	return r;
}

/*
 * Whether a verified export holds every event of its tree.  A range verifies
 * too (its other events are hashes), and anyone can cut a whole export down
 * to one, so the range printed is the only evidence of completeness.
 */
static int
verify_complete(const struct audit_verify_result *res)
{
	return res->from == 1 && res->until == res->tree_size;
}

static int
audit_verify_run(const struct cli *cli, const struct cli_args *a)
{
	const char *file = cli_arg(a, 0), *keypath = cli_opt(a, "key");
	const char *since_path = cli_opt(a, "since");
	struct audit_verify_result res;
	struct keys_pubkey *key = NULL;
	json_t *since = NULL, *doc;
	int r;

	(void)cli;
	sl_err_clear();
	if ((keypath != NULL && (r = load_pubkey(keypath, &key)) != 0) ||
	    (since_path != NULL && (r = load_json(since_path, &since)) != 0)) {
		keys_pubkey_free(key);
		return cli_fail(r);
	}
	r = audit_verify_file(file, key, since, &res);
	keys_pubkey_free(key);
	json_decref(since);
	if (r != 0 && r != SL_ERR_AUTH)
		return cli_fail(r);
	if (cli_flag(a, "json")) {
		doc = json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:s}", "ok", r == 0, "file", file,
		    "key", res.key_from_header ? "header" : keypath, "from", (json_int_t)res.from,
		    "until", (json_int_t)res.until, "tree_size", (json_int_t)res.tree_size, "root",
		    res.root);
		if (doc != NULL && r == 0)
			json_object_set_new(doc, "complete", json_boolean(verify_complete(&res)));
		if (doc != NULL && res.proof_size != 0)
			json_object_set_new(
			    doc, "proof_from_size", json_integer((json_int_t)res.proof_size));
		if (doc != NULL && res.since_size != 0)
			json_object_set_new(
			    doc, "since_tree_size", json_integer((json_int_t)res.since_size));
		if (doc != NULL && r != 0) {
			json_object_set_new(doc, "bad_seq", json_integer((json_int_t)res.bad_seq));
			json_object_set_new(doc, "reason", json_string(res.reason));
		}
		return cli_print_json(doc) == CLI_OK && r == 0 ? CLI_OK : CLI_FAILED;
	}
	printf("key: %s\n",
	    res.key_from_header
	        ? "the platform key in the export's header (pass --key PLATFORM.pub to check "
	          "against a trusted copy)"
	        : keypath);
	if (r != 0) {
		printf("FAILED: %s\n", res.reason);
		return CLI_FAILED;
	}
	printf("events %llu..%llu of %llu verified; root %s\n"
	       "checkpoint signed %s: good signature\n",
	    (unsigned long long)res.from, (unsigned long long)res.until,
	    (unsigned long long)res.tree_size, res.root, res.checkpoint_time);
	if (verify_complete(&res))
		printf("the whole log: every event from 1 to %llu is in the file\n",
		    (unsigned long long)res.tree_size);
	else
		printf("NOT the whole log: the other events are in the file only as hashes, and "
		       "anyone can cut an export down to a range, so it proves events %llu..%llu "
		       "and no more\n",
		    (unsigned long long)res.from, (unsigned long long)res.until);
	if (res.since_size != 0)
		printf("consistent with the checkpoint of tree size %llu: this log extends it\n",
		    (unsigned long long)res.since_size);
	else if (res.proof_size != 0)
		printf("the file's consistency proof from tree size %llu checks, but its starting "
		       "root is not signed: pass --since with a checkpoint of size %llu you trust "
		       "to rely on it\n",
		    (unsigned long long)res.proof_size, (unsigned long long)res.proof_size);
	return CLI_OK;
}

struct show {
	int json;
	json_t *arr;
	struct cli_table *table; /* the text: printed at the end, its columns as wide as needed */
};

static int
show_event(
    void *arg, int64_t seq, const char *event, size_t len, const uint8_t leaf[KEYS_HASH_BYTES])
{
	struct show *s = arg;
	json_t *ev = json_loadb(event, len, 0, NULL);
	char *details, num[24];
	int r;

	if (ev == NULL)
		return sl_errf(SL_ERR_DB, "audit event %lld is not JSON", (long long)seq);
	if (s->json)
		return json_array_append_new(s->arr, ev) == 0 ? 0 : SL_ERR_NOMEM;
	details = json_dumps(json_object_get(ev, "details"), JSON_COMPACT);
	snprintf(num, sizeof num, "%lld", (long long)seq);
	r = details == NULL
	        ? SL_ERR_NOMEM
	        : cli_table_add(s->table,
	              (const char *const[]){num, json_string_value(json_object_get(ev, "time")),
	                  json_string_value(json_object_get(ev, "actor")),
	                  json_string_value(json_object_get(ev, "action")),
	                  json_string_value(json_object_get(ev, "subject")), details});
	free(details);
	json_decref(ev);
	return r;
}

static int
audit_show_run(const struct cli *cli, const struct cli_args *a)
{
	struct audit_filter f = {0};
	struct show s = {0};
	struct exchange *ex = NULL;
	int r;

	f.action = cli_opt(a, "action");
	f.actor = cli_opt(a, "actor");
	f.from = cli_opt(a, "from");
	f.until = cli_opt(a, "until");
	s.json = cli_flag(a, "json");
	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	if (s.json ? (s.arr = json_array()) == NULL
	           : (s.table = cli_table_new(6, "rlllll", NULL)) == NULL) {
		exchange_close(ex);
		return cli_fail(SL_ERR_NOMEM);
	}
	r = audit_list(exchange_db(ex), &f, show_event, &s);
	exchange_close(ex);
	if (r != 0) {
		json_decref(s.arr);
		cli_table_free(s.table);
		return cli_fail(r);
	}
	if (s.json)
		return cli_print_json(json_pack("{s:o}", "events", s.arr));
	cli_table_print(s.table, stdout, "");
	cli_table_free(s.table);
	return CLI_OK;
}

static int
audit_checkpoint_run(const struct cli *cli, const struct cli_args *a)
{
	const char *out = cli_opt(a, "out"), *ident = cli_opt(a, "identity"), *field = NULL;
	struct keys_pubkey *caller = NULL;
	struct exchange *ex = NULL;
	json_t *cp = NULL;
	int r;

	if ((r = cli_open(cli, cli_path(a), &ex)) != CLI_OK)
		return r;
	sl_err_clear();
	if ((r = cli_caller(ident, &caller)) == 0 &&
	    (r = audit_act_checkpoint(ex, caller, &cp, &field)) != 0)
		r = cli_name_file(r, field, ACTOR_FIELD, ident);
	keys_pubkey_free(caller);
	exchange_close(ex);
	if (r == 0 && out != NULL)
		r = save_json(out, cp);
	if (r != 0) {
		json_decref(cp);
		return cli_fail_detail(r, field, NULL);
	}
	if (out != NULL && !cli_flag(a, "json")) {
		printf("Checkpoint of tree size %lld in %s\n",
		    (long long)json_integer_value(
		        json_object_get(json_object_get(cp, "checkpoint"), "tree_size")),
		    out);
		json_decref(cp);
		return CLI_OK;
	}
	return cli_print_json(cp);
}

const struct cli_spec cmd_audit[] = {
    {
        .path = "audit export",
        .summary = "sign a checkpoint and export the log",
        .help = "Sign a checkpoint of the audit log and export it: JSON Lines (header, events,\n"
                "signed checkpoint, and with --since a consistency proof from that earlier\n"
                "checkpoint) or CSV for spreadsheets.  Also writes FILE.checkpoint.json for the\n"
                "next --since.  The export is itself an audit event.  Verify it offline with\n"
                "`sluice audit verify`.  docs/audit-format.md describes the format.",
        .opts =
            {
                {"out", 0, CLI_STRING, "FILE", "where to write the export", CLI_REQUIRED},
                {"format", 0, CLI_CHOICE, "jsonl|csv", "the export's format (default jsonl)"},
                {"since", 0, CLI_STRING, "CHECKPOINT.json",
                    "prove that the log extends this earlier checkpoint"},
                {"from", 0, CLI_COUNT, "SEQ", "the first event to export", 0, 1, INT64_MAX,
                    "a seq >= 1"},
                {"until", 0, CLI_COUNT, "SEQ", "the last event to export", 0, 1, INT64_MAX,
                    "a seq >= 1"},
                CMD_OPT_JSON,
            },
        .run = audit_export_run,
    },
    {
        .path = "audit verify",
        .summary = "verify an export offline",
        .help = "Verify an audit export offline (no data directory needed): recompute the Merkle\n"
                "root from the events, check the checkpoint's signature (with --key, else the key\n"
                "in the file's header, which is then only as trustworthy as the file), and with\n"
                "--since check the proof that this log extends that earlier one.  Exit 0 when all\n"
                "holds; 1 naming the first bad event and why.",
        .args = {{"FILE"}},
        .opts =
            {
                {"key", 0, CLI_STRING, "PLATFORM.pub", "the platform key to trust"},
                {"since", 0, CLI_STRING, "CHECKPOINT.json",
                    "check that the log extends this earlier checkpoint"},
                CMD_OPT_JSON,
            },
        .run = audit_verify_run,
    },
    {
        .path = "audit show",
        .summary = "list audit events",
        .help = "List audit events, oldest first.  T is an RFC 3339 UTC time such as\n"
                "2026-11-28T00:00:00Z (or a prefix of one, e.g. 2026-11-28).",
        .opts =
            {
                {"action", 0, CLI_STRING, "A", "only events of this action"},
                {"actor", 0, CLI_STRING, "P", "only events by this party"},
                {"from", 0, CLI_STRING, "T", "events from T on"},
                {"until", 0, CLI_STRING, "T", "events up to T"},
                CMD_OPT_JSON,
            },
        .run = audit_show_run,
    },
    {
        .path = "audit checkpoint",
        .summary = "the newest signed checkpoint",
        .help = "The newest checkpoint the platform signed (every 1000 events and on each\n"
                "export), as JSON: an auditor keeps it and passes it to a later `audit\n"
                "verify --since`.  For the platform and auditors; DIR/checkpoints.log\n"
                "holds all of them, one per line.",
        .opts =
            {
                {"out", 0, CLI_STRING, "FILE", "write it to FILE instead"},
                CMD_OPT_JSON,
                {"identity", 0, CLI_STRING, "FILE.key", "act as the party of this key"},
            },
        .run = audit_checkpoint_run,
    },
    {.path = NULL},
};
