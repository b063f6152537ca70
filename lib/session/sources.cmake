# SPDX-License-Identifier: MIT
target_sources(authgate_obj PRIVATE ${CMAKE_CURRENT_LIST_DIR}/session.c)
target_sources(authgate_obj PRIVATE ${CMAKE_CURRENT_LIST_DIR}/revsync.c)
target_sources(authgate_obj PRIVATE ${CMAKE_CURRENT_LIST_DIR}/tokens.c)
