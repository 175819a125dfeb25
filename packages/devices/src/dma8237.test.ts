import { PhysicalMemory } from '@tsvm/mmu';
import { describe, expect, it } from 'vitest';
import { DMA_MODE_AUTOINIT, DMA_MODE_DECREMENT, DMA_MODE_READ, DMA_MODE_WRITE, Dma8237 } from './dma8237.js';
import { DeviceError } from './errors.js';
import { IoBus } from './io-bus.js';

function setup() {
  const memory = new PhysicalMemory({ ramSize: 1 << 20 });
  const dma = new Dma8237(memory);
  const bus = new IoBus();
  bus.register('dma1', 0x00, 16, dma.slave);
  bus.register('dma-page', 0x80, 16, dma.pages);
  bus.register('dma2', 0xc0, 32, dma.master);
  return { memory, dma, bus };
}

describe('Dma8237', () => {
  it('reads back address and count through the flip-flop and counts down as it transfers', () => {
    const { bus, dma, memory } = setup();
    bus.write8(0x0c, 0);
    bus.write8(0x02, 0x34); bus.write8(0x02, 0x12); // channel 1 address 1234h
    bus.write8(0x03, 3); bus.write8(0x03, 0); // count 3 (4 bytes)
    bus.write8(0x83, 0x05); // channel 1 page
    bus.write8(0x0b, DMA_MODE_WRITE | 1);
    expect(dma.transfer(1, new Uint8Array([1, 2]), true)).toBe(0); // still masked
    bus.write8(0x0a, 0x01);
    expect(dma.transfer(1, new Uint8Array([1, 2]), false)).toBe(0); // programmed the other way
    expect(dma.transfer(1, new Uint8Array([1, 2, 3, 4, 5, 6]), true)).toBe(4);
    expect(memory.read32(0x51234)).toBe(0x04030201);
    bus.write8(0x0c, 0);
    expect([bus.read8(0x02), bus.read8(0x02), bus.read8(0x03), bus.read8(0x03)]).toEqual([0x38, 0x12, 0xff, 0xff]);
    expect(bus.read8(0x08) & 0x02).toBe(0x02);
    expect(bus.read8(0x08) & 0x02).toBe(0); // cleared by the read
    expect(dma.ready(1, true)).toBe(false); // masked at terminal count
  });

  it('auto-initializes, decrements, and moves words on channels 5-7', () => {
    const { bus, dma, memory } = setup();
    bus.write8(0x0c, 0);
    bus.write8(0x04, 0x10); bus.write8(0x04, 0x00);
    bus.write8(0x05, 1); bus.write8(0x05, 0);
    bus.write8(0x0b, DMA_MODE_READ | DMA_MODE_AUTOINIT | DMA_MODE_DECREMENT | 2);
    bus.write8(0x0a, 0x02);
    memory.writeBytes(0x0f, new Uint8Array([7, 8]));
    const out = new Uint8Array(2);
    expect(dma.transfer(2, out, false)).toBe(2);
    expect(Array.from(out)).toEqual([8, 7]);
    expect(dma.ready(2, false)).toBe(true); // reloaded, still unmasked
    expect(dma.transfer(2, out, false)).toBe(2);
    // Channel 5: word address 0x800 on page 2 is byte 0x21000.
    bus.write8(0xd8, 0);
    bus.write8(0xc4, 0x00); bus.write8(0xc4, 0x08);
    bus.write8(0xc6, 0); bus.write8(0xc6, 0);
    bus.write8(0x8b, 0x02);
    bus.write8(0xd6, DMA_MODE_WRITE | 1);
    bus.write8(0xd4, 0x01);
    expect(dma.transfer(5, new Uint8Array([0xaa, 0xbb, 0xcc]), true)).toBe(2);
    expect(memory.read16(0x21000)).toBe(0xbbaa);
  });

  it('saves and restores, refusing a bad flip-flop', () => {
    const { bus, dma } = setup();
    bus.write8(0x81, 0x42);
    const saved = dma.saveState();
    const other = setup();
    other.dma.loadState(saved);
    expect(other.bus.read8(0x81)).toBe(0x42);
    expect(() => other.dma.loadState({ ...saved, flipFlop: new Uint8Array([2, 0]) })).toThrow(DeviceError);
  });
});
