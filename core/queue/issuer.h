#pragma once
// Issues waiting-room tokens in batches: while one batch for a concert is in
// the database, new requests for that concert wait and then go together as
// the next one (group commit). One round trip and one row lock serve a whole
// batch, which is what lets a server issue tens of thousands per second; the
// database places each batch after everything already placed (gap-free,
// one token per user, across all servers).
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "db/async_pg.h"
#include "queue/view.h"

namespace resv {

struct IssuedToken {
  std::string token;
  int64_t concert_id = 0;
  int64_t user_id = 0;
  int64_t position = 0;  // 0: in the pre-queue, placed at opening
  TokenState state = TokenState::Waiting;
};

// Parses resv_queue_issue's answer into one result per asked user (in the
// order asked), signing each token with `secret`. Pure.
std::vector<Result<IssuedToken>> issued_from_db_json(const std::string& json, int64_t concert,
                                                     const std::vector<int64_t>& users, const std::string& secret,
                                                     std::vector<QueueTokenRow>* rows = nullptr);

class QueueIssuer {
 public:
  using Callback = std::function<void(Result<IssuedToken>)>;
  QueueIssuer(AsyncPg& db, QueueView& view, size_t max_batch = 5000);
  // Calls back exactly once (on the pool's loop).
  void issue(int64_t concert, int64_t user, Callback cb);

 private:
  struct Pending {
    int64_t user;
    Callback cb;
  };
  struct Lane {
    bool in_flight = false;
    std::vector<Pending> pending;
  };
  void send(int64_t concert, std::vector<Pending> batch);
  void done(int64_t concert);

  AsyncPg& db_;
  QueueView& view_;
  size_t max_batch_;
  std::mutex mu_;
  std::map<int64_t, Lane> lanes_;
};

}  // namespace resv
