#include "base/logfmt.h"

#include <gtest/gtest.h>

namespace {

using resv::logfmt;

TEST(Logfmt, APlainValueIsQuoted) { EXPECT_EQ(logfmt("connection refused"), "\"connection refused\""); }

TEST(Logfmt, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(logfmt(R"(connection to server at "127.0.0.1" failed)"),
            R"("connection to server at \"127.0.0.1\" failed")");
  EXPECT_EQ(logfmt(R"(C:\path)"), R"("C:\\path")");
}

TEST(Logfmt, AMultiLineMessageStaysOnOneLine) {
  const std::string v = logfmt("ERROR:  outbox unavailable\nCONTEXT:  PL/pgSQL function\r\n\tline 1");
  EXPECT_EQ(v, R"("ERROR:  outbox unavailable\nCONTEXT:  PL/pgSQL function\r\n\tline 1")");
  EXPECT_EQ(v.find('\n'), std::string::npos);
}

TEST(Logfmt, OtherControlCharactersAreWrittenInHex) {
  EXPECT_EQ(logfmt(std::string("a\x01z\x7f", 4)), R"("a\x01z\x7f")");
  EXPECT_EQ(logfmt(""), "\"\"");
}

TEST(Logfmt, Utf8IsKeptAsItIs) { EXPECT_EQ(logfmt("Zürich"), "\"Zürich\""); }

}  // namespace
