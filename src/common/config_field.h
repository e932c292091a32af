// ConfigField: one config key ("section.name"): its type, help, and how it is stored into and
// read back from the struct that holds it. The TOML reader (cli/config_loader.cc) checks types
// and integer ranges before `set` is called; the struct's Validate() checks the rest. Modules
// declare the keys they own next to the struct that holds them (a technique's section, a
// strategy's options), so adding one touches no central list.
#ifndef TRIBUTARY_COMMON_CONFIG_FIELD_H_
#define TRIBUTARY_COMMON_CONFIG_FIELD_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tributary {

enum class ConfigType { kBool, kInteger, kFloat, kString };

// Holds a value of the field's type: bool, int64_t, double or std::string, in that order.
using ConfigValue = std::variant<bool, int64_t, double, std::string>;

template <typename Target>
struct ConfigField {
  std::string key;  // "section.name"
  ConfigType type = ConfigType::kString;
  std::string help;
  bool required = false;
  int64_t min_integer = std::numeric_limits<int64_t>::min();  // kInteger: accepted range
  int64_t max_integer = std::numeric_limits<int64_t>::max();
  // Stores a value of `type` (an integer already within range); an error says what is wrong.
  std::function<absl::Status(const ConfigValue&, Target&)> set;
  // The current value. Takes the target mutably: reading a plug-in's section may create it.
  std::function<ConfigValue(Target&)> get;
};

// `member(target)` returns a reference to where the value lives.
template <typename Target, typename Member>
ConfigField<Target> IntegerField(std::string key, std::string help, Member member, int64_t min,
                                 int64_t max, bool required = false) {
  using T = std::remove_reference_t<std::invoke_result_t<Member, Target&>>;
  ConfigField<Target> f{.key = std::move(key),
                        .type = ConfigType::kInteger,
                        .help = std::move(help),
                        .required = required,
                        .min_integer = min,
                        .max_integer = max};
  f.set = [member](const ConfigValue& v, Target& t) {
    member(t) = static_cast<T>(std::get<int64_t>(v));
    return absl::OkStatus();
  };
  f.get = [member](Target& t) { return ConfigValue(static_cast<int64_t>(member(t))); };
  return f;
}

template <typename Target, typename Member>
ConfigField<Target> FloatField(std::string key, std::string help, Member member) {
  ConfigField<Target> f{.key = std::move(key), .type = ConfigType::kFloat, .help = std::move(help)};
  f.set = [member](const ConfigValue& v, Target& t) {
    member(t) = std::get<double>(v);
    return absl::OkStatus();
  };
  f.get = [member](Target& t) { return ConfigValue(static_cast<double>(member(t))); };
  return f;
}

template <typename Target, typename Member>
ConfigField<Target> BoolField(std::string key, std::string help, Member member) {
  ConfigField<Target> f{.key = std::move(key), .type = ConfigType::kBool, .help = std::move(help)};
  f.set = [member](const ConfigValue& v, Target& t) {
    member(t) = std::get<bool>(v);
    return absl::OkStatus();
  };
  f.get = [member](Target& t) { return ConfigValue(static_cast<bool>(member(t))); };
  return f;
}

template <typename Target, typename Member>
ConfigField<Target> StringField(std::string key, std::string help, Member member,
                                bool required = false) {
  ConfigField<Target> f{.key = std::move(key),
                        .type = ConfigType::kString,
                        .help = std::move(help),
                        .required = required};
  f.set = [member](const ConfigValue& v, Target& t) {
    member(t) = std::get<std::string>(v);
    return absl::OkStatus();
  };
  f.get = [member](Target& t) { return ConfigValue(std::string(member(t))); };
  return f;
}

// A string naming one value of an enum: `parse(name)` gives a StatusOr of it (rejecting unknown
// names), `name(value)` writes it back.
template <typename Target, typename Member, typename Parse, typename Name>
ConfigField<Target> EnumField(std::string key, std::string help, Member member, Parse parse,
                              Name name, bool required = false) {
  ConfigField<Target> f{.key = std::move(key),
                        .type = ConfigType::kString,
                        .help = std::move(help),
                        .required = required};
  f.set = [member, parse](const ConfigValue& v, Target& t) -> absl::Status {
    auto parsed = parse(std::get<std::string>(v));
    if (!parsed.ok()) return parsed.status();
    member(t) = *parsed;
    return absl::OkStatus();
  };
  f.get = [member, name](Target& t) { return ConfigValue(std::string(name(member(t)))); };
  return f;
}

// The same key, stored in the `part` (e.g. the [strategy] struct) of a larger target.
template <typename Whole, typename Part, typename PartOf>
ConfigField<Whole> Rebind(const ConfigField<Part>& field, PartOf part_of) {
  ConfigField<Whole> f{.key = field.key,
                       .type = field.type,
                       .help = field.help,
                       .required = field.required,
                       .min_integer = field.min_integer,
                       .max_integer = field.max_integer};
  f.set = [set = field.set, part_of](const ConfigValue& v, Whole& w) { return set(v, part_of(w)); };
  f.get = [get = field.get, part_of](Whole& w) { return get(part_of(w)); };
  return f;
}

}  // namespace tributary

#endif  // TRIBUTARY_COMMON_CONFIG_FIELD_H_
