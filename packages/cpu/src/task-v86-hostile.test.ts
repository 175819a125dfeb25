import { describe, expect, it } from 'vitest';
import { CODE, GDT, IDT, TSS_MAIN, callFar, jmpFar, pmMachine } from './pm-test-machine.js';

/** xorshift32: a repeatable stream of guest garbage. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** Access bytes a hostile guest would aim at task switching and v86 entry. */
const ACCESS = [0x81, 0x83, 0x89, 0x8b, 0x85, 0x09, 0x82, 0x93, 0x9b, 0xf3, 0xfb, 0x8e, 0xee, 0x00, 0x9f];

describe('hostile task and v86 state never escapes as a host error', () => {
  it('runs random TSSs, task gates, back links and v86 frames to a guest outcome', () => {
    const outcomes = new Set<string>();
    let switched = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed * 2654435761);
      const pick = <T>(xs: readonly T[]): T => xs[r() % xs.length];
      // code: far transfers to random selectors, IRETs (with NT set below), port I/O, INT n, v86 entries
      const code: number[] = [];
      for (let i = 0; i < 24; i++) {
        const sel = (0x30 + (r() % 24) * 8) | (r() % 8 === 0 ? 7 : 0);
        switch (r() % 7) {
          case 0: code.push(...jmpFar(sel)); break;
          case 1: code.push(...callFar(sel)); break;
          case 2: code.push(0xcf); break; // IRETD
          case 3: code.push(0xcd, r() & 0xff); break;
          case 4: code.push(0x66, 0xba, r() & 0xff, r() & 0xff, 0xec); break; // mov dx, imm / in al, dx
          case 5: code.push(0x9c, 0x81, 0x0c, 0x24, 0x00, 0x40, 0x02, 0x00, 0x9d); break; // pushfd / or [esp], 24000h / popfd
          default: code.push(r() & 0xff, r() & 0xff, r() & 0xff); break;
        }
      }
      const m = pmMachine(code);
      for (let sel = 0x30; sel < 0x30 + 24 * 8; sel += 8) {
        const base = 0x20000 + (r() % 64) * 0x100;
        m.desc(sel, base, pick([0x2b, 0x67, 0x50, 0xffff, r() & 0xfffff]), pick(ACCESS), r() & 0xf);
        if (r() % 4 === 0) m.gate(GDT, sel >>> 3, (0x30 + (r() % 24) * 8) | (r() & 7), r(), pick(ACCESS));
      }
      for (let a = 0x20000; a < 0x24000; a += 4) m.w32(a, r() % 3 === 0 ? r() : (0x30 + (r() % 24) * 8) | (r() % 2 === 0 ? 0x20000 : 0));
      for (let v = 0; v < 256; v += 1 + (r() % 5)) m.gate(IDT, v, (0x30 + (r() % 24) * 8) | (r() & 3), r(), pick(ACCESS));
      m.w16(TSS_MAIN, 0x30 + (r() % 24) * 8);
      m.w32(TSS_MAIN + 4, r());
      m.w16(TSS_MAIN + 8, r());
      m.w16(TSS_MAIN + 0x66, r());
      m.cpu.setState({ eflags: 2 | (r() % 2 === 0 ? 0x4000 : 0) | (r() & 0x3000), esp: 0x9000 - (r() % 64) * 4 });
      for (let i = 0; i < 16; i++) m.w32(0x9000 - 64 + i * 4, r() % 2 === 0 ? r() : 0x23002);
      let stop = '';
      expect(() => {
        for (let slice = 0; slice < 20 && stop !== 'shutdown'; slice++) {
          stop = m.cpu.run(200);
          const st = m.cpu.getState();
          if (st.tr !== 0x28 || (st.eflags & 0x20000) !== 0) switched++;
          if (stop === 'halt') m.cpu.setState({ halted: false, eip: CODE });
        }
        m.cpu.getState();
      }, `seed ${seed}`).not.toThrow();
      outcomes.add(stop);
    }
    // The programs did reach different ends (a shutdown, or still running), not one host path.
    expect(outcomes.size).toBeGreaterThan(1);
    expect(switched).toBeGreaterThan(0); // some garbage did make it through a task switch or into v86
  }, 60_000);
});
