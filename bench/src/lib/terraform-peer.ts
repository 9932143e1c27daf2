import { SIMULATOR_DEFAULTS } from '@ims-importer/core'
import { createImsClient, type ImsClient } from '@ims-importer/ims-client'
import { SIM_AUTH } from '@ims-importer/testkit'
import { quickImportBody } from './bodies.js'
import { type BenchContext, sleep } from './context.js'

/** One import as the peer followed it (epoch ms). */
export interface PeerImport {
  jobId: string
  /** When the lane sent the POST (the lane is taken from here). */
  postedAt: number
  /** When a poll first saw the job SUCCESS or FAIL. */
  seenAt: number
  failed: boolean
}

export interface PeerOptions {
  /** Imports, in the order of quickImportBody(i). */
  count: number
  /** Terraform's -parallelism (10 by default). */
  parallelism: number
  /** The provider's first delay and poll interval (10 s in terraform-provider-huaweicloud), scaled. */
  pollMs: number
  /** golangsdk's 429 backoff unit (1 min), scaled: 2^n of these after the n-th refusal. */
  backoffUnitMs: number
}

/** An IMS client for a simulator at `url` with its default project and credentials. */
export function simImsClient(url: string): ImsClient {
  return createImsClient({
    imsEndpoint: url,
    iamEndpoint: `${url}/v3`,
    projectId: SIMULATOR_DEFAULTS.projectId,
    auth: SIM_AUTH,
  })
}

/**
 * The Terraform providers' way, as a loop over the IMS client: `parallelism` lanes; each POSTs,
 * waits one poll interval, then GETs the job every interval until final, and only then takes
 * the next import. The caller owns the client (and reads the simulator's counters after).
 */
export async function runTerraformPeer(
  ctx: BenchContext,
  client: ImsClient,
  o: PeerOptions,
): Promise<PeerImport[]> {
  const seen: PeerImport[] = []
  let next = 0
  let lastReport = Date.now()
  const lane = async () => {
    while (next < o.count) {
      const i = next++
      let jobId: string | undefined
      const postedAt = Date.now()
      for (let attempt = 0; jobId === undefined; attempt++) {
        try {
          ;({ jobId } = await client.quickImport(quickImportBody(i)))
        } catch (err) {
          if (attempt >= 5) throw err
          await sleep(o.backoffUnitMs * 2 ** attempt)
        }
      }
      await sleep(o.pollMs)
      for (;;) {
        const job = await client.getJob(jobId)
        if (job.status === 'SUCCESS' || job.status === 'FAIL') {
          seen.push({ jobId, postedAt, seenAt: Date.now(), failed: job.status === 'FAIL' })
          break
        }
        await sleep(o.pollMs)
      }
      if (Date.now() - lastReport > 30_000) {
        lastReport = Date.now()
        ctx.progress(`peer: ${seen.length}/${o.count} final`)
      }
    }
  }
  await Promise.all(Array.from({ length: o.parallelism }, lane))
  return seen
}
