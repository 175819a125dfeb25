/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of VHDX headers, region
 * tables and log entries ([MS-VHDX] 2.2.2). Table-driven, one byte at a time.
 */

const POLY = 0x82f6_3b78;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `bytes`, continuing from `crc` (the value a previous call returned). */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC-32C of `bytes` as if the 4-byte checksum field at `fieldOffset` held zeros, which is how
 * [MS-VHDX] defines every checksum it stores.
 */
export function crc32cWithZeroField(bytes: Uint8Array, fieldOffset: number): number {
  let crc = crc32c(bytes.subarray(0, fieldOffset));
  crc = crc32c(ZERO4, crc);
  return crc32c(bytes.subarray(fieldOffset + 4), crc);
}

const ZERO4 = new Uint8Array(4);
