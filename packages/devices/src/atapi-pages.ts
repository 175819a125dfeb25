// Response data of the MMC commands a CD-ROM answers from tables: MODE SENSE pages (MMC-2 5.5),
// READ TOC (MMC-2 6.1.36), GET CONFIGURATION (MMC-3 5.3 features), GET EVENT STATUS NOTIFICATION.
// Each builder fills `b` from offset 0 and returns the response length, or -1 for an invalid field.

/** MODE SENSE page codes: read error recovery, CD capabilities and mechanical status, all pages. */
export const MODE_PAGE_ERROR_RECOVERY = 0x01;
export const MODE_PAGE_CAPABILITIES = 0x2a;
export const MODE_PAGE_ALL = 0x3f;
/** Page control 3: saved values, not supported (SPC-2 ASC 39h; reported as an invalid field). */
const PC_SAVED = 3;
/** Medium type in the mode parameter header: 120 mm CD-ROM data, or door closed with no disc. */
const MEDIUM_CD_DATA = 0x01;
const MEDIUM_NONE = 0x70;
/** The last sector of an 80-minute CD; larger images are reported as DVD-ROM. */
export const CD_MAX_SECTORS = 359_847;
export const PROFILE_CDROM = 0x0008;
export const PROFILE_DVDROM = 0x0010;
/** Control nibble of a data track (digital, copy permitted) with ADR 1 (MMC-2 table 235). */
const ADR_CONTROL_DATA = 0x14;
const LEADOUT_TRACK = 0xaa;
/** Frames before LBA 0 in MSF addressing (2 seconds). */
const MSF_OFFSET = 150;
/** GET EVENT STATUS NOTIFICATION: media class bit / code, No Event Available flag. */
const EVENT_CLASS_MEDIA = 0x04;
const EVENT_MEDIA_BIT = 1 << EVENT_CLASS_MEDIA;
const EVENT_NEA = 0x80;
const MEDIA_PRESENT = 0x02;

function be16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function be32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v;
}

/** MODE SENSE(6) or (10) for `page` with page control `pc`. */
export function buildModeSense(b: Uint8Array, page: number, pc: number, ten: boolean, media: boolean, locked: boolean): number {
  if (pc === PC_SAVED) return -1;
  if (page !== MODE_PAGE_ERROR_RECOVERY && page !== MODE_PAGE_CAPABILITIES && page !== MODE_PAGE_ALL) return -1;
  const header = ten ? 8 : 4;
  b.fill(0, 0, header + 8 + 22);
  let o = header;
  const changeable = pc === 1; // changeable values: every bit reads 0
  if (page === MODE_PAGE_ERROR_RECOVERY || page === MODE_PAGE_ALL) {
    b[o] = MODE_PAGE_ERROR_RECOVERY;
    b[o + 1] = 6;
    if (!changeable) b[o + 3] = 5; // read retry count
    o += 8;
  }
  if (page === MODE_PAGE_CAPABILITIES || page === MODE_PAGE_ALL) {
    b[o] = MODE_PAGE_CAPABILITIES;
    b[o + 1] = 0x14;
    if (!changeable) {
      b[o + 4] = 0x71; // audio play, composite, digital ports, multisession
      b[o + 5] = 0x60; // mode 2 form 1/2 readable as MMC reports for CD-ROM drives
      b[o + 6] = 0x29 | (locked ? 0x02 : 0); // tray loader, eject, lock supported; lock state
      be16(b, o + 8, 706); // maximum read speed, kB/s (4x)
      be16(b, o + 10, 2); // volume levels
      be16(b, o + 12, 512); // buffer size, KiB
      be16(b, o + 14, 706); // current read speed
    }
    o += 22;
  }
  if (ten) {
    be16(b, 0, o - 2);
    b[2] = media ? MEDIUM_CD_DATA : MEDIUM_NONE;
  } else {
    b[0] = o - 1;
    b[1] = media ? MEDIUM_CD_DATA : MEDIUM_NONE;
  }
  return o;
}

function putAddress(b: Uint8Array, o: number, lba: number, msf: boolean): void {
  if (!msf) { be32(b, o, lba); return; }
  const f = lba + MSF_OFFSET;
  b[o] = 0;
  b[o + 1] = Math.floor(f / (75 * 60));
  b[o + 2] = Math.floor(f / 75) % 60;
  b[o + 3] = f % 75;
}

/** READ TOC format 0 (TOC: one data track and the lead-out) or 1 (session information). */
export function buildToc(b: Uint8Array, format: number, msf: boolean, startTrack: number, capacity: number): number {
  if (format === 0) {
    if (startTrack > 1 && startTrack !== LEADOUT_TRACK) return -1;
    let o = 4;
    if (startTrack <= 1) {
      b[o] = 0; b[o + 1] = ADR_CONTROL_DATA; b[o + 2] = 1; b[o + 3] = 0;
      putAddress(b, o + 4, 0, msf);
      o += 8;
    }
    b[o] = 0; b[o + 1] = ADR_CONTROL_DATA; b[o + 2] = LEADOUT_TRACK; b[o + 3] = 0;
    putAddress(b, o + 4, capacity, msf);
    o += 8;
    be16(b, 0, o - 2);
    b[2] = 1;
    b[3] = 1;
    return o;
  }
  if (format === 1) {
    be16(b, 0, 10);
    b[2] = 1; b[3] = 1;
    b[4] = 0; b[5] = ADR_CONTROL_DATA; b[6] = 1; b[7] = 0;
    putAddress(b, 8, 0, msf);
    return 12;
  }
  return -1;
}

/** GET CONFIGURATION: profile list, core (ATAPI) and removable medium features from `start`; `rt` 2 = that one only. */
export function buildConfiguration(b: Uint8Array, capacity: number, start: number, rt: number): number {
  const dvd = capacity > CD_MAX_SECTORS;
  const current = capacity === 0 ? 0 : dvd ? PROFILE_DVDROM : PROFILE_CDROM;
  let o = 8;
  const wanted = (code: number): boolean => (rt === 2 ? code === start : code >= start);
  if (wanted(0x0000)) {
    b.set([0x00, 0x00, 0x03, 8], o);
    be16(b, o + 4, PROFILE_DVDROM); b[o + 6] = current === PROFILE_DVDROM ? 1 : 0; b[o + 7] = 0;
    be16(b, o + 8, PROFILE_CDROM); b[o + 10] = current === PROFILE_CDROM ? 1 : 0; b[o + 11] = 0;
    o += 12;
  }
  if (wanted(0x0001)) {
    b.set([0x00, 0x01, 0x0b, 8], o);
    be32(b, o + 4, 2); // physical interface standard: ATAPI
    b.set([0x01, 0, 0, 0], o + 8); // DBE
    o += 12;
  }
  if (wanted(0x0003)) {
    b.set([0x00, 0x03, 0x03, 4, 0x29, 0, 0, 0], o); // tray loading, eject, lock
    o += 8;
  }
  be32(b, 0, o - 4);
  b[4] = 0; b[5] = 0;
  be16(b, 6, current);
  return o;
}

/** Polled GET EVENT STATUS NOTIFICATION: the media class when asked, otherwise No Event Available. */
export function buildEventStatus(b: Uint8Array, requested: number, media: boolean): number {
  if ((requested & EVENT_MEDIA_BIT) === 0) {
    be16(b, 0, 2);
    b[2] = EVENT_NEA;
    b[3] = EVENT_MEDIA_BIT;
    return 4;
  }
  be16(b, 0, 6);
  b[2] = EVENT_CLASS_MEDIA;
  b[3] = EVENT_MEDIA_BIT;
  b[4] = 0; // no change
  b[5] = media ? MEDIA_PRESENT : 0;
  b[6] = 0;
  b[7] = 0;
  return 8;
}
