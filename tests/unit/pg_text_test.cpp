// Connection strings as libpq takes them: both URL and key=value forms.
#include <gtest/gtest.h>

#include "db/pg_text.h"

namespace resv {
namespace {

TEST(ApplicationName, IsPercentEncodedOnAUrlAfterWhatItHad) {
  EXPECT_EQ(with_application_name("postgresql://u@h/db", "resv-server:8080 write"),
            "postgresql://u@h/db?application_name=resv-server%3A8080%20write");
  EXPECT_EQ(with_application_name("postgres://h/db?sslmode=disable&application_name=x", "resv locks"),
            "postgres://h/db?sslmode=disable&application_name=x&application_name=resv%20locks")
      << "libpq takes the last one";
}

TEST(ApplicationName, IsQuotedInAKeyValueString) {
  EXPECT_EQ(with_application_name("host=h dbname=db", "it's"), "host=h dbname=db application_name='it\\'s'");
  EXPECT_EQ(with_application_name("", "resv locks"), " application_name='resv locks'");
}

TEST(ConnectTimeout, IsAddedOnlyWhenMissing) {
  EXPECT_EQ(with_connect_timeout("postgresql://h/db", 2), "postgresql://h/db?connect_timeout=2");
  EXPECT_EQ(with_connect_timeout("host=h connect_timeout=9", 2), "host=h connect_timeout=9");
}

}  // namespace
}  // namespace resv
