# SPDX-License-Identifier: MIT
# authgate.pc and authgate-mhd.pc, relocatable: prefix is found from the
# .pc file's own directory (${pcfiledir}), so an installed tree can be
# moved or installed with `cmake --install --prefix DIR` and still work.
#
# Dependencies go to Requires.private only when their .pc adds no include
# directories: libpq's adds -I/usr/include/postgresql and libcurl's a triplet
# directory, which pkg-config would leak into --cflags, so those two are
# named in Libs.private instead. Our public headers include none of them.
include_guard(GLOBAL)

set(_pcdir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  # an absolute libdir cannot be relative to anything: plain paths
  set(AG_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(AG_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
  set(_pcdir_abs "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
else()
  # lib -> ../.., lib/x86_64-linux-gnu -> ../../..
  file(RELATIVE_PATH _up "/ag-prefix/${_pcdir}" "/ag-prefix")
  string(REGEX REPLACE "/$" "" _up "${_up}")
  set(AG_PC_PREFIX "\${pcfiledir}/${_up}")
  set(AG_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(AG_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(AG_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()

set(_req "libcrypto >= 3.0" "jansson >= 2.13")
set(_libs "")
if(AG_HAVE_SQLITE)
  list(APPEND _req "sqlite3 >= 3.24")
endif()
if(AG_HAVE_SODIUM)
  list(APPEND _req "libsodium >= 1.0.16")
endif()
if(AG_HAVE_CURL) # libcurl.pc adds -I/usr/include/<triplet>
  list(APPEND _libs "-lcurl")
endif()
if(AG_HAVE_POSTGRES) # libpq.pc adds -I/usr/include/postgresql
  list(APPEND _libs "-lpq")
endif()
list(APPEND _libs "-pthread")
list(JOIN _req ", " AG_PC_REQUIRES_PRIVATE)
list(JOIN _libs " " AG_PC_LIBS_PRIVATE)

configure_file(${CMAKE_CURRENT_LIST_DIR}/authgate.pc.in ${PROJECT_BINARY_DIR}/authgate.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/authgate.pc DESTINATION ${_pcdir})
if(TARGET authgate-mhd)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/authgate-mhd.pc.in ${PROJECT_BINARY_DIR}/authgate-mhd.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/authgate-mhd.pc DESTINATION ${_pcdir})
endif()
