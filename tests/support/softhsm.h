/* A SoftHSM2 token for the PKCS#11 tests: a fresh token in a temporary
 * directory (its own softhsm2.conf, named by SOFTHSM2_CONF for this
 * process and its children), initialised with softhsm2-util and removed
 * again at the end.  The module is found by path (P11T_MODULE); a test
 * program calls p11t_require_module() first, which exits 77 (skip) with
 * the reason when the module is not installed, and only then. */
#ifndef VEIL_TEST_SOFTHSM_H
#define VEIL_TEST_SOFTHSM_H

#define P11T_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define P11T_LABEL "veil-test"
#define P11T_PIN "264813"
#define P11T_SO_PIN "99887766"
/* The environment variable the tests' configurations name in pin_env. */
#define P11T_PIN_ENV "VEIL_TEST_P11_PIN"

typedef struct p11t {
    char dir[256];          /* the temporary directory (tokens/, softhsm2.conf) */
    char conf[320];         /* its softhsm2.conf */
    char serial[33];        /* the token's serial number, as the module reports it */
} p11t;

/* Exit 77 with the reason when P11T_MODULE is absent. */
void p11t_require_module(void);

/* A new token labelled P11T_LABEL (user PIN P11T_PIN, also put in
 * P11T_PIN_ENV) in a new directory; extra_conf: more softhsm2.conf lines
 * (NULL for none; e.g. "slots.mechanisms = CKM_EDDSA\n": only those).  Fails the
 * test on any error. */
void p11t_token_new(p11t *t, const char *extra_conf);

/* Remove the directory and unset SOFTHSM2_CONF (safe on a zeroed p11t). */
void p11t_token_free(p11t *t);

#endif
