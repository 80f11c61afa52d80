/*
 * broker/audit_file.c -- the audit export format: writer and verifier.
 *
 * The file is JSON Lines (docs/audit-format.md):
 *   header       {"format":1,"from":a,"platform_key":PEM,"suite":..,"tree_size":n,
 *                 "type":"sluice.audit.export","until":b}
 *   prefix       {"frontier":[hex..],"tree_size":a-1,"type":"prefix"}      when a > 1
 *   events       {"event":<canonical event>,"leaf":hex}                     a..b
 *   suffix       {"leaves":[hex..],"type":"suffix"}                          when b < n
 *   checkpoint   {"checkpoint":{..},"key":..,"signature":hex,"type":"checkpoint"}
 *   consistency  {"from_root":hex,"from_size":m,"proof":[hex..],"to_size":n,
 *                 "type":"consistency"}                                     with --since
 *
 * The "leaf" beside each event is redundant (the verifier recomputes it);
 * it lets the verifier name the exact event a naive edit touched.  Security
 * rests only on the signed root.
 *
 * Trusts on the verifying side: nothing in the file but what the key's
 * signature covers.  Every line is bounded (AUDIT_LINE_MAX) and checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/audit.h"
#include "broker/audit_file.h"
#include "broker/merkle.h"
#include "common/err.h"
#include "common/jcs.h"
#include "common/text.h"
#include "keys/sign.h"

#define EVENT_PREFIX "{\"event\":"
#define LEAF_INFIX ",\"leaf\":\""
#define LEAF_SUFFIX "\"}"
#define HEXLEN (2 * MERKLE_HASH_BYTES)
#define PROGRESS_EVERY 10000

/* ---- writing ------------------------------------------------------------ */

static int
put_line(FILE *out, json_t *v)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (v == NULL)
		return SL_ERR_NOMEM;
	r = jcs_serialize(v, &text, &len);
	json_decref(v);
	if (r != 0)
		return r;
	if (fwrite(text, 1, len, out) != len || fputc('\n', out) == EOF)
		r = sl_errf(SL_ERR_IO, "write export: %s", strerror(errno));
	free(text);
	return r;
}

static json_t *
hex_array(const uint8_t (*h)[MERKLE_HASH_BYTES], size_t n)
{
	char hex[HEXLEN + 1];
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		sl_hex_encode(h[i], MERKLE_HASH_BYTES, hex);
		if (json_array_append_new(a, json_string(hex)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

struct walk {
	FILE *out;
	uint64_t done, total;
	int progress;
	int first;
};

static void
progress(struct walk *w)
{
	if (w->progress && (w->done % PROGRESS_EVERY == 0 || w->done == w->total))
		fprintf(stderr, "\rexported %llu/%llu events", (unsigned long long)w->done,
		    (unsigned long long)w->total);
}

static int
write_event(
    void *arg, int64_t seq, const char *event, size_t len, const uint8_t leaf[KEYS_HASH_BYTES])
{
	struct walk *w = arg;
	char hex[HEXLEN + 1];

	sl_hex_encode(leaf, KEYS_HASH_BYTES, hex);
	if (fputs(EVENT_PREFIX, w->out) == EOF || fwrite(event, 1, len, w->out) != len ||
	    fprintf(w->out, LEAF_INFIX "%s" LEAF_SUFFIX "\n", hex) < 0)
		return sl_errf(SL_ERR_IO, "write export: %s", strerror(errno));
	w->done++;
	progress(w);
	return 0;
}

static int
write_suffix_leaf(
    void *arg, int64_t seq, const char *event, size_t len, const uint8_t leaf[KEYS_HASH_BYTES])
{
	struct walk *w = arg;
	char hex[HEXLEN + 1];

	sl_hex_encode(leaf, KEYS_HASH_BYTES, hex);
	if (fprintf(w->out, "%s\"%s\"", w->first ? "" : ",", hex) < 0)
		return sl_errf(SL_ERR_IO, "write export: %s", strerror(errno));
	w->first = 0;
	return 0;
}

/* RFC 4180: quote every field that needs it, doubling quotes. */
static int
csv_field(FILE *out, const char *s, size_t len, int last)
{
	size_t i;
	int quote = 0;

	for (i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (quote && fputc('"', out) == EOF)
		return SL_ERR_IO;
	for (i = 0; i < len; i++) {
		if (s[i] == '"' && fputc('"', out) == EOF)
			return SL_ERR_IO;
		if (fputc(s[i], out) == EOF)
			return SL_ERR_IO;
	}
	if (quote && fputc('"', out) == EOF)
		return SL_ERR_IO;
	return fputs(last ? "\r\n" : ",", out) == EOF ? SL_ERR_IO : 0;
}

static int
write_csv_row(
    void *arg, int64_t seq, const char *event, size_t len, const uint8_t leaf[KEYS_HASH_BYTES])
{
	static const char *const cols[] = {"seq", "time", "actor", "action", "subject", "details"};
	struct walk *w = arg;
	json_t *ev;
	size_t i;
	int r = 0;

	if ((ev = json_loadb(event, len, JSON_ALLOW_NUL, NULL)) == NULL)
		return sl_errf(SL_ERR_DB, "audit event %lld is not JSON", (long long)seq);
	for (i = 0; i < 6 && r == 0; i++) {
		json_t *v = json_object_get(ev, cols[i]);
		char *text = NULL, num[32];
		size_t tlen = 0;

		if (json_is_string(v)) {
			r = csv_field(w->out, json_string_value(v), json_string_length(v), i == 5);
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			r = csv_field(w->out, num, strlen(num), i == 5);
		} else if ((r = jcs_serialize(v, &text, &tlen)) == 0) {
			r = csv_field(w->out, text, tlen, i == 5);
			free(text);
		}
	}
	json_decref(ev);
	if (r == SL_ERR_IO)
		r = sl_errf(r, "write export: %s", strerror(errno));
	w->done++;
	progress(w);
	return r;
}

int
audit_export_write(struct db *db, enum keys_suite suite, const struct audit_export *ex, FILE *out)
{
	struct audit_filter flt = {0};
	struct walk w = {out, 0, 0, ex->progress, 1};
	struct merkle_frontier f;
	uint8_t roots[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES];
	uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], root_m[MERKLE_HASH_BYTES];
	const json_t *cpbody = json_object_get(ex->checkpoint, "checkpoint");
	uint64_t n, a, b, fsize, m;
	size_t count, plen;
	json_t *line;
	int r;

	n = (uint64_t)json_integer_value(json_object_get(cpbody, "tree_size"));
	a = ex->from != 0 ? ex->from : 1;
	b = ex->until != 0 ? ex->until : n;
	if (a < 1 || b > n || a > b + 1)
		return sl_errf(SL_ERR_INVAL, "range %llu..%llu is outside the log (events 1..%llu)",
		    (unsigned long long)a, (unsigned long long)b, (unsigned long long)n);
	flt.seq_from = (int64_t)a;
	flt.seq_until = (int64_t)b;
	w.total = b >= a ? b - a + 1 : 0;
	if (ex->csv) {
		if (fputs("seq,time,actor,action,subject,details\r\n", out) == EOF)
			return sl_errf(SL_ERR_IO, "write export: %s", strerror(errno));
		if (w.total == 0)
			return 0;
		r = audit_list(db, &flt, write_csv_row, &w);
		if (ex->progress)
			fputc('\n', stderr);
		return r;
	}
	if ((r = put_line(
	         out, json_pack("{s:i, s:I, s:s, s:s, s:I, s:s, s:I}", "format", AUDIT_FORMAT,
	                  "from", (json_int_t)a, "platform_key", ex->platform_pem, "suite",
	                  keys_suite_name(suite), "tree_size", (json_int_t)n, "type",
	                  AUDIT_EXPORT_TYPE, "until", (json_int_t)b))) != 0)
		return r;
	if (a > 1) {
		if ((r = audit_frontier_at(db, suite, a - 1, &f)) != 0 ||
		    (r = merkle_frontier_export(&f, &fsize, roots, &count)) != 0)
			return r;
		if ((r = put_line(
		         out, json_pack("{s:o, s:I, s:s}", "frontier",
		                  hex_array((const uint8_t(*)[MERKLE_HASH_BYTES])roots, count),
		                  "tree_size", (json_int_t)fsize, "type", "prefix"))) != 0)
			return r;
	}
	if (w.total > 0 && (r = audit_list(db, &flt, write_event, &w)) != 0)
		return r;
	if (ex->progress && w.total > 0)
		fputc('\n', stderr);
	if (b < n) {
		flt.seq_from = (int64_t)b + 1;
		flt.seq_until = (int64_t)n;
		if (fputs("{\"leaves\":[", out) == EOF)
			return sl_errf(SL_ERR_IO, "write export: %s", strerror(errno));
		if ((r = audit_list(db, &flt, write_suffix_leaf, &w)) != 0)
			return r;
		if (fputs("],\"type\":\"suffix\"}\n", out) == EOF)
			return sl_errf(SL_ERR_IO, "write export: %s", strerror(errno));
	}
	if ((line = json_deep_copy(ex->checkpoint)) == NULL ||
	    json_object_set_new(line, "type", json_string("checkpoint")) != 0 ||
	    (r = put_line(out, line)) != 0)
		return r != 0 ? r : SL_ERR_NOMEM;
	if (ex->since != NULL) {
		const json_t *sb = json_object_get(ex->since, "checkpoint");
		char hex[HEXLEN + 1];

		m = (uint64_t)json_integer_value(json_object_get(sb, "tree_size"));
		if ((r = audit_root_at(db, suite, m, root_m)) != 0 ||
		    (r = audit_consistency_proof(db, suite, m, n, proof, &plen)) != 0)
			return r;
		sl_hex_encode(root_m, MERKLE_HASH_BYTES, hex);
		if ((r = put_line(
		         out, json_pack("{s:s, s:I, s:o, s:I, s:s}", "from_root", hex, "from_size",
		                  (json_int_t)m, "proof",
		                  hex_array((const uint8_t(*)[MERKLE_HASH_BYTES])proof, plen),
		                  "to_size", (json_int_t)n, "type", "consistency"))) != 0)
			return r;
	}
	return 0;
}

/* ---- verifying ---------------------------------------------------------- */

/*
 * The verifier is strict (docs/audit-format.md, "What a verifier rejects"):
 * every line is the canonical JSON of its object with exactly the members the
 * format defines, the optional lines appear exactly when the header's range
 * needs them, and every line ends with a newline.  Two verifiers written from
 * the document therefore accept the same files, byte for byte.
 */

struct verifier {
	FILE *in;
	char *line;
	size_t cap;
	size_t len;
	uint64_t lineno;
	struct audit_verify_result *res;
	struct keys_pubkey *header_key;
	const struct keys_pubkey *key;
	struct merkle_frontier f;
	uint64_t expect;                        /* next event seq */
	uint64_t hdr_from, hdr_size, hdr_until; /* what the header claims */
	int events_seen;                        /* any event line yet */
	int prefix;                             /* prefix line seen */
	int suffix;                             /* suffix line seen */
	int checkpoint;                         /* checkpoint line seen */
	int consistency;                        /* consistency line seen */
	uint64_t cp_size;                       /* signed tree size */
	uint8_t cp_root[MERKLE_HASH_BYTES];
	int pending; /* a line read ahead and not yet consumed */
};

static const char *const HEADER_MEMBERS[] = {
    "format", "from", "platform_key", "suite", "tree_size", "type", "until", NULL};
static const char *const PREFIX_MEMBERS[] = {"frontier", "tree_size", "type", NULL};
static const char *const SUFFIX_MEMBERS[] = {"leaves", "type", NULL};
static const char *const CHECKPOINT_LINE_MEMBERS[] = {
    "checkpoint", "key", "signature", "type", NULL};
static const char *const CONSISTENCY_MEMBERS[] = {
    "from_root", "from_size", "proof", "to_size", "type", NULL};
static const char *const EVENT_MEMBERS[] = {
    "action", "actor", "details", "seq", "subject", "time", NULL};

static int fail(struct verifier *v, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct verifier *v, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	v->res->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->res->reason, sizeof(v->res->reason), fmt, ap);
	va_end(ap);
	return SL_ERR_AUTH;
}

/*
 * Read the next line (without its newline) into v->line; 1 at EOF.  A line
 * without its newline is the end of a file cut short, and fails.
 */
static int
next_line(struct verifier *v)
{
	ssize_t n;

	if (v->pending) {
		v->pending = 0;
		return 0;
	}
	errno = 0;
	if ((n = getline(&v->line, &v->cap, v->in)) == -1) {
		if (errno != 0)
			return sl_errf(SL_ERR_IO, "read export: %s", strerror(errno));
		return 1;
	}
	v->lineno++;
	if ((size_t)n > AUDIT_LINE_MAX)
		return fail(v, 0, "line %llu: longer than %u bytes", (unsigned long long)v->lineno,
		    AUDIT_LINE_MAX);
	if (n == 0 || v->line[n - 1] != '\n')
		return fail(v, 0, "line %llu: no newline at its end (the file was cut short)",
		    (unsigned long long)v->lineno);
	v->line[--n] = '\0';
	v->len = (size_t)n;
	return 0;
}

static json_t *
parse_line(struct verifier *v)
{
	json_error_t e;
	json_t *j = json_loadb(v->line, v->len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);

	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static int
member_known(const char *const *names, const char *key)
{
	for (; *names != NULL; names++)
		if (strcmp(*names, key) == 0)
			return 1;
	return 0;
}

/*
 * j has exactly the members names lists: an unknown one or a missing one
 * fails, naming the line, what the line is and the member.
 */
static int
members_exact(struct verifier *v, const json_t *j, const char *what, const char *const *names)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)j, key, val) {
		if (!member_known(names, key))
			return fail(v, v->events_seen ? v->expect : 0,
			    "line %llu: %s has unknown member \"%.64s\"",
			    (unsigned long long)v->lineno, what, key);
	}
	for (; *names != NULL; names++)
		if (json_object_get(j, *names) == NULL)
			return fail(v, 0, "line %llu: %s lacks member \"%s\"",
			    (unsigned long long)v->lineno, what, *names);
	return 0;
}

/*
 * text is in the one byte form the format allows: its own RFC 8785
 * canonical JSON.  what names it in the failure.
 */
static int
canonical(struct verifier *v, uint64_t seq, const char *text, size_t len, const char *what)
{
	char *c = NULL;
	size_t clen = 0;
	int r;

	if (jcs_is_canonical(text, len, NULL, 0))
		return 0;
	/* Not canonical: parse it again for the message. */
	sl_err_clear();
	if ((r = jcs_canonicalize_text(text, len, &c, &clen)) != 0)
		return r == SL_ERR_NOMEM ? r
		                         : fail(v, seq, "line %llu: %s: %s",
		                               (unsigned long long)v->lineno, what, sl_err_msg(r));
	r = clen == len && memcmp(c, text, len) == 0
	        ? 0
	        : fail(v, seq,
	              "line %llu: %s is not in canonical form (RFC 8785); no line of an "
	              "export may be reformatted",
	              (unsigned long long)v->lineno, what);
	free(c);
	return r;
}

/* A non-event line: exactly its members, in canonical form. */
static int
line_check(struct verifier *v, const json_t *j, const char *what, const char *const *names)
{
	int r;

	if ((r = members_exact(v, j, what, names)) != 0)
		return r;
	return canonical(v, 0, v->line, v->len, what);
}

static int
is_event_line(const struct verifier *v)
{
	return v->len > strlen(EVENT_PREFIX) &&
	       memcmp(v->line, EVENT_PREFIX, strlen(EVENT_PREFIX)) == 0;
}

/*
 * The top-level "seq" of an event's bytes, without parsing the rest: the
 * bytes are hashed as they stand, so a malformed event fails as an edit.
 * Scans strings (with escapes) and nesting; the seq must be a canonical
 * positive integer.  0, or -1 when there is none.
 */
static int
event_seq(const char *p, size_t len, uint64_t *seq)
{
	size_t i = 0, depth = 0, start;
	int key_pos = 0;

	while (i < len) {
		char c = p[i];

		if (c == '"') {
			start = ++i;
			while (i < len && p[i] != '"')
				i += p[i] == '\\' ? 2 : 1;
			if (i >= len)
				return -1;
			if (depth == 1 && key_pos && i - start == 3 &&
			    memcmp(p + start, "seq", 3) == 0 && i + 2 < len && p[i + 1] == ':') {
				uint64_t v = 0;
				size_t j = i + 2, digits = 0;

				if (p[j] == '0')
					return -1;
				for (; j < len && p[j] >= '0' && p[j] <= '9'; j++, digits++) {
					if (v > (UINT64_MAX - 9) / 10)
						return -1;
					v = v * 10 + (uint64_t)(p[j] - '0');
				}
				if (digits == 0 || j >= len || (p[j] != ',' && p[j] != '}'))
					return -1;
				*seq = v;
				return 0;
			}
			key_pos = 0;
			i++;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && depth-- == 0)
			return -1;
		/* At depth 1 a key follows '{' or ','. */
		key_pos = depth == 1 && (c == '{' || c == ',');
		i++;
	}
	return -1;
}

/*
 * Split an event line into the event's bytes and its declared leaf hash, and
 * read the event's seq.  0, or a failure naming the line.
 */
static int
event_split(struct verifier *v, const char **ev, size_t *evlen, uint8_t leaf[MERKLE_HASH_BYTES],
    uint64_t *seq)
{
	const size_t pre = strlen(EVENT_PREFIX),
	             post = strlen(LEAF_INFIX) + HEXLEN + strlen(LEAF_SUFFIX);
	const char *tail;

	if (v->len < pre + post + 2)
		return fail(v, 0, "line %llu: malformed event line", (unsigned long long)v->lineno);
	tail = v->line + v->len - post;
	if (memcmp(tail, LEAF_INFIX, strlen(LEAF_INFIX)) != 0 ||
	    memcmp(v->line + v->len - strlen(LEAF_SUFFIX), LEAF_SUFFIX, strlen(LEAF_SUFFIX)) != 0 ||
	    sl_hex_decode(tail + strlen(LEAF_INFIX), HEXLEN, leaf, MERKLE_HASH_BYTES) != 0)
		return fail(v, 0, "line %llu: malformed event line (no leaf hash at its end)",
		    (unsigned long long)v->lineno);
	*ev = v->line + pre;
	*evlen = (size_t)(tail - *ev);
	if (event_seq(*ev, *evlen, seq) != 0)
		return fail(v, v->expect, "line %llu: event has no valid seq (edited)",
		    (unsigned long long)v->lineno);
	return 0;
}

/* The seq of the event line after the current one, or 0 if there is none. */
static uint64_t
peek_seq(struct verifier *v)
{
	uint8_t leaf[MERKLE_HASH_BYTES];
	struct audit_verify_result saved = *v->res;
	const char *ev;
	size_t evlen;
	uint64_t seq = 0;

	if (next_line(v) != 0 || !is_event_line(v) || event_split(v, &ev, &evlen, leaf, &seq) != 0)
		seq = 0;
	*v->res = saved;
	return seq;
}

/*
 * An event whose bytes hash to its leaf is still only format 1 if it is the
 * canonical JSON of an object with exactly the six members of an event, of
 * their types.  Numbers are read as doubles, as RFC 8785 reads them.
 */
static int
event_shape(struct verifier *v, const char *ev, size_t evlen, uint64_t seq)
{
	/* EVENT_MEMBERS, as JCS sorts them, with their types. */
	static const struct jcs_member_type shape[] = {{"action", 's'}, {"actor", 's'},
	    {"details", 'o'}, {"seq", 'n'}, {"subject", 's'}, {"time", 's'}};
	static const char *const strings[] = {"action", "actor", "subject", "time"};
	const char *key;
	json_t *j, *val;
	size_t i;
	int r;

	/* The common case in one pass; anything else is parsed for its message. */
	if (jcs_is_canonical(ev, evlen, shape, sizeof(shape) / sizeof(shape[0])))
		return 0;
	if ((r = canonical(v, seq, ev, evlen, "event")) != 0)
		return r;
	if ((j = json_loadb(ev, evlen,
	         JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL)) ==
	        NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		return fail(v, seq, "event seq %llu (line %llu): not a JSON object",
		    (unsigned long long)seq, (unsigned long long)v->lineno);
	}
	r = 0;
	json_object_foreach(j, key, val) {
		if (r == 0 && !member_known(EVENT_MEMBERS, key))
			r = fail(v, seq, "event seq %llu (line %llu): unknown member \"%.64s\"",
			    (unsigned long long)seq, (unsigned long long)v->lineno, key);
	}
	for (i = 0; r == 0 && i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!json_is_string(json_object_get(j, strings[i])))
			r = fail(v, seq, "event seq %llu (line %llu): \"%s\" must be a string",
			    (unsigned long long)seq, (unsigned long long)v->lineno, strings[i]);
	if (r == 0 && !json_is_object(json_object_get(j, "details")))
		r = fail(v, seq, "event seq %llu (line %llu): \"details\" must be an object",
		    (unsigned long long)seq, (unsigned long long)v->lineno);
	json_decref(j);
	return r;
}

/* An export from event a > 1 carries the prefix before anything else. */
static int
need_prefix(struct verifier *v)
{
	if (v->hdr_from > 1 && !v->prefix)
		return fail(v, 0,
		    "line %llu: expected the prefix (the frontier of events 1..%llu), since the "
		    "header's \"from\" is %llu",
		    (unsigned long long)v->lineno, (unsigned long long)(v->hdr_from - 1),
		    (unsigned long long)v->hdr_from);
	return 0;
}

static int
do_event(struct verifier *v)
{
	uint8_t declared[MERKLE_HASH_BYTES], leaf[MERKLE_HASH_BYTES];
	const char *ev;
	size_t evlen;
	uint64_t seq, next;
	int r;

	if (v->checkpoint)
		return fail(v, 0, "line %llu: extra event after the checkpoint",
		    (unsigned long long)v->lineno);
	if (v->suffix)
		return fail(
		    v, 0, "line %llu: event after the suffix", (unsigned long long)v->lineno);
	if ((r = need_prefix(v)) != 0 || (r = event_split(v, &ev, &evlen, declared, &seq)) != 0)
		return r;
	if (seq != v->expect) {
		if (seq < v->expect)
			return fail(v, seq,
			    "event seq %llu: extra (a duplicate or an insertion; "
			    "expected seq %llu)",
			    (unsigned long long)seq, (unsigned long long)v->expect);
		next = peek_seq(v);
		if (next == v->expect)
			return fail(v, v->expect,
			    "event seq %llu: reordered (it comes after seq %llu)",
			    (unsigned long long)v->expect, (unsigned long long)seq);
		return fail(v, v->expect, "event seq %llu: missing (found seq %llu in its place)",
		    (unsigned long long)v->expect, (unsigned long long)seq);
	}
	if (seq > v->hdr_until)
		return fail(v, seq, "event seq %llu: extra (beyond the header's \"until\" %llu)",
		    (unsigned long long)seq, (unsigned long long)v->hdr_until);
	if ((r = merkle_hash_leaf(v->res->suite, ev, evlen, leaf)) != 0)
		return r;
	if (memcmp(leaf, declared, MERKLE_HASH_BYTES) != 0)
		return fail(v, seq,
		    "event seq %llu: edited (its bytes no longer match its leaf hash)",
		    (unsigned long long)seq);
	if ((r = event_shape(v, ev, evlen, seq)) != 0)
		return r;
	if ((r = merkle_frontier_append(&v->f, leaf)) != 0)
		return r;
	if (!v->events_seen)
		v->res->from = seq;
	v->res->until = seq;
	v->events_seen = 1;
	v->expect++;
	return 0;
}

/* An array of hashes; -1 if j is not one. */
static int
hashes(const json_t *j, uint8_t (*out)[MERKLE_HASH_BYTES], size_t max, size_t *n)
{
	size_t i;

	if (!json_is_array(j) || json_array_size(j) > max)
		return -1;
	for (i = 0; i < json_array_size(j); i++) {
		const json_t *h = json_array_get(j, i);

		if (!json_is_string(h) || sl_hex_decode(json_string_value(h), json_string_length(h),
		                              out[i], MERKLE_HASH_BYTES) != 0)
			return -1;
	}
	*n = json_array_size(j);
	return 0;
}

static int
do_prefix(struct verifier *v, const json_t *j)
{
	uint8_t roots[MERKLE_MAX_LEVELS][MERKLE_HASH_BYTES];
	const json_t *ts = json_object_get(j, "tree_size");
	size_t n;
	int r;

	if (v->hdr_from == 1)
		return fail(v, 0, "line %llu: a prefix, but the header's \"from\" is 1",
		    (unsigned long long)v->lineno);
	if (v->prefix || v->events_seen || merkle_frontier_size(&v->f) != 0)
		return fail(v, 0, "line %llu: prefix out of place", (unsigned long long)v->lineno);
	if ((r = line_check(v, j, "the prefix", PREFIX_MEMBERS)) != 0)
		return r;
	if (!json_is_integer(ts) || (uint64_t)json_integer_value(ts) != v->expect - 1 ||
	    hashes(json_object_get(j, "frontier"), roots, MERKLE_MAX_LEVELS, &n) != 0 ||
	    merkle_frontier_import(&v->f, v->res->suite, v->expect - 1,
	        (const uint8_t(*)[MERKLE_HASH_BYTES])roots, n) != 0)
		return fail(v, 0, "line %llu: malformed prefix (must cover events 1..%llu)",
		    (unsigned long long)v->lineno, (unsigned long long)(v->expect - 1));
	v->prefix = 1;
	return 0;
}

static int
do_suffix(struct verifier *v, const json_t *j)
{
	const json_t *a = json_object_get(j, "leaves");
	uint8_t leaf[MERKLE_HASH_BYTES];
	size_t i;
	int r;

	if (v->checkpoint || v->suffix)
		return fail(v, 0, "line %llu: suffix out of place", (unsigned long long)v->lineno);
	if (v->hdr_until == v->hdr_size)
		return fail(v, 0,
		    "line %llu: a suffix, but the header's \"until\" is the end of the log (%llu)",
		    (unsigned long long)v->lineno, (unsigned long long)v->hdr_size);
	if ((r = line_check(v, j, "the suffix", SUFFIX_MEMBERS)) != 0)
		return r;
	if (v->expect - 1 != v->hdr_until)
		return fail(v, v->expect,
		    "event seq %llu: missing (the suffix follows event %llu; the header's "
		    "\"until\" is %llu)",
		    (unsigned long long)v->expect, (unsigned long long)(v->expect - 1),
		    (unsigned long long)v->hdr_until);
	if (!json_is_array(a) || json_array_size(a) != v->hdr_size - v->hdr_until)
		return fail(v, 0,
		    "line %llu: the suffix must hold the %llu leaf hashes of events %llu..%llu",
		    (unsigned long long)v->lineno, (unsigned long long)(v->hdr_size - v->hdr_until),
		    (unsigned long long)(v->hdr_until + 1), (unsigned long long)v->hdr_size);
	for (i = 0; i < json_array_size(a); i++) {
		const json_t *h = json_array_get(a, i);

		if (!json_is_string(h) || sl_hex_decode(json_string_value(h), json_string_length(h),
		                              leaf, MERKLE_HASH_BYTES) != 0)
			return fail(v, 0, "line %llu: suffix leaf %zu is not a hash",
			    (unsigned long long)v->lineno, i);
		if ((r = merkle_frontier_append(&v->f, leaf)) != 0)
			return r;
	}
	v->suffix = 1;
	return 0;
}

static int
do_checkpoint(struct verifier *v, const json_t *j)
{
	uint8_t root[MERKLE_HASH_BYTES];
	enum keys_suite suite;
	uint64_t have = merkle_frontier_size(&v->f);
	int r;

	if (v->checkpoint)
		return fail(v, 0, "line %llu: a second checkpoint", (unsigned long long)v->lineno);
	v->checkpoint = 1;
	if ((r = line_check(v, j, "the checkpoint line", CHECKPOINT_LINE_MEMBERS)) != 0)
		return r;
	sl_err_clear();
	if ((r = audit_checkpoint_verify(j, v->key, &v->cp_size, v->cp_root, &suite)) != 0)
		return fail(v, 0, "line %llu: %s", (unsigned long long)v->lineno,
		    r == SL_ERR_AUTH && strstr(sl_err_msg(r), "names signing key") == NULL
		        ? "checkpoint: bad signature (not signed by this platform key, or altered)"
		        : sl_err_msg(r));
	if (suite != v->res->suite)
		return fail(v, 0, "checkpoint: suite differs from the header's");
	v->res->tree_size = v->cp_size;
	sl_hex_encode(v->cp_root, MERKLE_HASH_BYTES, v->res->root);
	snprintf(v->res->checkpoint_time, sizeof(v->res->checkpoint_time), "%s",
	    json_string_value(json_object_get(json_object_get(j, "checkpoint"), "time")));
	if (have < v->cp_size)
		return fail(v, have + 1,
		    "event seq %llu: missing (truncated: the checkpoint covers "
		    "%llu events, the file %llu)",
		    (unsigned long long)(have + 1), (unsigned long long)v->cp_size,
		    (unsigned long long)have);
	if (have > v->cp_size)
		return fail(v, v->cp_size + 1,
		    "event seq %llu: extra (not covered by the signed checkpoint of %llu events)",
		    (unsigned long long)(v->cp_size + 1), (unsigned long long)v->cp_size);
	if (v->hdr_size != v->cp_size || v->expect - 1 != v->hdr_until)
		return fail(v, 0,
		    "header claims events ..%llu of %llu, but the file holds ..%llu "
		    "of a signed tree of %llu",
		    (unsigned long long)v->hdr_until, (unsigned long long)v->hdr_size,
		    (unsigned long long)(v->expect - 1), (unsigned long long)v->cp_size);
	if ((r = merkle_frontier_root(&v->f, root)) != 0)
		return r;
	if (memcmp(root, v->cp_root, MERKLE_HASH_BYTES) != 0)
		return fail(v, 0,
		    "root mismatch: the events do not hash to the signed root (an "
		    "event was edited together with its leaf hash, or reordered)");
	return 0;
}

/*
 * The consistency line is checked whether or not --since is given: its proof
 * must lead from (from_size, from_root) to the signed head.  Only a trusted
 * checkpoint of from_size with that root (--since) makes it mean anything, so
 * without one res->proof_size says a proof was checked but not anchored.
 */
static int
do_consistency(struct verifier *v, const json_t *j, const json_t *since)
{
	uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], root_m[MERKLE_HASH_BYTES];
	uint8_t from_root[MERKLE_HASH_BYTES];
	const json_t *fs = json_object_get(j, "from_size"), *fr = json_object_get(j, "from_root");
	const json_t *ts = json_object_get(j, "to_size");
	enum keys_suite suite;
	uint64_t m, since_m;
	size_t n;
	int r;

	if (!v->checkpoint || v->consistency)
		return fail(v, 0, "line %llu: consistency proof out of place",
		    (unsigned long long)v->lineno);
	v->consistency = 1;
	if ((r = line_check(v, j, "the consistency line", CONSISTENCY_MEMBERS)) != 0)
		return r;
	if (!json_is_integer(fs) || json_integer_value(fs) < 1 || !json_is_integer(ts) ||
	    (uint64_t)json_integer_value(ts) != v->cp_size ||
	    (uint64_t)json_integer_value(fs) > v->cp_size)
		return fail(v, 0,
		    "line %llu: the consistency proof must run from a \"from_size\" in 1..%llu "
		    "to \"to_size\" %llu, the signed tree size",
		    (unsigned long long)v->lineno, (unsigned long long)v->cp_size,
		    (unsigned long long)v->cp_size);
	m = (uint64_t)json_integer_value(fs);
	if (!json_is_string(fr) ||
	    sl_hex_decode(
	        json_string_value(fr), json_string_length(fr), from_root, MERKLE_HASH_BYTES) != 0 ||
	    hashes(json_object_get(j, "proof"), proof, MERKLE_MAX_PROOF, &n) != 0)
		return fail(
		    v, 0, "line %llu: malformed consistency proof", (unsigned long long)v->lineno);
	if (merkle_consistency_verify(v->res->suite, m, v->cp_size, from_root, v->cp_root,
	        (const uint8_t(*)[MERKLE_HASH_BYTES])proof, n) != 0)
		return fail(v, 0,
		    "line %llu: consistency proof mismatch: the log of %llu events it starts "
		    "from is not a prefix of this one (history rewritten)",
		    (unsigned long long)v->lineno, (unsigned long long)m);
	v->res->proof_size = m;
	if (since == NULL)
		return 0;
	sl_err_clear();
	if ((r = audit_checkpoint_verify(since, v->key, &since_m, root_m, &suite)) != 0)
		return fail(v, 0, "--since checkpoint: %s",
		    r == SL_ERR_AUTH ? "bad signature" : sl_err_msg(r));
	if (since_m != m || memcmp(from_root, root_m, MERKLE_HASH_BYTES) != 0)
		return fail(v, 0,
		    "consistency proof is from tree size %llu, not from the --since "
		    "checkpoint (tree size %llu)",
		    (unsigned long long)m, (unsigned long long)since_m);
	v->res->since_size = m;
	return 0;
}

/*
 * The header's platform_key must be a public key whether or not one is
 * given; with one (--key) it must be that key, so that a file never names a
 * key other than the one that verified it.
 */
static int
header_key(struct verifier *v, const json_t *k)
{
	char want[KEYS_FINGERPRINT_MAX], got[KEYS_FINGERPRINT_MAX];
	int r;

	if (!json_is_string(k) ||
	    keys_pubkey_from_pem(json_string_value(k), json_string_length(k), &v->header_key) != 0)
		return fail(v, 0,
		    "line 1: \"platform_key\" is not an Ed25519 or SM2 public key (SPKI PEM)");
	if (v->key == NULL) {
		v->key = v->header_key;
		v->res->key_from_header = 1;
		return 0;
	}
	if (keys_pubkey_equal(v->key, v->header_key))
		return 0;
	if ((r = keys_pubkey_fingerprint(v->header_key, got)) != 0 ||
	    (r = keys_pubkey_fingerprint(v->key, want)) != 0)
		return r;
	return fail(
	    v, 0, "line 1: the header's \"platform_key\" is %s, not the --key %s", got, want);
}

static int
do_header(struct verifier *v)
{
	const json_t *t, *fmt, *s, *from, *ts, *until;
	json_t *h;
	int r = 0;

	if ((r = next_line(v)) != 0)
		return r == 1 ? fail(v, 0, "empty file: no header") : r;
	if ((h = parse_line(v)) == NULL)
		return fail(v, 0, "line 1: header is not a JSON object");
	t = json_object_get(h, "type");
	fmt = json_object_get(h, "format");
	s = json_object_get(h, "suite");
	from = json_object_get(h, "from");
	ts = json_object_get(h, "tree_size");
	until = json_object_get(h, "until");
	if (!json_is_string(t) || strcmp(json_string_value(t), AUDIT_EXPORT_TYPE) != 0)
		r = fail(v, 0, "line 1: not a Sluice audit export (type must be \"%s\")",
		    AUDIT_EXPORT_TYPE);
	else if (!json_is_integer(fmt) || json_integer_value(fmt) != AUDIT_FORMAT)
		r = fail(v, 0, "line 1: export format %lld; this verifier reads format %d",
		    (long long)json_integer_value(fmt), AUDIT_FORMAT);
	else if ((r = line_check(v, h, "the header", HEADER_MEMBERS)) != 0)
		;
	else if (!json_is_string(s) || keys_suite_parse(json_string_value(s), &v->res->suite) != 0)
		r = fail(v, 0, "line 1: unknown suite");
	else if (!json_is_integer(from) || json_integer_value(from) < 1 || !json_is_integer(ts) ||
	         !json_is_integer(until) ||
	         json_integer_value(until) < json_integer_value(from) - 1 ||
	         json_integer_value(ts) < json_integer_value(until))
		r = fail(v, 0,
		    "line 1: \"from\", \"until\" and \"tree_size\" must be integers "
		    "with 1 <= from <= until + 1 and until <= tree_size");
	else
		r = header_key(v, json_object_get(h, "platform_key"));
	if (r == 0) {
		v->expect = v->hdr_from = (uint64_t)json_integer_value(from);
		v->hdr_size = (uint64_t)json_integer_value(ts);
		v->hdr_until = (uint64_t)json_integer_value(until);
		if (keys_pubkey_suite(v->key) != v->res->suite)
			r = fail(v, 0, "the platform key is a %s key but the export is in suite %s",
			    keys_suite_name(keys_pubkey_suite(v->key)),
			    keys_suite_name(v->res->suite));
		else
			r = merkle_frontier_init(&v->f, v->res->suite);
	}
	json_decref(h);
	return r;
}

/* One line after the header that is not an event. */
static int
do_line(struct verifier *v, const json_t *since)
{
	const char *type;
	json_t *j;
	int r;

	if ((j = parse_line(v)) == NULL)
		return fail(v, v->events_seen ? v->expect : 0, "line %llu: not a JSON object",
		    (unsigned long long)v->lineno);
	type = json_string_value(json_object_get(j, "type"));
	if (type == NULL)
		r = fail(v, 0, "line %llu: no \"type\"", (unsigned long long)v->lineno);
	else if (strcmp(type, "prefix") == 0)
		r = do_prefix(v, j);
	else if ((r = need_prefix(v)) != 0)
		;
	else if (strcmp(type, "suffix") == 0)
		r = do_suffix(v, j);
	else if (strcmp(type, "checkpoint") == 0)
		r = do_checkpoint(v, j);
	else if (strcmp(type, "consistency") == 0)
		r = do_consistency(v, j, since);
	else
		r = fail(v, 0, "line %llu: unknown line type \"%.64s\"",
		    (unsigned long long)v->lineno, type);
	json_decref(j);
	return r;
}

int
audit_verify_file(const char *path, const struct keys_pubkey *key, const json_t *since,
    struct audit_verify_result *res)
{
	struct verifier v;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	v.res = res;
	v.key = key;
	if ((v.in = fopen(path, "r")) == NULL)
		return sl_errf(SL_ERR_IO, "%s: %s", path, strerror(errno));
	if ((r = do_header(&v)) != 0)
		goto out;
	while ((r = next_line(&v)) == 0) {
		if ((r = is_event_line(&v) ? do_event(&v) : do_line(&v, since)) != 0)
			goto out;
	}
	if (r != 1)
		goto out;
	r = 0;
	if (!v.checkpoint)
		r = fail(&v, v.expect,
		    "truncated: the file ends after event seq %llu without a "
		    "checkpoint",
		    (unsigned long long)(v.expect - 1));
	else if (since != NULL && !v.consistency)
		r = fail(&v, 0, "no consistency proof in the file; export it with --since");
out:
	free(v.line);
	keys_pubkey_free(v.header_key);
	fclose(v.in);
	return r;
}
