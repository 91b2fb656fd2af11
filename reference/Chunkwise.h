//===- Chunkwise.h - chunkwise form of linear_attention ---------*- C++ -*-===//
//
// The form flash-lower-kernels generates and the CUDA emitter prints, on the CPU:
//  1. inter-chunk pass: the state at every chunk boundary, from the state at
//     the previous boundary and the chunk's keys and values;
//  2. intra-chunk pass: each chunk's outputs from its start state plus a
//     causal, gate-weighted attention inside the chunk, itself tiled into
//     inner query tiles x inner key tiles (TFLA's second tiling level), so
//     the chunk size L is independent of the tile sizes.
// The stabilisation (cumulative log-gates per chunk, mlstm_exp's running max)
// is docs/semantics.md §4, step for step. Templated on float and double:
// the float instantiation shows what precision a float32 kernel can reach.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_CHUNKWISE_H
#define FLASHGEN_REFERENCE_CHUNKWISE_H

#include "reference/LinearProblem.h"

#include <optional>
#include <string>

namespace flashgen::reference {

/// Chunk size L and the inner tile sizes; none needs to be a power of two
/// or divide another, and T need not be a multiple of L (the last chunk
/// and the last tiles are partial).
struct ChunkTiling {
  int64_t chunkSize = 64;
  int64_t innerQuery = 16; // query rows per inner tile
  int64_t innerKey = 16;   // key rows per inner tile
};

/// std::nullopt when every size is >= 1, otherwise the message.
std::optional<std::string> validateChunkTiling(const ChunkTiling &tiling);

/// Number of chunks covering `steps`: ceil(steps / chunkSize).
int64_t chunkCount(int64_t steps, int64_t chunkSize);

/// States at chunk boundaries, as the inter-chunk kernel materialises them:
/// index c is the state before chunk c, index NC the final state.
template <typename T> struct ChunkStates {
  int64_t chunkSize = 0;
  int64_t chunks = 0; // NC
  Tensor<T> c;        // [B, H, NC + 1, Dk, Dv]
  Tensor<T> n;        // [B, H, NC + 1, Dk], mLSTM kinds only
  Tensor<T> m;        // [B, H, NC + 1], mlstm_exp only
};

/// Pass 1 alone (the inter-chunk state recurrence). Throws ReferenceError.
template <typename T>
ChunkStates<T> chunkBoundaryStates(const LinearProblem &problem,
                                   const LinearInputs<T> &inputs,
                                   int64_t chunkSize);

/// Both passes: outputs and final state, computed in T throughout.
/// Throws ReferenceError on malformed input or tiling.
template <typename T>
LinearResult<T> chunkwiseRecurrence(const LinearProblem &problem,
                                    const LinearInputs<T> &inputs,
                                    const ChunkTiling &tiling);

extern template ChunkStates<float>
chunkBoundaryStates<float>(const LinearProblem &, const LinearInputs<float> &,
                           int64_t);
extern template ChunkStates<double>
chunkBoundaryStates<double>(const LinearProblem &, const LinearInputs<double> &,
                            int64_t);
extern template LinearResult<float>
chunkwiseRecurrence<float>(const LinearProblem &, const LinearInputs<float> &,
                           const ChunkTiling &);
extern template LinearResult<double>
chunkwiseRecurrence<double>(const LinearProblem &, const LinearInputs<double> &,
                            const ChunkTiling &);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_CHUNKWISE_H
