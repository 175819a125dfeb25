// IDENTIFY DEVICE and IDENTIFY PACKET DEVICE data, ATA/ATAPI-6 (T13/1410D) 8.15 table 27 and 8.16 table 30.

export interface AtaGeometry {
  cylinders: number;
  heads: number;
  sectors: number;
}

/** Word 0 (8.15.1): bit 6 fixed (non-removable) device. */
const GENERAL_FIXED = 0x0040;
/** Word 49: bit 11 IORDY supported, bit 9 LBA supported, bit 8 DMA supported. */
const CAP_IORDY = 1 << 11;
const CAP_LBA = 1 << 9;
const CAP_DMA = 1 << 8;
/** Word 53: words 54-58 valid (bit 0), 64-70 valid (bit 1), 88 valid (bit 2). */
const VALID_54_58 = 1 << 0;
const VALID_64_70 = 1 << 1;
const VALID_88 = 1 << 2;
/** Word 59 bit 8: the multiple sector setting is valid. */
const MULTIPLE_VALID = 0x0100;
/** Words 82-87: bit 14 must be one, bit 15 zero. */
const WORD_VALID = 0x4000;
/** Word 82/85 bit 5: write cache; bit 14 NOP; word 83/86 bit 10: 48-bit address, 12: FLUSH CACHE, 13: FLUSH CACHE EXT. */
const CMDSET_WRITE_CACHE = 1 << 5;
const CMDSET_NOP = 1 << 14;
const CMDSET2_LBA48 = 1 << 10;
const CMDSET2_FLUSH = 1 << 12;
const CMDSET2_FLUSH_EXT = 1 << 13;
/** Word 80: supports ATA/ATAPI-4 through -6 (bits 4-6). */
const MAJOR_VERSION = 0x0070;
/** Word 255 (8.15.69): signature A5h in bits 7:0, the checksum in bits 15:8. */
const INTEGRITY_SIGNATURE = 0xa5;
/** Word 0 of a packet device (8.16.1): ATAPI (10b), type 05h CD-ROM, removable, DRQ within 50 us, 12-byte packets. */
export const ATAPI_GENERAL_CDROM = 0x8000 | (0x05 << 8) | 0x0080 | (0x2 << 5);
const LBA28_LIMIT = 0x0fff_ffff;

/** Place `text` padded with spaces into `count` words, first character in the high byte (8.15, ATA string convention). */
export function putAtaString(words: Uint16Array, first: number, count: number, text: string): void {
  const padded = text.padEnd(count * 2, ' ');
  for (let i = 0; i < count; i++) {
    const hi = padded.charCodeAt(2 * i) & 0x7f;
    const lo = padded.charCodeAt(2 * i + 1) & 0x7f;
    words[first + i] = (hi << 8) | lo;
  }
}

/** Sets word 255 so that the 512 bytes sum to zero modulo 256. */
function seal(words: Uint16Array): void {
  let sum = INTEGRITY_SIGNATURE;
  for (let i = 0; i < 255; i++) sum += (words[i] & 0xff) + (words[i] >>> 8);
  words[255] = (((-sum) & 0xff) << 8) | INTEGRITY_SIGNATURE;
}

export interface AtaIdentifyInput {
  model: string;
  serial: string;
  firmware: string;
  sectors: number;
  geometry: AtaGeometry;
  current: { heads: number; sectors: number };
  multiple: number;
  maxMultiple: number;
  writeCache: boolean;
  /** Selected multiword DMA / Ultra DMA mode as a one-hot bit (0 when not selected). */
  mwdma: number;
  udma: number;
}

/** The 256 words of IDENTIFY DEVICE for a fixed ATA disk. */
export function buildAtaIdentify(d: AtaIdentifyInput): Uint16Array {
  const w = new Uint16Array(256);
  const g = d.geometry;
  w[0] = GENERAL_FIXED;
  w[1] = g.cylinders;
  w[3] = g.heads;
  w[6] = g.sectors;
  putAtaString(w, 10, 10, d.serial);
  putAtaString(w, 23, 4, d.firmware);
  putAtaString(w, 27, 20, d.model);
  w[47] = 0x8000 | d.maxMultiple;
  w[49] = CAP_IORDY | CAP_LBA | CAP_DMA;
  w[51] = 0x0200; // PIO timing mode 2 (obsolete field, as drives report it)
  w[53] = VALID_54_58 | VALID_64_70 | VALID_88;
  const perCylinder = d.current.heads * d.current.sectors;
  const curCylinders = Math.min(65535, Math.floor(Math.min(d.sectors, 16383 * 16 * 63) / perCylinder));
  const curCapacity = curCylinders * perCylinder;
  w[54] = curCylinders;
  w[55] = d.current.heads;
  w[56] = d.current.sectors;
  w[57] = curCapacity & 0xffff;
  w[58] = curCapacity >>> 16;
  w[59] = d.multiple !== 0 ? MULTIPLE_VALID | d.multiple : 0;
  const lba28 = Math.min(d.sectors, LBA28_LIMIT);
  w[60] = lba28 & 0xffff;
  w[61] = lba28 >>> 16;
  w[63] = 0x0007 | (d.mwdma << 8); // MWDMA modes 0-2 supported
  w[64] = 0x0003; // PIO modes 3 and 4
  w[65] = 120; w[66] = 120; w[67] = 120; w[68] = 120;
  w[80] = MAJOR_VERSION;
  w[82] = WORD_VALID | CMDSET_NOP | CMDSET_WRITE_CACHE;
  w[83] = WORD_VALID | CMDSET2_LBA48 | CMDSET2_FLUSH | CMDSET2_FLUSH_EXT;
  w[84] = WORD_VALID;
  w[85] = CMDSET_NOP | (d.writeCache ? CMDSET_WRITE_CACHE : 0);
  w[86] = CMDSET2_LBA48 | CMDSET2_FLUSH | CMDSET2_FLUSH_EXT;
  w[87] = WORD_VALID;
  w[88] = 0x003f | (d.udma << 8); // UDMA modes 0-5 supported
  w[93] = 0x4000 | 0x0001 | 0x0008; // hardware reset result: device 0, passed diagnostics
  const big = d.sectors;
  w[100] = big & 0xffff;
  w[101] = Math.floor(big / 0x10000) & 0xffff;
  w[102] = Math.floor(big / 0x1_0000_0000) & 0xffff;
  w[103] = Math.floor(big / 0x1_0000_0000_0000) & 0xffff;
  seal(w);
  return w;
}

/** The 256 words of IDENTIFY PACKET DEVICE for an ATAPI CD-ROM (8.16). */
export function buildAtapiIdentify(d: { model: string; serial: string; firmware: string }): Uint16Array {
  const w = new Uint16Array(256);
  w[0] = ATAPI_GENERAL_CDROM;
  putAtaString(w, 10, 10, d.serial);
  putAtaString(w, 23, 4, d.firmware);
  putAtaString(w, 27, 20, d.model);
  w[49] = CAP_IORDY | CAP_LBA | CAP_DMA;
  w[53] = VALID_64_70 | VALID_88;
  w[63] = 0x0007;
  w[64] = 0x0003;
  w[65] = 120; w[66] = 120; w[67] = 120; w[68] = 120;
  w[71] = 30; w[72] = 30; // PACKET to bus release / SERVICE to BSY clear, ns
  w[80] = MAJOR_VERSION;
  w[82] = WORD_VALID | CMDSET_NOP | (1 << 4); // bit 4: PACKET command feature set
  w[83] = WORD_VALID;
  w[84] = WORD_VALID;
  w[85] = CMDSET_NOP | (1 << 4);
  w[87] = WORD_VALID;
  w[88] = 0x003f;
  seal(w);
  return w;
}
