#!/usr/bin/env tsx
/**
 * `pnpm demo` (with `pnpm start` running): submits the example requests of the IMS API page
 * "Importing an Image File Quickly" unchanged and follows each import to its final state.
 * IMS_IMPORTER_URL and IMS_IMPORTER_API_KEY override the local defaults.
 */
import { createApiClient, type ImportView } from '@ims-importer/api-client'
import { PAGE_EXAMPLE_TITLES, PAGE_EXAMPLES } from '@ims-importer/core'

const baseUrl = process.env.IMS_IMPORTER_URL ?? 'http://127.0.0.1:8080'
const apiKey = process.env.IMS_IMPORTER_API_KEY ?? 'dev-key'
const FINAL = new Set(['succeeded', 'failed', 'cancelled'])

// The page's examples, verbatim (file address in the bucket: ims-image:centos70.zvhd2).
const EXAMPLES = Object.entries(PAGE_EXAMPLES).map(([name, body]) => ({
  title: PAGE_EXAMPLE_TITLES[name as keyof typeof PAGE_EXAMPLES],
  body,
}))

const client = createApiClient({ baseUrl, apiKey })
const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`

async function follow(title: string, id: string): Promise<ImportView> {
  let last = ''
  for (;;) {
    const view = await client.getImport(id)
    const line = `${view.status}${view.ims?.job_status ? ` (IMS job ${view.ims.job_status})` : ''}`
    if (line !== last) {
      console.log(`[${elapsed()}] ${id} ${title}: ${line}`)
      last = line
    }
    if (FINAL.has(view.status)) return view
    await new Promise((r) => setTimeout(r, 500))
  }
}

async function main(): Promise<void> {
  console.log(`Submitting ${EXAMPLES.length} example requests from the IMS API page to ${baseUrl}`)
  const accepted = []
  for (const { title, body } of EXAMPLES) {
    const { value } = await client.createImport(body as never)
    console.log(`[${elapsed()}] ${value.id} ${title}: accepted (${value.status}, target ${value.target})`)
    accepted.push({ title, id: value.id })
  }
  const finals = await Promise.all(accepted.map(({ title, id }) => follow(title, id)))
  console.log('')
  for (const v of finals) {
    const detail =
      v.status === 'succeeded'
        ? `image ${v.ims?.image_id}`
        : `${v.error?.code ?? ''} ${v.error?.message ?? ''}`
    console.log(`${v.id}  ${v.status.padEnd(9)}  ${detail}`)
  }
  const failed = finals.filter((v) => v.status !== 'succeeded').length
  console.log(`\n${finals.length - failed} of ${finals.length} succeeded in ${elapsed()}`)
  process.exit(failed === 0 ? 0 : 1)
}

main().catch((err) => {
  console.error(`demo: ${(err as Error).message}`)
  console.error('Is the service running? Start it with `pnpm start` in another terminal.')
  process.exit(2)
})
