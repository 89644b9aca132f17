// SPDX-License-Identifier: MIT
/*
 * Replays a fuzz target's corpus without libFuzzer, so `make test` runs every corpus file
 * through the target under the build's sanitizers. Usage: <target> DIR|FILE...; prints TAP.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, int *count)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("not ok - cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            unsigned char *p = realloc(buf, cap);
            if (p == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = p;
        }
    }
    fclose(f);
    if (buf == NULL) {
        printf("not ok - out of memory reading %s\n", path);
        return 1;
    }
    // Copy into an exact-size allocation so ASan catches reads past the end.
    unsigned char *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*count)++;
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int count = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            printf("not ok - %s does not exist\n", argv[i]);
            bad++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad += replay_file(argv[i], &count);
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (d == NULL) {
            printf("not ok - cannot open %s\n", argv[i]);
            bad++;
            continue;
        }
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') {
                continue;
            }
            char **p = realloc(names, (n + 1) * sizeof(*names));
            if (p == NULL) {
                break;
            }
            names = p;
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[n] = malloc(len);
            snprintf(names[n], len, "%s/%s", argv[i], e->d_name);
            n++;
        }
        closedir(d);
        qsort(names, n, sizeof(*names), cmp);
        for (size_t k = 0; k < n; k++) {
            bad += replay_file(names[k], &count);
            free(names[k]);
        }
        free(names);
    }
    // A crash or sanitizer report ends the process before this line, so "ok" means clean.
    if (bad == 0) {
        printf("ok - %s: %d inputs replayed\n", argv[0], count);
    }
    return bad ? 1 : 0;
}
