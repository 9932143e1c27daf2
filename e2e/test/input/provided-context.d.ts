// The global setup (packages/core/src/testing/global-setup.ts) provides this value.
import 'vitest'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
  }
}
