import { SIMULATOR_DEFAULTS } from '@ims-importer/core'
import type { ImsAuth } from '../src/index.js'

// The simulator's default credentials, as the client's tests authenticate with them.

const { username, password, domainName, obsAk, obsSk } = SIMULATOR_DEFAULTS

/** The simulator's default AK/SK pair (for IMS and its OBS alike). */
export const SIM_AKSK = { ak: obsAk, sk: obsSk }
export const SIM_AKSK_AUTH = { type: 'aksk', ...SIM_AKSK } satisfies ImsAuth
/** The simulator's default IAM user. */
export const SIM_TOKEN_AUTH = { type: 'token', username, password, domainName } satisfies ImsAuth
