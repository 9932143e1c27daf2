import { expect } from 'vitest'
import { ImsError } from '../src/index.js'

/** The ImsError a promise rejects with (the test fails if it resolves or rejects otherwise). */
export async function caught(promise: Promise<unknown>): Promise<ImsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ImsError)
  return err as ImsError
}
