// SPDX-License-Identifier: MIT
/* The project version, printed by every program's --version. */
#ifndef CORE_VERSION_H
#define CORE_VERSION_H

#define CORE_VERSION "0.1.0"

#endif
