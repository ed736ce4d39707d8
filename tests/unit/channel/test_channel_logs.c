/* What a channel's opening logs (issue #16, Logs), over a real TCP
 * connection (the node dials its own listening port):
 *  - both ends log one info line naming the channel, the peer's
 *    identifier, the key agreement's protocol name, the vault's crypto
 *    backend and the route (the initiator logged too little before);
 *  - at debug level, nothing in the log is key material: the sodium
 *    backend's random source is replaced (randombytes_set_implementation)
 *    by one that records every draw, so every private key the vault made
 *    (identity seeds, X25519 statics and ephemerals: 32-byte draws) is
 *    known, and no 8-byte window of any of them appears in hex (either
 *    case) anywhere in the log.  Session keys are never bytes outside the
 *    vault (the channel holds veil_secret handles), so they cannot be
 *    logged by the framework; a plugin's logging is its own. */
#include "config.h"
#include "world.h"
#include "backends.h"

#include <ctype.h>
#include <sodium.h>
#include <sys/random.h>

/* ---- a recording random source --------------------------------------- */

#define DRAWS_MAX 4096
static struct {
    uint8_t bytes[32];
} keys[DRAWS_MAX];
static size_t nkeys;

static void rec_buf(void *buf, size_t n)
{
    uint8_t *p = buf;
    for (size_t done = 0; done < n;) {
        ssize_t k = getrandom(p + done, n - done, 0);
        if (k > 0)
            done += (size_t)k;
    }
    if (n == 32 && nkeys < DRAWS_MAX)
        memcpy(keys[nkeys++].bytes, buf, 32);
}

static uint32_t rec_random(void)
{
    uint32_t v;
    rec_buf(&v, sizeof v);
    return v;
}

static const char *rec_name(void)
{
    return "veil-test-recording";
}

static randombytes_implementation recording = {
    .implementation_name = rec_name, .random = rec_random, .buf = rec_buf,
};

/* ---- the log ---------------------------------------------------------- */

static char text[1 << 18];
static size_t text_len;

static void sink(veil_log_level level, const char *component, const char *message, void *arg)
{
    (void)arg;
    int n = snprintf(text + text_len, sizeof text - text_len, "%d %s: %s\n", (int)level,
                     component, message);
    if (n > 0 && text_len + (size_t)n < sizeof text)
        text_len += (size_t)n;
}

/* Alice opens a channel to Bob's listener "bob" over TCP; *port: Bob's. */
static void open_over_tcp(world *w, const char *backend, veil_address *ch, int *port)
{
    char config[256];
    snprintf(config, sizeof config,
             "[transport.tcp]\nplugin = tcp\n[vault]\ncrypto = %s\n[log]\nlevel = debug\n",
             backend);
    text_len = 0;
    text[0] = '\0';
    veil_log_set_handler(sink, NULL);
    pair_up(w, config, "bob");
    veil_address bound;
    assert_int_equal(veil_node_transport_listen(w->node, "tcp", "127.0.0.1:0", &bound), 0);
    *port = atoi(strrchr(bound.bytes, ':') + 1);
    char where[64], route[96];
    snprintf(where, sizeof where, "127.0.0.1:%d", *port);
    assert_int_equal(veil_node_transport_connect(w->node, "tcp", where, NULL), 0);
    snprintf(route, sizeof route, "1#127.0.0.1:%d => bob", *port);
    assert_int_equal(pair_create(w, route, ch), 0);
    round_trip(w->app, ch, "hello");
    settle(w->node);
}

static void close_down(world *w)
{
    pair_down(w);
    veil_log_set_handler(NULL, NULL);
    veil_log_set_level(VEIL_LOG_WARN);
}

static void test_open_lines_both_ends(void **state)
{
    const char *backend = *state;
    world w;
    veil_address ch;
    int port;
    char want[1024];
    open_over_tcp(&w, backend, &ch, &port);
    /* Alice's end; the route is the one to the peer's channel, as her
     * messages carry it (its peer-facing scp_ address is random). */
    snprintf(want, sizeof want, "1 channel: initiator: channel %s open with %s: key agreement "
             "Noise_XX_25519_AESGCM_SHA256, vault backend %s, route 1#127.0.0.1:%d => scp_",
             ch.bytes, veil_entity_identifier(w.bob), backend, port);
    if (strstr(text, want) == NULL)
        fail_msg("no line\n%swith the initiator's open in\n%s", want, text);
    /* Bob's end: his channel's name is random; the rest is known. */
    snprintf(want, sizeof want, " open with %s: key agreement Noise_XX_25519_AESGCM_SHA256, "
             "vault backend %s, route 1#127.0.0.1:", veil_entity_identifier(w.alice), backend);
    const char *line = strstr(text, "1 channel: listener 'bob': channel sc_");
    assert_non_null(line);
    const char *end = strchr(line, '\n');
    assert_non_null(strstr(line, want));
    assert_true(strstr(line, want) < end);
    assert_true(strstr(line, " => scp_") < end);
    close_down(&w);
}

/* hex of n bytes, lower or upper case */
static void hex(const uint8_t *b, size_t n, bool upper, char *out)
{
    static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (upper ? up : lo)[b[i] >> 4];
        out[2 * i + 1] = (upper ? up : lo)[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Does any 8-byte window of any recorded key appear in hay, in hex? */
static bool leaks(const char *hay, size_t *which)
{
    char h[17];
    for (size_t k = 0; k < nkeys; k++) {
        for (size_t off = 0; off + 8 <= 32; off++) {
            for (int upper = 0; upper < 2; upper++) {
                hex(keys[k].bytes + off, 8, upper, h);
                if (strstr(hay, h) != NULL) {
                    *which = k;
                    return true;
                }
            }
        }
    }
    return false;
}

static void test_no_key_bytes_at_debug(void **state)
{
    (void)state;
    world w;
    veil_address ch;
    int port;
    size_t which;
    nkeys = 0;
    open_over_tcp(&w, "sodium", &ch, &port);
    assert_int_equal(veil_secure_channel_close(w.node, &ch), 0);
    settle(w.node);
    /* The keys went through the recording source: two identities (an
     * Ed25519 seed and an X25519 key each at least), two ephemerals. */
    assert_true(nkeys >= 6);
    /* The log is a real debug log of the open. */
    assert_non_null(strstr(text, "0 "));
    assert_non_null(strstr(text, "initiator: channel "));
    if (leaks(text, &which))
        fail_msg("key %zu's bytes are in the log:\n%s", which, text);
    /* The check finds a key where there is one. */
    char planted[128] = "debug: dh with ";
    hex(keys[nkeys - 1].bytes + 5, 10, true, planted + strlen(planted));
    assert_true(leaks(planted, &which));
    close_down(&w);
}

#define OPEN_LINES(b) cmocka_unit_test_prestate(test_open_lines_both_ends, b)

int main(void)
{
    /* Before anything calls sodium_init (the vault plugin does). */
    if (randombytes_set_implementation(&recording) != 0)
        return 1;
    static const char sodium_name[] = "sodium";
    const struct CMUnitTest tests[] = {
        FOR_EACH_BACKEND(OPEN_LINES)
        cmocka_unit_test_prestate(test_no_key_bytes_at_debug, (void *)sodium_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
