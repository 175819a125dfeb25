import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { DeviceError, DualPic, IoApic, IrqRouter, LocalApic, VirtualClock } from './index.js';

const LAPIC = 0xfee0_0000;
const IOAPIC = 0xfec0_0000;

function machine(): { clock: VirtualClock; phys: PhysicalMemory; lapic: LocalApic; ioapic: IoApic; pic: DualPic; router: IrqRouter; nmis: () => number } {
  const clock = new VirtualClock();
  const router = new IrqRouter(24);
  const pic = new DualPic();
  pic.attach(router);
  let nmis = 0;
  const eoi = { to: undefined as IoApic | undefined };
  const lapic = new LocalApic({ clock, extInt: pic, onEoi: (v) => eoi.to?.eoi(v), onNmi: () => nmis++ });
  const ioapic = new IoApic({ sink: lapic });
  eoi.to = ioapic;
  ioapic.attach(router);
  const phys = new PhysicalMemory({ ramSize: 1 << 20 });
  phys.mapMmio(LAPIC, 0x1000, lapic, 'lapic');
  phys.mapMmio(IOAPIC, 0x1000, ioapic, 'ioapic');
  return { clock, phys, lapic, ioapic, pic, router, nmis: () => nmis };
}

const reg = (phys: PhysicalMemory, offset: number): number => phys.read32(LAPIC + offset) >>> 0;
const setReg = (phys: PhysicalMemory, offset: number, v: number): void => phys.write32(LAPIC + offset, v);
function redirect(phys: PhysicalMemory, pin: number, low: number, high = 0): void {
  phys.write32(IOAPIC, 0x10 + 2 * pin + 1);
  phys.write32(IOAPIC + 0x10, high);
  phys.write32(IOAPIC, 0x10 + 2 * pin);
  phys.write32(IOAPIC + 0x10, low);
}

describe('LocalApic', () => {
  it('reads its identity registers through the MMIO region and resets like a bootstrap processor', () => {
    const { phys, lapic } = machine();
    expect(reg(phys, 0x30)).toBe(0x0005_0014);
    expect(reg(phys, 0xf0)).toBe(0xff);
    expect(reg(phys, 0xe0)).toBe(0xffff_ffff);
    expect(reg(phys, 0x320)).toBe(0x10000);
    expect(reg(phys, 0x350)).toBe(0x700); // LINT0: ExtINT, unmasked
    expect(lapic.baseMsr).toBe(0xfee0_0900);
    expect(phys.read8(LAPIC + 0x30)).toBe(0x14); // narrow reads are widened by the bus
  });

  it('delivers self IPIs by priority, holds lower ones behind TPR and ISR, and EOIs the highest', () => {
    const { phys, lapic } = machine();
    setReg(phys, 0xf0, 0x1ff);
    setReg(phys, 0x300, 0x40000 | 0x31); // self, fixed, vector 0x31
    setReg(phys, 0x300, 0x40000 | 0x52);
    expect(lapic.hasPendingInterrupt()).toBe(true);
    expect(lapic.acknowledgeInterrupt()).toBe(0x52);
    expect(lapic.hasPendingInterrupt()).toBe(false); // 0x31 is a lower class than 0x52 in service
    expect(reg(phys, 0xa0)).toBe(0x50); // PPR
    setReg(phys, 0xb0, 0);
    setReg(phys, 0x80, 0x30); // TPR blocks class 3
    expect(lapic.hasPendingInterrupt()).toBe(false);
    setReg(phys, 0x80, 0x20);
    expect(lapic.acknowledgeInterrupt()).toBe(0x31);
    expect(reg(phys, 0x100 + 0x10)).toBe(1 << 17); // ISR bit 0x31
    setReg(phys, 0xb0, 0);
    expect(reg(phys, 0x110)).toBe(0);
    setReg(phys, 0x300, 0x40000 | 0x05); // illegal vector
    setReg(phys, 0x280, 0);
    expect(reg(phys, 0x280)).toBe(0x20);
  });

  it('runs the timer in one-shot and periodic modes from the virtual clock', () => {
    const { clock, phys, lapic } = machine();
    setReg(phys, 0xf0, 0x1ff);
    setReg(phys, 0x3e0, 0x3); // divide by 16
    setReg(phys, 0x320, 0x40);
    setReg(phys, 0x380, 1000);
    clock.advanceTo(16 * 250);
    expect(reg(phys, 0x390)).toBe(750);
    clock.advanceTo(16 * 1000 - 1);
    expect(lapic.hasPendingInterrupt()).toBe(false);
    clock.advanceTo(16 * 1000);
    expect(lapic.acknowledgeInterrupt()).toBe(0x40);
    setReg(phys, 0xb0, 0);
    expect(reg(phys, 0x390)).toBe(0);
    clock.advanceTo(100_000);
    expect(lapic.hasPendingInterrupt()).toBe(false);

    setReg(phys, 0x320, 0x20041); // periodic, vector 0x41
    setReg(phys, 0x3e0, 0xb); // divide by 1
    setReg(phys, 0x380, 500);
    let fired = 0;
    for (let t = 100_000; t <= 102_600; t += 100) {
      clock.advanceTo(t);
      if (lapic.hasPendingInterrupt()) {
        expect(lapic.acknowledgeInterrupt()).toBe(0x41);
        setReg(phys, 0xb0, 0);
        fired++;
      }
    }
    expect(fired).toBe(5);
    expect(reg(phys, 0x390)).toBe(400);
    setReg(phys, 0x320, 0x30041); // masked: counts on, no interrupt
    clock.advanceTo(110_000);
    expect(lapic.hasPendingInterrupt()).toBe(false);
  });

  it('passes the PIC through LINT0 ExtINT, and directly when disabled in IA32_APIC_BASE', () => {
    const { phys, lapic, pic } = machine();
    // Program the PIC for vectors 0x20-0x2F.
    pic.master.write8!(0, 0x11);
    pic.master.write8!(1, 0x20);
    pic.master.write8!(1, 0x04);
    pic.master.write8!(1, 0x01);
    pic.setIrq(1, true);
    expect(lapic.hasPendingInterrupt()).toBe(true);
    expect(lapic.acknowledgeInterrupt()).toBe(0x21);
    pic.master.write8!(0, 0x20);
    setReg(phys, 0xf0, 0x1ff);
    setReg(phys, 0x350, 0x10700); // mask LINT0
    pic.setIrq(1, false);
    pic.setIrq(1, true);
    expect(lapic.hasPendingInterrupt()).toBe(false);
    lapic.writeBaseMsr(0xfee0_0000); // globally disabled: the PIC is wired straight to INTR
    expect(lapic.enabled).toBe(false);
    expect(lapic.acknowledgeInterrupt()).toBe(0x21);
    lapic.writeBaseMsr(0xfee0_0800); // re-enabled from its power-up state
    expect(lapic.enabled).toBe(true);
    expect(reg(phys, 0xf0)).toBe(0xff);
    expect(reg(phys, 0x350)).toBe(0x700);
  });
});

describe('IoApic', () => {
  it('identifies itself and masks every entry at reset', () => {
    const { phys } = machine();
    phys.write32(IOAPIC, 1);
    expect(phys.read32(IOAPIC + 0x10) >>> 0).toBe(0x0017_0011);
    phys.write32(IOAPIC, 0x10);
    expect(phys.read32(IOAPIC + 0x10) >>> 0).toBe(0x10000);
    phys.write32(IOAPIC, 0);
    phys.write32(IOAPIC + 0x10, 0x0f00_0000);
    expect(phys.read32(IOAPIC + 0x10) >>> 0).toBe(0x0f00_0000);
  });

  it('delivers edge inputs per rising edge; ISA IRQ 0 arrives on input 2', () => {
    const { phys, lapic, router } = machine();
    setReg(phys, 0xf0, 0x1ff);
    setReg(phys, 0x350, 0x10700); // LINT0 masked: the PIC (uninitialized here) stays out of the way
    redirect(phys, 2, 0x30);
    const pit = router.source(0);
    pit.set(true);
    expect(lapic.acknowledgeInterrupt()).toBe(0x30);
    expect(reg(phys, 0x180 + 0x10) & 1).toBe(0); // TMR clear: edge
    setReg(phys, 0xb0, 0);
    pit.set(true);
    expect(lapic.hasPendingInterrupt()).toBe(false);
    pit.set(false);
    redirect(phys, 2, 0x10030); // masked: the edge is lost
    pit.set(true);
    redirect(phys, 2, 0x30);
    expect(lapic.hasPendingInterrupt()).toBe(false);
  });

  it('holds level inputs in remote IRR until EOI and resends while the line stays high', () => {
    const { phys, lapic, router } = machine();
    setReg(phys, 0xf0, 0x1ff);
    setReg(phys, 0x350, 0x10700); // LINT0 masked: the PIC (uninitialized here) stays out of the way
    redirect(phys, 16, 0x10000 | 0x8000 | 0x61, 0); // masked, level, vector 0x61
    const nic = router.source(16);
    nic.set(true);
    expect(lapic.hasPendingInterrupt()).toBe(false);
    redirect(phys, 16, 0x8000 | 0x61); // unmasking delivers the asserted level
    expect(lapic.acknowledgeInterrupt()).toBe(0x61);
    phys.write32(IOAPIC, 0x30);
    expect(phys.read32(IOAPIC + 0x10) & 0x4000).toBe(0x4000); // remote IRR
    setReg(phys, 0xb0, 0); // EOI broadcast: still high, so delivered again
    expect(lapic.acknowledgeInterrupt()).toBe(0x61);
    nic.set(false);
    setReg(phys, 0xb0, 0);
    expect(lapic.hasPendingInterrupt()).toBe(false);
    expect(phys.read32(IOAPIC + 0x10) & 0x4000).toBe(0);
  });

  it('routes by destination: physical ID, logical flat, and NMI delivery', () => {
    const { phys, lapic, router, nmis } = machine();
    setReg(phys, 0xf0, 0x1ff);
    setReg(phys, 0x350, 0x10700); // LINT0 masked: the PIC (uninitialized here) stays out of the way
    setReg(phys, 0xd0, 0x0100_0000); // logical ID bit 0
    redirect(phys, 5, 0x45, 0x0300_0000); // physical destination 3: not us
    router.source(5).set(true);
    expect(lapic.hasPendingInterrupt()).toBe(false);
    redirect(phys, 6, 0x800 | 0x46, 0x0100_0000); // logical destination bit 0: us
    router.source(6).set(true);
    expect(lapic.acknowledgeInterrupt()).toBe(0x46);
    redirect(phys, 7, 0x400, 0); // NMI
    router.source(7).set(true);
    expect(nmis()).toBe(1);
  });

  it('saves and restores both APICs, and refuses hostile state without changing', () => {
    const { clock, phys, lapic, ioapic } = machine();
    setReg(phys, 0xf0, 0x1ff);
    setReg(phys, 0x350, 0x10700); // LINT0 masked: the PIC (uninitialized here) stays out of the way
    setReg(phys, 0x320, 0x20041);
    setReg(phys, 0x380, 1000);
    redirect(phys, 4, 0x8000 | 0x24);
    clock.advanceTo(300);
    const savedL = lapic.saveState();
    const savedI = ioapic.saveState();
    const clock2 = new VirtualClock();
    clock2.setTime(300);
    const lapic2 = new LocalApic({ clock: clock2 });
    const ioapic2 = new IoApic({ sink: lapic2 });
    lapic2.loadState(savedL);
    ioapic2.loadState(savedI);
    expect(lapic2.saveState()).toEqual(savedL);
    expect(ioapic2.saveState()).toEqual(savedI);
    clock2.advanceTo(300 + 850 * 2 - 1); // divide by 2 (the reset value): 850 counts left at 300
    expect(lapic2.hasPendingInterrupt()).toBe(false);
    clock2.advanceTo(300 + 850 * 2);
    expect(lapic2.acknowledgeInterrupt()).toBe(0x41);

    const beforeL = lapic.saveState();
    const beforeI = ioapic.saveState();
    expect(() => lapic.loadState({ ...savedL, lvt: [0x1_0000, 0, 0, 0, 0, 0x0800_0000] })).toThrow(/entry 5/);
    expect(() => lapic.loadState({ ...savedL, irr: new Uint32Array(7) })).toThrow(/8 words/);
    expect(() => lapic.loadState({ ...savedL, apicBase: 0xfee0_0801 })).toThrow(DeviceError);
    const low = new Uint32Array(24);
    low[3] = 0x1000; // delivery status is read-only
    expect(() => ioapic.loadState({ ...savedI, low })).toThrow(/entry 3/);
    expect(lapic.saveState()).toEqual(beforeL);
    expect(ioapic.saveState()).toEqual(beforeI);
  });

  it('survives any sequence of MMIO accesses', () => {
    const { clock, phys, lapic, router } = machine();
    let bad = 0;
    let seed = 17;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const base = seed & 1 ? LAPIC : IOAPIC;
      const offset = (seed >>> 1) & 0x3fc;
      if ((seed >>> 12) % 3 === 0) phys.read32(base + offset);
      else phys.write32(base + offset, Math.imul(seed, 2654435761));
      router.source((seed >>> 20) % 24).set((seed & 0x100) !== 0);
      clock.advanceTo(clock.now() + ((seed >>> 24) & 0xff));
      if (lapic.hasPendingInterrupt()) bad += lapic.acknowledgeInterrupt() > 0xff ? 1 : 0;
    }
    expect(bad).toBe(0);
  });
});
