export * from './redis-server.js'
export * from './unique.js'
