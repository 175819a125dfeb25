import { StorageError } from './errors.js';
import type { HostFile } from './host-file.js';
import type { ImageFormat, ProbeInput } from './image-format.js';

/** How many bytes of the head and of the tail of a file `probe` sees. */
export const PROBE_HEAD_BYTES = 64 * 1024;
export const PROBE_TAIL_BYTES = 4096;

/**
 * The set of format drivers an application knows, looked up by qemu-img's name and detected by
 * content (never by file name).
 */
export class FormatRegistry {
  private readonly byName = new Map<string, ImageFormat>();

  constructor(formats: readonly ImageFormat[] = []) {
    for (const f of formats) this.register(f);
  }

  /** Add a driver; a second driver with the same name is an `InvalidArgument` error. */
  register(format: ImageFormat): void {
    if (this.byName.has(format.name)) {
      throw new StorageError('InvalidArgument', `a format named '${format.name}' is already registered`);
    }
    this.byName.set(format.name, format);
  }

  /** The driver called `name`, or an `Unsupported` error listing the known ones. */
  get(name: string): ImageFormat {
    const f = this.byName.get(name);
    if (f === undefined) {
      throw new StorageError('Unsupported', `unknown image format '${name}' (known: ${this.names().join(', ')})`);
    }
    return f;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The driver that claims `input` with the highest score; `Unsupported` when none does. */
  detect(input: ProbeInput): ImageFormat {
    let best: ImageFormat | undefined;
    let bestScore = 0;
    for (const f of this.byName.values()) {
      const score = f.probe(input);
      if (score > bestScore) {
        best = f;
        bestScore = score;
      }
    }
    if (best === undefined) throw new StorageError('Unsupported', 'no registered format recognises the image');
    return best;
  }

  /** Read the probe bytes of `file` and detect its format. */
  async detectFile(file: HostFile): Promise<ImageFormat> {
    return this.detect(await readProbeInput(file));
  }
}

/** The head and tail bytes of `file` that `ImageFormat.probe` looks at. */
export async function readProbeInput(file: HostFile): Promise<ProbeInput> {
  const fileSize = await file.size();
  const head = new Uint8Array(Math.min(PROBE_HEAD_BYTES, fileSize));
  const headRead = await file.read(0, head);
  const tailLength = Math.min(PROBE_TAIL_BYTES, fileSize);
  const tail = new Uint8Array(tailLength);
  const tailRead = await file.read(fileSize - tailLength, tail);
  return { head: head.subarray(0, headRead), tail: tail.subarray(0, tailRead), fileSize };
}
