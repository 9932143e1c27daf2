// The one table that classifies IMS, IAM and API-gateway failures (ims-api.md §2, §6).
// Every code of ims-error-codes.tsv has an explicit entry; test/classify.test.ts checks that.
// What each kind means for a caller:
//   throttled  -> rate-limit, then retry           transient -> retry with backoff
//   permanent  -> fail, fix the input/quota        auth      -> fail, never retry in a tight loop
//                                                              (>5 bad AK/SK attempts lock the AK for 5 min)
//   uncertain  -> the submit may have created an image: look it up by marker tag before resubmitting

/** How a failed IMS/IAM exchange should be handled; see ImsError. */
export type ImsErrorKind = 'throttled' | 'transient' | 'permanent' | 'auth' | 'uncertain'

type TableKind = Exclude<ImsErrorKind, 'uncertain'>
type Rule = TableKind | { byStatus: Readonly<Record<number, TableKind>>; otherwise: TableKind }

/**
 * IMS business codes, classified per ims-api.md §2: the listed P codes and every code the doc does
 * not call retryable are permanent; IMG.0060/0194 are flow control; the "T (limited attempts)"
 * codes are transient; token/project/role problems are auth; billing (0238..0242) is permanent.
 */
const IMG_CODES: Readonly<Record<string, TableKind>> = {
  'IMG.0001': 'permanent', // The request message format is invalid.
  'IMG.0002': 'permanent', // The image name contains more than 128 characters.
  'IMG.0003': 'permanent', // The image name format is invalid.
  'IMG.0004': 'permanent', // The description contains more than 1024 characters.
  'IMG.0005': 'permanent', // The ECS does not exist.
  'IMG.0006': 'permanent', // The ECS system disk cannot be used to create an image.
  'IMG.0007': 'permanent', // The request body is empty.
  'IMG.0008': 'permanent', // The ECS cannot be used to create images because it is not in stopped state.
  'IMG.0009': 'permanent', // The image name already exists.
  'IMG.0010': 'permanent', // The ECS cannot be used to create an image because it has in-progress tasks.
  'IMG.0011': 'permanent', // forceCreate must be set to true.
  'IMG.0012': 'permanent', // The ECS ID is not specified.
  'IMG.0013': 'permanent', // The image name is not specified.
  'IMG.0014': 'transient', // An exception occurred when IaaS OpenStack was executing the task.
  'IMG.0015': 'permanent', // The number of private images has reached the maximum allowed.
  'IMG.0016': 'permanent', // An error occurred when the request body was deleted.
  'IMG.0017': 'permanent', // The URL format is incorrect.
  'IMG.0018': 'transient', // An error occurred when the job was submitted.
  'IMG.0019': 'permanent', // The backup ID is not specified.
  'IMG.0020': 'permanent', // The backup does not exist.
  'IMG.0021': 'permanent', // The resource type is unknown.
  'IMG.0022': 'permanent', // The disk in the current state cannot be used to create images.
  'IMG.0023': 'transient', // An exception occurred during task query.
  'IMG.0024': 'permanent', // The image type in the request is incorrect.
  'IMG.0025': 'permanent', // The user type in the request is incorrect.
  'IMG.0026': 'auth', // The role is invalid. You need to apply for the required permissions or pass t...
  'IMG.0027': 'permanent', // The image ID in the request does not exist.
  'IMG.0028': 'permanent', // The image in the request is protected.
  'IMG.0029': 'permanent', // The backup in the request has already been used to create an image.
  'IMG.0030': 'auth', // The project ID and token in the request are invalid.
  'IMG.0031': 'permanent', // The resource ID in the request is incorrect.
  'IMG.0032': 'permanent', // The backup is unavailable.
  'IMG.0033': 'permanent', // The backup is not a system disk backup.
  'IMG.0034': 'permanent', // The number of images cannot be modified.
  'IMG.0035': 'permanent', // An attribute conflict occurred during the modification.
  'IMG.0036': 'permanent', // An error occurred when the value of asumeToken was obtained.
  'IMG.0037': 'permanent', // An error occurred in the AK/SK was obtained.
  'IMG.0038': 'permanent', // An error occurred when the bucket was created.
  'IMG.0039': 'permanent', // An error occurred when read and write permissions of the bucket were granted ...
  'IMG.0040': 'permanent', // An error occurred in the object storage address was obtained.
  'IMG.0041': 'permanent', // The authorized account is empty.
  'IMG.0045': 'permanent', // Failed to generate the image product code.
  'IMG.0046': 'permanent', // The image is unavailable.
  'IMG.0047': 'permanent', // This operation can be performed only by the image owner.
  'IMG.0053': 'permanent', // An error occurred when the domain information of the shadow account was obtai...
  'IMG.0054': 'permanent', // The image description format is invalid.
  'IMG.0055': 'permanent', // The memory or disk size is invalid.
  'IMG.0056': 'permanent', // Invalid OS version.
  'IMG.0057': 'permanent', // The image file is empty, not found, or in incorrect format, or you do not hav...
  'IMG.0058': 'permanent', // The region of the bucket where the image file is stored is inconsistent with ...
  'IMG.0059': 'permanent', // The size of the image file exceeds the maximum allowed.
  'IMG.0060': 'throttled', // The number of tasks exceeds the flow control limit.
  'IMG.0061': 'transient', // Unknown system error.
  'IMG.0062': 'permanent', // The image name is incorrect.
  'IMG.0063': 'permanent', // The VM type does not support image creation.
  'IMG.0064': 'transient', // Failed to obtain tenant information from IAM.
  'IMG.0065': 'transient', // Failed to obtain the tenant domain from IAM.
  'IMG.0066': 'permanent', // The image ID is incorrect.
  'IMG.0067': 'auth', // The project ID is incorrect.
  'IMG.0068': 'permanent', // The specified bucket name is empty.
  'IMG.0069': 'permanent', // The specified bucket cannot be accessed.
  'IMG.0070': 'permanent', // The image file already exists. Confirm the file in the corresponding director...
  'IMG.0071': 'permanent', // The image cannot be exported.
  'IMG.0072': 'permanent', // The specified image format is not supported.
  'IMG.0073': 'permanent', // The name of the exported file is empty.
  'IMG.0074': 'permanent', // The file name length exceeds the limit.
  'IMG.0075': 'permanent', // The file name contains invalid characters.
  'IMG.0076': 'permanent', // You cannot share an image with yourself.
  'IMG.0077': 'permanent', // The public image cannot be exported.
  'IMG.0079': 'permanent', // The system disk image created from a charged image cannot be exported.
  'IMG.0080': 'permanent', // The image created from a CSBS or CBR backup cannot be exported.
  'IMG.0081': 'permanent', // The image cannot be exported because it is created from an image file.
  'IMG.0083': 'permanent', // The image is a public image.
  'IMG.0084': 'permanent', // The image is a private image.
  'IMG.0085': 'permanent', // The publishing mode is incorrect.
  'IMG.0086': 'permanent', // No image was found.
  'IMG.0087': 'auth', // The token is incorrect.
  'IMG.0088': 'permanent', // The number of shared images has reached the maximum allowed.
  'IMG.0089': 'permanent', // The public image cannot be shared.
  'IMG.0090': 'permanent', // The image being created cannot be deleted.
  'IMG.0092': 'permanent', // The image can only be deleted by the owner.
  'IMG.0094': 'permanent', // The public image cannot be deleted.
  'IMG.0095': 'permanent', // The KMS key does not exist.
  'IMG.0096': 'permanent', // The specified KMS key ID must be different from the image key ID.
  'IMG.0097': 'permanent', // The key is not enabled.
  'IMG.0098': 'permanent', // The encrypted image cannot be shared.
  'IMG.0099': 'permanent', // You do not have the permission to access the key.
  'IMG.0100': 'permanent', // You do not have OBT permission for KMS.
  'IMG.0101': 'permanent', // The original key does not exist.
  'IMG.0102': 'permanent', // The original key is not enabled.
  'IMG.0103': 'permanent', // You do not have the permission to access the original key.
  'IMG.0104': 'permanent', // Enter the project name if there are multiple projects in the same region.
  'IMG.0105': 'permanent', // The operation is not supported.
  'IMG.0106': 'permanent', // The image owner is another tenant.
  'IMG.0108': 'permanent', // The tenant ID was not found in the current region.
  'IMG.0109': 'permanent', // The bucket name contains invalid characters.
  'IMG.0110': 'permanent', // The system disk is unavailable and cannot be used to create images.
  'IMG.0111': 'permanent', // The size of the system disk exceeds the maximum allowed.
  'IMG.0112': 'permanent', // Failed to add the tenant.
  'IMG.0113': 'permanent', // Failed to delete the tenant.
  'IMG.0114': 'permanent', // Failed to query the tenant details.
  'IMG.0115': 'permanent', // The image tag is invalid.
  'IMG.0116': 'permanent', // The number of image tags exceeds the quota.
  'IMG.0117': 'permanent', // The image source can only be BMS or ECS.
  'IMG.0118': 'permanent', // The BMS image does not support KMS encryption.
  'IMG.0119': 'permanent', // The VM does not have a system disk.
  'IMG.0120': 'permanent', // The specified data disk ID is unavailable.
  'IMG.0121': 'permanent', // The object cannot be found.
  'IMG.0122': 'permanent', // The OS type is invalid.
  'IMG.0123': 'permanent', // The image file address in the request is duplicate.
  'IMG.0125': 'permanent', // The data disk image cannot be converted to a public image.
  'IMG.0126': 'permanent', // The VM in the current stage cannot be used to create a full-ECS image.
  'IMG.0127': 'permanent', // The CSBS backup does not exist.
  'IMG.0128': 'permanent', // The full-ECS image cannot be exported.
  'IMG.0130': 'permanent', // The full-ECS image cannot be exported or replicated.
  'IMG.0132': 'permanent', // The CSBS backup in the current state cannot be used to create a full-ECS image.
  'IMG.0133': 'permanent', // You are not allowed to access the CSBS backup.
  'IMG.0134': 'permanent', // The CSBS backup has been registered as an image.
  'IMG.0135': 'permanent', // The full-ECS image cannot be shared.
  'IMG.0136': 'permanent', // Failed to create a full-ECS image because the ECS is being backed up.
  'IMG.0137': 'permanent', // Failed to obtain the VM information.
  'IMG.0138': 'permanent', // Failed to obtain the OS type information.
  'IMG.0139': 'permanent', // Other disks on the VM are being used to created VMs.
  'IMG.0140': 'permanent', // The disks in the request come from different ECSs.
  'IMG.0141': 'permanent', // The value of hw_firmware_type is not uefi or bios.
  'IMG.0144': 'permanent', // The image does not exist.
  'IMG.0145': 'permanent', // The project name is incorrect.
  'IMG.0148': 'permanent', // The image is being exported.
  'IMG.0153': 'permanent', // DESS or DSS disks cannot be used to create images.
  'IMG.0154': 'transient', // Failed to communicate with Enterprise Project Management Service (EPS).
  'IMG.0155': 'transient', // Failed to check the enterprise project ID validity.
  'IMG.0156': 'transient', // Failed to associate the image with the enterprise project ID.
  'IMG.0160': 'permanent', // Only images less than 128 GB can be exported.
  'IMG.0161': 'permanent', // You do not have permission.
  'IMG.0162': 'permanent', // The value contains a maximum of 12 characters that consist of letters and spa...
  'IMG.0163': 'permanent', // This image cannot be titled by vendors. Only images running a Windows OS boot...
  'IMG.0164': 'permanent', // Failed to create an image because the spot ECS is being reclaimed.
  'IMG.0165': 'permanent', // You do not have permission to access the CSBS backup.
  'IMG.0166': 'permanent', // OS information must be contained in the ISO files used to create images.
  'IMG.0167': 'permanent', // This operation cannot be performed for ISO images.
  'IMG.0168': 'permanent', // Data disk images cannot be updated.
  'IMG.0169': 'permanent', // Failed to update the image because the OS versions are different.
  'IMG.0170': 'permanent', // Failed to update the image because the image formats are different.
  'IMG.0171': 'permanent', // Failed to update the image because the minimum disk space is less than that o...
  'IMG.0172': 'permanent', // Failed to update the image because the minimum memory is less than that of th...
  'IMG.0173': 'permanent', // Failed to update the image because the image environment types are different.
  'IMG.0174': 'permanent', // Failed to update the image because the name of the source image is different ...
  'IMG.0175': 'permanent', // The folder name and image file name cannot contain spaces.
  'IMG.0176': 'permanent', // Failed to delete the full-ECS backup.
  'IMG.0177': 'permanent', // The source and target tenants reside in different regions.
  'IMG.0178': 'permanent', // The target tenant is the same as the source tenant.
  'IMG.0179': 'permanent', // The token of the source image agency is invalid.
  'IMG.0180': 'permanent', // CBR does not support full-ECS image creation.
  'IMG.0181': 'permanent', // Failed to obtain ECSs that can be protected.
  'IMG.0182': 'permanent', // Insufficient vault capacity. Please expand the capacity.
  'IMG.0183': 'permanent', // The ECS can only be associated with one vault.
  'IMG.0184': 'permanent', // Failed to obtain the vault.
  'IMG.0185': 'permanent', // The number of ECSs associated with the vault has reached the upper limit.
  'IMG.0186': 'permanent', // The ECS is associated with the CSBS service.
  'IMG.0187': 'transient', // KMS access traffic has reached the upper limit.
  'IMG.0188': 'permanent', // Vault is unavailable.
  'IMG.0189': 'permanent', // The target CBR vault does not support image replication.
  'IMG.0190': 'permanent', // Full-ECS images can be created only from CBR backups.
  'IMG.0191': 'permanent', // Failed to query ECS flavors.
  'IMG.0192': 'permanent', // The flavor used to query images is invalid.
  'IMG.0193': 'permanent', // The vault is not a cloud server backup vault.
  'IMG.0194': 'throttled', // The maximum number of images that can be imported at one time has been reached.
  'IMG.0195': 'permanent', // Full-ECS images created from CBR backups must contain an OS.
  'IMG.0196': 'permanent', // The image cannot be replicated because it is not accepted by the recipient.
  'IMG.0197': 'permanent', // Failed to replicate the shared image because it is encrypted using KMS.
  'IMG.0198': 'permanent', // Backup ID does not match the backup type or does not exist.
  'IMG.0212': 'permanent', // The value of Architecture must be x86 or Arm.
  'IMG.0238': 'permanent', // Not real-name authentication.
  'IMG.0239': 'permanent', // Insufficient balance.
  'IMG.0241': 'permanent', // Incomplete payment information.
  'IMG.0242': 'permanent', // Insufficient budget of enterprise department.
  'IMG.1075': 'permanent', // Failed to register the image file.
}

/** API gateway codes (OTC `APIG.`; HWC's `APIGW.` prefix is normalised to `APIG.`). */
const GATEWAY_CODES: Readonly<Record<string, Rule>> = {
  'APIG.0308': 'throttled', // 429 throttling threshold reached
  // 502/504 backend unavailable or timed out; 413/414/494 body, URI or headers too large
  'APIG.0201': { byStatus: { 413: 'permanent', 414: 'permanent', 494: 'permanent' }, otherwise: 'transient' },
  'APIG.0613': 'transient', // 503 IAM unavailable
  'APIG.0601': 'transient', // 500 gateway internal error
  'APIG.0307': 'auth', // 401 the token must be updated (the client refreshes once before reporting it)
  'APIG.0301': 'auth', // 401 bad signature, AK/SK mismatch, expired token or AK locked
  'APIG.0303': 'auth', // 401 app auth incorrect, incl. "signature expired" (clock skew > 15 min)
  'APIG.0302': 'auth', // 403 IAM user not authorised for the API
  'APIG.0306': 'auth', // 403 API access denied
  'APIG.0402': 'permanent', // 403 blocked by an access-control policy (e.g. IP)
}

/** Every classified code, for tests and documentation. */
export const ERROR_CODE_TABLE: Readonly<Record<string, Rule>> = { ...IMG_CODES, ...GATEWAY_CODES }

/**
 * Why a failure happened, where a caller acts on it beyond its kind. `quota`: IMG.0015, the
 * private-image quota is reached (kind `permanent` for this request: it will not pass until images
 * are deleted or the quota is raised, but nothing is wrong with the import itself, so a caller can
 * hold its imports instead of failing them). A reason, not a new kind, so that every switch over
 * ImsErrorKind stays exhaustive.
 */
export type ImsErrorReason = 'quota'

const REASON_CODES: Readonly<Record<string, ImsErrorReason>> = {
  'IMG.0015': 'quota', // The number of private images has reached the maximum allowed.
}

/** The reason of an error code (see ImsErrorReason), or null. */
export function errorReason(code: string | null): ImsErrorReason | null {
  return code === null ? null : (REASON_CODES[normalizeErrorCode(code)] ?? null)
}

/** HTTP status fallbacks, used when the body carries no known code. */
const STATUS_FALLBACK: Readonly<Record<number, TableKind>> = {
  401: 'auth',
  403: 'auth',
  407: 'auth',
  408: 'transient',
  429: 'throttled',
  500: 'transient',
  502: 'transient',
  503: 'transient',
  504: 'transient',
}

/** `APIGW.0308` (Huawei Cloud) -> `APIG.0308`; other codes unchanged. */
export function normalizeErrorCode(code: string): string {
  return code.startsWith('APIGW.') ? `APIG.${code.slice('APIGW.'.length)}` : code
}

/**
 * Classifies a failed exchange by its error code, else by HTTP status. `status` null (no response at
 * all) is transient; whether such a failure makes a submit `uncertain` is the client's decision, not
 * this table's (it depends on whether the request had been sent).
 */
export function classifyError(status: number | null, code: string | null): ImsErrorKind {
  const rule = code === null ? undefined : ERROR_CODE_TABLE[normalizeErrorCode(code)]
  if (rule !== undefined) {
    if (typeof rule === 'string') return rule
    return (status !== null ? rule.byStatus[status] : undefined) ?? rule.otherwise
  }
  if (status === null) return 'transient'
  return (
    STATUS_FALLBACK[status] ?? (status >= 500 && status !== 501 && status !== 505 ? 'transient' : 'permanent')
  )
}

/**
 * Answers to the quick-import POST that say nothing about whether IMS created the job: a gateway
 * timeout (the backend got the request and may have acted on it) and IMG.0018 ("error submitting
 * the job"; §7: a job may or may not exist). A retry could create a second image, so these are
 * `uncertain` for the submit instead of their table class.
 */
export function isUncertainSubmitAnswer(status: number | null, code: string | null): boolean {
  return status === 504 || (code !== null && normalizeErrorCode(code) === 'IMG.0018')
}

/** With token auth, these mean "get a new token and try once more" (§2, §4a). */
export function isTokenRefreshAnswer(
  status: number | null,
  code: string | null,
  message: string | null,
): boolean {
  const c = code === null ? null : normalizeErrorCode(code)
  if (c === 'APIG.0307' || c === 'IMG.0030' || c === 'IMG.0087') return true
  if (message !== null && /token must be updated/i.test(message)) return true
  return status === 401 && c !== 'APIG.0303'
}
