// SPDX-License-Identifier: MIT
/* quotepack: parses options and wires the pipeline together. */
#include <stdio.h>
#include <string.h>

#include "core/version.h"

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("quotepack %s\n", CORE_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: quotepack [options] SYMBOL...\n");
            return 0;
        }
    }
    fprintf(stderr, "quotepack: not implemented yet\n");
    return 2;
}
