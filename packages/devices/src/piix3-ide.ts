import { BM_REGISTER_SPACE, BusMasterDma, busMasterPorts, type DmaMemory } from './bus-master-dma.js';
import type { DeviceState } from './device.js';
import { StateReader } from './device.js';
import type { IdeChannel } from './ide-controller.js';
import type { IoHandler } from './io-bus.js';
import { PCI_COMMAND_MASTER, PciFunction } from './pci-function.js';

// Intel 82371SB (PIIX3) datasheet, "PCI IDE Configuration Registers" (function 1).
export const PIIX3_IDE_DEVICE_ID = 0x7010;
/** Class 01h (mass storage), subclass 01h (IDE), programming interface 80h: bus master, both channels in legacy mode. */
const CLASS_IDE_LEGACY_BUS_MASTER = 0x010180;
/** BMIBA: the bus master interface base address is BAR4 (20h), 16 I/O ports. */
export const PIIX3_IDE_BMIBA_BAR = 4;
/** IDETIM (40h-43h): primary and secondary timing; SIDETIM (44h): slave timing. */
const REG_IDETIM = 0x40;
const REG_SIDETIM = 0x44;
/** IDETIM bits the guest may write (bit 15 IDE decode enable, timing fields). */
const IDETIM_WRITABLE = 0xf3ff;
/** PCISTS default 0280h: fast back-to-back, medium DEVSEL timing. */
const PCISTS_DEFAULT = 0x0280;

/**
 * The PIIX3 IDE function (00:01.1): legacy channels at the fixed ISA ports and IRQ 14/15 (no INTx),
 * and the SFF-8038i bus master registers in BAR4. The machine maps `ports` (16) wherever
 * `onBarChange(4, address)` reports; DMA moves data only while the command register's bus master
 * bit is set.
 */
export class Piix3Ide extends PciFunction {
  readonly busMasters: [BusMasterDma, BusMasterDma];
  readonly ports: IoHandler;

  constructor(options: { primary: IdeChannel; secondary: IdeChannel; memory: DmaMemory; name?: string }) {
    super({
      name: options.name ?? 'piix3-ide',
      vendorId: 0x8086,
      deviceId: PIIX3_IDE_DEVICE_ID,
      classCode: CLASS_IDE_LEGACY_BUS_MASTER,
      status: PCISTS_DEFAULT,
      bars: [undefined, undefined, undefined, undefined, { kind: 'io', size: BM_REGISTER_SPACE }],
    });
    this.setWritable(REG_IDETIM, 2, IDETIM_WRITABLE, 0);
    this.setWritable(REG_IDETIM + 2, 2, IDETIM_WRITABLE, 0);
    this.setWritable(REG_SIDETIM, 1, 0xff, 0);
    const master = (): boolean => (this.command & PCI_COMMAND_MASTER) !== 0;
    this.busMasters = [
      new BusMasterDma(options.primary, options.memory, master),
      new BusMasterDma(options.secondary, options.memory, master),
    ];
    this.ports = busMasterPorts(this.busMasters);
  }

  override reset(): void {
    super.reset();
    for (const bm of this.busMasters) bm.reset();
  }

  /** The bus master registers; the configuration space is saved through the PCI host. */
  saveBusMasterState(): DeviceState {
    return { version: 1, busMasters: this.busMasters.map((bm) => bm.saveState()) };
  }

  loadBusMasterState(state: unknown): void {
    const r = new StateReader(`${this.name}.bus-master`, state, [1]);
    const channels = r.records('busMasters', 2).map((c, i) => this.busMasters[i].readState(c));
    for (const apply of channels) apply();
  }
}
