// SPDX-License-Identifier: MIT
// ste/export.hpp — STE_API, which marks what ste's shared library exports.
//
// The shared library (-DBUILD_SHARED_LIBS=ON) is built with every symbol hidden
// (CXX_VISIBILITY_PRESET hidden) except those marked STE_API: the classes and functions
// that ste's headers declare and define in src/. Its CMake target passes STE_SHARED to
// its users and STE_BUILDING to itself.
// - ELF (Linux, the BSDs) and Mach-O: STE_API is visibility("default") in every build.
//   A program compiled without STE_SHARED links the shared library just as well, so one
//   ste.pc serves both kinds.
// - Windows DLLs (MinGW, MSVC): __declspec(dllexport) while building ste, and
//   __declspec(dllimport) for its users when STE_SHARED is defined. A static ste
//   (STE_SHARED undefined) needs neither.
#pragma once

#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(STE_SHARED) && defined(STE_BUILDING)
#define STE_API __declspec(dllexport)
#elif defined(STE_SHARED)
#define STE_API __declspec(dllimport)
#else
#define STE_API
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define STE_API __attribute__((visibility("default")))
#else
#define STE_API
#endif
