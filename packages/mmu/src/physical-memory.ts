import {
  KIND_CODE_FLAG,
  KIND_MASK,
  KIND_MMIO,
  KIND_RAM,
  KIND_ROM,
  KIND_UNMAPPED,
  MAX_RAM_SIZE,
  PAGE_MASK,
  PAGE_SHIFT,
  PAGE_SIZE,
  PHYS_LIMIT,
  PHYS_PAGES,
} from './constants.js';
import { MemoryError } from './errors.js';
import { type MmioHandler, mmioRead, mmioWrite, validateMmioHandler } from './mmio.js';

/** Options of a physical address space. */
export interface PhysicalMemoryOptions {
  /** Bytes of RAM, a multiple of 4 KiB, at most 3.5 GiB. RAM occupies [0, ramSize). */
  ramSize: number;
}

/** A mapped ROM or MMIO window, as `regions()` lists it. */
export interface MemoryRegionInfo {
  readonly name: string;
  readonly kind: 'rom' | 'mmio';
  readonly base: number;
  readonly size: number;
}

interface Region {
  readonly info: MemoryRegionInfo;
  readonly rom: Uint8Array | null;
  readonly mmio: MmioHandler | null;
}

/** Called after a write lands in a page that held cached code; `address` is physical. */
export type CodeWriteHandler = (address: number, size: number) => void;

/**
 * Something that caches direct access to RAM pages (a TLB). It is told when a physical page stops
 * being plain RAM for it: marked as code, or covered or uncovered by a region.
 */
export interface PhysicalPageListener {
  physicalPageChanged(page: number): void;
}

/**
 * The guest's 4 GiB physical address space: RAM as one ArrayBuffer from address 0, ROM and MMIO
 * regions mapped by 4 KiB page on top of it (a region hides the RAM under it), and nothing elsewhere
 * (reads all-ones, writes ignored; so is everything at or above 4 GiB). A per-page kind table makes a
 * RAM access one array load. Addresses are physical, as the bus sees them: the A20 gate is the CPU's
 * and lives in the `Mmu`.
 */
export class PhysicalMemory {
  // `declare`: these are assigned once in the constructor and never first defined as undefined, so
  // V8 keeps exact field types and the access paths need no checks on them.
  declare readonly ramSize: number;
  /** The whole of RAM. Byte i is physical address i (where no region hides it). */
  declare readonly ram: Uint8Array;
  declare readonly ram16: Uint16Array;
  declare readonly ram32: Int32Array;
  declare readonly ramView: DataView;
  /** One byte per 4 KiB physical page: KIND_* in the low two bits, KIND_CODE_FLAG on RAM pages holding cached code. */
  declare readonly kinds: Uint8Array;
  private declare readonly regionOf: Uint16Array;
  private readonly regionList: (Region | null)[] = [null];
  private codeWriteHandler: CodeWriteHandler | null = null;
  private readonly listeners: PhysicalPageListener[] = [];

  constructor(options: PhysicalMemoryOptions) {
    const size = options.ramSize;
    if (!Number.isInteger(size) || size < 0 || size > MAX_RAM_SIZE || (size & PAGE_MASK) !== 0) {
      throw new MemoryError(
        'InvalidArgument',
        `RAM size ${String(size)} must be a multiple of 4 KiB between 0 and ${MAX_RAM_SIZE} bytes`,
      );
    }
    let buffer: ArrayBuffer;
    try {
      buffer = new ArrayBuffer(size);
    } catch (cause) {
      throw new MemoryError('OutOfRange', `cannot allocate ${size} bytes of guest RAM`, { cause });
    }
    this.ramSize = size;
    this.ram = new Uint8Array(buffer);
    this.ram16 = new Uint16Array(buffer);
    this.ram32 = new Int32Array(buffer);
    this.ramView = new DataView(buffer);
    this.kinds = new Uint8Array(PHYS_PAGES);
    this.kinds.fill(KIND_RAM, 0, size >>> PAGE_SHIFT);
    this.regionOf = new Uint16Array(PHYS_PAGES);
  }

  // ---- mapping -------------------------------------------------------------------------------

  /** Maps a copy of `data` read-only at `base` (page-aligned). Guest writes are ignored; bytes past the data read 0xff. */
  mapRom(base: number, data: Uint8Array, name = 'rom'): void {
    const size = (data.length + PAGE_MASK) & ~PAGE_MASK;
    this.checkRange(base, size, name);
    const rom = new Uint8Array(size).fill(0xff);
    rom.set(data);
    this.addRegion({ info: { name, kind: 'rom', base, size }, rom, mmio: null }, KIND_ROM);
  }

  /** Maps a device's registers at [base, base + size), both page-aligned. The handler sees offsets from `base`. */
  mapMmio(base: number, size: number, handler: MmioHandler, name = 'mmio'): void {
    this.checkRange(base, size, name);
    validateMmioHandler(handler, `${name} at 0x${base.toString(16)}`);
    this.addRegion({ info: { name, kind: 'mmio', base, size }, rom: null, mmio: handler }, KIND_MMIO);
  }

  /** Removes the ROM or MMIO region starting at `base`; RAM under it (if any) shows again. */
  unmap(base: number): void {
    const page = base >>> PAGE_SHIFT;
    const index = Number.isInteger(base) && base >= 0 && base < PHYS_LIMIT ? this.regionOf[page] : 0;
    const region = this.regionList[index];
    if (region === undefined || region === null || region.info.base !== base) {
      throw new MemoryError('InvalidArgument', `no ROM or MMIO region starts at physical 0x${Number(base).toString(16)}`);
    }
    const first = base >>> PAGE_SHIFT;
    const end = first + (region.info.size >>> PAGE_SHIFT);
    const ramPages = this.ramSize >>> PAGE_SHIFT;
    for (let p = first; p < end; p++) {
      this.regionOf[p] = 0;
      this.kinds[p] = p < ramPages ? KIND_RAM : KIND_UNMAPPED;
    }
    this.regionList[index] = null;
    this.notifyRemap(first, end);
  }

  /** The mapped ROM and MMIO regions, by base address. */
  regions(): MemoryRegionInfo[] {
    return this.regionList
      .filter((r): r is Region => r !== null)
      .map((r) => r.info)
      .sort((a, b) => a.base - b.base);
  }

  /** KIND_UNMAPPED, KIND_RAM, KIND_ROM or KIND_MMIO for the page holding physical `address`. */
  kindAt(address: number): number {
    if (!(address >= 0 && address < PHYS_LIMIT)) return KIND_UNMAPPED;
    return this.kinds[Math.floor(address) >>> PAGE_SHIFT] & KIND_MASK;
  }

  // ---- cached code tracking ------------------------------------------------------------------

  /** Installs the one function told about writes to pages marked with `markCode` (null to remove). */
  setCodeWriteHandler(handler: CodeWriteHandler | null): void {
    this.codeWriteHandler = handler;
  }

  /** Registers a translation cache to be told when a page stops being plain RAM. */
  addPageListener(listener: PhysicalPageListener): void {
    this.listeners.push(listener);
  }

  /**
   * Marks a RAM page (page number = physical address >>> 12) as holding cached decoded code. The next
   * write to it, by any path, unmarks it and then calls the code-write handler. Non-RAM pages are ignored.
   */
  markCode(page: number): void {
    const kind = this.kinds[page];
    if (kind !== KIND_RAM) return;
    this.kinds[page] = KIND_RAM | KIND_CODE_FLAG;
    for (let i = 0; i < this.listeners.length; i++) this.listeners[i].physicalPageChanged(page);
  }

  /** Clears a page's code mark without calling the handler. */
  unmarkCode(page: number): void {
    if (this.kinds[page] === (KIND_RAM | KIND_CODE_FLAG)) this.kinds[page] = KIND_RAM;
  }

  isCode(page: number): boolean {
    return (this.kinds[page] & KIND_CODE_FLAG) !== 0;
  }

  // ---- accesses --------------------------------------------------------------------------------
  // Addresses are non-negative integers; anything at or above 4 GiB is unmapped. Reads of 8 and 16
  // bits are unsigned; 32-bit reads return the bit pattern as a signed int32. An access that crosses a
  // page boundary is split into bytes, each going to whatever backs its page.

  read8(address: number): number {
    if (address >= PHYS_LIMIT) return 0xff;
    const kind = this.kinds[address >>> PAGE_SHIFT];
    if ((kind & KIND_MASK) === KIND_RAM) return this.ram[address];
    return this.readOther(address, 1, kind);
  }

  read16(address: number): number {
    if (address >= PHYS_LIMIT - 1) return this.readSplit(address, 2) & 0xffff;
    const kind = this.kinds[address >>> PAGE_SHIFT];
    if ((kind & KIND_MASK) === KIND_RAM && (address & PAGE_MASK) <= PAGE_SIZE - 2) {
      return (address & 1) === 0 ? this.ram16[address >>> 1] : this.ramView.getUint16(address, true);
    }
    if ((address & PAGE_MASK) > PAGE_SIZE - 2) return this.readSplit(address, 2) & 0xffff;
    return this.readOther(address, 2, kind);
  }

  read32(address: number): number {
    if (address >= PHYS_LIMIT - 3) return this.readSplit(address, 4);
    const kind = this.kinds[address >>> PAGE_SHIFT];
    if ((kind & KIND_MASK) === KIND_RAM && (address & PAGE_MASK) <= PAGE_SIZE - 4) {
      return (address & 3) === 0 ? this.ram32[address >>> 2] : this.ramView.getInt32(address, true);
    }
    if ((address & PAGE_MASK) > PAGE_SIZE - 4) return this.readSplit(address, 4);
    return this.readOther(address, 4, kind) | 0;
  }

  write8(address: number, value: number): void {
    if (address >= PHYS_LIMIT) return;
    const kind = this.kinds[address >>> PAGE_SHIFT];
    if (kind === KIND_RAM) this.ram[address] = value;
    else this.writeOther(address, 1, value, kind);
  }

  write16(address: number, value: number): void {
    if (address < PHYS_LIMIT - 1 && (address & PAGE_MASK) <= PAGE_SIZE - 2) {
      const kind = this.kinds[address >>> PAGE_SHIFT];
      if (kind === KIND_RAM) {
        if ((address & 1) === 0) this.ram16[address >>> 1] = value;
        else this.ramView.setUint16(address, value & 0xffff, true);
      } else this.writeOther(address, 2, value, kind);
    } else this.writeSplit(address, 2, value);
  }

  write32(address: number, value: number): void {
    if (address < PHYS_LIMIT - 3 && (address & PAGE_MASK) <= PAGE_SIZE - 4) {
      const kind = this.kinds[address >>> PAGE_SHIFT];
      if (kind === KIND_RAM) {
        if ((address & 3) === 0) this.ram32[address >>> 2] = value;
        else this.ramView.setInt32(address, value | 0, true);
      } else this.writeOther(address, 4, value, kind);
    } else this.writeSplit(address, 4, value);
  }

  /** Copies guest physical memory into `out` (for loaders, DMA and debuggers), through the same rules as reads. */
  readBytes(address: number, out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.read8(address + i);
  }

  /** Copies `data` into guest physical memory through the same rules as writes (ROM ignores it). */
  writeBytes(address: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.write8(address + i, data[i]);
  }

  // ---- slow paths ------------------------------------------------------------------------------

  private readOther(address: number, size: number, kind: number): number {
    const type = kind & KIND_MASK;
    if (type === KIND_UNMAPPED) return size === 4 ? -1 : (1 << (size * 8)) - 1;
    const region = this.regionList[this.regionOf[address >>> PAGE_SHIFT]]!;
    const offset = address - region.info.base;
    if (type === KIND_ROM) {
      const rom = region.rom!;
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = (v << 8) | rom[offset + i];
      return size === 4 ? v | 0 : v;
    }
    return mmioRead(region.mmio!, offset, size);
  }

  private writeOther(address: number, size: number, value: number, kind: number): void {
    const type = kind & KIND_MASK;
    if (type === KIND_RAM) {
      // A page holding cached code: unmark, store, then tell the CPU.
      this.kinds[address >>> PAGE_SHIFT] = KIND_RAM;
      if (size === 1) this.ram[address] = value;
      else if (size === 2) this.ramView.setUint16(address, value & 0xffff, true);
      else this.ramView.setInt32(address, value | 0, true);
      const handler = this.codeWriteHandler;
      if (handler !== null) handler(address, size);
      return;
    }
    if (type !== KIND_MMIO) return;
    const region = this.regionList[this.regionOf[address >>> PAGE_SHIFT]]!;
    mmioWrite(region.mmio!, address - region.info.base, size, value);
  }

  private readSplit(address: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.read8(address + i);
    return v | 0;
  }

  private writeSplit(address: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.write8(address + i, (value >>> (i * 8)) & 0xff);
  }

  private checkRange(base: number, size: number, name: string): void {
    if (!Number.isInteger(base) || base < 0 || (base & PAGE_MASK) !== 0) {
      throw new MemoryError('InvalidArgument', `region ${name}: base ${String(base)} must be a page-aligned physical address`);
    }
    if (!Number.isInteger(size) || size <= 0 || (size & PAGE_MASK) !== 0 || base + size > PHYS_LIMIT) {
      throw new MemoryError(
        'OutOfRange',
        `region ${name} at 0x${base.toString(16)}: size ${String(size)} must be a positive multiple of 4 KiB ending at or below 4 GiB`,
      );
    }
    const first = base >>> PAGE_SHIFT;
    const end = first + size / PAGE_SIZE;
    for (let p = first; p < end; p++) {
      const other = this.regionList[this.regionOf[p]];
      if (other !== null && other !== undefined) {
        throw new MemoryError(
          'Overlap',
          `region ${name} [0x${base.toString(16)}, 0x${(base + size).toString(16)}) overlaps ${other.info.name} at 0x${other.info.base.toString(16)}`,
        );
      }
    }
  }

  private addRegion(region: Region, kind: number): void {
    let index = this.regionList.indexOf(null, 1);
    if (index < 0) {
      index = this.regionList.length;
      if (index > 0xffff) throw new MemoryError('OutOfRange', `too many regions mapped (at most 65535)`);
      this.regionList.push(region);
    } else this.regionList[index] = region;
    const first = region.info.base >>> PAGE_SHIFT;
    const end = first + (region.info.size >>> PAGE_SHIFT);
    for (let p = first; p < end; p++) {
      this.regionOf[p] = index;
      this.kinds[p] = kind;
    }
    this.notifyRemap(first, end);
  }

  /** A page that changes kind may be cached as RAM by a TLB: tell the caches to drop it. */
  private notifyRemap(first: number, end: number): void {
    for (let p = first; p < end; p++) {
      for (let i = 0; i < this.listeners.length; i++) this.listeners[i].physicalPageChanged(p);
    }
  }
}
