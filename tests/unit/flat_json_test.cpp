#include "base/flat_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using namespace resv;
using Kind = FlatMember::Kind;

TEST(FlatObject, ReadsAFlatObjectOfScalarsAndIntegerArrays) {
  FlatObject o;
  ASSERT_EQ(o.read(R"({"ok":true,"id":42,"neg":-7,"s":"HELD","n":null,"f":false,"a":[1,2,3],"e":[]})"),
            FlatObject::Read::Object);
  EXPECT_EQ(o.boolean("ok"), true);
  EXPECT_EQ(o.integer("id"), 42);
  EXPECT_EQ(o.integer("neg"), -7);
  ASSERT_NE(o.string("s"), nullptr);
  EXPECT_EQ(*o.string("s"), "HELD");
  EXPECT_EQ(o.find("n")->kind, Kind::Null);
  EXPECT_EQ(o.boolean("f"), false);
  EXPECT_EQ(o.find("a")->elements, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(o.find("e")->kind, Kind::IntArray);
  EXPECT_TRUE(o.find("e")->elements.empty());
  EXPECT_EQ(o.find("missing"), nullptr);
  EXPECT_EQ(o.integer("s"), std::nullopt) << "a string is not an integer";
}

TEST(FlatObject, ReadsEscapesUnicodeFractionsAndNestingAsAJsonTreeWould) {
  FlatObject o;
  ASSERT_EQ(o.read(R"({"k\u00e9y":"a\"b\\n","f":1.5,"o":{"x":[1]},"big":18446744073709551615,
                       "mixed":[1,"x",2],"deep":[[1]]})"),
            FlatObject::Read::Object);
  ASSERT_NE(o.string("k\xc3\xa9y"), nullptr);
  EXPECT_EQ(*o.string("k\xc3\xa9y"), "a\"b\\n");
  EXPECT_EQ(o.find("f")->kind, Kind::Float);
  EXPECT_EQ(o.find("o")->kind, Kind::Other);
  EXPECT_EQ(o.find("big")->kind, Kind::TooLarge);
  EXPECT_TRUE(o.find("mixed")->bad_element);
  EXPECT_EQ(o.find("mixed")->elements, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(o.find("deep")->bad_element);
  EXPECT_EQ(o.members().size(), 6u) << "nested members are not members";
}

TEST(FlatObject, KeepsTheLastOfADuplicateKey) {
  FlatObject o;
  ASSERT_EQ(o.read(R"({"id":1,"id":2})"), FlatObject::Read::Object);
  EXPECT_EQ(o.integer("id"), 2);
}

TEST(FlatObject, TellsMalformedTextFromAnotherValue) {
  FlatObject o;
  for (const char* other : {"null", "[1,2]", "5", R"("x")", " true "})
    EXPECT_EQ(o.read(other), FlatObject::Read::OtherValue) << other;
  for (const char* bad : {"", "{", R"({"a":})", R"({"a":1,})", R"({"a":01})", "{} x", R"({"a":tru})", R"({'a':1})"})
    EXPECT_EQ(o.read(bad), FlatObject::Read::Malformed) << bad;
}

TEST(FlatObject, ReadingAgainForgetsTheLastText) {
  FlatObject o;
  ASSERT_EQ(o.read(R"({"a":1})"), FlatObject::Read::Object);
  ASSERT_EQ(o.read(R"({"b":2})"), FlatObject::Read::Object);
  EXPECT_EQ(o.find("a"), nullptr);
  EXPECT_EQ(o.integer("b"), 2);
}

TEST(JsonArrayElements, SplitsAnArrayIntoTheTextOfEachElement) {
  auto e = json_array_elements(R"( [ {"ok":true,"s":"a,]}"} , [1,[2]] ,3,"x\"]" ] )");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(*e, (std::vector<std::string_view>{R"({"ok":true,"s":"a,]}"})", "[1,[2]]", "3", R"("x\"]")"}));
  auto empty = json_array_elements("[]");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(JsonArrayElements, RefusesWhatIsNotOneArray) {
  for (const char* bad : {"", "{}", "[1,2", "[1,]", "[,1]", "[1}", "[1] 2", R"(["unterminated])", "[[1]"})
    EXPECT_FALSE(json_array_elements(bad).has_value()) << bad;
}

TEST(JsonArrayElements, EveryElementParsesBackToTheElementOfTheTree) {
  const std::string text =
      R"([{"ok":false,"code":"SOLD_OUT","remaining":0},{"ok":true,"reservationId":7,"status":"HELD"},{"yield":true}])";
  auto e = json_array_elements(text);
  ASSERT_TRUE(e.has_value());
  auto tree = nlohmann::json::parse(text);
  ASSERT_EQ(e->size(), tree.size());
  for (size_t i = 0; i < e->size(); ++i) EXPECT_EQ(nlohmann::json::parse((*e)[i]), tree[i]);
}

}  // namespace
