// The pure helpers of `resv queue`: option values, and the text forms of its
// figures (rates, audit changes, times). The rules it reads a status with
// (stuck, ETA) are core's: tests/unit/queue_admin_rules_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "cli/queue_args.h"

namespace {

using namespace resv::cli;
using nlohmann::json;

TEST(DurationMs, MillisecondsSecondsWithFractionsOrMinutes) {
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("1.5s"), 1500);
  EXPECT_EQ(parse_duration_ms("0.5s"), 500);
  EXPECT_EQ(parse_duration_ms("2s"), 2000);
  EXPECT_EQ(parse_duration_ms("1m"), 60000);
  EXPECT_EQ(parse_duration_ms("0s"), 0);
  for (const char* bad : {"", "5", "s", "-1s", "1.5", "1 s", "2h", "1e9s", "abc", "1.5xs"})
    EXPECT_EQ(parse_duration_ms(bad), std::nullopt) << bad;
}

TEST(QueueArgs, DurationsAreSecondsOrANumberWithSMOrH) {
  EXPECT_EQ(parse_duration_seconds("90"), 90);
  EXPECT_EQ(parse_duration_seconds("90s"), 90);
  EXPECT_EQ(parse_duration_seconds("10m"), 600);
  EXPECT_EQ(parse_duration_seconds("1h"), 3600);
  EXPECT_EQ(parse_duration_seconds("2147483647"), 2147483647);
  EXPECT_EQ(parse_duration_seconds("596523h"), int64_t{596523} * 3600);
}

TEST(QueueArgs, DurationsRefuseZeroSignsFractionsOtherUnitsAndOverflow) {
  for (const char* bad : {"", "s", "m", "0", "0s", "-5", "+5", "1.5m", "5 m", " 5", "5d", "1h30m", "abc", "10M",
                          "2147483648", "596524h", "35791395m", "99999999999999999999"})
    EXPECT_EQ(parse_duration_seconds(bad), std::nullopt) << "'" << bad << "'";
}

TEST(QueueArgs, MaxActiveIsAPositiveIntOrNone) {
  EXPECT_EQ(parse_max_active("500"), json(500));
  EXPECT_EQ(parse_max_active("2147483647"), json(2147483647));
  EXPECT_EQ(parse_max_active("none"), json(nullptr));
  for (const char* bad : {"", "0", "-1", "1.5", "2147483648", "None", "10k"})
    EXPECT_EQ(parse_max_active(bad), std::nullopt) << "'" << bad << "'";
}

TEST(QueueArgs, RateIsANumberFromAThousandthToAHundredThousandOrNone) {
  EXPECT_EQ(parse_rate("50"), json(50.0));
  EXPECT_EQ(parse_rate("0.5"), json(0.5));
  EXPECT_EQ(parse_rate(".25"), json(0.25));
  EXPECT_EQ(parse_rate("none"), json(nullptr));
  EXPECT_EQ(parse_rate("0.001"), json(0.001));
  EXPECT_EQ(parse_rate("100000"), json(100000.0));
  for (const char* bad : {"", "0", "0.0", "-1", "nan", "inf", "1e400", "5/s", " 5", "5 ", "+5", "1e308", "100001",
                          "0.0009", "1e-300"})
    EXPECT_EQ(parse_rate(bad), std::nullopt) << "'" << bad << "'";
}

TEST(QueueArgs, SettingsPatchUsesTheConfigureKeys) {
  QueueSettingsArgs a;
  a.max_active = "none";
  a.rate = "7.5";
  a.token_ttl = "15m";
  a.abandon_after = "90s";
  a.opens_at = "2026-05-01T10:00:00+02:00";
  auto patch = queue_settings_patch(a);
  ASSERT_TRUE(patch.ok()) << patch.outcome().message();
  EXPECT_EQ(patch.value(), json({{"maxActive", nullptr},
                                 {"ratePerSecond", 7.5},
                                 {"tokenTtlSeconds", 900},
                                 {"abandonAfterSeconds", 90},
                                 {"opensAt", "2026-05-01T10:00:00+02:00"}}));

  QueueSettingsArgs only_opening;
  only_opening.opens_at = "none";
  EXPECT_EQ(queue_settings_patch(only_opening).value(), json({{"opensAt", nullptr}}));
  EXPECT_TRUE(QueueSettingsArgs{}.empty());
  EXPECT_EQ(queue_settings_patch(QueueSettingsArgs{}).value(), json::object());
}

TEST(QueueArgs, ABadSettingIsAUsageErrorNamingTheOption) {
  std::vector<std::pair<std::string, QueueSettingsArgs>> cases(5);
  cases[0].first = "--max-active";
  cases[0].second.max_active = "0";
  cases[1].first = "--rate";
  cases[1].second.rate = "fast";
  cases[2].first = "--token-ttl";
  cases[2].second.token_ttl = "10d";
  cases[3].first = "--abandon-after";
  cases[3].second.abandon_after = "-1";
  cases[4].first = "--opens-at";
  cases[4].second.opens_at = "";
  for (const auto& [option, args] : cases) {
    auto patch = queue_settings_patch(args);
    ASSERT_FALSE(patch.ok()) << option;
    EXPECT_EQ(patch.outcome().exit(), Exit::Usage) << option;
    EXPECT_NE(patch.outcome().what().find(option), std::string::npos) << patch.outcome().what();
  }
}

TEST(QueueArgs, PerMinuteCountsShowAsPerSecondRates) {
  EXPECT_EQ(per_second(90), "1.50");
  EXPECT_EQ(per_second(0), "0.00");
  EXPECT_EQ(per_second(1), "0.02");
}

TEST(QueueArgs, AuditChangesReadAsKeyValuesBeforeAndAfter) {
  EXPECT_EQ(describe_change({{"paused", false}}, {{"paused", true}}), "paused=false -> paused=true");
  EXPECT_EQ(describe_change({{"admittedTotal", 0}}, {{"admittedTotal", 2}, {"requested", 2}}),
            "admittedTotal=0 -> admittedTotal=2 requested=2");
  EXPECT_EQ(describe_change({{"opensAt", nullptr}}, {{"opensAt", "2030-01-01T10:00:00.000Z"}}),
            "opensAt=null -> opensAt=\"2030-01-01T10:00:00.000Z\"");
  EXPECT_EQ(describe_change(json::object(), {{"enabled", true}}), "(none) -> enabled=true");
  EXPECT_EQ(describe_change(json::object(), json::object()), "no change");
}

TEST(QueueArgs, ShortTimesDropTheFraction) {
  EXPECT_EQ(short_time("2026-05-01T12:00:00.123Z"), "2026-05-01T12:00:00Z");
  EXPECT_EQ(short_time(nullptr), "-");
}

}  // namespace
