// Propagation helpers for absl::Status; absl 20220623 ships none publicly.
#ifndef TRIBUTARY_COMMON_STATUS_UTIL_H_
#define TRIBUTARY_COMMON_STATUS_UTIL_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TRIB_STATUS_CONCAT_INNER(a, b) a##b
#define TRIB_STATUS_CONCAT(a, b) TRIB_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define TRIB_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status trib_status_ = (expr);        \
    if (!trib_status_.ok()) return trib_status_; \
  } while (0)

// `lhs` = value of `expr` (an absl::StatusOr<T>), or returns its error.
#define TRIB_ASSIGN_OR_RETURN(lhs, expr) \
  TRIB_ASSIGN_OR_RETURN_IMPL(TRIB_STATUS_CONCAT(trib_statusor_, __LINE__), lhs, expr)
#define TRIB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#endif  // TRIBUTARY_COMMON_STATUS_UTIL_H_
