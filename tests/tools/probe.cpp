// kreg_probe - a test-only executable that exposes kreg's readers, random
// numbers, splits and metrics as JSON, so the Python tests can compare them
// with numpy and scikit-learn on the same inputs. Not installed.
#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kreg/data.hpp"
#include "kreg/io/table.hpp"
#include "kreg/linear.hpp"
#include "kreg/metrics.hpp"
#include "kreg/random.hpp"

namespace {

using nlohmann::json;

std::vector<double> read_numbers(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw kreg::InputError("cannot open '" + path + "'");
  std::vector<double> values;
  double v = 0;
  while (in >> v) values.push_back(v);
  return values;
}

json folds_json(const std::vector<kreg::Split>& splits) {
  json folds = json::array();
  for (const auto& s : splits) folds.push_back({{"train", s.train}, {"test", s.test}});
  return {{"folds", folds}};
}

std::uint32_t seed_arg(const char* s) {
  const unsigned long long v = std::stoull(s);
  if (v > UINT32_MAX) throw std::invalid_argument("seed must be in 0..2**32-1");
  return static_cast<std::uint32_t>(v);
}

json run(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  auto need = [&](int n) {
    if (argc != n + 2) throw std::invalid_argument(fmt::format("{} takes {} arguments", cmd, n));
  };
  if (cmd == "read") {
    need(1);
    const auto t = kreg::io::read_table<double>(argv[2]);
    std::vector<double> data(t.data.data(), t.data.data() + t.data.size());
    return {
        {"rows", t.data.rows()}, {"cols", t.data.cols()}, {"columns", t.columns}, {"data", data}};
  }
  if (cmd == "normal" || cmd == "uniform") {
    need(2);
    kreg::LegacyRandom rng(seed_arg(argv[2]));
    std::vector<double> values(std::stoul(argv[3]));
    for (auto& v : values) v = cmd == "normal" ? rng.normal() : rng.uniform();
    return {{"values", values}};
  }
  if (cmd == "permutation") {
    need(2);
    kreg::LegacyRandom rng(seed_arg(argv[2]));
    return {{"values", rng.permutation(std::stoll(argv[3]))}};
  }
  if (cmd == "generate") {
    need(3);
    const auto g = kreg::generate_data(std::stoll(argv[2]), std::stoll(argv[3]), seed_arg(argv[4]));
    json X = json::array();
    for (kreg::index_t i = 0; i < g.X.rows(); ++i) {
      X.push_back(std::vector<double>(g.X.row(i).begin(), g.X.row(i).end()));
    }
    return {{"X", X},
            {"y", std::vector<double>(g.y.data(), g.y.data() + g.y.size())},
            {"coef", g.coef},
            {"intercept", g.intercept}};
  }
  if (cmd == "split") {
    need(3);
    const auto s =
        kreg::train_test_split(std::stoll(argv[2]), std::stod(argv[3]), seed_arg(argv[4]));
    return {{"train", s.train}, {"test", s.test}};
  }
  if (cmd == "kfold") {
    need(4);
    return folds_json(kreg::kfold(std::stoll(argv[2]), std::stoll(argv[3]),
                                  std::string(argv[4]) == "1", seed_arg(argv[5])));
  }
  if (cmd == "stratified") {
    need(4);
    const auto labels = read_numbers(argv[2]);
    return folds_json(kreg::stratified_kfold(labels, std::stoll(argv[3]),
                                             std::string(argv[4]) == "1", seed_arg(argv[5])));
  }
  if (cmd == "metric") {
    need(3);
    const std::string name = argv[2];
    const auto t = read_numbers(argv[3]);
    const auto p = read_numbers(argv[4]);
    const std::span<const double> ts(t), ps(p);
    double value = 0;
    if (name == "r2")
      value = kreg::r2_score(ts, ps);
    else if (name == "mse")
      value = kreg::mean_squared_error(ts, ps);
    else if (name == "mae")
      value = kreg::mean_absolute_error(ts, ps);
    else if (name == "accuracy")
      value = kreg::accuracy_score(ts, ps);
    else
      throw std::invalid_argument("unknown metric " + name);
    return {{"value", value}};
  }
  if (cmd == "logreg") {  // logreg X.npy|csv y.txt C tol max_iter standardize(0|1)
    need(6);
    const auto X = kreg::io::read_table<double>(argv[2]).data;
    const auto y = read_numbers(argv[3]);
    kreg::LogisticRegression model({.C = std::stod(argv[4]),
                                    .standardize = std::string(argv[7]) == "1",
                                    .max_iter = std::stoi(argv[6]),
                                    .tol = std::stod(argv[5])});
    model.fit(X.view(), y);
    json coef = json::array();
    for (kreg::index_t k = 0; k < model.coef().rows(); ++k) {
      coef.push_back(std::vector<double>(model.coef().row(k).begin(), model.coef().row(k).end()));
    }
    const auto& r = model.fit_report();
    return {{"coef", coef},
            {"intercept", model.intercept()},
            {"classes", model.classes()},
            {"predictions", model.predict(X.view())},
            {"n_iter", r.n_iter},
            {"converged", r.converged},
            {"grad_max", r.grad_max},
            {"objective", r.objective},
            {"stop", r.stop}};
  }
  throw std::invalid_argument(
      "usage: kreg_probe read|normal|uniform|permutation|generate|split|kfold|stratified|metric|"
      "logreg ...");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::cout << run(argc, argv).dump() << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "kreg_probe: " << e.what() << '\n';
    return 1;
  }
}
