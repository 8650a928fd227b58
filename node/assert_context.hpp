// Lets the host (the simulator) describe "where we are" when one of our assertions fails: which
// node, which virtual time, which seed. This is the only thread-local in node/, and it only ever
// affects the text of a crash report.
#pragma once

#include <string>

namespace slotlab {

using AssertContextFn = std::string (*)(void* arg);
void set_assert_context(AssertContextFn fn, void* arg);

}  // namespace slotlab
