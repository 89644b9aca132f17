// SPDX-License-Identifier: MIT
/* Tests for core/log's JSON line format (--log-format json). */
#include "../testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/log.h"

/* Logs one message with stderr sent into a pipe; returns the line written (static buffer). */
static const char *capture(enum core_log_level level, const char *msg)
{
    static char out[8192];
    int p[2];
    ASSERT_OK(pipe(p));
    int saved = dup(STDERR_FILENO);
    ASSERT_CMP_INT(saved, >=, 0);
    ASSERT_CMP_INT(dup2(p[1], STDERR_FILENO), >=, 0);
    core_log(level, "%s", msg);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    ssize_t n = read(p[0], out, sizeof(out) - 1);
    close(p[0]);
    ASSERT_CMP_INT(n, >, 0);
    out[n] = '\0';
    return out;
}

TEST(log_parses_formats)
{
    enum core_log_format f = CORE_LOG_FORMAT_JSON;
    ASSERT_OK(core_log_parse_format("text", &f));
    ASSERT_EQ_INT(f, CORE_LOG_FORMAT_TEXT);
    ASSERT_OK(core_log_parse_format("json", &f));
    ASSERT_EQ_INT(f, CORE_LOG_FORMAT_JSON);
    ASSERT_EQ_INT(core_log_parse_format("xml", &f), -EINVAL);
}

TEST(log_json_line_has_time_level_ident_thread_and_escaped_message)
{
    core_log_set_ident("prog");
    core_log_set_format(CORE_LOG_FORMAT_JSON);
    const char *line = capture(CORE_LOG_WARN, "say \"hi\" \\ tab\there\nnext \x01 caf\xc3\xa9");
    ASSERT_TRUE(strncmp(line, "{\"time\":\"", 9) == 0);
    // "YYYY-MM-DDThh:mm:ss.mmmZ"
    ASSERT_EQ_INT(line[9 + 4], '-');
    ASSERT_EQ_INT(line[9 + 10], 'T');
    ASSERT_EQ_INT(line[9 + 19], '.');
    ASSERT_EQ_INT(line[9 + 23], 'Z');
    const char *rest = strstr(line, "Z\",\"level\":\"warn\",\"ident\":\"prog\",\"thread\":\"");
    ASSERT_NOT_NULL(rest);
    const char *msg = strstr(line, "\",\"msg\":\"");
    ASSERT_NOT_NULL(msg);
    ASSERT_EQ_STR(msg + 9, "say \\\"hi\\\" \\\\ tab\\u0009here\\nnext \\u0001 caf\xc3\xa9\"}\n");
    core_log_set_format(CORE_LOG_FORMAT_TEXT);
    line = capture(CORE_LOG_INFO, "plain");
    ASSERT_TRUE(strncmp(line, "prog: info: ", 12) == 0);
    ASSERT_TRUE(strlen(line) > 20 && strcmp(line + strlen(line) - 8, ": plain\n") == 0);
}

TEST(log_json_truncates_a_long_message_without_breaking_an_escape)
{
    core_log_set_format(CORE_LOG_FORMAT_JSON);
    char big[1000];
    memset(big, '"', sizeof(big) - 1); // 999 quotes: 1998 bytes escaped, more than fits
    big[sizeof(big) - 1] = '\0';
    const char *line = capture(CORE_LOG_ERROR, big);
    size_t n = strlen(line);
    ASSERT_TRUE(n > 3 && strcmp(line + n - 3, "\"}\n") == 0);
    const char *msg = strstr(line, "\"msg\":\"");
    ASSERT_NOT_NULL(msg);
    msg += 7;
    size_t body = (size_t)(line + n - 3 - msg);
    ASSERT_TRUE(body > 100);
    ASSERT_EQ_INT(body % 2, 0); // whole \" pairs only
    for (size_t i = 0; i < body; i += 2) {
        ASSERT_TRUE(msg[i] == '\\' && msg[i + 1] == '"');
    }
}
