/* The relay registration messages (docs/PROTOCOL.md, "Relay
 * registration"): carried inside a secure channel from the registrant to
 * the registry and back, so authenticated and encrypted by it.
 *
 *   REGISTER  version:u8 = 1 | type:u8 = 0x01 | 0:u8 | name_len:u8 | name
 *   RESULT    version:u8 = 1 | type:u8 = 0x02 | code:u8 | name_len:u8 | name
 *
 * name: 1..64 bytes of [A-Za-z0-9._-] (a RESULT refusing a request whose
 * name could not be read has name_len 0); exactly 4 + name_len bytes. */
#include "relay_internal.h"

#include <veil/error.h>

#include <string.h>

static bool name_byte(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static bool name_bytes_valid(const uint8_t *p, size_t n)
{
    if (n == 0 || n > VEIL_RELAY_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_byte(p[i]))
            return false;
    return true;
}

bool veil_relay_name_valid(const char *name)
{
    return name != NULL && name_bytes_valid((const uint8_t *)name, strnlen(name, VEIL_RELAY_NAME_MAX + 1u));
}

int veil__relay_encode(const veil_relay_msg *m, uint8_t *out, size_t cap)
{
    size_t n = strnlen(m->name, sizeof m->name);
    bool anonymous = n == 0 && m->type == VEIL_RELAY_RESULT && m->code != VEIL_RELAY_OK;
    if ((!anonymous && !name_bytes_valid((const uint8_t *)m->name, n)) || cap < 4u + n)
        return veil_error_set(VEIL_EINVAL, "relay message: name '%.*s' is not 1..%u bytes of "
                              "[A-Za-z0-9._-]", (int)n, m->name, VEIL_RELAY_NAME_MAX);
    out[0] = m->version;
    out[1] = m->type;
    out[2] = m->type == VEIL_RELAY_RESULT ? m->code : 0u;
    out[3] = (uint8_t)n;
    memcpy(out + 4, m->name, n);
    return (int)(4u + n);
}

int veil__relay_decode(const uint8_t *in, size_t len, veil_relay_msg *m)
{
    memset(m, 0, sizeof *m);
    if (len < 4u)
        return veil_error_set(VEIL_ETRUNCATED, "relay message: %zu bytes, expected at least 4", len);
    m->version = in[0];
    if (in[0] != VEIL_RELAY_VERSION)
        return veil_error_set(VEIL_EVERSION, "relay message: version %u, expected %u", in[0],
                              VEIL_RELAY_VERSION);
    m->type = in[1];
    if (in[1] != VEIL_RELAY_REGISTER && in[1] != VEIL_RELAY_RESULT)
        return veil_error_set(VEIL_EFORMAT, "relay message: type 0x%02x, expected 0x01 or 0x02", in[1]);
    m->code = in[2];
    if (m->type == VEIL_RELAY_REGISTER && m->code != 0)
        return veil_error_set(VEIL_EFORMAT, "relay message: REGISTER with 0x%02x where 0 belongs",
                              m->code);
    size_t n = in[3];
    if (len < 4u + n)
        return veil_error_set(VEIL_ETRUNCATED, "relay message: name of %zu bytes, %zu left", n, len - 4u);
    if (len > 4u + n)
        return veil_error_set(VEIL_ETRAILING, "relay message: %zu bytes after the name", len - 4u - n);
    if (n == 0 && m->type == VEIL_RELAY_RESULT && m->code != VEIL_RELAY_OK)
        return 0; /* a refusal of a request whose name could not be read */
    if (!name_bytes_valid(in + 4, n))
        return veil_error_set(VEIL_EFORMAT, "relay message: name is not 1..%u bytes of [A-Za-z0-9._-]",
                              VEIL_RELAY_NAME_MAX);
    memcpy(m->name, in + 4, n);
    return 0;
}

static const struct {
    int code, error;
    const char *name;
} codes[] = {
    { VEIL_RELAY_OK, 0, "ok" },
    { VEIL_RELAY_TAKEN, VEIL_EEXIST, "name held by another identity" },
    { VEIL_RELAY_IDENTITY_LIMIT, VEIL_ELIMIT, "identity holds its maximum of names" },
    { VEIL_RELAY_FULL, VEIL_EBUSY, "registry full" },
    { VEIL_RELAY_BAD_NAME, VEIL_EINVAL, "name not valid" },
    { VEIL_RELAY_DENIED, VEIL_EDENIED, "identity may not register" },
    { VEIL_RELAY_BAD_VERSION, VEIL_EVERSION, "version not supported" },
    { VEIL_RELAY_MALFORMED, VEIL_EFORMAT, "request malformed" },
};

int veil_relay_code_error(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].error;
    return VEIL_EFORMAT;
}

const char *veil_relay_code_name(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].name;
    return "unknown code";
}
