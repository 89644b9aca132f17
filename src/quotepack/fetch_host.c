// SPDX-License-Identifier: MIT
/* The fetch stage's view of each host: a Retry-After pause, connection failures in a row. */
#include "quotepack/fetch_host.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/alloc.h"

void qp_fetch_host_key(const char *url, char *key, size_t size)
{
    key[0] = '\0';
    CURLU *u = curl_url();
    if (u == NULL) {
        return;
    }
    char *scheme = NULL;
    char *host = NULL;
    char *port = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
        (void)curl_url_get(u, CURLUPART_HOST, &host, 0);
        (void)curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
        bool has_host = host != NULL && host[0] != '\0';
        snprintf(key, size, "%s://%s%s%s", scheme, has_host ? host : "",
                 has_host && port != NULL ? ":" : "", has_host && port != NULL ? port : "");
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

size_t qp_fetch_hosts_find(struct qp_fetch_hosts *h, const char *url)
{
    char key[320];
    qp_fetch_host_key(url, key, sizeof(key));
    if (h->last < h->n && strcmp(h->v[h->last].key, key) == 0) {
        return h->last;
    }
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->v[i].key, key) == 0) {
            h->last = i;
            return i;
        }
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 4;
        h->v = core_xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    struct qp_fetch_host *x = &h->v[h->n];
    memset(x, 0, sizeof(*x));
    snprintf(x->key, sizeof(x->key), "%s", key);
    h->last = h->n++;
    return h->last;
}

void qp_fetch_hosts_release(struct qp_fetch_hosts *h)
{
    free(h->v);
    memset(h, 0, sizeof(*h));
}
