/* The OpenSSL TLS 1.3 baseline of the channel benchmark (bench_channel.c):
 * mutual authentication with Ed25519 self-signed certificates made at
 * start, X25519, TLS_AES_256_GCM_SHA384, over a memory BIO pair, no
 * session resumption.  Only the benchmark links OpenSSL directly. */
#ifndef VEIL_BENCH_CHANNEL_TLS_H
#define VEIL_BENCH_CHANNEL_TLS_H

#include <stddef.h>

typedef struct bench_tls bench_tls;

/* NULL on failure (reason on stderr). */
bench_tls *bench_tls_new(void);
void bench_tls_free(bench_tls *t);
/* One full mutually authenticated handshake; 0 or -1. */
int bench_tls_handshake(bench_tls *t);
/* Keep one connection open for the record layer. */
int bench_tls_connect(bench_tls *t);
/* SSL_write len bytes on the client, SSL_read them on the server. */
int bench_tls_record(bench_tls *t, unsigned char *buf, size_t len);
/* The SSL_CTX (as void *) of one side, 0 client and 1 server, with these
 * certificates and settings: for the same baseline over another carrier
 * (bench_tcp_tls.c: TLS over loopback TCP between two processes). */
void *bench_tls_ssl_ctx(bench_tls *t, int server);

#endif
