#pragma once
// librdkafka behind a small interface: the relay's producer (EventSink) and
// the embedded broker (librdkafka's mock cluster, rdkafka_mock.h). Only
// kafka.cpp includes librdkafka.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "events/event_message.h"

namespace resv {

// Where events go and what the relay waits for.
struct KafkaOptions {
  std::string brokers;                               // bootstrap.servers, e.g. "host1:9092,host2:9092"
  std::string client_id = "resv";                    // shows in the brokers' logs and metrics
  std::chrono::milliseconds delivery_timeout{5000};  // message.timeout.ms: a message not acknowledged by then fails
};

// Publishes batches of events and reports, per message, the broker's answer.
// Batches are sent one behind the other, so that the broker always has the
// next one while the one before is acknowledged.
class EventSink {
 public:
  // A batch on its way, as send() returned it.
  struct Flight {
    virtual ~Flight() = default;
  };
  virtual ~EventSink() = default;
  // Sends `batch` in order, behind the batches sent before, without waiting
  // for the broker (only, when the local queue is full, for room in it). The
  // messages are copied: `batch` may go.
  virtual std::unique_ptr<Flight> send(const std::vector<EventMessage>& batch) = 0;
  // Waits until each message of `flight` is acknowledged or has failed (at
  // most about the delivery timeout): one Delivery per message, in batch
  // order. A flight dropped without waiting is safe: its reports are
  // discarded.
  virtual std::vector<Delivery> wait(std::unique_ptr<Flight> flight) = 0;
};

// The idempotent producer: enable.idempotence (acks=all, retries, order per
// partition kept, across batches too), enable.gapless.guarantee (a gap in a
// partition's series fails every message after it instead of being
// skipped), linger.ms 1 (an event is on its way within a millisecond). After
// a fatal error (the producer's identity fenced, a gap), or a report owed
// past the delivery timeout, it starts over with a new producer at the next
// send: the failed messages are sent again, with their ids. Every call on
// one thread (the relay's): delivery reports are taken on it.
class KafkaProducer : public EventSink {
 public:
  // Internal when librdkafka refuses the configuration (its message).
  static Result<std::unique_ptr<KafkaProducer>> create(KafkaOptions options);
  ~KafkaProducer() override;
  std::unique_ptr<Flight> send(const std::vector<EventMessage>& batch) override;
  std::vector<Delivery> wait(std::unique_ptr<Flight> flight) override;

  struct Handle;

 private:
  explicit KafkaProducer(KafkaOptions options);
  KafkaOptions opts_;
  std::unique_ptr<Handle> handle_;
};

// One message as a consumer receives it.
struct ConsumedEvent {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timestamp_ms = 0;  // the producer's create time
  // The value of header `name`, or "" when it has none.
  std::string header(const std::string& name) const;
};

// Reads topics partition by partition (every partition assigned to it: no
// group rebalancing). With a group, starts at the group's committed offsets
// and commit() stores where it got to. A partition without a committed
// offset starts at its first message (from_beginning), else at its last
// `last` messages (last >= 0), else at its end (only new messages).
class EventReader {
 public:
  struct Options {
    std::vector<std::string> topics;
    bool from_beginning = false;
    std::string group;  // "" : none
    int64_t last = -1;
  };
  // BrokerUnavailable when the brokers do not answer within `timeout`;
  // NotFound when a topic does not exist.
  static Result<std::unique_ptr<EventReader>> open(const KafkaOptions& kafka, const Options& options,
                                                   std::chrono::milliseconds timeout);
  ~EventReader();
  // The next message, or nullopt when none arrived within `timeout`.
  std::optional<ConsumedEvent> next(std::chrono::milliseconds timeout);
  // Commits the offsets after the messages returned so far (group only).
  Status commit();
  // The messages there were to read from the start positions when it opened.
  int64_t waiting_at_open() const;

  struct Handle;

 private:
  EventReader();
  std::unique_ptr<Handle> handle_;
};

// One partition of a topic: its first and next offsets (high watermark:
// the offset the next message gets), and a group's committed offset (-1:
// the group never committed on it).
struct PartitionOffsets {
  std::string topic;
  int32_t partition = 0;
  int64_t low = 0;
  int64_t high = 0;
  int64_t committed = -1;
};

// The partitions of every topic whose name starts with `topic_prefix`, with
// their watermarks, by topic and partition. BrokerUnavailable when the
// brokers do not answer within `timeout`.
Result<std::vector<PartitionOffsets>> read_partitions(const KafkaOptions& kafka, const std::string& topic_prefix,
                                                      std::chrono::milliseconds timeout);

// `partitions` with `group`'s committed offsets filled in.
Result<std::vector<PartitionOffsets>> read_committed(const KafkaOptions& kafka, const std::string& group,
                                                     std::vector<PartitionOffsets> partitions,
                                                     std::chrono::milliseconds timeout);

// The consumer groups the brokers know (ListGroups). The embedded broker
// does not answer it: BrokerUnavailable then, as when unreachable.
Result<std::vector<std::string>> list_groups(const KafkaOptions& kafka, std::chrono::milliseconds timeout);

// librdkafka's mock cluster in this process: brokers on 127.0.0.1 at ports
// the kernel picks (Debian's librdkafka 2.0.2 cannot choose them), speaking
// the Kafka protocol; topics are created on first use. It lives as long as
// the object.
class MockCluster {
 public:
  // Internal when the cluster cannot be created.
  static Result<std::unique_ptr<MockCluster>> start(int brokers = 1);
  ~MockCluster();
  // bootstrap.servers for clients: "127.0.0.1:port,..."
  const std::string& bootstrap() const { return bootstrap_; }
  // Every broker stops answering (connections are closed and refused) or
  // comes back: an outage as clients see it.
  void set_down(bool down);
  bool down() const { return down_; }

  struct Handle;

 private:
  MockCluster();
  std::unique_ptr<Handle> handle_;
  std::string bootstrap_;
  int brokers_ = 0;
  bool down_ = false;
};

}  // namespace resv
