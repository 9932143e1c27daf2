export * from './client.js'
export * from './errors.js'
export * from './retry.js'
export * from './types.js'
