import type { ImsAuth } from '../src/index.js'

// The simulator's default credentials (its DEFAULT_CREDENTIALS and DEFAULT_USER), written out here
// rather than imported: the client's tests judge it against the simulator as a stranger would.

/** The simulator's default AK/SK pair. */
export const SIM_AKSK = { ak: 'SIMAK0000000000000001', sk: 'sim-secret-key' }

/** The simulator's default IAM user as the client's token auth. */
export const SIM_TOKEN_AUTH = {
  type: 'token',
  username: 'sim-user',
  password: 'sim-password',
  domainName: 'sim-domain',
} satisfies ImsAuth

export const SIM_AKSK_AUTH = { type: 'aksk', ...SIM_AKSK } satisfies ImsAuth
