import { writeFileSync } from 'node:fs'
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

/**
 * Renders a Vega-Lite spec to an SVG file, headless (no DOM, no canvas). Path coordinates are
 * cut to one decimal (a tenth of a pixel): Vega writes them with full float precision, which
 * makes a chart of a few thousand points weigh half a megabyte.
 */
export async function writeSvg(path: string, spec: TopLevelSpec): Promise<void> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  try {
    const svg = await view.toSVG()
    writeFileSync(
      path,
      svg.replace(/ d="[^"]*"/g, (d) => d.replace(/(\.\d)\d+/g, '$1')),
    )
  } finally {
    view.finalize()
  }
}
