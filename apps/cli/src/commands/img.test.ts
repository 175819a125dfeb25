import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, closeSync, writeSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { captureIo } from '../test-io.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvm-img-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HAVE_QEMU = spawnSync('qemu-img', ['--version']).status === 0;
if (!HAVE_QEMU) console.warn('qemu-img is not installed (Debian: apt-get install qemu-utils); tsvm img differential tests skipped');

const qemu = (...args: string[]): string => execFileSync('qemu-img', args, { cwd: dir, encoding: 'utf8' });
const qemuIo = (file: string, cmd: string): void => {
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', cmd, file], { cwd: dir, stdio: 'ignore' });
};

async function img(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo(dir);
  const code = await runCli(['img', ...args], io);
  await new Promise((r) => setImmediate(r));
  return { code, out: io.out(), err: io.err() };
}

describe('tsvm img (without qemu-img)', () => {
  it('reports usage errors with exit code 2', async () => {
    expect((await img('frobnicate')).code).toBe(2);
    expect((await img('create', '-f', 'qcow2')).code).toBe(2);
    expect((await img('info', '--output', 'xml', 'x')).code).toBe(2);
    expect((await img('check', '--bogus', 'x')).code).toBe(2);
    const none = await img('convert', '-t', 'none', '-O', 'raw', 'x', 'y');
    expect(none.code).toBe(2);
    expect(none.err).toContain("cache mode 'none' is not supported");
  });

  it('converts with either cache mode for the output', async () => {
    writeFileSync(join(dir, 'cache.raw'), new Uint8Array(256 << 10).map((_, i) => (i * 7) & 0xff));
    for (const mode of ['unsafe', 'writeback']) {
      expect((await img('convert', '-t', mode, '-O', 'qcow2', 'cache.raw', `cache-${mode}.qcow2`)).code).toBe(0);
      expect((await img('compare', 'cache.raw', `cache-${mode}.qcow2`)).code).toBe(0);
    }
  });

  it('creates, writes through convert, compares and resizes', async () => {
    writeFileSync(join(dir, 'in.raw'), new Uint8Array(1 << 20).map((_, i) => (i >> 9) & 0xff));
    expect((await img('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4k', 'a.qcow2', '1M')).code).toBe(0);
    expect((await img('convert', '-O', 'qcow2', 'in.raw', 'b.qcow2')).code).toBe(0);
    expect((await img('compare', 'in.raw', 'b.qcow2')).out).toBe('Images are identical.\n');
    const diff = await img('compare', 'a.qcow2', 'b.qcow2');
    expect(diff.code).toBe(1);
    expect(diff.out).toBe('Content mismatch at offset 512!\n');
    expect((await img('resize', 'b.qcow2', '+1M')).out).toBe('Image resized.\n');
    expect((await img('resize', 'b.qcow2', '1M')).code).toBe(2);
    const info = JSON.parse((await img('info', '--output=json', 'b.qcow2')).out) as Record<string, unknown>;
    expect(info).toMatchObject({ 'virtual-size': 2 << 20, format: 'qcow2', 'cluster-size': 65536 });
    const check = await img('check', 'b.qcow2');
    expect(check.code).toBe(0);
    expect(check.out).toContain('No errors were found on the image.');
  });

  it('manages snapshots and reports them in info', async () => {
    await img('convert', '-O', 'qcow2', 'in.raw', 's.qcow2');
    expect((await img('snapshot', '-c', 'before', 's.qcow2')).code).toBe(0);
    const list = await img('snapshot', '-l', 's.qcow2');
    expect(list.out).toMatch(/^Snapshot list:\nID\s+TAG\s+VM SIZE\s+DATE\s+VM CLOCK\s+ICOUNT\n1\s+before\s+0 B /);
    expect((await img('info', 's.qcow2')).out).toContain('Snapshot list:');
    expect((await img('snapshot', '-a', 'before', 's.qcow2')).code).toBe(0);
    expect((await img('snapshot', '-d', 'before', 's.qcow2')).code).toBe(0);
    expect((await img('snapshot', '-l', 's.qcow2')).out).toBe('');
    expect((await img('snapshot', '-d', 'nope', 's.qcow2')).code).toBe(1);
  });
});

describe.skipIf(!HAVE_QEMU)('tsvm img against qemu-img', { timeout: 60_000 }, () => {
  it('info --output json agrees with qemu-img on every field both report', async () => {
    qemu('create', '-q', '-f', 'qcow2', 'base.qcow2', '4M');
    qemu('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=16k,lazy_refcounts=on', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
    qemu('snapshot', '-c', 'snap', 'top.qcow2');
    const ours = JSON.parse((await img('info', '--output', 'json', 'top.qcow2')).out) as Record<string, unknown>;
    const theirs = JSON.parse(qemu('info', '--output', 'json', 'top.qcow2')) as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    for (const key of Object.keys(theirs)) {
      if (key === 'snapshots') {
        const pick = (s: unknown): unknown => (s as Record<string, unknown>[]).map(({ id, name, 'date-sec': d }) => ({ id, name, d }));
        expect(pick(ours[key])).toEqual(pick(theirs[key]));
      } else expect(ours[key], key).toEqual(theirs[key]);
    }
    const chain = JSON.parse((await img('info', '--backing-chain', '--output=json', 'top.qcow2')).out) as unknown[];
    expect(chain).toHaveLength(2);
  });

  it('info agrees for raw images and qcow2 with an external data file, created by either tool', async () => {
    qemu('create', '-q', '-f', 'raw', 'plain.raw', '3M');
    expect(JSON.parse((await img('info', '--output=json', 'plain.raw')).out)).toEqual(JSON.parse(qemu('info', '--output=json', 'plain.raw')));
    expect((await img('create', '-q', '-f', 'qcow2', '-o', 'data_file=ext.raw,data_file_raw=on', 'ext.qcow2', '2M')).code).toBe(0);
    writeFileSync(join(dir, 'pattern.raw'), new Uint8Array(2 << 20).fill(0x6b));
    expect((await img('convert', '-n', '-O', 'qcow2', 'pattern.raw', 'ext.qcow2')).code).toBe(0);
    expect(JSON.parse((await img('info', '--output=json', 'ext.qcow2')).out)).toEqual(JSON.parse(qemu('info', '--output=json', 'ext.qcow2')));
    expect(spawnSync('qemu-img', ['check', 'ext.qcow2'], { cwd: dir }).status).toBe(0);
    expect(spawnSync('qemu-img', ['compare', 'pattern.raw', 'ext.qcow2'], { cwd: dir }).status).toBe(0);
    qemu('create', '-q', '-f', 'qcow2', '-o', 'data_file=qext.raw', 'qext.qcow2', '2M');
    qemuIo(join(dir, 'qext.qcow2'), 'write -P 0x44 64k 64k');
    const ours = JSON.parse((await img('info', '--output=json', 'qext.qcow2')).out) as Record<string, unknown>;
    expect(ours['format-specific']).toEqual((JSON.parse(qemu('info', '--output=json', 'qext.qcow2')) as Record<string, unknown>)['format-specific']);
    expect((await img('compare', 'qext.qcow2', 'qext.raw')).code).toBe(0);
  });

  it('map --output json prints what qemu-img prints', async () => {
    qemu('create', '-q', '-f', 'qcow2', 'mbase.qcow2', '2M');
    qemu('create', '-q', '-f', 'qcow2', '-b', 'mbase.qcow2', '-F', 'qcow2', 'mtop.qcow2', '3M');
    qemuIo(join(dir, 'mbase.qcow2'), 'write -P 1 0 1M');
    qemuIo(join(dir, 'mtop.qcow2'), 'write -P 2 512k 64k');
    qemuIo(join(dir, 'mtop.qcow2'), 'write -z 1M 128k');
    qemuIo(join(dir, 'mtop.qcow2'), 'write -P 3 2560k 64k');
    expect((await img('map', '--output=json', 'mtop.qcow2')).out).toBe(qemu('map', '--output=json', 'mtop.qcow2'));
    expect((await img('map', '--output=json', 'mbase.qcow2')).out).toBe(qemu('map', '--output=json', 'mbase.qcow2'));
  });

  it('check finds and repairs leaks as qemu-img does', async () => {
    qemu('create', '-q', '-f', 'qcow2', 'leak.qcow2', '1M');
    qemuIo(join(dir, 'leak.qcow2'), 'write -P 7 0 64k');
    // Mark cluster 8 in use without any table pointing to it.
    const fd = openSync(join(dir, 'leak.qcow2'), 'r+');
    writeSync(fd, new Uint8Array([0, 1]), 0, 2, 2 * 65536 + 8 * 2);
    ftruncateSync(fd, 9 * 65536);
    closeSync(fd);
    const before = await img('check', 'leak.qcow2');
    expect(before.code).toBe(3);
    expect(before.out).toContain('Leaked cluster 8 refcount=1 reference=0');
    expect(before.out).toContain('1 leaked clusters were found on the image.');
    expect(JSON.parse((await img('check', '--output=json', 'leak.qcow2')).out)).toEqual(JSON.parse(spawnSync('qemu-img', ['check', '--output=json', 'leak.qcow2'], { cwd: dir, encoding: 'utf8' }).stdout));
    const fixed = await img('check', '-r', 'leaks', 'leak.qcow2');
    expect(fixed.code).toBe(0);
    expect(fixed.out).toContain('1 leaked clusters');
    expect(spawnSync('qemu-img', ['check', 'leak.qcow2'], { cwd: dir }).status).toBe(0);
  });

  it('convert output passes qemu-img check and compare, compressed and not', async () => {
    writeFileSync(join(dir, 'mix.raw'), new Uint8Array(3 << 20).map((_, i) => (i < 1 << 20 ? (i * 7) & 0xff : i < 2 << 20 ? 0 : 0x33)));
    for (const extra of [[], ['-c'], ['-o', 'compat=0.10,cluster_size=512']]) {
      expect((await img('convert', '-O', 'qcow2', ...extra, 'mix.raw', 'mix.qcow2')).code).toBe(0);
      const check = spawnSync('qemu-img', ['check', 'mix.qcow2'], { cwd: dir, encoding: 'utf8' });
      expect(check.status).toBe(0);
      // L2 tables are placed before the data they map, so a sequential copy is not fragmented.
      if (extra.length === 0) expect(check.stdout).toContain('0.00% fragmented');
      expect(spawnSync('qemu-img', ['compare', 'mix.raw', 'mix.qcow2'], { cwd: dir }).status).toBe(0);
    }
    expect((await img('convert', '-p', '-O', 'raw', 'mix.qcow2', 'mix2.raw')).out).toContain('(100.00/100%)');
    expect(spawnSync('qemu-img', ['compare', 'mix.raw', 'mix2.raw'], { cwd: dir }).status).toBe(0);
  });

  it('convert -B writes only what differs from the new backing file', async () => {
    const base = new Uint8Array(2 << 20).fill(0x21);
    writeFileSync(join(dir, 'bb.raw'), base);
    const next = base.slice();
    next.fill(0x22, 65536, 131072);
    next.fill(0, 1 << 20, (1 << 20) + 65536);
    writeFileSync(join(dir, 'bn.raw'), next);
    expect((await img('convert', '-O', 'qcow2', '-B', 'bb.raw', '-F', 'raw', 'bn.raw', 'bd.qcow2')).code).toBe(0);
    expect(spawnSync('qemu-img', ['compare', 'bn.raw', 'bd.qcow2'], { cwd: dir }).status).toBe(0);
    expect(spawnSync('qemu-img', ['check', 'bd.qcow2'], { cwd: dir }).status).toBe(0);
    const map = JSON.parse(qemu('map', '--output=json', 'bd.qcow2')) as { depth: number; length: number }[];
    expect(map.filter((e) => e.depth === 0).reduce((n, e) => n + e.length, 0)).toBe(131072);
  });

  it('measure agrees with qemu-img', async () => {
    for (const args of [['-O', 'qcow2', '--size', '1G'], ['-O', 'qcow2', '-o', 'cluster_size=4k', 'mix.raw'], ['-O', 'qcow2', 'mix.qcow2'], ['-O', 'raw', '--size', '5M']]) {
      expect(JSON.parse((await img('measure', '--output=json', ...args)).out), args.join(' ')).toEqual(JSON.parse(qemu('measure', '--output=json', ...args)));
    }
  });

  it('rebase keeps content, commit moves data into the backing file', async () => {
    qemu('create', '-q', '-f', 'qcow2', 'r1.qcow2', '2M');
    qemuIo(join(dir, 'r1.qcow2'), 'write -P 1 0 2M');
    qemu('create', '-q', '-f', 'qcow2', 'r2.qcow2', '2M');
    qemu('create', '-q', '-f', 'qcow2', '-b', 'r1.qcow2', '-F', 'qcow2', 'rt.qcow2');
    qemuIo(join(dir, 'rt.qcow2'), 'write -P 9 64k 64k');
    qemu('convert', '-O', 'raw', 'rt.qcow2', 'rt.raw');
    expect((await img('rebase', '-b', 'r2.qcow2', '-F', 'qcow2', 'rt.qcow2')).code).toBe(0);
    expect(qemu('info', 'rt.qcow2')).toContain('backing file: r2.qcow2');
    expect(spawnSync('qemu-img', ['compare', 'rt.qcow2', 'rt.raw'], { cwd: dir }).status).toBe(0);
    expect((await img('commit', 'rt.qcow2')).out).toBe('Image committed.\n');
    expect(spawnSync('qemu-img', ['compare', 'r2.qcow2', 'rt.raw'], { cwd: dir }).status).toBe(0);
    expect(spawnSync('qemu-img', ['check', 'r2.qcow2'], { cwd: dir }).status).toBe(0);
    expect(qemu('map', '--output=json', 'rt.qcow2')).not.toContain('"depth": 0');
  });

  it('refuses resize and rebase where qemu-img does, with its words and exit status', async () => {
    const qemuRun = (...args: string[]): { status: number | null; err: string } => {
      const r = spawnSync('qemu-img', args, { cwd: dir, encoding: 'utf8' });
      return { status: r.status, err: r.stderr };
    };
    qemu('create', '-q', '-f', 'vmdk', 'rf.vmdk', '4M');
    qemu('create', '-q', '-f', 'vpc', 'rf.vpc', '4M');
    qemu('create', '-q', '-f', 'vpc', 'rf2.vpc', '4M');
    const cases = [
      ['resize', 'rf.vmdk', '8M'],
      ['rebase', '-u', '-b', 'rf2.vpc', '-F', 'vpc', 'rf.vpc'],
    ];
    for (const c of cases) {
      const theirs = qemuRun(...c);
      const ours = await img(...c);
      expect(ours.code, c.join(' ')).toBe(theirs.status);
      // qemu-img: <message>; tsvm img: <message> [Unsupported]
      expect(ours.err, c.join(' ')).toContain(theirs.err.replace(/^qemu-img: /, '').trim());
    }
  });

  it('rebases VMDK overlays (which qemu-img cannot); qemu-img reads them through the new parent', async () => {
    qemu('create', '-q', '-f', 'vmdk', 'vb1.vmdk', '2M');
    execFileSync('qemu-io', ['-f', 'vmdk', '-c', 'write -P 1 0 2M', 'vb1.vmdk'], { cwd: dir, stdio: 'ignore' });
    qemu('create', '-q', '-f', 'vmdk', 'vb2.vmdk', '2M');
    execFileSync('qemu-io', ['-f', 'vmdk', '-c', 'write -P 2 0 1M', 'vb2.vmdk'], { cwd: dir, stdio: 'ignore' });
    qemu('create', '-q', '-f', 'vmdk', '-b', 'vb1.vmdk', '-F', 'vmdk', 'vt.vmdk');
    execFileSync('qemu-io', ['-f', 'vmdk', '-c', 'write -P 9 64k 64k', 'vt.vmdk'], { cwd: dir, stdio: 'ignore' });
    qemu('convert', '-O', 'raw', 'vt.vmdk', 'vt.raw');
    expect((await img('rebase', '-b', 'vb2.vmdk', '-F', 'vmdk', 'vt.vmdk')).code).toBe(0);
    const info = JSON.parse(qemu('info', '--output=json', 'vt.vmdk')) as { 'backing-filename': string; 'format-specific': { data: { 'parent-cid': number } } };
    expect(info['backing-filename']).toBe('vb2.vmdk');
    const parent = JSON.parse(qemu('info', '--output=json', 'vb2.vmdk')) as { 'format-specific': { data: { cid: number } } };
    expect(info['format-specific'].data['parent-cid']).toBe(parent['format-specific'].data.cid);
    expect(spawnSync('qemu-img', ['compare', 'vt.vmdk', 'vt.raw'], { cwd: dir }).status).toBe(0);
    expect(spawnSync('qemu-img', ['check', 'vt.vmdk'], { cwd: dir }).status).toBe(0);
    // A backing file of another format is refused before anything is copied.
    const refused = await img('rebase', '-b', 'vt.raw', '-F', 'raw', 'vt.vmdk');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('Invalid backing file format: raw. Must be vmdk.');
    // Without a backing file (safe: the parent's data is copied in first).
    expect((await img('rebase', '-b', '', 'vt.vmdk')).code).toBe(0);
    expect(qemu('info', 'vt.vmdk')).not.toContain('backing file');
    expect(spawnSync('qemu-img', ['compare', 'vt.vmdk', 'vt.raw'], { cwd: dir }).status).toBe(0);
  });

  it('resizes VHD and VHDX images, which qemu-img then reads at the new size', async () => {
    const content = new Uint8Array(4 << 20).map((_, i) => (i >> 12) & 0xff);
    writeFileSync(join(dir, 'rz.raw'), content);
    for (const [format, opts] of [['vpc', 'subformat=fixed,force_size=on'], ['vpc', 'force_size=on'], ['vhdx', 'block_size=1M']] as const) {
      const file = `rz-${opts.length}.${format}`;
      expect((await img('convert', '-O', format, '-o', opts, 'rz.raw', file)).code).toBe(0);
      expect((await img('resize', file, '+3M')).out).toBe('Image resized.\n');
      // qemu-img takes a fixed VHD for raw unless told its format.
      const info = JSON.parse(qemu('info', '-f', format, '--output=json', file)) as { 'virtual-size': number };
      expect(info['virtual-size'], file).toBe(7 << 20);
      qemu('convert', '-f', format, '-O', 'raw', file, `${file}.raw`);
      const want = new Uint8Array(7 << 20);
      want.set(content);
      expect(Buffer.compare(readFileSync(join(dir, `${file}.raw`)), want), file).toBe(0);
    }
  });
});
