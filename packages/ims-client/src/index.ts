export { classifyError, ERROR_CODE_TABLE, type ImsErrorKind, normalizeErrorCode } from './error-classes.js'
export { createImsClient } from './ims-client.js'
export { ImsError, isImsError } from './ims-error.js'
export { canonicalQueryString, canonicalUri, encodeRfc3986, formatSdkDate, signRequest } from './signer.js'
export type {
  ImsAuth,
  ImsClient,
  ImsClientOptions,
  ImsImage,
  ImsJob,
  ImsOperation,
  ListImagesQuery,
  RequestOptions,
} from './types.js'
