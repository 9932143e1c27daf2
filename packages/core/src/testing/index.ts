export * from './namespace.js'
export * from './redis-keys.js'
export * from './redis-server.js'
export * from './unique.js'
