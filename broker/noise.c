/*
 * broker/noise.c -- the exact samplers of noise.h: unbiased uniform integers
 * from buffered libsodium bytes, Bernoulli(exp(-gamma)), discrete Laplace and
 * discrete Gaussian, and their descriptions in long double.
 *
 * Trusts only its arguments, which it checks; holds random bytes in guarded
 * memory until noise_rng_free() wipes them.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "broker/noise.h"
#include "common/err.h"
#include "common/rational.h"
#include "keys/keys.h"

typedef unsigned __int128 u128;

/* Refill size: one getrandom() call serves many samples. */
#define NOISE_RNG_BYTES 1024

struct noise_rng {
	size_t pos; /* next unread byte of buf; NOISE_RNG_BYTES when empty */
	uint8_t buf[NOISE_RNG_BYTES];
};

int
noise_rng_new(struct noise_rng **out)
{
	struct noise_rng *rng = keys_secret_alloc(sizeof(*rng));

	if (rng == NULL)
		return sl_errf(SL_ERR_NOMEM, "noise: cannot allocate the random source");
	rng->pos = NOISE_RNG_BYTES;
	*out = rng;
	return 0;
}

void
noise_rng_free(struct noise_rng *rng)
{
	if (rng != NULL)
		keys_secret_free(rng);
}

/* ---- uniform integers --------------------------------------------------- */

/* The next n <= 8 random bytes as a little-endian integer. */
static uint64_t
rng_bytes(struct noise_rng *rng, unsigned n)
{
	uint64_t x = 0;
	unsigned i;

	if (rng->pos + n > NOISE_RNG_BYTES) {
		/* The few bytes left are dropped with the rest: wiped, then refilled. */
		keys_wipe(rng->buf, sizeof(rng->buf));
		keys_random(rng->buf, sizeof(rng->buf));
		rng->pos = 0;
	}
	for (i = 0; i < n; i++)
		x |= (uint64_t)rng->buf[rng->pos + i] << (8 * i);
	/* A byte is used once: wipe it as it is taken. */
	memset(rng->buf + rng->pos, 0, n);
	rng->pos += n;
	return x;
}

/*
 * Uniform in [0, n), n >= 1, with no modulo bias: draw just enough whole
 * bytes to cover n - 1, mask to its bit length, and reject what is >= n (at
 * most half of the draws).  Bounds up to 2^64 take one 64-bit draw; above,
 * the high and low words are drawn apart.
 */
static u128
uniform(struct noise_rng *rng, u128 n)
{
	uint64_t hi, lo, top = (uint64_t)((n - 1) >> 64), bot = (uint64_t)(n - 1);
	unsigned bits;
	u128 x;

	if (n <= 1)
		return 0;
	if (top == 0) {
		bits = 64 - (unsigned)__builtin_clzll(bot);
		do
			lo = rng_bytes(rng, (bits + 7) / 8) &
			     (bits == 64 ? ~UINT64_C(0) : (UINT64_C(1) << bits) - 1);
		while (lo > bot);
		return lo;
	}
	bits = 64 - (unsigned)__builtin_clzll(top);
	do {
		hi = rng_bytes(rng, (bits + 7) / 8) &
		     (bits == 64 ? ~UINT64_C(0) : (UINT64_C(1) << bits) - 1);
		lo = rng_bytes(rng, 8);
		x = ((u128)hi << 64) | lo;
	} while (x >= n);
	return x;
}

/* Bernoulli(num/den) for num <= den, den >= 1. */
static int
bernoulli(struct noise_rng *rng, u128 num, u128 den)
{
	return uniform(rng, den) < num;
}

/* ---- Bernoulli(exp(-gamma)), Algorithm 1 --------------------------------- */

/*
 * Bernoulli(exp(-r/d)) for 0 <= r <= d, d >= 1: the first k with
 * A_k ~ Bernoulli(r / (d k)) = 0 is odd with exactly that probability.
 * Bernoulli(r / (d k)) is one draw below d k, or, when d k does not fit in
 * 128 bits, Bernoulli(r/d) and Bernoulli(1/k) both 1.
 */
static int
bern_exp_frac(struct noise_rng *rng, u128 r, u128 d, int *out)
{
	uint64_t k = 1;
	u128 dk;
	int a;

	if (r == 0) {
		*out = 1;
		return 0;
	}
	for (;;) {
		if (__builtin_mul_overflow(d, (u128)k, &dk))
			a = bernoulli(rng, r, d) && bernoulli(rng, 1, k);
		else
			a = bernoulli(rng, r, dk);
		if (!a)
			break;
		/* Reaching k = 2^64 has probability below 1/(2^64)!. */
		if (__builtin_add_overflow(k, 1, &k))
			return sl_errf(SL_ERR_INTERNAL, "noise: Bernoulli loop overflow");
	}
	*out = (int)(k & 1);
	return 0;
}

/* Bernoulli(exp(-1)). */
static int
bern_exp1(struct noise_rng *rng, int *out)
{
	return bern_exp_frac(rng, 1, 1, out);
}

/*
 * Bernoulli(exp(-(K + r/d))) for the 256-bit integer K = khi 2^128 + klo and
 * 0 <= r < d: K draws of Bernoulli(exp(-1)) that stop at the first 0, then
 * the fraction.  The count is exact at any size; the loop ends after about
 * 1.6 rounds whatever K is.
 */
static int
bern_exp_parts(struct noise_rng *rng, u128 khi, u128 klo, u128 r, u128 d, int *out)
{
	int b, e;

	while (khi != 0 || klo != 0) {
		if ((e = bern_exp1(rng, &b)) != 0)
			return e;
		if (!b) {
			*out = 0;
			return 0;
		}
		if (klo-- == 0)
			khi--;
	}
	return bern_exp_frac(rng, r, d, out);
}

int
noise_bernoulli_exp(struct noise_rng *rng, struct rational gamma, int *out)
{
	if (!rational_valid(gamma) || gamma.num < 0)
		return sl_errf(SL_ERR_INVAL, "noise: exp(-gamma) needs a rational gamma >= 0");
	return bern_exp_parts(rng, 0, (u128)gamma.num / (u128)gamma.den,
	    (u128)gamma.num % (u128)gamma.den, (u128)gamma.den, out);
}

/* ---- discrete Laplace, Algorithm 2 --------------------------------------- */

/*
 * The discrete Laplace of scale n/d, n, d >= 1 (CKS's t = n, s = d).  Each
 * round is accepted with probability at least (1 - 1/e) / 2.
 */
static int
dlap(struct noise_rng *rng, uint64_t n, uint64_t d, int64_t *out)
{
	uint64_t u, v;
	u128 x, y;
	int keep, b, e;

	for (;;) {
		u = (uint64_t)uniform(rng, n);
		if ((e = bern_exp_frac(rng, u, n, &keep)) != 0)
			return e;
		if (!keep)
			continue;
		for (v = 0;; v++) {
			if ((e = bern_exp1(rng, &b)) != 0)
				return e;
			if (!b)
				break;
			if (v == UINT64_MAX)
				return sl_errf(SL_ERR_LIMIT, "noise: Laplace sample out of range");
		}
		/* n < 2^63 and v < 2^64: x < 2^127 + 2^63. */
		x = (u128)u + (u128)n * v;
		y = x / d;
		b = (int)uniform(rng, 2);
		if (b && y == 0)
			continue;
		if (y > INT64_MAX)
			return sl_errf(SL_ERR_LIMIT, "noise: Laplace sample beyond 64 bits");
		*out = b ? -(int64_t)y : (int64_t)y;
		return 0;
	}
}

static int
laplace_scale_check(struct rational scale)
{
	if (!rational_valid(scale) || scale.num <= 0)
		return sl_errf(SL_ERR_INVAL, "noise: the Laplace scale must be > 0");
	if (rational_cmp(scale, (struct rational){NOISE_LAPLACE_SCALE_MAX, 1}) > 0)
		return sl_errf(SL_ERR_LIMIT, "noise: a Laplace scale above 2^40 is not supported");
	return 0;
}

int
noise_laplace(struct noise_rng *rng, struct rational scale, int64_t *out)
{
	int r;

	if ((r = laplace_scale_check(scale)) != 0)
		return r;
	return dlap(rng, (uint64_t)scale.num, (uint64_t)scale.den, out);
}

/* ---- discrete Gaussian, Algorithm 3 -------------------------------------- */

/* The 256-bit product a * b as hi 2^128 + lo. */
static void
mul_128x128(u128 a, u128 b, u128 *hi, u128 *lo)
{
	const u128 m64 = ~(uint64_t)0;
	u128 a0 = a & m64, a1 = a >> 64, b0 = b & m64, b1 = b >> 64;
	u128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	/* The middle column: three terms below 2^64 each, so no overflow. */
	u128 mid = (p00 >> 64) + (p01 & m64) + (p10 & m64);

	*lo = (mid << 64) | (p00 & m64);
	*hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
}

/*
 * (hi 2^128 + lo) divided by d >= 1, by binary long division: the quotient
 * as *qhi 2^128 + *qlo, the remainder in *rem.  The running remainder is
 * below d, so doubling it needs 129 bits; when the top bit falls out, the
 * true value is >= 2^128 > d, and the subtraction modulo 2^128 is exact.
 */
static void
divmod_256_128(u128 hi, u128 lo, u128 d, u128 *qhi, u128 *qlo, u128 *rem)
{
	u128 r = 0, q[2] = {0, 0}, w[2] = {lo, hi};
	int i, carry;

	for (i = 255; i >= 0; i--) {
		carry = (int)(r >> 127);
		r = (r << 1) | ((w[i / 128] >> (i % 128)) & 1);
		if (carry || r >= d) {
			r -= d;
			q[i / 128] |= (u128)1 << (i % 128);
		}
	}
	*qhi = q[1];
	*qlo = q[0];
	*rem = r;
}

/* floor(sqrt(n)) for n < 2^62. */
static uint64_t
isqrt(uint64_t n)
{
	uint64_t lo = 0, hi, mid;

	/* Invariant: lo^2 <= n < hi^2; n < 2^b gives hi = 2^ceil(b/2). */
	hi = n == 0 ? 1 : UINT64_C(1) << ((64 - (unsigned)__builtin_clzll(n) + 1) / 2);
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (mid * mid <= n)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The Gaussian's fixed parts for sigma^2 = p/q: t and 2 p q t^2. */
struct gauss {
	uint64_t p, q, t;
	u128 qt, denom;
};

static int
gauss_setup(struct rational sigma2, struct gauss *g)
{
	if (!rational_valid(sigma2) || sigma2.num <= 0)
		return sl_errf(SL_ERR_INVAL, "noise: sigma^2 must be > 0");
	if (rational_cmp(sigma2, (struct rational){NOISE_GAUSSIAN_SIGMA2_MAX, 1}) > 0 ||
	    sigma2.num >= INT64_C(1) << 62)
		return sl_errf(SL_ERR_LIMIT, "noise: sigma^2 above 2^60, or with a numerator of "
		                             "2^62 or more, is not supported");
	g->p = (uint64_t)sigma2.num;
	g->q = (uint64_t)sigma2.den;
	g->t = isqrt(g->p / g->q) + 1;
	/* 2 p q t^2 < 2^127 by the range (noise.h); checked all the same. */
	if (__builtin_mul_overflow((u128)g->q, (u128)g->t, &g->qt) ||
	    __builtin_mul_overflow(g->qt, (u128)g->t, &g->denom) ||
	    __builtin_mul_overflow(g->denom, (u128)g->p, &g->denom) ||
	    __builtin_mul_overflow(g->denom, (u128)2, &g->denom))
		return sl_errf(SL_ERR_LIMIT, "noise: sigma^2 out of the supported range");
	return 0;
}

/*
 * Bernoulli(exp(-(y - sigma^2/t)^2 / (2 sigma^2))) for y = |Y| >= 0.  With
 * a = y q t - p the exponent is a^2 / (2 p q t^2) exactly.
 */
static int
gauss_accept(struct noise_rng *rng, const struct gauss *g, uint64_t y, int *out)
{
	u128 yqt, a, hi, lo, qhi, qlo, rem;

	if (__builtin_mul_overflow((u128)y, g->qt, &yqt))
		return sl_errf(SL_ERR_LIMIT, "noise: Gaussian candidate out of range");
	a = yqt >= g->p ? yqt - g->p : g->p - yqt;
	if (a >> 64 == 0) {
		lo = a * a;
		return bern_exp_parts(rng, 0, lo / g->denom, lo % g->denom, g->denom, out);
	}
	mul_128x128(a, a, &hi, &lo);
	divmod_256_128(hi, lo, g->denom, &qhi, &qlo, &rem);
	return bern_exp_parts(rng, qhi, qlo, rem, g->denom, out);
}

int
noise_gaussian(struct noise_rng *rng, struct rational sigma2, int64_t *out)
{
	struct gauss g;
	int64_t y;
	int r, c;

	if ((r = gauss_setup(sigma2, &g)) != 0)
		return r;
	for (;;) {
		if ((r = dlap(rng, g.t, 1, &y)) != 0)
			return r;
		/* |y| <= INT64_MAX: dlap never returns INT64_MIN. */
		if ((r = gauss_accept(rng, &g, (uint64_t)(y < 0 ? -y : y), &c)) != 0)
			return r;
		if (c) {
			*out = y;
			return 0;
		}
	}
}

/* ---- descriptions (long double) ------------------------------------------ */

int
noise_laplace_spread(struct rational scale, struct noise_spread *out)
{
	long double t, r, em1, tail;
	int64_t k;
	int e;

	if ((e = laplace_scale_check(scale)) != 0)
		return e;
	t = rational_to_ld(scale);
	r = expl(-1.0L / t);
	em1 = -expm1l(-1.0L / t); /* 1 - r, without cancellation at large t */
	/* P(|X| > k) = 2 r^(k+1) / (1 + r) <= 1 - level, from a first guess. */
	k = (int64_t)ceill(t * logl(2.0L / ((1.0L - NOISE_SPREAD_LEVEL) * (1.0L + r)))) - 1;
	if (k < 0)
		k = 0;
	for (;;) {
		tail = 2.0L * expl(-(long double)(k + 1) / t) / (1.0L + r);
		if (tail > 1.0L - NOISE_SPREAD_LEVEL) {
			k++;
		} else if (k > 0 && 2.0L * expl(-(long double)k / t) / (1.0L + r) <=
		                        1.0L - NOISE_SPREAD_LEVEL) {
			k--;
		} else {
			break;
		}
	}
	out->ci_halfwidth = k;
	out->variance = (double)(2.0L * r / (em1 * em1));
	return 0;
}

int
noise_gaussian_spread(struct rational sigma2, struct noise_spread *out)
{
	long double s2, sigma, x, w, z = 0, m2 = 0;
	struct gauss g;
	int64_t i, n;
	int e;

	if ((e = gauss_setup(sigma2, &g)) != 0)
		return e;
	s2 = rational_to_ld(sigma2);
	sigma = sqrtl(s2);
	out->ci_halfwidth =
	    (int64_t)ceill(sigma * sqrtl(2.0L * logl(2.0L / (1.0L - NOISE_SPREAD_LEVEL)))) - 1;
	if (out->ci_halfwidth < 0)
		out->ci_halfwidth = 0;
	if (sigma >= 100) {
		out->variance = (double)s2;
		return 0;
	}
	/* Terms past 40 sigma + 40 are below e^-800 of the centre's. */
	n = (int64_t)(40 * sigma) + 40;
	for (i = n; i >= 1; i--) {
		x = (long double)i;
		w = expl(-x * x / (2 * s2));
		z += 2 * w;
		m2 += 2 * x * x * w;
	}
	z += 1;
	out->variance = (double)(m2 / z);
	return 0;
}

int
noise_laplace_threshold(int64_t m, struct rational epsilon, struct rational delta, int64_t *tau)
{
	long double v;

	if (m < 1 || !rational_valid(epsilon) || epsilon.num <= 0 || !rational_valid(delta) ||
	    delta.num <= 0 || rational_cmp(delta, (struct rational){1, 2}) >= 0)
		return sl_errf(SL_ERR_INVAL,
		    "noise: the threshold needs m >= 1, epsilon > 0 and 0 < delta < 1/2");
	v = 1.0L + ((long double)m / rational_to_ld(epsilon)) *
	               logl((long double)m / (2.0L * rational_to_ld(delta)));
	v = ceill(v);
	if (!(v <= 9007199254740992.0L))
		return sl_errf(SL_ERR_LIMIT, "noise: the threshold exceeds 2^53");
	*tau = (int64_t)v;
	return 0;
}
