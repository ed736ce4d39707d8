/* A key agreement's peer_resolve (key_agreement.h, "listeners and peers")
 * seen from the secure channel, with X3DH's bundle fetch
 * (plugins/x3dh/x3dh_resolve.c): the answer comes back through the loop
 * exactly once, also when what resolves is stopped before the service
 * answers (VEIL_ECLOSED, not the handshake timeout), and create() reports
 * it; the channel's state is freed either way (ASan, valgrind). */
#include "test_prekeys.h"
#include "assert_error.h"

#define X3DH "[key_agreement]\nplugin = x3dh\n"

/* Stands where the prekey service should be; stops the worker the FETCH
 * came from (the first address of its return route) instead of answering. */
static int stopper_handle(veil_context *ctx, void *state, veil_message *msg)
{
    unsigned *seen = state;
    veil_address from;
    assert_int_equal(veil_route_get(veil_message_return_const(msg), 0, &from), 0);
    assert_int_equal(strncmp(from.bytes, "app_", 4), 0);
    (*seen)++;
    assert_int_equal(veil_ctx_stop_worker(ctx, from.bytes), 0);
    return 0;
}

static const veil_worker_ops stopper_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = stopper_handle,
};

static void test_resolver_stopped(void **state)
{
    (void)state;
    veil_node *node;
    veil_context *app;
    veil_entity *alice, *bob;
    unsigned seen = 0;
    node_from(X3DH "[prekeys]\nroute = stopper\n[secure_channel]\nhandshake_timeout_ms = 5000\n",
              &node, &app);
    assert_int_equal(veil_ctx_start_worker(app, "stopper", &stopper_ops, &seen), 0);
    assert_int_equal(veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &alice), 0);
    assert_int_equal(veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &bob), 0);
    assert_int_equal(veil_secure_channel_listener_open(bob, "bob", trust_only(node, alice)), 0);
    veil_route r = route_of("bob");
    veil_address ch;
    for (unsigned i = 1; i <= 2; i++) {
        uint64_t t0 = veil_node_now_ms(node);
        assert_error(veil_secure_channel_open(alice, &r, trust_only(node, bob), &ch),
                     VEIL_ECLOSED, "secure channel: the prekey fetch from 'stopper' stopped "
                     "before its answer (its worker was stopped, as when the node stops)");
        assert_true(veil_node_now_ms(node) - t0 < 2000); /* at once, not at the timeout */
        assert_int_equal(seen, i);
    }
    veil_listener_stats ls;
    assert_int_equal(veil_secure_channel_listener_stats(node, "bob", &ls), 0);
    assert_int_equal(ls.first_messages, 0); /* no message 1 went out */
    veil_entity_close(alice);
    veil_entity_close(bob);
    assert_int_equal(veil_node_free(node), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolver_stopped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
