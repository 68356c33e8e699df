export type Partition = "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b" | "aws-iso-e" | "aws-iso-f";

// The partition of a region follows from its name alone, the way the AWS SDKs' partitions table decides it
// (regionRegex per partition). We are stricter than that table in two ways, both so that a typo is reported
// instead of quietly producing a host that will never resolve: the middle word must be a compass direction
// (every region so far is named that way, and it keeps "us-gov-1" out of "aws"), and the number has no
// leading zero. Pseudo-regions such as "aws-global" are not regions an ECR registry can live in.
const DIRECTION = "(?:north|south|east|west|central|northeast|northwest|southeast|southwest)";
const NUMBER = "[1-9][0-9]?";
const region = (prefix: string): RegExp => new RegExp(`^${prefix}-${DIRECTION}-${NUMBER}$`);

// Each pattern is anchored and the prefixes are mutually exclusive, so at most one can match.
const REGION_PATTERNS: readonly (readonly [Partition, RegExp])[] = [
  ["aws", region("(?:us|eu|ap|sa|ca|me|af|il|mx)")],
  ["aws-cn", region("cn")],
  ["aws-us-gov", region("us-gov")],
  ["aws-iso", region("us-iso")],
  ["aws-iso-b", region("us-isob")],
  ["aws-iso-e", region("eu-isoe")],
  ["aws-iso-f", region("us-isof")],
];

// Longer than any region name could be; checked first so a hostile megabyte string costs nothing.
const MAX_REGION_LENGTH = 32;

/** The DNS suffix of each partition's standard (IPv4, non-FIPS) endpoints. */
export const PARTITION_DNS_SUFFIX: Readonly<Record<Partition, string>> = {
  aws: "amazonaws.com",
  "aws-us-gov": "amazonaws.com",
  "aws-cn": "amazonaws.com.cn",
  "aws-iso": "c2s.ic.gov",
  "aws-iso-b": "sc2s.sgov.gov",
  "aws-iso-e": "cloud.adc-e.uk",
  "aws-iso-f": "csp.hci.ic.gov",
};

export function partitionOfRegion(value: string): Partition | undefined {
  if (typeof value !== "string" || value.length > MAX_REGION_LENGTH) return undefined;
  for (const [partition, pattern] of REGION_PATTERNS) {
    if (pattern.test(value)) return partition;
  }
  return undefined;
}

export function isRegionName(value: string): boolean {
  return partitionOfRegion(value) !== undefined;
}

// Account ids keep their leading zeros, so this is a string check, never a number parse.
const ACCOUNT_ID = /^[0-9]{12}$/;

export function isAccountId(value: string): boolean {
  return typeof value === "string" && ACCOUNT_ID.test(value);
}
