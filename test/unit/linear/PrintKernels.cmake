#===- PrintKernels.cmake - flashgen-opt spec -> emitted CUDA ---------------===#
#
# cmake -DOPT=flashgen-opt -DSPEC=spec.mlir -DPASS=flash-schedule-options
#       -DOUT=kernels.cu -P PrintKernels.cmake
# Runs flash-schedule{search=false} (the library's default schedule for an
# op without one; PASS adds options, e.g. algorithm=chunk_two_pass),
# flash-lower-kernels, canonicalize, cse and flash-print-cuda, and writes
# what the emitter printed (every kernel of the spec, one translation unit
# each, back to back) to OUT.
#
#===----------------------------------------------------------------------===#
execute_process(
  COMMAND ${OPT} "--flash-schedule=search=false ${PASS}" --flash-lower-kernels
          --canonicalize --cse --flash-print-cuda
          ${SPEC} -o /dev/null
  OUTPUT_FILE ${OUT}.tmp
  ERROR_VARIABLE diagnostics
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "flashgen-opt failed on ${SPEC}:\n${diagnostics}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
