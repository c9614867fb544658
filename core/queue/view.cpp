#include "queue/view.h"

#include <algorithm>

namespace resv {

std::string_view token_state_name(TokenState s) {
  switch (s) {
    case TokenState::Waiting: return "WAITING";
    case TokenState::Active: return "ACTIVE";
    case TokenState::Expired: return "EXPIRED";
  }
  return "EXPIRED";
}

std::optional<TokenState> token_state_from(std::string_view name) {
  if (name == "WAITING") return TokenState::Waiting;
  if (name == "ACTIVE") return TokenState::Active;
  if (name == "EXPIRED") return TokenState::Expired;
  return std::nullopt;
}

// ---- PositionCounts ------------------------------------------------------------

void PositionCounts::add(int64_t position, int delta) {
  if (position <= 0) return;
  auto n = static_cast<int64_t>(tree_.size());
  if (position >= n) {
    // Grow (doubling) and rebuild from the point values in O(n).
    auto size = static_cast<size_t>(std::max<int64_t>(position + 1, 2 * n));
    values_.resize(size, 0);
    tree_.assign(size, 0);
    for (size_t i = 1; i < size; ++i) {
      tree_[i] += values_[i];
      size_t parent = i + (i & (~i + 1));
      if (parent < size) tree_[parent] += tree_[i];
    }
    n = static_cast<int64_t>(size);
  }
  values_[static_cast<size_t>(position)] += delta;
  for (auto i = position; i < n; i += i & -i) tree_[static_cast<size_t>(i)] += delta;
}

int64_t PositionCounts::prefix(int64_t position) const {
  int64_t sum = 0;
  for (auto i = std::min<int64_t>(position, static_cast<int64_t>(tree_.size()) - 1); i > 0; i -= i & -i)
    sum += tree_[static_cast<size_t>(i)];
  return sum;
}

// ---- QueueView -----------------------------------------------------------------

void QueueView::set_secret(std::string secret) {
  std::unique_lock lock(mu_);
  secret_ = std::move(secret);
}

std::string QueueView::secret() const {
  std::shared_lock lock(mu_);
  return secret_;
}

std::optional<QueueTokenClaims> QueueView::verify(std::string_view token) const {
  std::shared_lock lock(mu_);
  return verify_queue_token(token, secret_);
}

void QueueView::set_concerts(const std::vector<QueueConcertRow>& rows,
                             std::unordered_map<int64_t, int64_t> schedules) {
  std::unique_lock lock(mu_);
  std::map<int64_t, Concert> next;
  for (const auto& row : rows) {
    auto it = concerts_.find(row.concert_id);
    Concert c;
    if (it != concerts_.end() && row.change_no >= it->second.synced) c = std::move(it->second);
    c.row = row;
    next.emplace(row.concert_id, std::move(c));
  }
  concerts_ = std::move(next);
  schedules_ = std::move(schedules);
}

std::vector<QueueConcertRow> QueueView::concerts() const {
  std::shared_lock lock(mu_);
  std::vector<QueueConcertRow> out;
  for (const auto& [id, c] : concerts_) out.push_back(c.row);
  return out;
}

int64_t QueueView::synced_change_no(int64_t concert) const {
  std::shared_lock lock(mu_);
  auto it = concerts_.find(concert);
  return it == concerts_.end() ? 0 : it->second.synced;
}

void QueueView::apply_tokens(int64_t concert, const std::vector<QueueTokenRow>& rows, std::optional<int64_t> synced) {
  std::unique_lock lock(mu_);
  auto it = concerts_.find(concert);
  if (it == concerts_.end()) {
    if (rows.empty() && !synced) return;
    it = concerts_.emplace(concert, Concert{}).first;
    it->second.row.concert_id = concert;  // settings come with the next sync
  }
  auto& c = it->second;
  auto count = [&c](const Entry& e, int delta) {
    if (e.state != TokenState::Waiting) return;
    if (e.position > 0)
      c.waiting.add(e.position, delta);
    else
      c.waiting_unplaced += delta;
  };
  for (const auto& r : rows) {
    Entry e{r.nonce, r.position, r.state, r.expires_at, r.change_no};
    auto [pos, inserted] = c.tokens.try_emplace(r.user_id, e);
    if (!inserted) {
      if (pos->second.change_no > r.change_no) continue;  // a newer state is already known
      count(pos->second, -1);
      pos->second = e;
    }
    count(e, +1);
  }
  if (synced) c.synced = std::max(c.synced, *synced);
}

std::optional<int64_t> QueueView::concert_of_schedule(int64_t schedule) const {
  std::shared_lock lock(mu_);
  auto it = schedules_.find(schedule);
  if (it == schedules_.end()) return std::nullopt;
  return it->second;
}

bool QueueView::queue_enabled(int64_t concert) const {
  std::shared_lock lock(mu_);
  auto it = concerts_.find(concert);
  return it != concerts_.end() && it->second.row.enabled;
}

Result<TokenStatus> QueueView::status(const QueueTokenClaims& claims, SysTime now) const {
  std::shared_lock lock(mu_);
  auto it = concerts_.find(claims.concert_id);
  if (it == concerts_.end())
    return Status::Error(ErrorCode::QueueTokenInvalid,
                         "concert " + std::to_string(claims.concert_id) + " has no waiting room");
  const auto& c = it->second;
  TokenStatus s;
  s.opens_at = c.row.opens_at;
  auto t = c.tokens.find(claims.user_id);
  if (t == c.tokens.end()) {
    s.ahead = c.waiting.prefix(INT64_MAX);
    return s;
  }
  const Entry& e = t->second;
  if (e.nonce != claims.nonce)
    return Status::Error(ErrorCode::QueueTokenInvalid,
                         "this Queue-Token was replaced; ask POST /api/queue/tokens for the current one");
  s.state = e.state;
  s.position = e.position;
  s.expires_at = e.expires_at;
  if (e.state == TokenState::Active && e.expires_at && *e.expires_at <= now) s.state = TokenState::Expired;
  if (s.state != TokenState::Waiting) return s;
  s.ahead = e.position > 0 ? c.waiting.prefix(e.position - 1) : c.waiting.prefix(INT64_MAX);
  if (!c.row.paused && c.row.admitted_last_minute > 0)
    s.eta_s = static_cast<double>(s.ahead) * 60.0 / static_cast<double>(c.row.admitted_last_minute);
  if (e.position == 0 && c.row.opens_at)
    s.eta_s = std::max(0.0, std::chrono::duration<double>(*c.row.opens_at - now).count());
  return s;
}

void QueueView::seen(int64_t concert, int64_t user) {
  std::lock_guard lock(seen_mu_);
  seen_.emplace(concert, user);
}

std::vector<std::pair<int64_t, int64_t>> QueueView::take_seen() {
  std::lock_guard lock(seen_mu_);
  std::vector<std::pair<int64_t, int64_t>> out(seen_.begin(), seen_.end());
  seen_.clear();
  return out;
}

}  // namespace resv
