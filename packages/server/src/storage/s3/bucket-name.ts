/**
 * S3's bucket naming rules, checked before a name is used anywhere: in an S3 request, in a log line, and above all
 * on s3fs's command line, where `-obucket=etc,use_cache=/` would be read as options by a process that runs as
 * root on the host. A name that breaks a rule is refused with a 400 that names it and the rule.
 */
import { BurrowError } from '@burrow/protocol';

const ALLOWED = /^[a-z0-9.-]+$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Why `name` is not a valid S3 bucket name, or undefined when it is one. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'it must be 3 to 63 characters long';
  if (!ALLOWED.test(name)) return 'it may hold only lowercase letters, digits, dots and hyphens';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name))
    return 'it must begin and end with a letter or a digit';
  if (name.includes('..')) return 'it may not hold two dots in a row';
  if (IPV4.test(name)) return 'it may not look like an IP address';
  const prefix = RESERVED_PREFIXES.find((reserved) => name.startsWith(reserved));
  if (prefix !== undefined) return `it may not start with "${prefix}" (reserved)`;
  const suffix = RESERVED_SUFFIXES.find((reserved) => name.endsWith(reserved));
  if (suffix !== undefined) return `it may not end with "${suffix}" (reserved)`;
  return undefined;
}

/** Throws a 400 naming the bucket and the broken rule. */
export function checkBucketName(name: string, field = 'bucket'): string {
  const problem = bucketNameProblem(name);
  if (problem !== undefined) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `${field}: ${JSON.stringify(name)} is not a valid S3 bucket name: ${problem}`,
      { field, bucket: name },
    );
  }
  return name;
}
