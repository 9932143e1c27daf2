export { IMS_BODY_ERRORS, type ImsBodyErrorCode } from './ims-codes.js'
export { withMarkerTag } from './marker-tag.js'
export { OS_VERSIONS, suggestOsVersions } from './os-versions.js'
export { PAGE_EXAMPLE_TITLES, PAGE_EXAMPLES } from './page-examples.js'
export {
  type Cloud,
  DataDiskImport,
  HwcQuickImportRequest,
  HwcSystemDiskImport,
  QuickImportRequest,
  SystemDiskImport,
} from './schema.js'
export { MAX_CALLER_TAGS } from './tags.js'
export {
  formatPath,
  type QuickImportValidation,
  type QuickImportValidationOptions,
  type ValidationIssue,
  validateQuickImport,
} from './validate.js'
