#include "model/shared_base.h"

#include <map>
#include <mutex>

#include "common/status_util.h"

namespace tributary {

absl::StatusOr<std::shared_ptr<const ModelState>> LoadSharedBase(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const ModelState>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  if (std::shared_ptr<const ModelState> held = loaded[path].lock()) return held;
  TRIB_ASSIGN_OR_RETURN(ModelState state, LoadModelState(path));
  auto shared = std::make_shared<const ModelState>(std::move(state));
  loaded[path] = shared;
  return shared;
}

}  // namespace tributary
