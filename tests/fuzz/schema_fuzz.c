/*
 * tests/fuzz/schema_fuzz.c -- libFuzzer harness for the product schema parser
 * (common/schema.c): a merchant's document, read by the broker and, in every
 * job header, by the worker.
 *
 * A refusal must be SL_ERR_PARSE or SL_ERR_INVAL (or SL_ERR_NOMEM / LIMIT)
 * with a message.  An accepted schema must hold what the rest relies on:
 * at least one column, exactly one unit column at s->unit, unique names that
 * schema_column() finds again, bounds in order, and every declared domain
 * value found again by schema_domain_find().
 *
 *   make fuzz && ./tests/fuzz/schema_fuzz -max_total_time=60 CORPUS tests/fuzz/corpus/schema
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "tests/fuzz/check.h"
#include "common/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
accepted(const struct schema *s)
{
	size_t i, units = 0, k;

	CHECK(s->name != NULL && s->ncols >= 1 && s->unit < s->ncols);
	for (i = 0; i < s->ncols; i++) {
		const struct schema_column *c = &s->cols[i];

		CHECK(c->name != NULL && c->name[0] != '\0');
		CHECK(schema_column(s, c->name) == c);
		units += c->cls == SCHEMA_UNIT;
		if (c->has_bounds && c->type == SCHEMA_REAL)
			CHECK(c->rlo <= c->rhi);
		else if (c->has_bounds)
			CHECK(c->lo <= c->hi);
		for (k = 0; k < c->ndomain; k++) {
			int f;

			if (c->type == SCHEMA_TEXT) {
				f = schema_domain_find(c, c->domain_text[k], c->domain_len[k], 0);
				CHECK(f >= 0 && c->domain_len[f] == c->domain_len[k] &&
				      memcmp(c->domain_text[f], c->domain_text[k], c->domain_len[k]) == 0);
			} else {
				f = schema_domain_find(c, NULL, 0, c->domain_int[k]);
				CHECK(f >= 0 && c->domain_int[f] == c->domain_int[k]);
			}
		}
	}
	CHECK(units == 1 && s->cols[s->unit].cls == SCHEMA_UNIT);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schema *s = NULL;
	char *copy = malloc(size > 0 ? size : 1);
	int r;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	sl_err_clear();
	if ((r = schema_parse(copy, size, &s)) == 0) {
		accepted(s);
		schema_free(s);
	} else {
		CHECK(r == SL_ERR_PARSE || r == SL_ERR_INVAL || r == SL_ERR_NOMEM || r == SL_ERR_LIMIT);
		CHECK(sl_err_msg(r)[0] != '\0');
	}
	free(copy);
	return 0;
}
