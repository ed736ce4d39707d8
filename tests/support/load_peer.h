/* Secure channels under load between two processes over TCP (issue #15),
 * shared by tests/unit/channel/test_channel_load.c and veil-bench idle:
 * a listener node in a child process (forked before any node exists in
 * the caller), initiators in this process, and what each process holds
 * (heap in use, resident bytes).  No cmocka: every call returns 0 or a
 * negative code (VEIL_E*, or -1 for a system call; veil_last_error() or
 * errno says why). */
#ifndef VEIL_TESTS_LOAD_PEER_H
#define VEIL_TESTS_LOAD_PEER_H

#include <veil/veil.h>

#include <sys/types.h>

/* [log] level = error: a peer's teardown closes thousands of channels. */
#define LOAD_QUIET "[log]\nlevel = error\n"

/* What this process holds: heap bytes in use (mallinfo2: arena plus
 * mmap'd blocks, after malloc_trim), resident bytes (/proc/self/statm). */
typedef struct load_usage {
    long long heap, rss;
} load_usage;
load_usage load_usage_now(void);

/* The listener process: node with listener "listener" (trusting everyone,
 * on_open/on_close counted), an "echoer" its channels may reach, tcp on
 * 127.0.0.1:0.  extra: more [secure_channel] keys. */
typedef struct load_peer {
    pid_t pid;
    int cmd, ans;
    char where[VEIL_ADDRESS_MAX + 1];         /* host:port */
    char id[VEIL_IDENTIFIER_LEN + 1];
} load_peer;
typedef struct load_far {
    load_usage u;
    unsigned opened, closed, pending;
    unsigned long long failed, evicted;
} load_far;
int load_peer_start(load_peer *p, const char *extra);
/* Its usage and listener counters now. */
int load_peer_usage(load_peer *p, load_far *out);
void load_peer_stop(load_peer *p);

/* Initiators: a node dialing on first use, an entity, room for cap
 * channel addresses. */
typedef struct load_opens {
    veil_node *node;
    veil_context *app;
    veil_entity *alice;
    veil_address *ch;
    unsigned cap, count, ok, failed;
    int first_rc;
    char first_detail[256];
} load_opens;
int load_opens_up(load_opens *o, unsigned cap);
/* ... with more [secure_channel] lines for the initiating node. */
int load_opens_up_with(load_opens *o, unsigned cap, const char *sc_extra);
void load_opens_down(load_opens *o);
/* Start opens of channels [from, to) to p's listener at once (no loop
 * round in between), each over the node's one connection to p. */
int load_open_batch(load_opens *o, const load_peer *p, unsigned from, unsigned to);
/* Run o's loop until every open started completed or deadline_ms passed:
 * 0 when all opened, else VEIL_ETIMEDOUT or the first failure's code
 * (first_detail says why). */
int load_wait(load_opens *o, int deadline_ms);
/* One message to the echoer through each of channels [from, to) at once;
 * 0 when every answer came back through its channel. */
int load_echo(load_opens *o, unsigned from, unsigned to);

long long load_now_ms(void);

#endif
