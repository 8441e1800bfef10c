/**
 * Renders a Vega-Lite spec to SVG in Node, without a browser or canvas: vega-lite compiles it, vega
 * renders it headless. Both are ESM-only, hence the dynamic imports. Pinned: vega-lite 6.4.1 is the
 * last release whose `engines` allows Node 20 (6.5 needs Node 22); vega 6.2.0 satisfies its peer range.
 */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
