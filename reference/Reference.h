//===- Reference.h - CPU reference library umbrella -------------*- C++ -*-===//
//
// flashgen_reference: float64 definitions of every flash op, the chunkwise
// forms the compiler generates, bf16 rounding, .npy I/O and input
// generation. Pure C++17: no MLIR, no CUDA, so GPU tests built with
// -DFLASHGEN_RUNTIME_ONLY=ON link it too. docs/semantics.md is its spec.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_REFERENCE_H
#define FLASHGEN_REFERENCE_REFERENCE_H

#include "reference/Attention.h"
#include "reference/AttentionGrad.h"
#include "reference/Bf16.h"
#include "reference/Chunkwise.h"
#include "reference/ErrorScale.h"
#include "reference/GateMath.h"
#include "reference/Inputs.h"
#include "reference/LinearProblem.h"
#include "reference/Npy.h"
#include "reference/Random.h"
#include "reference/Recurrence.h"
#include "reference/ReferenceError.h"
#include "reference/StepGate.h"
#include "reference/Tensor.h"

#endif // FLASHGEN_REFERENCE_REFERENCE_H
