# SPDX-License-Identifier: MIT
# ste's own statics are never destroyed (docs/design.md §18): a static ste::thread may be
# joined after any other static is gone. So no object of the library may register a
# destructor to run at exit (a static or thread_local object with a non-trivial
# destructor calls __cxa_atexit / __cxa_thread_atexit). Run with -DNM=<nm> -DLIB=<library>.
execute_process(COMMAND ${NM} ${LIB} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "could not list the symbols of ${LIB} with ${NM}")
endif()
string(REGEX MATCHALL "[^\n]*__cxa_(thread_)?atexit[^\n]*" found "${symbols}")
if(found)
  message(FATAL_ERROR "ste registers exit-time destructors (make that static never "
                      "destroyed: build it in place, see src/process.cpp):\n${found}\n"
                      "Which file: nm -A ${LIB} | grep __cxa_")
endif()
message(STATUS "no exit-time destructor in ${LIB}")
