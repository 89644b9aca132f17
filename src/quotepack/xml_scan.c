// SPDX-License-Identifier: MIT
/* A streaming check of an archived XML document's structure, counting its rows. */
#include "quotepack/xml_scan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum {
    S_TEXT,   /* between tags */
    S_LT,     /* after '<' */
    S_PI,     /* inside <?...?> */
    S_START,  /* inside a start tag (name, then perhaps attributes, then > or />) */
    S_END,    /* inside an end tag */
    S_FAILED, /* an error was found */
};

void qp_xml_scan_init(struct qp_xml_scan *s)
{
    memset(s, 0, sizeof(*s));
    s->state = S_TEXT;
}

static void bad(struct qp_xml_scan *s, uint64_t at, const char *what)
{
    snprintf(s->error, sizeof(s->error), "%s", what);
    s->error_offset = at;
    s->state = S_FAILED;
}

static bool space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static uint32_t mix(uint32_t h, unsigned char c)
{
    return (h ^ c) * 16777619u;
}

/* A start tag's '>' was read: self-closed when the byte before it was '/'. */
static void start_done(struct qp_xml_scan *s, uint64_t at)
{
    if (s->depth == 0) {
        if (++s->roots > 1) {
            bad(s, at, "a second root element");
            return;
        }
    } else if (s->depth == 1) {
        s->rows++;
    }
    if (s->prev == '/') {
        s->state = S_TEXT;
        return;
    }
    if (s->depth == QP_XML_SCAN_DEPTH) {
        bad(s, at, "elements nested too deep");
        return;
    }
    s->stack[s->depth++] = s->hash;
    s->state = S_TEXT;
}

static void end_done(struct qp_xml_scan *s, uint64_t at)
{
    if (s->depth == 0) {
        bad(s, at, "an end tag with no element open");
        return;
    }
    if (s->stack[s->depth - 1] != s->hash) {
        bad(s, at, "an end tag that does not match its start tag");
        return;
    }
    s->depth--;
    s->state = S_TEXT;
}

static void byte(struct qp_xml_scan *s, unsigned char c, uint64_t at)
{
    switch (s->state) {
    case S_TEXT:
        if (c == '<') {
            s->state = S_LT;
        } else if (s->depth == 0 && !space(c)) {
            bad(s, at, "text outside the root element");
        }
        break;
    case S_LT:
        s->hash = 2166136261u;
        s->in_name = true;
        s->prev = 0;
        if (c == '?') {
            s->state = s->roots == 0 ? S_PI : S_FAILED;
            if (s->state == S_FAILED) {
                bad(s, at, "a declaration after the root element");
            }
        } else if (c == '/') {
            s->state = S_END;
        } else if (c == '!' || c == '<' || c == '>' || space(c)) {
            bad(s, at, "markup quotepack does not write (comment, DOCTYPE or a bad '<')");
        } else {
            s->state = S_START;
            s->hash = mix(s->hash, c);
        }
        break;
    case S_PI:
        if (c == '>' && s->prev == '?') {
            s->state = S_TEXT;
        }
        s->prev = (char)c;
        break;
    case S_START:
        if (c == '>') {
            start_done(s, at);
            break;
        }
        if (c == '<') {
            bad(s, at, "'<' inside a tag");
            break;
        }
        if (s->in_name && (space(c) || c == '/')) {
            s->in_name = false;
        } else if (s->in_name) {
            s->hash = mix(s->hash, c);
        }
        s->prev = (char)c;
        break;
    case S_END:
        if (c == '>') {
            end_done(s, at);
        } else if (c == '<') {
            bad(s, at, "'<' inside an end tag");
        } else if (space(c)) {
            s->in_name = false;
        } else if (!s->in_name) {
            bad(s, at, "a bad end tag");
        } else {
            s->hash = mix(s->hash, c);
        }
        break;
    default:
        break;
    }
}

/* Hashes the tag name's bytes from p while they last: returns where it stopped. */
static const unsigned char *name_run(struct qp_xml_scan *s, const unsigned char *p,
                                     const unsigned char *end)
{
    uint32_t h = s->hash;
    const unsigned char *q = p;
    while (q < end && *q != '>' && *q != '<' && *q != '/' && !space(*q)) {
        h = mix(h, *q);
        q++;
    }
    if (q > p) {
        s->hash = h;
        s->prev = (char)q[-1];
    }
    return q;
}

/*
 * The common case at once: a whole "<Name>" or "</Name>" in the buffer from lt to gt (its
 * '>'). Returns false, having changed nothing, for anything else (the state machine takes it
 * then, byte by byte, with the same result).
 */
static bool whole_tag(struct qp_xml_scan *s, const unsigned char *lt, const unsigned char *gt,
                      uint64_t at)
{
    const unsigned char *q = lt + 1;
    bool end = *q == '/';
    if (end) {
        q++;
    }
    if (q == gt || *q == '?' || *q == '!') {
        return false;
    }
    uint32_t h = 2166136261u;
    for (; q < gt; q++) {
        if (*q == '<' || *q == '/' || space(*q)) {
            return false;
        }
        h = mix(h, *q);
    }
    s->hash = h;
    s->prev = 0;
    if (end) {
        end_done(s, at);
    } else {
        start_done(s, at);
    }
    return true;
}

void qp_xml_scan_feed(struct qp_xml_scan *s, const void *data, size_t len)
{
    const unsigned char *base = data;
    const unsigned char *p = base;
    const unsigned char *end = p + len;
    while (p < end && s->state != S_FAILED) {
        if (s->state == S_TEXT && s->depth > 0) {
            // Character data inside an element: only '<' matters, so skip to it.
            // (Plain loops: the runs are a few bytes, shorter than a memchr call is worth.)
            while (p < end && *p != '<') {
                p++;
            }
            if (p == end) {
                break;
            }
            const unsigned char *gt = p + 1;
            while (gt < end && *gt != '>') {
                gt++;
            }
            if (gt < end && whole_tag(s, p, gt, s->offset + (uint64_t)(gt - base))) {
                p = gt + 1;
                continue;
            }
        } else if ((s->state == S_START || s->state == S_END) && s->in_name) {
            p = name_run(s, p, end); // the common bytes of a tag, without the switch
            if (p == end) {
                break;
            }
        }
        byte(s, *p, s->offset + (uint64_t)(p - base));
        p++;
    }
    s->offset += len;
}

int qp_xml_scan_finish(struct qp_xml_scan *s, uint64_t *rows)
{
    *rows = 0;
    if (s->state == S_FAILED) {
        return -EINVAL;
    }
    if (s->state != S_TEXT || s->depth > 0) {
        bad(s, s->offset, "the document ends inside an element (truncated?)");
        return -EINVAL;
    }
    if (s->roots == 0) {
        bad(s, s->offset, "no root element");
        return -EINVAL;
    }
    *rows = s->rows;
    return 0;
}
