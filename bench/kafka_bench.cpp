// resv-kafka-bench: the Kafka side of bench/events.sh, on raw librdkafka.
//   produce BROKERS N BODY_BYTES   the ceiling of the relay: a bare producer, configured as the relay's
//                                  (idempotent, acks=all, linger.ms 1), sends N messages with three
//                                  headers and a key out of 1000 to topic bench.bare and waits for every
//                                  acknowledgement
//   latency BROKERS TOPIC SECONDS TYPE  a consumer from the end of TOPIC for SECONDS: per event of
//                                  TYPE (header event-type), the time from its transaction (the body's
//                                  occurredAt) to its arrival here
// Prints one JSON line.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

rd_kafka_t* client(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : settings)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "resv-kafka-bench: %s\n", err);
      std::exit(2);
    }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "resv-kafka-bench: %s\n", err);
    std::exit(1);
  }
  return rk;
}

int produce(const std::string& brokers, long n, size_t body_bytes) {
  long failed = 0;
  rd_kafka_t* rk = client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", brokers},
                                              {"enable.idempotence", "true"},
                                              {"enable.gapless.guarantee", "true"},
                                              {"acks", "all"},
                                              {"linger.ms", "1"}});
  const std::string body(body_bytes, 'x');
  const std::string type = "ReservationConfirmed", version = "1";
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    const std::string key = std::to_string(i % 1000), id = std::to_string(i + 1);
    rd_kafka_vu_t vu[8];
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = "bench.bare";
    vu[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[1].u.i = RD_KAFKA_MSG_F_COPY;
    vu[2].vtype = RD_KAFKA_VTYPE_KEY;
    vu[2].u.mem = {const_cast<char*>(key.data()), key.size()};
    vu[3].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[3].u.mem = {const_cast<char*>(body.data()), body.size()};
    vu[4].vtype = RD_KAFKA_VTYPE_HEADER;
    vu[4].u.header = {"event-id", id.data(), static_cast<ssize_t>(id.size())};
    vu[5].vtype = RD_KAFKA_VTYPE_HEADER;
    vu[5].u.header = {"event-type", type.data(), static_cast<ssize_t>(type.size())};
    vu[6].vtype = RD_KAFKA_VTYPE_HEADER;
    vu[6].u.header = {"schema-version", version.data(), static_cast<ssize_t>(version.size())};
    for (;;) {
      rd_kafka_error_t* e = rd_kafka_produceva(rk, vu, 7);
      if (!e) break;
      const bool full = rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__QUEUE_FULL;
      rd_kafka_error_destroy(e);
      if (!full) {
        ++failed;
        break;
      }
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  rd_kafka_destroy(rk);
  std::printf("%s\n", nlohmann::json{{"messages", n}, {"failed", failed}, {"seconds", s},
                                     {"perSecond", static_cast<double>(n) / s}}
                          .dump()
                          .c_str());
  return 0;
}

// "2026-12-02T05:00:00.123Z" -> milliseconds since the epoch (0 when not that).
int64_t epoch_ms(const std::string& iso) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ms) != 7)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// The value of header `name` of `m` ("" when none).
std::string header(rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* hdrs = nullptr;
  const void* v = nullptr;
  size_t size = 0;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(hdrs, name, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !v)
    return "";
  return std::string(static_cast<const char*>(v), size);
}

int latency(const std::string& brokers, const std::string& topic, double seconds, const std::string& type) {
  rd_kafka_t* rk = client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", brokers},
                                              {"group.id", "resv-kafka-bench"},
                                              {"enable.auto.commit", "false"},
                                              // The embedded broker answers a fetch only when this
                                              // runs out, however much arrived: ask every 10 ms.
                                              {"fetch.wait.max.ms", "10"}});
  rd_kafka_poll_set_consumer(rk);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt < 1) {
    std::fprintf(stderr, "resv-kafka-bench: no metadata for %s\n", topic.c_str());
    return 1;
  }
  auto* list = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
  for (int p = 0; p < md->topics[0].partition_cnt; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<double> lat;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->payload && header(m, "event-type") == type) {
      const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      auto body = nlohmann::json::parse(std::string(static_cast<const char*>(m->payload), m->len), nullptr, false);
      if (body.is_object() && body.contains("occurredAt"))
        if (auto at = epoch_ms(body["occurredAt"].get<std::string>()); at > 0)
          lat.push_back(static_cast<double>(now_ms - at));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  auto pct = [&](double p) {
    if (lat.empty()) return 0.0;
    auto k = static_cast<size_t>(p / 100.0 * static_cast<double>(lat.size() - 1));
    std::nth_element(lat.begin(), lat.begin() + static_cast<long>(k), lat.end());
    return lat[k];
  };
  std::printf("%s\n", nlohmann::json{{"events", lat.size()}, {"p50Ms", pct(50)}, {"p95Ms", pct(95)},
                                     {"maxMs", pct(100)}}
                          .dump()
                          .c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "produce" && argc == 5) return produce(argv[2], std::atol(argv[3]), std::stoul(argv[4]));
  if (mode == "latency" && argc == 6) return latency(argv[2], argv[3], std::atof(argv[4]), argv[5]);
  std::fprintf(stderr, "usage: resv-kafka-bench produce BROKERS N BODY_BYTES | latency BROKERS TOPIC SECONDS TYPE\n");
  return 2;
}
