import { describe, expect, it } from 'vitest';
import { DeviceError, DualPic, IoBus, IrqRouter } from './index.js';

function setup(icw4 = 0x01): { pic: DualPic; bus: IoBus; router: IrqRouter } {
  const bus = new IoBus();
  const pic = new DualPic();
  bus.register('pic-master', 0x20, 2, pic.master);
  bus.register('pic-slave', 0xa0, 2, pic.slave);
  bus.register('elcr', 0x4d0, 2, pic.elcr);
  const router = new IrqRouter(16);
  pic.attach(router);
  // The sequence Linux's init_8259A writes.
  bus.write8(0x20, 0x11);
  bus.write8(0x21, 0x30);
  bus.write8(0x21, 0x04);
  bus.write8(0x21, icw4);
  bus.write8(0xa0, 0x11);
  bus.write8(0xa1, 0x38);
  bus.write8(0xa1, 0x02);
  bus.write8(0xa1, icw4);
  bus.write8(0x21, 0x00);
  bus.write8(0xa1, 0x00);
  return { pic, bus, router };
}

describe('DualPic (8259A pair)', () => {
  it('delivers an edge on IRQ 0 once, with the programmed vector, until EOI', () => {
    const { pic, bus, router } = setup();
    const irq0 = router.source(0);
    expect(pic.hasPendingInterrupt()).toBe(false);
    irq0.set(true);
    expect(pic.hasPendingInterrupt()).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x30);
    expect(pic.isr).toBe(1);
    // Still high but edge-triggered: no new request.
    expect(pic.hasPendingInterrupt()).toBe(false);
    irq0.set(false);
    irq0.set(true);
    // A new edge is latched but IRQ 0 is in service at the same priority.
    expect(pic.hasPendingInterrupt()).toBe(false);
    bus.write8(0x20, 0x20); // non-specific EOI
    expect(pic.isr).toBe(0);
    expect(pic.hasPendingInterrupt()).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x30);
  });

  it('nests by priority: a higher-priority input interrupts a lower one in service', () => {
    const { pic, bus } = setup();
    pic.setIrq(4, true);
    expect(pic.acknowledgeInterrupt()).toBe(0x34);
    pic.setIrq(1, true);
    pic.setIrq(6, true);
    expect(pic.acknowledgeInterrupt()).toBe(0x31);
    expect(pic.hasPendingInterrupt()).toBe(false); // 6 is below 4 and 1 in service
    bus.write8(0x20, 0x20);
    expect(pic.isr).toBe(0x10);
    bus.write8(0x20, 0x64); // specific EOI for 4
    expect(pic.acknowledgeInterrupt()).toBe(0x36);
  });

  it('cascades the slave through IR2 and reports spurious IRQ 7 and 15', () => {
    const { pic, bus } = setup();
    pic.setIrq(12, true);
    expect(pic.hasPendingInterrupt()).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x3c);
    expect(pic.isr).toBe((1 << 12) | (1 << 2));
    bus.write8(0xa0, 0x20);
    bus.write8(0x20, 0x20);
    expect(pic.isr).toBe(0);
    // No request at all: the master answers IR7 without setting ISR.
    expect(pic.acknowledgeInterrupt()).toBe(0x37);
    expect(pic.isr).toBe(0);
    // A slave request masked before INTA: the cascade input drops with it, and an INTA that
    // comes anyway gets the master's spurious IR7.
    pic.setIrq(9, true);
    bus.write8(0x21, 0x00);
    bus.write8(0xa1, 0x02);
    expect(pic.hasPendingInterrupt()).toBe(false);
    expect(pic.acknowledgeInterrupt()).toBe(0x37);
  });

  it('keeps level-triggered inputs requesting while the line is high (ELCR)', () => {
    const { pic, bus } = setup();
    bus.write8(0x4d1, 0xff);
    expect(bus.read8(0x4d1)).toBe(0xde); // IRQ 8 and 13 are always edge
    bus.write8(0x4d0, 0x07);
    expect(bus.read8(0x4d0)).toBe(0x00);
    pic.setIrq(11, true);
    expect(pic.acknowledgeInterrupt()).toBe(0x3b);
    bus.write8(0xa0, 0x20);
    bus.write8(0x20, 0x20);
    expect(pic.hasPendingInterrupt()).toBe(true); // still asserted: requests again
    pic.setIrq(11, false);
    expect(pic.hasPendingInterrupt()).toBe(false);
    expect(pic.irr & 0x800).toBe(0);
  });

  it('masks inputs with OCW1 and reads IRR or ISR through OCW3', () => {
    const { pic, bus } = setup();
    bus.write8(0x21, 0x08);
    pic.setIrq(3, true);
    expect(pic.hasPendingInterrupt()).toBe(false);
    expect(bus.read8(0x20)).toBe(0x08); // IRR is the default read
    bus.write8(0x21, 0x00);
    pic.acknowledgeInterrupt();
    bus.write8(0x20, 0x0b); // OCW3: read ISR
    expect(bus.read8(0x20)).toBe(0x08);
    bus.write8(0x20, 0x0a); // OCW3: read IRR
    expect(bus.read8(0x20)).toBe(0x00);
    expect(bus.read8(0x21)).toBe(0x00);
  });

  it('auto-EOI leaves ISR clear and rotates when asked', () => {
    const { pic, bus } = setup(0x03);
    pic.setIrq(5, true);
    expect(pic.acknowledgeInterrupt()).toBe(0x35);
    expect(pic.isr).toBe(0);
    bus.write8(0x20, 0x80); // rotate in AEOI mode: set
    pic.setIrq(1, true);
    pic.setIrq(3, true);
    expect(pic.acknowledgeInterrupt()).toBe(0x31);
    // IR1 is now the lowest priority, IR2 the highest: 3 goes next even after 1 re-requests.
    pic.setIrq(1, false);
    pic.setIrq(1, true);
    expect(pic.acknowledgeInterrupt()).toBe(0x33);
    expect(pic.acknowledgeInterrupt()).toBe(0x31);
  });

  it('rotates priority on specific EOI and set-priority commands', () => {
    const { pic, bus } = setup();
    bus.write8(0x20, 0xc4); // set priority: IR4 lowest, so IR5 highest
    pic.setIrq(0, true);
    pic.setIrq(6, true);
    expect(pic.acknowledgeInterrupt()).toBe(0x36);
    bus.write8(0x20, 0xe6); // rotate on specific EOI 6: IR7 highest now
    expect(pic.isr).toBe(0);
    expect(pic.acknowledgeInterrupt()).toBe(0x30);
  });

  it('lets lower priorities in under special mask mode', () => {
    const { pic, bus } = setup();
    pic.setIrq(3, true);
    expect(pic.acknowledgeInterrupt()).toBe(0x33);
    pic.setIrq(5, true);
    expect(pic.hasPendingInterrupt()).toBe(false);
    bus.write8(0x21, 0x08); // mask the level in service
    bus.write8(0x20, 0x68); // OCW3: set special mask
    expect(pic.hasPendingInterrupt()).toBe(true);
    expect(pic.acknowledgeInterrupt()).toBe(0x35);
    bus.write8(0x20, 0x48); // reset special mask
    expect(pic.hasPendingInterrupt()).toBe(false);
  });

  it('answers the poll command with the highest request and acknowledges it', () => {
    const { pic, bus } = setup();
    pic.setIrq(6, true);
    bus.write8(0x20, 0x0c);
    expect(bus.read8(0x20)).toBe(0x86);
    expect(pic.isr).toBe(0x40);
    bus.write8(0x20, 0x0c);
    expect(bus.read8(0x20)).toBe(0x00);
    expect(bus.read8(0x21)).toBe(0x00); // poll is one-shot: back to IMR
  });

  it('requires a new edge after initialization for an input already high', () => {
    const { pic, bus } = setup();
    pic.setIrq(4, true);
    bus.write8(0x20, 0x11);
    bus.write8(0x21, 0x30);
    bus.write8(0x21, 0x04);
    bus.write8(0x21, 0x01);
    expect(pic.hasPendingInterrupt()).toBe(false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    expect(pic.acknowledgeInterrupt()).toBe(0x34);
  });

  it('survives any sequence of port writes', () => {
    const { pic, bus } = setup();
    let bad = 0;
    let seed = 12345;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const port = [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1][seed % 6];
      if ((seed >>> 8) % 3 === 0) bus.read8(port);
      else bus.write8(port, (seed >>> 16) & 0xff);
      pic.setIrq((seed >>> 24) & 15, (seed & 0x100) !== 0);
      if (pic.hasPendingInterrupt()) {
        const v = pic.acknowledgeInterrupt();
        bad += v < 0 || v > 0xff ? 1 : 0;
      }
    }
    expect(bad).toBe(0);
  });

  it('saves and restores its state, and refuses hostile state without changing', () => {
    const { pic, bus } = setup();
    bus.write8(0x4d1, 0x08);
    pic.setIrq(4, true);
    pic.setIrq(11, true);
    pic.acknowledgeInterrupt();
    const saved = pic.saveState();
    const copy = new DualPic();
    copy.loadState(saved);
    expect(copy.saveState()).toEqual(saved);
    expect(copy.acknowledgeInterrupt()).toBe(pic.acknowledgeInterrupt());

    const before = pic.saveState();
    const bad = { ...saved, slave: { ...(saved['slave'] as object), elcr: 0x01 } };
    expect(() => pic.loadState(bad)).toThrow(DeviceError);
    expect(() => pic.loadState(bad)).toThrow(/pic.slave: .*'elcr' has reserved bits/);
    expect(() => pic.loadState({ ...saved, master: { ...(saved['master'] as object), vectorBase: 0x31 } })).toThrow(/vectorBase/);
    expect(() => pic.loadState({ ...saved, master: 7 })).toThrow(/must be a record/);
    expect(pic.saveState()).toEqual(before);
  });

  it('reports its INT output to every listener', () => {
    const { pic } = setup();
    const a: boolean[] = [];
    const b: boolean[] = [];
    pic.onOutputChange((l) => a.push(l));
    pic.onOutputChange((l) => b.push(l));
    pic.setIrq(3, true);
    pic.acknowledgeInterrupt();
    expect(a).toEqual([true, false]);
    expect(b).toEqual(a);
  });

  it('resets to power-on state', () => {
    const { pic } = setup();
    pic.setIrq(1, true);
    pic.reset();
    expect(pic.hasPendingInterrupt()).toBe(false);
    expect(pic.irr | pic.isr | pic.imr).toBe(0);
  });
});
