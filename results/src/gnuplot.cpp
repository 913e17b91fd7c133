#include "fabtwin/results/gnuplot.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "fabtwin/files.hpp"

namespace fabtwin::results {

namespace {

namespace fs = std::filesystem;

// Text from an input as a gnuplot single-quoted string. Backquotes, system() and @ stay literal inside
// one; a line break would end it and start a new command (a `!` line runs a shell), so control
// characters become spaces. gnuplot 5.4 mis-reads doubled quotes (a string starting with one, or two
// in a row, loses text or fails to parse), so a quote is written as the typographic apostrophe.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\'') {
      out += "\u2019";
    } else {
      out += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
  }
  return out + "'";
}

// A revision as a data-file label: only what a git revision is made of, so that a quote or a line
// break in a history record cannot shift the columns gnuplot reads.
std::string data_label(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '?';
  return out.empty() ? "?" : out;
}

// A private scratch folder removed on every path out.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "fabtwin-plot-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error(std::string("cannot create a temporary folder for gnuplot: ") +
                               std::strerror(errno));
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

// gnuplot draws into the scratch folder; the picture then replaces `output` whole, so a failed or
// interrupted plot never leaves a truncated image where a good one was.
fs::path scratch_output(const ScratchDir& dir, const std::string& output) {
  return dir / ("plot" + fs::path(output).extension().string());
}

// Runs `gnuplot script` without a shell (paths with spaces or quotes stay inert), its output to a file.
void run_gnuplot(const ScratchDir& dir, const std::string& script, const std::string& output) {
  const fs::path script_path = dir / "plot.gp";
  const fs::path log_path = dir / "gnuplot.log";
  write_file(script_path, script);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork for gnuplot failed: ") + std::strerror(errno));
  if (pid == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    const std::string p = script_path.string();
    execlp("gnuplot", "gnuplot", p.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("waiting for gnuplot: ") + std::strerror(errno));
  }
  std::ifstream log(log_path);
  std::stringstream text;
  text << log.rdbuf();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    throw std::invalid_argument("--plot needs gnuplot, which is not installed (apt-get install gnuplot-nox)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("gnuplot failed drawing " + output + ":\n" + text.str());
  }
  const fs::path drawn = scratch_output(dir, output);
  if (!fs::exists(drawn)) throw std::runtime_error("gnuplot wrote no " + output + ":\n" + text.str());
  write_file_atomically(output, read_input_file(drawn.string(), "plot"));
}

std::string common_settings() {
  // Sizes print as 1Ki, 64Mi, ... on the log-2 axis; nothing in labels is taken as markup.
  return "set grid\nset key top left noenhanced\nset lmargin 12\nset rmargin 4\n";
}

}  // namespace

std::string gnuplot_terminal(const std::string& path, int width, int height) {
  const std::string ext = fs::path(path).extension().string();
  char buf[160];
  if (ext == ".png") {
    std::snprintf(buf, sizeof buf, "set terminal pngcairo noenhanced size %d,%d font ',10'", width, height);
  } else if (ext == ".svg") {
    std::snprintf(buf, sizeof buf, "set terminal svg noenhanced size %d,%d dynamic font 'sans,11'", width,
                  height);
  } else {
    throw std::invalid_argument("--plot " + path + ": the extension must be .png or .svg");
  }
  return buf;
}

void plot_comparison(const Comparison& c, const std::string& path) {
  const std::string terminal = gnuplot_terminal(path, 1000, 800);
  ScratchDir dir;
  const std::size_t n = c.labels.size();
  std::ostringstream data;
  data.precision(10);
  for (const auto& r : c.rows) {
    data << r.size_bytes;
    for (double bw : r.busbw_gbps) data << ' ' << bw;
    for (std::size_t i = 1; i < n; ++i) {
      if (r.rel_error[i]) {
        data << ' ' << *r.rel_error[i] * 100.0;
      } else {
        data << " NaN";
      }
    }
    data << '\n';
  }
  const fs::path data_path = dir / "comparison.dat";
  write_file(data_path, data.str());
  const std::string d = quoted(data_path.string());

  std::ostringstream gp;
  gp << terminal << "\nset output " << quoted(scratch_output(dir, path).string()) << "\n"
     << common_settings();
  gp << "set logscale x 2\nset format x '%.0b %BB'\nset multiplot title "
     << quoted(c.collective + ": busbw by message size; error relative to " + c.labels[0]) << "\n";
  gp << "set size 1,0.62\nset origin 0,0.36\nset ylabel 'busbw (GB/s)'\nset xlabel ''\n";
  gp << "plot ";
  for (std::size_t i = 0; i < n; ++i) {
    gp << (i ? ", " : "") << d << " using 1:" << i + 2 << " with linespoints lw 2 pt 7 ps 0.6 title "
       << quoted(c.labels[i]);
  }
  gp << "\nset size 1,0.36\nset origin 0,0\nset key top right noenhanced\n"
     << "set ylabel " << quoted("error vs " + c.labels[0] + " (%)")
     << "\nset xlabel 'message size (bytes)'\n";
  gp << "plot 0 with lines lc rgb 'black' notitle";
  for (std::size_t i = 1; i < n; ++i) {
    gp << ", " << d << " using 1:" << n + 1 + i << " with linespoints lw 2 pt 7 ps 0.6 lc " << i + 1
       << " title " << quoted(c.labels[i]);
  }
  gp << "\nunset multiplot\n";
  run_gnuplot(dir, gp.str(), path);
}

void plot_trend(const std::vector<Trend>& trends, const std::string& path, std::size_t max_sizes) {
  // One panel per scenario, stacked.
  const std::size_t panels = std::min(trends.size(), kMaxTrendPanels);
  const std::string terminal = gnuplot_terminal(path, 1000, static_cast<int>(120 + 300 * panels));
  ScratchDir dir;
  std::ostringstream gp;
  gp << terminal << "\nset output " << quoted(scratch_output(dir, path).string()) << "\n"
     << common_settings();
  gp << "set multiplot layout " << panels << ",1 title 'busbw per run'\n";
  // Log y: sizes from bytes to gigabytes share a panel, and equal relative drifts look equal.
  gp << "set logscale y\nset xlabel 'run (git revision)'\nset ylabel 'busbw (GB/s)'\nset xtics rotate by -30 "
        "noenhanced\n"
     << "set key outside right noenhanced\nset rmargin 22\n";
  for (std::size_t k = 0; k < panels; ++k) {
    const Trend& t = trends[k];
    const auto sizes = trend_sizes(t, max_sizes);
    std::ostringstream data;
    data.precision(10);
    for (std::size_t i = 0; i < t.points.size(); ++i) {
      const auto& p = t.points[i];
      const std::string rev = data_label(p.revision.substr(0, 8));
      // Column 3 flags runs whose check failed, so they stand out on the curves.
      data << i + 1 << ' ' << '"' << rev << '"' << ' ' << (p.status == "fail" ? 1 : 0);
      for (auto s : sizes) {
        const auto it = p.busbw_gbps.find(s);
        if (it == p.busbw_gbps.end()) {
          data << " NaN";
        } else {
          data << ' ' << it->second;
        }
      }
      data << '\n';
    }
    const fs::path data_path = dir / ("trend" + std::to_string(k) + ".dat");
    write_file(data_path, data.str());
    gp << "set title " << quoted(t.scenario) << " noenhanced\n";
    gp << "plot ";
    const std::string d = quoted(data_path.string());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      gp << (i ? ", " : "") << d << " using 1:" << i + 4 << (i == 0 ? ":xticlabels(2)" : "")
         << " with linespoints lw 2 pt 7 title " << quoted(format_bytes(Bytes(sizes[i])));
    }
    const bool any_failed = std::any_of(t.points.begin(), t.points.end(),
                                        [](const HistoryPoint& p) { return p.status == "fail"; });
    for (std::size_t i = 0; any_failed && i < sizes.size(); ++i) {
      gp << ", " << d << " using 1:($3 == 1 ? $" << i + 4
         << " : 1/0) with points pt 6 ps 2.5 lw 2 lc rgb 'red' "
         << (i == 0 ? "title 'check failed'" : "notitle");
    }
    gp << "\n";
  }
  gp << "unset multiplot\n";
  run_gnuplot(dir, gp.str(), path);
}

}  // namespace fabtwin::results
