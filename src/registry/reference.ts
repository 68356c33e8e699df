// A parser for the Docker image reference grammar (github.com/distribution/reference, as used by containerd
// and the kubelet), reduced to what deciding "which registry" needs. It splits on the grammar's delimiters
// first and then checks each piece with a small anchored regex, so no pattern ever sees the whole input and
// none has nested, overlapping quantifiers: the cost stays linear in the (capped) input length.

export interface ParsedReference {
  /** The registry as written (host, optional port), or undefined when the Docker Hub default applies. */
  domain: string | undefined;
  /** The repository path below the registry, e.g. "library/nginx" is written as just "nginx". */
  path: string;
}

export type ParseResult = { ok: true; ref: ParsedReference } | { ok: false; reason: string };

/** Longer input is refused outright: no real reference comes close, and it bounds the work per container. */
export const MAX_REFERENCE_LENGTH = 4096;
const MAX_NAME_LENGTH = 255; // the grammar's NameTotalLengthMax

const TAG = /^\w[\w.-]{0,127}$/;
// go-digest only accepts lower-case hex, of exactly the algorithm's length.
const DIGEST = /^(sha256|sha384|sha512):([a-f0-9]{64,128})$/;
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
// path-component: alpha-numerics joined by ".", "_", "__" or a run of "-". Separators and alpha-numerics are
// disjoint, so there is exactly one way to match and backtracking stays linear.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const PORT = /^[0-9]+$/;
// Bracketed IPv6 literal; the address itself is only checked for its alphabet (the registry would reject
// a malformed one, and classifying it as "other" is the safe outcome either way).
const IPV6_HOST = /^\[[0-9a-fA-F:.]{2,45}\]$/;

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

export function parseReference(image: string): ParseResult {
  if (image.length === 0) return fail("The image reference is empty.");
  if (image.length > MAX_REFERENCE_LENGTH) return fail("The image reference is longer than 4096 characters.");
  if (image.trim() !== image) return fail("The image reference has leading or trailing whitespace.");

  const name = stripTagAndDigest(image);
  if (!name.ok) return name;
  return splitName(name.name);
}

/** reference := name [ ":" tag ] [ "@" digest ] — returns the name once tag and digest check out. */
function stripTagAndDigest(image: string): { ok: true; name: string } | { ok: false; reason: string } {
  // "@" cannot occur anywhere else, and a ":" after the last "/" can only start a tag (a registry port is
  // always followed by a "/").
  let name = image;
  const at = name.indexOf("@");
  if (at !== -1) {
    if (!isDigest(name.slice(at + 1))) return fail("The digest is not a valid sha256/sha384/sha512 digest.");
    name = name.slice(0, at);
  }
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) {
    if (!TAG.test(name.slice(colon + 1))) return fail("The tag is not a valid image tag.");
    name = name.slice(0, colon);
  }
  return { ok: true, name };
}

function splitName(name: string): ParseResult {
  if (name.length === 0) return fail("The image reference has no repository name.");
  if (name.length > MAX_NAME_LENGTH) return fail("The repository name is longer than 255 characters.");

  // The first component names a registry only if it looks like a host; otherwise it is a Docker Hub path.
  const slash = name.indexOf("/");
  const first = slash === -1 ? undefined : name.slice(0, slash);
  const hasDomain =
    first !== undefined && (first.includes(".") || first.includes(":") || first === "localhost");
  const domain = hasDomain ? first : undefined;
  const path = hasDomain ? name.slice(slash + 1) : name;

  if (domain !== undefined && !isDomain(domain)) return fail("The registry host is not a valid host[:port].");
  const pathProblem = checkPath(path);
  if (pathProblem !== undefined) return fail(pathProblem);
  return { ok: true, ref: { domain, path } };
}

function isDigest(text: string): boolean {
  const match = DIGEST.exec(text);
  return match !== null && DIGEST_HEX_LENGTH[match[1] ?? ""] === match[2]?.length;
}

function isDomain(domain: string): boolean {
  let host = domain;
  // A port follows the last ":" — but an IPv6 literal has colons of its own inside the brackets.
  const colon = domain.lastIndexOf(":");
  if (colon !== -1 && colon > domain.lastIndexOf("]")) {
    if (!PORT.test(domain.slice(colon + 1))) return false;
    host = domain.slice(0, colon);
  }
  if (host.startsWith("[")) return IPV6_HOST.test(host);
  return host.split(".").every((label) => DOMAIN_LABEL.test(label));
}

function checkPath(path: string): string | undefined {
  if (path.length === 0) return "The image reference names a registry but no repository.";
  for (const component of path.split("/")) {
    if (component.length === 0) return "The repository path has an empty component.";
    if (PATH_COMPONENT.test(component)) continue;
    // Upper case gets its own message: it is the one mistake people make on purpose ("Shop/Web"). Only ASCII
    // is folded, so that e.g. the Kelvin sign (which toLowerCase() turns into "k") is not reported as case.
    const folded = component.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
    return PATH_COMPONENT.test(folded)
      ? "The repository name must be lower-case."
      : "The repository path has a component that is not valid.";
  }
  return undefined;
}
