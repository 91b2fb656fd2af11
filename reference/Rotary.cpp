//===- Rotary.cpp - float64 rotary position embedding -------------------===//

#include "reference/Rotary.h"

#include "reference/ReferenceError.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace flashgen::reference {

Tensor<double> applyRotary(const RotaryEmbedding &rotary,
                           const Tensor<double> &x,
                           const std::vector<int64_t> &offsets) {
  if (x.rank() != 4)
    throw ReferenceError("applyRotary: x must be [B, H, L, D], got " +
                         shapeToString(x.shape()));
  const Tensor<double> &cos = rotary.cos, &sin = rotary.sin;
  if (cos.shape() != sin.shape() || (cos.rank() != 2 && cos.rank() != 3))
    throw ReferenceError("applyRotary: cos and sin must be one shape, [P, R/2] "
                         "or [B, P, R/2]; got " + shapeToString(cos.shape()) +
                         " and " + shapeToString(sin.shape()));
  const int64_t B = x.dim(0), H = x.dim(1), L = x.dim(2), D = x.dim(3);
  const bool perSequence = cos.rank() == 3;
  const int64_t P = cos.dim(perSequence ? 1 : 0), half = cos.dim(cos.rank() - 1);
  if (2 * half > D || P < 1 || (perSequence && cos.dim(0) < 1))
    throw ReferenceError("applyRotary: tables " + shapeToString(cos.shape()) +
                         " do not fit x " + shapeToString(x.shape()));
  if (int64_t(offsets.size()) != B)
    throw ReferenceError("applyRotary: " + std::to_string(offsets.size()) +
                         " offsets for a batch of " + std::to_string(B));
  Tensor<double> out = x;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t s = perSequence ? std::clamp<int64_t>(b, 0, cos.dim(0) - 1) : 0;
    for (int64_t l = 0; l < L; ++l) {
      const int64_t p = std::clamp<int64_t>(offsets[b] + l, 0, P - 1);
      for (int64_t h = 0; h < H; ++h)
        for (int64_t f = 0; f < half; ++f) {
          const double c = perSequence ? cos.at({s, p, f}) : cos.at({p, f});
          const double n = perSequence ? sin.at({s, p, f}) : sin.at({p, f});
          const int64_t i = rotary.style == RotaryStyle::Half ? f : 2 * f;
          const int64_t j = rotary.style == RotaryStyle::Half ? f + half : 2 * f + 1;
          const double a = x.at({b, h, l, i}), e = x.at({b, h, l, j});
          out.at({b, h, l, i}) = a * c - e * n;
          out.at({b, h, l, j}) = e * c + a * n;
        }
    }
  }
  return out;
}

RotaryEmbedding rotaryTables(RotaryStyle style, int64_t positions,
                             int64_t dims, double base,
                             const std::vector<double> &scale,
                             int64_t sequences,
                             const std::vector<int64_t> &shift) {
  if (positions < 1 || dims < 2 || dims % 2 != 0)
    throw ReferenceError("rotaryTables: need positions >= 1 and an even dims >= 2");
  const int64_t half = dims / 2;
  if (!scale.empty() && int64_t(scale.size()) != half)
    throw ReferenceError("rotaryTables: scale needs R/2 = " + std::to_string(half) +
                         " entries, got " + std::to_string(scale.size()));
  const int64_t S = std::max<int64_t>(sequences, 1);
  Shape shape = sequences > 0 ? Shape{S, positions, half} : Shape{positions, half};
  RotaryEmbedding r{style, Tensor<double>(shape), Tensor<double>(shape)};
  for (int64_t s = 0; s < S; ++s)
    for (int64_t p = 0; p < positions; ++p)
      for (int64_t f = 0; f < half; ++f) {
        const double at = double(p + (s < int64_t(shift.size()) ? shift[s] : 0));
        const double angle = at * std::pow(base, -2.0 * double(f) / double(dims)) *
                             (scale.empty() ? 1.0 : scale[f]);
        const int64_t flat = (s * positions + p) * half + f;
        r.cos.data()[flat] = std::cos(angle);
        r.sin.data()[flat] = std::sin(angle);
      }
  return r;
}

} // namespace flashgen::reference
