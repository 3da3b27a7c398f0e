# SPDX-License-Identifier: MIT
# Runs one dll_host scenario and checks its exit code and its whole output, including
# what dll_owner.dll prints during DLL_PROCESS_DETACH after main returned (CTest's
# PASS_REGULAR_EXPRESSION alone would ignore the exit code).
#   cmake -DEMULATOR=<runner or empty> -DHOST=<dll_host.exe> -DSCENARIO=<name>
#         -DEXPECT=<regular expression> -P run_host.cmake
# TIMEOUT is a hang guard only (the host's own watchdog cannot see a hang after main
# returned): no scenario is timed.
execute_process(COMMAND ${EMULATOR} ${HOST} ${SCENARIO}
                RESULT_VARIABLE rc
                OUTPUT_VARIABLE out
                ERROR_VARIABLE err
                TIMEOUT 300)
string(REPLACE "\r" "" out "${out}")  # the host's stdout is in text mode (CRLF)
message("${out}${err}")
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "dll_host ${SCENARIO}: exit code ${rc}, expected 0")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "dll_host ${SCENARIO}: the output does not match\n  ${EXPECT}")
endif()
