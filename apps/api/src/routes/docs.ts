import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import type { App } from '../types.js'

/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas (request and response), at
 * /openapi.json, and Swagger UI at /docs. Registered on the root instance, before the routes,
 * so the swagger plugin sees every route.
 */
export function registerDocs(app: App): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ims-importer intake API',
        version: '1.0.0',
        description:
          'Accepts IMS quick-import requests (the IMS body itself), records and queues them, and reports their state. Errors are application/problem+json (RFC 9457).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS' },
        },
      },
      tags: [
        { name: 'imports', description: 'Single imports' },
        { name: 'batches', description: 'Up to 1000 imports per request' },
        { name: 'health', description: 'Liveness, readiness, metrics' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  })
  app.register(swaggerUi, { routePrefix: '/docs' })
  app.register(async (scope) => {
    scope.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  })
}
