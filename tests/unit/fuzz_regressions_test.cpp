// Inputs the fuzz targets (tests/fuzz/, scripts/fuzz.sh) found crashing or
// tripping a sanitizer, each kept as a test of the behaviour its fix gives.
// The inputs are also in the targets' seed corpora (tests/fuzz/corpus/).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/output.h"
#include "cli/queue_args.h"
#include "cli/servers.h"
#include "bench/thresholds.h"
#include "ops/runbook.h"

namespace {

using namespace resv::cli;

// tests/fuzz/corpus/cli_values/crash_duration_ms_nan: from_chars reads
// "nan" (and "inf") as a double, NaN passed the "more than a day" check,
// and converting it to an integer is undefined (UBSan: "nan is outside the
// range of representable values of type 'long'").
TEST(FuzzRegressions, DurationInMillisecondsRefusesNanAndInfinity) {
  for (const char* text : {"nanm", "nans", "nanms", "NANs", "infms", "infinitys", "nan(1)s"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parse_duration_ms(text), std::nullopt);
  }
  EXPECT_EQ(parse_duration_ms("1.5s"), 1500) << "a finite duration still reads";
}

// tests/fuzz/corpus/cli_values/crash_opens_at_not_utf8: --opens-at was put
// in the patch as typed, and bytes that are no UTF-8 made the patch's dump()
// throw (nlohmann type_error 316) when `resv queue enable`/`set` sent it: an
// "unexpected error ... defect in resv" instead of a usage error.
TEST(FuzzRegressions, OpensAtWithBytesThatAreNoTimeIsAUsageError) {
  QueueSettingsArgs args;
  args.opens_at = "2026-05-01T10:00:00\xc9\xc9";
  auto patch = queue_settings_patch(args);
  ASSERT_FALSE(patch.ok()) << patch.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  EXPECT_EQ(patch.outcome().exit(), Exit::Usage);
  EXPECT_NE(patch.outcome().what().find("--opens-at"), std::string::npos) << patch.outcome().what();

  args.opens_at = "2026-05-01T10:00:00+02:00";
  patch = queue_settings_patch(args);
  ASSERT_TRUE(patch.ok()) << patch.outcome().what();
  EXPECT_EQ(patch.value().dump(), R"({"opensAt":"2026-05-01T10:00:00+02:00"})");
}

// tests/fuzz/corpus/cli_values/wrong_port_overflow: the port of an admin
// URL was read with atoi, which stops at the first non-digit ("9090x" was
// port 9090) and overflows silently ("4294967297" was port 1): a URL that is
// not http://HOST:PORT named a server on another port instead of being
// refused.
TEST(FuzzRegressions, AdminUrlPortMustBeTheDigitsWritten) {
  for (const char* url : {"http://h:4294967297", "http://h:9090x", "http://h:9090 ", "http://h: 9090", "http://h:+9090",
                          "http://h:", "http://h:-1", "http://h:65536"}) {
    SCOPED_TRACE(url);
    EXPECT_EQ(parse_http_url(url), std::nullopt);
  }
  EXPECT_EQ(parse_http_url("http://127.0.0.1:9090/admin"), std::make_pair(std::string("127.0.0.1"), 9090));
  EXPECT_EQ(parse_http_url("http://[::1]:65535"), std::make_pair(std::string("[::1]"), 65535));
}

// tests/fuzz/corpus/cli_values/threshold_nan: strtod reads "nan" and
// "inf", so 'p95<nanms' was a threshold that never holds.
TEST(FuzzRegressions, AThresholdOfNanOrInfinityIsRefused) {
  for (const char* text : {"p95<nanms", "rps>inf", "p99<infs", "success_rate>=nan", "max<-infms"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(resv::parse_threshold(text).ok());
  }
  EXPECT_TRUE(resv::parse_threshold("p95<20ms").ok());
}

// tests/fuzz/corpus/runbook_file/crash_exit_code_float: an exit code in
// expect_exit was read with toml++'s value<int64_t>(), which casts a float
// (UBSan: "9e+78 is outside the range of representable values of type
// 'long'"), and took 3.0 as 3. Only a TOML integer is an exit code.
TEST(FuzzRegressions, AnExitCodeThatIsNoIntegerIsARunbookError) {
  for (const char* code : {"9e78", "3.0", "\"3\"", "256", "-1"}) {
    SCOPED_TRACE(code);
    auto rb = resv::parse_runbook(std::string("name = \"x\"\ntitle = \"t\"\n[[steps]]\nname = \"a\"\n"
                                              "kind = \"verify\"\nrun = [\"doctor\"]\nexpect_exit = [0, ") +
                                      code + "]\n",
                                  "x.toml");
    ASSERT_FALSE(rb.ok());
    EXPECT_EQ(rb.status().message(), "x.toml line 7: steps[0].expect_exit: an exit code is an integer from 0 to 255");
  }
}

}  // namespace
