#include "queue/issuer.h"

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "db/answer.h"
#include "db/pg_text.h"

namespace resv {
namespace {

std::optional<SysTime> parse_ts(const nlohmann::json& j) {
  if (!j.is_string()) return std::nullopt;
  // "YYYY-MM-DDTHH:MM:SS.mmmZ" (resv_ts)
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(j.get<std::string>().c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
}

}  // namespace

std::vector<Result<IssuedToken>> issued_from_db_json(const std::string& json, int64_t concert,
                                                     const std::vector<int64_t>& users, const std::string& secret,
                                                     std::vector<QueueTokenRow>* rows) {
  std::vector<Result<IssuedToken>> out;
  auto j = nlohmann::json::parse(json, nullptr, false);
  auto all = [&](Status s) {
    out.assign(users.size(), Result<IssuedToken>(s));
    return out;
  };
  if (!j.is_object() || !j.contains("ok")) return all(Status::Internal("unexpected answer from resv_queue_issue"));
  if (j["ok"] != true) return all(status_from_db_json(json));
  if (!j.contains("tokens") || !j["tokens"].is_array())
    return all(Status::Internal("unexpected answer from resv_queue_issue: no tokens"));
  std::unordered_map<int64_t, IssuedToken> by_user;
  std::vector<QueueTokenRow> parsed;
  try {
    for (const auto& t : j["tokens"]) {
      QueueTokenRow row;
      row.user_id = t.at("userId").get<int64_t>();
      row.nonce = std::stoll(t.at("nonce").get<std::string>());
      row.position = t.at("position").is_number_integer() ? t["position"].get<int64_t>() : 0;
      row.state = token_state_from(t.at("status").get<std::string>()).value_or(TokenState::Expired);
      row.expires_at = parse_ts(t.value("expiresAt", nlohmann::json()));
      row.change_no = t.at("changeNo").get<int64_t>();
      parsed.push_back(row);
      by_user[row.user_id] = IssuedToken{sign_queue_token({concert, row.user_id, row.nonce}, secret), concert,
                                         row.user_id, row.position, row.state};
    }
  } catch (const std::exception& e) {
    return all(Status::Internal(std::string("unexpected answer from resv_queue_issue: ") + e.what()));
  }
  if (rows) rows->insert(rows->end(), parsed.begin(), parsed.end());
  for (int64_t u : users) {
    auto it = by_user.find(u);
    if (it != by_user.end())
      out.emplace_back(it->second);
    else
      out.emplace_back(Status::NotFound("user " + std::to_string(u) + " does not exist"));
  }
  return out;
}

QueueIssuer::QueueIssuer(AsyncPg& db, QueueView& view, size_t max_batch)
    : db_(db), view_(view), max_batch_(max_batch) {}

void QueueIssuer::issue(int64_t concert, int64_t user, Callback cb) {
  std::vector<Pending> batch;
  {
    std::lock_guard lock(mu_);
    auto& lane = lanes_[concert];
    lane.pending.push_back({user, std::move(cb)});
    if (lane.in_flight) return;
    lane.in_flight = true;
    batch.swap(lane.pending);
  }
  send(concert, std::move(batch));
}

void QueueIssuer::send(int64_t concert, std::vector<Pending> batch) {
  std::string secret = view_.secret();
  if (secret.empty()) {
    for (auto& p : batch) p.cb(Status::DbUnavailable("the waiting room is starting (no token key yet); retry shortly"));
    return done(concert);
  }
  std::vector<int64_t> asked;
  for (const auto& p : batch) asked.push_back(p.user);
  std::string users = pg_int_array(asked);
  auto shared = std::make_shared<std::vector<Pending>>(std::move(batch));
  bool queued = db_.submit(
      {"queue_issue", {std::to_string(concert), users}},
      [this, concert, shared, secret, asked](Result<std::string> answer) {
        std::vector<QueueTokenRow> rows;
        auto results = answer.ok() ? issued_from_db_json(answer.value(), concert, asked, secret, &rows)
                                   : std::vector<Result<IssuedToken>>(asked.size(), answer.status());
        view_.apply_tokens(concert, rows);
        for (size_t i = 0; i < shared->size(); ++i) (*shared)[i].cb(std::move(results[i]));
        done(concert);
      });
  if (!queued) {
    for (auto& p : *shared) p.cb(Status::Overloaded("the database pool is full; retry shortly"));
    done(concert);
  }
}

// The batch is answered: the requests that arrived meanwhile go next.
void QueueIssuer::done(int64_t concert) {
  std::vector<Pending> next;
  {
    std::lock_guard lock(mu_);
    auto& lane = lanes_[concert];
    if (lane.pending.empty()) {
      lane.in_flight = false;
      return;
    }
    size_t n = std::min(max_batch_, lane.pending.size());
    next.assign(std::make_move_iterator(lane.pending.begin()), std::make_move_iterator(lane.pending.begin() + static_cast<long>(n)));
    lane.pending.erase(lane.pending.begin(), lane.pending.begin() + static_cast<long>(n));
  }
  send(concert, std::move(next));
}

}  // namespace resv
