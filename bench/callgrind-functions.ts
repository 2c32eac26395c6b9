/**
 * Instructions by function from a callgrind dump of a Node process. Callgrind names the functions compiled into
 * the binary (V8's builtins and runtime, Node's C++, libc), but JavaScript compiled at run time is only an address
 * to it; started with `--perf-basic-prof`, V8 writes each code object's address, size and name to
 * `/tmp/perf-<pid>.map`, which names those addresses. Tiers of one function (interpreted, baseline, optimized) are
 * counted together.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

interface CodeRange {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

/** The V8 flag that makes a Node process write the perf map this module reads. */
export const PERF_MAP_FLAG = '--perf-basic-prof';

/** Where V8 writes the perf map of process `pid`. */
export function perfMapOf(pid: number): string {
  return `/tmp/perf-${pid}.map`;
}

/** Self instructions of each function in `dumpFile`, JavaScript named from `perfMap` when there is one. */
export function instructionsByFunction(dumpFile: string, perfMap: string): Map<string, number> {
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', dumpFile], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return countByFunction(annotated, existsSync(perfMap) ? readFileSync(perfMap, 'utf8') : '');
}

/** The counts of `callgrind_annotate --inclusive=no` output by function, code addresses named by a perf map's text. */
export function countByFunction(annotated: string, perfMap: string): Map<string, number> {
  const ranges = parsePerfMap(perfMap);
  const totals = new Map<string, number>();
  for (const line of annotated.split('\n')) {
    const match = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.+)$/.exec(line);
    if (!match || match[2].includes('PROGRAM TOTALS')) continue;
    const name = functionName(match[2], ranges);
    totals.set(name, (totals.get(name) ?? 0) + Number(match[1].replaceAll(',', '')));
  }
  return totals;
}

/** A readable name for one of callgrind_annotate's `file:function [object]` entries. */
function functionName(entry: string, ranges: readonly CodeRange[]): string {
  const symbol = entry.replace(/ \[[^\]]*\]$/, '').replace(/^\?\?\?:/, '');
  const address = /^0x([0-9a-f]+)/.exec(symbol);
  if (address) return javaScriptName(Number.parseInt(address[1], 16), ranges);
  // C++ signatures are long; the qualified name says enough.
  return symbol.replace(/\(.*$/, '').replace(/^.*\/([^/]+:)/, '$1');
}

function javaScriptName(address: number, ranges: readonly CodeRange[]): string {
  const range = rangeAt(address, ranges);
  if (range === undefined) return '(generated code)';
  // `JS:*'name file:///path:line:column`: tier marks dropped, the path made relative to the working directory.
  return range.name
    .replace(/^JS:[*+^~]?'?/, '')
    .replace('file://', '')
    .replace(`${process.cwd()}/`, '')
    .replace(/:\d+$/, '');
}

/**
 * The code object holding `address`. V8 reuses code space, so ranges overlap: the one starting last wins, and of two
 * starting together the one written last (the sort keeps their order).
 */
function rangeAt(address: number, ranges: readonly CodeRange[]): CodeRange | undefined {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (ranges[middle].start <= address) low = middle + 1;
    else high = middle - 1;
  }
  for (let index = high; index >= 0 && index > high - 16; index--) if (address < ranges[index].end) return ranges[index];
  return undefined;
}

function parsePerfMap(text: string): CodeRange[] {
  const ranges: CodeRange[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(' ');
    const second = line.indexOf(' ', first + 1);
    if (first === -1 || second === -1) continue;
    const start = Number.parseInt(line.slice(0, first), 16);
    ranges.push({ start, end: start + Number.parseInt(line.slice(first + 1, second), 16), name: line.slice(second + 1) });
  }
  return ranges.sort((a, b) => a.start - b.start);
}
