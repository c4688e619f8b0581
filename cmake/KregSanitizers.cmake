# KREG_SANITIZE="address;undefined" or "thread": instrument everything built
# in this tree (library, tool, tests). Third-party libraries from the system
# are not instrumented.
if(KREG_SANITIZE)
  list(JOIN KREG_SANITIZE "," _kreg_san)
  add_compile_options(-fsanitize=${_kreg_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_kreg_san})
endif()
