import { describe, expect, it } from 'vitest';
import { StorageError } from './errors.js';
import { MemoryHostFile } from './host-file.js';
import { WriteBehind } from './write-behind.js';

/** A memory file that also has `writev`, counting the calls of each kind. */
class VectorFile extends MemoryHostFile {
  vectors = 0;
  singles = 0;
  failAt = -1;
  override async write(position: number, data: Uint8Array): Promise<void> {
    this.singles++;
    if (position === this.failAt) throw new StorageError('Io', 'no space left');
    return super.write(position, data);
  }
  async writev(position: number, buffers: readonly Uint8Array[]): Promise<void> {
    this.vectors++;
    let at = position;
    for (const b of buffers) {
      await super.write(at, b);
      at += b.length;
    }
  }
}

describe('WriteBehind', () => {
  it('gathers writes to consecutive offsets into one vector write, and starts a new one at a gap', async () => {
    const file = new VectorFile();
    const wb = new WriteBehind(file);
    const a = await wb.add(0, new Uint8Array(4096).fill(1));
    const b = await wb.add(4096, new Uint8Array(4096).fill(2));
    const c = await wb.add(65536, new Uint8Array(512).fill(3));
    await wb.drain();
    await Promise.all([a.written, b.written, c.written]);
    expect(file.vectors).toBe(1);
    expect(file.singles).toBe(1);
    const got = file.contents();
    expect([got[0], got[4095], got[4096], got[8191], got[65536], got[66047]]).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('delivers a failed write to the writers whose data it held, and drains anyway', async () => {
    const file = new VectorFile();
    file.failAt = 8192;
    const wb = new WriteBehind(file);
    const ok = await wb.add(0, new Uint8Array(512));
    const bad = await wb.add(8192, new Uint8Array(512));
    wb.idle();
    await wb.drain();
    await expect(ok.written).resolves.toBeUndefined();
    await expect(bad.written).rejects.toMatchObject({ code: 'Io', message: 'no space left' });
  });
});
