#include "server/app.h"

#include <spdlog/spdlog.h>

#include "server/errors.h"

namespace resv {

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

void run_db(App& app, Reply reply, std::function<void(Store&, Reply&)> fn) {
  // The reply is shared so that a refused submit can still answer.
  auto shared = std::make_shared<Reply>(std::move(reply));
  bool queued = app.db.submit([shared, fn = std::move(fn)](Store* store, const Status& why_not) {
    if (!store) return (*shared)(error_response(why_not));
    try {
      fn(*store, *shared);
    } catch (const std::exception& e) {
      spdlog::error("msg=\"database handler threw\" error=\"{}\"", e.what());
      (*shared)(error_response(Status::Internal("internal error; see the server log")));
    }
  });
  if (!queued)
    (*shared)(error_response(Status::Overloaded("the server is at capacity (database pool and queue full); retry "
                                                "after the Retry-After delay")));
}

void run_write(App& app, Reply reply, const char* statement, Params params,
               std::function<void(Result<std::string>, Reply&)> fn, AsyncPg::Precheck precheck, int64_t group,
               std::optional<AsyncPg::Batchable> batch) {
  auto shared = std::make_shared<Reply>(std::move(reply));
  bool queued = app.writes.submit(
      statement, std::move(params),
      [shared, fn = std::move(fn)](Result<std::string> answer) {
        try {
          fn(std::move(answer), *shared);
        } catch (const std::exception& e) {
          spdlog::error("msg=\"write handler threw\" error=\"{}\"", e.what());
          (*shared)(error_response(Status::Internal("internal error; see the server log")));
        }
      },
      std::move(precheck), group, std::move(batch));
  if (!queued)
    (*shared)(error_response(Status::Overloaded("the server is at capacity (database pool and queue full); retry "
                                                "after the Retry-After delay")));
}

void serve_cached(App& app, const std::string& key, Reply reply, std::function<Result<std::string>(Store&)> fetch) {
  auto hit = app.cache.get(key);
  if (hit.body) {
    HttpResponse r;
    r.shared_body = hit.body;
    reply(std::move(r));
    if (!hit.refresh) return;
    // Stale: answered already; refresh in the background for the next caller.
    reply = [](HttpResponse) {};
  }
  ReadCache* cache = &app.cache;
  // Any answer but 200 (error, overload, timeout) frees the key for a retry.
  Reply finish = [cache, key, reply = std::move(reply)](HttpResponse r) {
    if (r.status != 200) cache->abandon(key);
    reply(std::move(r));
  };
  run_db(app, std::move(finish), [cache, key, fetch = std::move(fetch)](Store& store, Reply& out) {
    auto body = fetch(store);
    if (!body.ok()) return out(error_response(body.status()));
    auto shared = std::make_shared<const std::string>(std::move(body.value()));
    cache->put(key, shared);
    HttpResponse r;
    r.shared_body = shared;
    out(std::move(r));
  });
}

}  // namespace resv
