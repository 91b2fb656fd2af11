//===- JsonTest.cpp - JSON reader and writer ------------------------------===//

#include "runtime/Json.h"

#include <gtest/gtest.h>

#include <string>

using namespace flashgen;

namespace {

json::Value parseOk(const std::string &text) {
  json::Value v;
  std::string err;
  EXPECT_TRUE(json::parse(text, v, err)) << text << ": " << err;
  return v;
}

std::string parseError(const std::string &text) {
  json::Value v;
  std::string err;
  EXPECT_FALSE(json::parse(text, v, err)) << "accepted: " << text;
  return err;
}

TEST(Json, ParsesScalarsAndContainers) {
  json::Value v = parseOk(R"( {"a": [1, -2, 3.5, true, false, null, "s"],
                               "b": {"c": {}}, "d": []} )");
  ASSERT_TRUE(v.isObject());
  const json::Value *a = v.find("a");
  ASSERT_TRUE(a && a->isArray());
  ASSERT_EQ(a->items().size(), 7u);
  EXPECT_TRUE(a->items()[0].isInteger());
  EXPECT_EQ(a->items()[1].asInt(), -2);
  EXPECT_FALSE(a->items()[2].isInteger());
  EXPECT_DOUBLE_EQ(a->items()[2].asDouble(), 3.5);
  EXPECT_TRUE(a->items()[3].asBool());
  EXPECT_FALSE(a->items()[4].asBool());
  EXPECT_TRUE(a->items()[5].isNull());
  EXPECT_EQ(a->items()[6].asString(), "s");
  EXPECT_TRUE(v.find("b")->find("c")->isObject());
  EXPECT_EQ(v.find("missing"), nullptr);
  // Member order is kept.
  EXPECT_EQ(v.members()[0].first, "a");
  EXPECT_EQ(v.members()[2].first, "d");
}

TEST(Json, IntegersAreExact) {
  // 2^53 + 1 is not representable as a double; byte counts must not round.
  json::Value v = parseOk("9007199254740993");
  ASSERT_TRUE(v.isInteger());
  EXPECT_EQ(v.asInt(), 9007199254740993LL);
  EXPECT_EQ(parseOk("-9223372036854775808").asInt(), INT64_MIN);
  // Beyond int64: kept as a double rather than rejected.
  json::Value big = parseOk("92233720368547758070");
  EXPECT_FALSE(big.isInteger());
  EXPECT_GT(big.asDouble(), 9e19);
  EXPECT_FALSE(parseOk("1e3").isInteger());
  EXPECT_DOUBLE_EQ(parseOk("1e3").asDouble(), 1000.0);
  EXPECT_DOUBLE_EQ(parseOk("-0.25E-2").asDouble(), -0.0025);
}

TEST(Json, StringEscapes) {
  json::Value v = parseOk(R"("a\"b\\c\/d\n\t\u0041\u00e9\ud83d\ude00")");
  EXPECT_EQ(v.asString(), "a\"b\\c/d\n\tA\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(Json, RejectsMalformedInputWithPosition) {
  EXPECT_NE(parseError("{\"a\": 1,}").find("line 1, column 9"), std::string::npos);
  EXPECT_NE(parseError("[1, 2").find("end of input"), std::string::npos);
  EXPECT_NE(parseError("\"abc").find("unterminated string"), std::string::npos);
  EXPECT_NE(parseError("{\"a\":1,\n \"a\":2}").find("line 2"), std::string::npos);
  EXPECT_NE(parseError("{\"a\":1, \"a\":2}").find("duplicate key \"a\""),
            std::string::npos);
  EXPECT_NE(parseError("01").find("trailing"), std::string::npos);
  EXPECT_NE(parseError("1.").find("digit expected"), std::string::npos);
  EXPECT_NE(parseError("tru").find("invalid literal"), std::string::npos);
  EXPECT_NE(parseError("\"\\x\"").find("invalid escape"), std::string::npos);
  EXPECT_NE(parseError("\"\\ud800\"").find("surrogate"), std::string::npos);
  EXPECT_NE(parseError("\"a\nb\"").find("control character"), std::string::npos);
  EXPECT_NE(parseError("1e99999").find("out of range"), std::string::npos);
  EXPECT_NE(parseError("").find("end of input"), std::string::npos);
  EXPECT_NE(parseError("{} {}").find("trailing"), std::string::npos);
  EXPECT_NE(parseError("{1: 2}").find("string key"), std::string::npos);
}

TEST(Json, DeepNestingIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  EXPECT_NE(parseError(deep).find("nesting deeper"), std::string::npos);
}

TEST(Json, DumpRoundTrips) {
  const std::string text =
      R"({"k":[1,-2,0.5,true,null,"q\"\\\n\u0001"],"o":{"x":{}},"e":[]})";
  json::Value v = parseOk(text);
  std::string dumped = v.dump();
  json::Value again = parseOk(dumped);
  EXPECT_EQ(again.dump(), dumped);
  EXPECT_EQ(again.find("k")->items()[5].asString(), "q\"\\\n\x01");
  EXPECT_EQ(json::Value::integer(1234567890123LL).dump(), "1234567890123");
}

} // namespace
