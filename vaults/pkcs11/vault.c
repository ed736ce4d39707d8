/* The pkcs11 vault: identity (signing) keys in a PKCS#11 token, everything
 * else in the software vault core.
 *
 * An instance is a vault core (vc_vault, crypto = sodium | openssl) whose
 * user pointer is the token state (p11_state).  Persistent Ed25519 and
 * P-256 secrets (an entity's identity keys) are made in the token and
 * never leave it
 * (keys.c); every other secret (the X25519 static keys, AEAD and chaining
 * keys, buffers), every hash, HMAC, HKDF, DH and AEAD, and signature
 * verification are the core's, in software: what PKCS#11 tokens do not do,
 * or do too slowly for a channel.  The ops below send a handle to the half
 * that holds it; veil_vault_key_location says which (docs/VAULTS.md
 * "pkcs11"). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/error.h>

#include "keys.h"
#include "pin.h"
#include "p11_vault.h"

static p11_state *state_of(void *vault)
{
    return vc_user(vault);
}

/* ---- configuration ---------------------------------------------------- */

static const char *section_of(const veil_config_scope *scope)
{
    return scope != NULL && scope->section != NULL ? scope->section : "vault";
}

/* Exactly one of a and b set (names for the message). */
static int one_of(const veil_config_scope *scope, const char *a, const char *b, bool need)
{
    bool ha = veil_config_scope_get(scope, a) != NULL, hb = veil_config_scope_get(scope, b) != NULL;
    if (ha && hb)
        return veil_error_set(VEIL_ECONFIG, "[%s]: give %s or %s, not both", section_of(scope),
                              a, b);
    if (need && !ha && !hb)
        return veil_error_set(VEIL_ECONFIG, "[%s]: the pkcs11 vault needs '%s = ...' or "
                              "'%s = ...'", section_of(scope), a, b);
    return 0;
}

/* Module, token, login, mechanisms, keys: the token half of an instance. */
static int token_open(p11_state *st, const veil_config_scope *scope, vc_vault *vc)
{
    const char *module = veil_config_scope_get(scope, "module");
    const char *label = veil_config_scope_get(scope, "token_label");
    const char *serial = veil_config_scope_get(scope, "token_serial");
    if (module == NULL || module[0] == '\0')
        return veil_error_set(VEIL_ECONFIG, "[%s]: the pkcs11 vault needs 'module = "
                              "/path/to/module.so'", section_of(scope));
    int rc = p11_pin_check(scope);
    if (rc == 0)
        rc = one_of(scope, "token_label", "token_serial", true);
    if (rc == 0)
        rc = one_of(scope, "key_label", "key_id", false);
    if (rc < 0)
        return rc;
    const vc_backend *be = vc_backend_of(vc);
    uint8_t *pin = be->secure_alloc(PK_PIN_MAX + 1);
    size_t pin_len = 0;
    CK_TOKEN_INFO info;
    if (pin == NULL)
        return veil_error_set(VEIL_ENOMEM, "pkcs11 vault: out of guarded memory");
    rc = p11_module_load(module, &st->mod);
    if (rc == 0)
        rc = p11_token_find(&st->mod, label, serial, &st->slot, &info);
    if (rc == 0) {
        char l[40], s[20];
        p11_field(info.label, sizeof info.label, l, sizeof l);
        p11_field(info.serialNumber, sizeof info.serialNumber, s, sizeof s);
        snprintf(st->token, sizeof st->token, "'%s' (serial %s)", l, s);
        rc = p11_key_types(st);
    }
    if (rc == 0)
        rc = p11_pin_read(scope, st->token, pin, &pin_len);
    if (rc == 0)
        rc = p11_login(&st->mod, st->slot, st->token, pin, pin_len, &st->sess);
    be->secure_free(pin, PK_PIN_MAX + 1);
    if (rc == 0)
        rc = p11_keys_load(st, vc, veil_config_scope_get(scope, "key_label"),
                          veil_config_scope_get(scope, "key_id"));
    return rc;
}

static void state_free(p11_state *st)
{
    if (st == NULL)
        return;
    /* No C_Logout: the login belongs to the process, not the session, so it
     * would log out another instance on the same token; the token returns
     * to public state when the process's last session closes. */
    if (st->sess != CK_INVALID_HANDLE && st->mod.f != NULL)
        st->mod.f->C_CloseSession(st->sess);
    p11_records_free(st);
    p11_keys_free(st);
    p11_module_unload(&st->mod);
    free(st);
}

int p11_instance_new(void *plugin_state, const veil_config_scope *scope, void **out)
{
    (void)plugin_state;
    vc_vault *vc;
    int rc = vc_open_scope(scope, &vc);
    if (rc < 0)
        return rc;
    p11_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        vc_free(vc);
        return veil_error_set(VEIL_ENOMEM, "pkcs11 vault: out of memory");
    }
    st->sess = CK_INVALID_HANDLE;
    vc_set_user(vc, st);
    if ((rc = token_open(st, scope, vc)) == 0 && (rc = p11_records_load(st, vc)) == 0) {
        *out = vc;
        return 0;
    }
    state_free(st);
    vc_free(vc);
    return rc;
}

void p11_instance_free(void *vault)
{
    if (vault == NULL)
        return;
    state_free(state_of(vault));
    vc_free(vault);
}

/* ---- the ops that look at where a key lives ---------------------------- */

/* A label must be unique across both halves. */
static int label_free(void *vault, const char *label)
{
    veil_secret s;
    if (label[0] == '\0')
        return 0;
    if (p11_key_by_label(state_of(vault), label) != NULL || vc_op_find_by_label(vault, label, &s) == 0)
        return veil_error_set(VEIL_EEXIST, "a secret labelled '%s' already exists", label);
    return 0;
}

/* Persistent signing keys are the token's. */
static bool token_kind(const veil_secret_attrs *attrs)
{
    return (attrs->type == VEIL_SECRET_ED25519 || attrs->type == VEIL_SECRET_P256) &&
           attrs->persistence == VEIL_PERSISTENT;
}

int p11_op_generate(void *vault, const veil_secret_attrs *attrs, veil_secret *out)
{
    p11_state *st = state_of(vault);
    int rc = label_free(vault, attrs->label);
    if (rc < 0)
        return rc;
    if (!token_kind(attrs))
        return vc_op_generate(vault, attrs, out);
    bool ed = attrs->type == VEIL_SECRET_ED25519;
    if (attrs->exportable)
        return veil_error_set(VEIL_EPERM, "pkcs11 vault: a persistent %s key is made in the "
                              "token and can never be exportable", ed ? "Ed25519" : "P-256");
    if (!(ed ? st->has_ed25519 : st->has_p256) && (rc = p11_key_type_check(st, attrs->type)) < 0)
        return veil_error_wrap(rc, "pkcs11 vault: no %s keys in this token%s",
                               ed ? "Ed25519" : "P-256",
                               ed && st->has_p256 ? " (it can hold P-256 ones: [identity] "
                                                    "key_type = p256)" : "");
    return p11_key_generate(st, vault, attrs->type, attrs->label, out);
}

int p11_op_import(void *vault, const veil_secret_attrs *attrs, const uint8_t *data, size_t len,
                 veil_secret *out)
{
    int rc = label_free(vault, attrs->label);
    if (rc < 0)
        return rc;
    if (token_kind(attrs))
        return veil_error_set(VEIL_EPERM, "pkcs11 vault: persistent %s keys are generated "
                              "in the token, never imported (a key that existed outside it "
                              "could exist elsewhere too)",
                              attrs->type == VEIL_SECRET_ED25519 ? "Ed25519" : "P-256");
    return vc_op_import(vault, attrs, data, len, out);
}

int p11_op_export(void *vault, veil_secret s, uint8_t *out, size_t cap, size_t *len)
{
    p11_key *k = p11_key_of(state_of(vault), s);
    if (k != NULL)
        return veil_error_set(VEIL_EPERM, "secret %s is not exportable: it lives in pkcs11 "
                              "token %s and never leaves it", k->label[0] ? k->label : k->key_id,
                              state_of(vault)->token);
    return vc_op_export(vault, s, out, cap, len);
}

int p11_op_attributes(void *vault, veil_secret s, veil_secret_attrs *out)
{
    p11_key *k = p11_key_of(state_of(vault), s);
    if (k == NULL)
        return vc_op_attributes(vault, s, out);
    memset(out, 0, sizeof *out);
    out->type = k->type;
    out->persistence = VEIL_PERSISTENT;
    out->exportable = false;
    out->length = (uint16_t)veil_secret_type_len(k->type);
    snprintf(out->label, sizeof out->label, "%s", k->label);
    return 0;
}

int p11_op_public_key(void *vault, veil_secret s, uint8_t *out, size_t cap, size_t *len)
{
    p11_key *k = p11_key_of(state_of(vault), s);
    if (k == NULL)
        return vc_op_public_key(vault, s, out, cap, len);
    *len = k->pub_len;
    if (cap < k->pub_len)
        return veil_error_set(VEIL_ELIMIT, "public key: %zu bytes do not fit in %zu",
                              k->pub_len, cap);
    memcpy(out, k->pub_bytes, k->pub_len);
    return 0;
}

int p11_op_find_by_key_id(void *vault, const char *key_id, veil_secret *out)
{
    p11_key *k = p11_key_by_key_id(state_of(vault), key_id);
    if (k == NULL)
        return vc_op_find_by_key_id(vault, key_id, out);
    *out = (veil_secret)k->id << 32;
    return 0;
}

int p11_op_find_by_label(void *vault, const char *label, veil_secret *out)
{
    p11_key *k = p11_key_by_label(state_of(vault), label);
    if (k == NULL)
        return vc_op_find_by_label(vault, label, out);
    *out = (veil_secret)k->id << 32;
    return 0;
}

int p11_op_secret_destroy(void *vault, veil_secret s)
{
    p11_key *k = p11_key_of(state_of(vault), s);
    return k == NULL ? vc_op_secret_destroy(vault, s) : p11_key_destroy(state_of(vault), k);
}

int p11_op_sign(void *vault, veil_secret key, const uint8_t *msg, size_t len,
               uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    p11_key *k = p11_key_of(state_of(vault), key);
    return k == NULL ? vc_op_sign(vault, key, msg, len, sig)
                     : p11_key_sign(state_of(vault), vault, k, msg, len, sig);
}

int p11_op_dh(void *vault, veil_secret priv, const uint8_t *peer_public, size_t peer_len,
             const veil_secret_attrs *out_attrs, veil_secret *out)
{
    p11_key *k = p11_key_of(state_of(vault), priv);
    if (k != NULL)
        return veil_error_set(VEIL_ETYPE, "secret %s is %s signing key in pkcs11 "
                              "token %s: expected x25519 or x448 for dh",
                              k->label[0] ? k->label : k->key_id,
                              k->type == VEIL_SECRET_P256 ? "a p256" : "an ed25519",
                              state_of(vault)->token);
    return vc_op_dh(vault, priv, peer_public, peer_len, out_attrs, out);
}

int p11_op_location(void *vault, veil_secret s, int *location, char *where, size_t cap)
{
    p11_state *st = state_of(vault);
    const p11_key *k = p11_key_of(st, s);
    if (k != NULL) {
        *location = VEIL_KEY_IN_TOKEN;
        if (cap > 0)
            snprintf(where, cap, "pkcs11 token %s, key '%s' (CKA_ID %s), module %s", st->token,
                     k->label, k->cka_id, st->mod.path);
        return 0;
    }
    veil_secret_attrs a;
    int rc = vc_op_attributes(vault, s, &a);
    if (rc < 0)
        return rc;
    *location = VEIL_KEY_IN_SOFTWARE;
    if (cap > 0)
        snprintf(where, cap, "pkcs11 vault's software half (%s), in memory",
                 vc_backend_of(vault)->name);
    return 0;
}
