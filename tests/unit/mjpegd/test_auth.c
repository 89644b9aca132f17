// SPDX-License-Identifier: MIT
/* Unit tests for basic authentication: base64 and the constant-time compare. */
#include "../testlib.h"

#include <errno.h>

#include "mjpegd/auth.h"

TEST(auth_ct_equal)
{
    ASSERT_TRUE(mjd_auth_ct_equal("abc", 3, "abc", 3));
    ASSERT_FALSE(mjd_auth_ct_equal("abd", 3, "abc", 3));
    ASSERT_FALSE(mjd_auth_ct_equal("ab", 2, "abc", 3));
    ASSERT_FALSE(mjd_auth_ct_equal("abcd", 4, "abc", 3));
    ASSERT_FALSE(mjd_auth_ct_equal("", 0, "abc", 3));
    ASSERT_TRUE(mjd_auth_ct_equal("", 0, "", 0));
    // A prefix of the secret with a zero byte after it must not match.
    ASSERT_FALSE(mjd_auth_ct_equal("ab\0", 3, "ab", 2));
}

TEST(auth_base64_decode)
{
    unsigned char out[64];
    ASSERT_EQ_INT(mjd_auth_base64_decode("dXNlcjpwYXNz", 12, out, sizeof(out)), 9);
    ASSERT_EQ_MEM(out, "user:pass", 9);
    ASSERT_EQ_INT(mjd_auth_base64_decode("YQ==", 4, out, sizeof(out)), 1);
    ASSERT_EQ_MEM(out, "a", 1);
    ASSERT_EQ_INT(mjd_auth_base64_decode("YWI=", 4, out, sizeof(out)), 2);
    ASSERT_EQ_INT(mjd_auth_base64_decode("YWI", 3, out, sizeof(out)), 2);
    ASSERT_EQ_INT(mjd_auth_base64_decode("", 0, out, sizeof(out)), 0);
    ASSERT_CMP_INT(mjd_auth_base64_decode("Y", 1, out, sizeof(out)), <, 0);
    ASSERT_CMP_INT(mjd_auth_base64_decode("d*Nl", 4, out, sizeof(out)), <, 0);
    ASSERT_CMP_INT(mjd_auth_base64_decode("dXNlcjpwYXNz", 12, out, 4), <, 0);
}

static bool check(const char *header, const char *userpass)
{
    return mjd_auth_check_basic(header, strlen(header), userpass);
}

TEST(auth_check_basic)
{
    ASSERT_TRUE(check("Basic dXNlcjpwYXNz", "user:pass"));
    ASSERT_TRUE(check("basic dXNlcjpwYXNz", "user:pass"));
    ASSERT_TRUE(check("BASIC   dXNlcjpwYXNz", "user:pass"));
    ASSERT_FALSE(check("Basic dXNlcjpwYXN6", "user:pass"));
    ASSERT_FALSE(check("Basic dXNlcjpwYXNz", "user:pas"));
    ASSERT_FALSE(check("Bearer dXNlcjpwYXNz", "user:pass"));
    ASSERT_FALSE(check("BasicdXNlcjpwYXNz", "user:pass"));
    ASSERT_FALSE(check("Basic", "user:pass"));
    ASSERT_FALSE(check("Basic !!!!", "user:pass"));
    ASSERT_FALSE(check("Basic ", ""));
    ASSERT_TRUE(check("Basic OnBhc3M=", ":pass"));
}
