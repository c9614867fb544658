#pragma once
// A small blocking HTTP/1.1 client with keep-alive and a timeout per request:
// the CLI's way to the admin and public APIs (and the tests').
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace resv::cli {

struct HttpResult {
  int status = 0;  // 0: the connection failed (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;
};

class HttpClient {
 public:
  // Every request (connect, write, read) must finish within `timeout`.
  HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpResult request(const std::string& method, const std::string& target, const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {});
  HttpResult get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    return request("GET", target, "", headers);
  }
  HttpResult post(const std::string& target, const std::string& body,
                  const std::map<std::string, std::string>& headers = {}) {
    return request("POST", target, body, headers);
  }
  // Sends raw bytes and returns what the server answered (for malformed input).
  std::string raw(const std::string& bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace resv::cli
