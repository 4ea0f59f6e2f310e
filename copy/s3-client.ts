import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Settings } from './destinations/destination.js';

const FALLBACK_REGION = 'us-east-1';

let resolvedRegion: Promise<string> | undefined;

/**
 * Region from the SDK's default chain (AWS_REGION, the shared config file), or us-east-1 when
 * none is configured, so that a local S3-compatible endpoint works without any AWS setup.
 * A client without a region is the only public way to run that chain; it makes no requests.
 */
export function regionFromDefaultChain(): Promise<string> {
  resolvedRegion ??= (async () => {
    const probe = new S3Client({});
    try {
      return await probe.config.region();
    } catch {
      return FALLBACK_REGION;
    } finally {
      probe.destroy();
    }
  })();
  return resolvedRegion;
}

/**
 * The S3 client colony reads and writes with. The SDK's flexible checksums are computed only
 * where an operation requires them: by default it sends streamed bodies aws-chunked with a
 * trailing checksum, which S3-compatible stores such as s3rver store framing and all, and a
 * ranged read has no whole-object checksum to validate. colony verifies bytes itself (Content-MD5
 * on upload, byte counts and MD5 on copy).
 */
export function createS3Client(o: {
  settings?: S3Settings | undefined;
  credentials?: S3ClientConfig['credentials'];
  requestHandler?: S3ClientConfig['requestHandler'];
}): S3Client {
  return new S3Client({
    region: regionFromDefaultChain,
    endpoint: o.settings?.endpoint,
    forcePathStyle: o.settings?.forcePathStyle ?? false,
    credentials: o.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(o.requestHandler ? { requestHandler: o.requestHandler } : {}),
  });
}
