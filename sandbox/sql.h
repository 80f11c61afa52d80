/*
 * sandbox/sql.h -- the buyer's query language (README.md, "The query language"), parsed.
 *
 * Runs only inside the confined worker: the text is untrusted.  The parser is
 * hand-written recursive descent over a length-delimited buffer; it checks
 * UTF-8, refuses NUL bytes, bounds nesting (SQL_MAX_DEPTH) and turns every
 * mistake into "line:column: expected X, found Y" (sl_err_msg()).
 *
 * The tree says only what the text says.  Whether a column exists, has the
 * right type or class, or whether an ORDER BY name matches an item is the
 * planner's business (sandbox/plan.h), which has the schema.
 */
#ifndef SLUICE_SANDBOX_SQL_H
#define SLUICE_SANDBOX_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "common/fn.h"

#define SQL_MAX_DEPTH 64        /* nesting of ( ) and NOT in a condition */
#define SQL_MAX_TEXT (1u << 20) /* bytes of query text */

struct sql_pos {
	uint32_t line; /* 1-based */
	uint32_t col;  /* 1-based, in characters (UTF-8 sequences count once) */
};

enum sql_lit_type {
	SQL_LIT_INT,     /* i */
	SQL_LIT_DECIMAL, /* i scaled by 10^scale: 12.50 is i=1250, scale=2 */
	SQL_LIT_STRING,  /* s, len bytes (valid UTF-8, no NUL) */
	SQL_LIT_DATE,    /* i: days since 1970-01-01 (DATE 'YYYY-MM-DD', a valid date) */
	SQL_LIT_BOOL,    /* i: 0 or 1 */
};

struct sql_literal {
	enum sql_lit_type type;
	int64_t i;
	uint32_t scale; /* DECIMAL only: digits after the point, at most 18 */
	char *s;        /* STRING only; NUL-terminated copy */
	size_t len;
	struct sql_pos pos;
	uint32_t toklen; /* BUCKET's width: bytes of its token in the text */
};

struct sql_key {
	enum fn_key fn;
	char *column;
	struct sql_literal width; /* BUCKET only: INT or DECIMAL, > 0 */
	struct sql_pos pos;
};

struct sql_item {
	int is_agg;
	struct sql_key key;       /* !is_agg */
	enum fn_agg agg;          /* is_agg */
	char *agg_column;         /* is_agg; NULL for COUNT(*) */
	char *alias;              /* AS name, or NULL */
	struct sql_pos alias_pos; /* where the alias is in the text ... */
	uint32_t alias_len;       /* ... and its bytes there, quotes and all */
	char *name;               /* output name: the alias, or the item's text normalised:
	                       "region", "BUCKET(age, 10)", "COUNT(*)", "AVG(claim_fen)" */
	struct sql_pos pos;
};

enum sql_cond_kind {
	SQL_COND_OR,      /* kids[0..nkids) */
	SQL_COND_AND,     /* kids[0..nkids) */
	SQL_COND_NOT,     /* kids[0] */
	SQL_COND_CMP,     /* column cmp lits[0] */
	SQL_COND_BETWEEN, /* column [NOT] BETWEEN lits[0] AND lits[1] */
	SQL_COND_IN,      /* column [NOT] IN (lits[0..nlits)) */
	SQL_COND_NULL,    /* column IS [NOT] NULL */
	SQL_COND_LIKE,    /* column LIKE lits[0]; lits[0].s is the prefix, '%' removed */
};

enum sql_cmp { SQL_EQ, SQL_NE, SQL_LT, SQL_LE, SQL_GT, SQL_GE };

struct sql_cond {
	enum sql_cond_kind kind;
	int negated;      /* NOT BETWEEN, NOT IN, IS NOT NULL */
	enum sql_cmp cmp; /* CMP */
	char *column;     /* CMP, BETWEEN, IN, NULL, LIKE */
	struct sql_literal *lits;
	size_t nlits;
	struct sql_cond **kids;
	size_t nkids;
	struct sql_pos pos;
};

struct sql_order {
	char *name; /* an item's output name or alias */
	int desc;
	struct sql_pos pos;
};

struct sql_query {
	struct sql_item *items;
	size_t nitems;
	char *product;
	struct sql_pos product_pos;
	struct sql_cond *where; /* NULL when absent */
	struct sql_key *group;
	size_t ngroup;
	struct sql_order *order;
	size_t norder;
	int has_limit;
	uint64_t limit; /* at most INT64_MAX */
};

/*
 * Parse len bytes of text.  0 and *out (free with sql_free()), or
 * SL_ERR_PARSE with the message "line:col: expected X, found Y", or
 * SL_ERR_NOMEM.  Identifiers are case-sensitive and may be written "quoted";
 * keywords are not.
 */
int sql_parse(const char *text, size_t len, struct sql_query **out)
    __attribute__((warn_unused_result));
void sql_free(struct sql_query *q);

#endif
