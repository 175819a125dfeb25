import { describe, expect, it } from 'vitest';
import { Machine, VmmError, type MachineConfig } from '../src/index.js';
import { RomBuilder } from './rom-builder.js';

function machine(rom: Uint8Array, extra: Partial<MachineConfig> = {}): Machine {
  return new Machine({ boot: { kind: 'rom', image: rom }, memory: 2 << 20, time: 'deterministic', ...extra });
}

/** ds = 0; count boots in byte 0x500 (RAM survives a reset); exit with the count at 3, else reset with `reset`. */
function rebootThreeTimes(reset: (r: RomBuilder) => void): Uint8Array {
  const r = new RomBuilder()
    .bytes(0x31, 0xc0, 0x8e, 0xd8) // xor ax, ax; mov ds, ax
    .bytes(0xfe, 0x06, 0x00, 0x05) // inc byte [0x500]
    .bytes(0xa0, 0x00, 0x05) // mov al, [0x500]
    .bytes(0x3c, 0x03) // cmp al, 3
    .jump(0x74, 'done');
  reset(r);
  r.bytes(0xf4).label('done').bytes(0xe6, 0xf4); // hlt; done: out 0xf4, al
  return r.build();
}

const RESETS: [string, (r: RomBuilder) => void, string][] = [
  ['port 0x92', (r) => r.out(0x92, 0x01), 'port92'],
  ['the keyboard controller', (r) => r.out(0x64, 0xfe), 'keyboard-controller'],
  ['0xCF9', (r) => r.bytes(0xba, 0xf9, 0x0c, 0xb0, 0x06, 0xee), 'reset-control'], // mov dx, 0xcf9; mov al, 6; out dx, al
  ['a triple fault', (r) => r.bytes(0x0f, 0x01, 0x1e, 0x00, 0x06, 0xcc), 'triple-fault'], // lidt [0x600] (limit 0); int3
];

describe('Machine', () => {
  for (const [name, reset, source] of RESETS) {
    it(`reboots on a reset through ${name}, or stops with --no-reboot`, async () => {
      const m = machine(rebootThreeTimes(reset));
      expect(await m.run({ maxInstructions: 10_000 })).toEqual({ reason: 'exit', status: (3 << 1) | 1 });
      expect(m.resets).toBe(2);
      const once = machine(rebootThreeTimes(reset), { noReboot: true });
      expect(await once.run({ maxInstructions: 10_000 })).toEqual({ reason: 'reset', source });
    });
  }

  it('skips halted time to the next timer in deterministic mode: PIT interrupts wake HLT', async () => {
    const m = machine(pitTicks(11932, 5)); // 100 Hz
    const exit = await m.run({ maxInstructions: 100_000 });
    expect(exit).toEqual({ reason: 'exit', status: 1 });
    expect(m.instructions).toBeLessThan(500);
    // Five periods of 10 ms passed in virtual time, with a few hundred instructions executed.
    expect(m.time.now(m.instructions)).toBeGreaterThan(4 * 10_000_000);
    expect(m.time.now(m.instructions)).toBeLessThan(6 * 10_000_000);
  });

  it('repeats a timer-driven run exactly in deterministic mode', async () => {
    // The main loop counts in BX; each PIT interrupt prints BL on COM1, so the output records the
    // exact instruction each interrupt landed on.
    const image = new RomBuilder()
      .bytes(0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x70) // xor ax, ax; mov ds, ax; mov ss, ax; mov sp, 0x7000
      .bytes(0xc7, 0x06, 0x20, 0x00).addressOf('irq0')
      .bytes(0xc7, 0x06, 0x22, 0x00, 0x00, 0xf0)
      .out(0x20, 0x11).out(0x21, 0x08).out(0x21, 0x04).out(0x21, 0x01).out(0x21, 0xfe)
      .out(0x43, 0x34).out(0x40, 0x30).out(0x40, 0x00) // 48 PIT clocks: about 40 us
      .bytes(0xfb)
      .label('spin')
      .bytes(0x43, 0x01, 0xd9) // inc bx; add cx, bx
      .jump(0xeb, 'spin')
      .label('irq0')
      .bytes(0x50, 0x52, 0xba, 0xf8, 0x03, 0x88, 0xd8, 0xee) // push ax; push dx; mov dx, 0x3f8; mov al, bl; out dx, al
      .bytes(0xfe, 0x06, 0x00, 0x05, 0x80, 0x3e, 0x00, 0x05, 24) // inc byte [0x500]; cmp byte [0x500], 24
      .jump(0x73, 'exit')
      .out(0x20, 0x20)
      .bytes(0x5a, 0x58, 0xcf) // pop dx; pop ax; iret
      .label('exit')
      .out(0xf4, 0x00)
      .build();
    const once = async (nsPerInstruction: number): Promise<number[]> => {
      const m = machine(image, { nsPerInstruction });
      const out: number[] = [];
      m.serial(0).setSink((b) => out.push(b));
      expect(await m.run({ maxInstructions: 10_000_000 })).toEqual({ reason: 'exit', status: 1 });
      return out;
    };
    const a = await once(1);
    expect(a.length).toBe(24);
    expect(new Set(a).size).toBeGreaterThan(8);
    expect(await once(1)).toEqual(a);
    expect(await once(3)).not.toEqual(a);
  }, 20_000);

  it('waits on the host in real-time mode instead of spinning while halted', async () => {
    const m = new Machine({ boot: { kind: 'rom', image: pitTicks(2386, 10) }, memory: 2 << 20 }); // 500 Hz: 20 ms
    let slices = 0;
    const run = m.cpu.run.bind(m.cpu);
    m.cpu.run = (budget: number) => (slices++, run(budget));
    const t0 = performance.now();
    expect(await m.run({ maxInstructions: 1_000_000 })).toEqual({ reason: 'exit', status: 1 });
    expect(performance.now() - t0).toBeGreaterThan(15);
    expect(slices).toBeLessThan(200);
  });

  it('ends with halted on HLT with interrupts off, and on an idle CPU with nothing armed', async () => {
    expect(await machine(new RomBuilder().bytes(0xfa, 0xf4).build()).run()).toEqual({ reason: 'halted' });
    expect(await machine(new RomBuilder().bytes(0xfb, 0xf4).build(), { pci: false }).run()).toEqual({ reason: 'halted' });
  });

  it('stops at the budget, resumes where it was, and stops on request', async () => {
    const m = machine(new RomBuilder().label('l').jump(0xeb, 'l').build());
    expect(await m.run({ maxInstructions: 12_345 })).toEqual({ reason: 'budget' });
    expect(m.instructions).toBe(12_345);
    expect(await m.run({ maxInstructions: 5 })).toEqual({ reason: 'budget' });
    expect(m.instructions).toBe(12_350);
    const running = m.run();
    await expect(m.run()).rejects.toThrow(VmmError);
    setTimeout(() => m.stop(), 5);
    expect(await running).toEqual({ reason: 'stopped' });
  });

  it('gates A20 through port 0x92 and the keyboard controller together', async () => {
    const m = machine(new RomBuilder().out(0x92, 0x00).bytes(0xf4).build());
    expect(m.cpu.getState().a20).toBe(true);
    // The i8042 output port leaves A20 on at power-on; turn it off there (D1 command), then port 0x92 alone decides.
    const r = new RomBuilder()
      .out(0x64, 0xd1)
      .out(0x60, 0x01) // output port: reset line high, A20 off
      .out(0xf4, 0x10) // exit (status 0x21): check A20 here
      .build();
    const gated = machine(r);
    expect(await gated.run({ maxInstructions: 100 })).toEqual({ reason: 'exit', status: 0x21 });
    expect(gated.cpu.getState().a20).toBe(false);
    const fast = machine(new RomBuilder().out(0x64, 0xd1).out(0x60, 0x01).out(0x92, 0x02).out(0xf4, 0).build());
    await fast.run({ maxInstructions: 100 });
    expect(fast.cpu.getState().a20).toBe(true);
    expect(await m.run({ maxInstructions: 100 })).toEqual({ reason: 'halted' });
  });

  it('lets a layer interpose on the CPU port accesses', async () => {
    const seen: number[] = [];
    const m = new Machine(
      { boot: { kind: 'rom', image: new RomBuilder().out(0x80, 0x12).out(0xf4, 0x02).build() }, time: 'deterministic' },
      {
        wrapPorts: (bus) => ({
          read8: (p) => bus.read8(p),
          read16: (p) => bus.read16(p),
          read32: (p) => bus.read32(p),
          write8: (p, v) => (seen.push(p), p === 0xf4 ? bus.write8(p, v + 1) : bus.write8(p, v)),
          write16: (p, v) => bus.write16(p, v),
          write32: (p, v) => bus.write32(p, v),
        }),
      },
    );
    expect(await m.run({ maxInstructions: 100 })).toEqual({ reason: 'exit', status: 7 });
    expect(seen).toEqual([0x80, 0xf4]);
  });

  it('fills the CMOS memory fields from the configured RAM size', () => {
    const m = machine(new RomBuilder().build(), { memory: 32 << 20 });
    const kib = (lo: number, hi: number): number => m.board.rtc.getByte(lo) | (m.board.rtc.getByte(hi) << 8);
    expect(kib(0x15, 0x16)).toBe(640);
    expect(kib(0x17, 0x18)).toBe(31 * 1024);
  });

  it('wires the PC devices at their standard ports, PCI and the APICs as configured', () => {
    const full = machine(new RomBuilder().build(), { serialPorts: 4, apic: true, cpu: 'pentium' });
    const bus = full.board.bus;
    const owners = [0x20, 0xa0, 0x4d0, 0x40, 0x61, 0x70, 0x3f8, 0x2f8, 0x3e8, 0x2e8, 0x60, 0x64, 0x92, 0xcf8, 0xe9, 0xf4].map((p) => bus.ownerOf(p));
    expect(owners).toEqual(['pic-master', 'pic-slave', 'elcr', 'pit', 'port61', 'rtc', 'com1', 'com2', 'com3', 'com4', 'i8042-data', 'i8042-control', 'port92', 'pci', 'debugcon', 'debug-exit']);
    // With the i440FX, the BIOS window below 1 MiB is shadow RAM that follows the PAM registers.
    expect(full.memory.regions().map((r) => r.name)).toEqual(expect.arrayContaining(['lapic', 'ioapic', 'bios', 'shadow-f0000']));
    // PCI config read of 00:00.0: the i440FX's vendor and device.
    bus.write32(0xcf8, 0x8000_0000);
    expect(bus.read32(0xcfc)).toBe(0x1237_8086);
    const isa = machine(new RomBuilder().build(), { pci: false, serialPorts: 0 });
    expect(isa.board.bus.ownerOf(0xcf9)).toBe('reset-control');
    expect(isa.board.bus.ownerOf(0xcf8)).toBeUndefined();
    expect(isa.board.bus.ownerOf(0x3f8)).toBeUndefined();
    expect(() => isa.serial(0)).toThrow(/COM1 is not configured/);
  });
});

/** Programs the PIC (vectors 8-15) and PIT channel 0 with `count`, halts until `ticks` IRQ 0s, then exits with status 1. */
function pitTicks(count: number, ticks: number): Uint8Array {
  return new RomBuilder()
    .bytes(0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0) // xor ax, ax; mov ds, ax; mov ss, ax
    .bytes(0xbc, 0x00, 0x70) // mov sp, 0x7000
    .bytes(0xc7, 0x06, 0x20, 0x00).addressOf('irq0') // mov word [0x20], irq0
    .bytes(0xc7, 0x06, 0x22, 0x00, 0x00, 0xf0) // mov word [0x22], 0xf000
    .out(0x20, 0x11).out(0x21, 0x08).out(0x21, 0x04).out(0x21, 0x01).out(0x21, 0xfe) // ICW1-4, mask all but IRQ 0
    .out(0x43, 0x34).out(0x40, count & 0xff).out(0x40, count >> 8) // counter 0, mode 2
    .bytes(0xfb) // sti
    .label('wait')
    .bytes(0xf4) // hlt
    .bytes(0x80, 0x3e, 0x00, 0x05, ticks) // cmp byte [0x500], ticks
    .jump(0x72, 'wait') // jb wait
    .out(0xf4, 0x00)
    .label('irq0')
    .bytes(0xfe, 0x06, 0x00, 0x05) // inc byte [0x500]
    .out(0x20, 0x20) // EOI
    .bytes(0xcf) // iret
    .build();
}
