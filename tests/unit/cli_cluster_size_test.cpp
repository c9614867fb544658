// The embedded cluster's size for a machine (cli/embedded_pg.h).
#include <gtest/gtest.h>

#include "cli/embedded_pg.h"

namespace {

using resv::cli::cluster_size;

constexpr long long kGiB = 1024LL * 1024 * 1024;

TEST(ClusterSize, AQuarterOfTheMemoryForSharedBuffersBetween128MbAnd2Gb) {
  EXPECT_EQ(cluster_size(4 * kGiB, 2).shared_buffers_mb, 1024);
  EXPECT_EQ(cluster_size(kGiB / 4, 2).shared_buffers_mb, 128) << "never below initdb's default";
  EXPECT_EQ(cluster_size(64 * kGiB, 16).shared_buffers_mb, 2048) << "a development cluster beside other programs";
  EXPECT_EQ(cluster_size(0, 1).shared_buffers_mb, 128) << "memory unknown";
}

TEST(ClusterSize, ConnectionsForTwentyFiveSessionsOfEveryInstanceAndTheTools) {
  // Five instances exhausted initdb's 100: at least eight fit now.
  EXPECT_EQ(cluster_size(4 * kGiB, 2).max_connections, 25 * 8 + 50);
  EXPECT_EQ(cluster_size(4 * kGiB, 16).max_connections, 25 * 32 + 50) << "two instances per processor";
  EXPECT_GE(cluster_size(4 * kGiB, 1).max_connections, 5 * 25 + 50);
}

}  // namespace
