// Seed specs and generated rows, without a database.
#include <gtest/gtest.h>

#include "ops/seed.h"

namespace {

using namespace resv;

int64_t rows_of(const std::vector<SeedTable>& plan, const std::string& table) {
  for (const auto& t : plan)
    if (t.name == table) return t.rows;
  return -1;
}

TEST(SeedProfiles, MatchTheFieldReports) {
  auto concert = seed_profile("concert").value();
  auto plan = seed_plan(concert);
  EXPECT_EQ(rows_of(plan, "concerts"), 1);
  EXPECT_EQ(rows_of(plan, "schedules"), 1);
  EXPECT_EQ(rows_of(plan, "seats"), 1000);
  EXPECT_EQ(rows_of(plan, "users"), 10000);

  auto festival = seed_plan(seed_profile("festival").value());
  EXPECT_EQ(rows_of(festival, "concerts"), 10);
  EXPECT_EQ(rows_of(festival, "schedules"), 30);
  EXPECT_EQ(rows_of(festival, "seats"), 150000) << "5,000 seats per schedule";

  auto restaurant = seed_profile("restaurant").value();
  EXPECT_EQ(restaurant.pool_capacity, 40);
  EXPECT_EQ(restaurant.pool_max_party, 4);
  EXPECT_EQ(rows_of(seed_plan(restaurant), "pool_units"), 40);
  EXPECT_EQ(rows_of(seed_plan(restaurant), "users"), 2000);

  auto coupon = seed_profile("coupon").value();
  EXPECT_EQ(coupon.pool_max_per_user, 1);
  EXPECT_EQ(rows_of(seed_plan(coupon), "pool_units"), 100000);
  EXPECT_EQ(rows_of(seed_plan(coupon), "users"), 150000);
}

TEST(SeedProfiles, UnknownNameIsNotFound) {
  auto r = seed_profile("opera");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::NotFound);
  EXPECT_NE(r.status().message().find("concert, festival, restaurant, coupon"), std::string::npos);
}

TEST(SeedSpecs, ScaleMultipliesEventsSeatsAndUsers) {
  auto plan = seed_plan(scale_spec(seed_profile("festival").value(), 3).value());
  EXPECT_EQ(rows_of(plan, "concerts"), 30);
  EXPECT_EQ(rows_of(plan, "schedules"), 90);
  EXPECT_EQ(rows_of(plan, "seats"), 450000);
  EXPECT_EQ(rows_of(plan, "users"), 150000);
}

TEST(SeedSpecs, OutOfRangeSizesAreRefused) {
  SeedSpec s;
  s.seats = -1;
  EXPECT_EQ(validate_spec(s).code(), ErrorCode::InvalidRequest);
  s = SeedSpec{};
  s.schedules_per_concert = 0;
  EXPECT_EQ(validate_spec(s).code(), ErrorCode::InvalidRequest);
  s = SeedSpec{};
  s.pools_per_schedule = 1;
  s.pool_capacity = 0;
  EXPECT_EQ(validate_spec(s).code(), ErrorCode::InvalidRequest) << "a pool needs a capacity";
  s.pool_capacity = 10;
  s.pool_kind = "OPERA";
  EXPECT_EQ(validate_spec(s).code(), ErrorCode::InvalidRequest);
  EXPECT_TRUE(validate_spec(seed_profile("coupon").value()).ok());
}

TEST(SeedSpecs, AScaledSizeBeyondABillionIsRefusedNotWrappedAround) {
  SeedSpec s;
  s.seats = 4611686018427388154;  // x 4 wraps around to 1,000 in 64 bits
  auto scaled = scale_spec(s, 4);
  ASSERT_FALSE(scaled.ok());
  EXPECT_EQ(scaled.status().code(), ErrorCode::InvalidRequest);
  EXPECT_NE(scaled.status().message().find("seats x scale 4"), std::string::npos) << scaled.status().message();
  for (int64_t SeedSpec::*field : {&SeedSpec::users, &SeedSpec::concerts}) {
    SeedSpec t;
    t.*field = 4611686018427388154;
    EXPECT_FALSE(scale_spec(t, 4).ok());
  }
  s.seats = 250'000'000;
  EXPECT_TRUE(scale_spec(s, 4).ok()) << "a billion itself";
  EXPECT_FALSE(scale_spec(s, 5).ok());
  EXPECT_FALSE(scale_spec(SeedSpec{}, 0).ok());
}

TEST(SeedSpecs, ProductsOfSizesBeyondABillionAreRefusedWithoutOverflow) {
  SeedSpec s;
  s.concerts = 1'000'000'000;
  s.schedules_per_concert = 1'000'000'000;
  s.pools_per_schedule = 1'000'000'000;
  s.pool_capacity = 10'000'000;
  EXPECT_EQ(validate_spec(s).code(), ErrorCode::InvalidRequest);
  s.schedules_per_concert = 1;
  EXPECT_EQ(validate_spec(s).code(), ErrorCode::InvalidRequest) << "a billion schedules x a billion pools";
}

TEST(SeedRows, SeatsAreSpreadOverSchedulesWithUniqueLabels) {
  SeedSpec s;
  s.concerts = 2;
  s.schedules_per_concert = 2;
  s.seats = 10;  // 3, 3, 2, 2
  std::vector<std::string> schedule_of;
  for (int i = 0; i < 10; ++i) {
    std::string row = seed_row(s, "seats", i);
    auto tab = row.find('\t'), tab2 = row.find('\t', tab + 1);
    EXPECT_EQ(row.substr(0, tab), std::to_string(i + 1)) << "ids start at 1";
    schedule_of.push_back(row.substr(tab + 1, tab2 - tab - 1));
  }
  EXPECT_EQ(schedule_of, (std::vector<std::string>{"1", "1", "1", "2", "2", "2", "3", "3", "4", "4"}));
  EXPECT_EQ(seed_row(s, "seats", 0).substr(0, 7), "1\t1\tA1\t");
  EXPECT_EQ(seed_row(s, "seats", 3).substr(0, 7), "4\t2\tA1\t") << "each schedule's labels start again";
}

TEST(SeedRows, TheSameSeedGivesTheSameRowsAndAnotherSeedOthers) {
  SeedSpec a = seed_profile("concert").value(), b = a, c = a;
  c.seed = a.seed + 1;
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(seed_row(a, "users", i), seed_row(b, "users", i));
    differ += seed_row(a, "users", i) != seed_row(c, "users", i);
  }
  EXPECT_GT(differ, 150) << "balances depend on the seed";
}

TEST(SeedRows, BalancesStayWithinHalfAndOneAndAHalfTheMean) {
  SeedSpec s = seed_profile("concert").value();
  for (int i = 0; i < 1000; ++i) {
    std::string row = seed_row(s, "users", i);
    int64_t balance = std::stoll(row.substr(row.rfind('\t') + 1));
    EXPECT_GE(balance, s.balance / 2);
    EXPECT_LE(balance, s.balance * 3 / 2);
  }
}

TEST(SeedRows, FrontSeatsAreVipAndDearest) {
  SeedSpec s = seed_profile("concert").value();
  auto field = [](const std::string& row, int n) {
    size_t start = 0;
    for (int i = 0; i < n; ++i) start = row.find('\t', start) + 1;
    return row.substr(start, row.find('\t', start) - start);
  };
  EXPECT_EQ(field(seed_row(s, "seats", 0), 3), "VIP");
  EXPECT_EQ(field(seed_row(s, "seats", 200), 3), "R");
  EXPECT_EQ(field(seed_row(s, "seats", 999), 3), "S");
  EXPECT_GT(std::stoll(field(seed_row(s, "seats", 0), 4)), std::stoll(field(seed_row(s, "seats", 999), 4)));
}

}  // namespace
