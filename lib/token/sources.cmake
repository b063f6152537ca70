# SPDX-License-Identifier: MIT
foreach(f base64url b64_simd json_scan json_num json_iter alg keys jwk jwk_export crypto jws jws_issue claims vcache revset swap jwks_remote cache_control)

  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${f}.c)
    target_sources(authgate_obj PRIVATE ${CMAKE_CURRENT_LIST_DIR}/${f}.c)
  endif()
endforeach()

# Optional: libsodium verifies Ed25519 (EdDSA) about 1.6x faster than
# OpenSSL 3.0 and without allocating (bench/README.md). AG_WITH_SODIUM=OFF
# keeps OpenSSL for everything.
# Found (or not) by the root CMakeLists.txt: AG_HAVE_SODIUM.
if(AG_HAVE_SODIUM)
  target_compile_definitions(authgate_obj PRIVATE AG_HAVE_SODIUM=1)
  target_link_libraries(authgate_obj PRIVATE PkgConfig::SODIUM)
  set_property(TARGET authgate_obj APPEND PROPERTY AG_EXTRA_LIBS PkgConfig::SODIUM)
  message(STATUS "authgate: EdDSA verification through libsodium ${SODIUM_VERSION}")
endif()

# SIMD twins select their instruction sets with target attributes
# (AG__TARGET in lib/common/common_int.h): no per-file compiler flags.

# Optional: remote JWKS (ag_jwks_remote_*) over libcurl. AG_WITH_CURL=OFF, or
# no libcurl, builds stubs that return AG_ERR_STATE.
if(AG_HAVE_CURL)
  target_compile_definitions(authgate_obj PRIVATE AG_HAVE_CURL=1)
  target_link_libraries(authgate_obj PRIVATE PkgConfig::CURL)
  set_property(TARGET authgate_obj APPEND PROPERTY AG_EXTRA_LIBS PkgConfig::CURL)
  message(STATUS "authgate: remote JWKS through libcurl ${CURL_VERSION}")
endif()
