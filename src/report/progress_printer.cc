#include "report/progress_printer.h"

#include "absl/strings/str_format.h"

namespace tributary {

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000.0 && unit < 4) {
    value /= 1000.0;
    ++unit;
  }
  return unit == 0 ? absl::StrFormat("%d B", bytes)
                   : absl::StrFormat("%.2f %s", value, units[unit]);
}

void ProgressPrinter::PrintRound(const RoundMetrics& m) {
  if (out_ == nullptr) return;
  if (m.round == 0) {  // the starting model's evaluation (run.eval_initial)
    absl::FPrintF(out_, "initial model: test acc %.2f%%, test loss %.4f\n",
                  m.test_accuracy.value_or(0.0) * 100.0, m.test_loss.value_or(0.0));
    std::fflush(out_);
    return;
  }
  elapsed_seconds_ += m.wall_seconds;
  const double eta = elapsed_seconds_ / m.round * (total_rounds_ - m.round);
  std::string accuracy = m.test_accuracy.has_value()
                             ? absl::StrFormat("test acc %6.2f%%", *m.test_accuracy * 100.0)
                             : std::string("test acc    -   ");
  std::string rejected =
      m.clients_rejected > 0 ? absl::StrFormat(" (%d rejected)", m.clients_rejected) : "";
  // One decimal below 10x, where it matters (SCAFFOLD's two payloads even make 0.5x).
  const std::string compression = m.uplink_compression < 10.0
                                      ? absl::StrFormat("%.1fx", m.uplink_compression)
                                      : absl::StrFormat("%.0fx", m.uplink_compression);
  if (m.clients_dropped + m.stragglers > 0) {
    rejected += absl::StrFormat(" (%d dropped, %d late)", m.clients_dropped, m.stragglers);
  }
  std::string privacy =
      m.dp_epsilon.has_value() ? absl::StrFormat("  epsilon %.3g", *m.dp_epsilon) : "";
  if (m.secagg.has_value()) {
    privacy += m.secagg->abandoned
                   ? "  secure sum abandoned"
                   : absl::StrFormat("  secure sum of %d", m.secagg->clients_summed);
  }
  absl::FPrintF(out_,
                "round %*d/%d  clients %d%s  train loss %.4f  %s%s  up %s (%s)  down %s  %.1fs  "
                "eta %.0fs\n",
                static_cast<int>(std::to_string(total_rounds_).size()), m.round, total_rounds_,
                m.clients, rejected, m.train_loss, accuracy, privacy, FormatBytes(m.bytes_up),
                compression, FormatBytes(m.bytes_down), m.wall_seconds, eta);
  std::fflush(out_);
}

}  // namespace tributary
