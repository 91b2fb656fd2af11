//===- FuzzDriver.cpp - a bounded mutation driver for the fuzz targets ----===//
//
// The fuzz targets are libFuzzer targets (LLVMFuzzerTestOneInput). Built
// with clang and -fsanitize=fuzzer they are fuzzed by scripts/fuzz.sh; in
// every other build this main() links to them instead, so that ctest runs
// each target over its corpus and a fixed number of seeded mutations of it
// (byte flips, inserts, deletions, copies, splices of two inputs), with a
// per-input time limit: a crash, an abort or a hang fails the test and
// leaves the input in crash-<target>-<n> in the working folder.
//
// usage: flashgen-fuzz-X [-runs=N] [-seconds=S] [-timeout=S] CORPUS_DIR...
//
//===----------------------------------------------------------------------===//

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

std::string current; // the input being run, for the signal handler
const char *targetName = "target";

void saveAndDie(int sig) {
  char name[256];
  std::snprintf(name, sizeof(name), "crash-%s-%d", targetName, int(getpid()));
  if (FILE *f = std::fopen(name, "wb")) {
    std::fwrite(current.data(), 1, current.size(), f);
    std::fclose(f);
  }
  const char *what = sig == SIGALRM ? "hang (per-input time limit)" : "crash";
  std::fprintf(stderr, "flashgen fuzz driver: %s on signal %d; input saved to %s\n",
               what, sig, name);
  std::_Exit(1);
}

std::string readFile(const std::filesystem::path &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void run(const std::string &input, unsigned timeout) {
  current = input;
  alarm(timeout);
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(input.data()),
                         input.size());
  alarm(0);
}

std::string mutate(std::string s, const std::vector<std::string> &corpus,
                   std::mt19937_64 &rng) {
  auto pick = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
  int steps = 1 + int(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    switch (rng() % 6) {
    case 0: // flip a bit
      if (!s.empty())
        s[pick(s.size())] ^= char(1u << (rng() % 8));
      break;
    case 1: // insert a byte (printable mostly: the inputs are text)
      s.insert(s.begin() + pick(s.size() + 1),
               char(rng() % 4 ? 32 + rng() % 95 : rng() % 256));
      break;
    case 2: { // delete a range
      if (s.empty())
        break;
      size_t at = pick(s.size());
      s.erase(at, 1 + pick(std::min<size_t>(16, s.size() - at)));
      break;
    }
    case 3: { // copy a range elsewhere
      if (s.empty())
        break;
      size_t at = pick(s.size());
      std::string piece = s.substr(at, 1 + pick(32));
      s.insert(pick(s.size() + 1), piece);
      break;
    }
    case 4: { // replace a digit run with an extreme number
      static const char *kNumbers[] = {"0", "1", "-1", "2147483647",
                                       "2147483648", "4294967296",
                                       "9223372036854775807", "65536", "129"};
      size_t at = s.find_first_of("0123456789", pick(s.size()));
      if (at == std::string::npos)
        break;
      size_t end = s.find_first_not_of("0123456789", at);
      s.replace(at, (end == std::string::npos ? s.size() : end) - at,
                kNumbers[rng() % (sizeof(kNumbers) / sizeof(*kNumbers))]);
      break;
    }
    default: { // splice with another input
      const std::string &other = corpus[pick(corpus.size())];
      size_t cut = pick(s.size() + 1), from = pick(other.size() + 1);
      s = s.substr(0, cut) + other.substr(from);
      break;
    }
    }
  }
  return s;
}

} // namespace

int main(int argc, char **argv) {
  long runs = 2000, seconds = 60;
  unsigned timeout = 20;
  std::vector<std::string> corpus;
  std::string self = argv[0];
  targetName = std::strrchr(argv[0], '/') ? std::strrchr(argv[0], '/') + 1 : argv[0];
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("-runs=", 0) == 0)
      runs = std::atol(a.c_str() + 6);
    else if (a.rfind("-seconds=", 0) == 0)
      seconds = std::atol(a.c_str() + 9);
    else if (a.rfind("-timeout=", 0) == 0)
      timeout = unsigned(std::atol(a.c_str() + 9));
    else if (std::filesystem::is_directory(a))
      for (const auto &e : std::filesystem::directory_iterator(a))
        if (e.is_regular_file())
          corpus.push_back(readFile(e.path()));
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "%s: no corpus given\n", self.c_str());
    return 2;
  }
  for (int sig : {SIGSEGV, SIGABRT, SIGFPE, SIGILL, SIGBUS, SIGALRM})
    std::signal(sig, saveAndDie);
  for (const std::string &input : corpus)
    run(input, timeout);
  std::mt19937_64 rng(20);
  auto start = std::chrono::steady_clock::now();
  long done = 0;
  for (; done < runs; ++done) {
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(seconds))
      break;
    run(mutate(corpus[done % corpus.size()], corpus, rng), timeout);
  }
  std::printf("%s: %zu corpus inputs and %ld mutations ran clean\n",
              targetName, corpus.size(), done);
  return 0;
}
