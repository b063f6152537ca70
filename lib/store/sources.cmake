# SPDX-License-Identifier: MIT
# Store layer: the interface wrappers, the memory store, and the SQLite
# store when SQLite is found (AG_WITH_SQLITE).
target_sources(authgate_obj PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/store.c
  ${CMAKE_CURRENT_LIST_DIR}/store_mem.c
  ${CMAKE_CURRENT_LIST_DIR}/store_sqlite.c
  ${CMAKE_CURRENT_LIST_DIR}/store_sqlite_schema.c)
if(AG_HAVE_SQLITE) # AG_WITH_SQLITE, resolved by the root CMakeLists.txt
  target_compile_definitions(authgate_obj PRIVATE AG_HAVE_SQLITE=1)
  target_link_libraries(authgate_obj PRIVATE PkgConfig::SQLITE3)
  set_property(TARGET authgate_obj APPEND PROPERTY AG_EXTRA_LIBS PkgConfig::SQLITE3)
endif()

# PostgreSQL store when libpq is found (AG_WITH_POSTGRES; Debian: libpq-dev).
target_sources(authgate_obj PRIVATE ${CMAKE_CURRENT_LIST_DIR}/store_pg.c
  ${CMAKE_CURRENT_LIST_DIR}/store_pg_conn.c
  ${CMAKE_CURRENT_LIST_DIR}/store_pg_schema.c
  ${CMAKE_CURRENT_LIST_DIR}/store_pg_listen.c
  ${CMAKE_CURRENT_LIST_DIR}/store_pg_list.c)
if(AG_HAVE_POSTGRES) # AG_WITH_POSTGRES, resolved by the root CMakeLists.txt
  target_compile_definitions(authgate_obj PRIVATE AG_HAVE_POSTGRES=1)
  target_link_libraries(authgate_obj PRIVATE PkgConfig::LIBPQ)
  set_property(TARGET authgate_obj APPEND PROPERTY AG_EXTRA_LIBS PkgConfig::LIBPQ)
endif()
