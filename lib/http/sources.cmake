# SPDX-License-Identifier: MIT
# lib/http: credentials from headers and cookies (no server library here).
target_sources(authgate_obj PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/http_extract.c
  ${CMAKE_CURRENT_LIST_DIR}/b64token_avx2.c
  ${CMAKE_CURRENT_LIST_DIR}/cookie.c
  ${CMAKE_CURRENT_LIST_DIR}/csrf.c
  ${CMAKE_CURRENT_LIST_DIR}/http_auth.c
  ${CMAKE_CURRENT_LIST_DIR}/set_cookie.c
  ${CMAKE_CURRENT_LIST_DIR}/http_status.c)
