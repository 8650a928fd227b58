# One shared warnings target that every slotlab library and executable links (cpp-best-practices style).
add_library(slotlab_warnings INTERFACE)
add_library(slotlab::warnings ALIAS slotlab_warnings)
target_compile_options(slotlab_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
