# SPDX-License-Identifier: MIT
# Compiler flags: warnings from STYLE.md, the optimisation level and the sanitizer variants.

comma := ,

WARNINGS := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wold-style-definition -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2 -Wundef \
	-Wvla -Wdouble-promotion -Wimplicit-fallthrough -fno-common
ifeq ($(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n 1)),)
WARNINGS += -Wduplicated-cond -Wlogical-op
endif

# -Werror only for developers (DEV=1) and CI (CI=true), so a newer compiler cannot break a
# release build made by a user.
ifneq ($(DEV)$(filter true 1,$(CI)),)
WARNINGS += -Werror
endif

BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -g -Isrc -MMD -MP

ifeq ($(SANITIZE),)
VARIANT := default
B := build
OPT := -O2
SAN :=
else
VARIANT := $(subst $(comma),-,$(SANITIZE))
B := build/$(VARIANT)
OPT := -O1
SAN := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

ifneq ($(filter-out default address-undefined undefined-address address thread undefined,$(VARIANT)),)
$(error SANITIZE must be address,undefined or thread (or one of address, undefined))
endif

CFLAGS ?= $(OPT)
ALL_CFLAGS = $(BASE_CFLAGS) $(WARNINGS) $(CFLAGS) $(SAN) $(EXTRA_CFLAGS)
ALL_LDFLAGS = -pthread $(SAN) $(LDFLAGS)
