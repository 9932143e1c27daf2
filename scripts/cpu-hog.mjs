#!/usr/bin/env node
// A CPU hog bounded in time, to run the test suite on a loaded machine:
//   node scripts/cpu-hog.mjs --seconds 300 --workers 4
// starts N worker threads that spin until the time is up (or SIGINT/SIGTERM), then exits. Linux
// counts every runnable thread in the load average, so N spinning threads keep it at N or more.
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { isMainThread, Worker, workerData } from 'node:worker_threads'

if (!isMainThread) {
  // Spin until the deadline, looking at the clock every million iterations; then the thread ends.
  let x = 0
  while (Date.now() < workerData.until) for (let i = 0; i < 1_000_000; i++) x = (x * 31 + i) | 0
} else {
  main()
}

function main() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '300' },
      workers: { type: 'string', default: '4' },
      'report-every': { type: 'string', default: '30' },
    },
  })
  const seconds = Number(values.seconds)
  const workers = Number(values.workers)
  const reportEvery = Number(values['report-every'])
  if (!(seconds > 0) || !Number.isInteger(workers) || workers < 1 || !(reportEvery > 0)) {
    process.stderr.write(
      'usage: node scripts/cpu-hog.mjs [--seconds 300] [--workers 4] [--report-every 30]\n',
    )
    process.exit(2)
  }

  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')
  const until = Date.now() + seconds * 1000
  process.stdout.write(
    `cpu-hog: ${workers} busy worker threads for ${seconds} s on ${cpus().length} cores (pid ${process.pid}), ` +
      `until ${new Date(until).toISOString()}; stops by itself, or on SIGINT/SIGTERM. Load average now ${load()}\n`,
  )
  const threads = Array.from(
    { length: workers },
    () => new Worker(new URL(import.meta.url), { workerData: { until } }),
  )
  for (const t of threads) t.on('error', (err) => process.stderr.write(`cpu-hog: thread error: ${err}\n`))

  const report = setInterval(
    () => process.stdout.write(`cpu-hog: load average ${load()}\n`),
    reportEvery * 1000,
  )
  const stop = async (why) => {
    clearInterval(report)
    clearTimeout(timer)
    await Promise.all(threads.map((t) => t.terminate()))
    process.stdout.write(`cpu-hog: stopped (${why}); load average ${load()}\n`)
    process.exit(0)
  }
  const timer = setTimeout(() => void stop('time is up'), seconds * 1000 + 50)
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
}
