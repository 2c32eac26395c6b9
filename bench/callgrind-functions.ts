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
  return symbol
    .replaceAll('(anonymous namespace)', '{anonymous}')
    .replace(/\(.*$/, '')
    .replace(/^.*\/([^/]+:)/, '$1');
}

/** Kinds of code a request's instructions are spent in, for a summary line each. */
export const CODE_KINDS = [
  'nestjs-tracing (JavaScript)',
  'other JavaScript (packages, the app)',
  'Node (JavaScript)',
  'V8 builtins',
  'V8 compilers',
  'garbage collection',
  'V8 runtime',
  'Node and libuv (C++)',
  'other native code',
] as const;

/** Which of {@link CODE_KINDS} a function named by {@link countByFunction} is. */
export function kindOf(name: string): (typeof CODE_KINDS)[number] {
  if (name.startsWith('node:') || / node:[a-z_/]+:\d+$/.test(name)) return 'Node (JavaScript)';
  if (name.includes('node_modules/') || name.startsWith('RegExp') || name === '(generated code)') return 'other JavaScript (packages, the app)';
  if (/(^|[ /])dist\/\S+\.js:\d+$/.test(name)) return 'nestjs-tracing (JavaScript)';
  if (name.startsWith('Builtins_')) return 'V8 builtins';
  if (/v8::internal::(compiler|maglev|baseline|interpreter|wasm)::|Compiler|Parser::|Scanner::/.test(name)) return 'V8 compilers';
  if (/Scaveng|Marking|Marker|Sweep|Evacuat|RootVisitor|VisitRootPointer|Heap::|heap::|GCTracer|Mark[A-Z]/.test(name)) return 'garbage collection';
  if (name.startsWith('v8::') || /\bv8::/.test(name)) return 'V8 runtime';
  if (/\bnode::|^uv_|llhttp/.test(name)) return 'Node and libuv (C++)';
  return 'other native code';
}

function javaScriptName(address: number, ranges: readonly CodeRange[]): string {
  const range = rangeAt(address, ranges);
  if (range === undefined) return '(generated code)';
  // `JS:*'name file:///path:line:column`: tier marks dropped, the path made relative to the working directory.
  const name = range.name
    .replace(/^JS:[*+^~]?'?/, '')
    .replace('file://', '')
    .replace(`${process.cwd()}/`, '')
    .replace(/:\d+$/, '');
  return name.startsWith(' ') ? `(anonymous)${name}` : name;
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
