/*
 * sandbox/job.h -- the job protocol between the broker and sluice-worker.
 *
 * The only header broker/ and sandbox/ share (docs/architecture.md).  The
 * broker starts the worker with fork+exec, the worker's end of a socketpair
 * on descriptor JOB_FD, and speaks in frames:
 *
 *     type (u32, big-endian) || length (u32, big-endian) || payload
 *
 * A payload is at most JOB_FRAME_MAX bytes.  Its fields are written and read
 * in the same order by the one encoder/decoder pair for that frame, below; a
 * short frame, an oversized one, an unknown type or trailing bytes fail the
 * job.  The broker never aborts because of something a worker sent.
 *
 * Order of a job, as the permit table job_permit() has it (the broker's
 * spawn_send(), spawn_recv() and spawn_poll() consult it; nothing else checks
 * order):
 *
 *   ingest, rekey:
 *     broker -> worker   HEADER (trusted: from the catalog)
 *     broker -> worker   DATA* END            (ingest: the untrusted upload; rekey: END)
 *     worker -> broker   PROGRESS* then RESULT or ERROR (an ERROR may come at any time)
 *                        (ingest: PROGRESS may come while the broker still
 *                        streams; the broker checks its counts and shows them)
 *
 *   query (two phases, docs/architecture.md):
 *     broker -> worker   HEADER, DATA* END    (the SQL text: untrusted)
 *     worker -> broker   PLAN or ERROR        (ERROR: the text is not a query)
 *     broker -> worker   GO or ABORT          (the broker checked the plan)
 *     worker -> broker   PROGRESS* then RESULT (raw per-group aggregates) or ERROR
 *
 * A worker never sends free text: an ERROR frame is a code from enum
 * job_error and its places (line, column, and the rule broken), and the
 * broker writes the words from its own copy of the input (sandbox/job.h's
 * tables below name every rule).  PLAN and RESULT are binary too
 * (docs/query-protocol.md): columns are schema indices, functions are
 * common/fn.h's numbers, and an output's alias is a place in the query
 * text, so every name the buyer sees is the broker's own.
 */
#ifndef SLUICE_SANDBOX_JOB_H
#define SLUICE_SANDBOX_JOB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/aead.h"

/* 4: the HEADER ends with the contribution bound (3: PLAN and RESULT are binary). */
#define JOB_PROTOCOL_VERSION 5
/* Threads a job may run (HEADER threads), created only after confinement. */
#define JOB_THREADS_MAX 64
#define JOB_FD 3
#define JOB_FRAME_HEAD 8
#define JOB_FRAME_MAX (4u << 20)
#define JOB_KEY_BYTES KEYS_AEAD_KEY_BYTES /* a data key (keys/dek.h) */
/* Rows per store chunk (STORE_CHUNK_ROWS), for the broker's check of a worker's counts. */
#define JOB_CHUNK_ROWS 65536u

/* sluice-worker's exit statuses, read by the broker (broker/spawn.c). */
#define JOB_EXIT_OK 0     /* the job ran; its last frame (RESULT or ERROR) says how */
#define JOB_EXIT_FAILED 1 /* the job failed; an ERROR frame was sent if the socket allowed */
#define JOB_EXIT_USAGE 2  /* not started by the broker: no job socket on JOB_FD */
#define JOB_EXIT_NOMEM 3  /* an allocation failed: under RLIMIT_AS, the memory limit */

enum job_frame {
	JOB_FRAME_HEADER = 1,
	JOB_FRAME_DATA = 2,
	JOB_FRAME_END = 3,
	JOB_FRAME_PROGRESS = 4,
	JOB_FRAME_RESULT = 5,
	JOB_FRAME_ERROR = 6,
	JOB_FRAME_PLAN = 7,  /* worker -> broker: a query's plan (job_plan_encode()) */
	JOB_FRAME_GO = 8,    /* broker -> worker: the plan is allowed; scan */
	JOB_FRAME_ABORT = 9, /* broker -> worker: refused; payload is the reason */
};

enum job_kind {
	JOB_KIND_INGEST = 1,
	JOB_KIND_QUERY = 2,
	JOB_KIND_REKEY = 3, /* re-seal data_version under new_key as params.target_version */
	/* Confinement probes; the worker accepts them only when built for tests. */
	JOB_KIND_TEST = 100,
};

struct job_header {
	uint32_t version;      /* JOB_PROTOCOL_VERSION */
	uint32_t kind;         /* enum job_kind */
	uint32_t suite;        /* enum keys_suite */
	uint32_t cpu_seconds;  /* RLIMIT_CPU */
	uint64_t memory_bytes; /* RLIMIT_AS: added to what is mapped when the worker confines */
	uint64_t map_bytes;    /* LMDB map size for the store */
	uint32_t data_version; /* store version to write (ingest) or read (query) */
	uint32_t key_version;  /* data key version */
	uint8_t key[JOB_KEY_BYTES];     /* the product's data key; wiped by job_header_clear() */
	uint8_t new_key[JOB_KEY_BYTES]; /* rekey only: the new data key; wiped with key */
	char *store;                    /* path of the product's LMDB environment directory */
	char *product;                  /* product id (binds chunk AAD) */
	char *schema;                   /* product schema, JSON */
	char *params;                   /* kind-specific parameters, JSON */
	/*
	 * The unprivileged user a worker started as root drops to before it
	 * confines itself (never 0).  spawn_send_header() fills them in.
	 */
	uint32_t uid;
	uint32_t gid;
	/*
	 * Query in dp mode: each unit keeps at most bound_rows of the rows its
	 * filter selects, those of the smallest keyed hash under bound_key (the
	 * contract's), so what a unit contributes is bounded and does not depend
	 * on row order.  0: no bound.  bound_key is wiped with key.
	 */
	uint32_t bound_rows;
	uint8_t bound_key[JOB_KEY_BYTES];
	/*
	 * Threads the job may run, 1 to JOB_THREADS_MAX: the broker's choice.
	 * RLIMIT_CPU (cpu_seconds) is then for all of them together.
	 */
	uint32_t threads;
};

/* Write one frame; handles short writes and EINTR.  0 or SL_ERR_IO. */
int job_frame_write(int fd, uint32_t type, const void *payload, size_t len)
    __attribute__((warn_unused_result));

/* A confinement probe's RESULT: one compact JSON document; takes doc (NULL: SL_ERR_NOMEM). */
int job_frame_write_json(int fd, uint32_t type, json_t *doc) __attribute__((warn_unused_result));

/*
 * Read one frame.  On success *payload is a new buffer (NUL-terminated for
 * convenience; caller frees) of *len bytes.  SL_ERR_PARSE for a length above
 * max or an unknown type, SL_ERR_IO for a short read (peer gone).
 */
int job_frame_read(int fd, uint32_t *type, uint8_t **payload, size_t *len, size_t max)
    __attribute__((warn_unused_result));

/* HEADER payload.  *out is freed (after wiping: it holds the key) with job_wipe_free(). */
int job_header_encode(const struct job_header *h, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));
int job_header_decode(const uint8_t *p, size_t len, struct job_header *h)
    __attribute__((warn_unused_result));
/* Free the strings and wipe the key; h may be zeroed or partially decoded. */
void job_header_clear(struct job_header *h);

/* PROGRESS payload: rows and input bytes consumed so far. */
int job_progress_encode(uint64_t rows, uint64_t bytes, uint8_t out[16]);
int job_progress_decode(const uint8_t *p, size_t len, uint64_t *rows, uint64_t *bytes)
    __attribute__((warn_unused_result));

/* ---- the frame head, the one parser of both sides ------------------------ */

void job_frame_head_put(uint8_t head[JOB_FRAME_HEAD], uint32_t type, uint32_t len);
/* SL_ERR_PARSE (message recorded) for an unknown type or a length above JOB_FRAME_MAX. */
int job_frame_head_get(const uint8_t head[JOB_FRAME_HEAD], uint32_t *type, uint32_t *len)
    __attribute__((warn_unused_result));
/* "HEADER", "DATA", ...; NULL for a type that is not a frame. */
const char *job_frame_name(uint32_t type);

/* ---- the permit table ---------------------------------------------------- */

/*
 * Where a job's conversation is.  Like OpenSSH's MON_PERMIT, each state
 * admits a few frames, each from one side, and names the state that follows.
 */
enum job_state {
	JOB_ST_START = 0, /* nothing sent: only the broker's HEADER */
	JOB_ST_INPUT,     /* the broker streams DATA until END */
	JOB_ST_PLAN,      /* query: the worker owes PLAN (or ERROR) */
	JOB_ST_VERDICT,   /* query: the broker owes GO or ABORT */
	JOB_ST_RUN,       /* the worker works: PROGRESS*, then RESULT or ERROR */
	JOB_ST_ABORTED,   /* query after ABORT: at most the worker's ERROR */
	JOB_ST_DONE,      /* a final frame came: nothing more from the worker */
};

enum job_side { JOB_FROM_BROKER, JOB_FROM_WORKER };

/*
 * The state after side sends a frame of type in state st of a job of kind
 * (enum job_kind; 0 while the header's kind is unknown), or -1 when that
 * frame is not permitted there.
 */
int job_permit(uint32_t kind, enum job_state st, enum job_side side, uint32_t type);

/* The kind a HEADER payload names (0 when it is too short to say); no other check. */
uint32_t job_header_kind(const uint8_t *p, size_t len);

/* ---- GO ------------------------------------------------------------------ */

/* GO: empty, or the units cap (u32): units need counting only up to it. */
int job_go_decode(const uint8_t *p, size_t len, uint32_t *units_cap)
    __attribute__((warn_unused_result));
size_t job_go_encode(uint32_t units_cap, uint8_t out[4]);

/* ---- ERROR: a code and places, never text -------------------------------- */

/* What failed.  The broker decides from the code whether the input was at fault. */
enum job_error {
	JOB_ERR_INTERNAL = 1, /* a bug: a "cannot happen" branch */
	JOB_ERR_NOMEM,        /* an allocation failed */
	JOB_ERR_IO,           /* the store could not be read or written */
	JOB_ERR_INTEGRITY,    /* a chunk or the manifest failed authentication */
	JOB_ERR_HEADER,       /* the broker's header is malformed or of another version */
	JOB_ERR_PROTOCOL,     /* the broker's frames came out of order or malformed */
	JOB_ERR_LIMIT,        /* a resource limit: the map is full, a sum overflows */
	JOB_ERR_UNSUPPORTED,  /* a job kind this worker does not run */
	JOB_ERR_QUERY,        /* the query text breaks a rule: see the place */
	JOB_ERR_INPUT,        /* the upload: rows break rules; see the places */
	JOB_ERR_ABORTED,      /* the broker refused the plan */
	JOB_ERR_FULL,         /* the new version outgrew its LMDB map (MDB_MAP_FULL) */
	JOB_ERR_DISK_FULL,    /* the filesystem of the store is full (ENOSPC, EDQUOT) */
	JOB_ERR_MAX_ = JOB_ERR_DISK_FULL,
};

/*
 * The rule an input broke, in words both sides take from job_rule_text():
 * the worker picks the rule, the broker prints it with what the place
 * names.  In a template %T is the token at the place, quoted from the
 * broker's copy of the input (length bytes; or, when length is 0, the word
 * there, or "end of query" at the end), %W the same without the quotes;
 * %P the phrase (job_phrase_text());
 * %C the schema column named by field, %K its type and %H its type with a
 * hint how to write a literal of it; %R the product; %N the number.
 */
enum job_rule {
	JOB_RULE_NONE = 0,
	JOB_RULE_EXPECTED,
	JOB_RULE_BAD_TOKEN,
	JOB_RULE_NUL,
	JOB_RULE_UTF8,
	JOB_RULE_UNTERMINATED,
	JOB_RULE_EMPTY_QUOTED,
	JOB_RULE_CONTROL_QUOTED,
	JOB_RULE_OUT_OF_RANGE,
	JOB_RULE_NOT_A_DATE,
	JOB_RULE_BUCKET_WIDTH,
	JOB_RULE_NESTING,
	JOB_RULE_LIKE_PREFIX,
	JOB_RULE_TOO_LONG,
	JOB_RULE_NO_COLUMN,
	JOB_RULE_LITERAL_TYPE,
	JOB_RULE_LITERAL_NUMBER,
	JOB_RULE_LITERAL_TEXT,
	JOB_RULE_NEEDS_TEXT,
	JOB_RULE_NEEDS_DATE,
	JOB_RULE_NEEDS_NUMERIC,
	JOB_RULE_BUCKET_MULTIPLE,
	JOB_RULE_ORDER_NAME,
	JOB_RULE_ORDER_AMBIGUOUS,
	JOB_RULE_GROUP_MISSING,
	JOB_RULE_OTHER_PRODUCT,
	JOB_RULE_TOO_MANY,
	JOB_RULE_SUM_OVERFLOW,
	JOB_RULE_SQUARES_OVERFLOW,
	JOB_RULE_REAL_OVERFLOW,
	JOB_RULE_GROUPS,
	JOB_RULE_BUCKET_RANGE,
	/*
	 * Ingest: a place in the uploaded file (line, byte column, length the
	 * bytes there or 0), job_rule_is_ingest().  The broker quotes the file
	 * it holds: %Q the bytes at the place in double quotes (a quoted CSV
	 * field unquoted; "the value" when length is 0), %X the byte there as
	 * 0xNN; %B the column's bounds, %F the schema's column count.
	 */
	JOB_RULE_INGEST_UTF8, /* the reader_error rules (sandbox/reader.h) */
	JOB_RULE_INGEST_QUOTE,
	JOB_RULE_INGEST_AFTER_QUOTE,
	JOB_RULE_INGEST_CR,
	JOB_RULE_INGEST_UNTERMINATED,
	JOB_RULE_INGEST_FIELD_LONG,
	JOB_RULE_INGEST_FIELDS,
	JOB_RULE_INGEST_LINE_LONG,
	JOB_RULE_INGEST_RECORD_LONG,
	JOB_RULE_INGEST_BLANK,
	JOB_RULE_INGEST_JSON,
	JOB_RULE_INGEST_NOT_OBJECT,
	JOB_RULE_INGEST_HEADER_UNKNOWN, /* the CSV header */
	JOB_RULE_INGEST_HEADER_TWICE,
	JOB_RULE_INGEST_HEADER_MISSING,
	JOB_RULE_INGEST_FIELD_COUNT,  /* a record of %N fields; the header has the schema's */
	JOB_RULE_INGEST_NOT_NULLABLE, /* a value (sandbox/value.h) */
	JOB_RULE_INGEST_INT_RANGE,
	JOB_RULE_INGEST_NOT_INT,
	JOB_RULE_INGEST_NOT_DECIMAL,
	JOB_RULE_INGEST_NOT_NUMBER,
	JOB_RULE_INGEST_NOT_FINITE,
	JOB_RULE_INGEST_NOT_DATE,
	JOB_RULE_INGEST_NOT_BOOL,
	JOB_RULE_INGEST_NOT_IN_DOMAIN,
	JOB_RULE_INGEST_OUT_OF_BOUNDS,
	JOB_RULE_INGEST_JSON_STRING, /* a JSON Lines value of the wrong JSON type */
	JOB_RULE_INGEST_JSON_BOOL,
	JOB_RULE_INGEST_JSON_NUMBER,
	JOB_RULE_INGEST_UNKNOWN_KEY,
	JOB_RULE_INGEST_EMPTY_FILE, /* the upload as a whole */
	JOB_RULE_INGEST_NO_ROWS,
	JOB_RULE_MAX_ = JOB_RULE_INGEST_NO_ROWS,
};

#define JOB_RULE_INGEST_FIRST_ JOB_RULE_INGEST_UTF8
#define JOB_RULE_INGEST_LAST_ JOB_RULE_INGEST_NO_ROWS

/* The phrases a rule may name (%P): the only words a worker chooses. */
enum job_phrase {
	JOB_PHRASE_NONE = 0,
	JOB_PHRASE_COLUMN,      /* "a column" */
	JOB_PHRASE_NAME,        /* "a name" */
	JOB_PHRASE_PRODUCT,     /* "a product name" */
	JOB_PHRASE_LITERAL,     /* "a literal" */
	JOB_PHRASE_DATE,        /* "a date 'YYYY-MM-DD'" */
	JOB_PHRASE_ROW_COUNT,   /* "a row count" */
	JOB_PHRASE_PATTERN,     /* "a 'prefix%' pattern" */
	JOB_PHRASE_PREDICATE,   /* "a comparison, BETWEEN, IN, IS or LIKE" */
	JOB_PHRASE_BETWEEN_IN,  /* "BETWEEN or IN" */
	JOB_PHRASE_STAR,        /* "'*' or DISTINCT" */
	JOB_PHRASE_ITEM,        /* "a column or an aggregate" */
	JOB_PHRASE_END,         /* "end of query" */
	JOB_PHRASE_LPAREN,      /* "'('" */
	JOB_PHRASE_RPAREN,      /* "')'" */
	JOB_PHRASE_COMMA,       /* "','" */
	JOB_PHRASE_COMMA_PAREN, /* "',' or ')'" */
	JOB_PHRASE_SELECT,      /* "SELECT" */
	JOB_PHRASE_FROM,        /* "FROM" */
	JOB_PHRASE_BY,          /* "BY" */
	JOB_PHRASE_AND,         /* "AND" */
	JOB_PHRASE_NULL,        /* "NULL" */
	JOB_PHRASE_NUMBER,      /* "invalid number" */
	JOB_PHRASE_STRING,      /* "string" */
	JOB_PHRASE_QUOTED_NAME, /* "quoted name" */
	JOB_PHRASE_FUNCTION,    /* "unknown function" */
	JOB_PHRASE_DECIMAL,     /* "decimal" */
	JOB_PHRASE_INTEGER,     /* "integer" */
	JOB_PHRASE_LIKE,        /* "LIKE" */
	JOB_PHRASE_YEAR,        /* "YEAR" */
	JOB_PHRASE_MONTH,       /* "MONTH" */
	JOB_PHRASE_BUCKET,      /* "BUCKET" */
	JOB_PHRASE_AGGREGATE,   /* "an aggregate": e.g. SUM */
	JOB_PHRASE_GROUP_KEYS,  /* "GROUP BY keys" */
	JOB_PHRASE_IN_VALUES,   /* "values in IN" */
	JOB_PHRASE_ITEMS,       /* "items in SELECT" */
	JOB_PHRASE_LIMIT,       /* "LIMIT" */
	/* The aggregates, by the names a query and a PLAN use. */
	JOB_PHRASE_COUNT,
	JOB_PHRASE_SUM,
	JOB_PHRASE_AVG,
	JOB_PHRASE_STDDEV,
	JOB_PHRASE_VARIANCE,
	JOB_PHRASE_MIN,
	JOB_PHRASE_MAX,
	JOB_PHRASE_MAX_ = JOB_PHRASE_MAX,
};

/* One place an input broke a rule.  0 means "not known" for each number. */
struct job_place {
	uint32_t line;   /* 1-based */
	uint32_t column; /* 1-based, in characters (ingest: in bytes) */
	uint32_t length; /* bytes of the token there (%T, %Q); 0: the end of the input, or none */
	uint32_t rule;   /* enum job_rule */
	uint32_t phrase; /* enum job_phrase (or, for ingest rules, the aggregate etc.) */
	uint32_t field;  /* schema column index + 1 (%C, %K), or 0 */
	uint64_t number; /* %N */
};

#define JOB_PLACES_MAX 100 /* places an ERROR carries; total counts the rest */

struct job_error_frame {
	uint32_t code;  /* enum job_error */
	uint64_t total; /* places found, of which the first nplaces are here */
	size_t nplaces;
	struct job_place places[JOB_PLACES_MAX];
};

/* An encoded ERROR's largest size: code, total, count, then 32 bytes a place. */
#define JOB_ERROR_MAX (16 + 32 * JOB_PLACES_MAX)

/* Encodes into out without allocating (an ERROR may report running out of memory). */
int job_error_encode(const struct job_error_frame *e, uint8_t out[JOB_ERROR_MAX], size_t *len)
    __attribute__((warn_unused_result));
/* SL_ERR_PARSE for a code, rule or phrase outside the tables, or a count out of range. */
int job_error_decode(const uint8_t *p, size_t len, struct job_error_frame *e)
    __attribute__((warn_unused_result));

/* "the store failed authentication", ...; static.  NULL outside the table. */
const char *job_error_text(uint32_t code);
/* The rule's template (see enum job_rule); NULL outside the table. */
const char *job_rule_text(uint32_t rule);
/* Whether rule is one of an ingest's (a place in a file), not of a query's text. */
int job_rule_is_ingest(uint32_t rule);
/* The phrase's words; NULL outside the table. */
const char *job_phrase_text(uint32_t phrase);
/* The phrase of exactly these words, or JOB_PHRASE_NONE. */
uint32_t job_phrase_find(const char *words);

/* ---- PLAN: what a query reads and computes ------------------------------- */

#define JOB_PLAN_LIST_MAX 4096   /* entries of each list of a PLAN */
#define JOB_NO_COLUMN UINT32_MAX /* COUNT(*)'s column */

/* A stretch of the query text: line and column as a place has them, length in bytes. */
struct job_span {
	uint32_t line, column, length; /* length 0: none */
};

struct job_plan_key {
	uint32_t fn;  /* enum fn_key */
	uint32_t col; /* schema index */
	/* BUCKET: its width's number in the text (the broker reads the width there) */
	struct job_span width;
};

struct job_plan_agg {
	uint32_t fn;    /* enum fn_agg */
	uint32_t col;   /* schema index; JOB_NO_COLUMN for COUNT(*) */
	uint32_t clamp; /* values are clamped to the column's bounds */
};

struct job_plan_output {
	uint32_t is_agg;
	uint32_t index;        /* into keys or aggs */
	struct job_span alias; /* the AS name in the text; length 0 when there is none */
};

struct job_plan_order {
	uint32_t output;
	uint32_t desc;
};

struct job_plan {
	uint32_t *reads; /* columns the scan reads */
	size_t nreads;
	uint32_t *filters; /* columns the filter tests */
	size_t nfilters;
	struct job_plan_key *keys;
	size_t nkeys;
	struct job_plan_agg *aggs;
	size_t naggs;
	struct job_plan_output *outputs;
	size_t noutputs;
	struct job_plan_order *order;
	size_t norder;
	uint32_t has_limit;
	uint64_t limit;
};

int job_plan_encode(const struct job_plan *p, uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));
/*
 * SL_ERR_PARSE for anything but a well-formed plan: a list above
 * JOB_PLAN_LIST_MAX, a function outside common/fn.h's tables, an output or
 * ORDER BY that refers to nothing, trailing bytes.  Columns are left to the
 * broker's check, which has the schema.  Free with job_plan_clear().
 */
int job_plan_decode(const uint8_t *p, size_t len, struct job_plan *out)
    __attribute__((warn_unused_result));
void job_plan_clear(struct job_plan *p);

/* ---- RESULT: raw per-group aggregates ------------------------------------ */

enum job_value_type { JOB_VALUE_NULL = 0, JOB_VALUE_INT, JOB_VALUE_REAL, JOB_VALUE_TEXT };

struct job_value {
	uint32_t type; /* enum job_value_type */
	int64_t i;
	double r;
	const uint8_t *s; /* TEXT: len bytes; the decoder's point into the payload */
	uint32_t len;
};

/*
 * One aggregate's state in one group.  What is sent depends on fn: COUNT n;
 * COUNT_DISTINCT n (the distinct values); MIN, MAX n and value (the
 * extreme); SUM, AVG n and value (the sum); STDDEV, VARIANCE n, value (the
 * sum) and, for an INT sum, sumsq, for a REAL one m2 (squared deviations).
 */
struct job_agg_state {
	uint64_t n;
	struct job_value value;
	__int128 sumsq;
	double m2;
};

struct job_group {
	struct job_value *keys;     /* nkeys of them */
	uint64_t rows, units;       /* rows in the group, distinct units among them */
	struct job_agg_state *aggs; /* naggs of them, in the plan's order */
};

struct job_result {
	uint64_t rows_scanned;
	size_t nkeys, naggs;
	struct job_group *groups;
	size_t ngroups;
	/* the arrays groups point into */
	struct job_value *key_pool;
	struct job_agg_state *agg_pool;
	uint8_t *text_pool; /* built by the worker: its TEXT values (decode: NULL, they are in p) */
};

/* agg_fns[i]: the fn of aggregate i (the plan's). */
int job_result_encode(const struct job_result *res, const uint32_t *agg_fns, uint8_t **out,
    size_t *len) __attribute__((warn_unused_result));
/*
 * Decode a RESULT for the plan it answers.  TEXT values point into p, which
 * must outlive out.  SL_ERR_PARSE for a count or type that does not fit the
 * plan or the payload, or trailing bytes.  Free with job_result_clear().
 */
int job_result_decode(const uint8_t *p, size_t len, const struct job_plan *plan,
    struct job_result *out) __attribute__((warn_unused_result));
void job_result_clear(struct job_result *r);

/* ---- RESULT of a job that wrote a version (ingest, rekey) ---------------- */

#define JOB_DIGEST_BYTES 32 /* the suite's hash of the sealed manifest (KEYS_HASH_BYTES) */
#define JOB_WRITTEN_BYTES (3 * 8 + JOB_DIGEST_BYTES)

/* What the worker claims it wrote; the broker checks it against the version. */
struct job_written {
	uint64_t rows, chunks, bytes; /* rows, data chunks of all columns, sealed bytes */
	uint8_t manifest[JOB_DIGEST_BYTES];
};

void job_written_encode(const struct job_written *w, uint8_t out[JOB_WRITTEN_BYTES]);
/* SL_ERR_PARSE (message recorded) unless len is JOB_WRITTEN_BYTES. */
int job_written_decode(const uint8_t *p, size_t len, struct job_written *w)
    __attribute__((warn_unused_result));

void job_wipe_free(void *p, size_t len);

#endif
