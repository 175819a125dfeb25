import { describe, expect, it } from 'vitest';
import { MemoryHostFile } from './host-file.js';
import { ImageGuard } from './image-guard.js';
import { MemoryBlockDevice } from './memory-device.js';

const image = (readOnly: boolean, backingFile?: string, backing?: MemoryBlockDevice) => ({
  file: new MemoryHostFile('/images/g'),
  readOnly,
  backingFile,
  backing,
});

describe('ImageGuard', () => {
  it('runs requests one at a time in call order, and refuses everything after close', async () => {
    const guard = new ImageGuard(image(false), 'TEST');
    const order: string[] = [];
    const slow = guard.change('write', async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push('write');
    });
    const flush = guard.queued('flush', async () => {
      order.push('flush');
    });
    let closes = 0;
    const close = guard.close(async () => {
      closes++;
    });
    await Promise.all([slow, flush, close, guard.close(async () => void closes++)]);
    expect(order).toEqual(['write', 'flush']);
    expect(closes).toBe(1);
    expect(() => guard.live('read')).toThrow(expect.objectContaining({ code: 'Closed', message: '/images/g: read on a closed TEST image' }) as Error);
    await expect(guard.queued('flush', async () => 1)).rejects.toMatchObject({ code: 'Closed' });
  });

  it('refuses changes to a read-only image and changes that need a backing file not opened', async () => {
    await expect(new ImageGuard(image(true), 'TEST').change('write', async () => 1)).rejects.toMatchObject({ code: 'ReadOnly' });
    const noBacking = new ImageGuard(image(false, 'base.img'), 'TEST');
    await expect(noBacking.change('discard', async () => 1)).rejects.toMatchObject({ code: 'BackingChain', message: expect.stringContaining('base.img') as string });
    // A resize does not read the backing file.
    await expect(noBacking.change('resize', async () => 2, false)).resolves.toBe(2);
    await expect(new ImageGuard(image(false, 'base.img', new MemoryBlockDevice(512)), 'TEST').change('write', async () => 3)).resolves.toBe(3);
  });
});
