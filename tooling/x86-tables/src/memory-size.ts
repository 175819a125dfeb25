/** Size in bytes of a memory-size name of the table (`UInt32`, `Packed128_Float64`, `SegPtr32`...); 0 when it has none. */
export function memorySizeBytes(name: string): number {
  const fixed: Readonly<Record<string, number>> = {
    Unknown: 0, WordOffset: 2, DwordOffset: 4, QwordOffset: 8, SegPtr16: 4, SegPtr32: 6, SegPtr64: 10,
    Fword6: 6, Fword10: 10, Bound16_WordWord: 4, Bound32_DwordDword: 8, Bcd: 10, Float80: 10,
    FpuEnv14: 14, FpuEnv28: 28, FpuState94: 94, FpuState108: 108, Fxsave_512Byte: 512, Fxsave64_512Byte: 512,
    Xsave: 0, Xsave64: 0,
  };
  const f = fixed[name];
  if (f !== undefined) return f;
  const packed = /^(?:Packed|Broadcast)(\d+)_/.exec(name);
  if (packed !== null) return Number(packed[1]) / 8;
  const scalar = /^(?:U?Int|Float|BFloat)(\d+)$/.exec(name);
  if (scalar !== null) return Number(scalar[1]) / 8;
  return 0;
}
