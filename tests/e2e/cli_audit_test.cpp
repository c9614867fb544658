// `resv audit` through the real binary: a clean history exits 0; two
// CONFIRMED reservations of one seat, written by direct SQL, exit 4 with
// both reservation ids named (table, -v and --json); undone, exit 0 again;
// an unreachable database exits 3 and a bad option 2. It changes nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.h"
#include "test_db.h"
#include "test_seed.h"

namespace {

using namespace resv::e2e;
using resv::test::SeedSpec;
using resv::test::str;
using resv::test::TestDatabase;
using nlohmann::json;

class CliAudit : public ::testing::Test {
 protected:
  TestDatabase db;
  resv::test::Seeded s = resv::test::seed(db, SeedSpec{.seats = 4, .users = 4});
  int64_t paid = 0;

  void SetUp() override {
    paid = db.count("SELECT (resv_hold_seats_do(" + str(s.first_user_id) + ", " + str(s.schedule_id) + ", ARRAY[" +
                    str(s.seat_ids[0]) + "]::bigint[]) ->> 'reservationId')::bigint");
    ASSERT_EQ(db.scalar("SELECT resv_pay_do(" + str(paid) + ", " + str(s.first_user_id) + ") ->> 'status'"),
              "CONFIRMED");
  }
  CliRun audit(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"audit", "--db", db.url()});
    return run_resv(args);
  }
};

TEST_F(CliAudit, TwoConfirmedReservationsOfOneSeatExitFourNamingBothAndUndoneExitZero) {
  auto clean = audit();
  ASSERT_EQ(clean.code, 0) << clean.err;
  EXPECT_TRUE(contains(clean.out, "seat_sold_twice")) << clean.out;
  EXPECT_TRUE(contains(clean.err, "no violation of 11 invariant(s)")) << clean.err;

  const int64_t other = db.count("INSERT INTO reservations (user_id, schedule_id, quantity, amount, status, expires_at)"
                                 " VALUES (" + str(s.first_user_id + 1) + ", " + str(s.schedule_id) +
                                 ", 1, 1000, 'CONFIRMED', now()) RETURNING id");
  db.exec("UPDATE seats SET reservation_id = " + str(other) + " WHERE id = " + str(s.seat_ids[0]));
  const std::string before = db.scalar("SELECT string_agg(id || ':' || coalesce(reservation_id::text, '-'), ',' "
                                       "ORDER BY id) FROM seats");

  auto found = audit({"-v"});
  EXPECT_EQ(found.code, 4) << found.err;
  const std::string sentence = "reservation " + str(paid) + " (CONFIRMED) holds 0 of its 1 seat(s); its seat " +
                               str(s.seat_ids[0]) + " is now reservation " + str(other) + "'s";
  EXPECT_TRUE(contains(found.out, sentence)) << found.out;
  EXPECT_TRUE(contains(found.err, "seat_sold_twice (1)")) << found.err;
  EXPECT_TRUE(contains(found.err, "nothing was changed")) << found.err;
  EXPECT_TRUE(contains(found.err, "hint: stop sales of the concert")) << found.err;

  auto as_json = audit({"--json", "--check", "seat_sold_twice"});
  EXPECT_EQ(as_json.code, 4) << as_json.err;
  auto j = json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << "stdout holds only the JSON document: " << as_json.out;
  EXPECT_EQ(j["violations"], 1);
  ASSERT_EQ(j["invariants"].size(), 1u);
  const json& e = j["invariants"][0]["examples"][0];
  EXPECT_EQ(e["reservationId"], paid);
  EXPECT_EQ(e["seatsNowHeldBy"][0]["reservationId"], other);
  EXPECT_EQ(db.scalar("SELECT string_agg(id || ':' || coalesce(reservation_id::text, '-'), ',' ORDER BY id) FROM seats"),
            before)
      << "the audit changed nothing";

  db.exec("UPDATE seats SET reservation_id = " + str(paid) + " WHERE id = " + str(s.seat_ids[0]));
  db.exec("DELETE FROM reservations WHERE id = " + str(other));
  auto undone = audit();
  EXPECT_EQ(undone.code, 0) << undone.out << undone.err;
}

TEST_F(CliAudit, AnUnreachableDatabaseExitsThreeAndABadOptionTwo) {
  auto down = run_resv({"audit", "--db", unreachable_url()});
  EXPECT_EQ(down.code, 3) << down.err;
  EXPECT_TRUE(contains(down.err, "cannot connect")) << down.err;
  EXPECT_EQ(down.out, "");
  auto bad = audit({"--check", "sold_twice"});
  EXPECT_EQ(bad.code, 2) << bad.err;
  auto since = audit({"--since", "the day before"});
  EXPECT_EQ(since.code, 2) << since.err;
  EXPECT_TRUE(contains(since.err, "--since 'the day before'")) << since.err;
}

}  // namespace
