import type { DmaMemory } from './bus-master-dma.js';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import { DeviceError } from './errors.js';
import type { IoHandler } from './io-bus.js';

// QEMU "Firmware Configuration (fw_cfg) Device" (docs/specs/fw_cfg.rst): the x86 I/O interface.
/** The PC's base port and the size of the claimed range: selector 0x510, data 0x511, DMA 0x514-0x51B. */
export const FW_CFG_IO_BASE = 0x510;
export const FW_CFG_IO_SIZE = 12;
const OFFSET_SELECTOR = 0;
const OFFSET_DATA = 1;
const OFFSET_DMA = 4;
const DMA_SIZE = 8;

/** Selector keys ("Selector Register" and the x86 arch-local items). */
export const FW_CFG_SIGNATURE = 0x0000;
export const FW_CFG_ID = 0x0001;
export const FW_CFG_UUID = 0x0002;
export const FW_CFG_RAM_SIZE = 0x0003;
export const FW_CFG_NOGRAPHIC = 0x0004;
export const FW_CFG_NB_CPUS = 0x0005;
export const FW_CFG_MACHINE_ID = 0x0006;
export const FW_CFG_KERNEL_ADDR = 0x0007;
export const FW_CFG_KERNEL_SIZE = 0x0008;
export const FW_CFG_KERNEL_CMDLINE = 0x0009;
export const FW_CFG_INITRD_ADDR = 0x000a;
export const FW_CFG_INITRD_SIZE = 0x000b;
export const FW_CFG_BOOT_DEVICE = 0x000c;
export const FW_CFG_NUMA = 0x000d;
export const FW_CFG_BOOT_MENU = 0x000e;
export const FW_CFG_MAX_CPUS = 0x000f;
export const FW_CFG_KERNEL_ENTRY = 0x0010;
export const FW_CFG_KERNEL_DATA = 0x0011;
export const FW_CFG_INITRD_DATA = 0x0012;
export const FW_CFG_CMDLINE_ADDR = 0x0013;
export const FW_CFG_CMDLINE_SIZE = 0x0014;
export const FW_CFG_CMDLINE_DATA = 0x0015;
export const FW_CFG_SETUP_ADDR = 0x0016;
export const FW_CFG_SETUP_SIZE = 0x0017;
export const FW_CFG_SETUP_DATA = 0x0018;
export const FW_CFG_FILE_DIR = 0x0019;
/** Named files get selectors from here up. */
export const FW_CFG_FILE_FIRST = 0x0020;
/** Bit 14 of a selector: the write channel (writes are not supported). */
export const FW_CFG_WRITE_CHANNEL = 0x4000;
export const FW_CFG_ARCH_LOCAL = 0x8000;
export const FW_CFG_ACPI_TABLES = 0x8000;
export const FW_CFG_SMBIOS_ENTRIES = 0x8001;
export const FW_CFG_IRQ0_OVERRIDE = 0x8002;
export const FW_CFG_E820_TABLE = 0x8003;
export const FW_CFG_HPET = 0x8004;
/** FW_CFG_ID feature bits: traditional interface, DMA interface. */
export const FW_CFG_VERSION = 0x01;
export const FW_CFG_VERSION_DMA = 0x02;
/** DMA control bits ("DMA interface"): error, read, skip, select (selector in bits 31-16), write. */
export const FW_CFG_DMA_CTL_ERROR = 0x01;
export const FW_CFG_DMA_CTL_READ = 0x02;
export const FW_CFG_DMA_CTL_SKIP = 0x04;
export const FW_CFG_DMA_CTL_SELECT = 0x08;
export const FW_CFG_DMA_CTL_WRITE = 0x10;
/** Reading the DMA address register returns "QEMU CFG" (big-endian). */
const DMA_SIGNATURE = 'QEMU CFG';
/** A file directory entry: be32 size, be16 select, be16 reserved, 56-byte NUL-terminated name. */
const FILE_ENTRY_SIZE = 64;
export const FW_CFG_MAX_FILE_NAME = 55;
/** e820 entry types (ACPI address range types). */
export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export const E820_NVS = 4;

export interface E820Entry {
  address: number;
  length: number;
  type: number;
}

/** The `etc/e820` file SeaBIOS reads: per entry le64 address, le64 length, le32 type. */
export function encodeE820(entries: readonly E820Entry[]): Uint8Array {
  const out = new Uint8Array(entries.length * 20);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => {
    view.setBigUint64(20 * i, BigInt(e.address), true);
    view.setBigUint64(20 * i + 8, BigInt(e.length), true);
    view.setUint32(20 * i + 16, e.type, true);
  });
  return out;
}

function le(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/**
 * QEMU's firmware configuration device, as SeaBIOS and the Linux boot option ROM use it: a
 * selector (16-bit at offset 0), a byte-wide data register (offset 1) that reads the selected
 * item sequentially (zero past its end), and the DMA register (offsets 4-11, big-endian address
 * of a `FWCfgDmaAccess` in guest memory; writing the low half runs the request). The VMM adds
 * items (`setItem`, `addFile` and the helpers); the directory and the signature are built here.
 */
export class FwCfg implements Device, IoHandler {
  readonly name: string;
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: { name: string; selector: number }[] = [];
  private selector = 0;
  private offset = 0;
  private dmaHigh = 0;
  private readonly request = new Uint8Array(16);
  private readonly requestView = new DataView(this.request.buffer);
  private readonly status = new Uint8Array(4);

  constructor(options: { memory?: DmaMemory; name?: string } = {}) {
    this.name = options.name ?? 'fw-cfg';
    this.memory = options.memory;
    this.items.set(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.items.set(FW_CFG_ID, le(FW_CFG_VERSION | (this.memory !== undefined ? FW_CFG_VERSION_DMA : 0), 4));
    this.rebuildDirectory();
  }

  private readonly memory: DmaMemory | undefined;

  /** Set (or replace) the item at a numbered selector. */
  setItem(selector: number, data: Uint8Array): void {
    if (!Number.isInteger(selector) || selector < 0 || selector > 0xffff || (selector & FW_CFG_WRITE_CHANNEL) !== 0) {
      throw new DeviceError('InvalidArgument', `${this.name}: selector ${selector} is not a readable fw_cfg key`);
    }
    if (selector === FW_CFG_SIGNATURE || selector === FW_CFG_ID || selector === FW_CFG_FILE_DIR) {
      throw new DeviceError('InvalidArgument', `${this.name}: selector 0x${selector.toString(16)} is built by the device`);
    }
    this.items.set(selector, data.slice());
  }

  /** Add or replace a named file (`etc/e820`, `bootorder`, ...); returns its selector. */
  addFile(name: string, data: Uint8Array): number {
    if (name.length === 0 || name.length > FW_CFG_MAX_FILE_NAME || [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) > 0x7e)) {
      throw new DeviceError('InvalidArgument', `${this.name}: file name '${name}' must be 1-${FW_CFG_MAX_FILE_NAME} printable ASCII characters`);
    }
    let entry = this.files.find((f) => f.name === name);
    if (entry === undefined) {
      const selector = FW_CFG_FILE_FIRST + this.files.length;
      if (selector >= FW_CFG_WRITE_CHANNEL) throw new DeviceError('InvalidArgument', `${this.name}: too many files`);
      entry = { name, selector };
      this.files.push(entry);
    }
    this.items.set(entry.selector, data.slice());
    this.rebuildDirectory();
    return entry.selector;
  }

  /** The common items of a PC: RAM size, CPUs, boot device, and `etc/e820`. */
  configure(options: { ramSize: number; cpus?: number; bootDevice?: 'a' | 'c' | 'd'; e820?: readonly E820Entry[]; bootOrder?: readonly string[]; bootMenu?: boolean }): void {
    this.setItem(FW_CFG_RAM_SIZE, le(options.ramSize, 8));
    const cpus = options.cpus ?? 1;
    this.setItem(FW_CFG_NB_CPUS, le(cpus, 2));
    this.setItem(FW_CFG_MAX_CPUS, le(cpus, 2));
    this.setItem(FW_CFG_NOGRAPHIC, le(0, 2));
    this.setItem(FW_CFG_BOOT_MENU, le(options.bootMenu === true ? 1 : 0, 2));
    if (options.bootDevice !== undefined) this.setItem(FW_CFG_BOOT_DEVICE, le(options.bootDevice.charCodeAt(0), 2));
    if (options.e820 !== undefined) this.addFile('etc/e820', encodeE820(options.e820));
    if (options.bootOrder !== undefined) this.addFile('bootorder', new TextEncoder().encode(`${options.bootOrder.join('\n')}\n\0`));
  }

  /** The `-kernel` items: the real-mode setup, the protected-mode kernel, an initrd and a command line. */
  setLinuxBoot(boot: { setup: Uint8Array; kernel: Uint8Array; initrd?: Uint8Array; cmdline: string; setupAddr: number; kernelAddr: number; initrdAddr?: number; cmdlineAddr: number }): void {
    const cmdline = new TextEncoder().encode(`${boot.cmdline}\0`);
    this.setItem(FW_CFG_SETUP_ADDR, le(boot.setupAddr, 4));
    this.setItem(FW_CFG_SETUP_SIZE, le(boot.setup.length, 4));
    this.setItem(FW_CFG_SETUP_DATA, boot.setup);
    this.setItem(FW_CFG_KERNEL_ADDR, le(boot.kernelAddr, 4));
    this.setItem(FW_CFG_KERNEL_SIZE, le(boot.kernel.length, 4));
    this.setItem(FW_CFG_KERNEL_DATA, boot.kernel);
    this.setItem(FW_CFG_CMDLINE_ADDR, le(boot.cmdlineAddr, 4));
    this.setItem(FW_CFG_CMDLINE_SIZE, le(cmdline.length, 4));
    this.setItem(FW_CFG_CMDLINE_DATA, cmdline);
    const initrd = boot.initrd ?? new Uint8Array(0);
    this.setItem(FW_CFG_INITRD_ADDR, le(boot.initrdAddr ?? 0, 4));
    this.setItem(FW_CFG_INITRD_SIZE, le(initrd.length, 4));
    this.setItem(FW_CFG_INITRD_DATA, initrd);
  }

  private rebuildDirectory(): void {
    const dir = new Uint8Array(4 + FILE_ENTRY_SIZE * this.files.length);
    const view = new DataView(dir.buffer);
    view.setUint32(0, this.files.length, false);
    const sorted = [...this.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sorted.forEach((f, i) => {
      const o = 4 + FILE_ENTRY_SIZE * i;
      view.setUint32(o, this.items.get(f.selector)?.length ?? 0, false);
      view.setUint16(o + 4, f.selector, false);
      for (let c = 0; c < f.name.length; c++) dir[o + 8 + c] = f.name.charCodeAt(c);
    });
    this.items.set(FW_CFG_FILE_DIR, dir);
  }

  private select(selector: number): void {
    this.selector = selector & 0xffff;
    this.offset = 0;
  }

  private readData(): number {
    const item = this.items.get(this.selector);
    if (item === undefined || this.offset >= item.length) return 0;
    return item[this.offset++];
  }

  read8(offset: number): number {
    if (offset === OFFSET_DATA) return this.readData();
    if (offset >= OFFSET_DMA && offset < OFFSET_DMA + DMA_SIZE) return DMA_SIGNATURE.charCodeAt(offset - OFFSET_DMA);
    return 0;
  }

  write8(offset: number, value: number): void {
    if (offset === OFFSET_SELECTOR) this.select(value);
    // Data register writes were removed from the interface (QEMU 2.4); they are ignored.
  }

  write16(offset: number, value: number): void {
    if (offset === OFFSET_SELECTOR) this.select(value);
  }

  /** The DMA address is written as two big-endian dwords; the low one (offset 8) starts the request. */
  write32(offset: number, value: number): void {
    if (offset === OFFSET_DMA) this.dmaHigh = bswap32(value);
    else if (offset === OFFSET_DMA + 4) {
      const address = bswap32(value);
      const high = this.dmaHigh;
      this.dmaHigh = 0;
      if (high === 0) this.dma(address);
    }
  }

  private dma(address: number): void {
    const memory = this.memory;
    if (memory === undefined) return;
    memory.readBytes(address, this.request);
    const control = this.requestView.getUint32(0, false);
    const length = this.requestView.getUint32(4, false);
    const target = this.requestView.getUint32(12, false);
    const targetHigh = this.requestView.getUint32(8, false);
    let error = false;
    if ((control & FW_CFG_DMA_CTL_SELECT) !== 0) this.select(control >>> 16);
    if ((control & FW_CFG_DMA_CTL_WRITE) !== 0) {
      error = true; // no item is writable
    } else if ((control & FW_CFG_DMA_CTL_READ) !== 0) {
      if (targetHigh !== 0) error = true;
      else {
        const item = this.items.get(this.selector) ?? new Uint8Array(0);
        const available = Math.max(0, Math.min(length, item.length - this.offset));
        if (available > 0) memory.writeBytes(target, item.subarray(this.offset, this.offset + available));
        // Past the end of the item the guest buffer is filled with zeros.
        for (let done = available; done < length;) {
          const n = Math.min(length - done, ZEROS.length);
          memory.writeBytes(target + done, n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n));
          done += n;
        }
        this.offset = Math.min(item.length, this.offset + length);
      }
    } else if ((control & FW_CFG_DMA_CTL_SKIP) !== 0) {
      this.offset += length;
    }
    // Completion: the control field becomes 0, or keeps only the error bit (big-endian).
    this.status.fill(0);
    if (error) this.status[3] = FW_CFG_DMA_CTL_ERROR;
    memory.writeBytes(address, this.status);
  }

  reset(): void {
    this.selector = 0;
    this.offset = 0;
    this.dmaHigh = 0;
  }

  saveState(): DeviceState {
    return { version: 1, selector: this.selector, offset: this.offset, dmaHigh: this.dmaHigh };
  }

  /** The guest-visible registers; the items are the machine's configuration, added again on restore. */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const selector = r.int('selector', 0, 0xffff);
    const offset = r.int('offset', 0, 0xffff_ffff);
    const dmaHigh = r.int('dmaHigh', 0, 0xffff_ffff);
    this.selector = selector;
    this.offset = offset;
    this.dmaHigh = dmaHigh;
  }
}

const ZEROS = new Uint8Array(4096);

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
