export {
  classifyError,
  ERROR_CODE_TABLE,
  errorReason,
  type ImsErrorKind,
  type ImsErrorReason,
  normalizeErrorCode,
} from './error-classes.js'
export { createImsClient } from './ims-client.js'
export { ImsError, isImageQuotaError, isImsError } from './ims-error.js'
export {
  createObsClient,
  isObsError,
  type ObsAbsent,
  type ObsBucketLocation,
  type ObsBucketStorageClass,
  type ObsClient,
  type ObsClientOptions,
  ObsError,
  type ObsErrorKind,
  type ObsObjectHead,
} from './obs-client.js'
export { type ObsCredentials, obsEncodeKey, obsStringToSign, signObsRequest } from './obs-signer.js'
export { canonicalQueryString, canonicalUri, encodeRfc3986, formatSdkDate, signRequest } from './signer.js'
export type {
  ImsAuth,
  ImsClient,
  ImsClientOptions,
  ImsImage,
  ImsImageQuota,
  ImsJob,
  ImsOperation,
  ListImagesQuery,
  RequestOptions,
} from './types.js'
