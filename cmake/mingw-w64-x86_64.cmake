# SPDX-License-Identifier: MIT
# Toolchain file: cross-compile ste for 64-bit Windows with MinGW-w64 (the posix thread
# model, Debian package g++-mingw-w64-x86-64-posix) and run the results under Wine.
#
#   cmake --workflow --preset windows
#   # or by hand:
#   cmake -S . -B build/win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
#
# Executables are linked statically (-static), so they need no MinGW DLLs beside them.
# CTest (and GoogleTest's test discovery at build time) runs every test program through
# cmake/wine-run.sh, which keeps one warmed-up, persistent wineserver for all of them.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(STE_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${STE_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${STE_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${STE_MINGW_TRIPLE}-windres)

# Look for libraries, headers and CMake packages in the MinGW sysroot only, never in the
# host's /usr (a Linux GoogleTest or libsqlite3 must not be picked up); host programs
# (pkg-config, ...) still come from the host. Further roots (say, the prefix where you
# installed Windows builds of your dependencies) may be given with
# -DCMAKE_FIND_ROOT_PATH=<dir>: they are kept, and searched first.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/${STE_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must not report the host's .pc files either (pkg_check_modules would then
# "find" Linux libraries): search the sysroot's instead of the host's default path
# (PKG_CONFIG_PATH, if set, is still searched first).
set(ENV{PKG_CONFIG_LIBDIR} /usr/${STE_MINGW_TRIPLE}/lib/pkgconfig)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

set(CMAKE_CROSSCOMPILING_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/wine-run.sh)
