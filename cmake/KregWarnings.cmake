# kreg_set_warnings(target): the warning flags every kreg target builds with.
function(kreg_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wcast-align)
  if(KREG_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
