import type { ImsClient } from '@ims-importer/ims-client'

/** An IMS job as the simulator ran it (epoch ms): begin_time and end_time. */
export interface JobTimes {
  beginMs: number
  endMs: number
}

/** begin_time and end_time of each ended job, read through the IMS API (16 at a time). */
export async function jobTimes(client: ImsClient, jobIds: string[]): Promise<Map<string, JobTimes>> {
  const out = new Map<string, JobTimes>()
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < jobIds.length) {
        const id = jobIds[next++] as string
        const job = await client.getJob(id)
        if (job.begin_time && job.end_time)
          out.set(id, { beginMs: Date.parse(job.begin_time), endMs: Date.parse(job.end_time) })
      }
    }),
  )
  return out
}
