#include "seed.h"

#include <algorithm>
#include <pqxx/pqxx>

namespace resv {

namespace {
constexpr int kSeats = 200;
constexpr int kUsers = 500;
constexpr int kPoolCapacity = 40;
constexpr int kPoolMaxParty = 4;
constexpr int64_t kBalance = 1'000'000;
}  // namespace

Result<DemoSet> seed_demo(const std::string& database_url) {
  try {
    pqxx::connection c(database_url);
    pqxx::work tx(c);
    DemoSet d;
    d.balance = kBalance;
    d.pool_capacity = kPoolCapacity;
    d.pool_max_party = kPoolMaxParty;
    d.concert_id = tx.exec1("INSERT INTO concerts (name, venue) VALUES ('resv demo concert', 'Demo Hall')"
                            " RETURNING id")[0]
                       .as<int64_t>();
    d.schedule_id = tx.exec_params1("INSERT INTO schedules (concert_id, starts_at, sales_open_at, max_seats_per_user,"
                                    " hold_seconds) VALUES ($1, date_trunc('hour', now()) + interval '7 days 20 hours',"
                                    " now(), 4, 300) RETURNING id",
                                    d.concert_id)[0]
                        .as<int64_t>();
    // Rows A-J of 20 seats: A-B VIP, C-F R, G-J S.
    for (const auto& row : tx.exec_params(
             "INSERT INTO seats (schedule_id, label, grade, price)"
             " SELECT $1, chr(65 + (g - 1) / 20) || ((g - 1) % 20 + 1),"
             "        CASE WHEN g <= 40 THEN 'VIP' WHEN g <= 120 THEN 'R' ELSE 'S' END,"
             "        CASE WHEN g <= 40 THEN 150000 WHEN g <= 120 THEN 110000 ELSE 80000 END"
             " FROM generate_series(1, $2) g ORDER BY g RETURNING id",
             d.schedule_id, kSeats))
      d.seat_ids.push_back(row[0].as<int64_t>());
    d.pool_id = tx.exec_params1("INSERT INTO pools (schedule_id, name, kind, capacity, price, min_party, max_party,"
                                " max_per_user) VALUES ($1, 'General admission', 'GENERAL_ADMISSION', $2, 50000, 1, $3, $3)"
                                " RETURNING id",
                                d.schedule_id, kPoolCapacity, kPoolMaxParty)[0]
                    .as<int64_t>();
    for (const auto& row : tx.exec_params("INSERT INTO users (name, balance) SELECT 'demo-user-' || g, $1"
                                          " FROM generate_series(1, $2) g RETURNING id",
                                          kBalance, kUsers))
      d.user_ids.push_back(row[0].as<int64_t>());
    tx.commit();
    std::sort(d.seat_ids.begin(), d.seat_ids.end());
    std::sort(d.user_ids.begin(), d.user_ids.end());
    return d;
  } catch (const pqxx::broken_connection& e) {
    return Status::DbUnavailable(std::string("cannot reach the database: ") + e.what());
  } catch (const std::exception& e) {
    return Status::Internal(std::string("seeding the demo data failed: ") + e.what());
  }
}

}  // namespace resv
