import { randomBytes } from 'node:crypto'
import {
  checkSignature,
  headerValue,
  parseAuthorization,
  parseSdkDate,
  type ReceivedRequest,
} from './aksk-verifier.js'
import type { SimulatorSettings } from './options.js'

/** How far X-Sdk-Date may be from the gateway clock (APIG.0303 beyond). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000
/** More than this many consecutive AK/SK failures lock the AK. */
export const MAX_CONSECUTIVE_FAILURES = 5
export const LOCKOUT_MS = 5 * 60 * 1000

export interface IssuedToken {
  userName: string
  domain: string
  projectId: string
  issuedAt: number
  expiresAt: number
}

export type AuthOutcome =
  | { ok: true }
  | { ok: false; code: 'APIG.0301' | 'APIG.0303' | 'APIG.0307'; message: string }

/** Gateway authentication: IAM tokens issued by this simulator, and AK/SK signatures with lockout. */
export interface Authenticator {
  issueToken(userName: string, domain: string, now: number): { token: string; issued: IssuedToken }
  check(req: ReceivedRequest, pathProjectId: string | null, now: number): AuthOutcome
  /** Forgets AK failure counts and lockouts (tokens stay valid). */
  clearLockouts(): void
}

const fail = (code: 'APIG.0301' | 'APIG.0303' | 'APIG.0307', message: string): AuthOutcome => ({
  ok: false,
  code,
  message,
})

export function createAuthenticator(settings: SimulatorSettings): Authenticator {
  const tokens = new Map<string, IssuedToken>()
  const akState = new Map<string, { failures: number; lockedUntil: number }>()

  const recordFailure = (ak: string, now: number) => {
    const state = akState.get(ak) ?? { failures: 0, lockedUntil: 0 }
    state.failures += 1
    if (state.failures > MAX_CONSECUTIVE_FAILURES) {
      state.lockedUntil = now + LOCKOUT_MS
      state.failures = 0
    }
    akState.set(ak, state)
  }

  const checkToken = (
    token: string,
    pathProjectId: string | null,
    projectHeader: string | undefined,
    now: number,
  ) => {
    const issued = tokens.get(token)
    if (!issued) return fail('APIG.0301', 'Incorrect IAM authentication information: token invalid')
    if (now >= issued.expiresAt) return fail('APIG.0307', 'The token must be updated.')
    if (pathProjectId !== null && pathProjectId !== issued.projectId) {
      return fail('APIG.0301', 'Incorrect IAM authentication information: project mismatch')
    }
    if (projectHeader !== undefined && projectHeader !== issued.projectId) {
      return fail('APIG.0301', 'Incorrect IAM authentication information: project mismatch')
    }
    return { ok: true } as const
  }

  const checkAkSk = (req: ReceivedRequest, pathProjectId: string | null, now: number): AuthOutcome => {
    const auth = parseAuthorization(headerValue(req.headers, 'authorization'))
    if (!auth)
      return fail('APIG.0301', 'Incorrect IAM authentication information: Authorization format invalid')
    const credential = settings.credentials.find((c) => c.ak === auth.access)
    if (!credential) return fail('APIG.0301', 'Incorrect IAM authentication information: AK not found')
    const state = akState.get(auth.access)
    if (state && now < state.lockedUntil) {
      return fail('APIG.0301', 'Incorrect IAM authentication information: AK locked after repeated failures')
    }
    const date = parseSdkDate(headerValue(req.headers, 'x-sdk-date'))
    if (date === null) {
      recordFailure(auth.access, now)
      return fail('APIG.0301', 'Incorrect IAM authentication information: X-Sdk-Date missing or invalid')
    }
    if (Math.abs(now - date) > MAX_CLOCK_SKEW_MS) {
      recordFailure(auth.access, now)
      return fail('APIG.0303', 'Incorrect app authentication information: signature expired')
    }
    const result = checkSignature(req, auth, credential.sk)
    if (result !== 'ok') {
      recordFailure(auth.access, now)
      return fail('APIG.0301', 'Incorrect IAM authentication information: verify aksk signature fail')
    }
    akState.delete(auth.access)
    const projectHeader = headerValue(req.headers, 'x-project-id')
    if (projectHeader !== undefined && projectHeader !== settings.projectId) {
      return fail('APIG.0301', 'Incorrect IAM authentication information: project mismatch')
    }
    if (pathProjectId !== null && pathProjectId !== settings.projectId) {
      return fail('APIG.0301', 'Incorrect IAM authentication information: project mismatch')
    }
    return { ok: true }
  }

  return {
    issueToken(userName, domain, now) {
      // Real tokens are long opaque strings starting "MII"; these only have to be unguessable.
      const token = `MIIsim${randomBytes(48).toString('base64url')}`
      const issued: IssuedToken = {
        userName,
        domain,
        projectId: settings.projectId,
        issuedAt: now,
        expiresAt: now + settings.tokenTtlMs,
      }
      tokens.set(token, issued)
      return { token, issued }
    },
    check(req, pathProjectId, now) {
      const token = headerValue(req.headers, 'x-auth-token')
      if (token !== undefined) {
        return checkToken(token, pathProjectId, headerValue(req.headers, 'x-project-id'), now)
      }
      if (headerValue(req.headers, 'authorization') !== undefined) return checkAkSk(req, pathProjectId, now)
      return fail('APIG.0301', 'Incorrect IAM authentication information: no credentials in the request')
    },
    clearLockouts: () => akState.clear(),
  }
}
