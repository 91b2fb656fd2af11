#===- PrintKernels.cmake - flashgen-opt spec -> emitted CUDA ---------------===#
#
# cmake -DOPT=flashgen-opt -DSPEC=spec.mlir -DPASS=flash-chunk-options
#       -DOUT=kernels.cu -P PrintKernels.cmake
# Runs flash-chunk (with PASS as its options), canonicalize, cse and
# flash-print-cuda, and writes what the emitter printed (every kernel of the
# spec, one translation unit each, back to back) to OUT.
#
#===----------------------------------------------------------------------===#
execute_process(
  COMMAND ${OPT} "--flash-chunk=${PASS}" --canonicalize --cse --flash-print-cuda
          ${SPEC} -o /dev/null
  OUTPUT_FILE ${OUT}.tmp
  ERROR_VARIABLE diagnostics
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "flashgen-opt failed on ${SPEC}:\n${diagnostics}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
