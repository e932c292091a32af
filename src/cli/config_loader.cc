#include "cli/config_loader.h"

#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/status_util.h"
#include "engine/experiment_fields.h"

namespace tributary {
namespace {

using Field = ExperimentField;

absl::Status TypeError(const std::string& key, const std::string& expected, const toml::node& n) {
  std::ostringstream found;
  found << n.type();
  return absl::InvalidArgumentError(
      absl::StrCat("config key '", key, "' must be ", expected, ", found ", found.str()));
}

// The TOML value as the field's type (a float key also takes an integer), integers in range.
absl::StatusOr<ConfigValue> ReadValue(const Field& f, const toml::node& n) {
  switch (f.type) {
    case ConfigType::kBool:
      if (const auto* v = n.as_boolean()) return ConfigValue(v->get());
      return TypeError(f.key, "true or false", n);
    case ConfigType::kInteger: {
      const auto* v = n.as_integer();
      if (v == nullptr) return TypeError(f.key, "an integer", n);
      if (v->get() < f.min_integer || v->get() > f.max_integer) {
        return absl::InvalidArgumentError(absl::StrCat("config key '", f.key, "' must be in [",
                                                       f.min_integer, ", ", f.max_integer,
                                                       "], got ", v->get()));
      }
      return ConfigValue(v->get());
    }
    case ConfigType::kFloat:
      if (const auto* i = n.as_integer()) return ConfigValue(static_cast<double>(i->get()));
      if (const auto* d = n.as_floating_point()) return ConfigValue(d->get());
      return TypeError(f.key, "a number", n);
    case ConfigType::kString:
      if (const auto* v = n.as_string()) return ConfigValue(v->get());
      return TypeError(f.key, "a string", n);
  }
  return absl::InternalError("unknown config type");
}

absl::Status ReadField(const Field& f, const toml::node& n, ExperimentConfig& config) {
  TRIB_ASSIGN_OR_RETURN(ConfigValue value, ReadValue(f, n));
  absl::Status status = f.set(value, config);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config key '", f.key, "': ", status.message()));
  }
  return absl::OkStatus();
}

std::unique_ptr<toml::node> WriteField(const Field& f, ExperimentConfig& config) {
  return std::visit(
      [](const auto& v) -> std::unique_ptr<toml::node> {
        return std::make_unique<toml::value<std::decay_t<decltype(v)>>>(v);
      },
      f.get(config));
}

std::string_view TypeName(ConfigType type) {
  switch (type) {
    case ConfigType::kBool:
      return "bool";
    case ConfigType::kInteger:
      return "integer";
    case ConfigType::kFloat:
      return "float";
    case ConfigType::kString:
      return "string";
  }
  return "?";
}

const std::vector<Field>& Fields() { return ExperimentFields(); }

const Field* FindField(std::string_view key) { return FindExperimentField(key); }

std::string KnownKeys() {
  std::vector<std::string> keys;
  for (const Field& f : Fields()) keys.push_back(f.key);
  return absl::StrJoin(keys, ", ");
}

// Collects dotted keys of every leaf; a table is only allowed as a section.
absl::Status CheckKeys(const toml::table& table, const std::string& prefix) {
  for (const auto& [name, node] : table) {
    const std::string leaf(name.str());
    const std::string key = prefix.empty() ? leaf : absl::StrCat(prefix, ".", leaf);
    if (node.is_table() && prefix.empty()) {
      TRIB_RETURN_IF_ERROR(CheckKeys(*node.as_table(), key));
    } else if (FindField(key) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown config key '", key, "' (known keys: ", KnownKeys(), ")"));
    }
  }
  return absl::OkStatus();
}

const toml::node* Lookup(const toml::table& root, const std::string& key) {
  std::vector<std::string> parts = absl::StrSplit(key, '.');
  const toml::table* section = root.get_as<toml::table>(parts[0]);
  return section == nullptr ? nullptr : section->get(parts[1]);
}

absl::Status ApplyOverride(toml::table& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set expects key=value, got '", assignment, "'"));
  }
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  const Field* field = FindField(key);
  if (field == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set: unknown config key '", key, "' (known keys: ", KnownKeys(), ")"));
  }
  toml::table holder;
  if (field->type == ConfigType::kString && !value.starts_with('"') && !value.starts_with('\'')) {
    holder.insert("v", value);  // a bare word for a string key is that string, even "nan" or "1"
  } else {
    try {
      holder = toml::parse(absl::StrCat("v = ", value));
    } catch (const toml::parse_error&) {
      holder.insert("v", value);  // not a TOML value: take the bare word as a string
    }
  }
  std::vector<std::string> parts = absl::StrSplit(key, '.');
  if (!root.contains(parts[0])) root.insert(parts[0], toml::table{});
  toml::table* section = root.get_as<toml::table>(parts[0]);
  if (section == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("config key '", parts[0], "' must be a table"));
  }
  section->insert_or_assign(parts[1], std::move(*holder.get("v")));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LoadedConfig> ParseExperimentConfig(std::string_view toml_text,
                                                   std::string_view source_view,
                                                   const std::vector<std::string>& overrides) {
  const std::string source(source_view);
  toml::table root;
  try {
    root = toml::parse(toml_text, source_view);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return absl::InvalidArgumentError(absl::StrCat(source, ": invalid TOML at ", where.str(), ": ",
                                                   std::string(e.description())));
  }
  for (const std::string& assignment : overrides) {
    TRIB_RETURN_IF_ERROR(ApplyOverride(root, assignment));
  }
  absl::Status keys = CheckKeys(root, "");
  if (!keys.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", keys.message()));

  LoadedConfig loaded;
  toml::table resolved;
  for (const Field& field : Fields()) {
    const toml::node* node = Lookup(root, field.key);
    if (node == nullptr && field.required) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": missing required config key '",
                                                     field.key, "' (", field.help, ")"));
    }
    if (node != nullptr) {
      absl::Status status = ReadField(field, *node, loaded.config);
      if (!status.ok())
        return absl::InvalidArgumentError(absl::StrCat(source, ": ", status.message()));
    }
  }
  absl::Status valid = loaded.config.Validate();
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", valid.message()));

  for (const Field& field : Fields()) {
    std::vector<std::string> parts = absl::StrSplit(field.key, '.');
    if (!resolved.contains(parts[0])) resolved.insert(parts[0], toml::table{});
    resolved.get_as<toml::table>(parts[0])->insert(parts[1],
                                                   std::move(*WriteField(field, loaded.config)));
  }
  std::ostringstream out;
  out << resolved << "\n";
  loaded.resolved_toml = out.str();
  return loaded;
}

absl::StatusOr<LoadedConfig> LoadExperimentConfig(const std::string& path,
                                                  const std::vector<std::string>& overrides) {
  TRIB_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseExperimentConfig(text, path, overrides);
}

std::string ConfigReference() {
  std::vector<std::string> sections;
  for (const Field& f : Fields()) {
    const std::string section = absl::StrCat("[", f.key.substr(0, f.key.find('.')), "]");
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      sections.push_back(section);
    }
  }
  std::string out =
      absl::StrCat("Config keys (TOML sections ", absl::StrJoin(sections, " "), "):\n");
  ExperimentConfig defaults;
  int key_width = 0;
  for (const Field& f : Fields()) key_width = std::max(key_width, static_cast<int>(f.key.size()));
  for (const Field& f : Fields()) {
    std::ostringstream value;
    // Floats as %g: 1e-05, not the round-trip 1.0000000000000001e-05 config.toml keeps.
    WriteField(f, defaults)->visit([&value](const auto& node) {
      if constexpr (toml::is_floating_point<decltype(node)>) {
        value << absl::StrFormat("%g", node.get());
      } else {
        value << node;
      }
    });
    absl::StrAppendFormat(
        &out, "  %-*s %-8s %s%s\n", key_width, f.key, TypeName(f.type), f.help,
        f.required ? " (required)" : absl::StrCat(" [default ", value.str(), "]"));
  }
  return out;
}

}  // namespace tributary
