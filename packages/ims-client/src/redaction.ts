// Scrubs credentials out of text that reaches an error message. Server messages are echoed into
// ImsError messages, and a misbehaving proxy could echo a request header back.

const SIGNATURE = /Signature=[0-9a-fA-F]+/g
const MIN_SECRET_LENGTH = 4

export interface Redactor {
  add(secret: string | undefined): void
  redact(text: string): string
}

export function createRedactor(maxTokens = 8): Redactor {
  const secrets: string[] = []
  return {
    add(secret) {
      if (secret === undefined || secret.length < MIN_SECRET_LENGTH || secrets.includes(secret)) return
      secrets.push(secret)
      // Tokens keep coming; remember only the recent ones (older ones are expired anyway).
      if (secrets.length > maxTokens + 3) secrets.splice(3, 1)
    },
    redact(text) {
      let out = text.replace(SIGNATURE, 'Signature=[redacted]')
      for (const secret of secrets) out = out.split(secret).join('[redacted]')
      return out
    },
  }
}
