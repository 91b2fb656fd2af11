//===- Sha256.h - SHA-256 digest --------------------------------*- C++ -*-===//
//
// FIPS 180-4 SHA-256, used for cache keys and cubin checksums. Written here so
// the runtime has no crypto dependency.
//
//===----------------------------------------------------------------------===//

#ifndef FLASHGEN_RUNTIME_SHA256_H
#define FLASHGEN_RUNTIME_SHA256_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace flashgen {

class Sha256 {
public:
  Sha256();
  void update(const void *data, size_t size);
  void update(const std::string &s) { update(s.data(), s.size()); }
  /// Hashes the length first, then the bytes, so that consecutive fields
  /// cannot run into each other ("ab"+"c" differs from "a"+"bc").
  void updateField(const std::string &s);
  std::array<uint8_t, 32> finish();
  /// Lower-case hex of finish().
  std::string finishHex();

  static std::string hex(const std::string &data);

private:
  void compress(const uint8_t *block);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t bufLen_ = 0;
  uint64_t totalBytes_ = 0;
};

} // namespace flashgen

#endif // FLASHGEN_RUNTIME_SHA256_H
