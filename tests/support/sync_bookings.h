#pragma once
// The write paths as resv-server runs them (booking/bookings.h on an
// asynchronous pool of its own, the same statements, parameters, batching
// and answers), one call at a time: each call waits for its answer. The
// availability filter is off by default (a TTL of 0), so that every call
// reaches the database. Header-only.
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "base/metrics.h"
#include "booking/availability.h"
#include "booking/bookings.h"
#include "db/async_pg.h"

namespace resv::test {

struct SyncBookingsOptions {
  int size = 2;  // connections
  int statement_timeout_ms = 5000;
  int lock_timeout_ms = 2000;
  int group_limit = 8;  // as resv-server's --pool-hold-concurrency
  // Longer than any test waits: a test of outcomes must not get Overloaded
  // because a loaded machine (hundreds of threads, a sanitizer) was slow to
  // run the pool's loop.
  std::chrono::milliseconds max_wait{60000};
  std::chrono::milliseconds filter_ttl{0};
  bool warm_up = true;  // each connection runs warm_up_calls() first, as the server's do
};

class SyncBookings {
 public:
  explicit SyncBookings(const std::string& url, SyncBookingsOptions o = {})
      : filter_(o.filter_ttl),
        pool_(options(url, o), metrics_),
        bookings_(pool_, filter_, metrics_.counter("resv_filter_answers_total", "")) {
    pool_.start();
    // Every connection tried once (a database that is down: tried and failed).
    for (int i = 0; i < 1200 && pool_.starting() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  Result<Hold> hold_seats(HoldSeatsRequest r) { return wait<Hold>([&](auto done) { bookings_.hold(r, done); }); }
  Result<Hold> hold_pool(HoldPoolRequest r) { return wait<Hold>([&](auto done) { bookings_.hold(r, done); }); }
  Result<Payment> pay(PaymentRequest r) { return wait<Payment>([&](auto done) { bookings_.pay(r, done); }); }
  Result<Cancellation> cancel(int64_t reservation_id, int64_t user_id) {
    return wait<Cancellation>([&](auto done) { bookings_.cancel({reservation_id, user_id}, done); });
  }
  Result<Balance> balance(int64_t user_id) {
    return wait<Balance>([&](auto done) { bookings_.balance({user_id}, done); });
  }
  Result<Balance> top_up(TopUpRequest r) { return wait<Balance>([&](auto done) { bookings_.top_up(r, done); }); }

  Bookings& bookings() { return bookings_; }
  AsyncPg& pool() { return pool_; }
  AvailabilityFilter& filter() { return filter_; }
  MetricsRegistry& metrics() { return metrics_; }

 private:
  static AsyncPgOptions options(const std::string& url, const SyncBookingsOptions& o) {
    AsyncPgOptions a;
    a.url = url;
    a.size = o.size;
    a.statement_timeout_ms = o.statement_timeout_ms;
    a.lock_timeout_ms = o.lock_timeout_ms;
    a.group_limit = o.group_limit;
    a.max_wait = o.max_wait;
    if (o.warm_up) a.warm_up = warm_up_calls();
    return a;
  }

  template <class T, class Call>
  Result<T> wait(Call call) {
    auto promise = std::make_shared<std::promise<Result<T>>>();
    auto future = promise->get_future();
    call(Bookings::Done<T>([promise](Result<T> r) { promise->set_value(std::move(r)); }));
    if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
      return Status::Internal("no answer within 60 s");
    return future.get();
  }

  MetricsRegistry metrics_;
  AvailabilityFilter filter_;
  AsyncPg pool_;
  Bookings bookings_;
};

}  // namespace resv::test
