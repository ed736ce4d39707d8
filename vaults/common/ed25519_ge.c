/* veil — GF(2^255-19) and edwards25519 (see ed25519_ge.h; scalars mod L
 * are in ed25519_sc.c).
 *
 * Limb bounds (why no overflow): veil_fe_add/sub/mul all end with a carry
 * pass, so every stored element has limbs < 2^51 + 2^18.  sub adds 4p
 * before subtracting, which covers any such subtrahend.  mul inputs below
 * 2^52 give products below 2^109 (2^113 with the factor 19), summed five
 * times in 128 bits. */
#include "ed25519_ge.h"

#include <pthread.h>
#include <string.h>

#define MASK51 ((UINT64_C(1) << 51) - 1)

typedef unsigned __int128 u128;

/* ---- field ------------------------------------------------------------ */

/* Constants of RFC 7748 / RFC 8032, in radix 2^51. */
static const veil_fe FE_D2 = {{0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL,
                               0x6738cc7407977ULL, 0x2406d9dc56dffULL}};
static const veil_fe FE_D = {{0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL,
                              0x739c663a03cbbULL, 0x52036cee2b6ffULL}};
static const veil_fe FE_SQRTM1 = {{0x61b274a0ea0b0ULL, 0x0d5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL,
                                   0x78595a6804c9eULL, 0x2b8324804fc1dULL}};
/* Base point: y = 4/5, x even. */
static const veil_ge GE_BASE = {
    {{0x62d608f25d51aULL, 0x412a4b4f6592aULL, 0x75b7171a4b31dULL, 0x1ff60527118feULL,
      0x216936d3cd6e5ULL}},
    {{0x6666666666658ULL, 0x4ccccccccccccULL, 0x1999999999999ULL, 0x3333333333333ULL,
      0x6666666666666ULL}},
    {{1, 0, 0, 0, 0}},
    {{0x68ab3a5b7dda3ULL, 0x00eea2a5eadbbULL, 0x2af8df483c27eULL, 0x332b375274732ULL,
      0x67875f0fd78b7ULL}},
};

static uint64_t load64_le(const uint8_t *s)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | s[i];
    return v;
}

static void store64_le(uint8_t *s, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        s[i] = (uint8_t)(v >> (8 * i));
}

static void fe_carry(veil_fe *h)
{
    uint64_t c;
    for (int i = 0; i < 4; i++) {
        c = h->v[i] >> 51;
        h->v[i] &= MASK51;
        h->v[i + 1] += c;
    }
    c = h->v[4] >> 51;
    h->v[4] &= MASK51;
    h->v[0] += 19 * c;
}

void veil_fe_0(veil_fe *h) { memset(h, 0, sizeof(*h)); }

void veil_fe_1(veil_fe *h)
{
    memset(h, 0, sizeof(*h));
    h->v[0] = 1;
}

void veil_fe_copy(veil_fe *h, const veil_fe *f) { *h = *f; }

void veil_fe_add(veil_fe *h, const veil_fe *f, const veil_fe *g)
{
    for (int i = 0; i < 5; i++)
        h->v[i] = f->v[i] + g->v[i];
    fe_carry(h);
}

void veil_fe_sub(veil_fe *h, const veil_fe *f, const veil_fe *g)
{
    /* + 4p keeps every limb non-negative. */
    h->v[0] = f->v[0] + 0x1FFFFFFFFFFFB4ULL - g->v[0];
    for (int i = 1; i < 5; i++)
        h->v[i] = f->v[i] + 0x1FFFFFFFFFFFFCULL - g->v[i];
    fe_carry(h);
}

void veil_fe_neg(veil_fe *h, const veil_fe *f)
{
    veil_fe zero;
    veil_fe_0(&zero);
    veil_fe_sub(h, &zero, f);
}

/* Column sums of a product (each < 2^115) back to limbs < 2^51 + 2^13. */
static void fe_carry128(veil_fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4)
{
    r1 += r0 >> 51;
    r2 += r1 >> 51;
    r3 += r2 >> 51;
    r4 += r3 >> 51;
    r0 = (r0 & MASK51) + (r4 >> 51) * 19;
    h->v[0] = (uint64_t)r0 & MASK51;
    h->v[1] = ((uint64_t)r1 & MASK51) + (uint64_t)(r0 >> 51);
    h->v[2] = (uint64_t)r2 & MASK51;
    h->v[3] = (uint64_t)r3 & MASK51;
    h->v[4] = (uint64_t)r4 & MASK51;
}

void veil_fe_mul(veil_fe *h, const veil_fe *f, const veil_fe *g)
{
    const uint64_t *a = f->v, *b = g->v;
    uint64_t b1 = 19 * b[1], b2 = 19 * b[2], b3 = 19 * b[3], b4 = 19 * b[4];
    u128 r0 = (u128)a[0] * b[0] + (u128)a[1] * b4 + (u128)a[2] * b3 + (u128)a[3] * b2 +
              (u128)a[4] * b1;
    u128 r1 = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * b4 + (u128)a[3] * b3 +
              (u128)a[4] * b2;
    u128 r2 = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0] + (u128)a[3] * b4 +
              (u128)a[4] * b3;
    u128 r3 = (u128)a[0] * b[3] + (u128)a[1] * b[2] + (u128)a[2] * b[1] + (u128)a[3] * b[0] +
              (u128)a[4] * b4;
    u128 r4 = (u128)a[0] * b[4] + (u128)a[1] * b[3] + (u128)a[2] * b[2] + (u128)a[3] * b[1] +
              (u128)a[4] * b[0];

    fe_carry128(h, r0, r1, r2, r3, r4);
}

/* Squaring: the cross products of veil_fe_mul appear twice, so ten
 * multiplications instead of twenty-five. */
void veil_fe_sq(veil_fe *h, const veil_fe *f)
{
    const uint64_t *a = f->v;
    uint64_t a0_2 = 2 * a[0], a1_2 = 2 * a[1];
    uint64_t a3_19 = 19 * a[3], a3_38 = 38 * a[3], a4_19 = 19 * a[4], a4_38 = 38 * a[4];
    u128 r0 = (u128)a[0] * a[0] + (u128)a[1] * a4_38 + (u128)a[2] * a3_38;
    u128 r1 = (u128)a0_2 * a[1] + (u128)a[2] * a4_38 + (u128)a[3] * a3_19;
    u128 r2 = (u128)a0_2 * a[2] + (u128)a[1] * a[1] + (u128)a[3] * a4_38;
    u128 r3 = (u128)a0_2 * a[3] + (u128)a1_2 * a[2] + (u128)a[4] * a4_19;
    u128 r4 = (u128)a0_2 * a[4] + (u128)a1_2 * a[3] + (u128)a[2] * a[2];
    fe_carry128(h, r0, r1, r2, r3, r4);
}

/* h = f^(2^n) */
static void fe_sqn(veil_fe *h, const veil_fe *f, int n)
{
    veil_fe_sq(h, f);
    for (int i = 1; i < n; i++)
        veil_fe_sq(h, h);
}

/* Shared addition chain: z11 = z^11 and z250 = z^(2^250 - 1). */
static void fe_pow_chain(veil_fe *z11, veil_fe *z250, const veil_fe *z)
{
    veil_fe z2, z9, t, z5, z10, z20, z50, z100;

    veil_fe_sq(&z2, z);
    fe_sqn(&t, &z2, 2);
    veil_fe_mul(&z9, &t, z);
    veil_fe_mul(z11, &z9, &z2);
    veil_fe_sq(&t, z11);
    veil_fe_mul(&z5, &t, &z9); /* 2^5 - 1 */
    fe_sqn(&t, &z5, 5);
    veil_fe_mul(&z10, &t, &z5); /* 2^10 - 1 */
    fe_sqn(&t, &z10, 10);
    veil_fe_mul(&z20, &t, &z10); /* 2^20 - 1 */
    fe_sqn(&t, &z20, 20);
    veil_fe_mul(&t, &t, &z20); /* 2^40 - 1 */
    fe_sqn(&t, &t, 10);
    veil_fe_mul(&z50, &t, &z10); /* 2^50 - 1 */
    fe_sqn(&t, &z50, 50);
    veil_fe_mul(&z100, &t, &z50); /* 2^100 - 1 */
    fe_sqn(&t, &z100, 100);
    veil_fe_mul(&t, &t, &z100); /* 2^200 - 1 */
    fe_sqn(&t, &t, 50);
    veil_fe_mul(z250, &t, &z50); /* 2^250 - 1 */
}

void veil_fe_invert(veil_fe *h, const veil_fe *f)
{
    veil_fe z11, z250;
    fe_pow_chain(&z11, &z250, f);
    fe_sqn(&z250, &z250, 5);     /* 2^255 - 32 */
    veil_fe_mul(h, &z250, &z11); /* 2^255 - 21 = p - 2 */
}

void veil_fe_pow22523(veil_fe *h, const veil_fe *f)
{
    veil_fe z11, z250;
    fe_pow_chain(&z11, &z250, f);
    fe_sqn(&z250, &z250, 2);  /* 2^252 - 4 */
    veil_fe_mul(h, &z250, f); /* 2^252 - 3 = (p - 5) / 8 */
}

void veil_fe_tobytes(uint8_t s[32], const veil_fe *f)
{
    veil_fe t = *f;
    uint64_t q;

    fe_carry(&t);
    fe_carry(&t); /* now value < 2^255 + 19 < 2p */
    /* q = 1 exactly when value >= p, i.e. value + 19 >= 2^255. */
    q = (t.v[0] + 19) >> 51;
    for (int i = 1; i < 5; i++)
        q = (t.v[i] + q) >> 51;
    t.v[0] += 19 * q;
    for (int i = 0; i < 4; i++) {
        t.v[i + 1] += t.v[i] >> 51;
        t.v[i] &= MASK51;
    }
    t.v[4] &= MASK51; /* drops the 2^255 that q accounted for */
    store64_le(s, t.v[0] | (t.v[1] << 51));
    store64_le(s + 8, (t.v[1] >> 13) | (t.v[2] << 38));
    store64_le(s + 16, (t.v[2] >> 26) | (t.v[3] << 25));
    store64_le(s + 24, (t.v[3] >> 39) | (t.v[4] << 12));
}

void veil_fe_frombytes(veil_fe *h, const uint8_t s[32])
{
    uint64_t w0 = load64_le(s), w1 = load64_le(s + 8);
    uint64_t w2 = load64_le(s + 16), w3 = load64_le(s + 24);
    h->v[0] = w0 & MASK51;
    h->v[1] = ((w0 >> 51) | (w1 << 13)) & MASK51;
    h->v[2] = ((w1 >> 38) | (w2 << 26)) & MASK51;
    h->v[3] = ((w2 >> 25) | (w3 << 39)) & MASK51;
    h->v[4] = (w3 >> 12) & MASK51;
}

int veil_fe_bytes_canonical(const uint8_t s[32])
{
    veil_fe f;
    uint8_t t[32];
    unsigned diff = 0;

    veil_fe_frombytes(&f, s);
    veil_fe_tobytes(t, &f);
    for (int i = 0; i < 31; i++)
        diff |= (unsigned)(t[i] ^ s[i]);
    diff |= (unsigned)(t[31] ^ (s[31] & 0x7f));
    return diff == 0;
}

void veil_fe_cmov(veil_fe *h, const veil_fe *g, unsigned b)
{
    uint64_t mask = 0 - (uint64_t)(b & 1);
    for (int i = 0; i < 5; i++)
        h->v[i] ^= mask & (h->v[i] ^ g->v[i]);
}

void veil_fe_cswap(veil_fe *f, veil_fe *g, unsigned b)
{
    uint64_t mask = 0 - (uint64_t)(b & 1);
    for (int i = 0; i < 5; i++) {
        uint64_t x = mask & (f->v[i] ^ g->v[i]);
        f->v[i] ^= x;
        g->v[i] ^= x;
    }
}

int veil_fe_isnegative(const veil_fe *f)
{
    uint8_t s[32];
    veil_fe_tobytes(s, f);
    return s[0] & 1;
}

int veil_fe_iszero(const veil_fe *f)
{
    uint8_t s[32];
    unsigned acc = 0;
    veil_fe_tobytes(s, f);
    for (int i = 0; i < 32; i++)
        acc |= s[i];
    return (int)(1 & ((acc - 1) >> 8));
}

static int fe_equal(const veil_fe *f, const veil_fe *g)
{
    veil_fe t;
    veil_fe_sub(&t, f, g);
    return veil_fe_iszero(&t);
}

/* ---- group ------------------------------------------------------------ */

void veil_ge_identity(veil_ge *p)
{
    veil_fe_0(&p->X);
    veil_fe_1(&p->Y);
    veil_fe_1(&p->Z);
    veil_fe_0(&p->T);
}

void veil_ge_base(veil_ge *p) { *p = GE_BASE; }

/* A point prepared for addition: (Y+X, Y-X, Z, 2dT). */
typedef struct ge_cached {
    veil_fe ypx, ymx, z, t2d;
} ge_cached;

static void ge_to_cached(ge_cached *c, const veil_ge *p)
{
    veil_fe_add(&c->ypx, &p->Y, &p->X);
    veil_fe_sub(&c->ymx, &p->Y, &p->X);
    c->z = p->Z;
    veil_fe_mul(&c->t2d, &p->T, &FE_D2);
}

static void ge_cached_cmov(ge_cached *r, const ge_cached *c, unsigned b)
{
    veil_fe_cmov(&r->ypx, &c->ypx, b);
    veil_fe_cmov(&r->ymx, &c->ymx, b);
    veil_fe_cmov(&r->z, &c->z, b);
    veil_fe_cmov(&r->t2d, &c->t2d, b);
}

/* Unified addition for a = -1 (Hisil-Wong-Carter-Dawson 2008, "add-2008-
 * hwcd-3"); complete on edwards25519 because d is not a square, so the
 * identity and equal inputs need no special case. */
static void ge_add_cached(veil_ge *r, const veil_ge *p, const ge_cached *q)
{
    veil_fe a, b, c, d, e, f, g, h;

    veil_fe_sub(&a, &p->Y, &p->X);
    veil_fe_mul(&a, &a, &q->ymx);
    veil_fe_add(&b, &p->Y, &p->X);
    veil_fe_mul(&b, &b, &q->ypx);
    veil_fe_mul(&c, &p->T, &q->t2d);
    veil_fe_mul(&d, &p->Z, &q->z);
    veil_fe_add(&d, &d, &d);
    veil_fe_sub(&e, &b, &a);
    veil_fe_sub(&f, &d, &c);
    veil_fe_add(&g, &d, &c);
    veil_fe_add(&h, &b, &a);
    veil_fe_mul(&r->X, &e, &f);
    veil_fe_mul(&r->Y, &g, &h);
    veil_fe_mul(&r->T, &e, &h);
    veil_fe_mul(&r->Z, &f, &g);
}

void veil_ge_add(veil_ge *r, const veil_ge *p, const veil_ge *q)
{
    ge_cached c;
    ge_to_cached(&c, q);
    ge_add_cached(r, p, &c);
}

/* Doubling for a = -1 ("dbl-2008-hwcd"). */
void veil_ge_dbl(veil_ge *r, const veil_ge *p)
{
    veil_fe a, b, c, e, f, g, h;

    veil_fe_sq(&a, &p->X);
    veil_fe_sq(&b, &p->Y);
    veil_fe_sq(&c, &p->Z);
    veil_fe_add(&c, &c, &c);
    veil_fe_add(&e, &p->X, &p->Y);
    veil_fe_sq(&e, &e);
    veil_fe_sub(&e, &e, &a);
    veil_fe_sub(&e, &e, &b); /* 2XY */
    veil_fe_sub(&g, &b, &a); /* -a + b */
    veil_fe_sub(&f, &g, &c);
    veil_fe_add(&h, &a, &b);
    veil_fe_neg(&h, &h); /* -a - b */
    veil_fe_mul(&r->X, &e, &f);
    veil_fe_mul(&r->Y, &g, &h);
    veil_fe_mul(&r->T, &e, &h);
    veil_fe_mul(&r->Z, &f, &g);
}

void veil_ge_neg(veil_ge *r, const veil_ge *p)
{
    veil_fe_neg(&r->X, &p->X);
    r->Y = p->Y;
    r->Z = p->Z;
    veil_fe_neg(&r->T, &p->T);
}

void veil_ge_cmov(veil_ge *r, const veil_ge *p, unsigned b)
{
    veil_fe_cmov(&r->X, &p->X, b);
    veil_fe_cmov(&r->Y, &p->Y, b);
    veil_fe_cmov(&r->Z, &p->Z, b);
    veil_fe_cmov(&r->T, &p->T, b);
}

void veil_ge_tobytes(uint8_t s[32], const veil_ge *p)
{
    veil_fe zi, x, y;
    veil_fe_invert(&zi, &p->Z);
    veil_fe_mul(&x, &p->X, &zi);
    veil_fe_mul(&y, &p->Y, &zi);
    veil_fe_tobytes(s, &y);
    s[31] |= (uint8_t)(veil_fe_isnegative(&x) << 7);
}

int veil_ge_frombytes(veil_ge *p, const uint8_t s[32], int strict)
{
    veil_fe y, u, v, v3, x, vx2, t;
    int sign = s[31] >> 7;

    if (strict && !veil_fe_bytes_canonical(s))
        return -1;
    veil_fe_frombytes(&y, s);
    /* x^2 = u / v with u = y^2 - 1, v = d y^2 + 1 (RFC 8032 5.1.3). */
    veil_fe_sq(&u, &y);
    veil_fe_mul(&v, &u, &FE_D);
    veil_fe_1(&t);
    veil_fe_sub(&u, &u, &t);
    veil_fe_add(&v, &v, &t);
    /* candidate x = u v^3 (u v^7)^((p-5)/8) */
    veil_fe_sq(&v3, &v);
    veil_fe_mul(&v3, &v3, &v);
    veil_fe_sq(&x, &v3);
    veil_fe_mul(&x, &x, &v);
    veil_fe_mul(&x, &x, &u);
    veil_fe_pow22523(&x, &x);
    veil_fe_mul(&x, &x, &v3);
    veil_fe_mul(&x, &x, &u);
    veil_fe_sq(&vx2, &x);
    veil_fe_mul(&vx2, &vx2, &v);
    if (!fe_equal(&vx2, &u)) {
        veil_fe_neg(&t, &u);
        if (!fe_equal(&vx2, &t))
            return -2; /* u/v is not a square */
        veil_fe_mul(&x, &x, &FE_SQRTM1);
    }
    if (veil_fe_iszero(&x) && sign)
        return -3;
    if (veil_fe_isnegative(&x) != sign)
        veil_fe_neg(&x, &x);
    p->X = x;
    p->Y = y;
    veil_fe_1(&p->Z);
    veil_fe_mul(&p->T, &x, &y);
    return 0;
}

int veil_ge_is_identity(const veil_ge *p)
{
    veil_fe t;
    veil_fe_sub(&t, &p->Y, &p->Z);
    return veil_fe_iszero(&p->X) & veil_fe_iszero(&t);
}

int veil_ge_has_small_order(const veil_ge *p)
{
    veil_ge q;
    veil_ge_dbl(&q, p);
    veil_ge_dbl(&q, &q);
    veil_ge_dbl(&q, &q);
    return veil_ge_is_identity(&q);
}

/* 1 when a == b, without a branch (a, b < 2^32). */
static unsigned ct_eq(uint32_t a, uint32_t b)
{
    return (unsigned)((((uint64_t)(a ^ b)) - 1) >> 63);
}

/* BASE_TABLE[i][j] = j * 16^i * B, built once (public data, ~160 KiB). */
static ge_cached BASE_TABLE[64][16];
static pthread_once_t base_table_once = PTHREAD_ONCE_INIT;

static void base_table_init(void)
{
    veil_ge pos, q;
    veil_ge_base(&pos);
    for (int i = 0; i < 64; i++) {
        veil_ge_identity(&q);
        for (int j = 0; j < 16; j++) {
            ge_to_cached(&BASE_TABLE[i][j], &q);
            veil_ge_add(&q, &q, &pos);
        }
        for (int k = 0; k < 4; k++)
            veil_ge_dbl(&pos, &pos);
    }
}

void veil_ge_scalarmult_base(veil_ge *r, const uint8_t a[32])
{
    veil_ge acc;
    ge_cached sel, id;

    pthread_once(&base_table_once, base_table_init);
    veil_ge_identity(&acc);
    ge_to_cached(&id, &acc);
    /* a = sum nib_i 16^i: one addition per 4-bit window, no doubling. */
    for (int i = 0; i < 64; i++) {
        uint32_t nib = (a[i / 2] >> (4 * (i & 1))) & 15;
        /* Read every entry of the row; keep the one whose index matches. */
        sel = id;
        for (uint32_t j = 0; j < 16; j++)
            ge_cached_cmov(&sel, &BASE_TABLE[i][j], ct_eq(j, nib));
        ge_add_cached(&acc, &acc, &sel);
    }
    *r = acc;
    /* sel and acc held multiples of a secret scalar. */
    explicit_bzero(&sel, sizeof(sel));
    explicit_bzero(&acc, sizeof(acc));
}

void veil_ge_double_scalarmult_vartime(veil_ge *r, const uint8_t a[32],
                                       const uint8_t b[32], const veil_ge *p)
{
    veil_ge t, acc;
    ge_cached pts[4]; /* [1] = B, [2] = P, [3] = B + P */

    veil_ge_base(&t);
    ge_to_cached(&pts[1], &t);
    ge_to_cached(&pts[2], p);
    veil_ge_add(&t, &t, p);
    ge_to_cached(&pts[3], &t);
    veil_ge_identity(&acc);
    /* Shamir's trick: one shared doubling per bit, then add B, P or B+P. */
    for (int i = 255; i >= 0; i--) {
        unsigned idx = (unsigned)((a[i / 8] >> (i & 7)) & 1) |
                       (unsigned)(((b[i / 8] >> (i & 7)) & 1) << 1);
        veil_ge_dbl(&acc, &acc);
        if (idx)
            ge_add_cached(&acc, &acc, &pts[idx]);
    }
    *r = acc;
}

/* ---- conversions ------------------------------------------------------ */

void veil_ge_mont_to_edwards_y(uint8_t y[32], const uint8_t u[32])
{
    veil_fe fu, one, num, den;
    veil_fe_frombytes(&fu, u);
    veil_fe_1(&one);
    veil_fe_sub(&num, &fu, &one);
    veil_fe_add(&den, &fu, &one);
    veil_fe_invert(&den, &den);
    veil_fe_mul(&num, &num, &den);
    veil_fe_tobytes(y, &num);
}

void veil_ge_edwards_y_to_mont(uint8_t u[32], const uint8_t y[32])
{
    veil_fe fy, one, num, den;
    veil_fe_frombytes(&fy, y);
    veil_fe_1(&one);
    veil_fe_add(&num, &one, &fy);
    veil_fe_sub(&den, &one, &fy);
    veil_fe_invert(&den, &den);
    veil_fe_mul(&num, &num, &den);
    veil_fe_tobytes(u, &num);
}
