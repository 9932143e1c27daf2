/**
 * The IMS error codes a quick-import body can earn before IMS does any work, with their text
 * from the IMS "Error Codes" page (every one is HTTP 400). Only codes this package assigns.
 */
export const IMS_BODY_ERRORS = {
  'IMG.0001': 'The request message format is invalid.',
  'IMG.0002': 'The image name contains more than 128 characters.',
  'IMG.0003': 'The image name format is invalid.',
  'IMG.0004': 'The description contains more than 1024 characters.',
  'IMG.0007': 'The request body is empty.',
  'IMG.0013': 'The image name is not specified.',
  'IMG.0024': 'The image type in the request is incorrect.',
  'IMG.0054': 'The image description format is invalid.',
  'IMG.0055': 'The memory or disk size is invalid.',
  'IMG.0056': 'Invalid OS version.',
  'IMG.0057':
    'The image file is empty, not found, or in incorrect format, or you do not have enough permission to access the file.',
  'IMG.0068': 'The specified bucket name is empty.',
  'IMG.0072': 'The specified image format is not supported.',
  'IMG.0075': 'The file name contains invalid characters.',
  'IMG.0109': 'The bucket name contains invalid characters.',
  'IMG.0115': 'The image tag is invalid.',
  'IMG.0116': 'The number of image tags exceeds the quota.',
  'IMG.0122': 'The OS type is invalid.',
  'IMG.0141': 'The value of hw_firmware_type is not uefi or bios.',
  'IMG.0175': 'The folder name and image file name cannot contain spaces.',
  'IMG.0212': 'The value of Architecture must be x86 or Arm.',
} as const

export type ImsBodyErrorCode = keyof typeof IMS_BODY_ERRORS
