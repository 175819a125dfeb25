import type { Clock, Timer } from './clock.js';
import type { Device, DeviceState } from './device.js';
import { StateReader } from './device.js';
import { DeviceError } from './errors.js';
import type { IoHandler } from './io-bus.js';
import type { IrqLine } from './irq.js';

// Motorola MC146818A datasheet, "Address Map" and "Registers".
export const CMOS_SECONDS = 0x00;
export const CMOS_SECONDS_ALARM = 0x01;
export const CMOS_MINUTES = 0x02;
export const CMOS_MINUTES_ALARM = 0x03;
export const CMOS_HOURS = 0x04;
export const CMOS_HOURS_ALARM = 0x05;
export const CMOS_DAY_OF_WEEK = 0x06;
export const CMOS_DAY_OF_MONTH = 0x07;
export const CMOS_MONTH = 0x08;
export const CMOS_YEAR = 0x09;
export const CMOS_REG_A = 0x0a;
export const CMOS_REG_B = 0x0b;
export const CMOS_REG_C = 0x0c;
export const CMOS_REG_D = 0x0d;
// IBM PC/AT CMOS layout (and the QEMU/SeaBIOS extensions a BIOS or kernel reads).
export const CMOS_CHECKSUM_FIRST = 0x10;
export const CMOS_CHECKSUM_LAST = 0x2d;
export const CMOS_CHECKSUM_HIGH = 0x2e;
export const CMOS_CHECKSUM_LOW = 0x2f;
export const CMOS_BASE_MEMORY_LOW = 0x15;
export const CMOS_BASE_MEMORY_HIGH = 0x16;
export const CMOS_EXTENDED_MEMORY_LOW = 0x17;
export const CMOS_EXTENDED_MEMORY_HIGH = 0x18;
export const CMOS_EXTENDED_MEMORY2_LOW = 0x30;
export const CMOS_EXTENDED_MEMORY2_HIGH = 0x31;
export const CMOS_CENTURY = 0x32;
export const CMOS_MEMORY_ABOVE_16M_LOW = 0x34;
export const CMOS_MEMORY_ABOVE_16M_HIGH = 0x35;
export const CMOS_MEMORY_ABOVE_4G = 0x5b; // three bytes, 64 KiB units
export const CMOS_SIZE = 128;

/** Register A: update in progress (read-only), divider select (bits 6-4), rate select (bits 3-0). */
export const REG_A_UIP = 0x80;
const REG_A_DIVIDER_SHIFT = 4;
/** Divider 010: the 32.768 kHz time base, the only one that keeps time. */
const DIVIDER_NORMAL = 0b010;
const REG_A_RATE_MASK = 0x0f;
/** Register B: SET, PIE, AIE, UIE, SQWE, DM (binary), 24/12, DSE. */
export const REG_B_SET = 0x80;
export const REG_B_PIE = 0x40;
export const REG_B_AIE = 0x20;
export const REG_B_UIE = 0x10;
export const REG_B_SQWE = 0x08;
export const REG_B_DM_BINARY = 0x04;
export const REG_B_24H = 0x02;
/** Register C: IRQF, PF, AF, UF. */
export const REG_C_IRQF = 0x80;
export const REG_C_PF = 0x40;
export const REG_C_AF = 0x20;
export const REG_C_UF = 0x10;
/** Register D: valid RAM and time. */
export const REG_D_VRT = 0x80;
/** Index port bit 7 masks NMI on a PC. */
export const RTC_NMI_DISABLE = 0x80;
/** An alarm byte with its top two bits set matches any value. */
const ALARM_DONT_CARE = 0xc0;
const HOUR_PM = 0x80;
/** UIP is set 244 us before each update (datasheet, "Update Cycle"). */
const UIP_LEAD_NS = 244_000;
const NS_PER_S = 1_000_000_000;
const TIME_BASE_HZ = 32_768;
const SECONDS_PER_DAY = 86_400;
/** The date a machine starts with unless told otherwise: 2000-01-01 00:00:00 UTC. */
export const RTC_DEFAULT_START = 946_684_800;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function toBcd(v: number): number {
  return (Math.floor(v / 10) % 10 << 4) | v % 10;
}

function fromBcd(v: number): number {
  return (v >>> 4) * 10 + (v & 15);
}

function alarmMatches(alarm: number, value: number): boolean {
  return (alarm & ALARM_DONT_CARE) === ALARM_DONT_CARE || alarm === value;
}

/** 32.768 kHz time-base clocks elapsed at virtual time `ns` (split so no product exceeds 2^53). */
function baseTicksAt(ns: number): number {
  const t = Math.floor(ns);
  const s = Math.floor(t / NS_PER_S);
  return s * TIME_BASE_HZ + Math.floor(((t - s * NS_PER_S) * TIME_BASE_HZ) / NS_PER_S);
}

function timeOfBaseTick(tick: number): number {
  const s = Math.floor(tick / TIME_BASE_HZ);
  return s * NS_PER_S + Math.ceil(((tick - s * TIME_BASE_HZ) * NS_PER_S) / TIME_BASE_HZ);
}

/** The periodic interrupt period in time-base clocks for rate select `rs` (0 = off). */
function periodicClocks(rs: number): number {
  if (rs === 0) return 0;
  return 1 << ((rs <= 2 ? rs + 7 : rs) - 1); // rates 1 and 2 repeat 8 and 9 on a 32.768 kHz base
}

/**
 * The Motorola MC146818 real-time clock with its 128 bytes of CMOS RAM: index port at offset 0
 * (bit 7 masks NMI), data at offset 1 (0x70/0x71 on a PC). Time is the start date plus virtual
 * time; periodic, alarm and update-ended interrupts go out on its line (IRQ 8) from clock timers.
 */
export class Rtc implements Device, IoHandler {
  readonly name: string;
  private readonly clock: Clock;
  private readonly irq: IrqLine;
  private readonly updateTimer: Timer;
  private readonly periodicTimer: Timer;
  private readonly onNmiMask: ((masked: boolean) => void) | undefined;

  private readonly regs = new Uint8Array(CMOS_SIZE);
  private index = 0;
  private nmiMasked = false;
  /** Calendar seconds since 1970 at virtual time `baseNs` (while running). */
  private baseSeconds = RTC_DEFAULT_START;
  private baseNs = 0;
  /** Register C flags (PF, AF, UF); IRQF is derived. */
  private flags = 0;
  /** The time-base clock of the last register C read, for periodic flags raised without PIE. */
  private pfChecked = 0;
  private irqLevel = false;

  // Scratch calendar fields, filled by `calendar` without allocating.
  private year = 2000;
  private month = 1;
  private day = 1;
  private hour = 0;
  private minute = 0;
  private second = 0;
  private weekday = 1;

  constructor(options: { clock: Clock; irq: IrqLine; name?: string; startTime?: number; onNmiMask?: (masked: boolean) => void }) {
    this.name = options.name ?? 'rtc';
    this.clock = options.clock;
    this.irq = options.irq;
    this.onNmiMask = options.onNmiMask;
    const start = options.startTime ?? RTC_DEFAULT_START;
    if (!Number.isInteger(start) || start < 0 || start > 4_102_444_799) {
      throw new DeviceError('InvalidArgument', `${this.name}: start time ${start} must be whole seconds in 1970..2099`);
    }
    this.updateTimer = this.clock.createTimer(`${this.name}.update`, (now) => this.onUpdate(now));
    this.periodicTimer = this.clock.createTimer(`${this.name}.periodic`, () => {
      this.flags |= REG_C_PF;
      this.pfChecked = baseTicksAt(this.clock.now());
      this.armPeriodic();
      this.updateIrq();
    });
    this.baseSeconds = start;
    this.baseNs = this.clock.now();
    this.regs[CMOS_REG_A] = (DIVIDER_NORMAL << REG_A_DIVIDER_SHIFT) | 6; // 0x26, as a BIOS leaves it
    this.regs[CMOS_REG_B] = REG_B_24H;
    this.regs[CMOS_CENTURY] = toBcd(20);
    this.armUpdate();
  }

  /** Whether the guest has masked NMI through bit 7 of the index port. */
  get nmiDisabled(): boolean {
    return this.nmiMasked;
  }

  /** The guest-visible time, in seconds since 1970 (frozen while SET is on). */
  get time(): number {
    if (this.running()) return this.currentSeconds(this.clock.now());
    return this.registerSeconds();
  }

  /** A CMOS byte as the host configures it (BIOS settings); call `updateChecksum` after the 0x10-0x2D range. */
  setByte(index: number, value: number): void {
    if (!Number.isInteger(index) || index < CMOS_REG_D + 1 || index >= CMOS_SIZE) {
      throw new DeviceError('InvalidArgument', `${this.name}: CMOS byte ${index} is not NVRAM (0x0e..0x7f)`);
    }
    this.regs[index] = value & 0xff;
  }

  getByte(index: number): number {
    return this.regs[index & 0x7f];
  }

  /** Fill the memory size fields as a PC BIOS does (QEMU's layout) and fix the checksum. */
  configureMemory(bytesBelow4G: number, bytesAbove4G = 0): void {
    if (!Number.isSafeInteger(bytesBelow4G) || bytesBelow4G < 0x100000 || bytesBelow4G > 0x1_0000_0000) {
      throw new DeviceError('InvalidArgument', `${this.name}: memory below 4 GiB must be 1 MiB..4 GiB, got ${bytesBelow4G}`);
    }
    if (!Number.isSafeInteger(bytesAbove4G) || bytesAbove4G < 0) {
      throw new DeviceError('InvalidArgument', `${this.name}: memory above 4 GiB must be a byte count, got ${bytesAbove4G}`);
    }
    const put16 = (low: number, v: number): void => {
      this.regs[low] = v & 0xff;
      this.regs[low + 1] = (v >>> 8) & 0xff;
    };
    put16(CMOS_BASE_MEMORY_LOW, 640);
    const extendedKiB = Math.min(Math.floor(bytesBelow4G / 1024) - 1024, 0xffff);
    put16(CMOS_EXTENDED_MEMORY_LOW, extendedKiB);
    put16(CMOS_EXTENDED_MEMORY2_LOW, extendedKiB);
    const above16M = bytesBelow4G > 0x1000000 ? Math.min(Math.floor((bytesBelow4G - 0x1000000) / 65536), 0xffff) : 0;
    put16(CMOS_MEMORY_ABOVE_16M_LOW, above16M);
    const above4G = Math.min(Math.floor(bytesAbove4G / 65536), 0xffffff);
    this.regs[CMOS_MEMORY_ABOVE_4G] = above4G & 0xff;
    this.regs[CMOS_MEMORY_ABOVE_4G + 1] = (above4G >>> 8) & 0xff;
    this.regs[CMOS_MEMORY_ABOVE_4G + 2] = (above4G >>> 16) & 0xff;
    this.updateChecksum();
  }

  /** The standard checksum: the 16-bit sum of bytes 0x10-0x2D, big-endian at 0x2E/0x2F. */
  updateChecksum(): void {
    let sum = 0;
    for (let i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++) sum += this.regs[i];
    this.regs[CMOS_CHECKSUM_HIGH] = (sum >>> 8) & 0xff;
    this.regs[CMOS_CHECKSUM_LOW] = sum & 0xff;
  }

  read8(offset: number): number {
    if ((offset & 1) === 0) return 0xff; // the index port is write-only
    const i = this.index;
    switch (i) {
      case CMOS_REG_A: {
        const uip = this.running() && this.phase(this.clock.now()) >= NS_PER_S - UIP_LEAD_NS;
        return (this.regs[CMOS_REG_A] & ~REG_A_UIP) | (uip ? REG_A_UIP : 0);
      }
      case CMOS_REG_C: {
        this.checkPeriodicFlag();
        const value = this.flags | (this.irqf() ? REG_C_IRQF : 0);
        this.flags = 0;
        this.updateIrq();
        return value;
      }
      case CMOS_REG_D:
        return REG_D_VRT;
      case CMOS_SECONDS:
      case CMOS_MINUTES:
      case CMOS_HOURS:
      case CMOS_DAY_OF_WEEK:
      case CMOS_DAY_OF_MONTH:
      case CMOS_MONTH:
      case CMOS_YEAR:
      case CMOS_CENTURY:
        if (this.running()) this.storeTime(this.currentSeconds(this.clock.now()));
        return this.regs[i];
      default:
        return this.regs[i];
    }
  }

  write8(offset: number, value: number): void {
    if ((offset & 1) === 0) {
      this.index = value & 0x7f;
      const masked = (value & RTC_NMI_DISABLE) !== 0;
      if (masked !== this.nmiMasked) {
        this.nmiMasked = masked;
        this.onNmiMask?.(masked);
      }
      return;
    }
    const i = this.index;
    const now = this.clock.now();
    switch (i) {
      case CMOS_REG_A: {
        const wasRunning = this.running();
        this.regs[CMOS_REG_A] = value & ~REG_A_UIP;
        this.runningChanged(wasRunning, now, 500_000_000);
        this.armPeriodic();
        break;
      }
      case CMOS_REG_B: {
        const wasRunning = this.running();
        let b = value;
        if ((b & REG_B_SET) !== 0) b &= ~REG_B_UIE; // setting SET clears UIE
        this.regs[CMOS_REG_B] = b;
        this.runningChanged(wasRunning, now, 0);
        this.armPeriodic();
        this.updateIrq();
        break;
      }
      case CMOS_REG_C:
      case CMOS_REG_D:
        break; // read-only
      case CMOS_SECONDS:
      case CMOS_MINUTES:
      case CMOS_HOURS:
      case CMOS_DAY_OF_WEEK:
      case CMOS_DAY_OF_MONTH:
      case CMOS_MONTH:
      case CMOS_YEAR:
      case CMOS_CENTURY:
        if (this.running()) {
          // Change one field of the running clock, keeping the position within the second.
          const phase = this.phase(now);
          this.storeTime(this.currentSeconds(now));
          this.regs[i] = value;
          this.baseSeconds = this.registerSeconds();
          this.baseNs = now - phase;
          this.armUpdate();
        } else {
          this.regs[i] = value;
        }
        break;
      default:
        this.regs[i] = value;
    }
  }

  private running(): boolean {
    return (this.regs[CMOS_REG_B] & REG_B_SET) === 0 && this.dividerRunning();
  }

  private dividerRunning(): boolean {
    return ((this.regs[CMOS_REG_A] >>> REG_A_DIVIDER_SHIFT) & 7) === DIVIDER_NORMAL;
  }

  /** Freeze the registers when time stops; restart from them when it resumes, `resumeOffsetNs` into the second. */
  private runningChanged(wasRunning: boolean, now: number, resumeOffsetNs: number): void {
    const running = this.running();
    if (wasRunning && !running) {
      this.storeTime(this.currentSeconds(now));
    } else if (!wasRunning && running) {
      this.baseSeconds = this.registerSeconds();
      // The first update comes one second after SET clears, half a second after the divider starts.
      this.baseNs = now - resumeOffsetNs;
    }
    this.armUpdate();
  }

  private phase(now: number): number {
    const d = now - this.baseNs;
    return d - Math.floor(d / NS_PER_S) * NS_PER_S;
  }

  private currentSeconds(now: number): number {
    return this.baseSeconds + Math.floor((now - this.baseNs) / NS_PER_S);
  }

  private calendar(seconds: number): void {
    const days = Math.floor(seconds / SECONDS_PER_DAY);
    const rest = seconds - days * SECONDS_PER_DAY;
    this.hour = Math.floor(rest / 3600);
    this.minute = Math.floor(rest / 60) % 60;
    this.second = rest % 60;
    this.weekday = (((days + 4) % 7) + 7) % 7 + 1; // 1970-01-01 was a Thursday; Sunday is 1
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    this.day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    this.month = mp < 10 ? mp + 3 : mp - 9;
    this.year = yoe + era * 400 + (this.month <= 2 ? 1 : 0);
  }

  private encode(v: number): number {
    return (this.regs[CMOS_REG_B] & REG_B_DM_BINARY) !== 0 ? v : toBcd(v);
  }

  private decode(v: number): number {
    return (this.regs[CMOS_REG_B] & REG_B_DM_BINARY) !== 0 ? v : fromBcd(v);
  }

  private encodeHour(h: number): number {
    if ((this.regs[CMOS_REG_B] & REG_B_24H) !== 0) return this.encode(h);
    return this.encode(h % 12 || 12) | (h >= 12 ? HOUR_PM : 0);
  }

  private decodeHour(v: number): number {
    if ((this.regs[CMOS_REG_B] & REG_B_24H) !== 0) return this.decode(v);
    return (this.decode(v & ~HOUR_PM) % 12) + ((v & HOUR_PM) !== 0 ? 12 : 0);
  }

  private storeTime(seconds: number): void {
    this.calendar(seconds);
    const r = this.regs;
    r[CMOS_SECONDS] = this.encode(this.second);
    r[CMOS_MINUTES] = this.encode(this.minute);
    r[CMOS_HOURS] = this.encodeHour(this.hour);
    r[CMOS_DAY_OF_WEEK] = this.encode(this.weekday);
    r[CMOS_DAY_OF_MONTH] = this.encode(this.day);
    r[CMOS_MONTH] = this.encode(this.month);
    r[CMOS_YEAR] = this.encode(this.year % 100);
    r[CMOS_CENTURY] = this.encode(Math.floor(this.year / 100) % 100);
  }

  /** The time the registers hold. Out-of-range fields roll over arithmetically, so any bytes give a defined time. */
  private registerSeconds(): number {
    const r = this.regs;
    const year = Math.min(this.decode(r[CMOS_CENTURY]), 99) * 100 + Math.min(this.decode(r[CMOS_YEAR]), 99);
    const month = Math.min(Math.max(this.decode(r[CMOS_MONTH]), 1), 12);
    const day = Math.min(Math.max(this.decode(r[CMOS_DAY_OF_MONTH]), 1), 31);
    const hour = Math.min(this.decodeHour(r[CMOS_HOURS]), 23);
    const seconds = daysFromCivil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + this.decode(r[CMOS_MINUTES]) * 60 + this.decode(r[CMOS_SECONDS]);
    return Math.max(seconds, 0);
  }

  private onUpdate(now: number): void {
    const seconds = this.currentSeconds(now);
    this.flags |= REG_C_UF;
    this.calendar(seconds);
    const r = this.regs;
    if (
      alarmMatches(r[CMOS_SECONDS_ALARM], this.encode(this.second)) &&
      alarmMatches(r[CMOS_MINUTES_ALARM], this.encode(this.minute)) &&
      alarmMatches(r[CMOS_HOURS_ALARM], this.encodeHour(this.hour))
    ) {
      this.flags |= REG_C_AF;
    }
    this.armUpdate();
    this.updateIrq();
  }

  private armUpdate(): void {
    if (!this.running()) {
      this.updateTimer.disarm();
      return;
    }
    const now = this.clock.now();
    this.updateTimer.arm(now - this.phase(now) + NS_PER_S);
  }

  private armPeriodic(): void {
    const period = periodicClocks(this.regs[CMOS_REG_A] & REG_A_RATE_MASK);
    if (period === 0 || (this.regs[CMOS_REG_B] & REG_B_PIE) === 0 || !this.dividerRunning()) {
      this.periodicTimer.disarm();
      return;
    }
    const tick = baseTicksAt(this.clock.now());
    this.periodicTimer.arm(timeOfBaseTick((Math.floor(tick / period) + 1) * period));
  }

  /** PF is set by the divider chain even with PIE off: compute it from time when C is read. */
  private checkPeriodicFlag(): void {
    const tick = baseTicksAt(this.clock.now());
    const period = periodicClocks(this.regs[CMOS_REG_A] & REG_A_RATE_MASK);
    if (period !== 0 && this.dividerRunning() && Math.floor(tick / period) > Math.floor(this.pfChecked / period)) this.flags |= REG_C_PF;
    this.pfChecked = tick;
  }

  private irqf(): boolean {
    return (this.flags & this.regs[CMOS_REG_B] & (REG_B_PIE | REG_B_AIE | REG_B_UIE)) !== 0;
  }

  private updateIrq(force = false): void {
    const level = this.irqf();
    if (level !== this.irqLevel || force) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  /** The RESET pin: interrupt enables and flags clear; time, date and NVRAM are battery-backed. */
  reset(): void {
    this.regs[CMOS_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    this.flags = 0;
    this.armPeriodic();
    this.updateIrq();
  }

  saveState(): DeviceState {
    const now = this.clock.now();
    return {
      version: 1,
      cmos: this.regs.slice(),
      index: this.index,
      nmiMasked: this.nmiMasked,
      // The running clock as the current second plus the position within it (frozen: the registers hold the time).
      seconds: this.running() ? this.currentSeconds(now) : this.baseSeconds,
      phaseNs: this.running() ? this.phase(now) : 0,
      flags: this.flags,
      pfChecked: this.pfChecked,
    };
  }

  /** Restores after the machine has restored the clock's time. */
  loadState(state: unknown): void {
    const r = new StateReader(this.name, state, [1]);
    const cmos = r.bytes('cmos', CMOS_SIZE);
    const index = r.int('index', 0, 0x7f);
    const nmiMasked = r.bool('nmiMasked');
    const seconds = r.int('seconds', 0, 4_102_444_799);
    const phaseNs = r.int('phaseNs', 0, NS_PER_S - 1);
    const flags = r.bits('flags', 0xff, ~(REG_C_PF | REG_C_AF | REG_C_UF) & 0xff);
    const pfChecked = r.int('pfChecked', 0, Number.MAX_SAFE_INTEGER);
    const now = this.clock.now();
    this.regs.set(cmos);
    this.regs[CMOS_REG_A] &= ~REG_A_UIP;
    this.index = index;
    this.nmiMasked = nmiMasked;
    this.baseSeconds = seconds;
    this.baseNs = now - phaseNs;
    this.flags = flags;
    this.pfChecked = Math.min(pfChecked, baseTicksAt(now));
    this.armUpdate();
    this.armPeriodic();
    this.updateIrq(true);
  }
}
