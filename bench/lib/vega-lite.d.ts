// vega-lite ships its types only through package.json `exports`, which this repo's `moduleResolution: node`
// does not read; this is the one function the chart uses.
declare module 'vega-lite' {
  import type { Spec } from 'vega';
  export function compile(spec: unknown): { spec: Spec };
}
