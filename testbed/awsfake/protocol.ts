// Wire formats: query-protocol XML (IAM, STS) and REST-JSON (EKS, EKS Auth)
// responses and errors, in the shapes the AWS SDK v3 deserializers expect.
import { randomUUID } from 'node:crypto';

/** What a handler returns; server.ts writes it. */
export interface FakeResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
  /** Error code for the call log ("ok" when absent and status < 400). */
  errorCode?: string;
  /** What the fake decided, for the call log (e.g. EKS Auth: session tags, session policy, roles). */
  detail?: Record<string, unknown>;
}

/** An AWS error raised by a handler; rendered per protocol by `renderError`. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
    /** Extra members of a REST-JSON error body (e.g. EKS ResourceNotFoundException's clusterName, addonName). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export type Protocol = 'query' | 'rest-json';

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

export function requestId(): string {
  return randomUUID();
}

export const IAM_XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/';
export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export function queryError(err: AwsError, xmlns = IAM_XMLNS, reqId = requestId()): FakeResponse {
  const body =
    `<ErrorResponse xmlns="${xmlns}"><Error><Type>${err.type}</Type>` +
    `<Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error>` +
    `<RequestId>${reqId}</RequestId></ErrorResponse>`;
  return { status: err.status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': reqId }, body, errorCode: err.code };
}

export function jsonError(err: AwsError, reqId = requestId()): FakeResponse {
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': err.code, 'x-amzn-requestid': reqId },
    body: JSON.stringify({ ...err.fields, message: err.message }),
    errorCode: err.code,
  };
}

export function renderError(protocol: Protocol, err: AwsError, xmlns?: string): FakeResponse {
  return protocol === 'query' ? queryError(err, xmlns) : jsonError(err);
}

export function jsonResponse(value: unknown, status = 200): FakeResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId() },
    body: JSON.stringify(value),
  };
}

/** A query-protocol success: `<{Action}Response><{Action}Result>inner</..><ResponseMetadata/>`. */
export function queryResponse(action: string, innerXml: string, xmlns = STS_XMLNS): FakeResponse {
  const reqId = requestId();
  const body =
    `<${action}Response xmlns="${xmlns}"><${action}Result>${innerXml}</${action}Result>` +
    `<ResponseMetadata><RequestId>${reqId}</RequestId></ResponseMetadata></${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': reqId }, body };
}

/** Small XML builder for flat-ish result members: {A: 'x', B: {C: 'y'}} -> <A>x</A><B><C>y</C></B>. */
export function toXml(value: Record<string, unknown>): string {
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'object' && !(v instanceof Date)) out += `<${k}>${toXml(v as Record<string, unknown>)}</${k}>`;
    else out += `<${k}>${xmlEscape(v instanceof Date ? v.toISOString() : String(v))}</${k}>`;
  }
  return out;
}

/** The error code in a query-protocol XML error body (for the call log of proxied calls). */
export function errorCodeFromXml(body: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
}
