import { Validator } from '@seriousme/openapi-schema-validator'
import { describe, expect, it } from 'vitest'
import { useTestApi } from './helpers.js'

const api = useTestApi()

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document with every route, its request and response schemas', async () => {
    const res = await api.app.inject({ url: '/openapi.json' })
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.openapi).toMatch(/^3\.1\./)
    const validator = new Validator()
    const result = await validator.validate(doc)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)

    const routes: [string, string][] = [
      ['post', '/v1/imports'],
      ['get', '/v1/imports'],
      ['get', '/v1/imports/{id}'],
      ['post', '/v1/imports/{id}/cancel'],
      ['post', '/v1/batches'],
      ['get', '/v1/batches/{id}'],
      ['get', '/livez'],
      ['get', '/readyz'],
      ['get', '/metrics'],
    ]
    for (const [method, path] of routes) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined()

    const post = doc.paths['/v1/imports'].post
    expect(post.requestBody.content['application/json'].schema).toBeDefined()
    expect(Object.keys(post.responses)).toEqual(
      expect.arrayContaining(['202', '400', '401', '409', '413', '415', '422', '429', '503']),
    )
    expect(doc.components.schemas.ImportRequest).toBeDefined()
    expect(JSON.stringify(doc.components.schemas.ImportRequest)).toContain('callback_url')
    expect(JSON.stringify(doc.components.schemas.ImportRequest)).toContain('os_version')
    expect(doc.components.schemas.Import.properties.ims).toBeDefined()
    expect(doc.components.schemas.Problem.properties.errors).toBeDefined()
    expect(doc.paths['/v1/imports'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['status', 'target', 'external_id', 'batch_id', 'limit', 'cursor']),
    )
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' })
  })

  it('serves Swagger UI at /docs', async () => {
    const res = await api.app.inject({ url: '/docs/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
    expect(res.body).toContain('swagger')
  })
})
