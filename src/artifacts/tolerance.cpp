// Tolerances of a teacher-forced golden comparison: parsed, printed, and
// `auto` resolved from a golden's calibration.
#include "detllm_test/tolerance.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <system_error>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm {
namespace {

// The shortest text that reads back as `value`: a tolerance printed in a
// pack is parsed again by replay.
std::string number(double value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return std::string(text, end);
}

// A finite number >= 0 from `text`, or throws naming `what`.
double non_negative(const std::string& text, const std::string& what) {
  double value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
      value < 0) {
    throw Error("tolerance " + what + " " + internal::quote_text(text, 40) +
                " is not a number >= 0");
  }
  return value;
}

}  // namespace

Tolerance Tolerance::Given(double logprob, double margin) {
  if (!std::isfinite(logprob) || logprob < 0 || !std::isfinite(margin)) {
    throw Error("a tolerance needs a logprob >= 0 and a finite margin");
  }
  return {Kind::kGiven, logprob, margin < 0 ? 2 * logprob : margin};
}

Tolerance Tolerance::parse(const std::string& text) {
  if (text == "exact") return Exact();
  if (text == "auto") return Auto();
  const std::string usage = " (expected exact, auto, logprob=X or logprob=X,margin=Y)";
  if (text.rfind("logprob=", 0) != 0) {
    throw Error("tolerance " + internal::quote_text(text, 60) + " is not understood" + usage);
  }
  const size_t comma = text.find(',');
  const double logprob = non_negative(text.substr(8, comma - 8), "logprob");
  if (comma == std::string::npos) return Given(logprob);
  const std::string rest = text.substr(comma + 1);
  if (rest.rfind("margin=", 0) != 0) {
    throw Error("tolerance " + internal::quote_text(text, 60) + " is not understood" + usage);
  }
  return Given(logprob, non_negative(rest.substr(7), "margin"));
}

std::string Tolerance::to_string() const {
  switch (kind) {
    case Kind::kExact:
      return "exact";
    case Kind::kAuto:
      if (logprob == 0) return "auto";
      return "auto (logprob=" + number(logprob) + ",margin=" + number(margin) + ")";
    case Kind::kGiven:
      return "logprob=" + number(logprob) + ",margin=" + number(margin);
  }
  return "exact";
}

Tolerance resolve_auto(const nlohmann::json& calibration, const std::string& golden_path) {
  const auto noise = calibration.is_object() ? calibration.find("noise") : calibration.end();
  if (!calibration.is_object() || noise == calibration.end() || !noise->is_number() ||
      !std::isfinite(noise->get<double>()) || noise->get<double>() < 0) {
    throw Error("golden '" + golden_path +
                "' holds no calibration, which --tolerance auto needs: record it again with "
                "this detllm (DETLLM_UPDATE_GOLDEN=1), or give --tolerance logprob=X");
  }
  Tolerance t = Tolerance::Given(std::max(kAutoFloor, kAutoFactor * noise->get<double>()));
  t.kind = Tolerance::Kind::kAuto;
  return t;
}

}  // namespace detllm
