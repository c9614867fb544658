#include "server/app.h"

#include <spdlog/spdlog.h>

#include "base/logfmt.h"
#include "server/errors.h"

namespace resv {

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

void reply_internal_error(Reply& reply, const std::exception& e) {
  spdlog::error("msg=\"handler threw\" error={}", logfmt(e.what()));
  reply(error_response(Status::Internal("internal error; see the server log")));
}

namespace {

// Runs `fn(store, reply)` on a database worker. Answers 503 at once when the
// pool's queue is full, and the worker's Status when it could not run (waited
// too long, shutting down); an exception becomes a 500.
void run_db(App& app, Reply reply, std::function<void(Store&, Reply&)> fn) {
  // The reply is shared so that a refused submit can still answer.
  auto shared = std::make_shared<Reply>(std::move(reply));
  bool queued = app.db.submit([shared, fn = std::move(fn)](Store* store, const Status& why_not) {
    if (!store) return (*shared)(error_response(why_not));
    try {
      fn(*store, *shared);
    } catch (const std::exception& e) {
      reply_internal_error(*shared, e);
    }
  });
  if (!queued)
    (*shared)(error_response(Status::Overloaded("the server is at capacity (database pool and queue full); retry "
                                                "after the Retry-After delay")));
}

// Renders `key` through `fetch` on a DB worker and answers `reply`; puts the
// body in the cache, or on any answer but 200 (error, overload, timeout)
// frees the key for a retry.
void render(App& app, const std::string& key, Reply reply, std::function<Result<std::string>(Store&)> fetch) {
  ReadCache* cache = &app.cache;
  Reply finish = [cache, key, reply = std::move(reply)](HttpResponse r) {
    if (r.status != 200) cache->abandon(key);
    reply(std::move(r));
  };
  app.renders.inc();
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

}  // namespace

void serve_cached(App& app, const std::string& key, Reply reply, std::function<Result<std::string>(Store&)> fetch) {
  // Missing while another request renders it: this one waits for that body;
  // should that render fail, it asks the database itself, for its own answer
  // (a 404 stays a 404). The waiter takes the reply only when it must wait.
  auto hit = app.cache.get(key, [&] {
    return [&app, key, fetch, waiting = std::make_shared<Reply>(std::move(reply))](ReadCache::Body body) {
      if (!body) return render(app, key, std::move(*waiting), fetch);
      HttpResponse r;
      r.shared_body = std::move(body);
      (*waiting)(std::move(r));
    };
  });
  if (!hit.body && !hit.refresh) return;
  if (hit.body) {
    HttpResponse r;
    r.shared_body = hit.body;
    reply(std::move(r));
    if (!hit.refresh) return;
    // Stale: answered already; refresh in the background for the next caller.
    reply = [](HttpResponse) {};
  }
  render(app, key, std::move(reply), std::move(fetch));
}

}  // namespace resv
