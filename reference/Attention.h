//===- Attention.h - float64 definition of flash.attention ------*- C++ -*-===//
//
// The quadratic, materialise-every-score definition of flash.attention that
// docs/semantics.md §2 states; GPU kernels and the compiler's tiled forms are
// checked against it. score_mod and mask_mod are std::function hooks so that
// the interpreter of the op's MLIR regions can be plugged in unchanged.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_REFERENCE_ATTENTION_H
#define FLASHGEN_REFERENCE_ATTENTION_H

#include "reference/BlockMask.h"
#include "reference/Tensor.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace flashgen::reference {

enum class MaskKind { None, Causal, SlidingWindow };

/// "none", "causal", "sliding_window" (the dialect's attribute spelling).
const char *maskKindName(MaskKind kind);

/// Score modifier: receives the scaled score scale·<q_i,k_j> and the
/// indices (batch, query head, query row, key row); returns the new score.
/// Returning -inf removes the key from the softmax like a mask does.
using ScoreMod = std::function<double(double score, int64_t batch, int64_t head,
                                      int64_t query, int64_t key)>;

/// Mask modifier: true keeps key `key` visible to query `query`. It can
/// only hide keys that the mask kind shows, never reveal hidden ones.
using MaskMod = std::function<bool(int64_t batch, int64_t head, int64_t query,
                                   int64_t key)>;

/// Output modifier: receives one normalised output element o[b, h, i, d]
/// (0 in a row without visible keys) and returns what is stored there; the
/// log-sum-exp is not changed.
using OutputMod = std::function<double(double out, int64_t batch, int64_t head,
                                       int64_t query, int64_t column)>;

/// The attributes and regions of one flash.attention op.
struct AttentionProblem {
  MaskKind mask = MaskKind::None;
  /// Width w of MaskKind::SlidingWindow (w >= 1 keys, including the
  /// diagonal one); must be 0 for the other kinds.
  int64_t window = 0;
  /// Softmax scale; 1/sqrt(D) when absent.
  std::optional<double> scale;
  /// Empty: identity.
  ScoreMod scoreMod;
  /// Empty: every key the mask kind allows is visible.
  MaskMod maskMod;
  /// Empty: the normalised output is stored as it is.
  OutputMod outputMod;
  /// Per-sequence query and key counts of a packed (varlen) batch, each at
  /// most N (M): sequence b's rows past its count are left as a row
  /// without keys (zero, lse -inf) and its keys past its count are not
  /// visible; its masks are aligned by its own counts. Empty: every
  /// sequence has N queries (M keys).
  std::vector<int64_t> queryLengths, keyLengths;
  /// A block-sparse mask (docs/semantics.md §2.10): only the key blocks its
  /// lists name are visible, and mask_mod is not evaluated in the full
  /// ones. Absent: every block is visible, mask_mod applies everywhere.
  std::optional<BlockMask> blockMask;
};

/// The sizes implied by q [B,Hq,N,D], k [B,Hkv,M,D], v [B,Hkv,M,Dv].
struct AttentionShape {
  int64_t batch = 0;
  int64_t queryHeads = 0;
  int64_t kvHeads = 0;
  int64_t queries = 0;  // N
  int64_t keys = 0;     // M
  int64_t headDim = 0;  // D
  int64_t valueDim = 0; // Dv
};

struct AttentionResult {
  Tensor<double> out; // [B, Hq, N, Dv]
  /// log(sum over visible j of exp(s_ij)) per row, [B, Hq, N]; -inf for a
  /// row without visible keys. The backward pass and split-KV kernels need
  /// it, so GPU tests compare it too.
  Tensor<double> logSumExp;
};

/// Checks shapes and attributes; returns the first problem found as a
/// message, or std::nullopt when the op is well formed.
std::optional<std::string> validateAttention(const AttentionProblem &problem,
                                             const Shape &q, const Shape &k,
                                             const Shape &v);

/// Sizes of a well-formed op; throws ReferenceError otherwise.
AttentionShape attentionShape(const AttentionProblem &problem, const Shape &q,
                              const Shape &k, const Shape &v);

/// The scale actually used: problem.scale or 1/sqrt(headDim).
double effectiveAttentionScale(const AttentionProblem &problem,
                               int64_t headDim);

/// Visibility from the mask kind alone, for N queries and M keys
/// (bottom-right aligned: query i sits at key position i + M - N).
bool maskKindAllows(MaskKind kind, int64_t window, int64_t queries,
                    int64_t keys, int64_t query, int64_t key);

/// Full visibility rule: 0 <= key < M, mask kind, then the block mask's
/// lists (a block listed in neither is hidden, a full one skips mask_mod),
/// then mask_mod.
bool isKeyVisible(const AttentionProblem &problem, const AttentionShape &shape,
                  int64_t batch, int64_t head, int64_t query, int64_t key);

/// The definition: o_i = sum_j softmax_j(s_ij) v_j over visible keys, in
/// float64, rows without visible keys are zero. Throws ReferenceError on
/// malformed input.
AttentionResult referenceAttention(const AttentionProblem &problem,
                                   const Tensor<double> &q,
                                   const Tensor<double> &k,
                                   const Tensor<double> &v);

/// Common score modifiers, written here once so tests, examples and the
/// GPU checks agree on them.
/// Gemma-style soft capping: cap * tanh(score / cap).
ScoreMod softcapScoreMod(double cap);
/// ALiBi: score + slope(head) * (key - (query + M - N)), i.e. minus
/// slope times the distance to the aligned diagonal; slope(h) =
/// 2^(-8 (h+1) / Hq) as in Press et al. for Hq heads.
ScoreMod alibiScoreMod(int64_t queryHeads, int64_t queries, int64_t keys);
/// Slope of head `head` of `queryHeads` (see alibiScoreMod).
double alibiSlope(int64_t head, int64_t queryHeads);

} // namespace flashgen::reference

#endif // FLASHGEN_REFERENCE_ATTENTION_H
