/*
 * tests/unit/broker/noise_test.c -- broker/noise.h: the samplers against
 * their exact distributions, and the arithmetic beneath them.
 *
 * Each distribution test draws SAMPLES values and compares their histogram
 * with the pmf computed in long double from its closed form, by a chi-square
 * test: one bin per value while its expected count is at least MIN_EXPECTED,
 * and the two tails pooled into a bin each.  The critical value is the
 * chi-square quantile at p = 1e-6 (Wilson-Hilferty: df (1 - 2/(9 df) +
 * z sqrt(2/(9 df)))^3 with z = 4.753), so a correct sampler fails about once
 * in a million runs per comparison.  The same histogram must FAIL against
 * the pmf of a scale 10 % too large (sigma 10 % too large for the Gaussian),
 * which shows the test has the power to catch a wrong sampler.  The mean and
 * variance must lie within 6 standard errors of the exact ones.
 *
 * SAMPLES = 1,000,000 costs about 6 s of CPU for the whole file under
 * ASan+UBSan on the 2-core machine (13 s of wall time while other builds ran
 * there).  The wrong-scale statistic is then at least 6 times its critical
 * value for every scale tested (t = 100 is the weakest: 8950 against 1441);
 * at 300,000 samples it was still 2.8 times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/noise.c" /* the static helpers */
#include "common/err.h"
#include "common/rational.h"
#include "keys/keys.h"

#define SAMPLES 1000000
#define MIN_EXPECTED 20.0L
#define Z_1E6 4.753L

static struct rational
R(int64_t num, int64_t den) {
	struct rational r;

	assert_int_equal(rational_make(num, den, &r), 0);
	return r;
}

static int
setup(void **state)
{
	struct noise_rng *rng = NULL;

	if (keys_init(0) != 0 || noise_rng_new(&rng) != 0)
		return -1;
	*state = rng;
	return 0;
}

static int
teardown(void **state)
{
	noise_rng_free(*state);
	return 0;
}

/* ---- pmfs and the chi-square test ---------------------------------------- */

/* A symmetric pmf on the integers: p(x) for x >= 0. */
struct pmf {
	long double (*p)(const struct pmf *, int64_t x);
	long double scale; /* Laplace t, or Gaussian sigma^2 */
	long double norm;  /* Gaussian: the normalising sum */
};

static long double
laplace_p(const struct pmf *f, int64_t x)
{
	long double r = expl(-1.0L / f->scale);

	return -expm1l(-1.0L / f->scale) / (1.0L + r) * expl(-(long double)x / f->scale);
}

static long double
gauss_p(const struct pmf *f, int64_t x)
{
	return expl(-(long double)x * (long double)x / (2 * f->scale)) / f->norm;
}

static struct pmf
laplace_pmf(long double t)
{
	struct pmf f = {laplace_p, t, 1};

	return f;
}

static struct pmf
gauss_pmf(long double sigma2)
{
	struct pmf f = {gauss_p, sigma2, 1};
	long double z = 0, sigma = sqrtl(sigma2);
	int64_t x;

	for (x = (int64_t)(40 * sigma) + 40; x >= 1; x--)
		z += 2 * expl(-(long double)x * (long double)x / (2 * sigma2));
	f.norm = z + 1;
	return f;
}

/* Counts of samples in [-H_MAX, H_MAX], and of those beyond on each side. */
struct hist {
	int64_t half;
	uint64_t *count; /* count[x + half] */
	uint64_t below, above;
	long double sum, sumsq;
	size_t n;
};

static void
hist_init(struct hist *h, int64_t half)
{
	h->half = half;
	h->count = calloc((size_t)(2 * half + 1), sizeof(*h->count));
	assert_non_null(h->count);
	h->below = h->above = 0;
	h->sum = h->sumsq = 0;
	h->n = 0;
}

static void
hist_add(struct hist *h, int64_t x)
{
	if (x < -h->half)
		h->below++;
	else if (x > h->half)
		h->above++;
	else
		h->count[x + h->half]++;
	h->sum += (long double)x;
	h->sumsq += (long double)x * (long double)x;
	h->n++;
}

/* Samples at or beyond x on one side (x >= 1) or the other. */
static uint64_t
hist_tail(const struct hist *h, int64_t x, int upper)
{
	uint64_t n = upper ? h->above : h->below;
	int64_t i;

	for (i = x; i <= h->half; i++)
		n += h->count[(upper ? i : -i) + h->half];
	return n;
}

static long double
chi2_critical(int df)
{
	long double k = df, c = 1 - 2 / (9 * k) + Z_1E6 * sqrtl(2 / (9 * k));

	return k * c * c * c;
}

/*
 * The chi-square statistic of h against f, and its degrees of freedom.
 * Bins: each x in (-c, c), and x <= -c, x >= c, where c is the first x whose
 * own expected count is below MIN_EXPECTED, brought in until each tail's
 * expected count is at least MIN_EXPECTED.
 */
static long double
chi2(const struct hist *h, const struct pmf *f, int *df)
{
	long double n = (long double)h->n, tail, e, o, stat = 0;
	int64_t c, x;

	for (c = 1; n * f->p(f, c) >= MIN_EXPECTED; c++)
		;
	for (;;) {
		/* P(X >= c) = (1 - p(0)) / 2 - sum of p(1..c-1). */
		tail = (1 - f->p(f, 0)) / 2;
		for (x = 1; x < c; x++)
			tail -= f->p(f, x);
		if (n * tail >= MIN_EXPECTED || c == 1)
			break;
		c--;
	}
	assert_true(c < h->half);
	for (x = -(c - 1); x <= c - 1; x++) {
		e = n * f->p(f, x < 0 ? -x : x);
		o = (long double)h->count[x + h->half];
		stat += (o - e) * (o - e) / e;
	}
	e = n * tail;
	o = (long double)hist_tail(h, c, 1);
	stat += (o - e) * (o - e) / e;
	o = (long double)hist_tail(h, c, 0);
	stat += (o - e) * (o - e) / e;
	*df = (int)(2 * c); /* 2c - 1 single values and two tails, less one */
	return stat;
}

/* The variance and fourth moment of f, summed to the point where terms vanish. */
static void
moments(const struct pmf *f, int64_t half, long double *var, long double *m4)
{
	long double v = 0, q = 0, p, x2;
	int64_t x;

	for (x = half; x >= 1; x--) {
		p = f->p(f, x);
		x2 = (long double)x * (long double)x;
		v += 2 * x2 * p;
		q += 2 * x2 * x2 * p;
	}
	*var = v;
	*m4 = q;
}

/*
 * Check h against the right pmf (chi-square passes, mean and variance in
 * range) and the wrong one (chi-square fails).
 */
static void
check_distribution(
    const char *what, const struct hist *h, const struct pmf *right, const struct pmf *wrong)
{
	long double n = (long double)h->n, mean = h->sum / n, var, m4, svar, stat, crit;
	int df;

	stat = chi2(h, right, &df);
	crit = chi2_critical(df);
	printf("# %s: chi2 %.1Lf, df %d, critical %.1Lf", what, stat, df, crit);
	assert_true(stat < crit);
	moments(right, h->half, &var, &m4);
	svar = h->sumsq / n - mean * mean;
	printf(", mean %.4Lf (sd %.4Lf), var %.3Lf (want %.3Lf)", mean, sqrtl(var / n), svar, var);
	assert_true(fabsl(mean) < 6 * sqrtl(var / n));
	assert_true(fabsl(svar - var) < 6 * sqrtl((m4 - var * var) / n));
	stat = chi2(h, wrong, &df);
	crit = chi2_critical(df);
	printf("; 10%% wrong: chi2 %.1Lf, critical %.1Lf\n", stat, crit);
	assert_true(stat > crit);
}

/* ---- distributions ------------------------------------------------------- */

static void
laplace_case(struct noise_rng *rng, struct rational t, const char *what)
{
	long double tl = rational_to_ld(t);
	struct pmf right = laplace_pmf(tl), wrong = laplace_pmf(tl * 1.1L);
	struct hist h;
	int64_t x;
	size_t i;

	hist_init(&h, (int64_t)(60 * tl) + 60);
	for (i = 0; i < SAMPLES; i++) {
		assert_int_equal(noise_laplace(rng, t, &x), 0);
		hist_add(&h, x);
	}
	check_distribution(what, &h, &right, &wrong);
	free(h.count);
}

static void
test_laplace_half(void **state)
{
	laplace_case(*state, R(1, 2), "laplace t=1/2");
}

static void
test_laplace_one(void **state)
{
	laplace_case(*state, R(1, 1), "laplace t=1");
}

/* epsilon = 0.3 at sensitivity 1. */
static void
test_laplace_eps03(void **state)
{
	struct rational eps, t;

	assert_int_equal(rational_parse("0.3", 3, 0, &eps), 0);
	assert_int_equal(rational_div(R(1, 1), eps, &t), 0);
	laplace_case(*state, t, "laplace t=10/3");
}

static void
test_laplace_hundred(void **state)
{
	laplace_case(*state, R(100, 1), "laplace t=100");
}

static void
gauss_case(struct noise_rng *rng, struct rational sigma2, const char *what)
{
	long double s2 = rational_to_ld(sigma2);
	struct pmf right = gauss_pmf(s2), wrong = gauss_pmf(s2 * 1.21L);
	struct hist h;
	int64_t x;
	size_t i;

	hist_init(&h, (int64_t)(40 * sqrtl(s2)) + 40);
	for (i = 0; i < SAMPLES; i++) {
		assert_int_equal(noise_gaussian(rng, sigma2, &x), 0);
		hist_add(&h, x);
	}
	check_distribution(what, &h, &right, &wrong);
	free(h.count);
}

static void
test_gauss_one(void **state)
{
	gauss_case(*state, R(1, 1), "gauss sigma=1");
}

/* sigma = 3.7: sigma^2 = 13.69 = 1369/100, with a floor(sigma) + 1 = 4 proposal. */
static void
test_gauss_37(void **state)
{
	gauss_case(*state, R(1369, 100), "gauss sigma=3.7");
}

static void
test_gauss_fifty(void **state)
{
	gauss_case(*state, R(2500, 1), "gauss sigma=50");
}

/* Bernoulli(exp(-gamma)) frequencies, across the integer and fraction parts. */
static void
test_bernoulli_exp(void **state)
{
	static const int64_t g[][2] = {
	    {0, 1}, {1, 3}, {1, 1}, {5, 2}, {7, 1}, {123456789, 98765432}};
	struct noise_rng *rng = *state;
	size_t i, j, ones;
	long double p, freq;
	int b;

	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		p = expl(-(long double)g[i][0] / (long double)g[i][1]);
		for (ones = 0, j = 0; j < SAMPLES; j++) {
			assert_int_equal(noise_bernoulli_exp(rng, R(g[i][0], g[i][1]), &b), 0);
			assert_true(b == 0 || b == 1);
			ones += (size_t)b;
		}
		freq = (long double)ones / SAMPLES;
		printf("# exp(-%lld/%lld) = %.5Lf, seen %.5Lf\n", (long long)g[i][0],
		    (long long)g[i][1], p, freq);
		assert_true(fabsl(freq - p) <= 6 * sqrtl(p * (1 - p) / SAMPLES));
	}
	assert_int_equal(noise_bernoulli_exp(rng, (struct rational){-1, 2}, &b), SL_ERR_INVAL);
	assert_int_equal(noise_bernoulli_exp(rng, (struct rational){2, 4}, &b), SL_ERR_INVAL);
}

/* Uniform draws cover exactly [0, n), evenly, for small and 128-bit bounds. */
static void
test_uniform(void **state)
{
	struct noise_rng *rng = *state;
	uint64_t count[5] = {0};
	u128 big = ((u128)1 << 127) + 12345, x;
	size_t i, high = 0;

	for (i = 0; i < 50000; i++)
		count[(size_t)uniform(rng, 5)]++;
	for (i = 0; i < 5; i++)
		assert_true(count[i] > 9400 && count[i] < 10600);
	for (i = 0; i < 1000; i++) {
		assert_true(uniform(rng, 1) == 0);
		x = uniform(rng, big);
		assert_true(x < big);
		high += (size_t)(x >> 126); /* 0, 1 or 2, about 1/2 each for 1 */
	}
	assert_true(high > 400 && high < 600);
	x = uniform(rng, ~(u128)0);
	assert_true(x < ~(u128)0);
}

/* ---- arithmetic ---------------------------------------------------------- */

#define U(hi, lo) (((u128)(hi) << 64) | (u128)(lo))

/* a * b = ph 2^128 + pl, and that divided by d is qh 2^128 + ql, remainder r (Python). */
static const struct {
	u128 a, b, d, ph, pl, qh, ql, r;
} wide[] = {
    {U(0x7fffffffffffffff, 0xffffffffffffffff), U(0x7fffffffffffffff, 0xffffffffffffffff), U(0, 3),
        U(0x3fffffffffffffff, 0xffffffffffffffff), U(0, 1),
        U(0x1555555555555555, 0x5555555555555555), U(0, 0), U(0, 1)},
    {~(u128)0, ~(u128)0, ~(u128)0, U(0xffffffffffffffff, 0xfffffffffffffffe), U(0, 1), U(0, 0),
        ~(u128)0, U(0, 0)},
    {~(u128)0, ~(u128)0, U(0, 1), U(0xffffffffffffffff, 0xfffffffffffffffe), U(0, 1),
        U(0xffffffffffffffff, 0xfffffffffffffffe), U(0, 1), U(0, 0)},
    {U(0x32899387269e0d37, 0xf2a74de452e6b438), U(0x691f8412128b2f33, 0x0c5c7fd0a6a3a450),
        U(0x000000095d9dc9f8, 0x1818e811892f902b), U(0x14c0a63dcd9bb65d, 0xb342c69c062d01c0),
        U(0xa369845f86cc4f1e, 0xdb4b33b6c3343180), U(0, 0x0000000002373ef8),
        U(0x7cdab0437275d56d, 0x16703d2fddd832d1), U(0x0000000546361419, 0x1582ca1eb5ef1865)},
    {U(0x36f675cc81e74ef5, 0xe8e25d940ed90475), U(0x0000000001bc0d9d, 0x1600a35a099950d8),
        U(0x9738f7d93d9c1724, 0x11e20b8f6b0d549b), U(0x00000000005f5660, 0x8c8c3f63313de86e),
        U(0xaf8784e34fae1b7b, 0xd261ca8e1f6d52b8), U(0, 0),
        U(0x0000000000a164cf, 0x3eb5dfc864865f06), U(0x2e0349a4fa43ae9e, 0xd733f058d595d216)},
    {U(1, 0x3038), U(1, 0x3038), U(0x8000000000000000, 5), U(0, 1), U(0x6070, 0x09150c40), U(0, 0),
        U(0, 2), U(0x6070, 0x09150c36)},
};

static void
test_wide_arithmetic(void **state)
{
	u128 hi, lo, qh, ql, r, a, d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		mul_128x128(wide[i].a, wide[i].b, &hi, &lo);
		assert_true(hi == wide[i].ph && lo == wide[i].pl);
		divmod_256_128(hi, lo, wide[i].d, &qh, &ql, &r);
		assert_true(qh == wide[i].qh && ql == wide[i].ql && r == wide[i].r);
	}
	/* Below 2^64 both paths of gauss_accept() agree with native arithmetic. */
	for (i = 1; i < 2000; i++) {
		a = (u128)(i * UINT64_C(0x9e3779b97f4a7c15));
		d = (u128)(i * UINT64_C(0xbf58476d1ce4e5b9)) * (i + 7) + 1;
		mul_128x128(a, a, &hi, &lo);
		assert_true(hi == 0 && lo == a * a);
		divmod_256_128(hi, lo, d, &qh, &ql, &r);
		assert_true(qh == 0 && ql == a * a / d && r == a * a % d);
	}
	for (i = 0; i < 70000; i += 7)
		assert_true(isqrt(i) * isqrt(i) <= i && (isqrt(i) + 1) * (isqrt(i) + 1) > i);
	assert_true(isqrt((UINT64_C(1) << 62) - 1) == (UINT64_C(1) << 31) - 1);
	assert_true(isqrt(UINT64_C(4611686014132420609)) == 2147483647);
}

/*
 * The 256-bit path of the Gaussian's acceptance test samples exp(-gamma) for
 * the right gamma: here a = y q t - p = 2^64 + 12344, and the denominator is
 * set (by hand, white-box) so that gamma = 2.5 + 2^-126.
 */
static void
test_gauss_accept_wide(void **state)
{
	struct noise_rng *rng = *state;
	struct gauss g = {
	    .p = 1, .qt = U(1, 12345), .denom = U(0x6666666666668cf9, 0x999999999d3b9e80)};
	long double p = expl(-2.5L), freq;
	size_t j, ones = 0;
	int c;

	for (j = 0; j < SAMPLES; j++) {
		assert_int_equal(gauss_accept(rng, &g, 1, &c), 0);
		ones += (size_t)c;
	}
	freq = (long double)ones / SAMPLES;
	printf("# wide acceptance: exp(-2.5) = %.5Lf, seen %.5Lf\n", p, freq);
	assert_true(fabsl(freq - p) <= 6 * sqrtl(p * (1 - p) / SAMPLES));
}

/* ---- ranges, extremes and descriptions ----------------------------------- */

static void
test_ranges(void **state)
{
	struct noise_rng *rng = *state;
	struct noise_spread sp;
	int64_t x = 77;
	int i;

	assert_int_equal(noise_laplace(rng, R(0, 1), &x), SL_ERR_INVAL);
	assert_int_equal(noise_laplace(rng, R(-1, 2), &x), SL_ERR_INVAL);
	assert_int_equal(noise_laplace(rng, (struct rational){1, 0}, &x), SL_ERR_INVAL);
	assert_int_equal(noise_laplace(rng, R(NOISE_LAPLACE_SCALE_MAX + 1, 1), &x), SL_ERR_LIMIT);
	assert_int_equal(noise_gaussian(rng, R(0, 1), &x), SL_ERR_INVAL);
	assert_int_equal(
	    noise_gaussian(rng, R(NOISE_GAUSSIAN_SIGMA2_MAX + 1, 1), &x), SL_ERR_LIMIT);
	assert_int_equal(noise_gaussian(rng, R(INT64_C(1) << 62, 5), &x), SL_ERR_LIMIT);
	assert_int_equal(noise_laplace_spread(R(0, 1), &sp), SL_ERR_INVAL);
	assert_int_equal(
	    noise_gaussian_spread(R(NOISE_GAUSSIAN_SIGMA2_MAX + 1, 1), &sp), SL_ERR_LIMIT);
	assert_int_equal(x, 77);

	/* The edges of the range, and odd shapes inside it, all sample. */
	for (i = 0; i < 200; i++) {
		assert_int_equal(noise_laplace(rng, R(NOISE_LAPLACE_SCALE_MAX, 1), &x), 0);
		assert_int_equal(
		    noise_laplace(rng, R(NOISE_LAPLACE_SCALE_MAX - 1, INT64_MAX / 2), &x), 0);
		assert_int_equal(noise_laplace(rng, R(1, INT64_MAX), &x), 0);
		assert_int_equal(x, 0); /* P(x != 0) is about 2 e^-(2^63) */
		assert_int_equal(noise_laplace(rng, R(INT64_MAX, INT64_MAX - 1), &x), 0);
		assert_int_equal(noise_gaussian(rng, R(NOISE_GAUSSIAN_SIGMA2_MAX, 1), &x), 0);
		assert_int_equal(noise_gaussian(rng, R((INT64_C(1) << 62) - 1, 4), &x), 0);
		assert_int_equal(noise_gaussian(rng, R((INT64_C(1) << 62) - 1, INT64_MAX), &x), 0);
		assert_int_equal(noise_gaussian(rng, R(1, INT64_MAX), &x), 0);
		assert_int_equal(x, 0);
		assert_int_equal(noise_gaussian(rng, R(3, 1 << 30), &x), 0);
	}
}

static void
test_spread(void **state)
{
	static const int64_t lt[][2] = {{1, 2}, {1, 1}, {10, 3}, {100, 1}, {12345, 7}};
	static const int64_t gs[][2] = {{1, 1}, {1369, 100}, {2500, 1}, {1, 4}};
	struct noise_spread sp;
	struct pmf f;
	long double mass, var, m4;
	int64_t k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lt) / sizeof(lt[0]); i++) {
		f = laplace_pmf((long double)lt[i][0] / (long double)lt[i][1]);
		assert_int_equal(noise_laplace_spread(R(lt[i][0], lt[i][1]), &sp), 0);
		/* The smallest k whose [-k, k] holds 95 %, by summing the pmf. */
		for (k = 0, mass = f.p(&f, 0); mass < NOISE_SPREAD_LEVEL; k++)
			mass += 2 * f.p(&f, k + 1);
		assert_int_equal(sp.ci_halfwidth, k);
		moments(&f, (int64_t)(80 * f.scale) + 80, &var, &m4);
		assert_true(fabsl((long double)sp.variance - var) <= 1e-9L * var);
	}
	for (i = 0; i < sizeof(gs) / sizeof(gs[0]); i++) {
		f = gauss_pmf((long double)gs[i][0] / (long double)gs[i][1]);
		assert_int_equal(noise_gaussian_spread(R(gs[i][0], gs[i][1]), &sp), 0);
		for (k = 0, mass = f.p(&f, 0); mass < NOISE_SPREAD_LEVEL; k++)
			mass += 2 * f.p(&f, k + 1);
		/* Conservative: at least the exact half-width, and not absurdly more. */
		assert_true(sp.ci_halfwidth >= k);
		assert_true(sp.ci_halfwidth <= 2 * k + 2);
		moments(&f, (int64_t)(40 * sqrtl(f.scale)) + 40, &var, &m4);
		assert_true(fabsl((long double)sp.variance - var) <= 1e-9L * var);
	}
	assert_int_equal(noise_gaussian_spread(R(1000000, 1), &sp), 0);
	assert_true(sp.variance == 1e6);
	assert_int_equal(sp.ci_halfwidth, 2716); /* ceil(1000 sqrt(2 ln 40)) - 1 */
}

static void
test_threshold(void **state)
{
	struct rational eps, delta;
	int64_t tau = -1;

	(void)state;
	assert_int_equal(rational_parse("1e-6", 4, 0, &delta), 0);
	/* docs/privacy.md: about 14 at epsilon 1, delta 1e-6, m 1; 14.12 rounds up. */
	assert_int_equal(noise_laplace_threshold(1, R(1, 1), delta, &tau), 0);
	assert_int_equal(tau, 15);
	/* 1 + (5 / 0.5) ln(5 / 2e-6) = 148.3 */
	assert_int_equal(noise_laplace_threshold(5, R(1, 2), delta, &tau), 0);
	assert_int_equal(tau, 149);
	/* 1 + (1 / 0.3) ln(1 / 2e-9) = 67.7 */
	assert_int_equal(rational_parse("0.3", 3, 0, &eps), 0);
	assert_int_equal(noise_laplace_threshold(1, eps, R(1, 1000000000), &tau), 0);
	assert_int_equal(tau, 68);
	tau = -1;
	assert_int_equal(noise_laplace_threshold(0, R(1, 1), delta, &tau), SL_ERR_INVAL);
	assert_int_equal(noise_laplace_threshold(1, R(0, 1), delta, &tau), SL_ERR_INVAL);
	assert_int_equal(noise_laplace_threshold(1, R(1, 1), R(0, 1), &tau), SL_ERR_INVAL);
	assert_int_equal(noise_laplace_threshold(1, R(1, 1), R(1, 2), &tau), SL_ERR_INVAL);
	assert_int_equal(
	    noise_laplace_threshold(INT64_MAX, R(1, INT64_MAX), delta, &tau), SL_ERR_LIMIT);
	assert_int_equal(tau, -1);
}

/* Whatever was buffered is wiped as it is used and when the source is freed. */
static void
test_rng_wipes(void **state)
{
	struct noise_rng *rng = *state;
	int64_t x;
	size_t i;

	assert_int_equal(noise_laplace(rng, R(10, 1), &x), 0);
	for (i = 0; i < rng->pos; i++)
		assert_int_equal(rng->buf[i], 0);
	noise_rng_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wide_arithmetic),
	    cmocka_unit_test(test_uniform),
	    cmocka_unit_test(test_bernoulli_exp),
	    cmocka_unit_test(test_gauss_accept_wide),
	    cmocka_unit_test(test_laplace_half),
	    cmocka_unit_test(test_laplace_one),
	    cmocka_unit_test(test_laplace_eps03),
	    cmocka_unit_test(test_laplace_hundred),
	    cmocka_unit_test(test_gauss_one),
	    cmocka_unit_test(test_gauss_37),
	    cmocka_unit_test(test_gauss_fifty),
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_spread),
	    cmocka_unit_test(test_threshold),
	    cmocka_unit_test(test_rng_wipes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
