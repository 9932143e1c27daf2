// The little of esdk-obs-nodejs (no bundled types) that test/obs.test.ts uses.
declare module 'esdk-obs-nodejs' {
  interface ObsResult {
    CommonMsg: { Status: number; Code?: string; Message?: string }
    InterfaceResult: Record<string, string | undefined>
  }
  export default class ObsClient {
    constructor(options: Record<string, unknown>)
    getObjectMetadata(params: { Bucket: string; Key: string }): Promise<ObsResult>
    getBucketLocation(params: { Bucket: string }): Promise<ObsResult>
    close(): void
  }
}
