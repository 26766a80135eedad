/** S3-compatible object storage (Tigris by default): the stack's backup bucket, over the one HTTP client. */
export { S3Bucket, s3BucketProvider, BUCKET_MARKER_KEY, type S3BucketArgs } from "./resources/bucket";
export { S3Client, type S3ClientOptions } from "./api/client";
export { endpointProblem, s3Defaults, setS3ClientTuning, type S3ConnectionInputs } from "./api/connection";
export { parseObjectList, xmlDecode, xmlValue, xmlValues, type S3Object } from "./api/xml";
