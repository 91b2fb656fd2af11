#===- FlashgenDependencies.cmake - find what each half needs --------------===#
#
# Each missing dependency stops configuration with one line naming the package
# and the Debian package that provides it.
#
#===----------------------------------------------------------------------===#

function(flashgen_missing what apt)
  message(FATAL_ERROR "flashgen: ${what} not found; install it with: apt-get install -y ${apt}")
endfunction()

# CUDA toolkit: NVRTC is linked; the driver API (libcuda) is loaded at run time
# with dlopen so that binaries start, and CPU-only tests run, on machines
# without a GPU driver.
if(NOT DEFINED CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
  set(CUDAToolkit_ROOT /usr/local/cuda)
endif()
find_package(CUDAToolkit QUIET)
if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::nvrtc)
  flashgen_missing("the CUDA toolkit (NVRTC, cuda.h)" "cuda-toolkit (or set CUDAToolkit_ROOT)")
endif()

if(FLASHGEN_RUNTIME_ONLY)
  message(STATUS "flashgen: runtime-only build (no LLVM/MLIR/Z3)")
  return()
endif()

find_package(MLIR 22.1 CONFIG QUIET
  HINTS /usr/lib/llvm-22/lib/cmake/mlir)
if(NOT MLIR_FOUND)
  flashgen_missing("MLIR 22 (MLIRConfig.cmake)" "libmlir-22-dev mlir-22-tools llvm-22-dev")
endif()
message(STATUS "flashgen: MLIR ${MLIR_DIR}, LLVM ${LLVM_PACKAGE_VERSION}")

list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
include(TableGen)
include(AddLLVM)
include(AddMLIR)
include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
add_definitions(${LLVM_DEFINITIONS})
if(NOT LLVM_ENABLE_RTTI)
  set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} -fno-rtti")
endif()

find_path(Z3_INCLUDE_DIR z3++.h)
find_library(Z3_LIBRARY z3)
if(NOT Z3_INCLUDE_DIR OR NOT Z3_LIBRARY)
  flashgen_missing("Z3 (z3++.h, libz3)" "libz3-dev")
endif()
add_library(flashgen_z3 INTERFACE)
target_include_directories(flashgen_z3 SYSTEM INTERFACE ${Z3_INCLUDE_DIR})
target_link_libraries(flashgen_z3 INTERFACE ${Z3_LIBRARY})

# lit and FileCheck come with llvm-22-tools; LLVMConfig does not set the lit path.
if(NOT LLVM_EXTERNAL_LIT)
  set(LLVM_EXTERNAL_LIT /usr/lib/llvm-22/bin/lit CACHE FILEPATH "lit" FORCE)
endif()
if(NOT EXISTS "${LLVM_TOOLS_BINARY_DIR}/FileCheck")
  flashgen_missing("FileCheck" "llvm-22-tools")
endif()
