# SPDX-License-Identifier: MIT
target_sources(authgate_obj PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/alloc.c
  ${CMAKE_CURRENT_LIST_DIR}/cpu.c
  ${CMAKE_CURRENT_LIST_DIR}/crypto_prim.c
  ${CMAKE_CURRENT_LIST_DIR}/sized.c
  ${CMAKE_CURRENT_LIST_DIR}/sha256_ni.c
  ${CMAKE_CURRENT_LIST_DIR}/text.c
  ${CMAKE_CURRENT_LIST_DIR}/error.c
  ${CMAKE_CURRENT_LIST_DIR}/events.c
  ${CMAKE_CURRENT_LIST_DIR}/metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/version.c)
