/* Every handshake pattern of the Noise spec (revision 34): one-way (§7.4),
 * interactive fundamental (§7.5) and deferred (§7.6 / §18), in the spec's
 * own notation, plus the psk modifiers of §9.
 *
 * The table is text so it can be read against the spec line by line; it is
 * turned into token arrays once per protocol parse. */
#include "noise.h"

#include <string.h>

#define P(n, pi, pr, ...) { n, pi, pr, { __VA_ARGS__ }, false }
#define P1(n, pi, pr, m)  { n, pi, pr, { m, NULL }, true }

static const noise_pattern_def patterns[] = {
    /* one-way */
    P1("N", "", "s", "e, es"),
    P1("K", "s", "s", "e, es, ss"),
    P1("X", "", "s", "e, es, s, ss"),
    /* interactive fundamental */
    P("NN", "", "", "e", "e, ee", NULL),
    P("NK", "", "s", "e, es", "e, ee", NULL),
    P("NX", "", "", "e", "e, ee, s, es", NULL),
    P("KN", "s", "", "e", "e, ee, se", NULL),
    P("KK", "s", "s", "e, es, ss", "e, ee, se", NULL),
    P("KX", "s", "", "e", "e, ee, se, s, es", NULL),
    P("XN", "", "", "e", "e, ee", "s, se", NULL),
    P("XK", "", "s", "e, es", "e, ee", "s, se", NULL),
    P("XX", "", "", "e", "e, ee, s, es", "s, se", NULL),
    P("IN", "", "", "e, s", "e, ee, se", NULL),
    P("IK", "", "s", "e, es, s, ss", "e, ee, se", NULL),
    P("IX", "", "", "e, s", "e, ee, se, s, es", NULL),
    /* deferred */
    P("NK1", "", "s", "e", "e, ee, es", NULL),
    P("NX1", "", "", "e", "e, ee, s", "es", NULL),
    P("X1N", "", "", "e", "e, ee", "s", "se"),
    P("X1K", "", "s", "e, es", "e, ee", "s", "se"),
    P("XK1", "", "s", "e", "e, ee, es", "s, se", NULL),
    P("X1K1", "", "s", "e", "e, ee, es", "s", "se"),
    P("X1X", "", "", "e", "e, ee, s, es", "s", "se"),
    P("XX1", "", "", "e", "e, ee, s", "es, s, se", NULL),
    P("X1X1", "", "", "e", "e, ee, s", "es, s", "se"),
    P("K1N", "s", "", "e", "e, ee", "se", NULL),
    P("K1K", "s", "s", "e, es", "e, ee", "se", NULL),
    P("KK1", "s", "s", "e", "e, ee, se, es", NULL),
    P("K1K1", "s", "s", "e", "e, ee, es", "se", NULL),
    P("K1X", "s", "", "e", "e, ee, s, es", "se", NULL),
    P("KX1", "s", "", "e", "e, ee, se, s", "es", NULL),
    P("K1X1", "s", "", "e", "e, ee, s", "se, es", NULL),
    P("I1N", "", "", "e, s", "e, ee", "se", NULL),
    P("I1K", "", "s", "e, es, s", "e, ee", "se", NULL),
    P("IK1", "", "s", "e, s", "e, ee, se, es", NULL),
    P("I1K1", "", "s", "e, s", "e, ee, es", "se", NULL),
    P("I1X", "", "", "e, s", "e, ee, s, es", "se", NULL),
    P("IX1", "", "", "e, s", "e, ee, se, s", "es", NULL),
    P("I1X1", "", "", "e, s", "e, ee, s", "se, es", NULL),
};

size_t noise_pattern_count(void)
{
    return sizeof(patterns) / sizeof(patterns[0]);
}

const noise_pattern_def *noise_pattern_at(size_t i)
{
    return i < noise_pattern_count() ? &patterns[i] : NULL;
}

const noise_pattern_def *noise_pattern_find(const char *name, size_t len)
{
    for (size_t i = 0; i < noise_pattern_count(); i++)
        if (strlen(patterns[i].name) == len && memcmp(patterns[i].name, name, len) == 0)
            return &patterns[i];
    return NULL;
}

static int token_of(const char *t, size_t n)
{
    static const struct { const char *text; int tok; } names[] = {
        { "e", NOISE_TOK_E }, { "s", NOISE_TOK_S }, { "ee", NOISE_TOK_EE },
        { "es", NOISE_TOK_ES }, { "se", NOISE_TOK_SE }, { "ss", NOISE_TOK_SS },
        { "psk", NOISE_TOK_PSK },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].text) == n && memcmp(names[i].text, t, n) == 0)
            return names[i].tok;
    return 0;
}

/* "e, ee, s" → tokens; the table is static, so a bad entry is a bug that
 * the unit tests catch (every pattern is built there). */
static int parse_tokens(const char *text, uint8_t *out, size_t cap, uint8_t *n)
{
    *n = 0;
    while (*text != '\0') {
        while (*text == ' ' || *text == ',')
            text++;
        size_t len = strcspn(text, ", ");
        if (len == 0)
            break;
        int tok = token_of(text, len);
        if (tok == 0 || *n >= cap)
            return veil_error_set(VEIL_EINVAL, "noise: bad token '%.*s' in pattern table",
                                  (int)len, text);
        out[(*n)++] = (uint8_t)tok;
        text += len;
    }
    return 0;
}

static int insert_psk(noise_pattern *p, unsigned msg, bool at_front)
{
    uint8_t *t = p->tokens[msg];
    if (p->n_tokens[msg] >= NOISE_MAX_TOKENS)
        return veil_error_set(VEIL_ELIMIT, "noise: too many tokens in message %u", msg + 1);
    if (at_front) {
        memmove(t + 1, t, p->n_tokens[msg]);
        t[0] = NOISE_TOK_PSK;
    } else {
        t[p->n_tokens[msg]] = NOISE_TOK_PSK;
    }
    p->n_tokens[msg]++;
    p->n_psks++;
    return 0;
}

int noise_pattern_build(const noise_pattern_def *def, unsigned psk_mask, noise_pattern *out)
{
    int rc;
    memset(out, 0, sizeof(*out));
    out->def = def;
    out->one_way = def->one_way;
    if ((rc = parse_tokens(def->pre_initiator, out->pre_init, 2, &out->n_pre_init)) < 0 ||
        (rc = parse_tokens(def->pre_responder, out->pre_resp, 2, &out->n_pre_resp)) < 0)
        return rc;
    for (unsigned i = 0; i < NOISE_MAX_MESSAGES && def->messages[i] != NULL; i++) {
        rc = parse_tokens(def->messages[i], out->tokens[i], NOISE_MAX_TOKENS, &out->n_tokens[i]);
        if (rc < 0)
            return rc;
        out->n_messages++;
    }
    /* psk0 goes first in message 1; pskN (N >= 1) last in message N.
     * Applying psk0 after the others keeps "psk0+psk1" in spec order. */
    for (unsigned m = 1; m < NOISE_MAX_PSKS; m++) {
        if (!(psk_mask & (1u << m)))
            continue;
        if (m > out->n_messages)
            return veil_error_set(VEIL_EINVAL,
                                  "noise: modifier psk%u needs message %u but pattern %s has %u message%s",
                                  m, m, def->name, out->n_messages, out->n_messages == 1 ? "" : "s");
        if ((rc = insert_psk(out, m - 1, false)) < 0)
            return rc;
    }
    if ((psk_mask & 1u) && (rc = insert_psk(out, 0, true)) < 0)
        return rc;
    out->has_psk = psk_mask != 0;
    return 0;
}

/* Message i is sent by the initiator when i is even. */
static bool sent_by(int role, unsigned i)
{
    return (i % 2 == 0) == (role == VEIL_KA_INITIATOR);
}

void noise_pattern_needs(const noise_pattern *p, int role, bool *local_s,
                         bool *remote_s_pre, bool *remote_s_sent)
{
    bool init = role == VEIL_KA_INITIATOR;
    const uint8_t *mine = init ? p->pre_init : p->pre_resp;
    const uint8_t *theirs = init ? p->pre_resp : p->pre_init;
    uint8_t n_mine = init ? p->n_pre_init : p->n_pre_resp;
    uint8_t n_theirs = init ? p->n_pre_resp : p->n_pre_init;
    *local_s = *remote_s_pre = *remote_s_sent = false;
    for (unsigned i = 0; i < n_mine; i++)
        *local_s |= mine[i] == NOISE_TOK_S;
    for (unsigned i = 0; i < n_theirs; i++)
        *remote_s_pre |= theirs[i] == NOISE_TOK_S;
    for (unsigned m = 0; m < p->n_messages; m++)
        for (unsigned t = 0; t < p->n_tokens[m]; t++) {
            if (p->tokens[m][t] != NOISE_TOK_S)
                continue;
            if (sent_by(role, m))
                *local_s = true;
            else
                *remote_s_sent = true;
        }
}
