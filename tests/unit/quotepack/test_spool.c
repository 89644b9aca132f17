// SPDX-License-Identifier: MIT
/* Unit tests for the XML spool: atomic writes, checks against the catalog, pruning. */
#include "../testlib.h"

#include <errno.h>
#include <libdeflate.h>
#include <unistd.h>

#include "quotepack/catalog.h"
#include "quotepack/spool.h"

TEST(spool_write_read_check_remove)
{
    struct qp_spool *sp = NULL;
    const char *xml = "<Data></Data>\n";
    size_t n = strlen(xml);
    uint32_t crc = (uint32_t)libdeflate_crc32(0, xml, n);
    ASSERT_OK(qp_spool_open(&sp, test_tmpdir()));
    ASSERT_OK(qp_spool_write(sp, "A", xml, n));
    char *data = NULL;
    size_t len = 0;
    ASSERT_OK(qp_spool_read(sp, "A", &data, &len));
    ASSERT_EQ_INT(len, n);
    ASSERT_EQ_MEM(data, xml, n);
    free(data);
    ASSERT_OK(qp_spool_check(sp, "A", n, crc));
    ASSERT_EQ_INT(qp_spool_check(sp, "A", n + 1, crc), -EIO);
    ASSERT_EQ_INT(qp_spool_check(sp, "A", n, crc ^ 1), -EIO);
    qp_spool_remove(sp, "A");
    ASSERT_EQ_INT(qp_spool_check(sp, "A", n, crc), -ENOENT);
    qp_spool_finish(sp);
    char path[512];
    snprintf(path, sizeof(path), "%s/.spool", test_tmpdir());
    ASSERT_TRUE(access(path, F_OK) != 0);
    qp_spool_close(sp);
}

TEST(spool_prune_keeps_only_converted_symbols)
{
    struct qp_spool *sp = NULL;
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "KEEP", "GONE" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_assign(cat, syms, 2, 10));
    ASSERT_OK(qp_catalog_get(cat, "KEEP", &row));
    row.state = QP_STATE_CONVERTED;
    ASSERT_OK(qp_catalog_update(cat, &row));
    ASSERT_OK(qp_spool_open(&sp, test_tmpdir()));
    ASSERT_OK(qp_spool_write(sp, "KEEP", "x", 1));
    ASSERT_OK(qp_spool_write(sp, "GONE", "x", 1));
    ASSERT_OK(qp_spool_write(sp, "UNKNOWN", "x", 1));
    char path[512];
    snprintf(path, sizeof(path), "%s/.spool/KEEP.xml.tmp", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fclose(f);
    ASSERT_OK(qp_spool_prune(sp, cat));
    ASSERT_TRUE(access(path, F_OK) != 0);
    char *data = NULL;
    size_t len = 0;
    ASSERT_OK(qp_spool_read(sp, "KEEP", &data, &len));
    free(data);
    ASSERT_EQ_INT(qp_spool_read(sp, "GONE", &data, &len), -ENOENT);
    ASSERT_EQ_INT(qp_spool_read(sp, "UNKNOWN", &data, &len), -ENOENT);
    qp_spool_close(sp);
    qp_catalog_close(cat);
}
