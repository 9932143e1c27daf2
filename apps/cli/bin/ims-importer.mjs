#!/usr/bin/env node
// Runs src/main.ts through tsx in this same process (no wrapper process: a signal sent to this
// pid reaches the CLI itself).
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
