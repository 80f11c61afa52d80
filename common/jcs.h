/*
 * common/jcs.h -- RFC 8785 JSON Canonicalization Scheme (JCS) over jansson values.
 *
 * The canonical form is what gets hashed and signed (the audit log, its
 * exports), so it must be byte-for-byte what every other JCS implementation
 * produces:
 *
 *   - no whitespace;
 *   - strings as raw UTF-8, escaping only '"', '\\' and U+0000..U+001F (\b \t
 *     \n \f \r, else \u00xx in lowercase hex); a string or member name that is
 *     not valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 *     past U+10FFFF) is refused;
 *   - object members sorted by the UTF-16 code units of their names, so a name
 *     with a character past U+FFFF (a surrogate pair, 0xd800..) sorts before
 *     one with a character in U+E000..U+FFFF;
 *   - every number is an IEEE-754 double written as ECMAScript's
 *     Number.prototype.toString writes it: the shortest digits that read back
 *     as the same double, the closest to it when several do, in fixed notation
 *     for 1e-7 <= |x| < 1e21 and as 1e+21, 5e-324 ... otherwise; -0 is "0";
 *     NaN and the infinities have no form and are refused.
 *
 * jansson integers (json_int_t) are numbers too.  One whose magnitude is at
 * most 2^53 is an exact double and is written as its decimal digits.  A larger
 * one is first rounded to the nearest double (ties to even), exactly as a JCS
 * peer parsing the same JSON text would, so 9007199254740993 is written
 * 9007199254740992 and INT64_MAX 9223372036854776000: precision beyond 2^53
 * is lost by design.  Carry such values as strings if they matter.
 *
 * Nesting is limited to JCS_DEPTH_MAX arrays/objects (SL_ERR_LIMIT beyond).
 * Failures record a message naming the JSON path of the bad value, e.g.
 * "jcs: $.details.name: string is not valid UTF-8 (byte 0xc0 at offset 3)".
 *
 * No global state: distinct buffers may be used from several threads at once
 * (the message of common/err.h is shared, as everywhere).
 */
#ifndef SLUICE_COMMON_JCS_H
#define SLUICE_COMMON_JCS_H

#include <jansson.h>
#include <stddef.h>

/* Deepest nesting of arrays and objects accepted: a bare scalar is depth 0, "[]" is 1. */
#define JCS_DEPTH_MAX 64

/* Room for the longest number text ("-0.0000012345678901234567", 25 bytes) and its NUL. */
#define JCS_NUMBER_BYTES 32

/* A growable output buffer, reusable across many values; opaque. */
struct jcs_buf;

/*
 * A new empty buffer in *out, which the caller frees with jcs_buf_free().
 * Returns SL_ERR_NOMEM on allocation failure.
 */
int jcs_buf_new(struct jcs_buf **out) __attribute__((warn_unused_result));

/* Free b and everything it holds.  b may be NULL. */
void jcs_buf_free(struct jcs_buf *b);

/* Empty b, keeping its memory for the next values. */
void jcs_buf_reset(struct jcs_buf *b);

/*
 * The bytes appended since the last reset, NUL-terminated ("" when none).
 * Borrowed; valid until the next jcs_buf_append(), jcs_buf_reset() or
 * jcs_buf_free() on b.
 */
const char *jcs_buf_data(const struct jcs_buf *b);

/* How many bytes jcs_buf_data() holds, without the NUL. */
size_t jcs_buf_len(const struct jcs_buf *b);

/*
 * Append the canonical form of v to b.  Linear in the size of v; once b has
 * grown to fit, it does not allocate again, which suits canonicalising many
 * small values (reset, append, hash, repeat).
 * Returns SL_ERR_INVAL for a NULL v, a non-finite number or invalid UTF-8,
 * SL_ERR_LIMIT past JCS_DEPTH_MAX, SL_ERR_NOMEM on allocation failure.  On
 * failure b holds exactly what it held before the call.
 */
int jcs_buf_append(struct jcs_buf *b, const json_t *v) __attribute__((warn_unused_result));

/*
 * The canonical form of v in a new NUL-terminated buffer in *out, which the
 * caller frees with free(); *len gets its length without the NUL.  Errors as
 * jcs_buf_append(); *out and *len are untouched on failure.
 */
int jcs_serialize(const json_t *v, char **out, size_t *len) __attribute__((warn_unused_result));

/*
 * Parse len bytes of JSON text (RFC 8259, any value at the top, "\u0000"
 * allowed in strings) and return its canonical form as jcs_serialize() does.
 * Every number is read as the nearest double, as ECMAScript's JSON.parse
 * does, whatever its size or form ("1", "1.0" and "10e-1" are all "1").
 * Returns SL_ERR_PARSE for malformed text, invalid UTF-8, a duplicate member
 * name, a number too large for a double, or a member name holding "\u0000"
 * (XXX: jansson's parser refuses those); the message starts with
 * "line:column: ".  Returns SL_ERR_LIMIT for nesting past JCS_DEPTH_MAX and
 * SL_ERR_NOMEM on allocation failure.  *out and *outlen are untouched on
 * failure.
 */
int jcs_canonicalize_text(const char *text, size_t len, char **out, size_t *outlen)
    __attribute__((warn_unused_result));

/*
 * x as JCS writes a number (ECMAScript Number.prototype.toString), with its
 * NUL, into out; *len (may be NULL) gets its length.  Returns SL_ERR_INVAL,
 * and leaves out as "", for NaN and the infinities.
 */
int jcs_number_format(double x, char out[JCS_NUMBER_BYTES], size_t *len)
    __attribute__((warn_unused_result));

/* A member a shape requires: its name (plain ASCII), and its value's type. */
struct jcs_member_type {
	const char *name;
	char type; /* 's' string, 'o' object, 'a' array, 'n' number, 'b' boolean, 'z' null */
};

/*
 * Whether len bytes of text are already canonical: exactly what
 * jcs_canonicalize_text() gives back for them (1), or not (0: other bytes, or
 * text it refuses).  One pass that allocates nothing, for checking many
 * values quickly; only a number that is not a short integer costs a strtod()
 * and a jcs_number_format().  With a shape the text must also be an object
 * whose members are exactly the nshape of shape, in that order (list them as
 * JCS sorts them), each of its type.
 */
int jcs_is_canonical(
    const char *text, size_t len, const struct jcs_member_type *shape, size_t nshape);

#endif
