/**
 * Builds a 4 KiB real-mode test ROM: code at F000:F000 (the first byte of the ROM below 1 MiB),
 * the reset vector jumping there, labels and 8-bit relative jumps resolved at `build()`.
 */
export class RomBuilder {
  private readonly code: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: { at: number; label: string; kind: 'rel8' | 'abs16' }[] = [];
  /** The ROM's offset F000:F000 is linear 0xFF000. */
  static readonly ORIGIN = 0xf000;

  bytes(...b: number[]): this {
    this.code.push(...b);
    return this;
  }

  label(name: string): this {
    this.labels.set(name, this.code.length);
    return this;
  }

  /** A short jump opcode (0xEB, 0x7x) to a label. */
  jump(opcode: number, label: string): this {
    this.code.push(opcode, 0);
    this.fixups.push({ at: this.code.length - 1, label, kind: 'rel8' });
    return this;
  }

  /** The 16-bit offset (in segment F000) of a label, as an immediate. */
  addressOf(label: string): this {
    this.code.push(0, 0);
    this.fixups.push({ at: this.code.length - 2, label, kind: 'abs16' });
    return this;
  }

  /** mov al, imm8; out imm8, al */
  out(port: number, value: number): this {
    return this.bytes(0xb0, value, 0xe6, port);
  }

  build(): Uint8Array {
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new Error(`undefined label ${f.label}`);
      if (f.kind === 'rel8') {
        const rel = target - (f.at + 1);
        if (rel < -128 || rel > 127) throw new Error(`jump to ${f.label} out of range`);
        this.code[f.at] = rel & 0xff;
      } else {
        const abs = RomBuilder.ORIGIN + target;
        this.code[f.at] = abs & 0xff;
        this.code[f.at + 1] = abs >> 8;
      }
    }
    const image = new Uint8Array(4096).fill(0xf4);
    image.set(this.code, 0);
    image.set([0xea, 0x00, 0xf0, 0x00, 0xf0], 0xff0); // jmp far F000:F000
    return image;
  }
}
