// The database side of resv warmup against a real PostgreSQL 15: the hot
// relations loaded into shared buffers and their residency measured.
#include <gtest/gtest.h>

#include <algorithm>

#include "ops/prewarm.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

using namespace resv;
using namespace resv::test;

const RelationResidency* find(const PrewarmReport& r, const std::string& name) {
  auto it = std::find_if(r.relations.begin(), r.relations.end(), [&](const auto& rel) { return rel.name == name; });
  return it == r.relations.end() ? nullptr : &*it;
}

TEST(Prewarm, LoadsEveryHotTableAndItsIndexesIntoSharedBuffers) {
  TestDatabase db;
  seed(db, {.seats = 2000, .users = 500});
  auto r = prewarm_database(db.url(), true);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->loaded) << r->not_loaded_why;
  EXPECT_TRUE(r->measured);
  ASSERT_NE(find(r.value(), "seats"), nullptr);
  ASSERT_NE(find(r.value(), "seats_pkey"), nullptr) << "indexes too";
  EXPECT_EQ(find(r.value(), "seats_pkey")->table, "seats");
  ASSERT_NE(find(r.value(), "queue_tokens"), nullptr);
  EXPECT_GT(find(r.value(), "seats")->blocks, 1) << "2,000 seats take several blocks";
  for (const auto& rel : r->relations)
    EXPECT_EQ(rel.cached_after, rel.blocks) << rel.name << ": every block resident after the load";
  EXPECT_GT(r->shared_buffers_blocks, 0);
  EXPECT_EQ(residency_warning(r.value()), std::nullopt) << "a test database fits";
}

TEST(Prewarm, AResidencyCheckLoadsNothing) {
  TestDatabase db;
  seed(db);
  auto r = prewarm_database(db.url(), false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->loaded);
  for (const auto& rel : r->relations) EXPECT_EQ(rel.cached_after, rel.cached_before) << rel.name;
}

TEST(Prewarm, AnUnreachableDatabaseIsDbUnavailable) {
  auto r = prewarm_database("postgresql://127.0.0.1:1/none?connect_timeout=2", true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::DbUnavailable);
}

TEST(ResidencyWarning, NamesTheSizesWhenTheHotSetDoesNotFit) {
  PrewarmReport r;
  r.shared_buffers_blocks = 16384;  // 128 MB
  r.relations = {{"seats", "seats", 20000, 0, 16000}};
  auto w = residency_warning(r);
  ASSERT_TRUE(w.has_value());
  EXPECT_NE(w->find("156 MB"), std::string::npos) << *w;
  EXPECT_NE(w->find("128 MB"), std::string::npos) << *w;
  EXPECT_NE(w->find("shared_buffers"), std::string::npos) << *w;
  r.relations[0].blocks = 1000;
  EXPECT_EQ(residency_warning(r), std::nullopt);
}

}  // namespace
