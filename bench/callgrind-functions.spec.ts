import { countByFunction, kindOf } from './callgrind-functions.js';

const ANNOTATED = `
--------------------------------------------------------------------------------
664,952,472 (100.0%)  PROGRAM TOTALS
--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
39,364,000 ( 5.92%)  ???:v8::internal::MapUpdater::FindTargetMap() [/opt/node/bin/node]
15,281,394 ( 2.30%)  ???:Builtins_KeyedLoadIC_Megamorphic [/opt/node/bin/node]
 2,000,000 ( 0.30%)  ???:void v8::internal::(anonymous namespace)::Invoke(v8::internal::Isolate*) [/opt/node/bin/node]
 3,000,000 ( 0.45%)  ???:0x0000000028138e10 [???]
 1,000,000 ( 0.15%)  ???:0x0000000028138f00'2 [???]
   500,000 ( 0.08%)  ???:0x00000000281a5c90 [???]
   400,000 ( 0.06%)  ???:0x0000000030000000 [???]
   200,000 ( 0.03%)  ./malloc/./malloc/malloc.c:_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]
`;

const PERF_MAP = [
  `28138e00 23c0 JS:*'hexField file://${process.cwd()}/dist/export/protobuf-writer.js:136:13`,
  '281a5c80 10e0 JS:+\'listenerCount node:events:835:62',
  // Code space reused: a later object at the same place holds the address now.
  '281a5c80 1000 JS:+\'hexField file:///elsewhere/protobuf-writer.js:136:13',
].join('\n');

describe('countByFunction', () => {
  it('names native functions, and code addresses through the perf map, counting tiers and blocks together', () => {
    const counts = countByFunction(ANNOTATED, PERF_MAP);
    expect(Object.fromEntries(counts)).toEqual({
      'v8::internal::MapUpdater::FindTargetMap': 39_364_000,
      Builtins_KeyedLoadIC_Megamorphic: 15_281_394,
      'void v8::internal::{anonymous}::Invoke': 2_000_000,
      'hexField dist/export/protobuf-writer.js:136': 4_000_000,
      'hexField /elsewhere/protobuf-writer.js:136': 500_000,
      '(generated code)': 400_000,
      'malloc.c:_int_free': 200_000,
    });
  });

  it('leaves code unnamed without a perf map', () => {
    const counts = countByFunction(ANNOTATED, '');
    expect(counts.get('(generated code)')).toBe(4_900_000);
  });
});

describe('kindOf', () => {
  it.each([
    ['hexField dist/export/protobuf-writer.js:136', 'nestjs-tracing (JavaScript)'],
    ['hexField /tmp/base/dist/export/protobuf-writer.js:136', 'nestjs-tracing (JavaScript)'],
    ['next /work/main/node_modules/router/index.js:189', 'other JavaScript (packages, the app)'],
    ['parserOnIncoming node:_http_server:1167', 'Node (JavaScript)'],
    ['(anonymous) node:internal/streams/readable:328', 'Node (JavaScript)'],
    ['Builtins_LoadIC_Megamorphic', 'V8 builtins'],
    ['v8::internal::compiler::GraphReducer::Reduce', 'V8 compilers'],
    ['v8::internal::RootScavengeVisitor::VisitRootPointer', 'garbage collection'],
    ['v8::internal::MapUpdater::FindTargetMap', 'V8 runtime'],
    ['llhttp__internal__run', 'Node and libuv (C++)'],
    ['malloc.c:_int_free', 'other native code'],
  ])('files %s under %s', (name, kind) => {
    expect(kindOf(name)).toBe(kind);
  });
});
