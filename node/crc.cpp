// Implementation of crc.hpp.
#include "node/crc.hpp"

#include <array>

namespace slotlab {

namespace {
constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    auto crc = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b)
      crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    t[i] = crc;
  }
  return t;
}
constexpr auto kCrc16 = make_crc16_table();

constexpr std::array<std::uint64_t, 256> make_crc64_table() {
  std::array<std::uint64_t, 256> t{};
  constexpr std::uint64_t poly = 0x95ac9329ac4bc9b5ULL;  // reflected 0xad93d23594c935a9
  for (unsigned i = 0; i < 256; ++i) {
    std::uint64_t crc = i;
    for (int b = 0; b < 8; ++b) crc = (crc & 1) != 0 ? (crc >> 1) ^ poly : crc >> 1;
    t[i] = crc;
  }
  return t;
}
constexpr auto kCrc64 = make_crc64_table();
}  // namespace

std::uint16_t crc16_xmodem(std::string_view data) {
  std::uint16_t crc = 0;
  for (char ch : data) {
    auto c = static_cast<unsigned char>(ch);
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16[((crc >> 8) ^ c) & 0xff]);
  }
  return crc;
}

std::uint64_t crc64_jones(std::uint64_t crc, std::string_view data) {
  for (char ch : data) {
    auto c = static_cast<unsigned char>(ch);
    crc = kCrc64[(crc ^ c) & 0xff] ^ (crc >> 8);
  }
  return crc;
}

std::uint16_t key_hash_slot(std::string_view key) {
  std::size_t s = key.find('{');
  if (s != std::string_view::npos) {
    std::size_t e = key.find('}', s + 1);
    if (e != std::string_view::npos && e != s + 1) return crc16_xmodem(key.substr(s + 1, e - s - 1)) & 0x3FFF;
  }
  return crc16_xmodem(key) & 0x3FFF;
}

}  // namespace slotlab
