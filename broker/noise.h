/*
 * broker/noise.h -- exact discrete Laplace and discrete Gaussian noise for
 * dp release mode (docs/privacy.md, issue 15).
 *
 * The broker adds the noise; the worker never sees it.  Samples follow
 * Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential
 * Privacy" (NeurIPS 2020, arXiv:2004.00010):
 *
 *   Algorithm 1, Bernoulli(exp(-gamma)) for a rational gamma = n/d >= 0:
 *     for gamma <= 1, draw A_k ~ Bernoulli(gamma/k) for k = 1, 2, ... until
 *     the first A_k = 0, and answer whether that k is odd; for gamma > 1,
 *     floor(gamma) draws of Bernoulli(exp(-1)) that must all be 1, then one
 *     of Bernoulli(exp(-(gamma - floor(gamma)))).
 *   Algorithm 2, the discrete Laplace with scale t = n/d,
 *     P(x) = (1 - e^(-1/t)) / (1 + e^(-1/t)) * e^(-|x|/t) for every integer x:
 *     U uniform in [0, n), kept with probability exp(-U/n); V geometric by
 *     Bernoulli(exp(-1)) draws; Y = floor((U + n V) / d); a fair sign, and
 *     the pair (negative, 0) rejected so 0 is not counted twice.
 *   Algorithm 3, the discrete Gaussian with a rational sigma^2 = p/q,
 *     P(x) proportional to exp(-x^2 / (2 sigma^2)): Y from the discrete
 *     Laplace with the integer scale t = floor(sigma) + 1, kept with
 *     probability exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2)).
 *
 * Why no floating point: a double-valued sampler leaks through the gaps and
 * rounding of its outputs (Mironov 2012, "On significance of the least
 * significant bits for differential privacy"), and its true distribution is
 * not the one the privacy proof assumes.  Here every probability is a ratio
 * of integers compared against unbiased uniform integers, so each sample has
 * exactly the stated distribution (given ideal random bytes).  Integers are
 * 64 bits, intermediate products 128, and the Gaussian's acceptance test
 * falls back to a 256-bit product when |Y| is large; every step that could
 * overflow is checked and fails with SL_ERR_LIMIT rather than wrapping.
 *
 * Randomness is libsodium's randombytes_buf (keys_random()), buffered in a
 * struct noise_rng held in guarded memory and wiped when freed: whoever
 * learns the noise learns the exact answer from the noisy one.
 *
 * Supported ranges (anything else is refused, and nothing is drawn):
 *   - discrete Laplace: a scale t with 0 < t <= NOISE_LAPLACE_SCALE_MAX
 *     (2^40), any valid struct rational;
 *   - discrete Gaussian: 0 < sigma^2 <= NOISE_GAUSSIAN_SIGMA2_MAX (2^60),
 *     with the reduced numerator p below 2^62 (so 2 p q t^2 < 2^127);
 *   - a sample beyond int64_t is SL_ERR_LIMIT: at the largest scales its
 *     probability is below exp(-2^23).
 *
 * Timing: a sampler's running time depends on its random draws, never on
 * the data.  Every loop ends with a fixed probability per round: at least
 * 1 - 1/e for the Bernoulli loops, (1 - 1/e) / 2 for the Laplace's, and for
 * the Gaussian's (computed) 0.45 at a tiny sigma, 0.54 at sigma = 1, 0.75 at
 * sigma = 10 and 0.76 beyond, so a sample costs a few
 * dozen draws of a few bytes on average.  Still, the time reveals something
 * of the noise drawn: callers must draw a release's noise before the exact
 * answer is known, or at least independently of it, never branch on the
 * answer inside a draw, and not report per-draw timings (docs/privacy.md, "Timing").
 *
 * Calibration, for callers: with at most m = max_rows_per_unit rows per
 * privacy unit, COUNT has sensitivity m, and SUM of a measure with bounds
 * [lo, hi], shifted to its midpoint, m * ceil((hi - lo) / 2).  For pure
 * epsilon-DP the Laplace scale is t = sensitivity / epsilon; for rho-zCDP
 * the Gaussian has sigma^2 = sensitivity^2 / (2 rho).  Build both with
 * common/rational.h (rational_div_int() and friends).
 */
#ifndef SLUICE_BROKER_NOISE_H
#define SLUICE_BROKER_NOISE_H

#include <stdint.h>

#include "common/rational.h"

#define NOISE_LAPLACE_SCALE_MAX (INT64_C(1) << 40)
#define NOISE_GAUSSIAN_SIGMA2_MAX (INT64_C(1) << 60)
/* The coverage of struct noise_spread's interval. */
#define NOISE_SPREAD_LEVEL 0.95

/* A buffered source of random bytes; opaque. */
struct noise_rng;

/*
 * A new source in *out, in guarded memory; the caller frees it with
 * noise_rng_free().  Needs keys_init().  Returns SL_ERR_NOMEM on failure.
 * One source serves one thread at a time.
 */
int noise_rng_new(struct noise_rng **out) __attribute__((warn_unused_result));

/* Wipe and free rng, with any random bytes it still holds.  rng may be NULL. */
void noise_rng_free(struct noise_rng *rng);

/*
 * *out = 1 with probability exp(-gamma), else 0; gamma >= 0 (Algorithm 1).
 * Returns SL_ERR_INVAL for a negative or invalid gamma (*out untouched).
 */
int noise_bernoulli_exp(struct noise_rng *rng, struct rational gamma, int *out)
    __attribute__((warn_unused_result));

/*
 * A discrete Laplace sample of the given scale into *out (Algorithm 2).
 * Returns SL_ERR_INVAL for a scale <= 0 or invalid, SL_ERR_LIMIT for a scale
 * above NOISE_LAPLACE_SCALE_MAX or a sample beyond int64_t; *out is untouched
 * on failure.
 */
int noise_laplace(struct noise_rng *rng, struct rational scale, int64_t *out)
    __attribute__((warn_unused_result));

/*
 * A discrete Gaussian sample with variance parameter sigma2 into *out
 * (Algorithm 3).  Returns SL_ERR_INVAL for sigma2 <= 0 or invalid,
 * SL_ERR_LIMIT outside the range above; *out is untouched on failure.
 */
int noise_gaussian(struct noise_rng *rng, struct rational sigma2, int64_t *out)
    __attribute__((warn_unused_result));

/*
 * How wide a mechanism's noise is, for telling a buyer what an answer means.
 * Computed in long double: a description, never used to sample.
 */
struct noise_spread {
	/*
	 * The half-width k of the interval [-k, k] that holds the noise with
	 * probability at least NOISE_SPREAD_LEVEL.  Laplace: the smallest such k,
	 * from the closed-form tail P(|X| > k) = 2 r^(k+1) / (1 + r), r =
	 * e^(-1/t).  Gaussian: a conservative k from the sub-Gaussian tail
	 * P(|X| >= x) <= 2 exp(-x^2 / (2 sigma^2)) (CKS 2020), so
	 * k = ceil(sigma sqrt(2 ln 40)) - 1, about 2.72 sigma where the true 95 %
	 * point is about 1.96 sigma.
	 */
	int64_t ci_halfwidth;
	/*
	 * The variance.  Laplace: 2 r / (1 - r)^2 exactly.  Gaussian: summed
	 * from the pmf for sigma < 100; above, sigma^2, which it equals to
	 * within a relative 1e-80000 (by Poisson summation).
	 */
	double variance;
};

/*
 * The spread of noise_laplace() at this scale, or of noise_gaussian() at
 * this sigma2.  Returns SL_ERR_INVAL or SL_ERR_LIMIT as the samplers do for
 * the same argument.
 */
int noise_laplace_spread(struct rational scale, struct noise_spread *out)
    __attribute__((warn_unused_result));
int noise_gaussian_spread(struct rational sigma2, struct noise_spread *out)
    __attribute__((warn_unused_result));

/*
 * The partition-selection threshold tau for groups outside a public domain
 * under Laplace noise (docs/privacy.md, after Google's "Differentially
 * private partition selection", Desfontaines, Voss, Gipson and Mandayam
 * 2022): with m = max_rows_per_unit,
 *     tau = 1 + (m / epsilon) * ln(1 / (2 delta / m)),
 * rounded up to an integer; a group is released when its noisy distinct-unit
 * count is >= tau.  About 14.1, so 15, at epsilon = 1, delta = 1e-6, m = 1.
 * Computed in long double (a threshold, not a sample).  Needs m >= 1,
 * epsilon > 0 and 0 < delta < 1/2, else SL_ERR_INVAL; SL_ERR_LIMIT if tau
 * exceeds 2^53.  *tau is untouched on failure.
 */
int noise_laplace_threshold(int64_t m, struct rational epsilon, struct rational delta, int64_t *tau)
    __attribute__((warn_unused_result));

#endif
