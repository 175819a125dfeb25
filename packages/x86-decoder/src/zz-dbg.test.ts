import { it } from 'vitest';
import { decode, Instruction, CODE_NAMES, DECODE_ERROR_NAMES } from './index.js';
it('dbg', () => {
  const ins = new Instruction();
  for (const h of (process.env['HEX'] ?? '').split(',')) {
    const b = Uint8Array.from(h.replace(/ /g, '').match(/../g) ?? [], (x) => parseInt(x, 16));
    decode(b, 0, 0, Number(process.env['BITS'] ?? 32), ins);
    console.log(h, CODE_NAMES[ins.code], DECODE_ERROR_NAMES[ins.error], ins.length);
  }
});
