# check_no_hooks.cmake: a jpki built without -DJPKI_TEST_HOOKS=ON must not
# name any test hook; the build fails if it does.
#   cmake -DBINARY=path/to/jpki -P check_no_hooks.cmake
file(STRINGS "${BINARY}" hooks REGEX "JPKI_[A-Z_]*(CRASH|PAUSE)")
if(hooks)
  message(FATAL_ERROR "${BINARY} was built without JPKI_TEST_HOOKS but "
    "names a test hook: ${hooks}")
endif()
