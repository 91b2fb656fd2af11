//===- CubinInfo.cpp - What a cubin says about its kernels ----------------===//
//
// Layout notes (from cubins NVRTC writes; every read is bounds-checked, so a
// damaged image yields an error, never a crash):
//  - ELF64, little endian. An entry's code is in section ".text.<name>".
//  - ".nv.info.<name>" holds records: u8 format, u8 attribute, then for
//    format 0x04 (sized) a u16 byte count and that many bytes, otherwise a
//    2-byte value.
//  - Attribute 0x17 (KPARAM_INFO), 12 bytes: u32 index, u16 ordinal,
//    u16 offset, u32 flags whose bits 18..31 are the parameter size.
//  - Attribute 0x05 (MAX_THREADS), 12 bytes: u32 x, y, z launch bounds.
//  - ".nv.info" holds attribute 0x2f (REGCOUNT), 8 bytes: u32 symbol index,
//    u32 registers; the symbol names the function.
//
//===----------------------------------------------------------------------===//

#include "runtime/CubinInfo.h"

#include <cstring>
#include <map>

namespace flashgen {

namespace {

constexpr uint8_t kFormatSized = 0x04;
constexpr uint8_t kAttrMaxThreads = 0x05;
constexpr uint8_t kAttrKparamInfo = 0x17;
constexpr uint8_t kAttrRegCount = 0x2f;

class ElfReader {
public:
  explicit ElfReader(const std::string &image) : image_(image) {}

  template <class T> bool read(uint64_t offset, T &out) const {
    if (offset > image_.size() || sizeof(T) > image_.size() - offset)
      return false;
    std::memcpy(&out, image_.data() + offset, sizeof(T));
    return true;
  }

  bool range(uint64_t offset, uint64_t size) const {
    return offset <= image_.size() && size <= image_.size() - offset;
  }

  const char *data(uint64_t offset) const { return image_.data() + offset; }

private:
  const std::string &image_;
};

struct Section {
  uint32_t nameOffset = 0;
  std::string name;
  uint32_t type = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t link = 0;
  uint32_t info = 0;
};

/// Walks the records of an .nv.info section.
template <class Fn>
bool forEachInfoRecord(const ElfReader &elf, const Section &s, Fn fn) {
  uint64_t pos = s.offset, end = s.offset + s.size;
  while (pos + 4 <= end) {
    uint8_t format, attr;
    uint16_t value;
    if (!elf.read(pos, format) || !elf.read(pos + 1, attr) ||
        !elf.read(pos + 2, value))
      return false;
    if (format == kFormatSized) {
      if (!elf.range(pos + 4, value) || pos + 4 + value > end)
        return false;
      fn(attr, pos + 4, static_cast<uint32_t>(value));
      pos += 4 + value;
    } else {
      pos += 4;
    }
  }
  return true;
}

} // namespace

bool readCubin(const std::string &image, std::vector<CubinFunction> &out,
               std::string &error) {
  out.clear();
  ElfReader elf(image);
  if (image.size() < 64 || std::memcmp(image.data(), "\x7f" "ELF", 4) != 0) {
    error = "not an ELF image";
    return false;
  }
  if (image[4] != 2 || image[5] != 1) {
    error = "not a 64-bit little-endian ELF image";
    return false;
  }
  uint64_t shoff;
  uint16_t shentsize, shnum, shstrndx;
  if (!elf.read(0x28, shoff) || !elf.read(0x3a, shentsize) ||
      !elf.read(0x3c, shnum) || !elf.read(0x3e, shstrndx) || shentsize < 64 ||
      !elf.range(shoff, uint64_t(shnum) * shentsize) || shstrndx >= shnum) {
    error = "truncated or malformed ELF section table";
    return false;
  }
  std::vector<Section> sections(shnum);
  for (uint16_t i = 0; i < shnum; ++i) {
    uint64_t base = shoff + uint64_t(i) * shentsize;
    Section &s = sections[i];
    if (!elf.read(base, s.nameOffset) || !elf.read(base + 4, s.type) ||
        !elf.read(base + 0x18, s.offset) || !elf.read(base + 0x20, s.size) ||
        !elf.read(base + 0x28, s.link) || !elf.read(base + 0x2c, s.info)) {
      error = "truncated ELF section header";
      return false;
    }
  }
  const Section &strtab = sections[shstrndx];
  if (!elf.range(strtab.offset, strtab.size)) {
    error = "section name table out of bounds";
    return false;
  }
  for (Section &s : sections) {
    if (s.nameOffset >= strtab.size) {
      error = "section name out of bounds";
      return false;
    }
    const char *p = elf.data(strtab.offset + s.nameOffset);
    size_t maxLen = strtab.size - s.nameOffset;
    s.name.assign(p, strnlen(p, maxLen));
    if (s.type != 8 /*SHT_NOBITS*/ && !elf.range(s.offset, s.size)) {
      error = "section " + s.name + " out of bounds";
      return false;
    }
  }

  std::map<std::string, size_t> byName;
  for (const Section &s : sections) {
    if (s.name.compare(0, 6, ".text.") != 0)
      continue;
    CubinFunction f;
    f.name = s.name.substr(6);
    f.registers = static_cast<int>(s.info >> 24);
    byName[f.name] = out.size();
    out.push_back(std::move(f));
  }

  bool ok = true;
  for (const Section &s : sections) {
    if (s.name.compare(0, 9, ".nv.info.") != 0)
      continue;
    auto it = byName.find(s.name.substr(9));
    if (it == byName.end())
      continue;
    CubinFunction &f = out[it->second];
    ok &= forEachInfoRecord(elf, s, [&](uint8_t attr, uint64_t at,
                                        uint32_t size) {
      if (attr == kAttrKparamInfo && size >= 12) {
        uint16_t ordinal = 0, offset = 0;
        uint32_t flags = 0;
        elf.read(at + 4, ordinal);
        elf.read(at + 6, offset);
        elf.read(at + 8, flags);
        f.params.push_back({ordinal, offset, static_cast<int>(flags >> 18)});
        f.hasParamInfo = true;
      } else if (attr == kAttrMaxThreads && size >= 12) {
        uint32_t xyz[3] = {0, 0, 0};
        for (int d = 0; d < 3; ++d)
          elf.read(at + 4 * d, xyz[d]);
        for (int d = 0; d < 3; ++d)
          f.maxThreads[d] = static_cast<int>(xyz[d]);
      }
    });
  }

  // Register counts by symbol from the global .nv.info (authoritative over
  // the section header bits where both exist).
  const Section *symtab = nullptr;
  for (const Section &s : sections)
    if (s.type == 2 /*SHT_SYMTAB*/)
      symtab = &s;
  for (const Section &s : sections) {
    if (s.name != ".nv.info" || !symtab || symtab->link >= sections.size())
      continue;
    const Section &symstr = sections[symtab->link];
    if (!elf.range(symstr.offset, symstr.size))
      continue;
    ok &= forEachInfoRecord(elf, s, [&](uint8_t attr, uint64_t at,
                                        uint32_t size) {
      if (attr != kAttrRegCount || size < 8)
        return;
      uint32_t symIndex = 0, regs = 0, symName = 0;
      elf.read(at, symIndex);
      elf.read(at + 4, regs);
      uint64_t symBase = symtab->offset + uint64_t(symIndex) * 24;
      if (symBase + 24 > symtab->offset + symtab->size ||
          !elf.read(symBase, symName) || symName >= symstr.size)
        return;
      const char *p = elf.data(symstr.offset + symName);
      std::string name(p, strnlen(p, symstr.size - symName));
      auto it = byName.find(name);
      if (it != byName.end())
        out[it->second].registers = static_cast<int>(regs);
    });
  }
  if (!ok) {
    error = "malformed .nv.info section";
    return false;
  }
  return true;
}

const CubinFunction *findCubinFunction(const std::vector<CubinFunction> &fns,
                                       const std::string &name) {
  for (const CubinFunction &f : fns)
    if (f.name == name)
      return &f;
  return nullptr;
}

} // namespace flashgen
