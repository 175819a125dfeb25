import { timeRatio, type PeerSummary, type Ratio } from './summary.js';

function seconds(s: number | null | undefined): string {
  return s === null || s === undefined ? '-' : s.toFixed(2);
}

function giga(n: number | null | undefined): string {
  return n === null || n === undefined ? 'n/a' : `${(n / 1e9).toFixed(3)} G`;
}

function ratioText(r: Ratio | null): string {
  if (r === null) return 'n/a';
  return `${r.lowerBound ? '> ' : ''}${r.value.toFixed(2)}x`;
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
}

/** What a peer that did not finish got to, as one sentence. */
export function shortfall(s: PeerSummary): string {
  const what = s.reachedMarker === 0 ? 'the marker' : 'the end of the job';
  const where = `${giga(s.stopped.instructions)} instructions / ${seconds(s.stopped.seconds)} s`;
  return `did not reach ${what} within ${where} (${s.reasons.join('; ')})`;
}

/** The results table, the ratios and, for a peer that did not finish, where it stopped. */
export function formatReport(summaries: readonly PeerSummary[]): string {
  const header = ['peer', 'to marker s', 'to end s', 'cpu s', 'insns to marker', 'insns to end', 'MIPS', 'MIPS/cpu', 'guest job ms'];
  const rows = summaries.map((s) => [
    s.peer,
    seconds(s.marker?.seconds),
    seconds(s.done?.seconds),
    seconds((s.done ?? s.stopped).cpuSeconds),
    giga(s.marker?.instructions),
    giga(s.done?.instructions),
    s.mips === null ? 'n/a' : s.mips.toFixed(1),
    s.mipsPerCpu === null ? 'n/a' : s.mipsPerCpu.toFixed(1),
    s.guestJobMs === null ? '-' : String(s.guestJobMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const lines = [pad(header, widths), ...rows.map((r) => pad(r, widths))];

  const notes: string[] = [];
  for (const s of summaries) {
    if (s.reachedDone < s.runs) notes.push(`${s.peer}: ${s.reachedDone === 0 ? '' : `${s.runs - s.reachedDone} of ${s.runs} runs `}${shortfall(s)}`);
    if (s.reachedDone === s.runs) continue;
    notes.push(s.lastLines.length > 0 ? `  last console lines: ${s.lastLines.map((l) => JSON.stringify(l)).join(' / ')}` : '  no console output');
    if (s.where !== null) notes.push(`  stopped at ${s.where}`);
  }
  for (const s of summaries) notes.push(`${s.peer} instructions: ${s.instructionSource}`);

  const ratios: string[] = [];
  const find = (name: string): PeerSummary | undefined => summaries.find((s) => s.peer === name);
  const tsvm = find('tsvm');
  const pairs: [PeerSummary | undefined, PeerSummary | undefined][] = [
    [tsvm, find('v86')],
    [tsvm, find('v86-nojit')],
    [tsvm, find('qemu')],
    [find('v86'), find('qemu')],
  ];
  for (const [a, b] of pairs) {
    if (a === undefined || b === undefined) continue;
    const mips = a.mips !== null && b.mips !== null ? `${(a.mips / b.mips).toFixed(3)}x` : 'n/a';
    ratios.push(
      `${a.peer} / ${b.peer}: time to marker ${ratioText(timeRatio(a, b, 'marker'))}, time to end ${ratioText(timeRatio(a, b, 'done'))}, ` +
        `cpu time to end ${ratioText(timeRatio(a, b, 'done', 'cpu'))}, MIPS ${mips}`,
    );
  }
  return [...lines, '', ...ratios, ...(ratios.length > 0 ? [''] : []), ...notes].join('\n');
}
