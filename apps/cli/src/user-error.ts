/** A mistake the user can fix (bad argument, missing file, missing key): printed as one line, no stack. */
export class UserError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UserError'
  }
}
