import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { Authenticator } from '../auth.js'
import { gatewayBody } from '../error-bodies.js'
import { type Gateway, rawBody } from '../gateway.js'
import type { SimulatorSettings } from '../options.js'

/** The part of a v3 password-auth body IAM looks at (ims-api.md §4a). */
const PasswordAuthBody = z.object({
  auth: z.object({
    identity: z.object({
      methods: z.array(z.string()).refine((m) => m.includes('password')),
      password: z.object({
        user: z.object({
          name: z.string(),
          password: z.string(),
          domain: z.object({ name: z.string().optional(), id: z.string().optional() }),
        }),
      }),
    }),
    scope: z.object({
      project: z.object({ id: z.string().optional(), name: z.string().optional() }),
    }),
  }),
})

export interface IamRouteDeps {
  settings: SimulatorSettings
  auth: Authenticator
  gateway: Gateway
}

const domainId = (domain: string) => `${domain}-id`

function nocatalogAsked(url: string): boolean {
  const q = url.indexOf('?')
  return q >= 0 && new URLSearchParams(url.slice(q + 1)).get('nocatalog')?.toLowerCase() === 'true'
}

/** The services this simulator plays, as a Keystone-style catalog pointing back at itself. */
function catalogFor(request: FastifyRequest, settings: SimulatorSettings) {
  const base = `${request.protocol}://${request.headers.host ?? 'localhost'}`
  const endpoint = (id: string, url: string) => ({
    id,
    interface: 'public',
    region: settings.region,
    region_id: settings.region,
    url,
  })
  return [
    { id: 'sim-ims', type: 'image', name: 'ims', endpoints: [endpoint('sim-ims-public', base)] },
    { id: 'sim-iam', type: 'identity', name: 'iam', endpoints: [endpoint('sim-iam-public', `${base}/v3`)] },
  ]
}

export function registerIamRoutes(app: FastifyInstance, deps: IamRouteDeps): void {
  const { settings, auth, gateway } = deps
  app.post('/v3/auth/tokens', gateway.forOperation('auth'), async (request, reply) => {
    let json: unknown
    try {
      json = JSON.parse(rawBody(request)?.toString('utf8') ?? '')
    } catch {
      return gateway.respond(
        request,
        reply,
        400,
        gatewayBody('IAM.0001', 'The request body is invalid.', request.id),
      )
    }
    const parsed = PasswordAuthBody.safeParse(json)
    if (!parsed.success) {
      return gateway.respond(
        request,
        reply,
        400,
        gatewayBody('IAM.0001', 'The request body is invalid.', request.id),
      )
    }
    const { user } = parsed.data.auth.identity.password
    const { project } = parsed.data.auth.scope
    const known = settings.users.find(
      (u) =>
        u.name === user.name &&
        u.password === user.password &&
        (user.domain.name === u.domain || user.domain.id === domainId(u.domain)),
    )
    const projectOk =
      project.id === settings.projectId || (project.id === undefined && project.name === settings.projectName)
    if (!known || !projectOk) {
      return gateway.respond(
        request,
        reply,
        401,
        gatewayBody(
          'APIG.0301',
          'Incorrect IAM authentication information: the username or password is wrong.',
          request.id,
        ),
      )
    }
    const { token, issued } = auth.issueToken(known.name, known.domain, Date.now())
    const domain = { id: domainId(known.domain), name: known.domain }
    reply.header('x-subject-token', token)
    const body: Record<string, unknown> = {
      expires_at: new Date(issued.expiresAt).toISOString(),
      issued_at: new Date(issued.issuedAt).toISOString(),
      methods: ['password'],
      project: { id: settings.projectId, name: settings.projectName, domain },
      user: { id: `${known.name}-id`, name: known.name, domain, password_expires_at: '' },
      roles: [{ id: 'sim-role-te-admin', name: 'te_admin' }],
    }
    // IAM leaves the catalog out when asked `?nocatalog=true`; 'empty' (the default) keeps the
    // simulator's earlier answer, an empty catalog either way.
    const omit = settings.iamCatalog === 'faithful' && nocatalogAsked(request.raw.url ?? request.url)
    if (!omit) body.catalog = settings.iamCatalog === 'faithful' ? catalogFor(request, settings) : []
    return gateway.respond(request, reply, 201, { token: body })
  })
}
