#pragma once
// A FILE* that keeps what is written to it, for tests of code that writes
// to a stream (stdout, stderr) without a terminal or a pipe.
#include <cstdio>
#include <cstdlib>
#include <string>

namespace resv::test {

struct CapturedStream {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  CapturedStream() = default;
  CapturedStream(const CapturedStream&) = delete;
  CapturedStream& operator=(const CapturedStream&) = delete;
  ~CapturedStream() {
    std::fclose(f);
    std::free(buf);
  }
  std::string text() {
    std::fflush(f);
    return std::string(buf, len);
  }
};

}  // namespace resv::test
