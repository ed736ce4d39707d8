/* libFuzzer target: the X3DH prekey service's request decoders (FETCH,
 * PUBLISH, publication acknowledgements; plugins/x3dh/x3dh_service.c and
 * x3dh_directory.c, compiled in for coverage).
 *
 * One node runs the real service worker at "prekeys", as a directory and
 * serving a listener's store under "bob".  Each input is delivered to it
 * as a message payload from a mailbox; every answer must be a well-formed
 * reply (version 1, the request's op with the reply bit, a status byte)
 * and no read may go out of bounds (ASan).  Run with VEIL_PLUGIN_PATH set
 * (the software vault plugin), e.g.
 *   tests/fuzz/fuzz_prekeys -max_total_time=60 */
#include "x3dh_prekeys.h"

#include <veil/veil.h>

#include <stdlib.h>
#include <string.h>

static veil_node *node;
static veil_context *app, *box;
static veil_vault *vault;
static void *reg;

static void setup_once(void)
{
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    veil_secret ik;
    void *none = NULL;
    if (node != NULL)
        return;
    if (veil_node_create(&node, &app, NULL) < 0 || veil_vault_open(node, NULL, &vault) < 0 ||
        veil_vault_generate(vault, &a, &ik) < 0 || veil_ctx_new_detached(node, NULL, &box) < 0)
        abort();
    veil_ka_prekey_params p = { .size = sizeof p, .ctx = app, .vault = vault };
    p.scope.config = veil_node_config(node);
    p.scope.section = "prekeys";
    if (x3dh_prekey_start(NULL, &p, &none) < 0) /* the directory */
        abort();
    p.local_static = ik;
    p.name = "bob";
    if (x3dh_prekey_start(NULL, &p, &reg) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    veil_route r;
    veil_route_init(&r);
    if (veil_route_append_str(&r, "prekeys") < 0 || veil_ctx_send(box, &r, data, size) < 0)
        abort();
    for (int i = 0; i < 4; i++)
        if (veil_node_run_once(node, 0) < 0)
            abort();
    veil_message *m;
    while (veil_ctx_receive(box, &m, 0) == 0) {
        size_t n;
        const uint8_t *p = veil_message_payload(m, &n);
        /* Replies only to requests: a well-formed reply, same op. */
        if (n < 3 || p[0] != 1 || !(p[1] & 0x80) || size < 2 || (p[1] & 0x7f) != data[1])
            abort();
        veil_message_free(m);
    }
    return 0;
}
