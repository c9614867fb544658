#include "test_seed.h"

#include <algorithm>
#include <pqxx/pqxx>

namespace resv::test {

Seeded seed(const TestDatabase& db, const SeedSpec& spec) {
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  Seeded s;
  s.concert_id = tx.exec1("INSERT INTO concerts (name, venue) VALUES ('Test Concert', 'Test Hall') RETURNING id")[0]
                     .as<int64_t>();
  s.schedule_id = tx.exec_params1(
                        "INSERT INTO schedules (concert_id, starts_at, max_seats_per_user, hold_seconds)"
                        " VALUES ($1, now() + interval '7 days', $2, $3) RETURNING id",
                        s.concert_id, spec.max_seats_per_user, spec.hold_seconds)[0]
                      .as<int64_t>();
  for (const auto& row :
       tx.exec_params("INSERT INTO seats (schedule_id, label, grade, price)"
                      " SELECT $1, 'S' || g, CASE WHEN g % 10 = 0 THEN 'VIP' ELSE 'R' END, $2"
                      " FROM generate_series(1, $3) g RETURNING id",
                      s.schedule_id, spec.seat_price, spec.seats))
    s.seat_ids.push_back(row[0].as<int64_t>());
  std::sort(s.seat_ids.begin(), s.seat_ids.end());
  auto first = tx.exec_params("INSERT INTO users (name, balance) SELECT 'user' || g, $1"
                              " FROM generate_series(1, $2) g RETURNING id",
                              spec.balance, spec.users);
  s.first_user_id = first.empty() ? 0 : first[0][0].as<int64_t>();
  for (const auto& row : first) s.first_user_id = std::min(s.first_user_id, row[0].as<int64_t>());
  tx.commit();
  return s;
}

int64_t add_pool(const TestDatabase& db, int64_t schedule_id, int capacity, int max_party, int max_per_user,
                 int64_t price, const std::string& kind) {
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  auto id = tx.exec_params1(
                  "INSERT INTO pools (schedule_id, name, kind, capacity, price, max_party, max_per_user)"
                  " VALUES ($1, 'pool', $2, $3, $4, $5, $6) RETURNING id",
                  schedule_id, kind, capacity, price, max_party, max_per_user)[0]
                .as<int64_t>();
  tx.commit();
  return id;
}

}  // namespace resv::test
