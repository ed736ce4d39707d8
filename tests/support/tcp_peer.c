/* A veil node in its own process for the tcp tests: an "echoer" worker
 * exposed to the network (network-facing), the tcp transport listening on
 * -l (default 127.0.0.1:0); with -r it relays ([node] relay = true).  It
 * prints "LISTEN <bound address>" on stdout once listening and runs until
 * its stdin closes (or it is killed).
 *
 *   tcp_peer [-l host:port] [-r] [-c key=value]...   (keys of [transport.tcp]) */
#include <veil/veil.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int echo(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static int expose(veil_context *ctx, void *state)
{
    (void)state;
    return veil_ctx_set_network_facing(ctx, NULL);
}

static void on_stdin(veil_node *node, int fd, uint32_t events, void *arg)
{
    char buf[64];
    bool *done = arg;
    (void)events;
    if (read(fd, buf, sizeof buf) <= 0) {
        *done = true;
        veil_node_interrupt(node);
    }
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "tcp_peer: %s: %s (%s)\n", what, veil_strerror(rc), veil_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *where = "127.0.0.1:0";
    veil_config *cfg;
    int rc = veil_config_new(&cfg);
    if (rc == 0)
        rc = veil_config_set(cfg, "transport.tcp", "plugin", "tcp");
    if (rc < 0)
        return die("config", rc);
    int opt;
    while ((opt = getopt(argc, argv, "l:rc:")) != -1) {
        char *eq = opt == 'c' ? strchr(optarg, '=') : NULL;
        if (opt == 'l') {
            where = optarg;
        } else if (opt == 'r') {
            if ((rc = veil_config_set(cfg, "node", "relay", "true")) < 0)
                return die("config", rc);
        } else if (eq != NULL) {
            *eq = '\0';
            if ((rc = veil_config_set(cfg, "transport.tcp", optarg, eq + 1)) < 0)
                return die("config", rc);
        } else {
            fprintf(stderr, "usage: tcp_peer [-l host:port] [-r] [-c key=value]...\n");
            return 2;
        }
    }
    veil_node_options o = {.size = sizeof o, .config = cfg};
    veil_node *node;
    veil_context *app;
    rc = veil_node_new(&node, &app, &o);
    veil_config_free(cfg);
    if (rc < 0)
        return die("node", rc);
    static const veil_worker_ops ops = {.size = sizeof ops, .start = expose,
                                        .handle_message = echo};
    veil_address bound;
    bool done = false;
    veil_watch *w;
    if ((rc = veil_ctx_start_worker(app, "echoer", &ops, NULL)) < 0 ||
        (rc = veil_node_transport_listen(node, "tcp", where, &bound)) < 0 ||
        (rc = veil_node_watch_add(node, 0, VEIL_WATCH_READ, on_stdin, &done, &w)) < 0) {
        veil_node_free(node);
        return die("start", rc);
    }
    char text[VEIL_ADDRESS_TEXT_MAX + 1];
    veil_address_format(&bound, text, sizeof text);
    printf("LISTEN %s\n", text);
    fflush(stdout);
    while (!done && (rc = veil_node_run(node, -1)) == 0)
        ;
    veil_node_watch_remove(w);
    veil_node_free(node);
    return rc < 0 ? die("run", rc) : 0;
}
