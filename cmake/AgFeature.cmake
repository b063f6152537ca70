# SPDX-License-Identifier: MIT
# Tri-state options for optional dependencies.
#
#   ag_feature(<NAME> <doc>)
#     declares the cache variable AG_WITH_<NAME> = AUTO | ON | OFF
#     (default AUTO; YES/TRUE/1 count as ON, NO/FALSE/0 as OFF).
#
#   ag_feature_pkg(<NAME> <PREFIX> <pkg-config spec> <apt package>)
#     AUTO: use the library when pkg-config finds it; ON: stop configuring
#     when it is missing; OFF: leave it out even when installed.
#     Sets AG_HAVE_<NAME> (ON/OFF) in the caller's scope and, when ON, the
#     GLOBAL imported target PkgConfig::<PREFIX>.
#
# Only what AG_HAVE_<NAME> says was enabled is ever referenced by the
# libraries, the exported CMake targets and the .pc files, so a consumer
# of authgate_static needs exactly the dev packages that were enabled.
include_guard(GLOBAL)

function(ag_feature name doc)
  set(AG_WITH_${name} AUTO CACHE STRING "${doc}: AUTO (when found), ON (required), OFF")
  set_property(CACHE AG_WITH_${name} PROPERTY STRINGS AUTO ON OFF)
endfunction()

# ag_feature_mode(<NAME> <out>): the normalised mode, AUTO, ON or OFF.
function(ag_feature_mode name out)
  string(TOUPPER "${AG_WITH_${name}}" _m)
  if(_m MATCHES "^(ON|YES|TRUE|1|Y|REQUIRED)$")
    set(_m ON)
  elseif(_m MATCHES "^(OFF|NO|FALSE|0|N|)$")
    set(_m OFF)
  elseif(NOT _m STREQUAL "AUTO")
    message(FATAL_ERROR "AG_WITH_${name}=${AG_WITH_${name}}: expected AUTO, ON or OFF")
  endif()
  set(${out} ${_m} PARENT_SCOPE)
endfunction()

function(ag_feature_pkg name prefix spec apt)
  ag_feature_mode(${name} _mode)
  set(_have OFF)
  if(NOT _mode STREQUAL "OFF")
    if(PKG_CONFIG_FOUND)
      pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${spec})
    endif()
    if(${prefix}_FOUND)
      set(_have ON)
      message(STATUS "authgate: ${name} on (${spec}: ${${prefix}_VERSION})")
    elseif(_mode STREQUAL "ON")
      message(FATAL_ERROR "AG_WITH_${name}=ON but ${spec} was not found "
        "(apt-get install ${apt}); use AUTO or OFF to build without it")
    else()
      message(STATUS "authgate: ${name} off (${spec} not found: apt-get install ${apt})")
    endif()
  else()
    message(STATUS "authgate: ${name} off (AG_WITH_${name}=OFF)")
  endif()
  set(AG_HAVE_${name} ${_have} PARENT_SCOPE)
  foreach(v FOUND VERSION LIBRARIES LINK_LIBRARIES CFLAGS_OTHER)
    set(${prefix}_${v} "${${prefix}_${v}}" PARENT_SCOPE)
  endforeach()
endfunction()
