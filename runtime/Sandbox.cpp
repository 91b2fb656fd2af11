//===- Sandbox.cpp - What a bundle may make the runtime read --------------===//

#include "runtime/Sandbox.h"

#include "runtime/Manifest.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flashgen {

namespace {

/// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
  void reset(int f) {
    if (fd >= 0)
      ::close(fd);
    fd = f;
  }
};

std::string openError(const std::string &path, int err) {
  if (err == ELOOP || err == EMLINK)
    return path + " is a symbolic link (bundles may not hold links)";
  if (err == ENOTDIR)
    return path + ": a folder on the way is not a folder (or is a link)";
  return path + ": " + std::strerror(err);
}

bool isIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

} // namespace

bool readBundleFile(const std::string &dir, const std::string &relative,
                    std::string &out, std::string &error) {
  const std::string shown = dir + "/" + relative;
  Fd at(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (at.fd < 0) {
    error = dir + ": " + std::strerror(errno);
    return false;
  }
  // Walk the folders one component at a time so that none is a link.
  size_t start = 0;
  std::string name;
  while (true) {
    size_t slash = relative.find('/', start);
    name = relative.substr(start, slash == std::string::npos ? std::string::npos
                                                             : slash - start);
    if (slash == std::string::npos)
      break;
    int next = ::openat(at.fd, name.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      error = openError(shown, errno);
      return false;
    }
    at.reset(next);
    start = slash + 1;
  }
  // Look before opening: opening a device can have effects of its own.
  struct stat st;
  if (::fstatat(at.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    error = openError(shown, errno);
    return false;
  }
  if (S_ISLNK(st.st_mode)) {
    error = openError(shown, ELOOP);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = shown + " is not a regular file (FIFOs, devices and sockets are "
                    "refused)";
    return false;
  }
  Fd f(::openat(at.fd, name.c_str(),
                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (f.fd < 0 || ::fstat(f.fd, &st) != 0) {
    error = openError(shown, errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) { // replaced between the two looks
    error = shown + " is not a regular file";
    return false;
  }
  if (st.st_size > kMaxBundleFileBytes) {
    error = shown + " has " + std::to_string(st.st_size) +
            " bytes, more than a bundle file may (" +
            std::to_string(kMaxBundleFileBytes) + ")";
    return false;
  }
  out.clear();
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(f.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      error = shown + ": " + std::strerror(errno);
      return false;
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(out.size()) > kMaxBundleFileBytes) {
      error = shown + " grew past " + std::to_string(kMaxBundleFileBytes) +
              " bytes while being read";
      return false;
    }
  }
  return true;
}

bool isAllowedNvrtcOption(const std::string &o, std::string &why) {
  static const char *const kFlags[] = {
      "-default-device", "--device-as-default-execution-space",
      "-use_fast_math", "--use_fast_math", "-lineinfo", "--generate-line-info",
      "-restrict", "--restrict", "-extra-device-vectorization",
      "--extra-device-vectorization", "-w", "--disable-warnings",
      "-no-source-include", "--no-source-include"};
  for (const char *flag : kFlags)
    if (o == flag)
      return true;
  auto valueAfter = [&](std::initializer_list<const char *> prefixes,
                        std::string &value) {
    for (const char *p : prefixes)
      if (o.compare(0, std::strlen(p), p) == 0) {
        value = o.substr(std::strlen(p));
        return true;
      }
    return false;
  };
  std::string v;
  if (valueAfter({"-std=", "--std="}, v))
    return v == "c++11" || v == "c++14" || v == "c++17" || v == "c++20";
  if (valueAfter({"-fmad=", "--fmad=", "-ftz=", "--ftz=", "-prec-div=",
                  "--prec-div=", "-prec-sqrt=", "--prec-sqrt="},
                 v))
    return v == "true" || v == "false";
  if (valueAfter({"-maxrregcount=", "--maxrregcount="}, v))
    return !v.empty() && v.size() <= 3 &&
           v.find_first_not_of("0123456789") == std::string::npos;
  if (valueAfter({"-U", "--undefine-macro="}, v))
    return isIdentifier(v);
  if (valueAfter({"-D", "--define-macro="}, v)) {
    // NAME or NAME=NUMBER: a value that is a number cannot spell a file
    // name, nor name another macro that does.
    size_t eq = v.find('=');
    if (!isIdentifier(v.substr(0, eq)))
      return false;
    if (eq == std::string::npos)
      return true;
    std::string value = v.substr(eq + 1);
    size_t digit = !value.empty() && value[0] == '-' ? 1 : 0;
    return value.size() > digit &&
           std::isdigit(static_cast<unsigned char>(value[digit])) &&
           value.find_first_not_of("0123456789abcdefABCDEFxXuUlL.+-") ==
               std::string::npos;
  }
  why = "\"" + o +
        "\" is not an NVRTC option a bundle may set (allowed: -std=, "
        "-fmad=, -ftz=, -prec-div=, -prec-sqrt=, -maxrregcount=, "
        "-D NAME[=NUMBER], -U NAME, -use_fast_math, -lineinfo, -restrict, "
        "-default-device, -extra-device-vectorization, -w, "
        "-no-source-include; docs/bundle-format.md §1.4)";
  return false;
}

bool isAllowedToolkitInclude(const std::string &name) {
  static const char *const kHeaders[] = {
      "cstdint",     "cstddef",      "climits",     "cfloat",
      "cmath",       "type_traits",  "utility",     "limits",
      "stdint.h",    "stddef.h",     "cuda_bf16.h", "cuda_fp16.h",
      "cuda_fp8.h",  "mma.h",        "cuda_runtime.h"};
  for (const char *h : kHeaders)
    if (name == h)
      return true;
  return false;
}

namespace {

/// Translation phases 2 and 3 as far as directives care: line splices
/// removed, comments replaced by one space (newlines kept), string and
/// character literals (raw ones included) kept as they are. Where the
/// preprocessor's reading is ambiguous this one sees more code, never less:
/// a directive it misses would be one the compiler obeys.
std::string stripComments(const std::string &raw) {
  std::string text;
  text.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (raw[i] == '\\' && i + 2 < raw.size() && raw[i + 1] == '\r' &&
        raw[i + 2] == '\n') {
      i += 2;
      continue;
    }
    text += raw[i];
  }
  std::string out;
  out.reserve(text.size());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    char c = text[i];
    if (c == '/' && i + 1 < n && text[i + 1] == '/') {
      while (i < n && text[i] != '\n')
        ++i;
      out += ' ';
      continue;
    }
    if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      size_t end = text.find("*/", i + 2);
      size_t stop = end == std::string::npos ? n : end + 2;
      out += ' ';
      for (size_t k = i; k < stop; ++k)
        if (text[k] == '\n')
          out += '\n';
      i = stop;
      continue;
    }
    // A pp-number, whole: its quotes are digit separators (1'000), and it
    // may end in letters that would otherwise read as a literal's prefix.
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < n &&
         std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
      size_t j = i + 1;
      while (j < n) {
        if (isIdentChar(text[j]) || text[j] == '.')
          ++j;
        else if (text[j] == '\'' && j + 1 < n && isIdentChar(text[j + 1]))
          j += 2;
        else if ((text[j] == '+' || text[j] == '-') &&
                 std::strchr("eEpP", text[j - 1]))
          ++j;
        else
          break;
      }
      out.append(text, i, j - i);
      i = j;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < n && isIdentChar(text[j]))
        ++j;
      const std::string word = text.substr(i, j - i);
      out += word;
      i = j;
      bool rawPrefix = word == "R" || word == "u8R" || word == "uR" ||
                       word == "UR" || word == "LR";
      if (rawPrefix && i < n && text[i] == '"') {
        size_t open = text.find('(', i + 1);
        std::string delim = open == std::string::npos
                                ? std::string()
                                : text.substr(i + 1, open - i - 1);
        bool valid = open != std::string::npos && delim.size() <= 16 &&
                     delim.find_first_of(" \t\n\\)\"") == std::string::npos;
        if (valid) {
          size_t end = text.find(")" + delim + "\"", open + 1);
          size_t stop = end == std::string::npos ? n : end + delim.size() + 2;
          out.append(text, i, stop - i);
          i = stop;
        }
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      // Up to the closing quote or the end of the line (an unterminated
      // literal ends there, as the compiler's recovery does).
      out += c;
      size_t k = i + 1;
      while (k < n && text[k] != c && text[k] != '\n') {
        if (text[k] == '\\' && k + 1 < n && text[k + 1] != '\n')
          out += text[k++];
        out += text[k++];
      }
      if (k < n && text[k] == c)
        out += text[k++];
      i = k;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

/// Reads an identifier at `line[pos]`, moving `pos` past it.
std::string identifierAt(const std::string &line, size_t &pos) {
  size_t b = pos;
  while (pos < line.size() && isIdentChar(line[pos]))
    ++pos;
  return line.substr(b, pos - b);
}

void skipSpace(const std::string &line, size_t &pos) {
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t' ||
                               line[pos] == '\r' || line[pos] == '\f' ||
                               line[pos] == '\v'))
    ++pos;
}

} // namespace

IncludeScan scanIncludes(const std::string &raw) {
  IncludeScan r;
  // Trigraphs (??= is '#', ??/ a backslash) are gone from C++17, but a
  // front end that still reads them would see directives this scan does
  // not; no generated file needs them.
  for (size_t at = raw.find("??"); at != std::string::npos;
       at = raw.find("??", at + 1))
    if (at + 2 < raw.size() && std::strchr("=/'()!<>-", raw[at + 2])) {
      r.error = "trigraph ??" + std::string(1, raw[at + 2]) +
                " (refused: it can hide a directive)";
      return r;
    }
  const std::string text = stripComments(raw);
  if (text.find("__has_include") != std::string::npos) {
    r.error = "__has_include (refused: it probes files outside the bundle)";
    return r;
  }
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos)
      end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    size_t pos = 0;
    skipSpace(line, pos);
    if (line.compare(pos, 1, "#") == 0)
      pos += 1;
    else if (line.compare(pos, 2, "%:") == 0)
      pos += 2;
    else
      continue;
    skipSpace(line, pos);
    const std::string directive = identifierAt(line, pos);
    skipSpace(line, pos);
    if (directive == "define") {
      std::string name = identifierAt(line, pos);
      if (!name.empty())
        r.defines.push_back(name);
      continue;
    }
    if (directive == "include_next" || directive == "import") {
      r.error = "#" + directive + " (refused: bundles include by name only)";
      return r;
    }
    if (directive != "include")
      continue;
    if (pos < line.size() && (line[pos] == '"' || line[pos] == '<')) {
      char close = line[pos] == '"' ? '"' : '>';
      size_t stop = line.find(close, pos + 1);
      if (stop == std::string::npos) {
        r.error = "#include " + line.substr(pos) + " has no closing " +
                  std::string(1, close);
        return r;
      }
      r.includes.push_back(line.substr(pos + 1, stop - pos - 1));
      size_t rest = stop + 1;
      skipSpace(line, rest);
      if (rest != line.size()) {
        r.error = "#include " + line.substr(pos) +
                  " has more after the file name";
        return r;
      }
      continue;
    }
    std::string macro = identifierAt(line, pos);
    skipSpace(line, pos);
    if (macro.empty() || pos != line.size()) {
      r.error = "#include " + line.substr(pos) +
                " (refused: an include names a file in quotes or angle "
                "brackets, or is one macro name)";
      return r;
    }
    r.macroIncludes.push_back(macro);
  }
  return r;
}

} // namespace flashgen
