// SPDX-License-Identifier: MIT
/* The manifest as an archive member (compressed frames), and facts read back from the spool. */
#ifndef QP_MANIFEST_MEMBER_H
#define QP_MANIFEST_MEMBER_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/manifest.h"

struct qp_member;
struct qp_spool;
struct qp_spool_rec;
struct qp_strset;

/*
 * For the packer (stage_pack.c), its thread only. The archive's first member is the manifest:
 * qp_manifest_member() formats man and frames it through m (member.h) into *out (malloc'd),
 * in archive order (header frame first), ready for qp_pack_add_frames().
 */
int qp_manifest_member(struct qp_member *m, const struct qp_manifest *man, int64_t mtime,
                       char **out, size_t *len) CORE_MUST_CHECK;

/**
 * Fills e's name ("<symbol>.xml"), symbol and source: the URL the template tmpl (borrowed,
 * config.h) gives symbol, "" for a NULL tmpl or a URL too long. Every writer of an entry
 * (the packer, merge.c) names it so. Pure.
 */
void qp_manifest_entry_name(struct qp_manifest_entry *e, const char *symbol, const char *tmpl);

/**
 * For an archive rewritten without some of its members (compaction): parses the old archive's
 * manifest text (len bytes), drops the entries whose member name is in drop (a set of
 * "<symbol>.xml" names), stamps it created now by this quotepack, and frames it as
 * qp_manifest_member() does. -EINVAL with err filled when the old manifest does not parse.
 */
int qp_manifest_member_without(struct qp_member *m, const char *text, size_t len,
                               const struct qp_strset *drop, int64_t mtime, char **out,
                               size_t *out_len, char *err, size_t errlen) CORE_MUST_CHECK;

/**
 * Reads a spooled entry back (one an earlier run converted, whose SHA-256 this run does not
 * know) and writes the hex SHA-256 of its data. 0, or -EIO when it cannot be read.
 */
int qp_manifest_record_sha256(struct qp_spool *sp, const struct qp_spool_rec *rec,
                              char hex[65]) CORE_MUST_CHECK;

#endif
