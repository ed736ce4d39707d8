/* TLS 1.3 baseline for bench_channel.c (see bench_channel_tls.h). */
#include "config.h"
#include "bench_channel_tls.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef VEIL_HAVE_OPENSSL
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct bench_tls {
    EVP_PKEY *key[2];
    X509 *cert[2];
    SSL_CTX *ctx[2];          /* 0 client, 1 server */
    SSL *conn[2];             /* the kept connection */
    BIO *pair[2];
};

static X509 *self_signed(EVP_PKEY *k, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (x == NULL || name == NULL)
        goto fail;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, k);
    if (X509_sign(x, k, NULL) <= 0)
        goto fail;
    X509_NAME_free(name);
    return x;
fail:
    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}

/* Each side trusts exactly the other's self-signed certificate. */
static SSL_CTX *make_ctx(bench_tls *t, int server)
{
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (c == NULL)
        return NULL;
    X509_STORE *store = SSL_CTX_get_cert_store(c);
    int ok = SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) == 1 &&
             SSL_CTX_set_ciphersuites(c, "TLS_AES_256_GCM_SHA384") == 1 &&
             SSL_CTX_set1_groups_list(c, "X25519") == 1 &&
             SSL_CTX_use_certificate(c, t->cert[server]) == 1 &&
             SSL_CTX_use_PrivateKey(c, t->key[server]) == 1 &&
             X509_STORE_add_cert(store, t->cert[!server]) == 1;
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if (server)
        SSL_CTX_set_num_tickets(c, 0);
    if (!ok) {
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

bench_tls *bench_tls_new(void)
{
    bench_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    for (int i = 0; i < 2; i++) {
        t->key[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        t->cert[i] = t->key[i] ? self_signed(t->key[i], i ? "server" : "client") : NULL;
        if (t->cert[i] == NULL)
            goto fail;
    }
    for (int i = 0; i < 2; i++)
        if ((t->ctx[i] = make_ctx(t, i)) == NULL)
            goto fail;
    return t;
fail:
    ERR_print_errors_fp(stderr);
    bench_tls_free(t);
    return NULL;
}

static void conn_free(bench_tls *t)
{
    SSL_free(t->conn[0]);
    SSL_free(t->conn[1]);
    t->conn[0] = t->conn[1] = NULL;
}

void bench_tls_free(bench_tls *t)
{
    if (t == NULL)
        return;
    conn_free(t);
    for (int i = 0; i < 2; i++) {
        SSL_CTX_free(t->ctx[i]);
        X509_free(t->cert[i]);
        EVP_PKEY_free(t->key[i]);
    }
    free(t);
}

/* A client/server pair over a memory BIO pair, handshake driven to the end. */
static int handshake(bench_tls *t, SSL *s[2])
{
    BIO *a, *b;
    s[0] = SSL_new(t->ctx[0]);
    s[1] = SSL_new(t->ctx[1]);
    if (s[0] == NULL || s[1] == NULL || BIO_new_bio_pair(&a, 64 * 1024, &b, 64 * 1024) != 1)
        return -1;
    SSL_set_bio(s[0], a, a);
    SSL_set_bio(s[1], b, b);
    SSL_set_connect_state(s[0]);
    SSL_set_accept_state(s[1]);
    int done[2] = { 0, 0 };
    for (int round = 0; round < 20 && !(done[0] && done[1]); round++) {
        for (int i = 0; i < 2; i++) {
            if (done[i])
                continue;
            int r = SSL_do_handshake(s[i]);
            if (r == 1)
                done[i] = 1;
            else if (SSL_get_error(s[i], r) != SSL_ERROR_WANT_READ)
                return -1;
        }
    }
    /* TLS 1.3: the server learns the client is authenticated only after
     * reading its Finished; make the client's side complete too. */
    return done[0] && done[1] ? 0 : -1;
}

int bench_tls_handshake(bench_tls *t)
{
    SSL *s[2] = { NULL, NULL };
    int rc = handshake(t, s);
    if (rc == 0 && (SSL_get0_peer_certificate(s[1]) == NULL ||
                    SSL_get_verify_result(s[1]) != X509_V_OK ||
                    SSL_get_verify_result(s[0]) != X509_V_OK))
        rc = -1;
    SSL_free(s[0]);
    SSL_free(s[1]);
    return rc;
}

void *bench_tls_ssl_ctx(bench_tls *t, int server)
{
    return t->ctx[server ? 1 : 0];
}

int bench_tls_connect(bench_tls *t)
{
    conn_free(t);
    return handshake(t, t->conn);
}

int bench_tls_record(bench_tls *t, unsigned char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off > 16384 ? 16384 : len - off;
        int w = SSL_write(t->conn[0], buf + off, (int)chunk);
        if (w <= 0)
            return -1;
        size_t got = 0;
        while (got < (size_t)w) {
            int r = SSL_read(t->conn[1], buf + off + got, (int)((size_t)w - got));
            if (r <= 0)
                return -1;
            got += (size_t)r;
        }
        off += (size_t)w;
    }
    return 0;
}

#else
bench_tls *bench_tls_new(void) { return NULL; }
void bench_tls_free(bench_tls *t) { (void)t; }
int bench_tls_handshake(bench_tls *t) { (void)t; return -1; }
int bench_tls_connect(bench_tls *t) { (void)t; return -1; }
void *bench_tls_ssl_ctx(bench_tls *t, int server) { (void)t; (void)server; return NULL; }
int bench_tls_record(bench_tls *t, unsigned char *buf, size_t len)
{
    (void)t; (void)buf; (void)len;
    return -1;
}
#endif
