#===- FlashgenInstall.cmake - what `cmake --install` puts where ----------===#
#
# `cmake --install build --prefix P` installs, in both configurations:
#   P/include/flashgen/  runtime.h, runtime_c.h, autotune.h, autotune_c.h,
#                        version.h (generated)
#   P/lib/               libflashgen_runtime.so, libflashgen_autotune.so
#   P/bin/               flashgen-nvrtc, flashgen-tune
#   P/lib/cmake/flashgen/  the CMake package: flashgen::runtime,
#                        flashgen::autotune (find_package(flashgen))
#   P/lib/pkgconfig/     flashgen.pc (runtime), flashgen-autotune.pc
# and in the full build also the compiler:
#   P/bin/               flashgen, flashgen-opt, flashgen-ref
#   P/lib/               the static compiler libraries
#   P/include/flashgen/compiler/  their headers, spelled as in the tree
#                        ("dialect/FlashDialect.h", "passes/Passes.h", ...)
#                        with the generated .h.inc files
#   flashgen::compiler   with find_package(flashgen COMPONENTS compiler),
#                        which also finds MLIR 22 (and needs Z3's library)
# test/install/ is an outside project that uses all of it (ctest: install).
#
#===----------------------------------------------------------------------===#

include(CMakePackageConfigHelpers)

set(FLASHGEN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/flashgen)

#===--- runtime half: always ----------------------------------------------===#

install(TARGETS flashgen_runtime flashgen_autotune
  EXPORT flashgenTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES
    ${PROJECT_SOURCE_DIR}/runtime/include/flashgen/runtime.h
    ${PROJECT_SOURCE_DIR}/runtime/include/flashgen/runtime_c.h
    ${PROJECT_SOURCE_DIR}/autotune/include/flashgen/autotune.h
    ${PROJECT_SOURCE_DIR}/autotune/include/flashgen/autotune_c.h
    ${PROJECT_BINARY_DIR}/include/flashgen/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/flashgen)
install(EXPORT flashgenTargets
  NAMESPACE flashgen::
  DESTINATION ${FLASHGEN_CMAKE_DIR})

# The tools (FLASHGEN_TOOLS, the top-level CMakeLists.txt): all of bin/.
install(TARGETS ${FLASHGEN_TOOLS}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

#===--- compiler half: full build only ------------------------------------===#
#
# Static libraries over the shared LLVM/MLIR 22 of the system (libMLIR.so,
# libLLVM.so): a user links the same MLIR, compiles like it (LLVM's
# definitions, -fno-rtti where LLVM has no RTTI) and links Z3.

if(NOT FLASHGEN_RUNTIME_ONLY)
  set(flashgen_compiler_libs
    flashgen_schedule flashgen_dialect flashgen_passes flashgen_codegen)
  set(flashgen_compiler_include ${CMAKE_INSTALL_INCLUDEDIR}/flashgen/compiler)
  foreach(lib ${flashgen_compiler_libs})
    string(REPLACE "flashgen_" "" name ${lib})
    set_target_properties(${lib} PROPERTIES EXPORT_NAME ${name})
    # "dialect/FlashDialect.h" and "flashgen/version.h", as in the tree.
    target_include_directories(${lib} INTERFACE
      $<INSTALL_INTERFACE:${flashgen_compiler_include}>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endforeach()
  # The schedule library links Z3 (an interface target of absolute paths).
  set_target_properties(flashgen_z3 PROPERTIES EXPORT_NAME z3)
  # flashgen::compiler: all of them.
  add_library(flashgen_compiler INTERFACE)
  target_link_libraries(flashgen_compiler INTERFACE ${flashgen_compiler_libs})
  set_target_properties(flashgen_compiler PROPERTIES EXPORT_NAME compiler)
  add_library(flashgen::compiler ALIAS flashgen_compiler)

  install(TARGETS ${flashgen_compiler_libs} flashgen_z3 flashgen_compiler
    EXPORT flashgenCompilerTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT flashgenCompilerTargets
    NAMESPACE flashgen::
    DESTINATION ${FLASHGEN_CMAKE_DIR})

  foreach(dir schedule dialect passes codegen)
    file(GLOB headers ${PROJECT_SOURCE_DIR}/${dir}/*.h)
    install(FILES ${headers} DESTINATION ${flashgen_compiler_include}/${dir})
  endforeach()
  # What the headers above include from elsewhere in the tree.
  install(FILES ${PROJECT_SOURCE_DIR}/reference/GateKind.h
    DESTINATION ${flashgen_compiler_include}/reference)
  install(FILES ${PROJECT_SOURCE_DIR}/tools/FlashgenRegistration.h
    DESTINATION ${flashgen_compiler_include}/tools)
  # TableGen output.
  install(FILES
      ${PROJECT_BINARY_DIR}/dialect/FlashOps.h.inc
      ${PROJECT_BINARY_DIR}/dialect/FlashOpsDialect.h.inc
      ${PROJECT_BINARY_DIR}/dialect/FlashEnums.h.inc
      ${PROJECT_BINARY_DIR}/dialect/FlashAttrs.h.inc
    DESTINATION ${flashgen_compiler_include}/dialect)
  install(FILES ${PROJECT_BINARY_DIR}/passes/Passes.h.inc
    DESTINATION ${flashgen_compiler_include}/passes)
  install(FILES ${PROJECT_BINARY_DIR}/codegen/Passes.h.inc
    DESTINATION ${flashgen_compiler_include}/codegen)
endif()

#===--- the CMake package --------------------------------------------------===#

if(FLASHGEN_RUNTIME_ONLY)
  set(FLASHGEN_CONFIG_MLIR_DIR "")
else()
  set(FLASHGEN_CONFIG_MLIR_DIR "${MLIR_DIR}")
endif()
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/flashgenConfig.cmake.in
  ${PROJECT_BINARY_DIR}/flashgenConfig.cmake
  INSTALL_DESTINATION ${FLASHGEN_CMAKE_DIR})
# 0.x: a minor version may break the API.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/flashgenConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
    ${PROJECT_BINARY_DIR}/flashgenConfig.cmake
    ${PROJECT_BINARY_DIR}/flashgenConfigVersion.cmake
  DESTINATION ${FLASHGEN_CMAKE_DIR})

#===--- pkg-config ---------------------------------------------------------===#
#
# Relocatable: the prefix is found from the .pc file's own folder
# (${pcfiledir}), so `cmake --install --prefix P` needs no reconfigure.

set(pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH FLASHGEN_PC_PREFIX "/prefix/${pc_dir}" "/prefix")
string(REGEX REPLACE "/$" "" FLASHGEN_PC_PREFIX "${FLASHGEN_PC_PREFIX}")
foreach(pc flashgen flashgen-autotune)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in
                 ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${pc_dir})
endforeach()
