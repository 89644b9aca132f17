// SPDX-License-Identifier: MIT
/* The server's configuration: filled from the command line, then read-only and shared. */
#include "mjpegd/config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/version.h"
#include "mjpegd/options.h"
#include "mjpegd/sources/source.h"

static unsigned cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MJD_MAX_WORKERS ? MJD_MAX_WORKERS : (unsigned)n;
}

void mjd_config_source_defaults(struct mjd_source_config *src)
{
    memset(src, 0, sizeof(*src));
    strcpy(src->spec, "test");
    src->width = 1280;
    src->height = 720;
    src->fps = 30;
    src->quality = MJD_DEFAULT_QUALITY;
    src->on_demand_ns = 0;
    src->source_timeout_ns = 5 * CORE_NS_PER_SEC;
    src->segment_ns = 60 * CORE_NS_PER_SEC;
    src->record_on = MJD_RECORD_ALWAYS;
    src->motion_threshold = 0.0;
    src->pre_roll_ns = 3 * CORE_NS_PER_SEC;
    src->post_roll_ns = 2 * CORE_NS_PER_SEC;
}

void mjd_config_defaults(struct mjd_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->workers = cores();
    cfg->encoders = CORE_MIN(cores(), 4u);
    cfg->max_clients = 1000;
    cfg->max_clients_per_ip = 0;
    cfg->max_pending = MJD_DEFAULT_MAX_PENDING;
    cfg->max_playbacks = MJD_DEFAULT_MAX_PLAYBACKS;
    cfg->header_timeout_ns = 10 * CORE_NS_PER_SEC;
    cfg->send_timeout_ns = 10 * CORE_NS_PER_SEC;
    cfg->snapshot_timeout_ns = 5 * CORE_NS_PER_SEC;
    cfg->log_level = CORE_LOG_INFO;
    cfg->log_format = CORE_LOG_FORMAT_TEXT;
}

static enum mjd_config_result usage(FILE *err, const char *fmt, ...) CORE_PRINTF(2, 3);

static enum mjd_config_result usage(FILE *err, const char *fmt, ...)
{
    fputs("mjpegd: ", err);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fputs("\nTry 'mjpegd --help'.\n", err);
    return MJD_CONFIG_USAGE;
}

static enum mjd_config_result act(enum mjd_opt_action action, FILE *out)
{
    switch (action) {
    case MJD_OPT_ACT_HELP:
        mjd_options_print_help(out);
        break;
    case MJD_OPT_ACT_DUMP:
        mjd_options_dump(out);
        break;
    case MJD_OPT_ACT_VERSION:
        fprintf(out, "mjpegd %s\n", CORE_VERSION);
        break;
    case MJD_OPT_ACT_NONE:
    default:
        break;
    }
    return MJD_CONFIG_EXIT;
}

/* Splits "--name=value" or "--name" into the row it names and its inline value (or NULL). */
static const struct mjd_option *lookup(const char *arg, const char **inline_value)
{
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
    *inline_value = eq != NULL ? eq + 1 : NULL;
    return mjd_option_find(name, nlen);
}

enum mjd_config_result mjd_config_parse(struct mjd_config *cfg, int argc, char **argv, FILE *out,
                                        FILE *err)
{
    // Source options given before any --source are the defaults of every source.
    struct mjd_source_config defaults;
    mjd_config_source_defaults(&defaults);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0) {
            return act(MJD_OPT_ACT_HELP, out);
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            return usage(err, "unexpected argument '%s'", arg);
        }
        const char *value = NULL;
        const struct mjd_option *o = lookup(arg, &value);
        if (o == NULL) {
            const char *eq = strchr(arg, '=');
            int n = eq != NULL ? (int)(eq - arg) : (int)strlen(arg);
            return usage(err, "unknown option '%.*s'", n, arg);
        }
        if (o->kind == MJD_OPT_ACTION) {
            if (value != NULL) {
                return usage(err, "option '--%s' takes no value", o->name);
            }
            return act(o->action, out);
        }
        if (o->kind == MJD_OPT_FLAG && value != NULL) {
            return usage(err, "option '--%s' takes no value", o->name);
        }
        if (value == NULL && o->kind != MJD_OPT_FLAG) {
            if (i + 1 >= argc) {
                return usage(err, "option '--%s' needs a value (%s)", o->name, o->metavar);
            }
            value = argv[++i];
        }
        void *base = cfg;
        if (o->scope == MJD_OPT_SOURCE) {
            if (o->flags & MJD_OPT_NEW_SOURCE) {
                if (cfg->nsources >= MJD_MAX_SOURCES) {
                    return usage(err, "at most %d --%s option(s)", MJD_MAX_SOURCES, o->name);
                }
                cfg->sources[cfg->nsources++] = defaults;
            }
            base = cfg->nsources > 0 ? (void *)&cfg->sources[cfg->nsources - 1] : &defaults;
        }
        char why[160];
        if (mjd_option_read(o, cfg, base, value, why, sizeof(why)) != 0) {
            if (o->flags & MJD_OPT_SECRET) {
                return usage(err, "invalid value for --%s: expected %s", o->name, why);
            }
            return usage(err, "invalid value '%s' for --%s: expected %s", value, o->name, why);
        }
    }
    if (cfg->nsources == 0) {
        cfg->sources[cfg->nsources++] = defaults;
    }
    for (size_t i = 0; i < cfg->nsources; i++) {
        mjd_source_spec_shown(cfg->sources[i].spec, cfg->sources[i].shown,
                              sizeof(cfg->sources[i].shown));
    }
    if (cfg->nlisten == 0) {
        strcpy(cfg->listen[0].host, "127.0.0.1");
        strcpy(cfg->listen[0].port, "8080");
        cfg->nlisten = 1;
    }
    return MJD_CONFIG_RUN;
}

void mjd_config_scrub_argv(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            continue;
        }
        const char *value = NULL;
        const struct mjd_option *o = lookup(argv[i], &value);
        if (o == NULL || o->kind == MJD_OPT_ACTION || o->kind == MJD_OPT_FLAG) {
            continue;
        }
        char *v = value != NULL ? argv[i] + (value - argv[i]) : i + 1 < argc ? argv[++i] : NULL;
        if (v != NULL && (o->flags & MJD_OPT_SECRET)) {
            memset(v, '*', strlen(v));
        } else if (v != NULL && (o->flags & MJD_OPT_NEW_SOURCE)) {
            // A relay URL's password (the config holds its own copy of the spec).
            size_t off;
            size_t n = mjd_source_spec_password(v, &off);
            memset(v + off, '*', n);
        }
    }
}
