#include "booking/availability.h"

namespace resv {

template class BasicAvailabilityFilter<std::chrono::steady_clock>;

}  // namespace resv
