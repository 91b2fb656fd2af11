//===- Sha256Test.cpp - SHA-256 against FIPS 180-4 vectors ----------------===//

#include "runtime/Sha256.h"

#include <gtest/gtest.h>

#include <string>

using namespace flashgen;

namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256::hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      Sha256::hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256::hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                        "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, MillionAsInOneAndManyUpdates) {
  const std::string expected =
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  EXPECT_EQ(Sha256::hex(std::string(1000000, 'a')), expected);
  // Odd chunk sizes cross the 64-byte block boundary at every offset.
  Sha256 h;
  std::string chunk(997, 'a');
  size_t done = 0;
  while (done + chunk.size() <= 1000000) {
    h.update(chunk);
    done += chunk.size();
  }
  h.update(std::string(1000000 - done, 'a'));
  EXPECT_EQ(h.finishHex(), expected);
}

TEST(Sha256, FieldsCannotRunTogether) {
  Sha256 a, b;
  a.updateField("ab");
  a.updateField("c");
  b.updateField("a");
  b.updateField("bc");
  EXPECT_NE(a.finishHex(), b.finishHex());
}

} // namespace
