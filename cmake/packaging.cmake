# SPDX-License-Identifier: MIT
# Debian packages with CPack (`cpack -G DEB`): packaging/build-debs.sh drives it.
#
#   libste<major>  the shared library, libste.so.<major> (component `runtime`)
#   libste-dev     headers, the static library, the libste.so link, the CMake package
#                  and ste.pc (component `dev`)
#
# Why CPack rather than a debian/ directory: the packages come from the same install
# rules that `cmake --install` and the consumer tests use, so what is packaged is what
# is tested; dpkg-buildpackage would need a second description of the same layout.
# Both kinds go into one pair of packages: the shared build's CPack configuration also
# installs a static build tree (STE_PACKAGE_STATIC_BUILD_DIR), as CPack's
# CPACK_INSTALL_CMAKE_PROJECTS allows.
set(STE_PACKAGE_STATIC_BUILD_DIR "" CACHE PATH
    "A static build tree of ste whose `dev` component joins libste-dev (packaging/build-debs.sh)")
set(STE_PACKAGE_MAINTAINER "ste developers <ste-dev@lists.invalid>" CACHE STRING
    "The Maintainer field of the Debian packages")

set(ste_pkg_runtime libste${PROJECT_VERSION_MAJOR})
set(ste_pkg_release 1)
set(ste_pkg_version ${PROJECT_VERSION}-${ste_pkg_release})

# Debian wants copyright and changelog.Debian.gz in /usr/share/doc/<package>/.
set(ste_pkg_doc ${CMAKE_CURRENT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${ste_pkg_doc})
file(READ ${CMAKE_CURRENT_SOURCE_DIR}/LICENSE ste_license)
string(REGEX REPLACE "\n" "\n " ste_license_indented " ${ste_license}")
string(REGEX REPLACE "\n \n" "\n .\n" ste_license_indented "${ste_license_indented}")
string(STRIP "${ste_license_indented}" ste_license_indented)
file(WRITE ${ste_pkg_doc}/copyright
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ste

Files: *
Copyright: the ste developers
License: MIT
 ${ste_license_indented}
")
file(WRITE ${ste_pkg_doc}/changelog.Debian
"ste (${ste_pkg_version}) unstable; urgency=medium

  * Packaged from the ste sources with CPack (cmake/packaging.cmake).

 -- ${STE_PACKAGE_MAINTAINER}  Wed, 02 Dec 2026 00:00:00 +0000
")
find_program(STE_GZIP gzip)
if(STE_GZIP)
  execute_process(COMMAND ${STE_GZIP} -9nf changelog.Debian WORKING_DIRECTORY ${ste_pkg_doc})
endif()
foreach(ste_pkg_component runtime dev)
  if(ste_pkg_component STREQUAL runtime)
    set(ste_pkg_name ${ste_pkg_runtime})
    if(NOT BUILD_SHARED_LIBS)
      continue()  # a static build has no runtime package
    endif()
  else()
    set(ste_pkg_name libste-dev)
  endif()
  install(FILES ${ste_pkg_doc}/copyright
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${ste_pkg_name} COMPONENT ${ste_pkg_component})
  if(EXISTS ${ste_pkg_doc}/changelog.Debian.gz)
    install(FILES ${ste_pkg_doc}/changelog.Debian.gz
            DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${ste_pkg_name} COMPONENT ${ste_pkg_component})
  endif()
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ste)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${STE_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
if(STE_PACKAGE_STATIC_BUILD_DIR)
  set(CPACK_INSTALL_CMAKE_PROJECTS
      "${STE_PACKAGE_STATIC_BUILD_DIR};ste;ALL;/"
      "${CMAKE_CURRENT_BINARY_DIR};ste;ALL;/")
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${ste_pkg_release})
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)        # dpkg-shlibdeps computes libste<major>'s Depends
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # the shlibs file, and the ldconfig trigger
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")  # before 1.0: this exact version
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${ste_pkg_runtime})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
# The extended descriptions; CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY above them and
# indents each line by one space itself.
set(ste_pkg_about
"ste gives a program one dedicated thread that other threads hand work to: a
blocking submit whose closure may use the caller's stack with no allocation,
thread-affine handles, coroutines and timers on the thread, and a real-time
safe notifier.
.")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "${ste_pkg_about}
This package contains the shared library.")
# Debian wants the ldconfig trigger; CPack 3.25 writes postinst/postrm scripts that call
# ldconfig as well (see packaging/lintian-overrides).
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_SOURCE_DIR}/packaging/triggers)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/packaging/lintian-overrides.in
               ${ste_pkg_doc}/lintian-overrides @ONLY)
install(FILES ${ste_pkg_doc}/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME ${ste_pkg_runtime}
        COMPONENT runtime)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libste-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
if(BUILD_SHARED_LIBS)
  set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${ste_pkg_runtime} (= ${ste_pkg_version}), libstdc++-12-dev | libstdc++-dev")
else()
  set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libstdc++-12-dev | libstdc++-dev")
endif()
set(CPACK_COMPONENT_DEV_DESCRIPTION "${ste_pkg_about}
This package contains the headers, the static library, the CMake package
(find_package(ste CONFIG)) and ste.pc for pkg-config.")
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/packaging/lintian-overrides-dev
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME libste-dev
        COMPONENT dev)
include(CPack)
