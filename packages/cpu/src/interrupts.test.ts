import { describe, expect, it } from 'vitest';
import type { InterruptSource } from './bus.js';
import type { CpuModelName } from './models.js';
import { IF, OF, TF } from './flags.js';
import { CODE_SEG, STACK_SEG, testMachine, type TestMachine } from './test-machine.js';

const HANDLER_SEG = 0x5000;

/** Points every IVT vector at its own HLT at HANDLER_SEG:vector (so the vector taken is visible in IP). */
function withHandlers(m: TestMachine): TestMachine {
  for (let v = 0; v < 256; v++) {
    m.mem.write16(v * 4, v);
    m.mem.write16(v * 4 + 2, HANDLER_SEG);
    m.mem.write8((HANDLER_SEG << 4) + v, 0xf4);
  }
  return m;
}

function machine(model: CpuModelName, code: number[], interrupts?: InterruptSource): TestMachine {
  return withHandlers(testMachine(model, code, interrupts));
}

/** The interrupt frame on the stack: [ip, cs, flags]. */
function frame(m: TestMachine): [number, number, number] {
  const sp = m.cpu.getState().esp & 0xffff;
  const at = (STACK_SEG << 4) + sp;
  return [m.mem.read16(at), m.mem.read16(at + 2), m.mem.read16(at + 4)];
}

/** The vector whose handler the CPU is halted in. */
function vectorTaken(m: TestMachine): number {
  const s = m.cpu.getState();
  expect(s.cs.selector).toBe(HANDLER_SEG);
  return s.eip - 1;
}

describe('run loop', () => {
  it('stops on HLT, on the budget and on request', () => {
    const m = machine('p6', [0x90, 0x90, 0x90, 0xf4]);
    expect(m.cpu.run(2)).toBe('budget');
    expect(m.cpu.getState().eip).toBe(2);
    expect(m.cpu.run(10)).toBe('halt');
    expect(m.cpu.getState().eip).toBe(4);
    const loop = machine('p6', [0xeb, 0xfe]); // jmp $
    let calls = 0;
    const stopper = { acknowledge: () => (++calls === 5 ? (loop.cpu.requestStop(), -1) : -1) };
    loop.cpu.interrupts = stopper;
    loop.cpu.setState({ eflags: IF | 2 });
    expect(loop.cpu.run(1000)).toBe('stopped');
  });

  it('executes self-modifying code: a write drops the cached instruction', () => {
    const code = [
      0xb0, 0x00, // 0: mov al, 0 (patched to mov al, 42h)
      0x80, 0xfb, 0x01, // 2: cmp bl, 1
      0x74, 0x0a, // 5: je 11h
      0xb3, 0x01, // 7: mov bl, 1
      0x2e, 0xc6, 0x06, 0x01, 0x00, 0x42, // 9: mov byte cs:[1], 42h
      0xeb, 0xef, // f: jmp 0
      0xf4, // 11: hlt
    ];
    const m = machine('p6', code);
    m.cpu.setState({ ebx: 0 });
    expect(m.cpu.run(100)).toBe('halt');
    expect(m.cpu.getState().eax & 0xff).toBe(0x42);
  });
});

describe('real-mode interrupts and exceptions', () => {
  it('INT n pushes FLAGS, CS, IP and IRET returns', () => {
    const m = machine('p6', [0xcd, 0x21, 0xf4]);
    m.mem.write8((HANDLER_SEG << 4) + 0x21, 0xcf); // the INT 21h handler is IRET
    m.cpu.setState({ eflags: IF | TF | 2 });
    m.cpu.interrupts = { acknowledge: () => -1 };
    m.cpu.setState({ eflags: IF | 2 });
    expect(m.cpu.run(2)).toBe('budget');
    expect(m.cpu.getState().eip).toBe(2);
    expect(m.cpu.getState().cs.selector).toBe(CODE_SEG);
    expect(m.cpu.run(10)).toBe('halt');
  });

  it('the IVT vector of INT n is taken with IF and TF cleared', () => {
    const m = machine('p6', [0xcd, 0x80]);
    m.cpu.setState({ eflags: IF | 2 });
    m.cpu.run(10);
    expect(vectorTaken(m)).toBe(0x80);
    expect(m.cpu.getState().eflags & IF).toBe(0);
    expect(frame(m)).toEqual([2, CODE_SEG, IF | 2]);
  });

  it('LIDT moves the interrupt vector table (286 and later)', () => {
    const m = machine('286', [0x0f, 0x01, 0x1e, 0x00, 0x01, 0xcd, 0x10]); // lidt [0100h]; int 10h
    m.poke(0x30100, [0xff, 0x03, 0x00, 0x00, 0x06]); // limit 3FFh, base 060000h
    m.mem.write16(0x60000 + 0x10 * 4, 0x0042); // vector 10h -> 5000:0042 (the HLT of "vector 42h")
    m.mem.write16(0x60000 + 0x10 * 4 + 2, HANDLER_SEG);
    m.cpu.run(10);
    expect(vectorTaken(m)).toBe(0x42);
    expect(m.cpu.getState().idtr).toEqual({ base: 0x60000, limit: 0x3ff });
  });

  it('SMSW reads CR0 and MOV to/from CR0 works on the 386', () => {
    const m = machine('386', [0x0f, 0x01, 0xe0, 0xf4]); // smsw ax
    m.cpu.run(10);
    expect(m.cpu.getState().eax & 0xffff).toBe(0x10);
    const c = machine('486', [0x0f, 0x20, 0xc0, 0x66, 0x83, 0xc8, 0x02, 0x0f, 0x22, 0xc0, 0xf4]); // mov eax,cr0; or eax,2; mov cr0,eax
    c.cpu.run(10);
    expect(c.cpu.getState().cr0).toBe(0x60000012);
  });

  it('divide error: the 8086 returns past the DIV, later CPUs to the DIV', () => {
    for (const [model, ip] of [['8086', 2], ['286', 0], ['p6', 0]] as const) {
      const m = machine(model, [0xf6, 0xf3]); // div bl
      m.cpu.setState({ eax: 0x1234, ebx: 0 });
      m.cpu.run(10);
      expect(vectorTaken(m)).toBe(0);
      expect(frame(m)[0]).toBe(ip);
    }
  });

  it('INTO traps only with OF set; BOUND faults out of range', () => {
    const into = machine('p6', [0xce, 0xf4]);
    into.cpu.run(10);
    expect(into.cpu.getState().cs.selector).toBe(CODE_SEG);
    const into2 = machine('p6', [0xce, 0xf4]);
    into2.cpu.setState({ eflags: OF | 2 });
    into2.cpu.run(10);
    expect(vectorTaken(into2)).toBe(4);
    const b = machine('286', [0x62, 0x06, 0x00, 0x00, 0xf4]); // bound ax, [0]
    b.poke(0x30000, [0x10, 0x00, 0x20, 0x00]); // bounds 10h..20h
    b.cpu.setState({ eax: 0x21 });
    b.cpu.run(10);
    expect(vectorTaken(b)).toBe(5);
    expect(frame(b)[0]).toBe(0);
  });

  it('#UD on invalid opcodes from the 286 on; the 8086 runs 0F as POP CS', () => {
    const ud = machine('386', [0x0f, 0xa2]); // CPUID does not exist on the 386
    ud.cpu.run(10);
    expect(vectorTaken(ud)).toBe(6);
    expect(frame(ud)[0]).toBe(0);
    const fs = machine('286', [0x8e, 0xe0]); // mov fs, ax: FS arrives with the 386
    fs.cpu.run(10);
    expect(vectorTaken(fs)).toBe(6);
    const movcs = machine('386', [0x8e, 0xc8]); // mov cs, ax: 8086 only
    movcs.cpu.run(10);
    expect(vectorTaken(movcs)).toBe(6);
    const popcs = machine('8086', [0x0f]);
    popcs.poke((STACK_SEG << 4) + 0xfff0, [0x00, 0x06]); // CS = 0600h on the stack
    popcs.poke(0x6000 + 1, [0xf4]); // POP CS continues at 0600:0001
    expect(popcs.cpu.run(10)).toBe('halt');
    expect(popcs.cpu.getState().cs.selector).toBe(0x0600);
  });

  it('LOCK is valid on any 8086 instruction and #UD on a non-lockable one later', () => {
    const m = machine('8086', [0xf0, 0x01, 0xc0, 0xf1, 0x40, 0xf4]); // lock add ax, ax; (F1 = lock) inc ax
    m.cpu.setState({ eax: 0x21 });
    expect(m.cpu.run(10)).toBe('halt');
    expect(m.cpu.getState().eax & 0xffff).toBe(0x43);
    const ud = machine('386', [0xf0, 0x01, 0xc0]);
    ud.cpu.run(10);
    expect(vectorTaken(ud)).toBe(6);
  });

  it('a word at offset FFFFh wraps on the 8086 and is #GP on later CPUs', () => {
    const w = machine('8086', [0xa1, 0xff, 0xff, 0xf4]); // mov ax, [ffff]
    w.poke(0x3ffff, [0x34]);
    w.poke(0x30000, [0x12]);
    w.cpu.run(10);
    expect(w.cpu.getState().eax & 0xffff).toBe(0x1234);
    const gp = machine('386', [0xa1, 0xff, 0xff, 0xf4]);
    gp.cpu.run(10);
    expect(vectorTaken(gp)).toBe(13);
  });

  it('single-step: TF traps after each instruction with the address of the next', () => {
    const m = machine('p6', [0x90, 0x90, 0xf4]);
    m.cpu.setState({ eflags: TF | 2 });
    m.cpu.run(10);
    expect(vectorTaken(m)).toBe(1);
    expect(frame(m)).toEqual([1, CODE_SEG, TF | 2]);
  });

  it('external interrupts are taken between instructions when IF is set', () => {
    let pending = 0x30;
    const m = machine('p6', [0x90, 0x90, 0xf4], { acknowledge: () => { const v = pending; pending = -1; return v; } });
    m.cpu.setState({ eflags: 2 });
    expect(m.cpu.run(1)).toBe('budget'); // IF clear: not taken
    m.cpu.setState({ eflags: IF | 2 });
    m.cpu.run(10);
    expect(vectorTaken(m)).toBe(0x30);
    expect(frame(m)[0]).toBe(1);
  });

  it('HLT wakes up on an interrupt', () => {
    let v = -1;
    const m = machine('p6', [0xf4, 0x90], { acknowledge: () => v });
    m.cpu.setState({ eflags: IF | 2 });
    expect(m.cpu.run(10)).toBe('halt');
    v = 0x40;
    m.cpu.run(1);
    expect(m.cpu.getState().cs.selector).toBe(HANDLER_SEG);
    expect(frame(m)[0]).toBe(1);
  });
});

describe('interrupt shadow', () => {
  /** An interrupt that becomes pending once `after` instructions have run. */
  function pendingAfter(m: () => TestMachine, after: number): InterruptSource {
    let taken = false;
    return { acknowledge: () => (!taken && m().cpu.instructions >= after ? ((taken = true), 0x20) : -1) };
  }

  it('MOV SS holds interrupts off for one instruction', () => {
    const ref: { m?: TestMachine } = {};
    const m = machine('p6', [0x8e, 0xd0, 0x90, 0x90, 0xf4], pendingAfter(() => ref.m!, 1)); // mov ss, ax; nop; nop
    ref.m = m;
    m.cpu.setState({ eax: STACK_SEG, eflags: IF | 2 });
    m.cpu.run(10);
    expect(vectorTaken(m)).toBe(0x20);
    expect(frame(m)[0]).toBe(3); // after the NOP, not after MOV SS
    const ref2: { m?: TestMachine } = {};
    const n = machine('p6', [0x89, 0xc0, 0x90, 0x90, 0xf4], pendingAfter(() => ref2.m!, 1)); // mov ax, ax: no shadow
    ref2.m = n;
    n.cpu.setState({ eflags: IF | 2 });
    n.cpu.run(10);
    expect(frame(n)[0]).toBe(2);
  });

  it('STI enables interrupts after the next instruction', () => {
    const m = machine('p6', [0xfb, 0x90, 0x90, 0xf4], { acknowledge: () => 0x20 });
    m.cpu.setState({ eflags: 2 });
    m.cpu.run(10);
    expect(vectorTaken(m)).toBe(0x20);
    expect(frame(m)[0]).toBe(2);
  });

  it('MOV SS also defers the single-step trap past the next instruction', () => {
    const m = machine('p6', [0x8e, 0xd0, 0x90, 0x90, 0xf4]);
    m.cpu.setState({ eax: STACK_SEG, eflags: TF | 2 });
    m.cpu.run(10);
    expect(vectorTaken(m)).toBe(1);
    expect(frame(m)[0]).toBe(3);
  });
});
