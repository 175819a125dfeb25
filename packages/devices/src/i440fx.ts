import { PciFunction } from './pci-function.js';

// Intel 440FX PMC datasheet (82441FX), "PCI Configuration Registers".
export const I440FX_VENDOR_ID = 0x8086;
export const I440FX_DEVICE_ID = 0x1237;
const I440FX_REVISION = 0x02;
/** Class 06h (bridge), subclass 00h (host bridge). */
const CLASS_HOST_BRIDGE = 0x060000;
/** PCICMD default 0006h (memory space and bus master), PCISTS default 0280h. */
const PCICMD_DEFAULT = 0x0006;
const PCISTS_DEFAULT = 0x0280;
/** PMCCFG (50h-51h), DETURBO (52h), DBC (53h), AXC (54h), DRAMR (55h-56h), DRAMC (57h), DRAMT (58h). */
const REG_PMCCFG = 0x50;
/** PAM0-PAM6 (59h-5Fh): read/write enables of the BIOS and option ROM areas below 1 MiB. */
export const I440FX_PAM0 = 0x59;
export const I440FX_PAM_COUNT = 7;
/** DRB0-DRB7 (60h-67h): DRAM row boundaries. */
const REG_DRB = 0x60;
/** SMRAM (72h): SMM space control. */
export const I440FX_SMRAM = 0x72;
const SMRAM_DEFAULT = 0x02;
const SMRAM_WRITABLE = 0x78;

/**
 * An i440FX-style host bridge at 00:00.0. The guest finds the vendor/device and class a PC BIOS
 * and Linux expect; PAM and SMRAM registers are stored (`onPamChange` reports PAM writes so the
 * machine can remap the BIOS shadow areas), DRAM configuration registers are plain storage.
 */
export class I440fx extends PciFunction {
  onPamChange: ((pam: Uint8Array) => void) | undefined;

  constructor(name = 'i440fx') {
    super({
      name,
      vendorId: I440FX_VENDOR_ID,
      deviceId: I440FX_DEVICE_ID,
      classCode: CLASS_HOST_BRIDGE,
      revision: I440FX_REVISION,
      command: PCICMD_DEFAULT,
      status: PCISTS_DEFAULT,
    });
    for (let o = REG_PMCCFG; o < I440FX_PAM0; o++) this.setWritable(o, 1, 0xff);
    for (let i = 0; i < I440FX_PAM_COUNT; i++) this.setWritable(I440FX_PAM0 + i, 1, i === 0 ? 0x70 : 0x77, 0);
    this.setWritable(REG_DRB, 4, 0xffff_ffff, 0x02020202);
    this.setWritable(REG_DRB + 4, 4, 0xffff_ffff, 0x02020202);
    this.setWritable(I440FX_SMRAM, 1, SMRAM_WRITABLE, SMRAM_DEFAULT);
  }

  /** PAM0-PAM6 as the guest programmed them. */
  get pam(): Uint8Array {
    return this.config.subarray(I440FX_PAM0, I440FX_PAM0 + I440FX_PAM_COUNT);
  }

  protected override configWritten(offset: number, size: number): void {
    if (offset < I440FX_PAM0 + I440FX_PAM_COUNT && offset + size > I440FX_PAM0) this.onPamChange?.(this.pam);
  }
}
