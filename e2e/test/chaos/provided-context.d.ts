// The global setups (core's global-setup.ts; src/chaos/results-setup.ts in pnpm test:chaos) provide these.
import 'vitest'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
    chaosResultsFile: string | undefined
  }
}
