/*
 * common/gen.c -- deterministic synthetic data for the two sample products
 * (common/gen.h), for bench/gen and `sluice demo`.
 *
 *   claims   insurance claims in Ningbo, 2019-2025, one row per settled claim
 *   imaging  medical-imaging studies with an AI reading, 2019-2025
 *
 * The same product, rows and seed give the same bytes on every machine: the
 * generator has its own PRNG (xoshiro256**, seeded by splitmix64) and uses no
 * floating point, so no libm rounding can change a value.  csv and jsonl of one
 * seed hold the same rows.  The unit pool depends on --rows, so a shorter run is
 * not a prefix of a longer one.
 *
 * Privacy units repeat with a Zipf-like skew (a unit's share of rows falls as
 * 1/sqrt of its rank), and a unit's sex, age, region, plan and name stay fixed
 * across its rows.  Everything here is invented; no row describes a person.
 *
 * It holds one output buffer of GEN_BUF_BYTES and writes it in blocks; rows
 * are formatted by hand.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/gen.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define GEN_BUF_BYTES (1U << 20)
#define GEN_ROW_MAX 4096 /* bound on one formatted row; see GEN_TEXT_MAX */
#define GEN_TEXT_MAX 48  /* longest table string or generated name */
#define GEN_ROWS_MAX 1000000000LL

#define GEN_FIRST_YEAR 2019
#define GEN_LAST_YEAR 2025
#define GEN_YEARS (GEN_LAST_YEAR - GEN_FIRST_YEAR + 1)
#define GEN_DAYS 2557     /* 2019-01-01 .. 2025-12-31 */
#define GEN_REF_YEAR 2022 /* a unit's age is drawn for this year */
#define GEN_DATE_LEN 10   /* "YYYY-MM-DD" */

/* Unit ids are 8-digit numbers, or 9-digit when the pool outgrows them. */
#define GEN_ID_BASE 10000000ULL
#define GEN_ID_SPACE 90000000ULL
#define GEN_ID_BASE_WIDE 100000000ULL
#define GEN_ID_SPACE_WIDE 900000000ULL
#define GEN_ID_MUL 55623947ULL /* near 0.618 of GEN_ID_SPACE; coprime with both spaces */

#define CLAIMS_ROWS_PER_UNIT 8
#define IMAGING_ROWS_PER_UNIT 4
#define CLAIMS_FEN_MAX 10000000
#define CLAIMS_DAYS_MAX 365
#define CLAIMS_AGE_MAX 120

/* Probabilities in parts per million, compared with a 32-bit draw. */
#define PPM(x) ((uint32_t)(((uint64_t)(x) << 32) / 1000000U))

/* ---- random numbers ------------------------------------------------------ */

/* splitmix64: seeds xoshiro and derives a unit's fixed attributes. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct rng {
	uint64_t s[4];
	uint64_t spare;
	int has_spare;
};

static void
rng_seed(struct rng *r, uint64_t seed)
{
	uint64_t x = seed;
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	r->has_spare = 0;
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static inline uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* 32 uniform bits; each 64-bit output serves two calls. */
static inline uint32_t
rng_u32(struct rng *r)
{
	if (r->has_spare) {
		r->has_spare = 0;
		return (uint32_t)r->spare;
	}
	r->spare = rng_next(r);
	r->has_spare = 1;
	return (uint32_t)(r->spare >> 32);
}

/* A uniform integer in [0, n) from 32 bits u (bias below 2^-32 * n). */
static inline uint32_t
scale(uint32_t u, uint32_t n)
{
	return (uint32_t)(((uint64_t)u * n) >> 32);
}

/* A unit's own stream: the same (key, unit) always gives the same draws. */
struct unit_stream {
	uint64_t x;
};

static inline uint32_t
unit_u32(struct unit_stream *us)
{
	return (uint32_t)(splitmix64(&us->x) >> 32);
}

/* ---- weighted tables ----------------------------------------------------- */

struct choice {
	const char *name;
	uint32_t weight;
};

struct table {
	const struct choice *v;
	unsigned n;
	uint32_t total; /* filled by table_init() */
};

/* Index of an entry drawn with probability weight / total, from 32 bits u. */
static inline unsigned
table_pick(const struct table *t, uint32_t u)
{
	uint32_t r = scale(u, t->total);
	unsigned i;

	for (i = 0; r >= t->v[i].weight; i++)
		r -= t->v[i].weight;
	return i;
}

/*
 * Sample a distribution given by its quantiles at p = 0, 1/64, ..., 1, with
 * linear interpolation inside each 64th.  The knots below were computed once
 * from log-normal laws (clipped at p = 0.0002 and 0.9998), so sampling needs
 * no floating point.
 */
#define Q_KNOTS 65
#define Q_SHIFT 26 /* 32 bits = 6 bits of segment + 26 of fraction */

static inline int64_t
quantile_sample(const int32_t q[Q_KNOTS], uint32_t u)
{
	uint32_t s = u >> Q_SHIFT, f = u & ((1U << Q_SHIFT) - 1);

	return q[s] + (((int64_t)(q[s + 1] - q[s]) * f) >> Q_SHIFT);
}

/* Outpatient claim, fen: median 22,000, sigma 1.0. */
static const int32_t q_outpatient_fen[Q_KNOTS] = {638, 2553, 3415, 4117, 4744, 5329, 5889, 6431,
    6964, 7490, 8013, 8536, 9060, 9588, 10121, 10660, 11207, 11763, 12328, 12905, 13494, 14097,
    14714, 15347, 15997, 16666, 17354, 18064, 18798, 19556, 20341, 21155, 22000, 22879, 23795,
    24750, 25748, 26793, 27889, 29042, 30256, 31537, 32894, 34334, 35867, 37504, 39259, 41147,
    43187, 45402, 47821, 50479, 53420, 56703, 60403, 64622, 69505, 75256, 82192, 90816, 102019,
    117564, 141709, 189600, 758336};

/* Fixed part of an inpatient claim, fen: median 300,000, sigma 0.8. */
static const int32_t q_inpatient_fixed_fen[Q_KNOTS] = {17667, 53554, 67599, 78495, 87925, 96500,
    104520, 112157, 119522, 126693, 133726, 140662, 147535, 154373, 161200, 168035, 174896, 181799,
    188760, 195792, 202910, 210126, 217453, 224905, 232496, 240238, 248147, 256237, 264525, 273026,
    281759, 290744, 300000, 309551, 319422, 329639, 340233, 351237, 362688, 374628, 387104, 400169,
    413883, 428315, 443547, 459671, 476796, 495051, 514592, 535603, 558313, 583002, 610025, 639833,
    673020, 710376, 752998, 802450, 861083, 932641, 1023598, 1146575, 1331376, 1680560, 5094157};

/* Inpatient cost per day, fen: median 80,000, sigma 0.5. */
static const int32_t q_inpatient_daily_fen[Q_KNOTS] = {13626, 27251, 31521, 34607, 37150, 39375,
    41389, 43254, 45009, 46678, 48281, 49831, 51339, 52814, 54262, 55688, 57099, 58497, 59887,
    61272, 62655, 64038, 65425, 66817, 68218, 69629, 71053, 72492, 73949, 75425, 76924, 78448,
    80000, 81582, 83199, 84852, 86547, 88286, 90074, 91916, 93817, 95784, 97822, 99940, 102147,
    104452, 106868, 109407, 112087, 114925, 117947, 121181, 124661, 128434, 132558, 137110, 142195,
    147962, 154630, 162540, 172274, 184934, 203038, 234854, 469688};

/* Length of an ordinary stay, days: median 7, sigma 0.75. */
static const int32_t q_stay_days[Q_KNOTS] = {1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4,
    5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 11, 11,
    12, 12, 13, 13, 14, 14, 15, 16, 17, 18, 19, 20, 22, 25, 28, 35, 100};

/* ---- shared vocabularies -------------------------------------------------- */

static const struct choice sex_v[] = {{"F", 52}, {"M", 48}};

/* Age in GEN_REF_YEAR by 5-year band (0-4, 5-9, ..., 100-104): people who claim or are imaged. */
static const struct choice age_band5_v[] = {{"0", 50}, {"5", 40}, {"10", 30}, {"15", 25},
    {"20", 30}, {"25", 45}, {"30", 55}, {"35", 50}, {"40", 50}, {"45", 60}, {"50", 75}, {"55", 85},
    {"60", 85}, {"65", 90}, {"70", 80}, {"75", 60}, {"80", 45}, {"85", 25}, {"90", 10}, {"95", 3},
    {"100", 1}};

/* 2020's dip is the pandemic year. */
static const struct choice claims_year_v[] = {{"2019", 100}, {"2020", 88}, {"2021", 104},
    {"2022", 108}, {"2023", 118}, {"2024", 126}, {"2025", 133}};
static const struct choice imaging_year_v[] = {{"2019", 80}, {"2020", 72}, {"2021", 90},
    {"2022", 95}, {"2023", 105}, {"2024", 115}, {"2025", 125}};

/* Ningbo's districts and county-level cities, weighted by 2020 census population (thousands). */
static const struct choice region_v[] = {{"haishu", 1012}, {"jiangbei", 490}, {"beilun", 805},
    {"zhenhai", 505}, {"yinzhou", 1614}, {"fenghua", 578}, {"yuyao", 1254}, {"cixi", 1830},
    {"xiangshan", 557}, {"ninghai", 696}};

/* Surnames, roughly by frequency, and given-name syllables. */
static const struct choice surname_v[] = {{"chen", 90}, {"wang", 85}, {"zhang", 70}, {"li", 70},
    {"liu", 40}, {"xu", 35}, {"hu", 30}, {"zhou", 30}, {"wu", 30}, {"yang", 25}, {"huang", 25},
    {"zhu", 22}, {"sun", 20}, {"jiang", 18}, {"lin", 18}, {"zheng", 18}, {"shen", 15}, {"ye", 14},
    {"he", 14}, {"yu", 14}, {"lu", 14}, {"ma", 12}, {"gao", 12}, {"luo", 10}, {"song", 10},
    {"fang", 10}, {"xie", 10}, {"cao", 8}, {"dong", 8}, {"qian", 8}, {"shi", 8}, {"pan", 8},
    {"ying", 6}, {"weng", 6}, {"mao", 6}, {"ni", 5}};
static const char *const syllables[] = {"jia", "hui", "min", "wei", "jie", "ting", "yu", "hao",
    "xin", "yi", "li", "fang", "qiang", "lei", "jun", "ming", "hong", "ying", "na", "tao", "chen",
    "yang", "rui", "zi", "han", "xuan", "mei", "lan", "feng", "bo", "jing", "yan", "qing", "kai",
    "le", "nan", "xiao", "yun", "hua", "dong", "jian", "ping", "shu", "wen", "xiu", "zhi", "cheng",
    "long"};

/* ---- claims vocabularies ------------------------------------------------- */

/* Plans; plan_pay_permille is the usual share of a claim paid. */
static const struct choice plan_v[] = {{"urban_employee", 46}, {"urban_rural_resident", 30},
    {"huimin_bao", 10}, {"critical_illness", 6}, {"supplementary_medical", 5},
    {"long_term_care", 3}};
static const uint32_t plan_pay_permille[] = {780, 620, 600, 850, 500, 700};
enum { PLAN_HUIMIN_BAO = 2, PLAN_LONG_TERM_CARE = 5 };
#define HUIMIN_BAO_DEDUCTIBLE_FEN 2000000

/*
 * ICD-10 chapters (XX, external causes, and XXII, special purposes, are not
 * used as a primary diagnosis here).  dx_cost_permille scales inpatient cost.
 */
static const struct choice dx_v[] = {{"I", 30}, {"II", 60}, {"III", 10}, {"IV", 70}, {"V", 30},
    {"VI", 30}, {"VII", 30}, {"VIII", 20}, {"IX", 140}, {"X", 160}, {"XI", 100}, {"XII", 40},
    {"XIII", 90}, {"XIV", 60}, {"XV", 20}, {"XVI", 5}, {"XVII", 5}, {"XVIII", 40}, {"XIX", 50},
    {"XXI", 30}};
static const uint32_t dx_cost_permille[] = {900, 1700, 1000, 900, 1200, 1100, 700, 600, 1400, 800,
    1000, 600, 1100, 900, 800, 1300, 1500, 700, 1200, 500};
enum { DX_RESPIRATORY = 9, DX_PREGNANCY = 14, DX_PERINATAL = 15 };

/* ---- imaging vocabularies ------------------------------------------------ */

static const struct choice age_band_v[] = {{"0-9", 1}, {"10-19", 1}, {"20-29", 1}, {"30-39", 1},
    {"40-49", 1}, {"50-59", 1}, {"60-69", 1}, {"70-79", 1}, {"80+", 1}};
static const struct choice modality_v[] = {
    {"CT", 28}, {"MR", 10}, {"XR", 34}, {"US", 20}, {"PET", 3}, {"MG", 5}};
enum { MOD_XR = 2, MOD_MG = 5 };
static const struct choice body_part_v[] = {{"head", 1}, {"neck", 1}, {"chest", 1}, {"abdomen", 1},
    {"pelvis", 1}, {"spine", 1}, {"shoulder", 1}, {"knee", 1}, {"hand", 1}, {"foot", 1},
    {"breast", 1}, {"whole_body", 1}};
static const struct choice finding_v[] = {
    {"normal", 1}, {"nodule", 1}, {"fracture", 1}, {"hemorrhage", 1}, {"mass", 1}, {"other", 1}};
enum { FINDING_NORMAL = 0, FINDING_OTHER = 5 };
static const struct choice hospital_v[] = {{"NB01", 22}, {"NB02", 18}, {"NB03", 15}, {"NB04", 12},
    {"NB05", 10}, {"NB06", 9}, {"NB07", 8}, {"NB08", 6}};

/* Body part given modality, in body_part_v order. */
static const uint32_t part_by_modality[NELEM(modality_v)][NELEM(body_part_v)] = {
    /* head neck chest abd pelvis spine shoulder knee hand foot breast whole */
    {30, 4, 35, 18, 5, 8, 0, 0, 0, 0, 0, 0},  /* CT */
    {35, 2, 0, 7, 5, 25, 8, 15, 0, 0, 3, 0},  /* MR */
    {2, 1, 45, 4, 5, 10, 8, 10, 8, 7, 0, 0},  /* XR */
    {0, 20, 0, 40, 20, 0, 2, 3, 0, 0, 15, 0}, /* US */
    {10, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 85},   /* PET */
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0},   /* MG */
};

/* AI finding given body part, in finding_v order. */
static const uint32_t finding_by_part[NELEM(body_part_v)][NELEM(finding_v)] = {
    /* normal nodule fracture hemorrhage mass other */
    {70, 1, 4, 10, 5, 10},  /* head */
    {60, 30, 0, 0, 5, 5},   /* neck */
    {58, 25, 5, 0, 5, 7},   /* chest */
    {65, 5, 0, 1, 15, 14},  /* abdomen */
    {70, 3, 8, 0, 10, 9},   /* pelvis */
    {65, 0, 15, 0, 3, 17},  /* spine */
    {70, 0, 15, 0, 2, 13},  /* shoulder */
    {68, 0, 14, 0, 2, 16},  /* knee */
    {70, 0, 22, 0, 1, 7},   /* hand */
    {70, 0, 22, 0, 1, 7},   /* foot */
    {70, 18, 0, 0, 8, 4},   /* breast */
    {45, 10, 0, 0, 35, 10}, /* whole_body */
};

static struct table sex_t = {sex_v, NELEM(sex_v), 0};
static struct table age_band5_t = {age_band5_v, NELEM(age_band5_v), 0};
static struct table claims_year_t = {claims_year_v, NELEM(claims_year_v), 0};
static struct table imaging_year_t = {imaging_year_v, NELEM(imaging_year_v), 0};
static struct table region_t = {region_v, NELEM(region_v), 0};
static struct table surname_t = {surname_v, NELEM(surname_v), 0};
static struct table plan_t = {plan_v, NELEM(plan_v), 0};
static struct table dx_t = {dx_v, NELEM(dx_v), 0};
static struct table age_band_t = {age_band_v, NELEM(age_band_v), 0};
static struct table modality_t = {modality_v, NELEM(modality_v), 0};
static struct table body_part_t = {body_part_v, NELEM(body_part_v), 0};
static struct table finding_t = {finding_v, NELEM(finding_v), 0};
static struct table hospital_t = {hospital_v, NELEM(hospital_v), 0};

_Static_assert(NELEM(plan_pay_permille) == NELEM(plan_v), "one pay share per plan");
_Static_assert(NELEM(dx_cost_permille) == NELEM(dx_v), "one cost factor per chapter");
_Static_assert(NELEM(claims_year_v) == GEN_YEARS, "one weight per year");
_Static_assert(NELEM(imaging_year_v) == GEN_YEARS, "one weight per year");

/* "YYYY-MM-DD" for each day of GEN_FIRST_YEAR .. GEN_LAST_YEAR, and each year's first day. */
static char dates[GEN_DAYS][GEN_DATE_LEN + 1];
static uint32_t year_first_day[GEN_YEARS + 1];

/* ---- output ---------------------------------------------------------------- */

struct out {
	FILE *fp;
	char *buf;
	size_t len;
	int failed;
};

static void
out_flush(struct out *o)
{
	if (o->len > 0 && !o->failed && fwrite(o->buf, 1, o->len, o->fp) != o->len)
		o->failed = 1;
	o->len = 0;
}

/*
 * The put functions write without a bound check: the row loop flushes while
 * fewer than GEN_ROW_MAX bytes are free, and no row is longer (every string
 * comes from a table or is a name, all under GEN_TEXT_MAX, checked at start).
 */
static inline void
put_mem(struct out *o, const char *s, size_t n)
{
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static inline void
put_ch(struct out *o, char c)
{
	o->buf[o->len++] = c;
}

static inline void
put_str(struct out *o, const char *s)
{
	put_mem(o, s, strlen(s));
}

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                  "31323334353637383940414243444546474849505152535455565758596061"
                                  "6263646566676869707172737475767778798081828384858687888990919293"
                                  "949596979899";

static void
put_i64(struct out *o, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	while (u >= 100) {
		p -= 2;
		memcpy(p, digit_pairs + (u % 100) * 2, 2);
		u /= 100;
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + u * 2, 2);
	} else
		*--p = (char)('0' + u);
	if (v < 0)
		*--p = '-';
	put_mem(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* v thousandths as a decimal with exactly three places, e.g. 873 -> "0.873". */
static void
put_milli(struct out *o, int64_t v)
{
	if (v < 0) {
		put_ch(o, '-');
		v = -v;
	}
	put_i64(o, v / 1000);
	put_ch(o, '.');
	v %= 1000;
	put_ch(o, (char)('0' + v / 100));
	put_mem(o, digit_pairs + (v % 100) * 2, 2);
}

/* A CSV field per RFC 4180: quoted only if it holds a comma, quote, CR or LF. */
static void
put_csv_text(struct out *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			break;
	if (i == n) {
		put_mem(o, s, n);
		return;
	}
	put_ch(o, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			put_ch(o, '"');
		put_ch(o, s[i]);
	}
	put_ch(o, '"');
}

/* A JSON string; s is ASCII (every string here is). */
static void
put_json_text(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	put_ch(o, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			put_ch(o, '\\');
			put_ch(o, (char)c);
		} else if (c < 0x20) {
			put_mem(o, "\\u00", 4);
			put_ch(o, hex[c >> 4]);
			put_ch(o, hex[c & 15]);
		} else
			put_ch(o, (char)c);
	}
	put_ch(o, '"');
}

/* ---- rows ---------------------------------------------------------------- */

enum cell_kind { CELL_NULL, CELL_INT, CELL_MILLI, CELL_TEXT };

struct cell {
	enum cell_kind kind;
	int64_t i;     /* CELL_INT value, or CELL_MILLI thousandths */
	const char *s; /* CELL_TEXT, n bytes, not necessarily terminated */
	size_t n;
};

static inline void
cell_int(struct cell *c, int64_t v)
{
	c->kind = CELL_INT;
	c->i = v;
}

static inline void
cell_milli(struct cell *c, int64_t v)
{
	c->kind = CELL_MILLI;
	c->i = v;
}

static inline void
cell_text(struct cell *c, const char *s, size_t n)
{
	c->kind = CELL_TEXT;
	c->s = s;
	c->n = n;
}

static inline void
cell_str(struct cell *c, const char *s)
{
	cell_text(c, s, strlen(s));
}

static inline void
cell_date(struct cell *c, uint32_t day)
{
	cell_text(c, dates[day], GEN_DATE_LEN);
}

struct column {
	const char *name;
	const char *type;
	const char *class;
	const struct table *domain; /* public TEXT domain, or NULL */
	int has_bounds;
	int64_t lo, hi;  /* bounds, when has_bounds */
	int enum_bounds; /* also publish every integer in bounds as the domain */
	int nullable;
};

struct gen {
	struct rng rng;
	uint64_t unit_key; /* seeds each unit's own stream */
	uint64_t units;    /* size of the unit pool */
	uint64_t id_base, id_space, id_off;
	char name[GEN_TEXT_MAX];
};

/*
 * Draw a unit index in [0, units): index floor(units * u^2) for uniform u, so
 * rank r gets a share near 1/(2 sqrt(r * units)).  With 8 rows per unit
 * nearly every unit appears and the busiest has about 8 sqrt(units) rows.
 */
static inline uint64_t
unit_draw(struct gen *g)
{
	uint64_t u = rng_u32(&g->rng);

	return (((u * u) >> 32) * g->units) >> 32;
}

/* The unit's public id: a fixed permutation of the pool into 8 (or 9) digits. */
static inline int64_t
unit_id(const struct gen *g, uint64_t idx)
{
	return (int64_t)(g->id_base + (idx * GEN_ID_MUL + g->id_off) % g->id_space);
}

static inline struct unit_stream
unit_stream_open(const struct gen *g, uint64_t idx)
{
	struct unit_stream us = {g->unit_key ^ (idx * 0xd1b54a32d192ed03ULL)};

	splitmix64(&us.x);
	return us;
}

/* Age in GEN_REF_YEAR. */
static int
age_draw(struct unit_stream *us)
{
	unsigned band = table_pick(&age_band5_t, unit_u32(us));

	return (int)(band * 5 + scale(unit_u32(us), 5));
}

/* A pinyin name such as "Chen Jiahui" into g->name; returns its length. */
static size_t
name_draw(struct gen *g, struct unit_stream *us)
{
	const char *sur = surname_v[table_pick(&surname_t, unit_u32(us))].name;
	const char *g1 = syllables[scale(unit_u32(us), NELEM(syllables))];
	const char *g2 = syllables[scale(unit_u32(us), NELEM(syllables))];
	size_t n = 0, k;

	k = strlen(sur);
	memcpy(g->name, sur, k);
	g->name[0] = (char)(g->name[0] - 'a' + 'A');
	n = k;
	g->name[n++] = ' ';
	k = strlen(g1);
	memcpy(g->name + n, g1, k);
	g->name[n] = (char)(g->name[n] - 'a' + 'A');
	n += k;
	if (unit_u32(us) < PPM(700000)) { /* 70% have a two-syllable given name */
		k = strlen(g2);
		memcpy(g->name + n, g2, k);
		n += k;
	}
	g->name[n] = '\0';
	return n;
}

/* A day of year y (an index into dates[]), uniform. */
static inline uint32_t
day_in_year(int y, uint32_t u)
{
	uint32_t first = year_first_day[y - GEN_FIRST_YEAR];

	return first + scale(u, year_first_day[y - GEN_FIRST_YEAR + 1] - first);
}

static const struct column claims_cols[] = {
    {"member_id", "INT", "unit", NULL, 0, 0, 0, 0, 0},
    {"age", "INT", "dimension", NULL, 1, 0, CLAIMS_AGE_MAX, 0, 0},
    {"sex", "TEXT", "dimension", &sex_t, 0, 0, 0, 0, 0},
    {"region", "TEXT", "dimension", &region_t, 0, 0, 0, 0, 0},
    {"plan", "TEXT", "dimension", &plan_t, 0, 0, 0, 0, 0},
    {"dx_chapter", "TEXT", "dimension", &dx_t, 0, 0, 0, 0, 0},
    {"claim_fen", "INT", "measure", NULL, 1, 0, CLAIMS_FEN_MAX, 0, 0},
    {"paid_fen", "INT", "measure", NULL, 1, 0, CLAIMS_FEN_MAX, 0, 0},
    {"inpatient_days", "INT", "measure", NULL, 1, 0, CLAIMS_DAYS_MAX, 0, 0},
    {"year", "INT", "dimension", NULL, 1, GEN_FIRST_YEAR, GEN_LAST_YEAR, 1, 0},
    {"admitted", "DATE", "dimension", NULL, 0, 0, 0, 0, 1},
    {"name", "TEXT", "hidden", NULL, 0, 0, 0, 0, 0},
};

enum {
	C_MEMBER_ID,
	C_AGE,
	C_SEX,
	C_REGION,
	C_PLAN,
	C_DX,
	C_CLAIM,
	C_PAID,
	C_DAYS,
	C_YEAR,
	C_ADMITTED,
	C_NAME,
	C_NCOLS
};
_Static_assert(C_NCOLS == NELEM(claims_cols), "claims cells match columns");

static void
claims_row(struct gen *g, struct cell *c)
{
	struct rng *r = &g->rng;
	uint64_t idx = unit_draw(g);
	struct unit_stream us = unit_stream_open(g, idx);
	unsigned sex, region, plan, dx, i;
	int age, year, inpatient;
	int64_t claim, paid, days = 0;
	uint32_t p_inpatient;

	/* The member: fixed across all their claims. */
	sex = table_pick(&sex_t, unit_u32(&us));
	age = age_draw(&us);
	region = table_pick(&region_t, unit_u32(&us));
	plan = table_pick(&plan_t, unit_u32(&us));
	cell_text(&c[C_NAME], g->name, name_draw(g, &us));

	/* The claim. */
	year = GEN_FIRST_YEAR + (int)table_pick(&claims_year_t, rng_u32(r));
	age += year - GEN_REF_YEAR;
	if (age < 0) { /* not yet born: the claim is from the year of birth */
		year -= age;
		age = 0;
	}
	if (age > CLAIMS_AGE_MAX)
		age = CLAIMS_AGE_MAX;

	dx = table_pick(&dx_t, rng_u32(r));
	for (i = 0; i < 3; i++) {
		if (dx == DX_PREGNANCY && (sex != 0 || age < 15 || age > 49))
			dx = table_pick(&dx_t, rng_u32(r));
		else if (dx == DX_PERINATAL && age > 0)
			dx = table_pick(&dx_t, rng_u32(r));
		else
			break;
	}
	if ((dx == DX_PREGNANCY && (sex != 0 || age < 15 || age > 49)) ||
	    (dx == DX_PERINATAL && age > 0) || (age < 15 && rng_u32(r) < PPM(300000)))
		dx = DX_RESPIRATORY;

	/* Inpatient: 6% at birth rising to about 30% at 120; long-term care more. */
	p_inpatient = PPM(60000 + 2000 * age + (plan == PLAN_LONG_TERM_CARE ? 200000 : 0));
	inpatient = rng_u32(r) < p_inpatient;
	if (inpatient) {
		if (rng_u32(r) < PPM(plan == PLAN_LONG_TERM_CARE ? 200000 : 3000))
			days = 60 + scale(rng_u32(r), CLAIMS_DAYS_MAX - 60 + 1);
		else
			days = quantile_sample(q_stay_days, rng_u32(r));
		claim = quantile_sample(q_inpatient_fixed_fen, rng_u32(r)) +
		        days * quantile_sample(q_inpatient_daily_fen, rng_u32(r));
		claim = claim * dx_cost_permille[dx] / 1000;
	} else {
		claim = quantile_sample(q_outpatient_fen, rng_u32(r));
		claim = claim * (1000 + dx_cost_permille[dx]) / 2000;
	}
	if (claim > CLAIMS_FEN_MAX)
		claim = CLAIMS_FEN_MAX;

	/* Paid: the plan's share, +-8%, more for stays; 3% denied outright. */
	if (rng_u32(r) < PPM(30000)) {
		paid = 0;
	} else {
		int64_t share =
		    plan_pay_permille[plan] + (inpatient ? 50 : 0) - 80 + scale(rng_u32(r), 161);

		if (share > 1000)
			share = 1000;
		paid = plan == PLAN_HUIMIN_BAO
		           ? (claim > HUIMIN_BAO_DEDUCTIBLE_FEN
		                     ? (claim - HUIMIN_BAO_DEDUCTIBLE_FEN) * share / 1000
		                     : 0)
		           : claim * share / 1000;
	}

	cell_int(&c[C_MEMBER_ID], unit_id(g, idx));
	cell_int(&c[C_AGE], age);
	cell_str(&c[C_SEX], sex_v[sex].name);
	cell_str(&c[C_REGION], region_v[region].name);
	cell_str(&c[C_PLAN], plan_v[plan].name);
	cell_str(&c[C_DX], dx_v[dx].name);
	cell_int(&c[C_CLAIM], claim);
	cell_int(&c[C_PAID], paid);
	cell_int(&c[C_DAYS], days);
	cell_int(&c[C_YEAR], year);
	if (rng_u32(r) < PPM(50000))
		c[C_ADMITTED].kind = CELL_NULL;
	else
		cell_date(&c[C_ADMITTED], day_in_year(year, rng_u32(r)));
}

static const struct column imaging_cols[] = {
    {"patient_id", "INT", "unit", NULL, 0, 0, 0, 0, 0},
    {"age_band", "TEXT", "dimension", &age_band_t, 0, 0, 0, 0, 0},
    {"sex", "TEXT", "dimension", &sex_t, 0, 0, 0, 0, 0},
    {"modality", "TEXT", "dimension", &modality_t, 0, 0, 0, 0, 0},
    {"body_part", "TEXT", "dimension", &body_part_t, 0, 0, 0, 0, 0},
    {"ai_finding", "TEXT", "dimension", &finding_t, 0, 0, 0, 0, 0},
    {"confidence", "REAL", "measure", NULL, 1, 0, 1, 0, 0},
    {"hospital", "TEXT", "dimension", &hospital_t, 0, 0, 0, 0, 0},
    {"study_date", "DATE", "dimension", NULL, 0, 0, 0, 0, 0},
};

enum {
	I_PATIENT_ID,
	I_AGE_BAND,
	I_SEX,
	I_MODALITY,
	I_BODY_PART,
	I_FINDING,
	I_CONFIDENCE,
	I_HOSPITAL,
	I_STUDY_DATE,
	I_NCOLS
};
_Static_assert(I_NCOLS == NELEM(imaging_cols), "imaging cells match columns");

/* Index drawn from a row of raw weights. */
static unsigned
weights_pick(const uint32_t *w, unsigned n, uint32_t u)
{
	uint32_t total = 0, x;
	unsigned i;

	for (i = 0; i < n; i++)
		total += w[i];
	x = scale(u, total);
	for (i = 0; x >= w[i]; i++)
		x -= w[i];
	return i;
}

/* Weekends see about a third of a weekday's studies; 2019-01-01 was a Tuesday. */
static uint32_t
study_day(struct rng *r, int year)
{
	uint32_t day = 0;
	int i;

	for (i = 0; i < 4; i++) {
		day = day_in_year(year, rng_u32(r));
		if ((day + 1) % 7 < 5 || rng_u32(r) < PPM(350000))
			break;
	}
	return day;
}

static void
imaging_row(struct gen *g, struct cell *c)
{
	struct rng *r = &g->rng;
	uint64_t idx = unit_draw(g);
	struct unit_stream us = unit_stream_open(g, idx);
	unsigned sex, home, modality, part, finding, band;
	int age, year;
	uint32_t a, b;
	int64_t conf;

	/* The patient: fixed across all their studies. */
	sex = table_pick(&sex_t, unit_u32(&us));
	age = age_draw(&us);
	home = table_pick(&hospital_t, unit_u32(&us));

	/* The study. */
	year = GEN_FIRST_YEAR + (int)table_pick(&imaging_year_t, rng_u32(r));
	age += year - GEN_REF_YEAR;
	if (age < 0) {
		year -= age;
		age = 0;
	}
	band = age >= 80 ? 8 : (unsigned)age / 10;
	modality = table_pick(&modality_t, rng_u32(r));
	if (modality == MOD_MG && sex != 0)
		modality = MOD_XR;
	part = weights_pick(part_by_modality[modality], NELEM(body_part_v), rng_u32(r));
	finding = weights_pick(finding_by_part[part], NELEM(finding_v), rng_u32(r));

	/* Confidence in thousandths: high for normal, wider for findings. */
	a = rng_u32(r);
	b = rng_u32(r);
	if (finding == FINDING_NORMAL)
		conf = 999 - (int64_t)scale(a, 200) * scale(b, 200) / 200;
	else if (finding == FINDING_OTHER)
		conf = 300 + scale(a, 350) + scale(b, 350);
	else
		conf = 500 + scale(a, 250) + scale(b, 250);

	cell_int(&c[I_PATIENT_ID], unit_id(g, idx));
	cell_str(&c[I_AGE_BAND], age_band_v[band].name);
	cell_str(&c[I_SEX], sex_v[sex].name);
	cell_str(&c[I_MODALITY], modality_v[modality].name);
	cell_str(&c[I_BODY_PART], body_part_v[part].name);
	cell_str(&c[I_FINDING], finding_v[finding].name);
	cell_milli(&c[I_CONFIDENCE], conf);
	cell_str(&c[I_HOSPITAL],
	    hospital_v[rng_u32(r) < PPM(800000) ? home : table_pick(&hospital_t, rng_u32(r))].name);
	cell_date(&c[I_STUDY_DATE], study_day(r, year));
}

/* ---- products ------------------------------------------------------------ */

struct product {
	const char *name;
	const char *title;
	const char *category;
	const char *description;
	const struct column *cols;
	unsigned ncols;
	unsigned rows_per_unit;
	uint64_t salt; /* keeps the two products' units apart for one seed */
	void (*row)(struct gen *g, struct cell *c);
};

static const struct product products[] = {
    {"claims", "Insurance claims, 2019-2025", "insurance",
        "One row per settled claim in Ningbo, 2019-2025. Synthetic: made by bench/gen, "
        "not real people. Amounts in fen; admitted is empty when unknown.",
        claims_cols, NELEM(claims_cols), CLAIMS_ROWS_PER_UNIT, 0x636c61696d73ULL, claims_row},
    {"imaging", "Medical-imaging studies, 2019-2025", "healthcare",
        "One row per imaging study read by an AI model at a Ningbo hospital, "
        "2019-01-01 to 2025-12-31. Synthetic: made by bench/gen, not real people.",
        imaging_cols, NELEM(imaging_cols), IMAGING_ROWS_PER_UNIT, 0x696d6167696e67ULL, imaging_row},
};

#define GEN_MAX_COLS 16

static void
row_put_csv(struct out *o, const struct cell *c, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			put_ch(o, ',');
		switch (c[i].kind) {
		case CELL_NULL:
			break;
		case CELL_INT:
			put_i64(o, c[i].i);
			break;
		case CELL_MILLI:
			put_milli(o, c[i].i);
			break;
		case CELL_TEXT:
			put_csv_text(o, c[i].s, c[i].n);
			break;
		}
	}
	put_ch(o, '\n');
}

static void
row_put_json(struct out *o, const struct column *cols, const struct cell *c, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		put_mem(o, i == 0 ? "{\"" : ",\"", 2);
		put_str(o, cols[i].name);
		put_mem(o, "\":", 2);
		switch (c[i].kind) {
		case CELL_NULL:
			put_mem(o, "null", 4);
			break;
		case CELL_INT:
			put_i64(o, c[i].i);
			break;
		case CELL_MILLI:
			put_milli(o, c[i].i);
			break;
		case CELL_TEXT:
			put_json_text(o, c[i].s, c[i].n);
			break;
		}
	}
	put_mem(o, "}\n", 2);
}

/* Fill dates[] and year_first_day[]. */
static void
dates_init(void)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	uint32_t day = 0;
	int y, m, d, n;
	char *s;

	for (y = GEN_FIRST_YEAR; y <= GEN_LAST_YEAR; y++) {
		year_first_day[y - GEN_FIRST_YEAR] = day;
		for (m = 1; m <= 12; m++) {
			n = mdays[m - 1] + (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
			for (d = 1; d <= n; d++, day++) {
				s = dates[day];
				memcpy(s, digit_pairs + (y / 100) * 2, 2);
				memcpy(s + 2, digit_pairs + (y % 100) * 2, 2);
				s[4] = '-';
				memcpy(s + 5, digit_pairs + m * 2, 2);
				s[7] = '-';
				memcpy(s + 8, digit_pairs + d * 2, 2);
				s[10] = '\0';
			}
		}
	}
	year_first_day[GEN_YEARS] = day;
}

/*
 * Sum each table's weights and check the bounds the put functions rely on.
 * Returns 0, or -1 (with a message) if a table is malformed.
 */
static int
tables_init(void)
{
	struct table *all[] = {&sex_t, &age_band5_t, &claims_year_t, &imaging_year_t, &region_t,
	    &surname_t, &plan_t, &dx_t, &age_band_t, &modality_t, &body_part_t, &finding_t,
	    &hospital_t};
	size_t i, j;

	for (i = 0; i < NELEM(all); i++) {
		uint64_t total = 0;

		for (j = 0; j < all[i]->n; j++) {
			total += all[i]->v[j].weight;
			if (strlen(all[i]->v[j].name) >= GEN_TEXT_MAX / 2) {
				fprintf(
				    stderr, "gen: table string too long: %s\n", all[i]->v[j].name);
				return -1;
			}
		}
		if (total == 0 || total > UINT32_MAX) {
			fprintf(stderr, "gen: bad table weights (%s...)\n", all[i]->v[0].name);
			return -1;
		}
		all[i]->total = (uint32_t)total;
	}
	for (i = 0; i < NELEM(syllables); i++)
		if (strlen(syllables[i]) >= GEN_TEXT_MAX / 4) {
			fprintf(stderr, "gen: syllable too long: %s\n", syllables[i]);
			return -1;
		}
	dates_init();
	return 0;
}

/* ---- schema -------------------------------------------------------------- */

static void
schema_put_str(struct out *o, const char *s)
{
	put_json_text(o, s, strlen(s));
}

/* The product's schema.json (as in examples/), one column per line. */
static void
schema_put(struct out *o, const struct product *p)
{
	const struct column *col;
	unsigned i, j;
	int64_t v;

	put_str(o, "{\n  \"name\": ");
	schema_put_str(o, p->name);
	put_str(o, ",\n  \"title\": ");
	schema_put_str(o, p->title);
	put_str(o, ",\n  \"category\": ");
	schema_put_str(o, p->category);
	put_str(o, ",\n  \"description\": ");
	schema_put_str(o, p->description);
	put_str(o, ",\n  \"columns\": [\n");
	for (i = 0; i < p->ncols; i++) {
		col = &p->cols[i];
		if (o->len > GEN_BUF_BYTES - GEN_ROW_MAX)
			out_flush(o);
		put_str(o, "    {\"name\": ");
		schema_put_str(o, col->name);
		put_str(o, ", \"type\": ");
		schema_put_str(o, col->type);
		put_str(o, ", \"class\": ");
		schema_put_str(o, col->class);
		if (col->has_bounds) {
			put_str(o, ", \"bounds\": [");
			put_i64(o, col->lo);
			put_str(o, ", ");
			put_i64(o, col->hi);
			put_ch(o, ']');
		}
		if (col->enum_bounds) {
			put_str(o, ", \"domain\": [");
			for (v = col->lo; v <= col->hi; v++) {
				if (v > col->lo)
					put_str(o, ", ");
				put_i64(o, v);
			}
			put_ch(o, ']');
		}
		if (col->domain != NULL) {
			put_str(o, ", \"domain\": [");
			for (j = 0; j < col->domain->n; j++) {
				if (j > 0)
					put_str(o, ", ");
				schema_put_str(o, col->domain->v[j].name);
			}
			put_ch(o, ']');
		}
		if (col->nullable)
			put_str(o, ", \"nullable\": true");
		put_str(o, i + 1 < p->ncols ? "},\n" : "}\n");
	}
	put_str(o, "  ]\n}\n");
}

/* ---- the entry points ----------------------------------------------------- */

static const struct product *
product_named(const char *name)
{
	unsigned k;

	for (k = 0; name != NULL && k < NELEM(products); k++)
		if (strcmp(name, products[k].name) == 0)
			return &products[k];
	return NULL;
}

int
gen_known(const char *product)
{
	return product_named(product) != NULL;
}

/* Rows, or with rows < 0 the schema, of p into fp through o. */
static void
generate(struct out *o, const struct product *p, long long rows, uint64_t seed, int json)
{
	struct cell cells[GEN_MAX_COLS];
	struct gen g;
	long long done;
	unsigned k;
	uint64_t x;

	_Static_assert(NELEM(claims_cols) <= GEN_MAX_COLS, "cells fit");
	_Static_assert(NELEM(imaging_cols) <= GEN_MAX_COLS, "cells fit");
	if (rows < 0) {
		schema_put(o, p);
		return;
	}
	x = seed ^ p->salt;
	rng_seed(&g.rng, splitmix64(&x));
	g.unit_key = splitmix64(&x);
	g.units = (uint64_t)rows / p->rows_per_unit;
	if (g.units == 0)
		g.units = 1;
	g.id_base = g.units <= GEN_ID_SPACE ? GEN_ID_BASE : GEN_ID_BASE_WIDE;
	g.id_space = g.units <= GEN_ID_SPACE ? GEN_ID_SPACE : GEN_ID_SPACE_WIDE;
	g.id_off = splitmix64(&x) % g.id_space;
	if (!json) {
		for (k = 0; k < p->ncols; k++) {
			if (k > 0)
				put_ch(o, ',');
			put_str(o, p->cols[k].name);
		}
		put_ch(o, '\n');
	}
	for (done = 0; done < rows && !o->failed; done++) {
		if (o->len > GEN_BUF_BYTES - GEN_ROW_MAX)
			out_flush(o);
		p->row(&g, cells);
		if (json)
			row_put_json(o, p->cols, cells, p->ncols);
		else
			row_put_csv(o, cells, p->ncols);
	}
}

static int
run(FILE *fp, const char *product, long long rows, uint64_t seed, int json)
{
	const struct product *p = product_named(product);
	struct out o = {0};

	if (p == NULL || rows > GEN_ROWS_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (tables_init() != 0 || (o.buf = malloc(GEN_BUF_BYTES)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	o.fp = fp;
	generate(&o, p, rows, seed, json);
	out_flush(&o);
	free(o.buf);
	if (fflush(fp) != 0)
		o.failed = 1;
	return o.failed ? -1 : 0;
}

int
gen_write(FILE *fp, const char *product, long long rows, uint64_t seed, int jsonl)
{
	if (rows < 0) {
		errno = EINVAL;
		return -1;
	}
	return run(fp, product, rows, seed, jsonl);
}

int
gen_write_schema(FILE *fp, const char *product)
{
	return run(fp, product, -1, 0, 0);
}
