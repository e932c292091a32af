// SettingsBag: settings sections owned by plug-ins (a technique's or a strategy's options
// struct), held by type so the config struct that carries them never names them. Copies are
// deep: a copied config can be changed without touching the original.
#ifndef TRIBUTARY_COMMON_SETTINGS_BAG_H_
#define TRIBUTARY_COMMON_SETTINGS_BAG_H_

#include <map>
#include <memory>
#include <typeindex>
#include <utility>

namespace tributary {

class SettingsBag {
 public:
  SettingsBag() = default;
  SettingsBag(const SettingsBag& other) { *this = other; }
  SettingsBag& operator=(const SettingsBag& other) {
    if (this == &other) return *this;
    sections_.clear();
    for (const auto& [type, section] : other.sections_) sections_.emplace(type, section->Clone());
    return *this;
  }
  SettingsBag(SettingsBag&&) = default;
  SettingsBag& operator=(SettingsBag&&) = default;

  // The section of type T; a default-constructed T when none was set.
  template <typename T>
  const T& Get() const {
    auto it = sections_.find(std::type_index(typeid(T)));
    if (it == sections_.end()) {
      static const T kDefaults{};
      return kDefaults;
    }
    return static_cast<const Holder<T>&>(*it->second).value;
  }

  // The section of type T to change; created with its defaults when absent.
  template <typename T>
  T& Mutable() {
    auto [it, inserted] = sections_.try_emplace(std::type_index(typeid(T)));
    if (inserted) it->second = std::make_unique<Holder<T>>();
    return static_cast<Holder<T>&>(*it->second).value;
  }

 private:
  struct Section {
    virtual ~Section() = default;
    virtual std::unique_ptr<Section> Clone() const = 0;
  };
  template <typename T>
  struct Holder final : Section {
    T value{};
    std::unique_ptr<Section> Clone() const override { return std::make_unique<Holder<T>>(*this); }
  };

  std::map<std::type_index, std::unique_ptr<Section>> sections_;
};

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_SETTINGS_BAG_H_
