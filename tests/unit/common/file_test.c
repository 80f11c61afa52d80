/*
 * tests/unit/common/file_test.c -- common/file.h, common/text.h and
 * common/err.h: size limits and error codes of sl_file_read(), the modes and
 * leftovers of the atomic writers, sl_rmtree() not following links, the name
 * rule, RFC 3339 times, hex, and the error texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/file.h"
#include "common/text.h"
#include "tests/unit/vectors.h"

static int
setup(void **state)
{
	*state = vec_tmpdir();
	return 0;
}

static int
teardown(void **state)
{
	vec_rmtree(*state);
	return 0;
}

/* Write len bytes at path with plain stdio, failing the test on error. */
static void
put_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len > 0)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Whether path names something, without following a final symbolic link. */
static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Number of entries of dir whose name contains ".tmp.". */
static int
count_tmp(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	}
	closedir(d);
	return n;
}

/* Fail unless path holds exactly the len bytes at want. */
static void
assert_content(const char *path, const void *want, size_t len)
{
	uint8_t *got = NULL;
	size_t glen = 12345;

	assert_int_equal(sl_file_read(path, 1 << 20, &got, &glen), 0);
	assert_int_equal(glen, len);
	assert_memory_equal(got, want, len);
	assert_int_equal(got[len], '\0');
	free(got);
}

/* ---- sl_file_read ------------------------------------------------------- */

static void
test_read_exact(void **state)
{
	static const uint8_t data[] = {'a', 0, 'b', '\n', 0xff, 'z'};
	char *path = sl_path_join(*state, "f");
	uint8_t *out = NULL;
	size_t len = 0;

	put_file(path, data, sizeof(data));
	assert_int_equal(sl_file_read(path, 1024, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	assert_int_equal(out[len], '\0');
	sl_file_free_secret(out, len);
	free(path);
}

static void
test_read_limit(void **state)
{
	char *path = sl_path_join(*state, "f");
	uint8_t data[100], *out = NULL;
	size_t len = 0;

	memset(data, 'x', sizeof(data));
	put_file(path, data, sizeof(data));

	/* Exactly max bytes is allowed. */
	assert_int_equal(sl_file_read(path, sizeof(data), &out, &len), 0);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	assert_int_equal(out[len], '\0');
	free(out);

	/* One byte more than max is not, and *out is untouched. */
	out = NULL;
	len = 777;
	assert_int_equal(sl_file_read(path, sizeof(data) - 1, &out, &len), SL_ERR_LIMIT);
	assert_null(out);
	assert_int_equal(len, 777);
	assert_int_equal(sl_file_read(path, 0, &out, &len), SL_ERR_LIMIT);
	assert_null(out);
	free(path);
}

static void
test_read_missing(void **state)
{
	char *path = sl_path_join(*state, "missing");
	uint8_t *out = NULL;
	size_t len = 0;

	assert_int_equal(sl_file_read(path, 1024, &out, &len), SL_ERR_NOTFOUND);
	assert_null(out);
	free(path);
}

static void
test_read_directory(void **state)
{
	uint8_t *out = NULL;
	size_t len = 0;

	assert_int_equal(sl_file_read(*state, 1024, &out, &len), SL_ERR_IO);
	assert_null(out);
}

static void
test_read_empty(void **state)
{
	char *path = sl_path_join(*state, "empty");
	uint8_t *out = NULL;
	size_t len = 99;

	put_file(path, "", 0);
	assert_int_equal(sl_file_read(path, 1024, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(out[0], '\0');
	free(out);

	/* max 0 still admits an empty file. */
	out = NULL;
	len = 99;
	assert_int_equal(sl_file_read(path, 0, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, 0);
	free(out);
	free(path);
}

/* ---- sl_file_read_private ------------------------------------------------ */

/*
 * A secret file is read only when it is a regular file, no link, that only
 * its owner may use; every refusal is SL_ERR_POLICY with a message naming the
 * file and the fix, and leaves *out and *lenp untouched.
 */
static void
test_read_private(void **state)
{
	char *path = sl_path_join(*state, "k"), *link = sl_path_join(*state, "l");
	static const mode_t bad[] = {0640, 0604, 0660, 0620, 0602, 0644};
	uint8_t *out = NULL;
	size_t len = 0, i;
	char want[512];

	put_file(path, "secret\n", 7);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sl_file_read_private(path, 1024, &out, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(out, "secret\n", 7);
	sl_file_free_secret(out, len);
	assert_int_equal(chmod(path, 0400), 0);
	out = NULL;
	assert_int_equal(sl_file_read_private(path, 1024, &out, &len), 0);
	sl_file_free_secret(out, len);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(chmod(path, bad[i]), 0);
		out = NULL;
		len = 99;
		sl_err_clear();
		assert_int_equal(sl_file_read_private(path, 1024, &out, &len), SL_ERR_POLICY);
		assert_null(out);
		assert_int_equal(len, 99);
		snprintf(want, sizeof want, "%s: mode %03o lets group or others use it", path,
		    (unsigned)bad[i]);
		assert_non_null(strstr(sl_err_msg(SL_ERR_POLICY), want));
		snprintf(want, sizeof want, "(chmod 600 %s)", path);
		assert_non_null(strstr(sl_err_msg(SL_ERR_POLICY), want));
	}

	/* A link to a good file is refused, not followed. */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(symlink(path, link), 0);
	sl_err_clear();
	assert_int_equal(sl_file_read_private(link, 1024, &out, &len), SL_ERR_POLICY);
	assert_null(out);
	snprintf(want, sizeof want, "%s: is a symbolic link", link);
	assert_non_null(strstr(sl_err_msg(SL_ERR_POLICY), want));

	/* The other failures are sl_file_read()'s. */
	assert_int_equal(sl_file_read_private(*state, 1024, &out, &len), SL_ERR_POLICY);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(sl_file_read_private(path, 1024, &out, &len), SL_ERR_NOTFOUND);
	assert_null(out);
	free(path);
	free(link);
}

/* ---- writers ------------------------------------------------------------ */

static void
test_write_new_mode(void **state)
{
	static const char data[] = "secret key material\n";
	char *p600 = sl_path_join(*state, "k600");
	char *p644 = sl_path_join(*state, "k644");
	struct stat st;
	mode_t old;

	/* A umask that would strip group/other bits must not matter... */
	old = umask(077);
	assert_int_equal(sl_file_write_new(p644, 0644, data, strlen(data)), 0);
	/* ...nor one that would leave them when 0600 is asked for. */
	umask(0);
	assert_int_equal(sl_file_write_new(p600, 0600, data, strlen(data)), 0);
	umask(old);

	assert_int_equal(stat(p644, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_size, strlen(data));
	assert_int_equal(stat(p600, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_nlink, 1); /* the temporary link is gone */
	assert_content(p600, data, strlen(data));
	assert_content(p644, data, strlen(data));
	assert_int_equal(count_tmp(*state), 0);
	free(p600);
	free(p644);
}

static void
test_write_new_exists(void **state)
{
	static const char orig[] = "original";
	static const char other[] = "replacement that must not land";
	char *path = sl_path_join(*state, "f");
	struct stat before, after;

	assert_int_equal(sl_file_write_new(path, 0600, orig, strlen(orig)), 0);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(sl_file_write_new(path, 0644, other, strlen(other)), SL_ERR_EXISTS);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mode & 07777, 0600);
	assert_int_equal(after.st_nlink, 1);
	assert_content(path, orig, strlen(orig));
	assert_int_equal(count_tmp(*state), 0);
	free(path);
}

static void
test_write_new_empty(void **state)
{
	char *path = sl_path_join(*state, "empty");
	struct stat st;

	assert_int_equal(sl_file_write_new(path, 0640, "", 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(count_tmp(*state), 0);
	free(path);
}

static void
test_write_replace(void **state)
{
	static const char v1[] = "version one, somewhat longer than two";
	static const char v2[] = "version two";
	char *path = sl_path_join(*state, "f");
	char *hold = sl_path_join(*state, "hold");
	struct stat before, after;
	mode_t old;

	/* Creating a missing file works too. */
	assert_int_equal(sl_file_write_replace(path, 0644, v1, strlen(v1)), 0);
	assert_content(path, v1, strlen(v1));
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(before.st_mode & 07777, 0644);

	/*
	 * A second link to the old file shows it is replaced by rename, not
	 * rewritten in place: a reader holding the old file sees it whole.
	 */
	assert_int_equal(link(path, hold), 0);
	old = umask(0);
	assert_int_equal(sl_file_write_replace(path, 0600, v2, strlen(v2)), 0);
	umask(old);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_mode & 07777, 0600);
	assert_int_not_equal(after.st_ino, before.st_ino);
	assert_content(path, v2, strlen(v2));
	assert_content(hold, v1, strlen(v1));
	assert_int_equal(count_tmp(*state), 0);
	free(path);
	free(hold);
}

/* Number of entries of dir but . and .. */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/*
 * A pending file has no name while it is written, so a writer killed then
 * (here: one that never commits) leaves nothing in the directory; a commit
 * names it, whole, with its mode; a new one does not replace an existing file.
 */
static void
test_pending(void **state)
{
	char *path = sl_path_join(*state, "out.jsonl");
	struct sl_pending p;
	struct stat st;

	assert_int_equal(sl_pending_open(path, 0640, &p), 0);
	assert_int_equal(sl_pending_write(&p, "half", 4), 0);
	/* (A filesystem without O_TMPFILE gets a named temporary file.) */
	assert_int_equal(count_entries(*state), p.tmp != NULL);
	sl_pending_close(&p);
	assert_int_equal(count_entries(*state), 0);

	assert_int_equal(sl_pending_open(path, 0640, &p), 0);
	assert_int_equal(sl_pending_write(&p, "whole", 5), 0);
	assert_int_equal(count_entries(*state), p.tmp != NULL);
	assert_int_equal(sl_pending_commit(&p, 0), 0);
	sl_pending_close(&p);
	assert_content(path, "whole", 5);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_nlink, 1);

	assert_int_equal(sl_pending_open(path, 0600, &p), 0);
	assert_int_equal(sl_pending_write(&p, "other", 5), 0);
	assert_int_equal(sl_pending_commit(&p, 0), SL_ERR_EXISTS);
	sl_pending_close(&p);
	assert_content(path, "whole", 5);
	assert_int_equal(count_entries(*state), 1);
	free(path);
}

static void
test_write_new_no_dir(void **state)
{
	char *path = sl_path_join(*state, "nodir/f");

	assert_int_equal(sl_file_write_new(path, 0600, "x", 1), SL_ERR_IO);
	assert_int_equal(sl_file_write_replace(path, 0600, "x", 1), SL_ERR_IO);
	assert_false(exists(path));
	assert_int_equal(count_tmp(*state), 0);
	free(path);
}

/* ---- sl_rmtree ---------------------------------------------------------- */

static void
test_rmtree_nested(void **state)
{
	char *tree = sl_path_join(*state, "tree");
	char *a = sl_path_join(tree, "a");
	char *b = sl_path_join(a, "b");
	char *f1 = sl_path_join(tree, "f1");
	char *f2 = sl_path_join(b, "f2");
	char *empty = sl_path_join(a, "empty");

	assert_int_equal(mkdir(tree, 0700), 0);
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	assert_int_equal(mkdir(empty, 0700), 0);
	put_file(f1, "1", 1);
	put_file(f2, "2", 1);
	assert_int_equal(sl_rmtree(tree), 0);
	assert_false(exists(tree));
	assert_true(exists(*state));
	free(tree);
	free(a);
	free(b);
	free(f1);
	free(f2);
	free(empty);
}

static void
test_rmtree_symlink(void **state)
{
	char *outside = sl_path_join(*state, "outside");
	char *victim = sl_path_join(outside, "victim");
	char *ofile = sl_path_join(*state, "ofile");
	char *tree = sl_path_join(*state, "tree");
	char *ldir = sl_path_join(tree, "ldir");
	char *lfile = sl_path_join(tree, "lfile");
	char *top = sl_path_join(*state, "toplink");

	assert_int_equal(mkdir(outside, 0700), 0);
	put_file(victim, "keep", 4);
	put_file(ofile, "keep", 4);
	assert_int_equal(mkdir(tree, 0700), 0);
	assert_int_equal(symlink(outside, ldir), 0);
	assert_int_equal(symlink(ofile, lfile), 0);
	assert_int_equal(sl_rmtree(tree), 0);
	assert_false(exists(tree));
	assert_content(victim, "keep", 4);
	assert_content(ofile, "keep", 4);

	/* A symbolic link given as the root is removed, not its target. */
	assert_int_equal(symlink(outside, top), 0);
	assert_int_equal(sl_rmtree(top), 0);
	assert_false(exists(top));
	assert_content(victim, "keep", 4);
	free(outside);
	free(victim);
	free(ofile);
	free(tree);
	free(ldir);
	free(lfile);
	free(top);
}

static void
test_rmtree_missing(void **state)
{
	char *path = sl_path_join(*state, "missing");

	assert_int_equal(sl_rmtree(path), 0);
	free(path);
}

static void
test_path_join(void **state)
{
	char *p;

	assert_non_null(p = sl_path_join("/var/lib/sluice", "sluice.db"));
	assert_string_equal(p, "/var/lib/sluice/sluice.db");
	free(p);
	assert_non_null(p = sl_path_join("a", "b"));
	assert_string_equal(p, "a/b");
	free(p);
	assert_non_null(p = sl_path_join("", "x"));
	assert_string_equal(p, "/x");
	free(p);
}

/* ---- common/text.h ------------------------------------------------------ */

static void
test_name_valid(void **state)
{
	static const char *const good[] = {"a", "acme-merchant", "x_1", "0", "9lives", "a-", "a_"};
	static const char *const bad[] = {"", "Acme", "acmE", "-a", "_a", "a/b", "a.b", "a b",
	    "caf\xc3\xa9", "\xc3\xa9", "a\tb", "a\n", "..", "a:b"};
	char name[SL_NAME_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (sl_name_valid(good[i]) != 1)
			fail_msg("rejected \"%s\"", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sl_name_valid(bad[i]) != 0)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	memset(name, 'a', sizeof(name));
	name[SL_NAME_MAX] = '\0';
	assert_int_equal(strlen(name), 64);
	assert_int_equal(sl_name_valid(name), 1);
	name[SL_NAME_MAX] = 'a';
	name[SL_NAME_MAX + 1] = '\0';
	assert_int_equal(strlen(name), 65);
	assert_int_equal(sl_name_valid(name), 0);
}

static void
test_time_format(void **state)
{
	char out[SL_TIME_RFC3339_LEN];

	sl_time_format(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	sl_time_format(1700000000, out);
	assert_string_equal(out, "2023-11-14T22:13:20Z");
	sl_time_format(951782400, out); /* a leap day */
	assert_string_equal(out, "2000-02-29T00:00:00Z");
	sl_time_format(253402300799LL, out); /* the last second that fits */
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	assert_int_equal(strlen(out), SL_TIME_RFC3339_LEN - 1);
}

static void
test_time_now(void **state)
{
	char before[SL_TIME_RFC3339_LEN], now[SL_TIME_RFC3339_LEN], after[SL_TIME_RFC3339_LEN];

	sl_time_format(time(NULL), before);
	sl_time_now(now);
	sl_time_format(time(NULL), after);
	assert_int_equal(strlen(now), SL_TIME_RFC3339_LEN - 1);
	assert_true(strcmp(before, now) <= 0);
	assert_true(strcmp(now, after) <= 0);
}

static void
test_hex_encode(void **state)
{
	static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
	char out[2 * sizeof(in) + 2];
	uint8_t back[sizeof(in)];

	memset(out, '#', sizeof(out));
	sl_hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abcdefff");
	assert_int_equal(out[sizeof(out) - 1], '#'); /* nothing past the NUL */

	memset(out, '#', sizeof(out));
	sl_hex_encode(in, 0, out);
	assert_string_equal(out, "");

	assert_int_equal(sl_hex_decode("00017F80abCDefFF", 16, back, sizeof(back)), 0);
	assert_memory_equal(back, in, sizeof(in));
	assert_int_equal(sl_hex_decode("00017f80abcdefff", 15, back, sizeof(back)), -1);
	assert_int_equal(sl_hex_decode("00017f80abcdefgf", 16, back, sizeof(back)), -1);
}

/* ---- common/err.h ------------------------------------------------------- */

static void
test_errf(void **state)
{
	char longfmt[2000];

	assert_int_equal(
	    sl_errf(SL_ERR_PARSE, "%s:%d: expected a hex digit", "k.pem", 7), SL_ERR_PARSE);
	assert_string_equal(sl_err_msg(SL_ERR_PARSE), "k.pem:7: expected a hex digit");
	/* The recorded message wins over the code's text, whatever r is. */
	assert_string_equal(sl_err_msg(SL_ERR_IO), "k.pem:7: expected a hex digit");

	/* A new message replaces the old one. */
	assert_int_equal(sl_errf(SL_ERR_LIMIT, "too big"), SL_ERR_LIMIT);
	assert_string_equal(sl_err_msg(SL_ERR_LIMIT), "too big");

	sl_err_clear();
	assert_ptr_equal(sl_err_msg(SL_ERR_AUTH), sl_strerror(SL_ERR_AUTH));
	assert_string_equal(sl_err_msg(SL_ERR_AUTH), "authentication failed");

	/* Long messages are cut, still NUL-terminated. */
	memset(longfmt, 'm', sizeof(longfmt) - 1);
	longfmt[sizeof(longfmt) - 1] = '\0';
	assert_int_equal(sl_errf(SL_ERR_INVAL, "%s", longfmt), SL_ERR_INVAL);
	assert_int_equal(strlen(sl_err_msg(SL_ERR_INVAL)), 1023);
	assert_memory_equal(sl_err_msg(SL_ERR_INVAL), longfmt, 1023);
	sl_err_clear();
}

static void
test_strerror(void **state)
{
	static const int codes[] = {SL_OK, SL_ERR_NOMEM, SL_ERR_IO, SL_ERR_PARSE, SL_ERR_AUTH,
	    SL_ERR_POLICY, SL_ERR_INVAL, SL_ERR_EXISTS, SL_ERR_NOTFOUND, SL_ERR_DB, SL_ERR_CRYPTO,
	    SL_ERR_VERSION, SL_ERR_LIMIT, SL_ERR_INTERNAL};
	size_t n = sizeof(codes) / sizeof(codes[0]), i, j;

	/* The codes are 0, -1, ..., -13 with no gap. */
	for (i = 0; i < n; i++)
		assert_int_equal(codes[i], -(int)i);
	for (i = 0; i < n; i++) {
		const char *t = sl_strerror(codes[i]);

		assert_non_null(t);
		assert_true(strlen(t) > 0);
		if (strcmp(t, "unknown error") == 0)
			fail_msg("code %d has no text", codes[i]);
		for (j = 0; j < i; j++) {
			if (strcmp(t, sl_strerror(codes[j])) == 0)
				fail_msg("codes %d and %d share \"%s\"", codes[i], codes[j], t);
		}
	}
	assert_string_equal(sl_strerror(SL_ERR_INTERNAL - 1), "unknown error");
	assert_string_equal(sl_strerror(1), "unknown error");
	assert_string_equal(sl_strerror(-2147483647 - 1), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_read_exact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_directory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_private, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_new_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_new_exists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_new_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_replace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_new_no_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rmtree_nested, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rmtree_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rmtree_missing, setup, teardown),
	    cmocka_unit_test(test_path_join),
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_time_format),
	    cmocka_unit_test(test_time_now),
	    cmocka_unit_test(test_hex_encode),
	    cmocka_unit_test(test_errf),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
