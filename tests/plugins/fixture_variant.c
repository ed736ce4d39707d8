/* Test fixture: one source, compiled into several deliberately broken
 * plugins by the FIXTURE_* macros set per target in tests/Makefile.inc.
 * Each variant breaks exactly one rule the loader enforces:
 *   fixture_abi       FIXTURE_ABI_MAJOR=99     ABI major mismatch
 *   fixture_minor     FIXTURE_ABI_MINOR_BUMP   minor newer than the host
 *   fixture_noentry   FIXTURE_NO_ENTRY         exports no veil_plugin_entry
 *   fixture_nulldesc  FIXTURE_NULL_DESCRIPTOR  entry returns NULL
 *   fixture_smalldesc FIXTURE_STRUCT_SIZE=4    descriptor struct_size too small
 *   fixture_kind      FIXTURE_KIND=transport   wrong kind for a policy slot
 *   fixture_name      FIXTURE_NAME=FIXTURE_OTHER_NAME  name != file name
 *   fixture_initfail  FIXTURE_INIT_FAIL        init fails with its own detail
 *   fixture_smallops  FIXTURE_OPS_SIZE=1       ops table smaller than ABI 1.0
 *   fixture_unresolved FIXTURE_UNRESOLVED      references a symbol nothing
 *                                              defines (RTLD_NOW must refuse it)
 * Otherwise it is a valid trust-policy plugin named FIXTURE_NAME. */
#include <veil/plugin.h>
#include <veil/error.h>
#include <veil/trust_policy.h>

#include "fixtures.h"

#ifndef FIXTURE_NAME
#error "FIXTURE_NAME must name the plugin file"
#endif
#ifndef FIXTURE_ABI_MAJOR
#define FIXTURE_ABI_MAJOR VEIL_PLUGIN_ABI_MAJOR
#endif
#ifdef FIXTURE_ABI_MINOR_BUMP
#define FIXTURE_ABI_MINOR (VEIL_PLUGIN_ABI_MINOR + 1)
#else
#define FIXTURE_ABI_MINOR VEIL_PLUGIN_ABI_MINOR
#endif
#ifndef FIXTURE_STRUCT_SIZE
#define FIXTURE_STRUCT_SIZE sizeof(veil_plugin_descriptor)
#endif
#ifndef FIXTURE_KIND
#define FIXTURE_KIND VEIL_PLUGIN_TRUST_POLICY
#endif
#ifndef FIXTURE_OPS_SIZE
#define FIXTURE_OPS_SIZE sizeof(veil_trust_policy_ops)
#endif


static int variant_instance_new(void *plugin_state, const veil_config_scope *scope,
                                void **inst)
{
    (void)scope;
    *inst = plugin_state;
    return 0;
}

static void variant_instance_free(void *inst)
{
    (void)inst;
}

#ifdef FIXTURE_UNRESOLVED
/* Defined nowhere: lazy binding would only notice when check() runs. */
int veil_fixture_symbol_defined_nowhere(void);
#endif

static int variant_check(void *inst, const veil_trust_info *info)
{
    (void)inst;
    (void)info;
#ifdef FIXTURE_UNRESOLVED
    return veil_fixture_symbol_defined_nowhere();
#else
    return VEIL_EDENIED;
#endif
}

static const veil_trust_policy_ops variant_ops = {
    .size = FIXTURE_OPS_SIZE,
    .instance_new = variant_instance_new,
    .instance_free = variant_instance_free,
    .check = variant_check,
};

static int variant_init(const veil_config_scope *scope, void **state)
{
    (void)scope;
    *state = NULL;
#ifdef FIXTURE_INIT_FAIL
    return veil_error_set(VEIL_ECONFIG, "%s", FIXTURE_INIT_MESSAGE);
#else
    return 0;
#endif
}

static const veil_plugin_descriptor variant_descriptor = {
    .abi_major = FIXTURE_ABI_MAJOR,
    .abi_minor = FIXTURE_ABI_MINOR,
    .struct_size = FIXTURE_STRUCT_SIZE,
    .kind = FIXTURE_KIND,
    .name = FIXTURE_NAME,
    .version = "0",
    .description = "test fixture: broken on purpose",
    .config_keys = NULL,
    .init = variant_init,
    .fini = NULL,
    .ops = &variant_ops,
};

#if defined(FIXTURE_NO_ENTRY)
/* Exported under another name: the file is a valid shared object that is
 * simply not a veil plugin. */
VEIL_EXPORT const veil_plugin_descriptor *not_the_entry(void);
VEIL_EXPORT const veil_plugin_descriptor *not_the_entry(void)
{
    return &variant_descriptor;
}
#elif defined(FIXTURE_NULL_DESCRIPTOR)
VEIL_EXPORT const veil_plugin_descriptor *veil_plugin_entry(void);
VEIL_EXPORT const veil_plugin_descriptor *veil_plugin_entry(void)
{
    (void)variant_descriptor;
    return NULL;
}
#else
VEIL_PLUGIN_ENTRY(variant_descriptor)
#endif
