/* Opening the pkcs11 vault on the SoftHSM2 fixture token (softhsm.h)
 * through the real plugin loader, for the pkcs11 tests. */
#ifndef VEIL_TEST_VAULT_PKCS11_H
#define VEIL_TEST_VAULT_PKCS11_H

#include "test_vault_file_util.h"
#include "softhsm.h"

/* The configuration lines that find the fixture's token. */
#define PKT_TOKEN "module = " P11T_MODULE "\ntoken_label = " P11T_LABEL \
                  "\npin_env = " P11T_PIN_ENV "\n"

typedef fvt pkt;

/* The test's token: made before each test, removed after it. */
static p11t tok;

static inline int pkt_up(void **state)
{
    (void)state;
    p11t_token_new(&tok, NULL);
    return 0;
}

static inline int pkt_down(void **state)
{
    (void)state;
    p11t_token_free(&tok);
    return 0;
}

static inline void pkt_close(pkt *t)
{
    fvt_close(t);
}

/* Open `plugin` (pkcs11, software, file) on backend with the section's
 * other lines (NULL: PKT_TOKEN); returns the open's code, everything
 * released again on failure. */
static inline int pkt_open_plugin(pkt *t, const char *plugin, const char *backend,
                                  const char *lines)
{
    char text[2048];
    snprintf(text, sizeof text, "[vault]\nplugin = %s\ncrypto = %s\n%s", plugin, backend,
             lines != NULL ? lines : PKT_TOKEN);
    return fvt_open_text(t, plugin, text, "p11.conf");
}

static inline int pkt_open(pkt *t, const char *backend, const char *lines)
{
    return pkt_open_plugin(t, "pkcs11", backend, lines);
}

#endif
