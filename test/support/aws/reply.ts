/** Wire-format answers for both services (ECR awsJson1_1, STS awsQuery XML). */
import { randomUUID } from "node:crypto";
import type { AuthFailure } from "./sigv4.js";
import type { AwsService } from "./types.js";

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** error code, for the call record */
  error?: string;
}

export const ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921.";
/** ECR Public's awsJson1_1 target prefix (its service's internal name). */
export const ECR_PUBLIC_TARGET_PREFIX = "SpencerFrontendService.";
const ECR_CONTENT_TYPE = "application/x-amz-json-1.1";
const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";

export function ecrOk(payload: unknown): Reply {
  return {
    status: 200,
    headers: { "content-type": ECR_CONTENT_TYPE, "x-amzn-requestid": randomUUID() },
    body: JSON.stringify(payload),
  };
}

export function ecrError(status: number, type: string, message: string): Reply {
  return {
    status,
    headers: { "content-type": ECR_CONTENT_TYPE, "x-amzn-requestid": randomUUID() },
    body: JSON.stringify({ __type: type, message }),
    error: type,
  };
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `{ A: "x", B: { C: "y" } }` → `<A>x</A><B><C>y</C></B>` (values escaped). */
export function toXml(value: Record<string, unknown>): string {
  return Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const inner =
        typeof v === "object" && v !== null ? toXml(v as Record<string, unknown>) : xmlEscape(String(v));
      return `<${k}>${inner}</${k}>`;
    })
    .join("");
}

export function stsOk(action: string, result: Record<string, unknown>): Reply {
  const requestId = randomUUID();
  return {
    status: 200,
    headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
    body:
      `<${action}Response xmlns="${STS_NS}">` +
      `<${action}Result>${toXml(result)}</${action}Result>` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>` +
      `</${action}Response>\n`,
  };
}

export function stsError(status: number, code: string, message: string): Reply {
  const requestId = randomUUID();
  const type = status >= 500 ? "Receiver" : "Sender";
  return {
    status,
    headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
    body:
      `<ErrorResponse xmlns="${STS_NS}">` +
      `<Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>\n`,
    error: code,
  };
}

/** What ECR (both registries) and STS answer a request whose signature fails this way: status, error. */
const AUTH_ERRORS: Record<AuthFailure, { ecr: [number, string]; sts: [number, string] }> = {
  Missing: { ecr: [400, "MissingAuthenticationTokenException"], sts: [403, "MissingAuthenticationToken"] },
  Incomplete: { ecr: [400, "IncompleteSignatureException"], sts: [400, "IncompleteSignature"] },
  UnknownKey: { ecr: [400, "UnrecognizedClientException"], sts: [403, "InvalidClientTokenId"] },
  BadSignature: { ecr: [400, "InvalidSignatureException"], sts: [403, "SignatureDoesNotMatch"] },
  Expired: { ecr: [400, "ExpiredTokenException"], sts: [400, "ExpiredToken"] },
};

export function authError(service: AwsService, failure: AuthFailure, message: string): Reply {
  if (service !== "sts") {
    const [status, type] = AUTH_ERRORS[failure].ecr;
    return ecrError(status, type, message);
  }
  const [status, code] = AUTH_ERRORS[failure].sts;
  return stsError(status, code, message);
}

export function throttled(service: AwsService): Reply {
  return service !== "sts"
    ? ecrError(400, "ThrottlingException", "Rate exceeded")
    : stsError(400, "Throttling", "Rate exceeded");
}

export function serverFault(service: AwsService, status: number): Reply {
  if (service !== "sts") return ecrError(status, "ServerException", "Internal service error (injected)");
  return status === 503
    ? stsError(status, "ServiceUnavailable", "Service is unable to handle request (injected)")
    : stsError(status, "InternalFailure", "An internal error occurred (injected)");
}
