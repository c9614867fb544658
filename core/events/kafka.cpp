#include "events/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <map>
#include <memory>
#include <tuple>

#include "base/logfmt.h"

namespace resv {

// A batch on its way: the delivery report callback fills it in, through
// the slot each message carries as its opaque.
struct FlightState;
struct DeliverySlot {
  FlightState* flight;
  size_t index;
};
struct FlightState {
  std::vector<Delivery> out;
  std::vector<DeliverySlot> slots;
  std::vector<bool> reported;
  size_t outstanding = 0;
  // Its producer went before every report came: none will.
  bool orphaned = false;
  std::chrono::steady_clock::time_point sent_at;
};

struct KafkaProducer::Handle {
  rd_kafka_t* rk = nullptr;
  // Every flight still owed a report: kept until it has them all, whether
  // or not its owner waits, so that a report never points at freed memory.
  std::vector<std::shared_ptr<FlightState>> live;
  ~Handle() {
    if (rk) {
      rd_kafka_flush(rk, 0);
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk, 0);  // the purged messages' reports, before the handle goes
      rd_kafka_destroy(rk);
    }
    for (auto& f : live) f->orphaned = true;
  }
};

namespace {

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* slot = static_cast<DeliverySlot*>(m->_private);
  if (!slot) return;
  FlightState& f = *slot->flight;
  if (f.reported[slot->index]) return;
  f.reported[slot->index] = true;
  --f.outstanding;
  Delivery& d = f.out[slot->index];
  d.delivered = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (!d.delivered) d.error = rd_kafka_err2str(m->err);
}

// librdkafka's own log lines (connection refused, broker down...) at debug:
// the relay reports outages itself, once per outage.
void on_log(const rd_kafka_t*, int, const char* fac, const char* buf) {
  spdlog::debug("msg=\"librdkafka\" facility={} text={}", fac, logfmt(buf));
}

// A configuration, or why librdkafka refused one of the settings.
Result<rd_kafka_conf_t*> make_conf(const std::vector<std::pair<const char*, std::string>>& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, 512> err{};
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name, value.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::Internal(std::string("Kafka setting ") + name + "=" + value + " refused: " + err.data());
    }
  }
  rd_kafka_conf_set_log_cb(conf, on_log);
  return conf;
}

}  // namespace


struct KafkaFlight : EventSink::Flight {
  std::shared_ptr<FlightState> state;
};

namespace {

// Header schema-version of every message.
const std::string kSchemaVersionText = std::to_string(kEventSchemaVersion);

Result<std::unique_ptr<KafkaProducer::Handle>> new_producer(const KafkaOptions& o) {
  auto conf = make_conf({{"bootstrap.servers", o.brokers},
                         {"client.id", o.client_id},
                         {"enable.idempotence", "true"},
                         {"enable.gapless.guarantee", "true"},
                         {"acks", "all"},
                         {"linger.ms", "1"},
                         {"message.timeout.ms", std::to_string(o.delivery_timeout.count())},
                         {"socket.connection.setup.timeout.ms", "3000"},
                         {"reconnect.backoff.max.ms", "1000"}});
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(conf.value(), on_delivery);
  std::array<char, 512> err{};
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.value(), err.data(), err.size());
  if (!rk) {
    rd_kafka_conf_destroy(conf.value());
    return Status::Internal(std::string("cannot create the Kafka producer: ") + err.data());
  }
  auto h = std::make_unique<KafkaProducer::Handle>();
  h->rk = rk;
  return h;
}

}  // namespace

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::create(KafkaOptions options) {
  auto handle = new_producer(options);
  if (!handle.ok()) return handle.status();
  std::unique_ptr<KafkaProducer> p(new KafkaProducer(std::move(options)));
  p->handle_ = std::move(handle.value());
  return p;
}

KafkaProducer::KafkaProducer(KafkaOptions options) : opts_(std::move(options)) {}
KafkaProducer::~KafkaProducer() = default;

std::unique_ptr<EventSink::Flight> KafkaProducer::send(const std::vector<EventMessage>& batch) {
  auto state = std::make_shared<FlightState>();
  state->out.resize(batch.size());
  state->reported.assign(batch.size(), true);  // until produced
  state->slots.resize(batch.size());
  auto flight = std::make_unique<KafkaFlight>();
  flight->state = state;
  if (!handle_) {  // the last one failed fatally or owed reports: start over
    auto h = new_producer(opts_);
    if (!h.ok()) {
      for (auto& d : state->out) d.error = h.status().message();
      return flight;
    }
    handle_ = std::move(h.value());
  }
  Handle& h = *handle_;
  std::erase_if(h.live, [](const auto& f) { return f->outstanding == 0; });
  h.live.push_back(state);
  // One message's fields, and the texts of some, reused: its topic, five
  // fields and three headers (event-id, event-type, schema-version).
  std::array<rd_kafka_vu_t, 8> vu{};
  std::string topic;
  std::array<char, 24> id_text{};
  size_t sent = 0;
  for (; sent < batch.size(); ++sent) {
    const auto& m = batch[sent];
    state->slots[sent] = {state.get(), sent};
    topic.assign(m.topic);  // librdkafka takes the topic's name as a C string
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic.c_str();
    vu[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[1].u.i = RD_KAFKA_MSG_F_COPY;
    vu[2].vtype = RD_KAFKA_VTYPE_KEY;
    vu[2].u.mem = {const_cast<char*>(m.key.data()), m.key.size()};  // copied (F_COPY), never written
    vu[3].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[3].u.mem = {const_cast<char*>(m.value.data()), m.value.size()};
    vu[4].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[4].u.ptr = &state->slots[sent];
    const auto id = std::to_chars(id_text.data(), id_text.data() + id_text.size(), m.id).ptr;
    const std::pair<const char*, std::string_view> headers[] = {
        {"event-id", {id_text.data(), static_cast<size_t>(id - id_text.data())}},
        {"event-type", m.event_type},
        {"schema-version", kSchemaVersionText}};
    for (size_t i = 0; i < 3; ++i) {
      vu[5 + i].vtype = RD_KAFKA_VTYPE_HEADER;
      vu[5 + i].u.header = {headers[i].first, headers[i].second.data(), static_cast<ssize_t>(headers[i].second.size())};
    }
    state->reported[sent] = false;
    ++state->outstanding;
    rd_kafka_resp_err_t err;
    // A full local queue empties as reports arrive: wait for some, then retry.
    for (;;) {
      rd_kafka_error_t* e = rd_kafka_produceva(h.rk, vu.data(), vu.size());
      err = e ? rd_kafka_error_code(e) : RD_KAFKA_RESP_ERR_NO_ERROR;
      if (e) rd_kafka_error_destroy(e);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(h.rk, 50);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      state->out[sent].error = rd_kafka_err2str(err);
      state->reported[sent] = true;
      --state->outstanding;
      if (err == RD_KAFKA_RESP_ERR__FATAL) break;
    }
  }
  for (size_t i = sent + 1; i < batch.size(); ++i)
    state->out[i].error = "not sent: the producer failed fatally; sent again by a new one";
  state->sent_at = std::chrono::steady_clock::now();
  return flight;
}

std::vector<Delivery> KafkaProducer::wait(std::unique_ptr<Flight> flight) {
  FlightState& f = *static_cast<KafkaFlight&>(*flight).state;
  // Every message sent has a report by message.timeout.ms; the margin covers
  // the report's way back.
  const auto deadline = f.sent_at + opts_.delivery_timeout + std::chrono::milliseconds(2000);
  while (f.outstanding > 0 && !f.orphaned) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    rd_kafka_poll(handle_->rk, static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  for (size_t i = 0; i < f.out.size(); ++i)
    if (!f.reported[i])
      f.out[i].error = f.orphaned ? "no delivery report: the producer was replaced" : "no delivery report in time";
  bool fatal = false;
  if (handle_) {
    std::array<char, 512> why{};
    fatal = rd_kafka_fatal_error(handle_->rk, why.data(), why.size()) != RD_KAFKA_RESP_ERR_NO_ERROR;
    if (fatal) spdlog::warn("msg=\"Kafka producer failed fatally, starting a new one\" error={}", logfmt(why.data()));
  }
  // A producer that failed fatally, or owes a report past its time, goes
  // (its destructor purges what it holds); the next send starts a new one.
  // Otherwise it stays, with its connections.
  if (fatal || (f.outstanding > 0 && !f.orphaned)) handle_.reset();
  return std::move(f.out);
}

std::string ConsumedEvent::header(const std::string& name) const {
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return "";
}

struct EventReader::Handle {
  rd_kafka_t* rk = nullptr;
  std::map<std::pair<std::string, int32_t>, int64_t> next_offsets;  // after the messages returned
  int64_t waiting_at_open = 0;
  ~Handle() {
    if (!rk) return;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

namespace {

using TopicList = std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>;

TopicList topic_list(int size) {
  return TopicList(rd_kafka_topic_partition_list_new(size), rd_kafka_topic_partition_list_destroy);
}

// The partition count of `topic`, BrokerUnavailable or NotFound.
Result<int> partition_count(rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 0, rkt, &md, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status::BrokerUnavailable(std::string("the Kafka brokers did not answer: ") + rd_kafka_err2str(err));
  std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> owned(md, rd_kafka_metadata_destroy);
  if (md->topic_cnt < 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topics[0].partition_cnt < 1)
    return Status::NotFound("no topic " + topic + " on the brokers (nothing was published to it yet?)");
  return md->topics[0].partition_cnt;
}

}  // namespace

EventReader::EventReader() = default;
EventReader::~EventReader() = default;

Result<std::unique_ptr<EventReader>> EventReader::open(const KafkaOptions& kafka, const Options& options,
                                                       std::chrono::milliseconds timeout) {
  std::vector<std::pair<const char*, std::string>> settings = {
      {"bootstrap.servers", kafka.brokers},
      {"client.id", kafka.client_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      // An event is seen within 100 ms of its arrival (the default 500 ms
      // is how long an embedded broker holds every fetch).
      {"fetch.wait.max.ms", "100"},
      {"socket.connection.setup.timeout.ms", "3000"}};
  // librdkafka assigns partitions only to a consumer with a group id; a
  // reader without a group never commits under this one.
  settings.emplace_back("group.id", options.group.empty() ? "resv-reader" : options.group);
  auto conf = make_conf(settings);
  if (!conf.ok()) return conf.status();
  std::array<char, 512> err{};
  auto h = std::make_unique<Handle>();
  h->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.value(), err.data(), err.size());
  if (!h->rk) {
    rd_kafka_conf_destroy(conf.value());
    return Status::Internal(std::string("cannot create the Kafka consumer: ") + err.data());
  }
  rd_kafka_poll_set_consumer(h->rk);
  auto list = topic_list(8);
  for (const auto& topic : options.topics) {
    auto n = partition_count(h->rk, topic, timeout);
    if (!n.ok()) return n.status();
    for (int32_t p = 0; p < n.value(); ++p) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  }
  if (!options.group.empty()) {
    auto e = rd_kafka_committed(h->rk, list.get(), static_cast<int>(timeout.count()));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      return Status::BrokerUnavailable("cannot read group " + options.group + "'s offsets: " + rd_kafka_err2str(e));
  }
  for (int i = 0; i < list->cnt; ++i) {
    auto& e = list->elems[i];
    int64_t low = 0, high = 0;
    if (auto failed = rd_kafka_query_watermark_offsets(h->rk, e.topic, e.partition, &low, &high,
                                                       static_cast<int>(timeout.count()));
        failed)
      return Status::BrokerUnavailable(std::string("the Kafka brokers did not answer: ") + rd_kafka_err2str(failed));
    if (options.group.empty() || e.offset < 0)
      e.offset = options.from_beginning ? low : options.last >= 0 ? std::max(low, high - options.last) : high;
    h->waiting_at_open += std::max<int64_t>(0, high - e.offset);
  }
  if (auto e = rd_kafka_assign(h->rk, list.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status::Internal(std::string("cannot assign the partitions: ") + rd_kafka_err2str(e));
  std::unique_ptr<EventReader> r(new EventReader());
  r->handle_ = std::move(h);
  return r;
}

std::optional<ConsumedEvent> EventReader::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) return std::nullopt;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(handle_->rk, static_cast<int>(left.count()));
    if (!m) return std::nullopt;
    std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> owned(m, rd_kafka_message_destroy);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // end of a partition, a broker hiccup: keep reading
    ConsumedEvent e;
    e.topic = rd_kafka_topic_name(m->rkt);
    e.partition = m->partition;
    e.offset = m->offset;
    if (m->key) e.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) e.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_timestamp_type_t type;
    e.timestamp_ms = rd_kafka_message_timestamp(m, &type);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
        e.headers.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : "");
    }
    handle_->next_offsets[{e.topic, e.partition}] = e.offset + 1;
    return e;
  }
}

int64_t EventReader::waiting_at_open() const { return handle_->waiting_at_open; }

Status EventReader::commit() {
  if (handle_->next_offsets.empty()) return Status::Ok();
  auto list = topic_list(static_cast<int>(handle_->next_offsets.size()));
  for (const auto& [tp, offset] : handle_->next_offsets)
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
  if (auto e = rd_kafka_commit(handle_->rk, list.get(), 0); e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status::BrokerUnavailable(std::string("cannot commit the offsets: ") + rd_kafka_err2str(e));
  return Status::Ok();
}

namespace {

// A consumer handle for reading metadata and offsets, never subscribing.
Result<std::unique_ptr<EventReader::Handle>> metadata_client(const KafkaOptions& kafka, const std::string& group) {
  auto conf = make_conf({{"bootstrap.servers", kafka.brokers},
                         {"client.id", kafka.client_id},
                         {"group.id", group.empty() ? "resv-reader" : group},
                         {"enable.auto.commit", "false"},
                         {"socket.connection.setup.timeout.ms", "3000"}});
  if (!conf.ok()) return conf.status();
  std::array<char, 512> err{};
  auto h = std::make_unique<EventReader::Handle>();
  h->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.value(), err.data(), err.size());
  if (!h->rk) {
    rd_kafka_conf_destroy(conf.value());
    return Status::Internal(std::string("cannot create a Kafka client: ") + err.data());
  }
  return h;
}

Status unreachable(const KafkaOptions& kafka, rd_kafka_resp_err_t err) {
  return Status::BrokerUnavailable("the Kafka brokers at " + kafka.brokers + " did not answer: " + rd_kafka_err2str(err));
}

}  // namespace

Result<std::vector<PartitionOffsets>> read_partitions(const KafkaOptions& kafka, const std::string& topic_prefix,
                                                      std::chrono::milliseconds timeout) {
  auto client = metadata_client(kafka, "");
  if (!client.ok()) return client.status();
  rd_kafka_t* rk = client.value()->rk;
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(timeout.count())); err)
    return unreachable(kafka, err);
  std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> owned(md, rd_kafka_metadata_destroy);
  std::vector<PartitionOffsets> out;
  for (int t = 0; t < md->topic_cnt; ++t) {
    std::string name = md->topics[t].topic;
    if (!name.starts_with(topic_prefix)) continue;
    for (int p = 0; p < md->topics[t].partition_cnt; ++p) {
      PartitionOffsets po{name, md->topics[t].partitions[p].id, 0, 0, -1};
      if (auto err = rd_kafka_query_watermark_offsets(rk, name.c_str(), po.partition, &po.low, &po.high,
                                                      static_cast<int>(timeout.count()));
          err)
        return unreachable(kafka, err);
      out.push_back(po);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition); });
  return out;
}

Result<std::vector<PartitionOffsets>> read_committed(const KafkaOptions& kafka, const std::string& group,
                                                     std::vector<PartitionOffsets> partitions,
                                                     std::chrono::milliseconds timeout) {
  if (partitions.empty()) return partitions;
  auto client = metadata_client(kafka, group);
  if (!client.ok()) return client.status();
  auto list = topic_list(static_cast<int>(partitions.size()));
  for (const auto& p : partitions) rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
  if (auto err = rd_kafka_committed(client.value()->rk, list.get(), static_cast<int>(timeout.count())); err)
    return unreachable(kafka, err);
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    for (auto& p : partitions)
      if (p.topic == e.topic && p.partition == e.partition) p.committed = e.offset >= 0 ? e.offset : -1;
  }
  return partitions;
}

Result<std::vector<std::string>> list_groups(const KafkaOptions& kafka, std::chrono::milliseconds timeout) {
  auto client = metadata_client(kafka, "");
  if (!client.ok()) return client.status();
  const rd_kafka_group_list* groups = nullptr;
  if (auto err = rd_kafka_list_groups(client.value()->rk, nullptr, &groups, static_cast<int>(timeout.count())); err)
    return unreachable(kafka, err);
  std::vector<std::string> out;
  for (int i = 0; i < groups->group_cnt; ++i) out.emplace_back(groups->groups[i].group);
  rd_kafka_group_list_destroy(groups);
  std::sort(out.begin(), out.end());
  return out;
}

struct MockCluster::Handle {
  rd_kafka_t* rk = nullptr;  // librdkafka wants a client instance to keep the cluster's books
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Handle() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (rk) rd_kafka_destroy(rk);
  }
};

Result<std::unique_ptr<MockCluster>> MockCluster::start(int brokers) {
  auto conf = make_conf({{"client.id", "resv-mock-cluster"}});
  if (!conf.ok()) return conf.status();
  std::array<char, 512> err{};
  auto h = std::make_unique<Handle>();
  h->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.value(), err.data(), err.size());
  if (!h->rk) {
    rd_kafka_conf_destroy(conf.value());
    return Status::Internal(std::string("cannot create the embedded Kafka cluster's client: ") + err.data());
  }
  h->cluster = rd_kafka_mock_cluster_new(h->rk, brokers);
  if (!h->cluster) return Status::Internal("cannot create the embedded Kafka cluster (rd_kafka_mock_cluster_new)");
  std::unique_ptr<MockCluster> m(new MockCluster());
  m->bootstrap_ = rd_kafka_mock_cluster_bootstraps(h->cluster);
  m->brokers_ = brokers;
  m->handle_ = std::move(h);
  return m;
}

MockCluster::MockCluster() = default;
MockCluster::~MockCluster() = default;

void MockCluster::set_down(bool down) {
  for (int32_t id = 1; id <= brokers_; ++id) {
    if (down)
      rd_kafka_mock_broker_set_down(handle_->cluster, id);
    else
      rd_kafka_mock_broker_set_up(handle_->cluster, id);
  }
  down_ = down;
}

}  // namespace resv
