import { loadSimulatorConfig } from './config.js'
import { startSimulator } from './index.js'

// Wiring only: parse the environment once, start, stop on a signal.
const options = loadSimulatorConfig(process.env)
const sim = await startSimulator(options)
process.stdout.write(
  `ims-simulator listening on ${sim.url} (IAM at ${sim.url}/v3, control at ${sim.url}/__sim/)\n`,
)

let closing = false
const shutdown = (signal: string) => {
  if (closing) return
  closing = true
  process.stdout.write(`ims-simulator stopping on ${signal}\n`)
  const deadline = setTimeout(() => process.exit(1), 5000)
  deadline.unref()
  sim.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
