// Links the installed runtime (and autotuner) and calls what needs no GPU:
// the version, and loading a bundle that does not exist.
#include "flashgen/autotune_c.h"
#include "flashgen/runtime.h"
#include "flashgen/runtime_c.h"
#include "flashgen/version.h"

#include <cstdio>
#include <cstring>
#include <memory>

int main() {
  std::printf("flashgen %s (headers %s)\n", flashgen_version(),
              FLASHGEN_VERSION_STRING);
  if (std::strcmp(flashgen::runtimeVersion(), FLASHGEN_VERSION_STRING) != 0) {
    std::printf("FAIL: the library and the headers differ in version\n");
    return 1;
  }
  std::shared_ptr<flashgen::Bundle> bundle;
  flashgen::Status st =
      flashgen::Bundle::load("/nonexistent/flashgen-bundle", bundle);
  if (st.ok() || st.code() != flashgen::StatusCode::FileError) {
    std::printf("FAIL: loading a missing bundle gave '%s'\n",
                st.toString().c_str());
    return 1;
  }
  std::printf("missing bundle: %s\n", st.toString().c_str());
  flashgen_tune_options_t options;
  flashgen_tune_options_init(&options);
  std::printf("autotune: %d reps by default\n", options.reps);
  return 0;
}
