// The outbox relay against a real broker protocol (librdkafka's mock cluster
// in this process) and a real database: what arrives, in which order, once
// at least; an outage and its drain; one leader among several relays.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "db/pg_text.h"
#include "events/kafka.h"
#include "events/relay.h"
#include "eventually.h"
#include "store_fixture.h"

namespace {

using namespace resv;
using namespace resv::test;
using namespace std::chrono_literals;

// Passes batches on to a real producer; after `fail_after` rounds it throws
// once the broker has acknowledged a round, before the relay marks it: a
// crash between delivery and marking, as the relay sees it.
class CrashingSink : public EventSink {
 public:
  CrashingSink(std::unique_ptr<EventSink> inner, int fail_after) : inner_(std::move(inner)), left_(fail_after) {}
  std::unique_ptr<Flight> send(const std::vector<EventMessage>& batch) override { return inner_->send(batch); }
  std::vector<Delivery> wait(std::unique_ptr<Flight> flight) override {
    auto d = inner_->wait(std::move(flight));
    if (left_-- == 0) throw std::runtime_error("crash after the broker acknowledged the round");
    return d;
  }

 private:
  std::unique_ptr<EventSink> inner_;
  int left_;
};

// Passes batches on to a real producer and counts how many were on their
// way at once; the first `fail_first` waits report every message from
// `fail_from` on as failed (though the broker has them): a partial failure
// while a later batch is already on its way.
class WatchingSink : public EventSink {
 public:
  explicit WatchingSink(std::unique_ptr<EventSink> inner, int fail_first = 0, size_t fail_from = 0)
      : inner_(std::move(inner)), fail_first_(fail_first), fail_from_(fail_from) {}
  std::unique_ptr<Flight> send(const std::vector<EventMessage>& batch) override {
    max_in_flight = std::max(max_in_flight.load(), ++in_flight_);
    return inner_->send(batch);
  }
  std::vector<Delivery> wait(std::unique_ptr<Flight> flight) override {
    auto d = inner_->wait(std::move(flight));
    --in_flight_;
    if (fail_first_ > 0) {
      --fail_first_;
      for (size_t i = fail_from_; i < d.size(); ++i) d[i] = {false, "injected"};
    }
    return d;
  }
  std::atomic<int> max_in_flight{0};

 private:
  std::unique_ptr<EventSink> inner_;
  int in_flight_ = 0;
  int fail_first_;
  size_t fail_from_;
};

// Passes batches on to a real producer, calling `before_send(n)` before the
// n-th (from 1).
class HookedSink : public EventSink {
 public:
  HookedSink(std::unique_ptr<EventSink> inner, std::function<void(int)> before_send)
      : inner_(std::move(inner)), before_send_(std::move(before_send)) {}
  std::unique_ptr<Flight> send(const std::vector<EventMessage>& batch) override {
    before_send_(++sends_);
    return inner_->send(batch);
  }
  std::vector<Delivery> wait(std::unique_ptr<Flight> flight) override { return inner_->wait(std::move(flight)); }

 private:
  std::unique_ptr<EventSink> inner_;
  std::function<void(int)> before_send_;
  int sends_ = 0;
};

struct Relaying : StoreTest {
  Relaying() : StoreTest({.seats = 10, .seat_price = 1000, .users = 6, .balance = 100000}) {
    auto m = MockCluster::start();
    if (!m.ok()) throw std::runtime_error(m.status().message());
    broker = std::move(m.value());
  }

  std::unique_ptr<MockCluster> broker;
  MetricsRegistry metrics;

  KafkaOptions kafka(std::chrono::milliseconds timeout = 2000ms) const {
    return {broker->bootstrap(), "relay-test", timeout};
  }
  std::unique_ptr<EventSink> producer(std::chrono::milliseconds timeout = 2000ms) const {
    auto p = KafkaProducer::create(kafka(timeout));
    if (!p.ok()) throw std::runtime_error(p.status().message());
    return std::move(p.value());
  }
  RelayOptions relay_options() const {
    RelayOptions o;
    o.url = db.url();
    o.lead_retry = 50ms;
    o.retry = 100ms;
    return o;
  }
  std::unique_ptr<Relay> relay(std::unique_ptr<EventSink> sink, MetricsRegistry& m, int batch = 5000,
                               std::chrono::milliseconds idle_poll = 10ms) const {
    auto o = relay_options();
    o.batch = batch;
    o.idle_poll = idle_poll;
    auto r = std::make_unique<Relay>(o, std::move(sink), m);
    r->start();
    return r;
  }

  int64_t unpublished() const { return db.count("SELECT unpublished FROM resv_outbox_backlog()"); }
  int64_t outbox_rows() const { return db.count("SELECT count(*) FROM outbox"); }

  // Every message on `topic` from the start, until `count` arrived (or 30 s).
  std::vector<ConsumedEvent> consume(const std::string& topic, size_t count) const {
    auto reader = EventReader::open(kafka(), {{topic}, true, ""}, 10s);
    if (!reader.ok()) throw std::runtime_error(reader.status().message());
    std::vector<ConsumedEvent> out;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (out.size() < count && std::chrono::steady_clock::now() < deadline)
      if (auto e = reader.value()->next(200ms)) out.push_back(std::move(*e));
    return out;
  }
  // The event types per key, in the order they arrived.
  static std::map<std::string, std::vector<std::string>> types_by_key(const std::vector<ConsumedEvent>& events) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& e : events) out[e.key].push_back(e.header("event-type"));
    return out;
  }
};

TEST_F(Relaying, EveryStateChangeArrivesOnItsTopicKeyedByItsReservationInOrder) {
  auto paid = hold(0, {0});
  ASSERT_TRUE(bookings.pay({paid, user(0), {}, {}}).ok());
  ASSERT_TRUE(bookings.cancel(paid, user(0)).ok());
  auto expired = hold(1, {1});
  db.exec("UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = " + std::to_string(expired));
  ASSERT_EQ(store.expire_holds(10).value(), 1);
  ASSERT_TRUE(bookings.top_up({user(2), 5, {}, {}}).ok());
  ASSERT_EQ(outbox_rows(), 6);

  auto r = relay(producer(), metrics);
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << unpublished() << " still unpublished";
  EXPECT_TRUE(r->leader());
  EXPECT_EQ(metrics.counter("resv_relay_published_total", "").value(), 6u);

  auto reservations = consume("resv.reservations", 5);
  ASSERT_EQ(reservations.size(), 5u);
  auto by_key = types_by_key(reservations);
  EXPECT_EQ(by_key[std::to_string(paid)],
            (std::vector<std::string>{"ReservationHeld", "ReservationConfirmed", "ReservationCancelled"}));
  EXPECT_EQ(by_key[std::to_string(expired)], (std::vector<std::string>{"ReservationHeld", "ReservationExpired"}));

  // The message: headers and the documented body, its data the outbox payload.
  const auto& confirmed = reservations[1].key == std::to_string(paid) ? reservations[1] : reservations[0];
  for (const auto& e : reservations) {
    auto body = nlohmann::json::parse(e.value);
    EXPECT_EQ(body["eventId"].get<int64_t>(), std::stoll(e.header("event-id")));
    EXPECT_EQ(body["type"], e.header("event-type"));
    EXPECT_EQ(body["schemaVersion"], 1);
    EXPECT_EQ(e.header("schema-version"), "1");
    EXPECT_EQ(body["aggregateType"], "reservation");
    EXPECT_EQ(std::to_string(body["aggregateId"].get<int64_t>()), e.key);
    EXPECT_EQ(body["occurredAt"].get<std::string>().size(), 24u) << body["occurredAt"];
    EXPECT_EQ(body["data"].dump(), nlohmann::json::parse(db.scalar("SELECT payload::text FROM outbox WHERE id = " +
                                                                   e.header("event-id")))
                                       .dump());
  }
  EXPECT_EQ(nlohmann::json::parse(confirmed.value)["data"]["amount"], 1000);

  auto users = consume("resv.users", 1);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].key, uid(2));
  EXPECT_EQ(users[0].header("event-type"), "BalanceToppedUp");
}

TEST_F(Relaying, ACrashBetweenDeliveryAndMarkingSendsTheRoundAgainAndLosesNothing) {
  for (int i = 0; i < 5; ++i) hold(i, {static_cast<size_t>(i)});
  auto r = relay(std::make_unique<CrashingSink>(producer(), 0), metrics);
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << unpublished() << " still unpublished";

  auto got = consume("resv.reservations", 10);
  ASSERT_EQ(got.size(), 10u) << "the crashed round, then the same events again";
  std::map<std::string, int> copies;  // by event id
  for (const auto& e : got) ++copies[e.header("event-id")];
  EXPECT_EQ(copies.size(), 5u) << "every event arrived";
  for (const auto& [id, n] : copies) EXPECT_EQ(n, 2) << "event " << id << ": once per round, the same id";
  EXPECT_EQ(metrics.counter("resv_relay_published_total", "").value(), 5u) << "marked once";
}

TEST_F(Relaying, WithTheBrokerDownTheBacklogGrowsAndDrainsWhenItReturns) {
  broker->set_down(true);
  auto r = relay(producer(1000ms), metrics);
  for (int i = 0; i < 4; ++i) hold(i, {static_cast<size_t>(i)});
  ASSERT_TRUE(eventually([&] { return metrics.counter("resv_relay_delivery_errors_total", "").value() >= 4; }))
      << "the relay tried and the broker did not answer";
  EXPECT_EQ(unpublished(), 4) << "nothing marked while the broker is down";
  for (int i = 4; i < 6; ++i) hold(i, {static_cast<size_t>(i)});
  EXPECT_EQ(unpublished(), 6) << "the backlog grows";

  broker->set_down(false);
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << unpublished() << " still unpublished";
  auto got = consume("resv.reservations", 6);
  std::set<std::string> ids;
  for (const auto& e : got) ids.insert(e.header("event-id"));
  EXPECT_EQ(ids.size(), 6u) << "every event arrived after the outage";
}

TEST_F(Relaying, AWindowLargerThanABatchGoesOutPageByPageInOrderEachEventOnce) {
  // Pages of 2: each page after the first is read while the one before is
  // in flight.
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(hold(i, {static_cast<size_t>(i)}));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bookings.pay({ids[static_cast<size_t>(i)], user(i), {}, {}}).ok());
  ASSERT_EQ(outbox_rows(), 10);
  auto r = relay(producer(), metrics, 2);
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << unpublished() << " still unpublished";
  EXPECT_EQ(metrics.counter("resv_relay_published_total", "").value(), 10u);

  auto got = consume("resv.reservations", 10);
  ASSERT_EQ(got.size(), 10u);
  std::set<std::string> event_ids;
  for (const auto& e : got) event_ids.insert(e.header("event-id"));
  EXPECT_EQ(event_ids.size(), 10u) << "each event once";
  for (const auto& [key, types] : types_by_key(got))
    EXPECT_EQ(types, (std::vector<std::string>{"ReservationHeld", "ReservationConfirmed"})) << "reservation " << key;
}

TEST_F(Relaying, ThePageAfterOneInFlightIsSentBehindItAndAFailureSendsBothAgainFromItsFirstLoss) {
  // 40 events of 5 keys ('E<n>' in commit order), pages of 10: the first
  // page reports its last 5 as lost while the second is already sent.
  db.exec("SELECT resv_outbox('reservation', g % 5, 'E' || g, '{}') FROM generate_series(1, 40) g");
  auto* sink = new WatchingSink(producer(), 1, 5);
  auto r = relay(std::unique_ptr<EventSink>(sink), metrics, 10);
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << unpublished() << " still unpublished";
  EXPECT_EQ(sink->max_in_flight.load(), 2) << "a page sent while the one before waited for the broker";
  EXPECT_EQ(metrics.counter("resv_relay_published_total", "").value(), 40u) << "each event marked once";
  EXPECT_EQ(metrics.counter("resv_relay_delivery_errors_total", "").value(), 5u) << "the 5 reported lost";

  auto got = consume("resv.reservations", 55);
  ASSERT_EQ(got.size(), 55u) << "40 events, and 6-20 again (the second page was not marked on its own)";
  std::set<std::string> seen;
  std::map<std::string, int> last_of_key;  // by key: the newest event number first seen so far
  for (const auto& e : got) {
    if (!seen.insert(e.header("event-id")).second) continue;  // a duplicate, deduped by id
    const int n = std::stoi(e.header("event-type").substr(1));
    EXPECT_GT(n, last_of_key[e.key]) << "key " << e.key << ": first arrivals in commit order";
    last_of_key[e.key] = n;
  }
  EXPECT_EQ(seen.size(), 40u);
}

TEST_F(Relaying, TheReaderSessionEndedMidWindowLosesNothingAndKeepsEachKeysOrder) {
  // 300 events of 7 keys ('E<n>' in commit order), pages of 10: each page
  // after the first is read ahead on the reader session, which is ended
  // (as by pg_terminate_backend) before the 5th and the 15th page go out.
  db.exec("SELECT resv_outbox('reservation', g % 7, 'E' || g, '{}') FROM generate_series(1, 300) g");
  std::atomic<int> ended{0};
  auto sink = std::make_unique<HookedSink>(producer(), [&](int n) {
    if (n == 5 || n == 15)
      ended += static_cast<int>(db.count("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                         " WHERE application_name = 'relay-test reader'"));
  });
  auto o = relay_options();
  o.batch = 10;
  o.idle_poll = 10ms;
  o.reader_url = with_application_name(db.url(), "relay-test reader");
  Relay r(o, std::move(sink), metrics);
  r.start();
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << unpublished() << " still unpublished";
  EXPECT_EQ(ended.load(), 2) << "the reader's session was there to end, twice";
  EXPECT_EQ(metrics.counter("resv_relay_published_total", "").value(), 300u) << "each event marked once";

  // Read until every event arrived once (pages sent again bring duplicates).
  auto reader = EventReader::open(kafka(), {{"resv.reservations"}, true, ""}, 10s);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  std::set<std::string> seen;
  std::map<std::string, int> last_of_key;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       seen.size() < 300 && std::chrono::steady_clock::now() < deadline;) {
    auto e = reader.value()->next(200ms);
    if (!e || !seen.insert(e->header("event-id")).second) continue;  // a duplicate, deduped by id
    const int n = std::stoi(e->header("event-type").substr(1));
    EXPECT_GT(n, last_of_key[e->key]) << "key " << e->key << ": first arrivals in commit order";
    last_of_key[e->key] = n;
  }
  EXPECT_EQ(seen.size(), 300u) << "every event arrived";
}

TEST_F(Relaying, AProducerFlightDroppedWithoutWaitingLeavesTheProducerWorking) {
  auto p = producer();
  MessageBatch first, second;
  for (int64_t i = 1; i <= 100; ++i) first.add({i, "reservation", 7, "Dropped", "2026-12-02T05:00:00.000Z", "{}"}, "resv.");
  second.add({101, "reservation", 7, "Dropped", "2026-12-02T05:00:00.000Z", "{}"}, "resv.");
  { auto dropped = p->send(first.messages()); }  // its reports come later, to memory the producer still holds
  auto d = p->wait(p->send(second.messages()));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].delivered) << d[0].error;
  EXPECT_EQ(consume("resv.reservations", 101).size(), 101u);
}

TEST_F(Relaying, AnEventCommittedAfterNewerOnesWerePublishedIsPublishedOnceAndBeforeItsKeysNextEvent) {
  // A transaction takes an outbox id, then commits only after later ids
  // were published: the relay's window must not have passed it by.
  pqxx::connection slow_conn(db.url());
  pqxx::work slow(slow_conn);
  slow.exec("SELECT resv_outbox('reservation', 999, 'Late', '{}')");
  const int64_t late_id = slow.exec1("SELECT currval('outbox_id_seq')")[0].as<int64_t>();
  auto r = relay(producer(), metrics);
  for (int i = 0; i < 3; ++i) hold(i, {static_cast<size_t>(i)});
  ASSERT_TRUE(eventually([&] { return metrics.counter("resv_relay_published_total", "").value() == 3; }));
  EXPECT_EQ(unpublished(), 0) << "the open transaction's event is not visible yet";
  slow.commit();
  db.exec("SELECT resv_outbox('reservation', 999, 'After', '{}')");
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << unpublished() << " still unpublished";
  EXPECT_EQ(metrics.counter("resv_relay_published_total", "").value(), 5u) << "each published once";

  auto got = consume("resv.reservations", 5);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(types_by_key(got)["999"], (std::vector<std::string>{"Late", "After"}));
  for (const auto& e : got) {
    if (e.key != "999") {
      EXPECT_GT(std::stoll(e.header("event-id")), late_id) << "published before the late one";
    }
  }
}

TEST_F(Relaying, AnIdleRelayWokenByAWriteLooksAtOnceNotAtItsNextPoll) {
  auto r = relay(producer(), metrics, 5000, std::chrono::hours(1));
  ASSERT_TRUE(eventually([&] { return r->leader(); }));
  hold(0, {0});
  r->wake();  // as the server's write pool does after each statement
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << "still waiting for the hourly poll";
  hold(1, {1});
  r->wake();
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; })) << "woken once, not only the first time";
}

TEST_F(Relaying, OneRelayLeadsAndAnotherTakesOverWhenItStops) {
  MetricsRegistry m1, m2;
  auto first = relay(producer(), m1);
  ASSERT_TRUE(eventually([&] { return first->leader(); }));
  auto second = relay(producer(), m2);
  hold(0, {0});
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; }));
  EXPECT_FALSE(second->leader()) << "one leader at a time";
  EXPECT_EQ(m2.counter("resv_relay_published_total", "").value(), 0u);

  first->stop();
  ASSERT_TRUE(eventually([&] { return second->leader(); })) << "the other took over";
  hold(1, {1});
  ASSERT_TRUE(eventually([&] { return unpublished() == 0; }));
  EXPECT_EQ(m2.counter("resv_relay_published_total", "").value(), 1u);

  auto got = consume("resv.reservations", 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].header("event-id"), got[1].header("event-id")) << "each published once";
}

}  // namespace
