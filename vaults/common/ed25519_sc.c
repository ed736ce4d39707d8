/* veil — scalars modulo the edwards25519 group order
 * L = 2^252 + 27742317777372353535851937790883648493 (see ed25519_ge.h).
 * Everything here is constant time except veil_sc_is_canonical, which only
 * sees public signature scalars. */
#include "ed25519_ge.h"

#include <string.h>

typedef unsigned __int128 u128;

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

/* ---- scalars mod L ---------------------------------------------------- */
/* Multi-precision integers as little-endian 64-bit limbs; reduction is
 * Barrett's (HAC 14.42) with base 2^64, k = 4, mu = floor(2^512 / L). */

static const uint64_t SC_L[4] = {0x5812631a5cf5d3edULL, 0x14def9dea2f79cd6ULL, 0, 0x1000000000000000ULL};
static const uint64_t SC_MU[5] = {0xed9ce5a30a2c131bULL, 0x2106215d086329a7ULL,
                                  0xffffffffffffffebULL, 0xffffffffffffffffULL, 0xfULL};

/* out[0..na+nb) = a * b (schoolbook; no data-dependent branch). */
static void mp_mul(uint64_t *out, const uint64_t *a, int na, const uint64_t *b, int nb)
{
    memset(out, 0, sizeof(uint64_t) * (size_t)(na + nb));
    for (int i = 0; i < na; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < nb; j++) {
            u128 t = (u128)a[i] * b[j] + out[i + j] + carry;
            out[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
        out[i + nb] = carry;
    }
}

/* r = r - L (5 limbs) unless that borrows; constant time. */
static void sc_cond_sub_l(uint64_t r[5])
{
    uint64_t t[5], borrow = 0, mask;
    for (int i = 0; i < 5; i++) {
        uint64_t l = i < 4 ? SC_L[i] : 0;
        u128 d = (u128)r[i] - l - borrow;
        t[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    mask = borrow - 1; /* all ones when no borrow: r >= L */
    for (int i = 0; i < 5; i++)
        r[i] ^= mask & (r[i] ^ t[i]);
}

static void sc_barrett(uint8_t out[32], const uint64_t x[8])
{
    uint64_t q2[10], q3L[9], r[5], borrow = 0;

    mp_mul(q2, x + 3, 5, SC_MU, 5);   /* q1 * mu, q1 = x / b^3 */
    mp_mul(q3L, q2 + 5, 5, SC_L, 4);  /* q3 * L, q3 = q2 / b^5 */
    for (int i = 0; i < 5; i++) {     /* r = (x - q3 L) mod b^5 */
        u128 d = (u128)x[i] - q3L[i] - borrow;
        r[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    sc_cond_sub_l(r); /* HAC: r < 3L before these two steps */
    sc_cond_sub_l(r);
    for (int i = 0; i < 4; i++)
        store64_le(out + 8 * i, r[i]);
    explicit_bzero(q2, sizeof(q2));
    explicit_bzero(q3L, sizeof(q3L));
    explicit_bzero(r, sizeof(r));
}

void veil_sc_reduce64(uint8_t out[32], const uint8_t in[64])
{
    uint64_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = load64_le(in + 8 * i);
    sc_barrett(out, x);
    explicit_bzero(x, sizeof(x));
}

void veil_sc_reduce32(uint8_t out[32], const uint8_t in[32])
{
    uint64_t x[8] = {0};
    for (int i = 0; i < 4; i++)
        x[i] = load64_le(in + 8 * i);
    sc_barrett(out, x);
    explicit_bzero(x, sizeof(x));
}

void veil_sc_muladd(uint8_t out[32], const uint8_t a[32], const uint8_t b[32],
                    const uint8_t c[32])
{
    uint64_t la[4], lb[4], x[8], carry = 0;
    for (int i = 0; i < 4; i++) {
        la[i] = load64_le(a + 8 * i);
        lb[i] = load64_le(b + 8 * i);
    }
    mp_mul(x, la, 4, lb, 4);
    /* a*b <= 2^512 - 2^257 + 1, so adding c < 2^256 cannot overflow. */
    for (int i = 0; i < 8; i++) {
        u128 t = (u128)x[i] + (i < 4 ? load64_le(c + 8 * i) : 0) + carry;
        x[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    sc_barrett(out, x);
    explicit_bzero(la, sizeof(la));
    explicit_bzero(lb, sizeof(lb));
    explicit_bzero(x, sizeof(x));
}

void veil_sc_neg(uint8_t out[32], const uint8_t a[32])
{
    uint64_t r[5], borrow = 0;
    for (int i = 0; i < 4; i++) {
        u128 d = (u128)SC_L[i] - load64_le(a + 8 * i) - borrow;
        r[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    r[4] = 0;
    sc_cond_sub_l(r); /* a = 0 gives L, which must become 0 */
    for (int i = 0; i < 4; i++)
        store64_le(out + 8 * i, r[i]);
    explicit_bzero(r, sizeof(r));
}

void veil_sc_cmov(uint8_t out[32], const uint8_t g[32], unsigned b)
{
    uint8_t mask = (uint8_t)(0 - (b & 1));
    for (int i = 0; i < 32; i++)
        out[i] ^= mask & (out[i] ^ g[i]);
}

int veil_sc_is_canonical(const uint8_t s[32])
{
    for (int i = 3; i >= 0; i--) {
        uint64_t w = load64_le(s + 8 * i);
        if (w != SC_L[i])
            return w < SC_L[i];
    }
    return 0; /* s == L */
}
