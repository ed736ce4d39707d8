/* Access controls that need what a secure channel put in a message's local
 * info (veil/secure_channel.h): from channel peers, from identifiers, from
 * this channel, a trust policy.  They are ordinary access controls of the
 * core (veil_access_control_new); the router calls them without knowing
 * what they look at.  Each refuses what no secure channel decrypted. */
#include "channel_internal.h"

#include <veil/error.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_identifier(const char *s)
{
    if (s == NULL || s[0] != 'P' || strlen(s) != VEIL_IDENTIFIER_LEN)
        return false;
    for (size_t i = 1; i < VEIL_IDENTIFIER_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* ---- from channel peers ------------------------------------------------ */

static int peers_check(void *state, const veil_local_info *li)
{
    (void)state;
    return li->via_channel && li->peer_identifier[0] != '\0' ? 0 : VEIL_EDENIED;
}

static const veil_access_control_ops peers_ops = {
    .size = sizeof(veil_access_control_ops),
    .check = peers_check,
};

int veil_access_control_from_channel_peers(veil_access_control **out)
{
    return veil_access_control_new(&peers_ops, NULL, "from channel peers", out);
}

/* ---- from identifiers {...} -------------------------------------------- */

typedef struct ids_state {
    size_t n;
    char ids[][VEIL_IDENTIFIER_LEN + 1];
} ids_state;

static int ids_check(void *state, const veil_local_info *li)
{
    const ids_state *s = state;
    if (!li->via_channel)
        return VEIL_EDENIED;
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->ids[i], li->peer_identifier, VEIL_IDENTIFIER_LEN + 1) == 0)
            return 0;
    return VEIL_EDENIED;
}

static const veil_access_control_ops ids_ops = {
    .size = sizeof(veil_access_control_ops),
    .check = ids_check,
    .free = free,
};

int veil_access_control_from_identifiers(const char *const *identifiers, size_t n,
                                         veil_access_control **out)
{
    char name[VEIL_IDENTIFIER_LEN + 40];
    if (identifiers == NULL || n == 0 || n > 4096 || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_access_control_from_identifiers: 1 to 4096 "
                              "identifiers and out must be given");
    for (size_t i = 0; i < n; i++)
        if (!is_identifier(identifiers[i]))
            return veil_error_set(VEIL_EINVAL, "access control from identifiers: '%s' is not an "
                                  "identifier (P and 64 lowercase hex digits)",
                                  identifiers[i] != NULL ? identifiers[i] : "(null)");
    ids_state *s = calloc(1, sizeof *s + n * sizeof s->ids[0]);
    if (s == NULL)
        return veil_error_set(VEIL_ENOMEM, "access control from identifiers: out of memory");
    s->n = n;
    for (size_t i = 0; i < n; i++)
        memcpy(s->ids[i], identifiers[i], VEIL_IDENTIFIER_LEN + 1);
    snprintf(name, sizeof name, "from identifiers {%.13s...%s}", identifiers[0],
             n > 1 ? ", ..." : "");
    return veil_access_control_new(&ids_ops, s, name, out);
}

/* ---- from this channel --------------------------------------------------- */

static int channel_check(void *state, const veil_local_info *li)
{
    const veil_address *c = state;
    return li->via_channel && veil_address_equal(&li->channel, c) ? 0 : VEIL_EDENIED;
}

static const veil_access_control_ops channel_ops = {
    .size = sizeof(veil_access_control_ops),
    .check = channel_check,
    .free = free,
};

int veil_access_control_from_channel(const veil_address *channel, veil_access_control **out)
{
    char name[VEIL_ADDRESS_TEXT_MAX + 32];
    if (channel == NULL || out == NULL || channel->type != VEIL_ADDRESS_TYPE_LOCAL ||
        channel->len == 0)
        return veil_error_set(VEIL_EINVAL, "veil_access_control_from_channel: a channel's local "
                              "address and out must be given");
    veil_address *c = malloc(sizeof *c);
    if (c == NULL)
        return veil_error_set(VEIL_ENOMEM, "access control from channel: out of memory");
    *c = *channel;
    snprintf(name, sizeof name, "from channel %s", channel->bytes);
    return veil_access_control_new(&channel_ops, c, name, out);
}

/* ---- a trust policy ------------------------------------------------------ */

static int policy_check(void *state, const veil_local_info *li)
{
    if (!li->via_channel || li->peer_identifier[0] == '\0')
        return VEIL_EDENIED;
    veil_trust_info info = {.size = sizeof info, .peer_identifier = li->peer_identifier};
    return veil_trust_policy_check(state, &info) == 0 ? 0 : VEIL_EDENIED;
}

static void policy_free(void *state)
{
    veil_trust_policy_free(state);
}

static const veil_access_control_ops policy_ops = {
    .size = sizeof(veil_access_control_ops),
    .check = policy_check,
    .free = policy_free,
};

int veil_access_control_from_trust_policy(veil_trust_policy *policy, veil_access_control **out)
{
    char name[96];
    if (policy == NULL || out == NULL) {
        veil_trust_policy_free(policy);
        return veil_error_set(VEIL_EINVAL, "veil_access_control_from_trust_policy: policy and "
                              "out must not be NULL");
    }
    snprintf(name, sizeof name, "trust policy '%s'", veil_trust_policy_name(policy));
    return veil_access_control_new(&policy_ops, policy, name, out);
}
