# SPDX-License-Identifier: MIT
# Drives one packaging test; run by CTest as `cmake -D... -P consumer.cmake`
# (see CMakeLists.txt beside this file). Fails (non-zero exit) at the first failing step.
#
# MODE=install-ste  installs ste's build tree (STE_BUILD_DIR) into PREFIX and checks the
#                   layout: headers, library, CMake package files, ste.pc.
# MODE=archive      packs ste's sources (only what a subproject build needs) into ARCHIVE.
# MODE=install | subdirectory | fetchcontent | pkgconfig
#                   configures, builds and runs the consumer project (project/) in WORK_DIR
#                   against ste, with the compiler, flags and toolchain of ste's build.
#
# Other inputs: STE_SOURCE_DIR, CONFIG, GENERATOR, MAKE_PROGRAM, CXX_COMPILER, CXX_FLAGS,
# EXE_LINKER_FLAGS, TOOLCHAIN_FILE, CROSSCOMPILING, LIBDIR, VERSION, CTEST, KIND (static or
# shared: which ste the build made).
cmake_minimum_required(VERSION 3.20)

function(run)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "consumer: ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer (${MODE}): failed with ${rc}: ${shown}")
  endif()
endfunction()

if(MODE STREQUAL "install-ste")
  file(REMOVE_RECURSE "${PREFIX}")
  run(${CMAKE_COMMAND} --install "${STE_BUILD_DIR}" --config "${CONFIG}" --prefix "${PREFIX}")
  foreach(f include/ste/ste.hpp include/ste/version.hpp include/ste/detail/core.hpp
            ${LIBDIR}/cmake/ste/ste-config.cmake ${LIBDIR}/cmake/ste/ste-config-version.cmake
            ${LIBDIR}/cmake/ste/ste-${KIND}-targets.cmake ${LIBDIR}/pkgconfig/ste.pc)
    if(NOT EXISTS "${PREFIX}/${f}")
      message(FATAL_ERROR "consumer (install-ste): ${f} is missing from the install tree")
    endif()
  endforeach()
  file(GLOB libs "${PREFIX}/${LIBDIR}/*ste*")
  if(NOT libs)
    message(FATAL_ERROR "consumer (install-ste): no library in ${PREFIX}/${LIBDIR}")
  endif()
  message(STATUS "consumer: installed ste into ${PREFIX}")
  return()
endif()

if(MODE STREQUAL "archive")
  # Just what building ste as a subproject needs: proves the sources are self-contained.
  file(REMOVE "${ARCHIVE}")
  get_filename_component(dir "${ARCHIVE}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf "${ARCHIVE}" --
                          CMakeLists.txt cmake include src
                  WORKING_DIRECTORY "${STE_SOURCE_DIR}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer (archive): cannot pack ${STE_SOURCE_DIR}")
  endif()
  message(STATUS "consumer: packed ste's sources into ${ARCHIVE}")
  return()
endif()

# --- a consumer build ---------------------------------------------------------------
set(args
  -S "${CMAKE_CURRENT_LIST_DIR}/project" -B "${WORK_DIR}"
  -G "${GENERATOR}"
  "-DSTE_CONSUMER_MODE=${MODE}"
  "-DSTE_EXPECTED_VERSION=${VERSION}"
  "-DCMAKE_BUILD_TYPE=${CONFIG}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
if(MAKE_PROGRAM)
  list(APPEND args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(TOOLCHAIN_FILE)
  list(APPEND args "-DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE}")
endif()

if(CROSSCOMPILING AND MODE MATCHES "^(install|pkgconfig)$")
  # A cross toolchain searches only below its find roots (CMAKE_FIND_ROOT_PATH_MODE_*
  # ONLY): declare the install tree one of them, as for any cross-built dependency.
  list(APPEND args "-DCMAKE_FIND_ROOT_PATH=${PREFIX}")
endif()
if(MODE STREQUAL "install")
  list(APPEND args "-DSTE_PREFIX=${PREFIX}" "-DCMAKE_PREFIX_PATH=${PREFIX}")
elseif(MODE STREQUAL "subdirectory")
  list(APPEND args "-DSTE_SOURCE_DIR=${STE_SOURCE_DIR}")
elseif(MODE STREQUAL "fetchcontent")
  list(APPEND args "-DSTE_ARCHIVE=${ARCHIVE}")
elseif(MODE STREQUAL "pkgconfig")
  list(APPEND args "-DSTE_PREFIX=${PREFIX}")
  set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${LIBDIR}/pkgconfig")
else()
  message(FATAL_ERROR "consumer: unknown MODE '${MODE}'")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")  # always from scratch: no stale cache
run(${CMAKE_COMMAND} ${args})
run(${CMAKE_COMMAND} --build "${WORK_DIR}" --config "${CONFIG}" --parallel 2)
run(${CTEST} --test-dir "${WORK_DIR}" -C "${CONFIG}" --output-on-failure --no-tests=error)
