#include "base/read_cache.h"

namespace resv {

template class BasicReadCache<std::chrono::steady_clock>;

}  // namespace resv
