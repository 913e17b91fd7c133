#include "nccl_log_lines.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "fabtwin/coll/plan.hpp"
#include "nccl_tests_words.hpp"

namespace fabtwin::results::nccl_words {

namespace {

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "[1,0]<stdout>:" or "[1,0]<stderr>:": Open MPI's --tag-output, job and rank then the stream.
std::size_t open_mpi_tag(std::string_view s) {
  if (s.empty() || s[0] != '[') return 0;
  const auto close = s.find(']');
  const auto comma = s.find(',');
  if (close == std::string_view::npos || comma == std::string_view::npos || comma > close) return 0;
  if (!digits(s.substr(1, comma - 1)) || !digits(s.substr(comma + 1, close - comma - 1))) return 0;
  for (const std::string_view stream : {"<stdout>:", "<stderr>:"}) {
    if (s.substr(close + 1, stream.size()) == stream) return close + 1 + stream.size();
  }
  return 0;
}

// "12: " from srun --label: digits, a colon and a space (a table row never has a colon there).
std::size_t srun_label(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  const std::size_t start = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == start || i - start > 7 || i + 1 >= s.size() || s[i] != ':' || s[i + 1] != ' ') return 0;
  return i + 2;
}

std::string unquoted(std::string v) {
  while (!v.empty() && (v.back() == '"' || v.back() == '\'' || v.back() == ';' || v.back() == '\\')) {
    v.pop_back();
  }
  while (!v.empty() && (v.front() == '"' || v.front() == '\'')) v.erase(v.begin());
  return v;
}

bool setting_name(std::string_view name) {
  if (name.size() <= 5 || name.substr(0, 5) != "NCCL_") return false;
  for (const char c : name) {
    if (!std::isupper(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) &&
        c != '_') {
      return false;
    }
  }
  return true;
}

// The number just before `word` ("32 coll channels") or just after it ("nranks 16"), 0 when absent.
std::int32_t number_near(const std::vector<std::string>& t, const std::string& word, int offset) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    const auto j = static_cast<long>(i) + offset;
    if (t[i] != word || j < 0 || j >= static_cast<long>(t.size())) continue;
    const auto v = whole_number(t[static_cast<std::size_t>(j)]);
    if (v && *v > 0 && *v < (1u << 30)) return static_cast<std::int32_t>(*v);
  }
  return 0;
}

}  // namespace

nlohmann::json run_settings(const std::vector<std::string>& t) {
  nlohmann::json settings = nlohmann::json::object();
  std::string key;
  for (const auto& tok : t) {
    const bool numeric = !tok.empty() && std::isdigit(static_cast<unsigned char>(tok[0]));
    if (!numeric) {
      std::string word = tok;
      if (!word.empty() && word.back() == ':') word.pop_back();
      key = key.empty() ? word : key + "_" + word;
      continue;
    }
    if (key.empty()) continue;
    std::string k = key;
    std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
    if (k == "step") {
      settings["step"] = tok;
    } else {
      try {
        settings[k] = std::stoull(tok);
      } catch (const std::exception&) {
        settings[k] = tok;
      }
    }
    key.clear();
  }
  return settings;
}

std::string strip_launcher_prefix(const std::string& line) {
  std::string_view s = line;
  for (bool more = true; more;) {
    std::size_t cut = open_mpi_tag(s);
    if (cut == 0) cut = srun_label(s);
    if (cut == 0 && s.size() >= 2 && s[0] == '>' && s[1] == ' ') cut = 2;
    more = cut != 0;
    s.remove_prefix(cut);
  }
  return std::string(s);
}

bool LogFacts::nccl_line(const std::string& line) {
  const bool info =
      line.find(" NCCL INFO ") != std::string::npos || line.find(" NCCL WARN ") != std::string::npos;
  for (const char* lib : {"NCCL", "RCCL"}) {
    const std::string said = std::string(lib) + " version ";
    const auto at = line.find(said);
    if (at != std::string::npos && (at == 0 || info)) {
      // "NCCL version 2.19.3+cuda12.3", or librccl's "RCCL version : 2.20.5-develop:1f9a6b0".
      auto words = tokens(line.substr(at + said.size()));
      if (!words.empty() && words.front() == ":") words.erase(words.begin());
      if (!words.empty() && version.empty()) {
        library = lib;
        version = words.front();
      }
      return true;
    }
  }
  if (!info) return false;
  const std::string said = " set by environment to ";
  const auto at = line.find(said);
  if (at != std::string::npos) {
    const auto name_at = line.rfind("NCCL_", at);
    const auto value = tokens(line.substr(at + said.size()));
    if (name_at != std::string::npos && !value.empty() && setting_name(line.substr(name_at, at - name_at))) {
      env[line.substr(name_at, at - name_at)] = value.front();
    }
    return true;
  }
  const auto t = tokens(line);
  if (nranks == 0 && line.find(" Init COMPLETE") != std::string::npos) nranks = number_near(t, "nranks", 1);
  if (coll_channels == 0) coll_channels = number_near(t, "coll", -1);
  return true;
}

void LogFacts::command_line_settings(const std::string& line) {
  for (const auto& word : tokens(line)) {
    const auto eq = word.find('=');
    const auto name_at = word.find("NCCL_");
    if (eq == std::string::npos || name_at == std::string::npos || name_at > eq) continue;
    const std::string name = unquoted(word.substr(name_at, eq - name_at));
    const std::string value = unquoted(word.substr(eq + 1));
    if (setting_name(name) && !value.empty() && value.find('$') == std::string::npos) {
      command_line[name] = value;
    }
  }
}

bool LogFacts::fabtwin_header(const std::vector<std::string>& t) {
  const auto collective_in = [&](std::size_t from) {
    for (std::size_t i = from; i < t.size() && fabtwin_collective.empty(); ++i) {
      std::string w = t[i];
      if (!w.empty() && w.back() == ',') w.pop_back();
      if (coll::collective_from_string(w)) fabtwin_collective = w;
    }
  };
  if (t.size() >= 4 && t[0] == "fabtwin" && (t[1] == "sim:" || t[1] == "run:") && t[2] == "backend") {
    fabtwin_tool = "fabtwin " + t[1].substr(0, 3);
    fabtwin_backend = t[3];
    if (!fabtwin_backend.empty() && fabtwin_backend.back() == ',') fabtwin_backend.pop_back();
    fabtwin_ranks = std::max(number_near(t, "ranks", -1), number_near(t, "ranks,", -1));
    if (t[1] == "run:") collective_in(4);
    return true;
  }
  // sim's second line names the collective first.
  if (!fabtwin_tool.empty() && fabtwin_collective.empty() && t.size() >= 2 && t[1] == "algorithm") {
    collective_in(0);
    return !fabtwin_collective.empty();
  }
  return false;
}

std::string LogFacts::algorithm() const {
  for (const auto* said : {&env, &command_line}) {
    const auto it = said->find("NCCL_ALGO");
    if (it != said->end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

}  // namespace fabtwin::results::nccl_words
