/**
 * Number spelling of the Intel-syntax formatter: values up to 9 in decimal, larger ones in upper-case
 * hex with an `h` suffix and a leading `0` when the first digit is a letter (`0FFh`, `10h`, `7`).
 */
export function formatHex(lo: number, hi: number, minDigits = 0): string {
  const l = lo >>> 0;
  const h = hi >>> 0;
  if (h === 0 && l <= 9 && minDigits === 0) return String(l);
  let digits = h === 0 ? l.toString(16) : h.toString(16) + l.toString(16).padStart(8, '0');
  if (digits.length < minDigits) digits = digits.padStart(minDigits, '0');
  digits = digits.toUpperCase();
  const first = digits.charCodeAt(0);
  return (first >= 0x41 ? '0' : '') + digits + 'h';
}

/** A branch target: decimal up to 9, else hex padded to the branch's width (4, 8 or 16 digits). */
export function formatTarget(lo: number, hi: number, bits: number): string {
  if ((hi >>> 0) === 0 && (lo >>> 0) <= 9) return String(lo >>> 0);
  return formatHex(lo, hi, bits >> 2);
}
