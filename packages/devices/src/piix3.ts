import type { PciHost } from './pci-host.js';
import { PCI_HEADER_MULTIFUNCTION, PciFunction } from './pci-function.js';

// Intel 82371SB (PIIX3) datasheet, "PCI to ISA Bridge Configuration Registers" (function 0).
export const PIIX3_VENDOR_ID = 0x8086;
export const PIIX3_DEVICE_ID = 0x7000;
/** Class 06h (bridge), subclass 01h (PCI-to-ISA). */
const CLASS_ISA_BRIDGE = 0x060100;
/** PCICMD default 0007h, PCISTS default 0200h. */
const PCICMD_DEFAULT = 0x0007;
const PCISTS_DEFAULT = 0x0200;
/** IORT (4Ch): ISA I/O recovery timer, default 4Dh. */
const REG_IORT = 0x4c;
/** XBCS (4Eh-4Fh): X-bus chip select, default 0003h. */
const REG_XBCS = 0x4e;
/** PIRQRC[A:D] (60h-63h): PIRQx route control, default 80h (routing disabled). */
export const PIIX3_PIRQRC = 0x60;
/** PIRQRC bit 7: IRQROUTEN — 1 disables the routing; bits 3-0 the ISA IRQ. */
export const PIRQRC_DISABLE = 0x80;
const PIRQRC_IRQ_MASK = 0x0f;
const PIRQRC_DEFAULT = 0x80;
/** ISA IRQs a PIRQ may be routed to (3-7, 9-12, 14, 15); other values are reserved. */
const PIRQ_ROUTABLE = 0b1101_1110_1111_1000;
/** TOM (69h): top of memory, default 02h. */
const REG_TOM = 0x69;
/** MSTAT (6Ah-6Bh): miscellaneous status. */
const REG_MSTAT = 0x6a;
/** MBIRQ0-1 (70h-71h): motherboard device IRQ routing, default 80h. */
const REG_MBIRQ = 0x70;
/** MBDMA0-1 (76h-77h), default 0Ch. */
const REG_MBDMA = 0x76;
/** PCSC (78h-79h): programmable chip select, default 0002h. */
const REG_PCSC = 0x78;
/** APICBASE (80h): I/O APIC base relocation. */
export const PIIX3_APICBASE = 0x80;
/** DLC (82h): deterministic latency control. */
const REG_DLC = 0x82;
/** SMICNTL (A0h), SMIEN (A2h-A3h), SEE (A4h-A7h), FTMR (A8h), SMIREQ (AAh-ABh), CTLTMR (ACh), CTHTMR (AEh). */
const REG_SMI_FIRST = 0xa0;
const REG_SMI_LAST = 0xaf;

/**
 * A PIIX3-style PCI-to-ISA bridge at 00:01.0 (multifunction: IDE and others may take 01.1+).
 * Its PIRQ route control registers tell the host which ISA IRQ each of PIRQA#-D# drives; the other
 * registers are stored with their datasheet reset values.
 */
export class Piix3 extends PciFunction {
  private readonly host: PciHost | undefined;

  constructor(options: { host?: PciHost; name?: string } = {}) {
    super({
      name: options.name ?? 'piix3',
      vendorId: PIIX3_VENDOR_ID,
      deviceId: PIIX3_DEVICE_ID,
      classCode: CLASS_ISA_BRIDGE,
      headerType: PCI_HEADER_MULTIFUNCTION,
      command: PCICMD_DEFAULT,
      status: PCISTS_DEFAULT,
    });
    this.host = options.host;
    this.setWritable(REG_IORT, 1, 0x7f, 0x4d);
    this.setWritable(REG_XBCS, 2, 0x07ff, 0x0003);
    this.setWritable(PIIX3_PIRQRC, 4, 0x8f8f_8f8f, 0x8080_8080);
    this.setWritable(REG_TOM, 1, 0xfe, 0x02);
    this.setWritable(REG_MSTAT, 2, 0x0080, 0x0000);
    this.setWritable(REG_MBIRQ, 2, 0xcfcf, 0x8080);
    this.setWritable(REG_MBDMA, 2, 0x8787, 0x0c0c);
    this.setWritable(REG_PCSC, 2, 0xffff, 0x0002);
    this.setWritable(PIIX3_APICBASE, 1, 0x7f, 0x00);
    this.setWritable(REG_DLC, 1, 0x0f, 0x00);
    for (let o = REG_SMI_FIRST; o <= REG_SMI_LAST; o++) this.setWritable(o, 1, 0xff, o === REG_SMI_FIRST ? 0x08 : 0);
    this.routeAll();
  }

  /** The ISA IRQ PIRQ `pirq` (0-3 for A-D) is routed to, or -1. */
  pirqRoute(pirq: number): number {
    const v = this.config[PIIX3_PIRQRC + pirq] ?? PIRQRC_DEFAULT;
    if ((v & PIRQRC_DISABLE) !== 0) return -1;
    const irq = v & PIRQRC_IRQ_MASK;
    return ((PIRQ_ROUTABLE >>> irq) & 1) !== 0 ? irq : -1;
  }

  protected override configWritten(offset: number, size: number): void {
    if (offset < PIIX3_PIRQRC + 4 && offset + size > PIIX3_PIRQRC) this.routeAll();
  }

  private routeAll(): void {
    for (let p = 0; p < 4; p++) this.host?.setPirqRoute(p, this.pirqRoute(p));
  }

  override reset(): void {
    super.reset();
    this.routeAll();
  }
}
