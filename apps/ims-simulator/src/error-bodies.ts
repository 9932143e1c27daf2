import type { FastifyReply, FastifyRequest } from 'fastify'
import { IMS_ERROR_CODES } from './data/ims-error-codes.js'

/** An IMS business error: `{"error":{"code":"IMG.xxxx","message":"..."}}` with the documented status. */
export interface ImsFailure {
  status: number
  body: { error: { code: string; message: string } }
}

/** The documented status and message of an IMG code; unknown codes answer 400 with a generic message. */
export function imsFailure(code: string): ImsFailure {
  const known = IMS_ERROR_CODES[code]
  return {
    status: known?.status ?? 400,
    body: { error: { code, message: known?.message ?? 'Unknown system error.' } },
  }
}

/** The gateway / IAM error body: `{"error_code","error_msg","request_id"}`. */
export function gatewayBody(code: string, message: string, requestId: string) {
  return { error_code: code, error_msg: message, request_id: requestId }
}

/** The gateway's 404 for a path it does not route (APIG.0101). */
export function sendApiNotFound(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .code(404)
    .send(
      gatewayBody(
        'APIG.0101',
        'The API does not exist or has not been published in the environment',
        request.id,
      ),
    )
}
