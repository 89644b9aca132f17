// SPDX-License-Identifier: MIT
/* mjpegd: parses options and wires the server together. */
#include <stdio.h>
#include <string.h>

#include "core/version.h"

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("mjpegd %s\n", CORE_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: mjpegd [--source test] [--listen HOST:PORT]\n");
            return 0;
        }
    }
    fprintf(stderr, "mjpegd: not implemented yet\n");
    return 2;
}
