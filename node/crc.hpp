// Checksums Redis uses: CRC16-XMODEM for key slots (cluster spec), CRC64-Jones for RDB files and
// DUMP payloads. Table-driven, tables built at compile time.
#pragma once

#include <cstdint>
#include <string_view>

namespace slotlab {

std::uint16_t crc16_xmodem(std::string_view data);
// CRC-64/Jones as Redis's crc64.c: reflected polynomial 0x95ac9329ac4bc9b5, init 0, no final xor.
// Check value: crc64("123456789") == 0xe9c6d914c4b8d9ca.
std::uint64_t crc64_jones(std::uint64_t crc, std::string_view data);
// keyHashSlot: CRC16 of the key, or of the first non-empty {hash tag}, modulo 16384.
std::uint16_t key_hash_slot(std::string_view key);

}  // namespace slotlab
