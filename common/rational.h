/*
 * common/rational.h -- exact rationals for privacy parameters and budgets.
 *
 * epsilon, rho and delta are written in contracts as decimal text (or JSON
 * numbers) and charged against budgets; docs/privacy.md wants no budget
 * arithmetic in floating point, so each is converted once into a struct
 * rational and every later step is exact.  Every operation is checked: a
 * result whose reduced numerator or denominator does not fit in 64 bits is
 * SL_ERR_LIMIT, never a wrapped or rounded value.  Intermediate products are
 * computed in 128 bits.
 *
 * A struct rational is a plain value (no memory is owned) and is always
 * reduced: den >= 1, gcd(|num|, den) = 1, and num != INT64_MIN, so negating it
 * is safe.  Two equal rationals therefore have equal fields.  The functions
 * below only produce such values and refuse (SL_ERR_INVAL) arguments that are
 * not, so a value built by hand must go through rational_make().
 */
#ifndef SLUICE_COMMON_RATIONAL_H
#define SLUICE_COMMON_RATIONAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct rational {
	int64_t num;
	int64_t den; /* >= 1 */
};

/* Flags of rational_parse() and rational_from_json(). */
#define RATIONAL_SIGNED 0x1 /* accept a leading '-' (a negative value) */

/* The longest text rational_parse() reads; longer is SL_ERR_LIMIT. */
#define RATIONAL_TEXT_MAX 256

/*
 * Room for the longest text of rational_format() and its NUL: "-n/d" of two
 * 19-digit numbers, or a decimal of a sign, "0." and at most 62 places (the
 * denominator 2^i 5^j is below 2^63, so i, j <= 62).
 */
#define RATIONAL_TEXT_BYTES 72

/*
 * num/den reduced into *out.  Returns SL_ERR_INVAL if den is 0 or either is
 * INT64_MIN (whose reduced form could not always be negated); *out is
 * untouched on failure.
 */
int rational_make(int64_t num, int64_t den, struct rational *out)
    __attribute__((warn_unused_result));

/* Whether r is reduced as this header promises: 1 or 0. */
int rational_valid(struct rational r);

/*
 * Parse the len bytes at s (no NUL needed; a NUL among them is an error) as
 * one of these, with nothing before or after (no spaces):
 *
 *   decimal  = ["-"] int [frac] [exp]       the JSON number grammar (RFC 8259
 *   int      = "0" | digit1-9 *digit         section 6): "10", "0.3", "1e-6",
 *   frac     = "." 1*digit                   "1.25E-3", "2.5e+1"
 *   exp      = ("e" | "E") ["+" | "-"] 1*digit
 *   fraction = ["-"] 1*digit "/" 1*digit     "1/3", as rational_format() writes
 *                                            what has no finite decimal
 *
 * The value is exact: "0.1" is 1/10, "1e-6" is 1/1000000.  A '-' is accepted
 * only with RATIONAL_SIGNED ("-0" is 0).  Anything else -- hex, "inf", "nan",
 * ".5", "5.", "+1", leading zeros "01", a zero denominator -- is SL_ERR_PARSE
 * with a message naming the 1-based character position and what was expected
 * there ("character 3: expected a digit after '.'").  SL_ERR_LIMIT is a
 * well-formed text whose significant digits (leading and trailing zeros
 * aside) make an integer above 2^63 - 1 ("1.2345678901234567891"), or whose
 * reduced value needs more than 63 bits in its numerator or denominator
 * ("1e19", "1e-19"), or one longer than RATIONAL_TEXT_MAX characters.  *out
 * is untouched on failure.
 */
int rational_parse(const char *s, size_t len, unsigned flags, struct rational *out)
    __attribute__((warn_unused_result));

/*
 * A JSON value as a rational: an integer is itself; a real is the rational of
 * its shortest decimal text (jcs_number_format(), ECMAScript's
 * Number.prototype.toString), so the JSON real 0.1 -- whose double is not
 * exactly 1/10 -- means exactly 1/10, which is what its author wrote; a string
 * is parsed by rational_parse().  Flags as rational_parse().  Returns
 * SL_ERR_PARSE for another type, a malformed string or a negative value
 * without RATIONAL_SIGNED, and SL_ERR_LIMIT as rational_parse(); the message
 * says which.  *out is untouched on failure.
 */
int rational_from_json(const json_t *v, unsigned flags, struct rational *out)
    __attribute__((warn_unused_result));

/* -1, 0 or 1 as a < b, a = b or a > b.  Exact for any two valid rationals. */
int rational_cmp(struct rational a, struct rational b);

/*
 * a + b, a - b, a * b and a / b into *out, reduced.  Return SL_ERR_LIMIT if
 * the reduced result does not fit (and SL_ERR_INVAL for an invalid argument
 * or a division by zero); *out is untouched on failure, so out may point at
 * a or b.
 */
int rational_add(struct rational a, struct rational b, struct rational *out)
    __attribute__((warn_unused_result));
int rational_sub(struct rational a, struct rational b, struct rational *out)
    __attribute__((warn_unused_result));
int rational_mul(struct rational a, struct rational b, struct rational *out)
    __attribute__((warn_unused_result));
int rational_div(struct rational a, struct rational b, struct rational *out)
    __attribute__((warn_unused_result));

/* a * k and a / k (k != 0) into *out; errors as rational_add(). */
int rational_mul_int(struct rational a, int64_t k, struct rational *out)
    __attribute__((warn_unused_result));
int rational_div_int(struct rational a, int64_t k, struct rational *out)
    __attribute__((warn_unused_result));

/*
 * r as text, with its NUL, into out: the exact decimal when the expansion
 * terminates (the denominator is 2^i * 5^j: "10", "0.3", "-0.000001",
 * "0.125") and its significant digits fit in 63 bits, in fixed notation with
 * no exponent and no trailing zeros, else "num/den" ("10/3", and
 * "1/268435456" for 2^-28, whose 20 significant digits the parser would
 * refuse).  rational_parse() reads every such text back to r.
 * Returns the length, or SL_ERR_INVAL (out = "") for an invalid r.
 */
int rational_format(struct rational r, char out[RATIONAL_TEXT_BYTES]);

/* r as the nearest long double, for descriptions (never for budgets or sampling). */
long double rational_to_ld(struct rational r);

#endif
