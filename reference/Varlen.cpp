//===- Varlen.cpp - packed variable-length batches for the reference -----===//

#include "reference/Varlen.h"

#include "reference/Random.h"
#include "reference/ReferenceError.h"

#include <numeric>
#include <string>

namespace flashgen::reference {

std::vector<int64_t> drawSequenceLengths(int64_t batch, int64_t maxLength,
                                         uint64_t seed) {
  if (batch < 1 || maxLength < 0)
    throw ReferenceError("drawSequenceLengths: batch " + std::to_string(batch) +
                         ", longest " + std::to_string(maxLength));
  Rng rng(seed);
  std::vector<int64_t> lengths(batch);
  for (int64_t &length : lengths)
    length = rng.uniformInt(0, maxLength);
  lengths.back() = maxLength;
  if (batch >= 3) {
    lengths[0] = 0;
    lengths[1] = std::min<int64_t>(1, maxLength);
  }
  return lengths;
}

Tensor<double> sequenceOffsets(const std::vector<int64_t> &lengths) {
  Tensor<double> offsets({static_cast<int64_t>(lengths.size()) + 1});
  int64_t total = 0;
  for (size_t b = 0; b < lengths.size(); ++b) {
    offsets.data()[b] = static_cast<double>(total);
    total += lengths[b];
  }
  offsets.data()[lengths.size()] = static_cast<double>(total);
  return offsets;
}

static int64_t checkedTotal(const Tensor<double> &x, int64_t rowsDim,
                            const std::vector<int64_t> &lengths,
                            const char *what) {
  if (static_cast<int64_t>(lengths.size()) != x.dim(0))
    throw ReferenceError(std::string(what) + ": " +
                         std::to_string(lengths.size()) + " lengths for " +
                         std::to_string(x.dim(0)) + " sequences");
  for (int64_t length : lengths)
    if (length < 0 || length > x.dim(rowsDim))
      throw ReferenceError(std::string(what) + ": length " +
                           std::to_string(length) + " outside [0, " +
                           std::to_string(x.dim(rowsDim)) + "]");
  return std::accumulate(lengths.begin(), lengths.end(), int64_t(0));
}

Tensor<double> packRows(const Tensor<double> &x,
                        const std::vector<int64_t> &lengths) {
  if (x.rank() != 4 && x.rank() != 3)
    throw ReferenceError("packRows: expected [B, H, N, D] or [B, H, N], got rank " +
                         std::to_string(x.rank()));
  const int64_t heads = x.dim(1), n = x.dim(2), d = x.rank() == 4 ? x.dim(3) : 1;
  const int64_t total = checkedTotal(x, 2, lengths, "packRows");
  Tensor<double> out(x.rank() == 4 ? Shape{total, heads, d} : Shape{total, heads});
  int64_t row0 = 0;
  for (size_t b = 0; b < lengths.size(); ++b) {
    for (int64_t i = 0; i < lengths[b]; ++i)
      for (int64_t h = 0; h < heads; ++h) {
        const double *src = x.data() + ((int64_t(b) * heads + h) * n + i) * d;
        std::copy(src, src + d, out.data() + ((row0 + i) * heads + h) * d);
      }
    row0 += lengths[b];
  }
  return out;
}

Tensor<double> sequenceRows(const Tensor<double> &x, int64_t b, int64_t length) {
  if (x.rank() != 4 && x.rank() != 3)
    throw ReferenceError("sequenceRows: expected [B, H, N, D] or [B, H, N], got rank " +
                         std::to_string(x.rank()));
  if (b < 0 || b >= x.dim(0) || length < 0 || length > x.dim(2))
    throw ReferenceError("sequenceRows: sequence " + std::to_string(b) + " of length " +
                         std::to_string(length) + " outside " + shapeToString(x.shape()));
  const int64_t heads = x.dim(1), n = x.dim(2), d = x.rank() == 4 ? x.dim(3) : 1;
  Tensor<double> out(x.rank() == 4 ? Shape{1, heads, length, d} : Shape{1, heads, length});
  for (int64_t h = 0; h < heads; ++h) {
    const double *src = x.data() + ((b * heads + h) * n) * d;
    std::copy(src, src + length * d, out.data() + h * length * d);
  }
  return out;
}

Tensor<double> sequenceEntry(const Tensor<double> &x, int64_t b) {
  if (x.rank() < 1 || b < 0 || b >= x.dim(0))
    throw ReferenceError("sequenceEntry: sequence " + std::to_string(b) + " outside " +
                         shapeToString(x.shape()));
  Shape shape = x.shape();
  const int64_t each = x.size() / shape[0];
  shape[0] = 1;
  Tensor<double> out(shape);
  std::copy(x.data() + b * each, x.data() + (b + 1) * each, out.data());
  return out;
}

Tensor<double> packRowStatistics(const Tensor<double> &lse,
                                 const std::vector<int64_t> &lengths) {
  if (lse.rank() != 3)
    throw ReferenceError("packRowStatistics: expected [B, H, N], got rank " +
                         std::to_string(lse.rank()));
  const int64_t heads = lse.dim(1), n = lse.dim(2);
  const int64_t total = checkedTotal(lse, 2, lengths, "packRowStatistics");
  Tensor<double> out({heads, total});
  int64_t row0 = 0;
  for (size_t b = 0; b < lengths.size(); ++b) {
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < lengths[b]; ++i)
        out.data()[h * total + row0 + i] = lse.data()[(int64_t(b) * heads + h) * n + i];
    row0 += lengths[b];
  }
  return out;
}

} // namespace flashgen::reference
